/*
 * handler.h - what a worker does with one request body: parse it, classify
 * every item, render the reply.  No sockets here, so it can be tested and
 * benchmarked on its own; worker.c moves the bytes.
 *
 * A handler owns the engine (models and rules) and one hb_session whose
 * scratch buffers, like the reply buffer, are reused for every request.
 * Reloading builds a new engine beside the old one and swaps only if the
 * new one loaded completely: a broken bundle never replaces a working one.
 * Loading and swapping are separate steps so that a worker can load on
 * another thread while it keeps serving with the old engine.
 *
 * A handler given a snapshot directory (snapshot.h) that cannot load the
 * configured directories when it is made falls back to the snapshot's
 * current set, the last that loaded, and says so (hb_handler_fallback);
 * reloads still read the configured directories, and the first that
 * loads ends the fallback.
 */
#ifndef HB_SERVICE_HANDLER_H
#define HB_SERVICE_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"

typedef struct hb_handler hb_handler;

typedef struct hb_handler_config {
    const char *models_dir;   /* copied */
    const char *rules_dir;    /* copied */
    const char *feeds_dir;    /* copied; NULL or "" for none */
    const char *snapshot_dir; /* copied; NULL or "" for none: no fallback */
    size_t max_text;          /* bytes of one text */
    size_t max_batch;         /* items of one batch */
    int top_features;         /* evidence n-grams per task */
    int unmask;               /* phone/account numbers in clear */
    int brief;                /* brief replies unless an item asks for full */
} hb_handler_config;

/* Counters since the handler was made. */
typedef struct hb_handler_counts {
    uint64_t requests;        /* bodies handled */
    uint64_t items;           /* items classified or refused */
    uint64_t errors;          /* error replies (items, or whole requests) */
} hb_handler_counts;

/* Load the engine from the configured directories or, if they fail and
 * there is a snapshot, from its current set.  Returns an owned handler, or
 * NULL with err saying why the models or rules could not be loaded (and,
 * if it was tried, why the snapshot could not either). */
hb_handler *hb_handler_new(const hb_handler_config *cfg, hb_error *err);

/* Free the handler and its engine; NULL is fine. */
void hb_handler_free(hb_handler *h);

/* An engine loaded for a handler but not yet serving. */
typedef struct hb_handler_engine hb_handler_engine;

/* Load a new engine (models and rules) from the handler's directories.
 * Reads only settings that never change, so another thread may call it
 * while the handler serves requests.  Returns an owned engine, or NULL
 * with err saying what failed to load. */
hb_handler_engine *hb_handler_load(const hb_handler *h, hb_error *err);

/* Put a loaded engine in service (the handler takes ownership) and free
 * the one it replaces.  Call from the thread that handles requests. */
void hb_handler_swap(hb_handler *h, hb_handler_engine *e);

/* Free an engine that was never swapped in; NULL is fine. */
void hb_handler_engine_free(hb_handler_engine *e);

/* hb_handler_load then hb_handler_swap.  Returns 0, or a negative code
 * with err; on failure the old engine keeps serving. */
int hb_handler_reload(hb_handler *h, hb_error *err);

/* The loaded models as {"task": "version", ...} (borrowed; valid until the
 * next successful reload). */
const json_t *hb_handler_models(const hb_handler *h);

/* NULL while the engine came from the configured directories; while it
 * came from the snapshot, why the configured directories did not load
 * (borrowed; valid until the next successful reload, which clears it). */
const char *hb_handler_fallback(const hb_handler *h);

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

#endif
