/*
 * webcheck.c - answer checks for `hubao web` (webcheck.h).
 *
 * Local mode does what a hubaod worker does with one body (parse, classify
 * each item, render with hb_verdict_to_json, add "id" and "models") on an
 * engine and session of its own.  Remote mode hands the body to the
 * pipelined client of stream.c with a window of one: a fresh ZeroMQ
 * connection per request costs well under a millisecond on loopback and
 * means a reply that arrives after its timeout can never be mistaken for
 * the next request's.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "protocol.h"
#include "webcheck.h"

enum { MAX_BATCH = 256 };

struct web_backend {
    hb_engine *engine;     /* local mode */
    hb_session *session;
    json_t *models;        /* {"task": "version"} of engine */
    char *endpoint;        /* remote mode */
    int timeout_ms;
};

/* {"task": "version"} of every model the engine loaded. */
web_backend *web_backend_local(const char *models, const char *rules, const char *feeds,
                               char *err, size_t cap)
{
    char rules_buf[4096];
    const char *models_dir = cli_models_dir(models);
    const char *rules_dir = cli_rules_dir(rules, models_dir, rules_buf, sizeof rules_buf);
    feeds = cli_feeds_dir(feeds);
    web_backend *b = calloc(1, sizeof *b);
    hb_engine_paths paths = {rules_dir, models_dir, feeds};
    hb_error e;
    if (!b) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (!(b->engine = hb_engine_open_paths(&paths, &e))) {
        snprintf(err, cap, "cannot load models: %s", e.message);
        web_backend_free(b);
        return NULL;
    }
    if (!(b->session = hb_session_new()) || !(b->models = hb_engine_versions_json(b->engine))) {
        snprintf(err, cap, "out of memory");
        web_backend_free(b);
        return NULL;
    }
    return b;
}

web_backend *web_backend_remote(const char *endpoint, int timeout_ms)
{
    web_backend *b = calloc(1, sizeof *b);
    if (b && !(b->endpoint = strdup(endpoint))) {
        free(b);
        return NULL;
    }
    if (b)
        b->timeout_ms = timeout_ms;
    return b;
}

void web_backend_free(web_backend *b)
{
    if (!b)
        return;
    hb_session_free(b->session);
    hb_engine_free(b->engine);
    json_decref(b->models);
    free(b->endpoint);
    free(b);
}

/* The reply to one item, as hubaod's handler makes it. */
static json_t *local_item(web_backend *b, const json_t *item)
{
    hb_request_item it;
    hb_request_error rerr;
    if (hb_request_item_check(item, &it, &rerr) != 0)
        return hb_error_reply(it.id, rerr.code, rerr.message);
    hb_render_options opt = hb_render_defaults();
    hb_error err;
    json_t *reply = hb_answer_item(b->engine, b->session, &it, b->models, &opt, &err);
    if (!reply && err.code != HB_ENOMEM)
        return hb_error_reply(it.id, hb_err_name(err.code), err.message);
    return reply;
}

static char *local_check(web_backend *b, const char *body, size_t len, size_t *out_len)
{
    hb_request_error rerr;
    json_t *req = hb_request_parse(body, len, MAX_BATCH, &rerr);
    json_t *reply;
    if (!req) {
        reply = hb_error_reply(NULL, rerr.code, rerr.message);
    } else if (json_is_object(req)) {
        reply = local_item(b, req);
    } else {
        reply = json_array();
        for (size_t i = 0; reply && i < json_array_size(req); i++) {
            json_t *r = local_item(b, json_array_get(req, i));
            if (!r) {
                json_decref(reply);
                reply = NULL;
                break;
            }
            json_array_append_new(reply, r);
        }
    }
    json_decref(req);
    char *out = reply ? json_dumps(reply, HB_JSON_FLAGS) : NULL;
    json_decref(reply);
    if (out)
        *out_len = strlen(out);
    return out;
}

/* One request to hubaod and its reply, through cli_pipeline. */
typedef struct one_shot {
    const char *body;
    size_t len;
    int sent;
    char *reply;
    size_t reply_len;
} one_shot;

static int one_next(void *ctx, cli_request *out)
{
    one_shot *o = ctx;
    if (o->sent)
        return 0;
    o->sent = 1;
    *out = (cli_request){.data = o->body, .len = o->len, .local = 0};
    return 1;
}

static void one_reply(void *ctx, const char *reply, size_t len)
{
    one_shot *o = ctx;
    free(o->reply);
    if ((o->reply = malloc(len + 1))) {
        memcpy(o->reply, reply, len);
        o->reply[len] = '\0';
        o->reply_len = len;
    }
}

static char *remote_call(web_backend *b, const char *body, size_t len, size_t *out_len)
{
    one_shot o = {body, len, 0, NULL, 0};
    if (cli_pipeline(b->endpoint, 1, b->timeout_ms, one_next, one_reply, &o) != 0 || !o.reply) {
        free(o.reply);
        return NULL;
    }
    *out_len = o.reply_len;
    return o.reply;
}

char *web_backend_check(web_backend *b, const char *body, size_t len, size_t *out_len)
{
    return b->engine ? local_check(b, body, len, out_len) : remote_call(b, body, len, out_len);
}

json_t *web_backend_health(web_backend *b)
{
    if (b->engine)
        return json_pack("{s:b, s:s, s:O}", "ready", 1, "mode", "local", "models", b->models);
    static const char STATS[] = "{\"control\":\"stats\"}";
    size_t n = 0;
    char *reply = remote_call(b, STATS, sizeof STATS - 1, &n);
    json_t *j = reply ? json_loadb(reply, n, 0, NULL) : NULL;
    free(reply);
    json_t *models = json_object_get(json_object_get(j, "stats"), "models");
    json_t *m = models ? json_incref(models) : json_object();
    json_t *h = json_pack("{s:b, s:s, s:o}", "ready", j != NULL, "mode", "server", "models", m);
    json_decref(j);
    return h;
}
