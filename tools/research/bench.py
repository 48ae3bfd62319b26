"""`make bench`: Hubao's speed against the scikit-learn peer, in one run on
the same messages (a Chinese and English mix from ../shared/data/*/test.tsv).

Prints one table and writes bench.json at the repository root:
  1. in-process pipeline throughput on one core, and the cost of each stage;
  2. end to end through hubaod over loopback with all workers: pipelined
     batches (brief replies, as a platform streams, and full ones) and
     pipelined single requests, then single-request latency at half the
     measured single-request maximum, and the same schedule of one-word
     messages (the transport's floor); peak RSS of broker and workers;
  3. records per second through `hubao kafka` on librdkafka's mock cluster
     (build/kafka-mock-cluster): every message as a plain-text record,
     brief replies; the mock cluster shares the two cores and keeps records
     in memory, so this is Hubao's side of the cost, not a real cluster's
     throughput (no disks, no network, no replication traffic);
  4. the peer (TF-IDF + LinearSVC, batch decision_function) on the same
     messages, and the ratio.  Each side's headline figure is its best
     (hubaod: best of three 2-second runs; the peer: fastest of five
     batches), which a noisy neighbour on the machine disturbs least.
Every load loop is bounded in time (build/hubao-bench --seconds).
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

DATA = os.environ.get("HUBAO_DATA", "../shared/data")
SETS = ["zh-spam-sms", "zh-telecom-fraud", "zh-rumor-weibo-mm", "en-sms-uci", "en-smishing", "en-covid-fake"]
PER_SET = 500
OUT = "build/bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench(*args):
    r = subprocess.run(["build/hubao-bench", *args], capture_output=True, text=True, timeout=120)
    if r.returncode not in (0, 1):
        sys.exit(f"make bench: hubao-bench {args[0]} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


def peak_rss_mib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def children(pid):
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def kafka_records_per_s(path, copies=10, timeout=120):
    """Produce copies of the messages file as text records into a 6-partition
    topic of a fresh mock cluster, then time one `hubao kafka` (a thread a
    core) from its partitions' assignment to its last reply acknowledged,
    read from its stats lines.  Returns (records, records per second)."""
    records = os.path.join(OUT, "kafka-records.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(records, "w", encoding="utf-8") as f:
        f.write(text * copies)
    n = text.count("\n") * copies
    mock = subprocess.Popen(["build/kafka-mock-cluster", "3", "--topic", "in:6", "--topic", "out:6"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    k = None
    try:
        brokers = mock.stdout.readline().strip()
        subprocess.run(["kcat", "-P", "-b", brokers, "-t", "in", "-l", records], check=True,
                       timeout=timeout)
        k = subprocess.Popen(["build/hubao", "kafka", "--brokers", brokers, "--group", "bench",
                              "--input-topic", "in", "--output-topic", "out", "--input", "text",
                              "--detail", "brief", "--threads", str(os.cpu_count() or 1),
                              "--stats-interval-ms", "100"],
                             stderr=subprocess.PIPE, text=True)
        start = None
        last = None  # the latest stats line, to say where it stood
        deadline = time.time() + timeout
        for line in k.stderr:  # one JSON object a line
            if time.time() > deadline:
                sys.exit(f"make bench: hubao kafka did not answer all {n} records in time; "
                         f"its last stats: {last}")
            if not line.startswith("{"):
                continue
            ev = json.loads(line)
            if ev.get("event") == "stats":
                last = line.strip()
            if ev.get("event") == "assigned" and start is None:
                start = time.time()
            # a rebalance redelivers what was not yet committed (at least
            # once), so replies may outnumber records: done when every
            # partition is read to its end and nothing is in flight
            if (ev.get("event") == "stats" and ev.get("records_out", 0) >= n
                    and ev.get("lag") == 0 and ev.get("in_flight") == 0):
                return n, n / (time.time() - start)
        sys.exit("make bench: hubao kafka stopped early")
    finally:
        for p in (k, mock):
            if p is not None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


def main():
    if not os.path.isdir(DATA):
        print(f"make bench: {DATA} is absent: the benchmark messages come from the shared data sets "
              "(../shared/data/<name>/test.tsv) beside the repository.", file=sys.stderr)
        return 2
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(7)
    msgs = []
    for ds in SETS:
        rows = [l.rstrip("\n").split("\t", 1)[1] for l in open(os.path.join(DATA, ds, "test.tsv"), encoding="utf-8")]
        msgs += rng.sample(rows, min(PER_SET, len(rows)))
    rng.shuffle(msgs)
    path = os.path.join(OUT, "messages.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(msgs) + "\n")
    print(f"{len(msgs)} messages ({PER_SET} from each of {', '.join(SETS)})", flush=True)

    pipe = bench("pipeline", path, "--models", "models", "--seconds", "5")
    print("pipeline:", json.dumps(pipe), flush=True)

    port = free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    log = open(os.path.join(OUT, "hubaod.log"), "w")
    d = subprocess.Popen(["build/hubaod", "--bind", endpoint, "--models", "models",
                          "--control", f"ipc://{OUT}/control",
                          "--queue", "4096", "--client-in-flight", "4096", "--log-level", "warn",
                          "--brief"], stdout=log, stderr=log)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:  # ready when a request is answered
            r = subprocess.run(["build/hubao", "check", "--server", endpoint, "--timeout-ms", "1000",
                                "--json", "hello"], capture_output=True, text=True)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        workers = children(d.pid)
        # hubaod runs with --brief, as for a platform that streams: brief
        # replies, in batches up to the service's limit (256 by default,
        # like the peer's one big batch); smaller batches and full replies
        # (what a person reads, with evidence) are measured too
        # the best of three 2-second runs, as the peer gets its best of five
        runs = [bench("e2e", path, "--server", endpoint, "--batch", "256", "--window", "4",
                      "--seconds", "2") for _ in range(3)]
        batch = max(runs, key=lambda r: r["e2e_msgs_per_s"])
        print("e2e batches of 256, brief replies, best of 3:",
              json.dumps([r["e2e_msgs_per_s"] for r in runs]), flush=True)
        batch64 = bench("e2e", path, "--server", endpoint, "--batch", "64", "--window", "8",
                        "--seconds", "5")
        print("e2e batches of 64, brief replies:", json.dumps(batch64), flush=True)
        full = bench("e2e", path, "--server", endpoint, "--batch", "64", "--window", "8",
                     "--seconds", "5", "--detail", "full")
        print("e2e batches of 64, full replies:", json.dumps(full), flush=True)
        single = bench("e2e", path, "--server", endpoint, "--batch", "1", "--window", "64",
                       "--seconds", "6")
        print("e2e single requests:", json.dumps(single), flush=True)
        rate = max(100.0, single["e2e_msgs_per_s"] / 2)
        lat = bench("latency", path, "--server", endpoint, "--rate", f"{rate:.0f}", "--seconds", "8")
        print("latency at half load:", json.dumps(lat), flush=True)
        # the floor under that figure: the same schedule of requests that
        # carry one short word, so nearly all of their time is transport
        # (client, broker and worker hops) and scheduling, not classification
        tiny = os.path.join(OUT, "tiny.txt")
        with open(tiny, "w") as f:
            f.write("ok\n")
        floor = bench("latency", tiny, "--server", endpoint, "--rate", f"{rate:.0f}", "--seconds", "8")
        print("latency floor (one-word messages) at the same rate:", json.dumps(floor), flush=True)
        broker_rss = peak_rss_mib(d.pid)
        worker_rss = [peak_rss_mib(p) for p in workers]
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=20)
        except subprocess.TimeoutExpired:
            d.kill()

    kafka_n, kafka_rate = kafka_records_per_s(path)
    print(f"hubao kafka on the mock cluster: {kafka_n} records, {kafka_rate:.0f} records/s", flush=True)

    peer_train = os.path.join(DATA, "zh-spam-sms", "train.tsv")
    r = subprocess.run([sys.executable, "-m", "research.baseline", "bench", peer_train, path],
                       capture_output=True, text=True, timeout=600)
    peer = json.loads(r.stdout)
    print("peer:", json.dumps(peer), flush=True)

    e2e = batch["e2e_msgs_per_s"]
    result = {
        "messages": len(msgs),
        "cores": os.cpu_count(),
        "pipeline_msgs_per_s": pipe["pipeline_msgs_per_s"],
        "pipeline_us_per_msg": pipe["pipeline_us_per_msg"],
        "stage_ns": pipe["stage_ns"],
        "e2e_msgs_per_s": e2e,
        "e2e_batch64_msgs_per_s": batch64["e2e_msgs_per_s"],
        "e2e_full_msgs_per_s": full["e2e_msgs_per_s"],
        "e2e_single_msgs_per_s": single["e2e_msgs_per_s"],
        "e2e_runs_msgs_per_s": [r["e2e_msgs_per_s"] for r in runs],
        "e2e_error_replies": sum(r["error_replies"] for r in (*runs, batch64, full, single)),
        "peer_msgs_per_s": round(peer["msgs_per_s"]),
        "ratio_vs_peer": round(e2e / peer["msgs_per_s"], 2),
        "ratio_vs_peer_full_replies": round(full["e2e_msgs_per_s"] / peer["msgs_per_s"], 2),
        "latency_offered_per_s": lat["offered_per_s"],
        "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "p999_ms": lat["p999_ms"],
        "floor_p50_ms": floor["p50_ms"], "floor_p99_ms": floor["p99_ms"],
        "floor_p999_ms": floor["p999_ms"],
        "broker_rss_mib": round(broker_rss or 0, 1),
        "worker_rss_mib": [round(x or 0, 1) for x in worker_rss],
        "max_worker_rss_mib": round(max([x or 0 for x in worker_rss] or [0]), 1),
        "kafka_records": kafka_n,
        "kafka_records_per_s": round(kafka_rate),
    }
    with open("bench.json", "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    rows = [
        ("in-process pipeline, one core", f"{result['pipeline_msgs_per_s']:,.0f} msg/s ({result['pipeline_us_per_msg']:.1f} µs/msg)"),
        ("  stages (ns/msg)", ", ".join(f"{k} {v:,.0f}" for k, v in pipe["stage_ns"].items())),
        ("hubaod, batches of 256, brief (best of 3)", f"{e2e:,.0f} msg/s"),
        ("hubaod, batches of 64, brief replies", f"{result['e2e_batch64_msgs_per_s']:,.0f} msg/s"),
        ("hubaod, batches of 64, full replies", f"{result['e2e_full_msgs_per_s']:,.0f} msg/s"),
        ("hubaod, single requests pipelined", f"{result['e2e_single_msgs_per_s']:,.0f} msg/s"),
        ("scikit-learn peer, batch (best of 5)", f"{result['peer_msgs_per_s']:,.0f} msg/s"),
        ("ratio Hubao / peer", f"{result['ratio_vs_peer']}x (batches of 256, brief), "
                               f"{result['ratio_vs_peer_full_replies']}x (64, full)"),
        (f"latency at {lat['offered_per_s']:.0f} req/s (half load)",
         f"p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms, p99.9 {lat['p999_ms']:.3f} ms"),
        ("  floor: one-word messages, same rate",
         f"p50 {floor['p50_ms']:.3f} ms, p99 {floor['p99_ms']:.3f} ms, p99.9 {floor['p999_ms']:.3f} ms"),
        ("peak RSS", f"broker {result['broker_rss_mib']} MiB, workers {result['worker_rss_mib']} MiB"),
        ("hubao kafka, mock cluster, text, brief", f"{result['kafka_records_per_s']:,.0f} records/s "
                                                   f"({kafka_n:,} records)"),
    ]
    print()
    for k, v in rows:
        print(f"{k:<42} {v}")
    print("\nwrote bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
