#!/usr/bin/python3
"""curve_client.py - test clients for tests/integration/curve.sh.

Each subcommand talks to a running hubaod whose client endpoint has CURVE,
checks what it gets back and exits 0 (pass) or 1 (fail, with the reason on
stderr).  Every wait is bounded in time.  Key files are read with pyzmq's
own zmq.auth.load_certificate, so the files `hubao keygen` writes are also
checked to be what pyzmq expects.  Needs pyzmq (Debian python3-zmq).

  keys PREFIX PUBLIC         pyzmq reads PREFIX.key and PREFIX.pub and finds
                             the public key PUBLIC (printed by keygen) in both,
                             the secret key only in PREFIX.key
  ask EP SERVER KEY N        N requests on a REQ socket with the broker's
                             public key SERVER and the key pair KEY: each
                             answered with a verdict
  silent EP SERVER KEY MS    one request (SERVER and KEY "-": no CURVE): no
                             reply within MS
  mixed EP SERVER GOOD BAD MS
                             for MS, a client with BAD's key pair and one
                             without keys get no reply, while one with GOOD's
                             keeps being answered; prints how many requests
                             the good one sent
"""
import json
import sys
import time

import zmq
import zmq.auth

CTX = zmq.Context.instance()


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def sock_for(ep, server, key):
    """A REQ socket connected to ep, with CURVE unless server is "-"."""
    s = CTX.socket(zmq.REQ)
    s.linger = 0
    if server != "-":
        s.curve_serverkey, secret = zmq.auth.load_certificate(server)
        if secret is not None:
            fail("%s: pyzmq found a secret key in a public key file" % server)
        s.curve_publickey, s.curve_secretkey = zmq.auth.load_certificate(key)
    s.connect(ep)
    return s


def request(s, i):
    s.send(json.dumps({"id": i, "text": "周年庆大促，全场五折，退订回T"}).encode())


def answered(s, i, ms):
    if not s.poll(ms):
        return False
    r = json.loads(s.recv())
    if r.get("id") != i or "verdict" not in r:
        fail("not a verdict for request %d: %s" % (i, r))
    return True


def cmd_keys(prefix, public):
    pub, sec = zmq.auth.load_certificate(prefix + ".pub")
    if pub.decode() != public or sec is not None:
        fail("%s.pub: public %s, secret %s" % (prefix, pub, sec))
    pub, sec = zmq.auth.load_certificate(prefix + ".key")
    if pub.decode() != public or sec is None or len(sec) != 40:
        fail("%s.key: public %s, secret %s" % (prefix, pub, sec))
    if zmq.curve_public(sec) != pub:
        fail("%s.key: the public key is not the secret key's" % prefix)


def cmd_ask(ep, server, key, n):
    s = sock_for(ep, server, key)
    for i in range(int(n)):
        request(s, i)
        if not answered(s, i, 10000):
            fail("request %d: no reply within 10 s" % i)


def cmd_silent(ep, server, key, ms):
    s = sock_for(ep, server, key)
    request(s, 1)
    if s.poll(int(ms)):
        fail("a reply came: %s" % s.recv()[:200])


def cmd_mixed(ep, server, good, bad, ms):
    g = sock_for(ep, server, good)
    refused = [sock_for(ep, server, bad), sock_for(ep, "-", "-")]
    for s in refused:
        request(s, 0)
    sent = 0
    until = time.monotonic() + int(ms) / 1000
    while time.monotonic() < until:
        request(g, sent)
        if not answered(g, sent, 10000):
            fail("the authorised client's request %d got no reply" % sent)
        sent += 1
        for s in refused:
            if s.poll(0):
                fail("a client that is not let in got a reply: %s" % s.recv()[:200])
        time.sleep(0.05)
    if sent < 5:
        fail("the authorised client sent only %d requests" % sent)
    print(sent)


def main():
    cmds = {"keys": cmd_keys, "ask": cmd_ask, "silent": cmd_silent, "mixed": cmd_mixed}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        fail(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
