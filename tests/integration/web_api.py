#!/usr/bin/env python3
"""HTTP API tests of `hubao web` (run by tests/integration/web.sh).

usage: web_api.py MAIN_URL LIMITED_URL DB

MAIN_URL is a `hubao web --local` with a high rate limit and no token;
LIMITED_URL one started with --rate 3 --token secret; DB is MAIN_URL's
feedback database.  Prints one ok/FAIL line per check; exits 1 on failure.
"""
import json
import os
import sqlite3
import sys
import urllib.error
import urllib.request

MAIN, LIMITED, DB = sys.argv[1:4]
FAILS = []
PHONE = "13812345678"
POLICE = "公安局通知：您涉嫌洗钱，请把存款转入安全账户，联系" + PHONE


def call(base, path, body=None, raw=None, headers=None, method=None):
    """(status, headers, parsed JSON or None) of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            status, hdrs, text = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, e.headers, e.read()
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def raw_http(base, request, source=None):
    """(status, headers text, body) of one request sent byte for byte,
    optionally from the loopback address source."""
    import socket
    host, port = base.split("//")[1].rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=20,
                                  source_address=(source, 0) if source else None) as sk:
        sk.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sk.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head.decode("latin-1"), body


def check(name, cond):
    print(("  ok   " if cond else "  FAIL ") + name)
    if not cond:
        FAILS.append(name)


def code(j):
    return isinstance(j, dict) and j.get("error", {}).get("code")


# ---- a good check, the same reply as the ZeroMQ protocol -------------------
s, h, j = call(MAIN, "/api/check", {"id": 7, "text": POLICE})
check("good check is 200 with a fraud verdict", s == 200 and j.get("verdict") == "fraud")
check("reply echoes the id and lists models", j.get("id") == 7 and "fraud" in j.get("models", {}))
check("reply has both summaries", "zh" in j.get("summary", {}) and "en" in j.get("summary", {}))
check("phone number masked in the reply", PHONE not in json.dumps(j, ensure_ascii=False))
rules = j["tasks"]["fraud"]["evidence"]["rules"]
check("rule evidence has code point spans", rules and POLICE[rules[0]["start"]:rules[0]["end"]] == rules[0]["match"])
check("security headers on API replies",
      "script-src 'self'" in h.get("Content-Security-Policy", "")
      and h.get("X-Content-Type-Options") == "nosniff"
      and h.get("Referrer-Policy") == "no-referrer" and h.get("X-Frame-Options") == "DENY")

s, _, j = call(MAIN, "/api/check", {"text": "verify at http://login.evil-bank.top/verify now"})
u = (j.get("urls") or [{}])[0]
check("links carry their blocklist verdict and feed", u.get("feed") == "testfeed" and u.get("decided_fraud") is True)

s, _, j = call(MAIN, "/api/check", [{"text": POLICE}, {"id": 2}, {"text": "周年庆大促，全场五折，退订回T"}])
check("batch is answered in order with errors in place",
      s == 200 and isinstance(j, list) and len(j) == 3 and j[0]["verdict"] == "fraud"
      and code(j[1]) == "missing_text" and j[1]["id"] == 2 and "verdict" in j[2])

# ---- ids come back as the client wrote them, as over ZeroMQ ----------------
def reply_bytes(body):
    """(status, reply bytes) of one /api/check with body."""
    req = urllib.request.Request(MAIN + "/api/check", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


s, b = reply_bytes(b'[{"id": 9223372036854775808, "text": "hi"}, {"id": {"n": [1.0, -0]}}]')
check("ids beyond 64 bits, 1.0 and -0 come back as written",
      s == 200 and b.startswith(b'[{"id":9223372036854775808,"verdict":')
      and b'},{"id":{"n":[1.0,-0]},"error":{"code":"missing_text"' in b)
s, b = reply_bytes(b'{"id": 1e400}')
check("a request refused before classifying echoes its id as written",
      s == 400 and b.startswith(b'{"id":1e400,"error":{"code":"missing_text"'))

# ---- every error class ----------------------------------------------------
s, _, j = call(MAIN, "/api/check", raw=b"{not json")
check("bad JSON is 400 malformed_json", s == 400 and code(j) == "malformed_json")
s, _, j = call(MAIN, "/api/check", {"id": 3})
check("missing text is 400 missing_text with the id", s == 400 and code(j) == "missing_text" and j.get("id") == 3)
s, _, j = call(MAIN, "/api/check", {"text": "   "})
check("empty text is 400 empty_text", s == 400 and code(j) == "empty_text")
s, _, j = call(MAIN, "/api/check", {"text": "a" * 70000})
check("text over the limit is 413 too_large", s == 413 and code(j) == "too_large")
s, _, j = call(MAIN, "/api/check", raw=b'{"text": "' + b"a" * 300000 + b'"}')
check("body over --max-body is 413", s == 413 and code(j) == "too_large")
s, _, j = call(MAIN, "/api/check", raw=b"\xff\xfe")
check("invalid UTF-8 is 400", s == 400 and code(j) == "invalid_utf8")
# ---- what a page on another site, or a careless client, cannot do ----------
s, _, j = call(MAIN, "/api/check", {"control": "reload", "text": "x"})
check("a control command over HTTP is 403", s == 403 and code(j) == "forbidden")
s, _, j = call(MAIN, "/api/check", [{"text": "a"}, {"control": "stats"}])
check("... in a batch too", s == 403 and code(j) == "forbidden")
s, _, j = call(MAIN, "/api/feedback", raw=json.dumps({"verdict": "clean", "text": "x", "correct": True}).encode(),
               headers={"Content-Type": "text/plain"})
check("a text/plain body (a cross-site form) is 415", s == 415 and code(j) == "unsupported_media_type")
s, _, j = call(MAIN, "/api/feedback", {"verdict": "clean", "text": "x", "correct": True},
               headers={"Origin": "http://evil.example"})
check("a request from another origin is 403", s == 403 and code(j) == "forbidden")
host = MAIN.split("//")[1]
s, _, j = call(MAIN, "/api/check", {"text": POLICE}, headers={"Origin": "http://" + host})
check("the page's own origin is served", s == 200 and j.get("verdict") == "fraud")
st, _, _ = raw_http(MAIN, b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 12\r\nContent-Length: 13\r\n\r\n{\"text\":\"a\"} ")
check("two different Content-Length headers are 400", st == 400)

s, _, j = call(MAIN, "/api/check", method="GET")
check("GET on the API is 405", s == 405)
s, _, j = call(MAIN, "/nope")
check("unknown path is 404 JSON", s == 404 and code(j) == "not_found")

s, _, j = call(LIMITED, "/api/check", {"text": POLICE})
check("missing token is 401", s == 401 and code(j) == "unauthorized")
s, _, j = call(LIMITED, "/api/check", {"text": POLICE}, headers={"Authorization": "Bearer wrong"})
check("wrong token is 401", s == 401 and code(j) == "unauthorized")
for _ in range(10):
    call(LIMITED, "/api/check", {"text": POLICE}, headers={"Authorization": "Bearer wrong"})
ok = [call(LIMITED, "/api/check", {"text": POLICE}, headers={"Authorization": "Bearer secret"})
      for _ in range(3)]
check("requests without the token spend nothing: the right token gets its 3 a minute",
      all(s == 200 and j.get("verdict") == "fraud" for s, _, j in ok))
s, h, j = call(LIMITED, "/api/check", {"text": POLICE}, headers={"Authorization": "Bearer secret"})
check("rate limit is 429 with Retry-After", s == 429 and code(j) == "rate_limited" and h.get("Retry-After"))
s, _, _ = call(LIMITED, "/healthz")
check("healthz needs no token and is not rate limited", s == 200)


def check_with_auth(value):
    """Status of a check sent to LIMITED with this Authorization value, byte
    for byte, from 127.0.0.2 (a rate bucket of its own)."""
    body = json.dumps({"text": POLICE}).encode()
    return raw_http(LIMITED, b"POST /api/check HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nAuthorization: " + value +
                    b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body,
                    source="127.0.0.2")[0]


# a NUL in a header: libmicrohttpd 0.9.75 ends the value there and drops
# the rest before hubao sees it (docs/web.md, "Safety"), so a NUL can cut
# a token short but never make a part of it pass
check("a token prefix then a NUL and junk is 401", check_with_auth(b"Bearer sec\0junk") == 401)
check("the token with a NUL inside is 401", check_with_auth(b"Bearer sec\0ret") == 401)
st = check_with_auth(b"Bearer secret\0junk")
print("    the whole token, then a NUL and junk: %s" % st)
check("the whole token, then a NUL and junk, is read as the token alone (libmicrohttpd "
      "0.9.75: 200) or refused (400)", st in (200, 400))
check("the token sent the same way without a NUL is 200", check_with_auth(b"Bearer secret") == 200)

# ---- health and the page ----------------------------------------------------
s, _, j = call(MAIN, "/healthz")
check("healthz says ready with model versions", s == 200 and j.get("ready") is True and "fraud" in j.get("models", {}))
s, h, page = call(MAIN, "/")
check("page is served with a strict CSP", s == 200 and b"/app.js" in page
      and "default-src 'self'" in h.get("Content-Security-Policy", "") and b"<script>" not in page)
s, h, _ = call(MAIN, "/app.js")
check("script is served as JavaScript", s == 200 and h.get("Content-Type", "").startswith("text/javascript"))

# ---- feedback -------------------------------------------------------------
_, _, reply = call(MAIN, "/api/check", {"text": POLICE})
s, _, j = call(MAIN, "/api/feedback", {"verdict": reply, "text": POLICE, "correct": True})
check("feedback is stored (201)", s == 201 and j.get("stored") is True)
s, _, j = call(MAIN, "/api/feedback", {"verdict": "clean", "text": "转账到 6222021234567890123 微信abc123", "correct": False,
                                       "label": "fraud", "fraud_type": "authority"})
check("correction with a label is stored", s == 201)
# personal data a client may slip in: e-mail addresses, numbers spelt in
# Chinese numerals, and fields the server does not compute (models, summary)
EMAIL, ZH_PHONE = "zhang.wei88@163.com", "一三八一二三四五六七八"
forged = dict(reply, models={"fraud": "v1", "note": "call " + EMAIL}, summary={"en": "ring " + ZH_PHONE})
s, _, j = call(MAIN, "/api/feedback", {"verdict": forged, "correct": True,
                                       "text": "支付宝账号 " + EMAIL + "，电话" + ZH_PHONE + "。"})
check("feedback with an e-mail and a spelt-out number is stored (201)", s == 201)
s, _, j = call(MAIN, "/api/feedback", {"verdict": reply, "correct": True})
check("feedback without text is 400", s == 400 and code(j) == "missing_text")
s, _, j = call(MAIN, "/api/feedback", {"verdict": reply, "text": "x", "correct": True, "label": "DROP TABLE"})
check("feedback with a bad label is 400", s == 400 and code(j) == "invalid_request")
s, _, j = call(MAIN, "/api/feedback", raw=b"[1,")
check("feedback bad JSON is 400", s == 400 and code(j) == "malformed_json")
s, _, j = call(MAIN, "/api/feedback", {"verdict": reply, "text": "x", "correct": False,
                                       "label": "fraud", "fraud_type": "no_such_type"})
check("feedback naming a type types.tsv lacks is 400, and says where the types are",
      s == 400 and code(j) == "invalid_request" and "/types.json" in j["error"]["message"])

# ---- the fraud types the feedback form offers --------------------------------
s, h, j = call(MAIN, "/types.json", method="GET")
rules = os.environ.get("HUBAO_RULES", "models/rules")
with open(os.path.join(rules, "types.tsv"), encoding="utf-8") as f:
    tsv = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")][1:]
check("types.json is served as JSON", s == 200 and h.get("Content-Type", "").startswith("application/json"))
check("types.json lists types.tsv's rows, in order, with both names",
      isinstance(j, dict) and [(t["type"], t["name_zh"], t["name_en"]) for t in j["types"]]
      == [(r[0], r[1], r[2]) for r in tsv])
s, _, page = call(MAIN, "/", method="GET")
check("the page names no fraud type of its own", b'value="authority"' not in page)

con = sqlite3.connect(DB)
rows = con.execute("SELECT verdict, verdict_label, correct, label, fraud_type, text, models FROM feedback ORDER BY id").fetchall()
mode = con.execute("PRAGMA journal_mode").fetchone()[0]
con.close()
check("database is in WAL mode", mode == "wal")
check("three feedback rows stored", len(rows) == 3)
at_rest = b"".join(open(DB + sfx, "rb").read() for sfx in ("", "-wal") if os.path.exists(DB + sfx))
check("no e-mail or spelt-out number at rest (database and WAL bytes)",
      EMAIL.encode() not in at_rest and ZH_PHONE.encode() not in at_rest
      and b"zhang.wei88" not in at_rest and "三四五六七".encode() not in at_rest)
check("... masked as <EMAIL> and <PHONE>, forged model names dropped",
      "<EMAIL>" in rows[2][5] and "<PHONE>" in rows[2][5] and json.loads(rows[2][6]) == {"fraud": "v1"})
dump = json.dumps(rows, ensure_ascii=False)
check("no phone or account number in clear", PHONE not in dump and "6222021234567890123" not in dump and "abc123" not in dump)
check("placeholders typed", "<PHONE>" in rows[0][5] and "<ACCOUNT>" in rows[1][5] and "<HANDLE>" in rows[1][5])
check("verdict, label and models kept", rows[0][0] == "fraud" and rows[0][1] == "fraud_authority"
      and rows[0][2] == 1 and rows[1][3] == "fraud" and "fraud" in json.loads(rows[0][6]))

sys.exit(1 if FAILS else 0)
