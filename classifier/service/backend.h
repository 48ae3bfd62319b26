/*
 * backend.h - the protocol between the broker and its workers on the
 * backend socket (broker: ROUTER, bound; worker: DEALER, connects).
 *
 * Every message starts with a command frame whose first byte names it:
 *
 *   worker -> broker
 *     'R' READY      + frame: {"protocol", "pid", "host", "models", "fallback"}
 *                    sent on every (re)connect; the broker then sends work.
 *                    "fallback" (a string, only when the worker serves the
 *                    snapshot of the last models that loaded) says why the
 *                    configured models did not load
 *     'H' HEARTBEAT  + frame: {"requests", "items", "errors", "error_codes"}
 *                    every heartbeat interval, and right before a reply
 *                    whose request added an error, so that a client
 *                    asking "stats" after its error reply sees it counted
 *     'P' REPLY      8-byte request number after the 'P'; + frame: reply
 *                    JSON; + frame: HB_COUNTS_FRAME bytes, the worker's
 *                    requests, items and errors so far (three uint64 in
 *                    host order: broker and worker run the same build)
 *     'L' RELOADED   + frame: {"ok": true, "models"} or {"ok": false, "error",
 *                    "models", "fallback"}: a reload that loads ends a
 *                    fallback, one that fails leaves it as it was
 *
 *   broker -> worker
 *     'Q' REQUEST    8-byte request number after the 'Q'; + frame: request body
 *     'H' HEARTBEAT  every heartbeat interval
 *     'L' RELOAD     build a new engine; answer RELOADED
 *     'D' DISCONNECT "I do not know you": reconnect and send READY again
 *
 * Liveness works as in the zguide's Paranoid Pirate pattern: any message
 * counts as a sign of life; a peer silent for liveness x interval is taken
 * for dead.  The broker then re-sends what the worker held; the worker
 * closes its socket and reconnects with exponential back-off (1 s to 32 s).
 */
#ifndef HB_SERVICE_BACKEND_H
#define HB_SERVICE_BACKEND_H

#define HB_BACKEND_PROTOCOL "hubao-worker/1"

enum {
    HB_CMD_READY = 'R',
    HB_CMD_HEARTBEAT = 'H',
    HB_CMD_REPLY = 'P',
    HB_CMD_RELOAD = 'L', /* both ways: request and result */
    HB_CMD_REQUEST = 'Q',
    HB_CMD_DISCONNECT = 'D',
    HB_SEQ_FRAME = 9,     /* command byte + 8-byte request number */
    HB_COUNTS_FRAME = 24, /* requests, items, errors: uint64 each */
};

#endif
