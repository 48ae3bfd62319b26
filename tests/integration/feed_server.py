#!/usr/bin/env python3
"""feed_server.py - a loopback HTTP server playing feed publishers for
tests/integration/feeds.sh.

It binds 127.0.0.1 on a free port, writes the port to --port-file, logs every
request (path, phase, conditional headers) as one JSON line to --log, and
exits on its own after --lifetime seconds so a failed test never leaves it
behind.

Phase 1 (at start) every feed is good.  GET /control/phase/2 switches to
phase 2, where each path plays one case:

  /good.txt        the same good text feed (200, no validators)
  /changed.txt     a different feed (ETag "v1" in phase 1, "v2" in phase 2)
  /unchanged.txt   304 when If-None-Match is "u1" (ETag and Last-Modified)
  /truncated.txt   Content-Length larger than the body, then close
  /oversized.txt   a valid feed bigger than the test's --max-bytes
  /oversized-stream.txt  the same without Content-Length
  /slow.txt        headers, then nothing for longer than the test's --timeout
  /garbage.txt     an HTML error page served as 200
  /empty.txt       200 with an empty body
  /feed.csv        a URLhaus-style CSV cut inside a quoted field
  /feed.json       a JSON array cut in the middle
  /flaky.txt       503 on the first request of the phase, a new feed after
  /missing.txt     404 (in every phase)
"""
import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = (b"# OpenPhish-style test feed\n"
        b"https://phish.example.com/login/verify.php\n"
        b"http://203.0.113.7/bank/\n"
        b"\n"
        b"evil-bank.com\n"
        b"login.bad-site.org   # a host, not its domain\n")

CHANGED = {1: b"https://v1.example.net/a\n",
           2: b"https://v2.example.net/b\nhttps://v2.example.net/c\n"}

UNCHANGED = b"https://same.example.com/forever\n"
LAST_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"

CSV = (b"################################################################\n"
       b"# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #\n"
       b"################################################################\n"
       b"#\n"
       b"# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
       b'"1","2024-01-01 00:00:00","http://198.51.100.4:8080/i.sh","online",'
       b'"2024-01-01 00:00:00","malware_download","elf,mirai",'
       b'"https://urlhaus.abuse.ch/url/1/","tester"\n'
       b'"2","2024-01-01 00:00:01","https://csv.example.org/drop/payload.exe",'
       b'"online","2024-01-01 00:00:01","malware_download","exe",'
       b'"https://urlhaus.abuse.ch/url/2/","tester"\n')

JSON = (b'[{"url": "https://json.example.org/x", "target": "bank"},\n'
        b' "https://json.example.org/y",\n'
        b' "bad-json-host.com"]\n')

GARBAGE = (b"<html><body><h1>503 Service Temporarily Unavailable</h1>\n"
           b"<p>The server is busy.  Please try again later.</p>\n"
           b"</body></html>\n"
           b"\x00\x01\x02\xff\xfe binary tail\n")

# 2000 valid lines, about 80 KB: over the test's 64K cap.
BIG = b"".join(b"https://big.example.com/page/%06d/index.html\n" % i
               for i in range(2000))


class State:
    phase = 1
    flaky_hits = 0
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "feed-server/1"

    def log_message(self, fmt, *args):  # quiet; we keep our own log
        pass

    def record(self):
        entry = {"path": self.path, "phase": State.phase,
                 "if_none_match": self.headers.get("If-None-Match"),
                 "if_modified_since": self.headers.get("If-Modified-Since")}
        with State.lock:
            with open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    def send(self, status, body, headers=(), length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length is not False:
            self.send_header("Content-Length",
                             str(len(body) if length is None else length))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        p = self.path
        if p == "/control/phase/2":
            State.phase = 2
            State.flaky_hits = 0
            return self.send(200, b"phase 2\n")
        self.record()
        two = State.phase == 2
        if p == "/good.txt":
            return self.send(200, GOOD)
        if p == "/changed.txt":
            v = 2 if two else 1
            return self.send(200, CHANGED[v], [("ETag", '"v%d"' % v)])
        if p == "/unchanged.txt":
            validators = [("ETag", '"u1"'), ("Last-Modified", LAST_MODIFIED)]
            if self.headers.get("If-None-Match") == '"u1"':
                return self.send(304, b"", validators, length=False)
            return self.send(200, UNCHANGED, validators)
        if p == "/truncated.txt":
            if not two:
                return self.send(200, GOOD)
            self.send(200, GOOD[:40], length=10000)
            self.close_connection = True
            return None
        if p in ("/oversized.txt", "/oversized-stream.txt"):
            if not two:
                return self.send(200, GOOD)
            return self.send(200, BIG,
                             length=None if p == "/oversized.txt" else False)
        if p == "/slow.txt":
            if not two:
                return self.send(200, GOOD)
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.flush()
            deadline = time.monotonic() + 3.0  # the test's timeout is 1 s
            while time.monotonic() < deadline:
                time.sleep(0.05)
            try:
                self.wfile.write(GOOD)
            except OSError:
                pass
            return None
        if p == "/garbage.txt":
            return self.send(200, GARBAGE if two else GOOD)
        if p == "/empty.txt":
            return self.send(200, b"" if two else GOOD)
        if p == "/feed.csv":
            cut = CSV.index(b"payload") if two else len(CSV)
            return self.send(200, CSV[:cut])
        if p == "/feed.json":
            return self.send(200, JSON[:60] if two else JSON)
        if p == "/flaky.txt":
            with State.lock:
                State.flaky_hits += 1
                hits = State.flaky_hits
            if two and hits == 1:
                return self.send(503, b"busy\n")
            return self.send(200, CHANGED[2] if two else GOOD)
        return self.send(404, b"not found\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=25.0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log_path = args.log
    open(args.log, "w").close()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    # Bounded lifetime: never outlive a test that forgot to stop us.
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
