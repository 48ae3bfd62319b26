/*
 * handler.c - request body in, reply bytes out (see handler.h).
 *
 * The reply of an item is the verdict of hb_verdict_to_json with "id"
 * first and "models" (and "urls" when the request named some) added;
 * jansson keeps insertion order, so "id" leads every reply a person reads.
 * The reply is serialised into one growing buffer that lives as long as
 * the handler: after the first few requests no reply allocates a buffer.
 * A batch's replies are serialised one by one and joined into an array.
 */
#include "handler.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol.h"
#include "snapshot.h"
#include "urls.h"
#include "verdict.h"

struct hb_handler {
    char *models_dir, *rules_dir, *feeds_dir, *snapshot_dir;
    char *fallback;        /* why the engine is the snapshot's, or NULL */
    size_t max_text, max_batch;
    hb_render_options render;
    hb_engine *engine;
    hb_session *session;
    json_t *models;        /* {"task": "version"} of engine */
    json_t *error_counts;  /* {"code": n} */
    hb_handler_counts counts;
    char *out;             /* reply buffer */
    size_t out_cap;
    void (*tick)(void *ctx);
    void *tick_ctx;
};

struct hb_handler_engine {
    hb_engine *engine;
    json_t *models;  /* {"task": "version"} of engine */
    char *fallback;  /* loaded from the snapshot because of this, or NULL */
};

void hb_handler_engine_free(hb_handler_engine *x)
{
    if (!x)
        return;
    hb_engine_free(x->engine);
    json_decref(x->models);
    free(x->fallback);
    free(x);
}

/* Load an engine from paths. */
static hb_handler_engine *load_from(const hb_handler *h, const hb_engine_paths *paths,
                                    hb_error *err)
{
    hb_handler_engine *x = calloc(1, sizeof *x);
    if (!x) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    if (!(x->engine = hb_engine_open_paths(paths, err))) {
        free(x);
        return NULL;
    }
#ifdef __GLIBC__
    /* parsing the model files leaves megabytes of freed heap behind; hand
     * them back so every worker's resident size is what it really uses */
    malloc_trim(0);
#endif
    hb_engine_set_max_text(x->engine, h->max_text);
    if (!(x->models = hb_engine_versions_json(x->engine))) {
        hb_handler_engine_free(x);
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    return x;
}

hb_handler_engine *hb_handler_load(const hb_handler *h, hb_error *err)
{
    hb_engine_paths paths = {h->rules_dir, h->models_dir, *h->feeds_dir ? h->feeds_dir : NULL};
    return load_from(h, &paths, err);
}

/* The configured directories failed with err: load the snapshot's current
 * set instead, remembering why.  NULL (err then says why both failed) when
 * there is no snapshot or it does not load either. */
static hb_handler_engine *load_snapshot(const hb_handler *h, hb_error *err)
{
    hb_snapshot_paths p;
    hb_error serr;
    if (hb_snapshot_current(h->snapshot_dir, &p, &serr) != 0)
        return NULL; /* nothing to fall back to: the first error is the one */
    hb_engine_paths paths = {p.rules, p.models, *p.feeds ? p.feeds : NULL};
    hb_handler_engine *x = load_from(h, &paths, &serr);
    if (!x) {
        hb_error first = *err; /* not formatted into itself */
        hb_error_set(err, first.code, "%.250s; the last models that loaded failed too: %.200s",
                     first.message, serr.message);
        return NULL;
    }
    if (!(x->fallback = strdup(err->message))) {
        hb_handler_engine_free(x);
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    return x;
}

void hb_handler_swap(hb_handler *h, hb_handler_engine *x)
{
    /* the session holds nothing that outlives one request, so it works
     * with the new engine as it is */
    hb_engine_free(h->engine);
    json_decref(h->models);
    free(h->fallback);
    h->engine = x->engine;
    h->models = x->models;
    h->fallback = x->fallback;
    free(x);
}

hb_handler *hb_handler_new(const hb_handler_config *cfg, hb_error *err)
{
    hb_handler *h = calloc(1, sizeof *h);
    if (!h) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    h->models_dir = strdup(cfg->models_dir);
    h->rules_dir = strdup(cfg->rules_dir);
    h->feeds_dir = strdup(cfg->feeds_dir ? cfg->feeds_dir : "");
    h->snapshot_dir = strdup(cfg->snapshot_dir ? cfg->snapshot_dir : "");
    h->max_text = cfg->max_text;
    h->max_batch = cfg->max_batch;
    h->render = hb_render_defaults();
    h->render.top_features = cfg->top_features;
    h->render.unmask = cfg->unmask;
    h->render.detail = cfg->brief ? HB_DETAIL_BRIEF : HB_DETAIL_FULL;
    h->session = hb_session_new();
    h->error_counts = json_object();
    h->out_cap = 64 * 1024;
    h->out = malloc(h->out_cap);
    if (!h->models_dir || !h->rules_dir || !h->feeds_dir || !h->snapshot_dir || !h->session ||
        !h->error_counts || !h->out) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_handler_free(h);
        return NULL;
    }
    hb_error first;
    hb_handler_engine *x = hb_handler_load(h, &first);
    if (!x && *h->snapshot_dir)
        x = load_snapshot(h, &first);
    if (!x) {
        if (err)
            *err = first;
        hb_handler_free(h);
        return NULL;
    }
    hb_handler_swap(h, x);
    return h;
}

void hb_handler_free(hb_handler *h)
{
    if (!h)
        return;
    hb_engine_free(h->engine);
    hb_session_free(h->session);
    json_decref(h->models);
    json_decref(h->error_counts);
    free(h->models_dir);
    free(h->rules_dir);
    free(h->feeds_dir);
    free(h->snapshot_dir);
    free(h->fallback);
    free(h->out);
    free(h);
}

int hb_handler_reload(hb_handler *h, hb_error *err)
{
    hb_handler_engine *x = hb_handler_load(h, err);
    if (!x)
        return err ? err->code : HB_EFORMAT;
    hb_handler_swap(h, x);
    return 0;
}

const json_t *hb_handler_models(const hb_handler *h) { return h->models; }

const char *hb_handler_fallback(const hb_handler *h) { return h->fallback; }

void hb_handler_set_tick(hb_handler *h, void (*tick)(void *ctx), void *ctx)
{
    h->tick = tick;
    h->tick_ctx = ctx;
}

hb_handler_counts hb_handler_counts_get(const hb_handler *h) { return h->counts; }

const json_t *hb_handler_error_counts(const hb_handler *h) { return h->error_counts; }

static json_t *error_reply(hb_handler *h, const json_t *id, const char *code,
                           const char *message)
{
    h->counts.errors++;
    json_t *n = json_object_get(h->error_counts, code);
    json_object_set_new(h->error_counts, code,
                        json_integer(n ? json_integer_value(n) + 1 : 1));
    return hb_error_reply(id, code, message);
}

/* The reply of one item (new reference; NULL only when out of memory). */
static json_t *handle_item(hb_handler *h, const json_t *item)
{
    hb_request_item it;
    hb_request_error rerr;
    h->counts.items++;
    if (hb_request_item_check(item, &it, &rerr) != 0)
        return error_reply(h, it.id, rerr.code, rerr.message);
    hb_error err;
    json_t *reply = hb_answer_item(h->engine, h->session, &it, h->models, &h->render, &err);
    if (!reply && err.code != HB_ENOMEM)
        return error_reply(h, it.id, hb_err_name(err.code), err.message);
    return reply;
}

/* Make room for at least need more bytes after used in the reply buffer. */
static int reserve(hb_handler *h, size_t used, size_t need)
{
    if (used + need <= h->out_cap)
        return 0;
    size_t cap = h->out_cap;
    while (cap < used + need)
        cap *= 2;
    char *bigger = realloc(h->out, cap);
    if (!bigger)
        return -1;
    h->out = bigger;
    h->out_cap = cap;
    return 0;
}

/* Serialise j into the reply buffer at *used, growing it as needed. */
static int append_json(hb_handler *h, const json_t *j, size_t *used)
{
    size_t n = hb_reply_dumpb(j, h->out + *used, h->out_cap - *used, HB_JSON_FLAGS);
    if (n > h->out_cap - *used) {
        if (reserve(h, *used, n) != 0)
            return -1;
        n = hb_reply_dumpb(j, h->out + *used, h->out_cap - *used, HB_JSON_FLAGS);
    }
    if (n == 0)
        return -1;
    *used += n;
    return 0;
}

/* Serialise an item's reply; a reply that will not serialise (a bug, not
 * the caller's input) is answered in its place by an "internal" error with
 * the item's id (counted in the error counts), so the rest of a batch
 * still gets its verdicts.  -1 only when even that does not fit in
 * memory. */
static int append_reply(hb_handler *h, const json_t *reply, size_t *used)
{
    if (append_json(h, reply, used) == 0)
        return 0;
    json_t *e = error_reply(h, json_object_get(reply, "id"), "internal",
                            "the verdict could not be serialised");
    int rc = e ? append_json(h, e, used) : -1;
    json_decref(e);
    return rc;
}

static int append_byte(hb_handler *h, char c, size_t *used)
{
    if (reserve(h, *used, 1) != 0)
        return -1;
    h->out[(*used)++] = c;
    return 0;
}

/* The reply to a batch: each item's reply is serialised as soon as it is
 * made and freed, so the memory of one item is reused by the next (a
 * batch's worth of reply trees would not stay in cache), and the replies
 * are joined into the array "[r1,r2,...]".  Returns the length, or 0 when
 * out of memory. */
static size_t answer_batch(hb_handler *h, const json_t *req)
{
    size_t used = 0;
    if (append_byte(h, '[', &used) != 0)
        return 0;
    for (size_t i = 0; i < json_array_size(req); i++) {
        json_t *r = handle_item(h, json_array_get(req, i));
        int bad = !r || (i > 0 && append_byte(h, ',', &used) != 0) ||
                  append_reply(h, r, &used) != 0;
        json_decref(r);
        if (bad)
            return 0;
        if (h->tick)
            h->tick(h->tick_ctx);
    }
    return append_byte(h, ']', &used) == 0 ? used : 0;
}

const char *hb_handler_handle(hb_handler *h, const char *body, size_t len,
                              size_t *out_len)
{
    h->counts.requests++;
    hb_request_error rerr;
    json_t *req = hb_request_parse(body, len, h->max_batch, &rerr);
    size_t used = 0;
    if (req && json_is_array(req)) {
        used = answer_batch(h, req);
    } else {
        json_t *reply = req ? handle_item(h, req) : error_reply(h, NULL, rerr.code, rerr.message);
        if (reply && append_reply(h, reply, &used) != 0)
            used = 0;
        json_decref(reply);
    }
    json_decref(req);
    *out_len = used;
    return used ? h->out : NULL;
}
