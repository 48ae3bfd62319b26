/*
 * webcheck.h - what answers `hubao web`'s checks: a running hubaod reached
 * over ZeroMQ, or (--local) an engine loaded in this process.  Either way
 * the request and reply are the ZeroMQ protocol's JSON (docs/protocol.md),
 * so the HTTP API and the service can never disagree.
 *
 * Asynchronous, so that one slow answer holds up no other: a request is
 * handed over and its reply comes back later through a callback, from
 * another thread.  Remote mode keeps every request in flight on one
 * ZeroMQ DEALER socket owned by one thread; local mode answers on a pool
 * of threads (webpool.h) with hubaod's request handler (handler.h), one
 * each, at its default limits.  Submitting is for one thread at a time
 * (web.c's event thread).
 */
#ifndef HB_CLI_WEBCHECK_H
#define HB_CLI_WEBCHECK_H

#include <stddef.h>

typedef struct web_backend web_backend;

/* A request's answer: reply is malloc'd JSON of len bytes that the
 * callee owns, or NULL when there is none (the service did not answer
 * within the timeout, is down, the backend is stopping, or memory ran
 * out).  Called exactly once per accepted request, from a backend thread
 * or, for an answer known at once, before the submitting call returns. */
typedef void web_reply_fn(void *ctx, char *reply, size_t len);

/* Load models and rules (paths.h resolves NULL arguments) and answer in
 * process on threads threads.  NULL with a message in err. */
web_backend *web_backend_local(const char *models, const char *rules, const char *feeds,
                               int threads, char *err, size_t cap);

/* Forward to hubaod at endpoint, answering NULL to what is not answered
 * within timeout_ms; keys (cli.h; may be NULL) are the CURVE key files to
 * connect with.  NULL with a message in err. */
struct cli_keys;
web_backend *web_backend_remote(const char *endpoint, const struct cli_keys *keys,
                                int timeout_ms, char *err, size_t cap);

/* Answer a request body already checked by hb_request_parse.  body must
 * stay valid until done is called.  Returns 0, or -1 when the backend is
 * stopping or out of memory (done is then never called). */
int web_backend_check(web_backend *b, const char *body, size_t len, web_reply_fn *done,
                      void *ctx);

/* Answer {"ready": true|false, "mode": "local"|"server", "models": {...}}
 * through done (reply NULL only when out of memory): local mode at once;
 * remote mode pings hubaod ({"control": "ping"}, the one control command
 * its request socket takes; the reply carries the model versions): ready
 * when it answers, not ready when it does not, and at once while no
 * connection to hubaod is up.  Returns as web_backend_check. */
int web_backend_health(web_backend *b, web_reply_fn *done, void *ctx);

/* Answer everything pending (local: classify what is queued; remote:
 * NULL), then refuse new requests.  Safe to call twice. */
void web_backend_stop(web_backend *b);

/* Stop, then free; NULL is fine. */
void web_backend_free(web_backend *b);

#endif
