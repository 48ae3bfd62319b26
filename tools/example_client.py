#!/usr/bin/python3
"""example_client.py - the smallest useful hubaod client (docs/protocol.md).

    tools/example_client.py "公安局通知：请把存款转入安全账户"
    tools/example_client.py --server tcp://127.0.0.1:7531 "text" "another text"
    tools/example_client.py --server tcp://hubao.example:7531 \
        --curve-server-key broker.pub --curve-secret-key me.key "text"

Sends all texts as one batch on a REQ socket and prints each verdict's
summary.  Needs pyzmq (Debian: python3-zmq).  A platform that wants many
requests in flight uses a DEALER socket the same way: send
[b"", json_bytes], receive [b"", json_bytes], and match replies by "id".
For a hubaod with CURVE on its client endpoint (docs/protocol.md,
"Authentication (CURVE)"), the key files of `hubao keygen` are read with
pyzmq's own zmq.auth.load_certificate.
"""
import argparse
import json
import sys

import zmq
import zmq.auth


def main():
    ap = argparse.ArgumentParser(description="Ask hubaod about messages.")
    ap.add_argument("--server", default="tcp://127.0.0.1:7531")
    ap.add_argument("--timeout-ms", type=int, default=5000)
    ap.add_argument("--curve-server-key", metavar="FILE", help="hubaod's public key (.pub)")
    ap.add_argument("--curve-secret-key", metavar="FILE", help="this client's key pair (.key)")
    ap.add_argument("text", nargs="+")
    args = ap.parse_args()
    if bool(args.curve_server_key) != bool(args.curve_secret_key):
        ap.error("--curve-server-key and --curve-secret-key go together")

    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.RCVTIMEO, args.timeout_ms)
    sock.setsockopt(zmq.LINGER, 0)
    if args.curve_server_key:
        sock.curve_serverkey, _ = zmq.auth.load_certificate(args.curve_server_key)
        sock.curve_publickey, sock.curve_secretkey = zmq.auth.load_certificate(args.curve_secret_key)
    sock.connect(args.server)

    batch = [{"id": i, "text": t} for i, t in enumerate(args.text)]
    sock.send(json.dumps(batch, ensure_ascii=False).encode("utf-8"))
    try:
        reply = json.loads(sock.recv())
    except zmq.Again:
        sys.exit("no reply from %s within %d ms - is hubaod running?" % (args.server, args.timeout_ms))

    if isinstance(reply, dict):  # the whole batch was refused
        sys.exit("refused: %s: %s" % (reply["error"]["code"], reply["error"]["message"]))
    for item in reply:
        text = args.text[item["id"]]
        if "error" in item:
            print("%-30.30s  error %s: %s" % (text, item["error"]["code"], item["error"]["message"]))
        else:
            print("%-30.30s  %-7s %s" % (text, item["verdict"], item["summary"]["en"]))


if __name__ == "__main__":
    main()
