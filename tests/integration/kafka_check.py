#!/usr/bin/python3
"""kafka_check.py - the Kafka side of tests/integration/kafka.sh.

Writes the inputs of `hubao kafka` and reads what it wrote with kcat (an
independent client: librdkafka's own tool, not hubao's code), and checks
its logs.  Each subcommand exits 0 (pass) or 1 (fail, the reason on
stderr).  Every wait is bounded in time.  Standard library only.

Records are told apart by where they are: an output names its input by
the headers hubao-topic, hubao-partition and hubao-offset.

  produce B TOPIC N PREFIX [--rate R]
                        N JSON requests {"id": "PREFIX-i", "text": ...}
                        with keys PREFIX-k<i>, short varied texts; at R
                        records a second (default: all at once), record i
                        to partition i mod the partitions, sending again
                        what kcat could not deliver while every broker was
                        down (so N or a few more inputs)
  produce-malformed B TOPIC MAX_BYTES
                        one record per malformed kind (MALFORMED below),
                        then a batch and a good request, all to partition 0
  produce-text B TOPIC ROUND
                        the plain-text records of TEXTS, keys ROUND-<i>
  wait-out B TOPIC N SECONDS
                        until TOPIC holds at least N records
  wait-all B IN OUT N SECONDS
                        until IN holds N records and each has an output
  verify B IN OUT [--exact] [--hubao HUBAO]
                        every output names an input of IN and carries its
                        key, in partition (input partition mod OUT's
                        partitions), with the request's id as hubao-id
                        and in the reply; every input has an output.
                        Prints "inputs N outputs N duplicates N".  With
                        --exact: no duplicate, no error reply, each input
                        partition's outputs in offset order.  With
                        --hubao: ten replies, less "id" (first) and
                        "models", are what `HUBAO check --json` says
  check-malformed B IN OUT DLQ
                        each MALFORMED record got one error reply with its
                        code (and a copy in DLQ with hubao-error), the
                        batch an array reply, a batch whose reply is over
                        message.max.bytes a too_large one, the good
                        request a brief verdict and no dead-letter copy,
                        id 1.0E+400 kept as written (reply and hubao-id),
                        and a record without a key a reply without one
  check-text B IN OUT HUBAO
                        each TEXTS record got one reply: a verdict equal to
                        `HUBAO check --json TEXT` (less "models"), no id,
                        or the expected error
  assigned LOG          print the partitions LOG's assigned/revoked events
                        leave the instance holding, comma separated
  wait-split LOG1 LOG2 N SECONDS
                        until the two instances hold N partitions between
                        them, each some, none both
  wait-takeover DEAD LOG N SECONDS
                        (called just after DEAD's instance was killed)
                        until LOG's instance logs a new assigned event and
                        holds all N partitions, DEAD's among them
  wait-stats LOG N SECONDS
                        until a stats event says records_in and records_out
                        N, in_flight 0, lag 0 (and prints it)
  wait-event LOG NAME N SECONDS [KEY=JSON]...
                        until LOG holds N events NAME; the Nth must have
                        each KEY equal to the JSON value (prints it)
  most LOG FIELD FROM TO
                        the largest FIELD of the stats events on lines
                        FROM to TO of LOG (numbered from 1)
  stuck-leader B IN OUT
                        print the id of a broker that leads a partition p
                        of OUT but not partition p of IN: while it is down,
                        replies to IN's partition p cannot be delivered
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

KCAT = os.environ.get("KCAT", "kcat")
KEY_DELIM = b"\x1f"
MSG_DELIM = b"\x1e"

# short texts of every kind the models tell apart, numbered so that no two
# records are alike
TEMPLATES = [
    "公安局通知：案件编号{n}，您涉嫌洗钱，请把存款转入安全账户",
    "Meeting moved to room {n} at 3pm, see you there",
    "周年庆大促，全场五折，第{n}位顾客送礼品，退订回T",
    "Your account {n} is locked, verify now at http://secure-bank{n}.top/login",
    "妈妈，我今晚{n}点回家吃饭",
    "Congratulations! You won prize #{n}, reply YES to claim it",
    "您的快递{n}丢失，请联系客服理赔，加QQ {n}88",
    "Lunch at 12:{n}? Let me know",
    "紧急转发：喝了第{n}种饮料会致癌，赶快告诉家人",
    "Hi, it's me, my phone broke, this is my new number {n}",
]

# (code, value) one per malformed kind; ids are only read when the record
# is JSON the handler could parse (missing_text, empty_text carry them).
# The too_large record is made to measure from MAX_BYTES.  None: a record
# with no value at all (a tombstone).
MALFORMED = [
    ("malformed_json", b'{"id": "m1", "text": "unterminated'),
    ("invalid_utf8", b'{"id": "m2", "text": "bad \xff\xfe bytes"}'),
    ("invalid_request", b"42"),
    ("invalid_request", b'"just a string"'),
    ("too_large", None),  # filled in by produce-malformed
    ("malformed_json", b""),
    ("missing_text", b'{"id": "m7", "nottext": "x"}'),
    ("empty_text", b'{"id": "m8", "text": "  \\u200b  "}'),
    ("malformed_json", None),  # the tombstone; any error code is accepted
]
IDS = {"missing_text": "m7", "empty_text": "m8"}
BATCH = b'[{"id": "b1", "text": "hello, lunch at noon?"}, {"id": "b2"}]'
GOOD = "公安局通知：您涉嫌洗钱，请把存款转入安全账户，联系13812345678"
# a batch of 100 full verdicts: a reply over the producer's
# message.max.bytes as kafka.sh sets it (100000), under the request limit
BIG = json.dumps([{"id": i, "text": GOOD, "detail": "full"} for i in range(100)],
                 ensure_ascii=False).encode()

# plain-text records: (value, expected error code or None for a verdict)
TEXTS = [
    ("公安局通知：您涉嫌洗钱，请把存款转入安全账户，联系13812345678".encode(), None),
    ("周年庆大促，全场五折，退订回T".encode(), None),
    (b"hello there, see you at the station at six", None),
    (b"line one\nline two, still one message", None),
    (b'{"id": 5, "text": "a JSON-looking text is still just text"}', None),
    (b"bad \xff\xfe utf8", "invalid_utf8"),
    (" \u200b ".encode(), "empty_text"),
]


def fail(msg):
    sys.stderr.write("kafka_check: %s\n" % msg)
    sys.exit(1)


def text_of(n):
    return TEMPLATES[n % len(TEMPLATES)].format(n=n)


def kcat_produce(brokers, topic, records, partition=None, null_empty=False, timeout=120):
    """Produce [(key bytes, value bytes)] with one kcat; returns its exit
    status.  null_empty: an empty value is sent as no value (kcat -Z); a
    key of None: records with no key (then every key must be None)."""
    keyed = any(k is not None for k, _ in records)
    cmd = [KCAT, "-P", "-b", brokers, "-t", topic, "-D", "\\x1e", "-q",
           "-X", "message.timeout.ms=%d" % (timeout * 1000 * 3 // 4)]
    if keyed:
        cmd += ["-K", "\\x1f"]
    if partition is not None:
        cmd += ["-p", str(partition)]
    if null_empty:
        cmd.append("-Z")
    for k, v in records:
        if MSG_DELIM in (k or b"") + v or KEY_DELIM in (k or b"") + v:
            fail("record %r holds a delimiter byte" % (k,))
    try:
        return subprocess.run(cmd, input=b"".join((k + KEY_DELIM if keyed else b"") + v + MSG_DELIM
                                                  for k, v in records),
                              timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        sys.stderr.write("kafka_check: kcat did not deliver to %s within %d s\n" % (topic, timeout))
        return -1


def produce_steadily(brokers, topic, records, rate, seconds=120):
    """Produce records at about rate a second, spread over the topic's
    partitions in turn, by one thread per partition that sends a tenth of
    a second's worth per kcat: a partition whose leader is down holds up
    only its own records.  kcat gives up when every broker is down: then
    the same records are sent again after a pause (some may be in the topic
    twice: each is still an input that needs an output) until seconds
    pass.  Returns the number of failures (0)."""
    parts = len(partitions(brokers, topic))
    step = max(1, int(rate) // (10 * parts))
    t0 = time.time()
    failed = []

    def run(p):
        mine = records[p::parts]
        for i in range(0, len(mine), step):
            while kcat_produce(brokers, topic, mine[i:i + step], partition=p, timeout=20):
                if time.time() > t0 + seconds:
                    failed.append(p)
                    return
                time.sleep(0.5)
            due = t0 + (i + step) * parts / rate
            if due > time.time():
                time.sleep(due - time.time())

    threads = [threading.Thread(target=run, args=(p,)) for p in range(parts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        fail("could not produce to %s partitions %r for %d s" % (topic, sorted(failed), seconds))


def kcat_read(brokers, topic, timeout=30):
    """Every record of topic, as dicts: partition, offset, key (str or None),
    value (bytes or None), headers (dict), in the order kcat printed them."""
    try:
        p = subprocess.run([KCAT, "-C", "-b", brokers, "-t", topic, "-J", "-e", "-q",
                            "-o", "beginning"], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError("kcat did not read %s within %d s" % (topic, timeout))
    if p.returncode != 0:
        raise RuntimeError("kcat reading %s: %s" % (topic, p.stderr.decode(errors="replace")))
    out = []
    for line in p.stdout.decode("utf-8", "surrogateescape").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        h = r.get("headers") or []
        headers = {}
        for i in range(0, len(h) - 1, 2):
            if h[i] in headers:
                raise RuntimeError("header %s twice in %s [%d] @%d" %
                                   (h[i], topic, r["partition"], r["offset"]))
            headers[h[i]] = h[i + 1]
        value = r.get("payload")
        out.append({"partition": r["partition"], "offset": r["offset"], "key": r.get("key"),
                    "value": None if value is None else value.encode("utf-8", "surrogateescape"),
                    "headers": headers})
    return out


def partitions(brokers, topic):
    p = subprocess.run([KCAT, "-L", "-J", "-b", brokers, "-t", topic], capture_output=True,
                       timeout=30)
    meta = json.loads(p.stdout)
    for t in meta["topics"]:
        if t["topic"] == topic:
            return t["partitions"]
    fail("no metadata for %s" % topic)


def where(o):
    """(input partition, input offset) an output names, or None."""
    h = o["headers"]
    try:
        return int(h["hubao-partition"]), int(h["hubao-offset"])
    except (KeyError, TypeError, ValueError):
        return None


def reply(o):
    try:
        return json.loads(o["value"].decode("utf-8"))
    except (AttributeError, UnicodeDecodeError, ValueError) as e:
        raise RuntimeError("output %d@%d is not a JSON reply (%s): %r" %
                           (o["partition"], o["offset"], e, o["value"][:200]))


def error_code(r):
    return r.get("error", {}).get("code") if isinstance(r, dict) else None


def id_header_ok(h, want):
    """hubao-id is the request's id as JSON text (docs/kafka.md)."""
    return h == json.dumps(want, ensure_ascii=False)


def cover(inputs, outputs):
    """Map (partition, offset) of each input to the list of its outputs."""
    got = {(r["partition"], r["offset"]): [] for r in inputs}
    for o in outputs:
        w = where(o)
        if w in got:
            got[w].append(o)
    return got


def cmd_produce(brokers, topic, n, prefix, *opts):
    rate = float(opts[1]) if opts[:1] == ("--rate",) else None
    recs = [(("%s-k%d" % (prefix, i)).encode(),
             json.dumps({"id": "%s-%d" % (prefix, i), "text": text_of(i)},
                        ensure_ascii=False).encode()) for i in range(int(n))]
    if rate:
        produce_steadily(brokers, topic, recs, rate)
    elif kcat_produce(brokers, topic, recs):
        fail("kcat -P failed")


def malformed_records(max_bytes):
    recs = []
    for i, (code, value) in enumerate(MALFORMED):
        if code == "too_large":
            value = json.dumps({"id": "m5", "text": "b" * (int(max_bytes) + 10)}).encode()
        recs.append(("m%d" % (i + 1), code, value))
    return recs


def cmd_produce_malformed(brokers, topic, max_bytes):
    # sent one kcat at a time where the flags differ, in order, all to
    # partition 0: the output order is then the input order
    for key, code, value in malformed_records(max_bytes):
        null = value is None
        if kcat_produce(brokers, topic, [(key.encode(), b"" if null else value)], partition=0,
                        null_empty=null):
            fail("kcat -P failed for %s" % key)
    if kcat_produce(brokers, topic, [(b"batch", BATCH), (b"bigreply", BIG),
                                     (b"good", json.dumps({"id": "good", "text": GOOD},
                                                          ensure_ascii=False).encode())],
                    partition=0):
        fail("kcat -P failed for the batches and the good record")
    if kcat_produce(brokers, topic, [(b"bigid", b'{"id": 1.0E+400, "text": "see you at six"}')],
                    partition=0):
        fail("kcat -P failed for the record with a large id")
    if kcat_produce(brokers, topic, [(None, b'{"id": "nokey", "text": "see you at six"}')],
                    partition=0):
        fail("kcat -P failed for the record without a key")


def cmd_produce_text(brokers, topic, rnd):
    recs = [(("%s-%d" % (rnd, i)).encode(), v) for i, (v, _) in enumerate(TEXTS)]
    if kcat_produce(brokers, topic, recs):
        fail("kcat -P failed")


def poll(what, seconds, probe):
    """Call probe() (None: not yet; else a result) until it gives a result
    or seconds pass; fails naming what, and the last state, on timeout."""
    deadline = time.time() + float(seconds)
    last = None
    while True:
        try:
            res, last = probe()
        except RuntimeError as e:
            res, last = None, str(e)
        if res is not None:
            return res
        if time.time() > deadline:
            fail("timed out after %s s waiting for %s (%s)" % (seconds, what, last))
        time.sleep(0.5)


def cmd_wait_out(brokers, topic, n, seconds):
    def probe():
        k = len(kcat_read(brokers, topic))
        return (k if k >= int(n) else None), "%d records" % k
    poll("%s records in %s" % (n, topic), seconds, probe)


def cmd_wait_all(brokers, in_topic, out_topic, n, seconds):
    def probe():
        inputs = kcat_read(brokers, in_topic)
        got = cover(inputs, kcat_read(brokers, out_topic))
        missing = [w for w, outs in got.items() if not outs]
        state = "%d inputs, %d without an output%s" % (
            len(inputs), len(missing), (", e.g. %r" % missing[:5]) if missing else "")
        return (True if len(inputs) >= int(n) and not missing else None), state
    poll("an output for each of %s inputs" % n, seconds, probe)


def compare_with_check(hubao, pairs):
    """pairs: [(text, reply bytes)]; each reply must start with its id and,
    less id and models, be what `hubao check --json TEXT` prints."""
    p = subprocess.run([hubao, "check", "--json"] + [t for t, _ in pairs],
                       capture_output=True, timeout=60)
    lines = p.stdout.decode().splitlines()
    if len(lines) != len(pairs):
        raise RuntimeError("hubao check --json printed %d lines for %d texts: %s" %
                           (len(lines), len(pairs), p.stderr.decode()))
    for (text, raw), line in zip(pairs, lines):
        rep = json.loads(raw)
        if not raw.startswith(b'{"id":'):
            raise RuntimeError("reply does not start with its id: %r" % raw[:60])
        rep.pop("id")
        rep.pop("models", None)
        if rep != json.loads(line):
            raise RuntimeError("reply to %r differs from hubao check --json:\n  %s\n  %s" %
                               (text, json.dumps(rep, ensure_ascii=False)[:400], line[:400]))


def cmd_verify(brokers, in_topic, out_topic, *opts):
    exact = "--exact" in opts
    hubao = opts[opts.index("--hubao") + 1] if "--hubao" in opts else None
    inputs = kcat_read(brokers, in_topic)
    outputs = kcat_read(brokers, out_topic)
    nout = len(partitions(brokers, out_topic))
    by_where = {(r["partition"], r["offset"]): r for r in inputs}
    problems = []

    def problem(msg):
        if len(problems) < 10:
            problems.append(msg)

    outputs.sort(key=lambda o: (o["partition"], o["offset"]))
    last = {}
    errors = {}
    for o in outputs:
        name = "output %d@%d" % (o["partition"], o["offset"])
        w = where(o)
        if w not in by_where or o["headers"].get("hubao-topic") != in_topic:
            problem("%s names no input of %s: headers %r" % (name, in_topic, o["headers"]))
            continue
        i = by_where[w]
        req = json.loads(i["value"])
        if o["key"] != i["key"]:
            problem("%s: key %r, the input's is %r" % (name, o["key"], i["key"]))
        if o["partition"] != w[0] % nout:
            problem("%s answers input partition %d: expected output partition %d"
                    % (name, w[0], w[0] % nout))
        if not id_header_ok(o["headers"].get("hubao-id"), req["id"]):
            problem("%s: hubao-id %r, the request's id is %r"
                    % (name, o["headers"].get("hubao-id"), req["id"]))
        r = reply(o)
        if not isinstance(r, dict) or r.get("id") != req["id"]:
            problem("%s: reply id %r, the request's is %r"
                    % (name, r.get("id") if isinstance(r, dict) else r, req["id"]))
        code = error_code(r)
        if code:
            errors[code] = errors.get(code, 0) + 1
        elif "verdict" not in r:
            problem("%s: neither a verdict nor an error: %r" % (name, r))
        if exact and w[0] in last and w[1] <= last[w[0]]:
            problem("%s: input %d@%d comes after %d@%d" % (name, w[0], w[1], w[0], last[w[0]]))
        last[w[0]] = w[1]
    got = cover(inputs, outputs)
    missing = sorted(w for w, outs in got.items() if not outs)
    answered = len(got) - len(missing)
    dups = sum(len(outs) for outs in got.values()) - answered
    print("inputs %d outputs %d duplicates %d" % (len(inputs), len(outputs), dups))
    if missing:
        problem("%d inputs have no output, e.g. %r" % (len(missing), missing[:5]))
    if exact and dups:
        problem("%d duplicate outputs, e.g. %r" %
                (dups, [w for w, outs in got.items() if len(outs) > 1][:5]))
    if exact and errors:
        problem("error replies: %r" % errors)
    if hubao:
        sample = [(json.loads(by_where[w]["value"])["text"], outs[0]["value"])
                  for w, outs in sorted(got.items())[:10] if outs]
        try:
            compare_with_check(hubao, sample)
        except RuntimeError as e:
            problem(str(e))
    if problems:
        fail("; ".join(problems))


def one_output(got, r, what):
    outs = got[(r["partition"], r["offset"])]
    if len(outs) != 1:
        raise RuntimeError("%s (%d@%d): %d outputs" % (what, r["partition"], r["offset"],
                                                       len(outs)))
    return outs[0]


def check_headers(o, i, in_topic, what):
    h = o["headers"]
    want = {"hubao-topic": in_topic, "hubao-partition": str(i["partition"]),
            "hubao-offset": str(i["offset"])}
    for k, v in want.items():
        if h.get(k) != v:
            raise RuntimeError("%s: header %s is %r, expected %r" % (what, k, h.get(k), v))
    if o["key"] != i["key"]:
        raise RuntimeError("%s: key %r, expected %r" % (what, o["key"], i["key"]))


def cmd_check_malformed(brokers, in_topic, out_topic, dlq_topic):
    inputs = sorted(kcat_read(brokers, in_topic), key=lambda r: r["offset"])
    got = cover(inputs, kcat_read(brokers, out_topic))
    dead = cover(inputs, kcat_read(brokers, dlq_topic))
    by_key = {r["key"]: r for r in inputs}
    problems = []
    for i, (code, _) in enumerate(MALFORMED):
        key = "m%d" % (i + 1)
        what = "%s record %s" % (code if key != "m9" else "tombstone", key)
        try:
            r = by_key.get(key)
            if r is None:
                raise RuntimeError("%s was not produced" % what)
            o = one_output(got, r, what)
            check_headers(o, r, in_topic, what)
            rep = reply(o)
            c = error_code(rep)
            if key == "m9" and c:
                code = c
            if c != code or not rep["error"].get("message"):
                raise RuntimeError("%s: reply %r" % (what, rep))
            want_id = IDS.get(code) if key != "m9" else None
            if rep.get("id") != want_id or (
                    want_id and not id_header_ok(o["headers"].get("hubao-id"), want_id)) or (
                    not want_id and "hubao-id" in o["headers"]):
                raise RuntimeError("%s: id %r, hubao-id %r; expected %r" % (
                    what, rep.get("id"), o["headers"].get("hubao-id"), want_id))
            d = one_output(dead, r, what + " in the dead-letter topic")
            check_headers(d, r, in_topic, what + " in the dead-letter topic")
            if d["headers"].get("hubao-error") != code:
                raise RuntimeError("%s: dead-letter hubao-error %r" %
                                   (what, d["headers"].get("hubao-error")))
            if d["value"] != r["value"]:
                raise RuntimeError("%s: dead-letter value %r, the input was %r" %
                                   (what, d["value"], r["value"]))
        except RuntimeError as e:
            problems.append(str(e))
    def batch():
        b = one_output(got, by_key["batch"], "batch")
        rep = reply(b)
        if not (isinstance(rep, list) and len(rep) == 2 and rep[0].get("id") == "b1" and
                "verdict" in rep[0] and rep[1].get("id") == "b2" and
                error_code(rep[1]) == "missing_text"):
            raise RuntimeError("batch: reply %r" % rep)
        if "hubao-id" in b["headers"] or dead[(b["partition"], b["offset"])]:
            raise RuntimeError("batch: a hubao-id header or a dead-letter copy: %r" % b)

    def bigreply():
        r = by_key["bigreply"]
        big = one_output(got, r, "batch whose reply is too large to produce")
        rep = reply(big)
        if error_code(rep) != "too_large":
            raise RuntimeError("batch whose reply is over message.max.bytes: %r" %
                               (big["value"][:300],))
        d = one_output(dead, r, "the dead-letter copy of the batch whose reply was too large")
        if d["headers"].get("hubao-error") != "too_large" or d["value"] != r["value"]:
            raise RuntimeError("the dead-letter copy of that batch: %r" % d["headers"])

    def good():
        g = one_output(got, by_key["good"], "good record")
        check_headers(g, by_key["good"], in_topic, "good record")
        rep = reply(g)
        if rep.get("id") != "good" or rep.get("verdict") != "fraud":
            raise RuntimeError("good record after the bad ones: %r" % rep)
        if "summary" in rep or "rules" not in rep["tasks"]["fraud"]:
            raise RuntimeError("good record: not a brief reply (--detail brief): %r" % rep)
        if dead[(by_key["good"]["partition"], by_key["good"]["offset"])]:
            raise RuntimeError("the good record has a dead-letter copy")

    def bigid():
        n = one_output(got, by_key["bigid"], "record with id 1.0E+400")
        if not n["value"].startswith(b'{"id":1.0E+400,"verdict":') or \
                n["headers"].get("hubao-id") != "1.0E+400":
            raise RuntimeError("id 1.0E+400 not kept as written: hubao-id %r, reply %r" %
                               (n["headers"].get("hubao-id"), n["value"][:60]))

    def nokey():
        n = one_output(got, by_key[None], "record without a key")
        check_headers(n, by_key[None], in_topic, "record without a key")
        if reply(n).get("id") != "nokey" or "verdict" not in reply(n):
            raise RuntimeError("record without a key: %r" % reply(n))

    for check in (batch, bigreply, good, bigid, nokey):
        try:
            check()
        except (RuntimeError, KeyError) as e:
            problems.append("%s: %s" % (check.__name__, e))
    if problems:
        fail("; ".join(problems))


def cmd_check_text(brokers, in_topic, out_topic, hubao):
    inputs = kcat_read(brokers, in_topic)
    got = cover(inputs, kcat_read(brokers, out_topic))
    problems = []
    # what `hubao check --json` says of each text that gets a verdict: one
    # run, one JSON line per TEXT argument
    plain = [n for n, (_, code) in enumerate(TEXTS) if not code]
    p = subprocess.run([hubao, "check", "--json"] + [TEXTS[n][0].decode() for n in plain],
                       capture_output=True, timeout=60)
    lines = p.stdout.decode().splitlines()
    if len(lines) != len(plain):
        fail("hubao check --json printed %d lines for %d texts: %s" %
             (len(lines), len(plain), p.stderr.decode()))
    expected = {n: json.loads(line) for n, line in zip(plain, lines)}
    for r in inputs:
        n = int(r["key"].rsplit("-", 1)[1])
        code = TEXTS[n][1]
        what = "text record %s" % r["key"]
        try:
            o = one_output(got, r, what)
            check_headers(o, r, in_topic, what)
            if "hubao-id" in o["headers"]:
                raise RuntimeError("%s: hubao-id %r for a text record" %
                                   (what, o["headers"]["hubao-id"]))
            rep = reply(o)
            if code:
                if error_code(rep) != code:
                    raise RuntimeError("%s: expected %s, got %r" % (what, code, rep))
                continue
            if "id" in rep or "verdict" not in rep or "models" not in rep:
                raise RuntimeError("%s: %r" % (what, rep))
            rep.pop("models")
            if rep != expected[n]:
                raise RuntimeError("%s: reply differs from hubao check --json:\n  %s\n  %s" % (
                    what, json.dumps(rep, ensure_ascii=False)[:400],
                    json.dumps(expected[n], ensure_ascii=False)[:400]))
        except RuntimeError as e:
            problems.append(str(e))
    if problems:
        fail("; ".join(problems))


def events(log, first=1, last=None):
    """The JSON events of log (its lines first to last)."""
    out = []
    try:
        lines = open(log, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return out
    for line in lines[int(first) - 1:None if last is None else int(last)]:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict) and "event" in e:
            out.append(e)
    return out


def partition_no(p):
    if isinstance(p, int):
        return p
    if isinstance(p, dict):
        return int(p.get("partition"))
    m = re.search(r"(\d+)\D*$", str(p))
    return int(m.group(1)) if m else None


def held(log):
    """Partitions the instance holds after its assigned/revoked events."""
    have = set()
    for e in events(log):
        parts = {partition_no(p) for p in e.get("partitions") or []}
        if e["event"] == "assigned":
            have |= parts
        elif e["event"] == "revoked":
            have -= parts
    return have


def cmd_assigned(log):
    print(",".join(str(p) for p in sorted(held(log))))


def cmd_wait_split(log1, log2, n, seconds):
    def probe():
        a, b = held(log1), held(log2)
        ok = a and b and not a & b and a | b == set(range(int(n)))
        return (True if ok else None), "holding %s and %s" % (sorted(a), sorted(b))
    poll("the two instances to share %s partitions" % n, seconds, probe)


def cmd_wait_takeover(dead, log, n, seconds):
    theirs = held(dead)
    before = sum(1 for e in events(log) if e["event"] == "assigned")

    def probe():
        mine = held(log)
        assigned = sum(1 for e in events(log) if e["event"] == "assigned")
        ok = mine == set(range(int(n))) and theirs and theirs <= mine and assigned > before
        return (True if ok else None), "the killed one held %s, the survivor %s after %d " \
            "assigned events (%d before the kill)" % (sorted(theirs), sorted(mine), assigned,
                                                      before)
    poll("the survivor to take over all %s partitions" % n, seconds, probe)


def cmd_wait_stats(log, n, seconds):
    n = int(n)

    def probe():
        st = [e for e in events(log) if e["event"] == "stats"]
        if not st:
            return None, "no stats event"
        s = st[-1]
        ok = (s.get("records_in") == n and s.get("records_out") == n and
              s.get("in_flight") == 0 and s.get("lag") == 0 and
              isinstance(s.get("errors"), dict) and not any(s["errors"].values()) and
              isinstance(s.get("rebalances"), int))
        return (s if ok else None), "last stats %s" % json.dumps(s)
    print(json.dumps(poll("stats saying %d in and out, nothing in flight, no lag" % n,
                          seconds, probe)))


def cmd_wait_event(log, name, n, seconds, *wants):
    n = int(n)
    want = {}
    for w in wants:
        k, v = w.split("=", 1)
        want[k] = json.loads(v)

    def probe():
        es = [e for e in events(log) if e["event"] == name]
        return (es[n - 1] if len(es) >= n else None), "%d %s events" % (len(es), name)
    e = poll("%d %s events in %s" % (n, name, log), seconds, probe)
    print(json.dumps(e, ensure_ascii=False))
    for k, v in want.items():
        if e.get(k) != v:
            fail("%s event %d: %s is %r, expected %r" % (name, n, k, e.get(k), v))


def cmd_most(log, field, first, last):
    vals = [e.get(field) for e in events(log, first, last) if e["event"] == "stats"]
    vals = [v for v in vals if isinstance(v, int)]
    if not vals:
        fail("no stats events with %s on lines %s to %s of %s" % (field, first, last, log))
    print(max(vals))


def cmd_stuck_leader(brokers, in_topic, out_topic):
    ins = {p["partition"]: p["leader"] for p in partitions(brokers, in_topic)}
    for p in sorted(partitions(brokers, out_topic), key=lambda p: p["partition"]):
        if p["partition"] in ins and ins[p["partition"]] != p["leader"]:
            print(p["leader"])
            return
    fail("every partition p of %s has the leader of %s's partition p" % (out_topic, in_topic))


COMMANDS = {
    "produce": cmd_produce, "produce-malformed": cmd_produce_malformed,
    "produce-text": cmd_produce_text, "wait-out": cmd_wait_out, "wait-all": cmd_wait_all,
    "verify": cmd_verify, "check-malformed": cmd_check_malformed,
    "check-text": cmd_check_text, "assigned": cmd_assigned, "wait-split": cmd_wait_split,
    "wait-takeover": cmd_wait_takeover, "wait-stats": cmd_wait_stats, "stuck-leader": cmd_stuck_leader,
    "wait-event": cmd_wait_event, "most": cmd_most,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        fail("usage: kafka_check.py %s ..." % "|".join(COMMANDS))
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except RuntimeError as e:
        fail(str(e))
