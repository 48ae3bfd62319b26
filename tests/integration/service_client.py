#!/usr/bin/python3
"""service_client.py - test clients for tests/integration/service.sh.

Each subcommand talks to a running hubaod, checks what it gets back and
exits 0 (pass) or 1 (fail, with the reason on stderr).  Every wait is
bounded in time.  Needs pyzmq (Debian python3-zmq).  EP is hubaod's
request endpoint; stats and reloads go to its control endpoint, taken from
$HUBAO_TEST_CONTROL (service.sh sets it for the hubaod it started last).

  wait EP N                  until N workers are connected (ping)
  stats EP [KEY]             print the stats JSON (or one top-level key)
  ping EP N T=V              ping (the health probe): id echoed, N workers,
                             and the model versions they serve (version V
                             of task T)
  control EP T=V             control commands: on the request socket stats,
                             reload and unknown ones are "forbidden" (id
                             echoed) and nothing reloads (workers, models,
                             still version V of task T, and their last
                             reload unchanged); the control endpoint takes
                             commands and refuses anything else
  basic EP                   single request, batch, id echo, models
  brief EP                   a worker started with --brief: brief replies,
                             full ones when an item asks
  malformed EP MAX_BYTES     one request per error kind; the service lives on
  ids EP                     ids as a client writes them (beyond 64 bits,
                             1e400, 1.0, -0, nested) come back byte for byte
                             in verdicts, batches, worker and broker errors,
                             and ping on both endpoints
  dealer EP N                N pipelined requests on a DEALER, matched by id;
                             address frames before the delimiter come back
  overload EP                with no worker, --queue 2, --deadline-ms 400:
                             overloaded at once, then deadline_exceeded,
                             each with its id (beyond 64 bits) as sent
  flood EP N                 N at once into a tiny queue: every one answered,
                             some "overloaded"
  oversize EP BYTES          a DEALER sending one frame of BYTES is cut off
                             (no reply, broker RSS stays small), and the
                             next client is served
  fallback EP N T=V WHY      SIGKILL N workers while the bundle on disk is
                             broken: their replacements serve the last set
                             that loaded (version V of task T), and stats
                             say so with a reason containing WHY
  stalled EP TIMEOUT_MS        a client stopped with SIGSTOP is disconnected within
                             about TIMEOUT_MS (hubaod's --client-timeout-ms), an
                             idle live one is not
  hog EP PID N BATCH DETAIL SECONDS MAX_MIB
                             N DEALERs that never read (RCVHWM 1) send
                             batches of BATCH items (DETAIL full or brief)
                             for SECONDS while a REQ client is served: every
                             one of its requests answered, broker (PID) RSS
                             never more than MAX_MIB over where it started,
                             the hogs cut off, and the memory given back
                             once they leave
  inflight EP N LIMIT        N requests pipelined at once by a client that
                             reads: each answered once, those over LIMIT
                             "too_many_in_flight"
  fresh EP                   stats right after each reply count it: items
                             and worker-side error codes (run it against a
                             long heartbeat interval, which would hide them)
  load EP N [options]        pipelined load with an action part-way through:
      --window W             requests in flight (default 64)
      --after K              act after K replies (default N/4)
      --kill-worker          SIGKILL one worker (pid from stats)
      --signal SIG --pid P   send SIG (HUP, TERM) to process P
      --allow CODE,...       error codes accepted (default none)
      --expect-models T=V    at least one reply carries model version V for T
      --stopped              the broker stops during the run: expect no
                             stats afterwards
"""
import json
import os
import signal
import sys
import time

import zmq

CTX = zmq.Context.instance()
TEXTS = []


def texts():
    if not TEXTS:
        path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "train_small.tsv")
        with open(path, encoding="utf-8") as f:
            for line in f:
                if "\t" in line:
                    TEXTS.append(line.rstrip("\n").split("\t", 1)[1])
    return TEXTS


def fail(msg):
    print("    " + msg, file=sys.stderr)
    sys.exit(1)


def req_socket(ep, timeout_ms=10000):
    s = CTX.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, timeout_ms)
    s.connect(ep)
    return s


def ask(ep, body, timeout_ms=10000):
    """One request on a fresh REQ socket; the parsed reply, or fail."""
    s = req_socket(ep, timeout_ms)
    s.send(body if isinstance(body, bytes) else json.dumps(body).encode())
    try:
        return json.loads(s.recv())
    except zmq.Again:
        fail("no reply within %d ms to %r" % (timeout_ms, body if len(str(body)) < 80 else "..."))
    finally:
        s.close()


def control_ep():
    ep = os.environ.get("HUBAO_TEST_CONTROL")
    if not ep:
        fail("HUBAO_TEST_CONTROL (hubaod's control endpoint) is not set")
    return ep


def stats(ep):
    """Stats from the control endpoint of the hubaod serving ep."""
    return ask(control_ep(), {"control": "stats"})["stats"]


def error_code(r):
    return r.get("error", {}).get("code") if isinstance(r, dict) else None


def cmd_control(ep, version):
    task, v = version.split("=")
    before = stats(ep)["workers"]
    # a name with a NUL is no name: "ping\0x" is not ping
    for cmd, rid in (("stats", "s1"), ("reload", {"n": 1}), ("shutdown", 7),
                     ("ping\0x", 8)):
        r = ask(ep, {"id": rid, "control": cmd})
        if error_code(r) != "forbidden" or r.get("id") != rid:
            fail("%s on the request socket: expected forbidden with id %r, got %r" %
                 (cmd, rid, r))
        if "--control" not in r["error"].get("message", ""):
            fail("forbidden does not say where control commands go: %r" % r)
    time.sleep(1)  # a reload, had one started, would be under way by now
    after = stats(ep)
    if sorted((w["pid"], json.dumps(w.get("last_reload"), sort_keys=True))
              for w in after["workers"]) != \
            sorted((w["pid"], json.dumps(w.get("last_reload"), sort_keys=True))
                   for w in before):
        fail("workers changed or reloaded: %r -> %r" % (before, after["workers"]))
    if after["models"].get(task) != v or after["reloading"]:
        fail("models changed: %r (reloading %r)" % (after["models"], after["reloading"]))
    if after["errors"]["by_code"].get("forbidden", 0) < 3:
        fail("forbidden not counted: %r" % after["errors"])
    # the control endpoint takes commands, and commands only
    r = ask(control_ep(), {"id": "c1", "control": "ping"})
    if r.get("id") != "c1" or r.get("pong", {}).get("models", {}).get(task) != v:
        fail("ping on the control endpoint: %r" % r)
    for body, rid in (({"id": "t", "text": "hello"}, "t"), (b"[]", None),
                      ({"id": "u", "control": "shutdown"}, "u")):
        r = ask(control_ep(), body)
        if error_code(r) != "invalid_request" or r.get("id") != rid:
            fail("%r on the control endpoint: expected invalid_request, got %r" % (body, r))


def cmd_wait(ep, n):
    end = time.time() + 30
    while time.time() < end:
        s = req_socket(ep, 1000)
        s.send(b'{"control":"ping"}')
        try:
            if json.loads(s.recv())["pong"]["workers"] >= int(n):
                return
        except zmq.Again:
            pass
        finally:
            s.close()
        time.sleep(0.1)
    fail("fewer than %s workers after 30 s" % n)


def cmd_ping(ep, n, version):
    task, v = version.split("=")
    r = ask(ep, {"id": "p", "control": "ping"})
    pong = r.get("pong", {})
    if r.get("id") != "p" or pong.get("workers") != int(n) or \
            pong.get("models", {}).get(task) != v:
        fail("ping: expected id p, %s workers and %s, got %r" % (n, version, r))


def cmd_stats(ep, key=None):
    st = stats(ep)
    print(json.dumps(st[key] if key else st))


def is_verdict(r):
    return isinstance(r, dict) and "verdict" in r and "tasks" in r and "error" not in r


def cmd_basic(ep):
    r = ask(ep, {"id": "a1", "text": "公安局通知：请把存款转入安全账户 13812345678"})
    if not is_verdict(r) or r["id"] != "a1":
        fail("single request: %r" % r)
    if r["verdict"] != "fraud" or r["tasks"]["fraud"]["type"] != "authority":
        fail("single request not fraud/authority: %r" % r["verdict"])
    if set(r["models"]) != {"fraud", "spam"}:
        fail("models: %r" % r["models"])
    if "13812345678" in json.dumps(r, ensure_ascii=False):
        fail("phone number not masked")
    r = ask(ep, {"text": "周年庆大促，全场五折，退订回T"})
    if "id" in r or not r["tasks"]["spam"]["positive"]:
        fail("request without id: %r" % r)
    batch = [{"id": i, "text": t} for i, t in enumerate(texts()[:5])]
    batch.insert(2, {"id": "no-text"})
    r = ask(ep, batch)
    if not isinstance(r, list) or len(r) != 6:
        fail("batch reply: %r" % r)
    if [x.get("id") for x in r] != [0, 1, "no-text", 2, 3, 4]:
        fail("batch order: %r" % [x.get("id") for x in r])
    if r[2].get("error", {}).get("code") != "missing_text" or not all(
            is_verdict(x) for i, x in enumerate(r) if i != 2):
        fail("batch items: %r" % r)
    r = ask(ep, {"id": 5, "text": "see www.Example.com/x", "urls": ["HTTP://WWW.EXAMPLE.COM:80/a/../b"]})
    given = [u for u in r.get("urls", []) if "start" not in u]
    if len(given) != 1 or given[0].get("domain") != "example.com" or given[0].get("url") != "http://www.example.com/b":
        fail("urls: %r" % r.get("urls"))


def cmd_brief(ep):
    """A worker started with --brief: brief replies unless an item asks."""
    text = "公安局通知：请把存款转入安全账户 13812345678"
    r = ask(ep, [{"id": 1, "text": text}, {"id": 2, "text": text, "detail": "full"}])
    brief, full = r
    if brief.get("verdict") != "fraud" or not brief["tasks"]["fraud"].get("rules"):
        fail("brief reply lacks the verdict or rule ids: %r" % brief)
    if any(k in brief for k in ("summary", "entities", "models")) or "evidence" in brief["tasks"]["fraud"]:
        fail("brief reply is not brief: %r" % brief)
    if "summary" not in full or "evidence" not in full["tasks"]["fraud"]:
        fail("an item asking for detail full got: %r" % full)


def cmd_malformed(ep, max_bytes):
    max_bytes = int(max_bytes)
    # (code, body, id the reply must carry: None when the body cannot be
    # parsed, is not an object, or is refused unparsed for its size)
    cases = [
        ("malformed_json", b'{"id": 1, "text": "unterminated', None),
        ("malformed_json", b"", None),
        ("invalid_request", b"42", None),
        ("invalid_request", b"[]", None),
        ("invalid_request", b'{"id": 3, "text": "x", "urls": "not-a-list"}', 3),
        ("missing_text", b'{"id": 4}', 4),
        ("missing_text", b'{"id": 5, "text": ["not", "a", "string"]}', 5),
        ("invalid_utf8", b'{"id": 6, "text": "bad \xff\xfe bytes"}', None),
        ("invalid_utf8", b'{"id": 7, "text": "lone \\ud800 surrogate"}', None),
        ("empty_text", b'{"id": 8, "text": "  \\u200b  "}', 8),
        ("too_large", json.dumps({"id": 9, "text": "a" * 70000}).encode(), 9),
        ("too_large", json.dumps({"id": 10, "text": "b" * (max_bytes + 10)}).encode(), None),
        ("batch_too_large", json.dumps([{"text": "x"}] * 300).encode(), None),
        ("forbidden", b'{"id": 12, "control": "no-such-command"}', 12),
        # a key twice: refused, never run as whichever command the parser keeps
        ("invalid_request", b'{"control": "ping", "control": "reload"}', None),
    ]
    before = [w["pid"] for w in stats(ep)["workers"]]
    for code, body, want_id in cases:
        r = ask(ep, body)
        got = r.get("error", {}).get("code") if isinstance(r, dict) else None
        if got != code:
            fail("%r...: expected %s, got %r" % (body[:40], code, r))
        if not r["error"].get("message"):
            fail("%s reply has no message" % code)
        if r.get("id") != want_id:
            fail("%s reply should carry id %r: %r" % (code, want_id, r))
    # a second frame after the body is refused, a REQ envelope or not
    d = CTX.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(ep)
    d.send_multipart([b"", b'{"text":"a"}', b'{"text":"b"}'])
    if not d.poll(10000):
        fail("no reply to a two-frame request")
    parts = d.recv_multipart()
    if parts[0] != b"" or json.loads(parts[-1])["error"]["code"] != "invalid_request":
        fail("two-frame request: %r" % parts)
    d.close()
    after = stats(ep)
    if sorted(w["pid"] for w in after["workers"]) != sorted(before):
        fail("workers changed after bad input: %r -> %r" % (before, after["workers"]))
    if after["errors"]["by_code"].get("overloaded"):
        fail("unexpected overload")
    if not is_verdict(ask(ep, {"text": "still alive?"})):
        fail("service does not answer after bad input")


def ask_raw(ep, body, timeout_ms=10000):
    """One request of raw bytes on a fresh REQ socket: the reply's bytes."""
    s = req_socket(ep, timeout_ms)
    s.send(body)
    try:
        return s.recv()
    except zmq.Again:
        fail("no reply within %d ms to %r" % (timeout_ms, body[:80]))
    finally:
        s.close()


def cmd_ids(ep):
    text = '"text": "公安局通知：请把存款转入安全账户"'
    # (where, body, bytes the reply must start with, bytes it must hold)
    cases = [
        (ep, '{"id": 9223372036854775808, %s}' % text,
         '{"id":9223372036854775808,"verdict":"fraud",', None),
        (ep, '{%s, "id" : -9223372036854775809 }' % text,
         '{"id":-9223372036854775809,"verdict":', None),
        (ep, '{"id": {"seq": 1.0, "n": [1E+2, -0, 1e400], "s": "a\\"b"}, %s}' % text,
         '{"id":{"seq":1.0,"n":[1E+2,-0,1e400],"s":"a\\"b"},"verdict":', None),
        (ep, '{"id": 0.1234567, "detail": "brief", %s}' % text,
         '{"id":0.1234567,"verdict":', None),
        (ep, '[{"id": 1e400, %s}, {"id": -0}, {"id": "q\\"\\u0041"}]' % text,
         '[{"id":1e400,"verdict":', ('},{"id":-0,"error":{"code":"missing_text"',
                                     '},{"id":"q\\"A","error":{"code":"missing_text"')),
        (ep, '{"id": 1E+2, "text": "x", "urls": "no"}',
         '{"id":1E+2,"error":{"code":"invalid_request"', None),
        # answered by the broker, before any worker sees them
        (ep, '{"id": 1e400, "control": "ping"}', '{"id":1e400,"pong":', None),
        (ep, '{"id": [9223372036854775808], "control": "stats"}',
         '{"id":[9223372036854775808],"error":{"code":"forbidden"', None),
        (control_ep(), '{"id": -0.0, "control": "ping"}', '{"id":-0.0,"pong":', None),
        (control_ep(), '{"id": 1.50, "text": "x"}',
         '{"id":1.50,"error":{"code":"invalid_request"', None),
    ]
    for where, body, start, holds in cases:
        r = ask_raw(where, body.encode()).decode()
        if not r.startswith(start) or any(h not in r for h in holds or ()):
            fail("%s: expected a reply starting %s holding %r, got %s" %
                 (body[:60], start, holds, r[:300]))


def cmd_dealer(ep, n):
    n = int(n)
    d = CTX.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(ep)
    t = texts()
    for i in range(n):
        d.send_multipart([b"", json.dumps({"id": "d%d" % i, "text": t[i % len(t)]}).encode()])
    seen = {}
    end = time.time() + 30
    while len(seen) < n and time.time() < end:
        if d.poll(1000):
            empty, body = d.recv_multipart()
            r = json.loads(body)
            if empty != b"" or not is_verdict(r):
                fail("bad pipelined reply: %r" % body[:200])
            seen[r["id"]] = seen.get(r["id"], 0) + 1
    if len(seen) != n or any(v != 1 for v in seen.values()):
        fail("expected %d distinct replies once each, got %d" % (n, len(seen)))
    # address frames before the delimiter come back unchanged
    for tag in (b"tag-1", b"\x00\x01binary"):
        d.send_multipart([tag, b"", b'{"text":"hello"}'])
        if not d.poll(10000):
            fail("no reply with an address frame")
        parts = d.recv_multipart()
        if parts[:2] != [tag, b""] or not is_verdict(json.loads(parts[2])):
            fail("address frame not echoed: %r" % parts[:2])
    # a bare DEALER without the delimiter still gets an answer
    d.send(b'{"id":"bare","text":"hello"}')
    if not d.poll(10000) or json.loads(d.recv_multipart()[-1]).get("id") != "bare":
        fail("bare DEALER request not answered")
    d.close()


def cmd_overload(ep):
    d = CTX.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(ep)
    t0 = time.time()
    big = 2 ** 63  # beyond 64-bit integers: the broker's errors echo it as sent
    for i in range(6):
        d.send_multipart([b"", json.dumps({"id": big + i, "text": "hello"}).encode()])
    got = {}
    while len(got) < 6 and time.time() < t0 + 10:
        if d.poll(1000):
            raw = d.recv_multipart()[1]
            r = json.loads(raw)
            if not raw.startswith(b'{"id":%d,"error":' % r["id"]) or r["id"] - big not in range(6):
                fail("broker error without the id as sent: %r" % raw)
            got[r["id"]] = (r["error"]["code"], time.time() - t0)
    d.close()
    codes = sorted(c for c, _ in got.values())
    if codes != ["deadline_exceeded"] * 2 + ["overloaded"] * 4:
        fail("expected 2 deadline_exceeded and 4 overloaded, got %r" % got)
    for c, dt in got.values():
        if c == "overloaded" and dt > 0.3:
            fail("overloaded came after %.2f s, not at once" % dt)
        if c == "deadline_exceeded" and not 0.35 < dt < 3:
            fail("deadline_exceeded after %.2f s (deadline 0.4 s)" % dt)


def burst(ep, n):
    """Send n requests at once on a DEALER, then read the replies (30 s at
    most): {id: reply}, or fail if one is missing or comes twice."""
    d = CTX.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(ep)
    t = texts()
    for i in range(n):
        d.send_multipart([b"", json.dumps({"id": i, "text": t[i % len(t)]}).encode()])
    got = {}
    end = time.time() + 30
    while len(got) < n and time.time() < end:
        if d.poll(1000):
            r = json.loads(d.recv_multipart()[1])
            if r.get("id") in got:
                fail("two replies for id %r" % r.get("id"))
            got[r.get("id")] = r
    d.close()
    if len(got) != n:
        fail("%d of %d answered" % (len(got), n))
    return got


def cmd_flood(ep, n):
    got = burst(ep, int(n))
    kinds = set("ok" if is_verdict(r) else r["error"]["code"] for r in got.values())
    if not kinds <= {"ok", "overloaded"} or "overloaded" not in kinds or "ok" not in kinds:
        fail("expected verdicts and overloaded replies, got %r" % kinds)


def broker_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cmd_oversize(ep, nbytes, pid):
    before = broker_rss_kib(int(pid))
    d = CTX.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(ep)
    d.send_multipart([b"", b'{"text":"' + b"a" * int(nbytes) + b'"}'])
    if d.poll(3000):
        fail("an oversize frame got a reply: %r" % d.recv_multipart()[-1][:80])
    d.close()
    after = broker_rss_kib(int(pid))
    if after - before > int(nbytes) // 1024 // 2:
        fail("broker RSS grew %d KiB for a %s-byte frame" % (after - before, nbytes))
    r = ask(ep, {"id": "next", "text": "hello"})
    if r.get("id") != "next" or "verdict" not in r:
        fail("the next client was not served: %r" % r)


def cmd_fallback(ep, n, version, why):
    task, v = version.split("=")
    before = stats(ep)["workers"]
    victims = [w["pid"] for w in before[:int(n)]]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    end = time.time() + 30
    while time.time() < end:
        workers = stats(ep)["workers"]
        new = [w for w in workers if w["pid"] not in [x["pid"] for x in before]]
        if len(workers) == len(before) and len(new) == len(victims):
            break
        time.sleep(0.1)
    else:
        fail("killed workers %r not replaced after 30 s: %r" % (victims, stats(ep)["workers"]))
    for w in new:
        if w.get("models_fallback") is not True or why not in w.get("fallback_reason", ""):
            fail("worker %d is not on the snapshot, or does not say why: %r" % (w["pid"], w))
        if w["models"].get(task) != v:
            fail("worker %d serves %r, not %s" % (w["pid"], w["models"], version))
    for w in workers:
        if w not in new and w.get("models_fallback") is not False:
            fail("a worker that was not restarted reports a fallback: %r" % w)


def cmd_hog(ep, pid, n, batch, detail, seconds, max_mib):
    import threading
    pid, n, batch, seconds, max_mib = int(pid), int(n), int(batch), float(seconds), int(max_mib)
    t = texts()
    body = json.dumps([{"id": i, "text": t[i % len(t)], "detail": detail}
                       for i in range(batch)]).encode()
    if batch == 1:
        body = json.dumps({"id": 0, "text": t[0], "detail": detail}).encode()
    base = broker_rss_kib(pid)
    cut_before = stats(ep).get("clients", {}).get("cut_off", 0)
    hogs = []
    for _ in range(n):
        d = CTX.socket(zmq.DEALER)
        d.setsockopt(zmq.RCVHWM, 1)
        d.setsockopt(zmq.LINGER, 0)
        d.connect(ep)
        hogs.append(d)
    stop = []

    def flood():
        while not stop:
            for d in hogs:
                try:
                    d.send_multipart([b"", body], zmq.DONTWAIT)
                except zmq.Again:
                    pass
            time.sleep(0.002)
    th = threading.Thread(target=flood)
    th.start()
    good = req_socket(ep, 10000)
    served, peak, codes, i = 0, base, {}, 0
    end = time.time() + seconds
    try:
        while time.time() < end:
            i += 1
            good.send(json.dumps({"id": i, "text": t[i % len(t)]}).encode())
            try:
                r = json.loads(good.recv())
            except zmq.Again:
                fail("a well-behaved client got no reply within 10 s beside %d hogs" % n)
            if r.get("id") != i:
                fail("reply for id %r, expected %d" % (r.get("id"), i))
            if is_verdict(r):
                served += 1
            else:
                codes[r["error"]["code"]] = codes.get(r["error"]["code"], 0) + 1
            peak = max(peak, broker_rss_kib(pid))
    finally:
        stop.append(1)
        th.join()
        for d in hogs:
            d.close()
        good.close()
    grown = (peak - base) // 1024
    cl = stats(ep).get("clients", {"cut_off": 0, "replies_dropped": 0})
    end = time.time() + 5
    while time.time() < end and broker_rss_kib(pid) > base + 8192:
        time.sleep(0.1)
    after = broker_rss_kib(pid)
    print("broker RSS %d MiB at start, peak %d MiB, %d MiB after the hogs left; the good "
          "client: %d verdicts, errors %r; clients cut off %d, replies dropped %d" %
          (base // 1024, peak // 1024, after // 1024, served, codes, cl["cut_off"],
           cl["replies_dropped"]))
    if grown > max_mib:
        fail("broker RSS grew %d MiB (limit %d) under %d clients that never read" %
             (grown, max_mib, n))
    if served < 0.9 * i or set(codes) - {"overloaded"}:
        fail("the well-behaved client was not served: %d verdicts of %d, errors %r" %
             (served, i, codes))
    if cl["cut_off"] < cut_before + 1:
        fail("no client was cut off: %r" % cl)
    if after > base + 8192:
        fail("broker RSS %d MiB 5 s after the hogs left (%d before)" % (after // 1024,
                                                                      base // 1024))


def established(port):
    """Established TCP connections whose local port is port (the broker's
    side of its clients' connections), from /proc/net/tcp."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            local, state = line.split()[1], line.split()[3]
            if int(local.split(":")[1], 16) == port and state == "01":
                n += 1
    return n


STALLING_CLIENT = """
import sys, zmq
d = zmq.Context().socket(zmq.DEALER)
d.setsockopt(zmq.LINGER, 0)
d.connect(sys.argv[1])
d.send_multipart([b"", b'{"id": 1, "text": "hello"}'])
d.recv_multipart()
print("connected", flush=True)
sys.stdin.read()
"""


def cmd_stalled(ep, timeout_ms):
    """A client whose process is stopped (SIGSTOP: its ZeroMQ I/O thread
    too, so it answers no heartbeat) is disconnected within about
    --client-timeout-ms; one that is idle but alive stays connected."""
    import signal
    import subprocess
    port, timeout_s = int(ep.rsplit(":", 1)[1]), int(timeout_ms) / 1000
    base = established(port)
    kids = [subprocess.Popen([sys.executable, "-c", STALLING_CLIENT, ep], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE) for _ in range(2)]
    stopped, idle = kids
    try:
        for k in kids:
            if k.stdout.readline().strip() != b"connected":
                fail("a test client could not reach hubaod")
        if established(port) != base + 2:
            fail("expected %d connections, saw %d" % (base + 2, established(port)))
        os.kill(stopped.pid, signal.SIGSTOP)
        t0 = time.time()
        while time.time() < t0 + 3 * timeout_s + 5 and established(port) > base + 1:
            time.sleep(0.1)
        took = time.time() - t0
        if established(port) != base + 1:
            fail("the stopped client is still connected %.1f s after it stopped "
                 "(--client-timeout-ms %s)" % (took, timeout_ms))
        time.sleep(timeout_s)
        if established(port) != base + 1:
            fail("the idle client was disconnected too")
        print("stopped client disconnected after %.1f s; the idle one kept" % took)
    finally:
        for k in kids:
            k.kill()
            k.wait()


def cmd_inflight(ep, n, limit):
    got = burst(ep, int(n))
    limit = int(limit)
    refused = [r for r in got.values() if not is_verdict(r)]
    if not refused or any(r["error"]["code"] != "too_many_in_flight" or
                          "read the replies" not in r["error"]["message"] for r in refused):
        fail("expected some too_many_in_flight with advice, got %r" % refused[:3])
    if len(got) - len(refused) < limit:
        fail("only %d verdicts, the limit is %d" % (len(got) - len(refused), limit))


def cmd_fresh(ep):
    def counts():
        st = stats(ep)
        return st["items"], st["errors"]["by_code"]
    items, codes = counts()
    for round_ in range(3):
        r = ask(ep, [{"text": "hello"}, {"id": "no text"}, {"text": ""}])
        if not isinstance(r, list) or len(r) != 3:
            fail("batch reply: %r" % r)
        now_items, now_codes = counts()
        if now_items != items + 3:
            fail("round %d: items %d, expected %d" % (round_, now_items, items + 3))
        for code in ("missing_text", "empty_text"):
            if now_codes.get(code, 0) != codes.get(code, 0) + 1:
                fail("round %d: %s counted %r before, %r after" %
                     (round_, code, codes.get(code), now_codes.get(code)))
        items, codes = now_items, now_codes


def cmd_load(ep, n, args):
    n = int(n)
    opts = {"--window": "64", "--after": str(n // 4), "--allow": "", "--pid": "0",
            "--signal": "", "--expect-models": ""}
    flags = set()
    i = 0
    while i < len(args):
        if args[i] in ("--kill-worker", "--stopped"):
            flags.add(args[i])
            i += 1
        else:
            opts[args[i]] = args[i + 1]
            i += 2
    window, after = int(opts["--window"]), int(opts["--after"])
    allow = set(filter(None, opts["--allow"].split(",")))
    victim = None
    if "--kill-worker" in flags:
        victim = stats(ep)["workers"][0]["pid"]
    d = CTX.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.connect(ep)
    t = texts()
    sent, got, acted = 0, {}, False
    versions = set()
    end = time.time() + 40
    while len(got) < n and time.time() < end:
        while sent < n and sent - len(got) < window:
            d.send_multipart([b"", json.dumps({"id": sent, "text": t[sent % len(t)]}).encode()])
            sent += 1
        if d.poll(1000):
            r = json.loads(d.recv_multipart()[1])
            if r.get("id") in got:
                fail("two replies for id %r" % r.get("id"))
            got[r.get("id")] = r
            for task, v in r.get("models", {}).items():
                versions.add("%s=%s" % (task, v))
            if not acted and len(got) >= after:
                acted = True
                if victim:
                    os.kill(victim, signal.SIGKILL)
                if opts["--signal"]:
                    os.kill(int(opts["--pid"]), getattr(signal, "SIG" + opts["--signal"]))
    d.close()
    if len(got) != n:
        fail("%d of %d requests answered (lost some)" % (len(got), n))
    bad = {}
    for r in got.values():
        if not is_verdict(r):
            code = r.get("error", {}).get("code")
            if code not in allow:
                bad[code] = bad.get(code, 0) + 1
    if bad:
        fail("unexpected error replies: %r" % bad)
    ok = sum(1 for r in got.values() if is_verdict(r))
    if ok < after:
        fail("only %d verdicts" % ok)
    if opts["--expect-models"] and opts["--expect-models"] not in versions:
        fail("no reply from %s (saw %r)" % (opts["--expect-models"], sorted(versions)))
    if victim:
        end = time.time() + 20
        while time.time() < end:
            st = stats(ep)
            pids = [w["pid"] for w in st["workers"]]
            if victim not in pids and len(pids) == st["workers_running"] >= 2 and st["restarts"] >= 1:
                break
            time.sleep(0.1)
        else:
            fail("killed worker %d not replaced: %r" % (victim, stats(ep)["workers"]))
        if st["resent"] < 1:
            fail("the killed worker held no request (resent = 0); the test proved nothing")
    print("%d verdicts, %d errors; versions %s" % (ok, n - ok, " ".join(sorted(versions))))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, ep, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "load":
        cmd_load(ep, rest[0], rest[1:])
    else:
        globals()["cmd_" + cmd](ep, *rest)


if __name__ == "__main__":
    main()
