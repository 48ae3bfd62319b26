/*
 * handler.h - the request handler: one request body in, exactly one reply
 * out (docs/protocol.md).  It parses the body (one item or a batch),
 * classifies every item and renders the replies; bad input gets an error
 * reply, never silence.  Every front end that answers protocol requests
 * calls it, so they cannot disagree: hubaod's workers, `hubao web
 * --local`, and any consumer of a message stream.  No sockets and no
 * threads here: moving the bytes is the caller's job.
 *
 * A handler belongs to one thread at a time: it owns an hb_session and
 * the reply buffer, both reused for every request, so after the first few
 * requests no reply allocates a buffer.  The engine is borrowed: one
 * engine (read-only once built) may serve any number of handlers on as
 * many threads, and its owner decides when to replace it
 * (hb_handler_set_engine) and must keep it alive until then.
 *
 * Limits: max_batch items a request, and the engine's text limit
 * (hb_engine_set_max_text) for each item's text.  The size of the whole
 * body is the transport's to bound before it calls.
 */
#ifndef HB_HANDLER_H
#define HB_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "render.h"
#include "verdict.h"

typedef struct hb_handler hb_handler;

/* The default of max_batch (hubaod --max-batch, the web API). */
enum { HB_HANDLER_MAX_BATCH = 256 };

typedef struct hb_handler_options {
    size_t max_batch;         /* items of one batch, at least 1 */
    hb_render_options render; /* an item's "detail" overrides render.detail */
} hb_handler_options;

/* max_batch HB_HANDLER_MAX_BATCH, render hb_render_defaults(). */
hb_handler_options hb_handler_defaults(void);

/* Counters since the handler was made. */
typedef struct hb_handler_counts {
    uint64_t requests; /* bodies handled */
    uint64_t items;    /* items classified or refused */
    uint64_t errors;   /* error replies (items, or whole requests) */
} hb_handler_counts;

/* A handler answering with engine (borrowed) as opt says (copied).
 * Returns an owned handler, or NULL with err when out of memory. */
hb_handler *hb_handler_new(const hb_engine *engine, const hb_handler_options *opt,
                           hb_error *err);

/* Free the handler (not its engine); NULL is fine. */
void hb_handler_free(hb_handler *h);

/* Answer with engine (borrowed) from now on; the one before may then be
 * freed.  Returns 0, or HB_ENOMEM with err, and the old engine still
 * answers. */
int hb_handler_set_engine(hb_handler *h, const hb_engine *engine, hb_error *err);

/* The engine's models as {"task": "version", ...}, which full replies
 * carry as "models" (borrowed; valid until the engine is replaced). */
const json_t *hb_handler_models(const hb_handler *h);

/* Called between items of a batch, so a long batch can keep heartbeats
 * going; NULL to stop. */
void hb_handler_set_tick(hb_handler *h, void (*tick)(void *ctx), void *ctx);

/* Handle one request body of len bytes and return the reply's bytes
 * (compact JSON, not NUL-terminated) and their count in *out_len.  The
 * buffer belongs to the handler and is valid until the next call.  Every
 * input gets a reply: bad input gives an error reply, and only running
 * out of memory gives NULL. */
const char *hb_handler_handle(hb_handler *h, const char *body, size_t len,
                              size_t *out_len);

/* Counters so far, and per error code counts as {"code": n} (borrowed). */
hb_handler_counts hb_handler_counts_get(const hb_handler *h);
const json_t *hb_handler_error_counts(const hb_handler *h);

/* Verdicts so far per task: {"task": {"labels": {"label": n}, "types":
 * {"type": n}}} (borrowed), for metrics. */
const json_t *hb_handler_verdict_counts(const hb_handler *h);

#endif
