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

#include <stdlib.h>
#include <string.h>

#include "request.h"

struct hb_handler {
    const hb_engine *engine; /* borrowed */
    json_t *models;          /* {"task": "version"} of engine */
    hb_session *session;
    size_t max_batch;
    hb_render_options render;
    json_t *error_counts; /* {"code": n} */
    json_t *verdicts;     /* {"task": {"labels": {"label": n}, "types": {"type": n}}} */
    hb_handler_counts counts;
    char *out; /* reply buffer */
    size_t out_cap;
    void (*tick)(void *ctx);
    void *tick_ctx;
};

hb_handler_options hb_handler_defaults(void)
{
    return (hb_handler_options){.max_batch = HB_HANDLER_MAX_BATCH,
                                .render = hb_render_defaults()};
}

hb_handler *hb_handler_new(const hb_engine *engine, const hb_handler_options *opt,
                           hb_error *err)
{
    hb_handler *h = calloc(1, sizeof *h);
    if (!h) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    h->max_batch = opt->max_batch;
    h->render = opt->render;
    h->session = hb_session_new();
    h->error_counts = json_object();
    h->verdicts = json_object();
    h->out_cap = (size_t)64 * 1024;
    h->out = malloc(h->out_cap);
    if (!h->session || !h->error_counts || !h->verdicts || !h->out ||
        hb_handler_set_engine(h, engine, err) != 0) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_handler_free(h);
        return NULL;
    }
    return h;
}

void hb_handler_free(hb_handler *h)
{
    if (!h)
        return;
    hb_session_free(h->session);
    json_decref(h->models);
    json_decref(h->error_counts);
    json_decref(h->verdicts);
    free(h->out);
    free(h);
}

/* The session holds nothing that outlives one request, so it works with
 * the new engine as it is. */
int hb_handler_set_engine(hb_handler *h, const hb_engine *engine, hb_error *err)
{
    json_t *models = hb_engine_versions_json(engine);
    if (!models)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    json_decref(h->models);
    h->models = models;
    h->engine = engine;
    return 0;
}

const json_t *hb_handler_models(const hb_handler *h)
{
    return h->models;
}

void hb_handler_set_tick(hb_handler *h, void (*tick)(void *ctx), void *ctx)
{
    h->tick = tick;
    h->tick_ctx = ctx;
}

hb_handler_counts hb_handler_counts_get(const hb_handler *h)
{
    return h->counts;
}

const json_t *hb_handler_error_counts(const hb_handler *h)
{
    return h->error_counts;
}

const json_t *hb_handler_verdict_counts(const hb_handler *h)
{
    return h->verdicts;
}

/* Add one to obj[key], making it (an integer) if need be. */
static void count_key(json_t *obj, const char *key)
{
    json_t *n = json_object_get(obj, key);
    if (n)
        json_integer_set(n, json_integer_value(n) + 1);
    else
        json_object_set_new(obj, key, json_integer(1));
}

/* obj[key] as an object, made if need be (NULL when out of memory). */
static json_t *child(json_t *obj, const char *key)
{
    json_t *c = json_object_get(obj, key);
    if (!c && (c = json_object()) && json_object_set_new(obj, key, c) != 0)
        c = NULL;
    return c;
}

/* Count a verdict's label (and type) per task; the names come from the
 * models and the catalogue, so the counts stay few whatever the traffic. */
static void count_verdict(hb_handler *h, const json_t *reply)
{
    const char *task;
    json_t *t;
    json_object_foreach((json_t *)json_object_get(reply, "tasks"), task, t)
    {
        const char *label = json_string_value(json_object_get(t, "label"));
        const char *type = json_string_value(json_object_get(t, "type"));
        json_t *c = label ? child(h->verdicts, task) : NULL;
        json_t *labels = c ? child(c, "labels") : NULL;
        if (labels)
            count_key(labels, label);
        json_t *types = c && type ? child(c, "types") : NULL;
        if (types)
            count_key(types, type);
    }
}

static json_t *error_reply(hb_handler *h, const json_t *id, int code, const char *message)
{
    const char *name = hb_err_name(code);
    h->counts.errors++;
    json_t *n = json_object_get(h->error_counts, name);
    json_object_set_new(h->error_counts, name,
                        json_integer(n ? json_integer_value(n) + 1 : 1));
    return hb_error_reply(id, code, message);
}

/* The reply of one item (new reference; NULL only when out of memory). */
static json_t *handle_item(hb_handler *h, const json_t *item)
{
    hb_request_item it;
    hb_error err;
    h->counts.items++;
    if (hb_request_item_check(item, &it, &err) != 0)
        return error_reply(h, it.id, err.code, err.message);
    json_t *reply =
        hb_answer_item(h->engine, h->session, &it, h->models, &h->render, &err);
    if (!reply && err.code != HB_ENOMEM)
        return error_reply(h, it.id, err.code, err.message);
    if (reply)
        count_verdict(h, reply);
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
    json_t *e = error_reply(h, json_object_get(reply, "id"), HB_EINTERNAL,
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
    hb_error err;
    json_t *req = hb_request_parse(body, len, h->max_batch, &err);
    size_t used = 0;
    if (req && json_is_array(req)) {
        used = answer_batch(h, req);
    } else {
        json_t *reply =
            req ? handle_item(h, req) : error_reply(h, NULL, err.code, err.message);
        if (reply && append_reply(h, reply, &used) != 0)
            used = 0;
        json_decref(reply);
    }
    json_decref(req);
    *out_len = used;
    return used ? h->out : NULL;
}
