/*
 * handler.c - request body in, reply bytes out (see handler.h).
 *
 * The reply of an item is the verdict of hb_verdict_to_json with "id"
 * first and "models" (and "urls" when the request named some) added;
 * jansson keeps insertion order, so "id" leads every reply a person reads.
 * The reply is serialised into one growing buffer that lives as long as
 * the handler: after the first few requests no reply allocates a buffer.
 */
#include "handler.h"

#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "urls.h"
#include "verdict.h"

struct hb_handler {
    char *models_dir, *rules_dir;
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

static json_t *models_of(const hb_engine *e)
{
    json_t *m = json_object();
    for (size_t i = 0; m && i < hb_engine_ntasks(e); i++) {
        const hb_model *model = hb_engine_model(e, i);
        json_object_set_new(m, hb_model_task(model),
                            json_string(hb_model_version(model)));
    }
    return m;
}

/* Open an engine from the handler's directories with its text limit, and
 * its model list; both or neither. */
static hb_engine *open_engine(const hb_handler *h, json_t **models, hb_error *err)
{
    hb_engine *e = hb_engine_open(h->rules_dir, h->models_dir, err);
    if (!e)
        return NULL;
    hb_engine_set_max_text(e, h->max_text);
    if (!(*models = models_of(e))) {
        hb_engine_free(e);
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    return e;
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
    h->max_text = cfg->max_text;
    h->max_batch = cfg->max_batch;
    h->render = hb_render_defaults();
    h->render.top_features = cfg->top_features;
    h->render.unmask = cfg->unmask;
    h->session = hb_session_new();
    h->error_counts = json_object();
    h->out_cap = 64 * 1024;
    h->out = malloc(h->out_cap);
    if (!h->models_dir || !h->rules_dir || !h->session || !h->error_counts ||
        !h->out) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_handler_free(h);
        return NULL;
    }
    if (!(h->engine = open_engine(h, &h->models, err))) {
        hb_handler_free(h);
        return NULL;
    }
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
    free(h->out);
    free(h);
}

int hb_handler_reload(hb_handler *h, hb_error *err)
{
    json_t *models = NULL;
    hb_engine *e = open_engine(h, &models, err);
    if (!e)
        return err ? err->code : HB_EFORMAT;
    /* the session holds nothing that outlives one request, so it works
     * with the new engine as it is */
    hb_engine_free(h->engine);
    json_decref(h->models);
    h->engine = e;
    h->models = models;
    return 0;
}

const json_t *hb_handler_models(const hb_handler *h) { return h->models; }

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

/* The normalised form of each URL the request named; URL verdicts come
 * from the URL model and feeds when those are loaded. */
static json_t *render_urls(const json_t *urls)
{
    json_t *out = json_array();
    for (size_t i = 0; out && i < json_array_size(urls); i++) {
        const json_t *u = json_array_get(urls, i);
        hb_url parsed;
        hb_error err;
        json_t *item;
        if (hb_url_parse(json_string_value(u), json_string_length(u), &parsed,
                         &err) == 0)
            item = json_pack("{s:O, s:s, s:s, s:s, s:b}", "input", u, "url",
                             parsed.url, "host", parsed.host, "domain",
                             parsed.domain, "host_is_ip", parsed.host_is_ip);
        else
            item = json_pack("{s:O, s:{s:s, s:s}}", "input", u, "error", "code",
                             hb_err_name(err.code), "message", err.message);
        json_array_append_new(out, item);
    }
    return out;
}

/* The reply of one item (new reference; NULL only when out of memory). */
static json_t *handle_item(hb_handler *h, const json_t *item)
{
    hb_request_item it;
    hb_request_error rerr;
    h->counts.items++;
    if (hb_request_item_check(item, &it, &rerr) != 0)
        return error_reply(h, it.id, rerr.code, rerr.message);
    const hb_verdict *v;
    hb_error err;
    if (hb_classify(h->engine, h->session, it.text, it.len, &v, &err) != 0)
        return error_reply(h, it.id, hb_err_name(err.code), err.message);
    json_t *verdict = hb_verdict_to_json(h->engine, h->session, v, &h->render);
    json_t *reply = json_object();
    if (!verdict || !reply) {
        json_decref(verdict);
        json_decref(reply);
        return NULL;
    }
    if (it.id)
        json_object_set(reply, "id", (json_t *)it.id);
    json_object_update(reply, verdict);
    json_decref(verdict);
    json_object_set(reply, "models", h->models);
    if (it.urls)
        json_object_set_new(reply, "urls", render_urls(it.urls));
    return reply;
}

/* Serialise j into the reply buffer, growing it as needed. */
static const char *dump(hb_handler *h, const json_t *j, size_t *out_len)
{
    size_t n = json_dumpb(j, h->out, h->out_cap, JSON_COMPACT);
    if (n > h->out_cap) {
        size_t cap = h->out_cap;
        while (cap < n)
            cap *= 2;
        char *bigger = realloc(h->out, cap);
        if (!bigger)
            return NULL;
        h->out = bigger;
        h->out_cap = cap;
        n = json_dumpb(j, h->out, h->out_cap, JSON_COMPACT);
    }
    if (n == 0)
        return NULL;
    *out_len = n;
    return h->out;
}

const char *hb_handler_handle(hb_handler *h, const char *body, size_t len,
                              size_t *out_len)
{
    h->counts.requests++;
    hb_request_error rerr;
    json_t *req = hb_request_parse(body, len, h->max_batch, &rerr);
    json_t *reply;
    if (!req) {
        reply = error_reply(h, NULL, rerr.code, rerr.message);
    } else if (json_is_object(req)) {
        reply = handle_item(h, req);
    } else {
        reply = json_array();
        for (size_t i = 0; reply && i < json_array_size(req); i++) {
            json_t *r = handle_item(h, json_array_get(req, i));
            if (!r) {
                json_decref(reply);
                reply = NULL;
                break;
            }
            json_array_append_new(reply, r);
            if (h->tick)
                h->tick(h->tick_ctx);
        }
    }
    json_decref(req);
    if (!reply)
        return NULL;
    const char *out = dump(h, reply, out_len);
    json_decref(reply);
    return out;
}
