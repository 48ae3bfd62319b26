"""The Prometheus endpoints of hubaod (--metrics), `hubao web` (/metrics)
and `hubao kafka` (--metrics), run by tests/integration/metrics.sh: each
output passes `promtool check metrics`, and the counters move as requests
flow, by exactly what was sent.  Every wait is bounded; loopback only.

usage: metrics_check.py HUBAOD HUBAO KAFKA_MOCK TMPDIR MODELS
(the rules: $HUBAO_RULES)
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import zmq

HUBAOD, HUBAO, MOCK, TMP, MODELS = sys.argv[1:6]
fails = 0
procs = []


def ok(name):
    print(f"  ok   {name}")


def bad(name, why=""):
    global fails
    fails += 1
    print(f"  FAIL {name}" + (f": {why}" if why else ""))


def check(name, cond, why=""):
    ok(name) if cond else bad(name, why)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=10):
    """(status, body text) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def post(url, body, timeout=30):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text):
    """{(name, frozenset of label pairs): value} of a Prometheus text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())), 0.0)


def promtool(name, text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    check(f"{name}: promtool check metrics passes", r.returncode == 0,
          (r.stdout + r.stderr).strip()[:400])


def wait_for(fn, seconds=30, step=0.2):
    """fn() until it returns something true, for seconds at most."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def start(args, log):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    procs.append(p)
    return p


def stop(p, seconds=20):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        p.kill()
        return None


def zmq_ask(endpoint, body, timeout_ms=30000):
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    sock.send(body if isinstance(body, bytes) else json.dumps(body).encode())
    try:
        if sock.poll(timeout_ms):
            return json.loads(sock.recv())
        return None
    finally:
        sock.close()


def test_hubaod():
    print("hubaod --metrics")
    models = os.path.join(TMP, "live")
    shutil.copytree(MODELS, models)
    port, mport = free_port(), free_port()
    ep = f"tcp://127.0.0.1:{port}"
    ctl = f"ipc://{TMP}/hubaod.ctl"
    d = start([HUBAOD, "--bind", ep, "--control", ctl, "--metrics", f"127.0.0.1:{mport}",
               "--models", models, "--workers", "2", "--heartbeat-ms", "200"],
              os.path.join(TMP, "hubaod.log"))
    url = f"http://127.0.0.1:{mport}/metrics"
    t0 = time.time()
    up = wait_for(lambda: zmq_ask(ep, {"text": "hello"}, 2000), 90, 0.5)
    check("hubaod answers", up is not None)
    print(f"    (up after {time.time() - t0:.1f} s)")
    before = samples(get(url)[1])
    texts = ["公安局通知：您涉嫌洗钱，请把存款转入安全账户", "周年庆大促，全场五折，回复TD退订",
             "see you at the station at six", "Your parcel is held, pay the fee at hxxp://a.cn"]
    for t in texts:
        zmq_ask(ep, {"text": t})
    zmq_ask(ep, b"not json")
    zmq_ask(ep, [{"text": "one"}, {"text": "two"}])
    status, text = get(url)
    check("GET /metrics is 200", status == 200, str(status))
    promtool("hubaod", text)
    after = samples(text)
    d_req = value(after, "hubao_requests_total") - value(before, "hubao_requests_total")
    check("hubao_requests_total counts every request (4 single, 1 bad, 1 batch)", d_req == 6,
          f"moved by {d_req}")
    d_bad = (value(after, "hubao_errors_total", code="malformed_json") -
             value(before, "hubao_errors_total", code="malformed_json"))
    check("hubao_errors_total{code=malformed_json} counts the bad request", d_bad == 1,
          f"moved by {d_bad}")
    check("hubao_workers_up reaches 2",
          wait_for(lambda: value(samples(get(url)[1]), "hubao_workers_up") == 2, 60, 0.5))
    check("hubao_model_info names the fraud model's version",
          any(k[0] == "hubao_model_info" and ("task", "fraud") in k[1] for k in after))
    check("the latency histogram counts the replies",
          value(after, "hubao_request_duration_seconds_count") >=
          value(before, "hubao_request_duration_seconds_count") + 6)

    # verdict counts ride the workers' heartbeats (200 ms here)
    def verdicts_moved():
        s = samples(get(url)[1])
        tot = sum(v for (n, l), v in s.items() if n == "hubao_verdicts_total" and
                  ("task", "fraud") in l)
        return s if tot >= 1 + 4 + 2 else None
    s = wait_for(verdicts_moved, 10)
    check("hubao_verdicts_total{task=fraud} counts every item classified", s is not None)
    if s:
        check("a fraud verdict has its type counted",
              sum(v for (n, l), v in s.items() if n == "hubao_verdict_types_total") >= 1)
    # reloads: one that works, one with a corrupt bundle
    r = subprocess.run([HUBAO, "control", "--control", ctl, "reload"], capture_output=True,
                       timeout=60)
    check("hubao control reload succeeds", r.returncode == 0, r.stdout.decode()[:200])
    with open(os.path.join(models, "spam", "manifest.json"), "w") as f:
        f.write("{")
    subprocess.run([HUBAO, "control", "--control", ctl, "reload"], capture_output=True,
                   timeout=60)
    s = samples(get(url)[1])
    check("hubao_reloads_total counts one ok and one failed reload",
          value(s, "hubao_reloads_total", outcome="ok") == 1 and
          value(s, "hubao_reloads_total", outcome="failed") == 1,
          f"ok {value(s, 'hubao_reloads_total', outcome='ok')}, "
          f"failed {value(s, 'hubao_reloads_total', outcome='failed')}")
    check("GET /other is 404", get(f"http://127.0.0.1:{mport}/other")[0] == 404)
    req = urllib.request.Request(url, data=b"x", method="POST")
    try:
        code = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        code = e.code
    check("POST /metrics is 405", code == 405, str(code))
    check("hubaod stops cleanly with the exporter", stop(d) == 0)
    r = subprocess.run([HUBAOD, "--metrics", "nonsense", "--workers", "0"],
                       capture_output=True, text=True, timeout=30)
    check("a bad --metrics address is refused with a message",
          r.returncode != 0 and "metrics" in r.stderr, r.stderr[:200])


def test_web():
    print("hubao web /metrics")
    port = free_port()
    w = start([HUBAO, "web", "--local", "--models", MODELS, "--bind", f"127.0.0.1:{port}",
               "--db", os.path.join(TMP, "fb.sqlite")], os.path.join(TMP, "web.log"))
    base = f"http://127.0.0.1:{port}"
    up = wait_for(lambda: get_or_none(base + "/healthz") == 200, 60, 0.5)
    check("hubao web is up", up)
    status, reply = post(base + "/api/check", {"text": "公安局通知：请把存款转入安全账户"})
    check("a check is answered", status == 200, str(status))
    fb = {"verdict": json.loads(reply) if status == 200 else {}, "text": "公安局通知",
          "correct": True}
    fstatus, _ = post(base + "/api/feedback", fb)
    get(base + "/nope")
    status, text = get(base + "/metrics")
    check("GET /metrics is 200", status == 200, str(status))
    promtool("hubao web", text)
    s = samples(text)
    check("the check is counted by route and status",
          value(s, "hubao_web_http_requests_total", route="check", status="200") == 1)
    check("the 404 is counted under route other",
          value(s, "hubao_web_http_requests_total", route="other", status="404") == 1)
    check("the backend latency histogram has the check",
          value(s, "hubao_web_backend_duration_seconds_count") == 1)
    check("the stored feedback row is counted",
          value(s, "hubao_web_feedback_rows_total") == (1 if fstatus // 100 == 2 else 0) and
          fstatus // 100 == 2, f"feedback status {fstatus}")
    stop(w)


def get_or_none(url):
    try:
        return get(url, 2)[0]
    except OSError:
        return None


def test_kafka():
    print("hubao kafka --metrics")
    mock = subprocess.Popen([MOCK, "1", "--topic", "in:2", "--topic", "out:2"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    procs.append(mock)
    brokers = mock.stdout.readline().strip()
    subprocess.run(["kcat", "-P", "-b", brokers, "-t", "in"],
                   input='{"text": "hello"}\n{"text": "周年庆大促"}\nnot json\n', text=True,
                   timeout=30, check=True)
    mport = free_port()
    conf = os.path.join(TMP, "kafka.conf")
    with open(conf, "w") as f:
        f.write("consumer.session.timeout.ms=6000\nconsumer.heartbeat.interval.ms=500\n")
    k = start([HUBAO, "kafka", "--brokers", brokers, "--group", "metrics", "--input-topic",
               "in", "--output-topic", "out", "--models", MODELS, "--metrics", f"127.0.0.1:{mport}",
               "--kafka-conf", conf, "--stats-interval-ms", "0"], os.path.join(TMP, "kafka.log"))
    url = f"http://127.0.0.1:{mport}/metrics"

    def answered():
        try:
            s = samples(get(url, 5)[1])
        except OSError:
            return None
        return s if value(s, "hubao_kafka_records_out_total") == 3 else None
    s = wait_for(answered, 60, 0.5)
    check("hubao_kafka_records_out_total reaches the 3 records", s is not None)
    if s:
        check("hubao_kafka_error_replies_total{code=malformed_json} is 1",
              value(s, "hubao_kafka_error_replies_total", code="malformed_json") == 1)
        check("hubao_kafka_records_in_total is 3", value(s, "hubao_kafka_records_in_total") == 3)
        check("hubao_kafka_assigned_partitions is 2",
              value(s, "hubao_kafka_assigned_partitions") == 2)
    promtool("hubao kafka", get(url)[1])
    check("hubao kafka stops cleanly", stop(k) == 0)
    stop(mock)


try:
    test_hubaod()
    test_web()
    test_kafka()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
sys.exit(1 if fails else 0)
