/*
 * web.c - `hubao web`: the hotline page and the HTTP API (docs/web.md).
 *
 *   GET  /               the page (tools/web/index.html, app.js, style.css,
 *                        read once at start-up; no CDN, works offline)
 *   POST /api/check      the ZeroMQ protocol's request and reply, over HTTP
 *   POST /api/feedback   staff say a verdict was right or wrong (SQLite)
 *   GET  /healthz        ready or not, with the model versions
 *   GET  /metrics        Prometheus metrics (webstats.h)
 *
 * libmicrohttpd reads and writes every connection on one event thread,
 * which also keeps the rate limiter, so that needs no lock.  Nothing that
 * can be slow runs there: a check, a health check and a feedback write
 * suspend their connection (MHD_suspend_connection) and are handed to a
 * backend thread (webcheck.h: hubaod over ZeroMQ, or a pool of classifier
 * threads) or to the feedback thread (webpool.h; SQLite and its fsync),
 * whose answer resumes the connection.  So a check that waits seconds for
 * a stopped hubaod worker holds up no other request: each waits only for
 * its own answer, and for --timeout-ms at most.
 *
 * Safety: bodies over --max-body get 413 (the rest is read and dropped, not
 * stored); slow and greedy clients are cut off and capped by webguard.h
 * (header and body deadlines, connection shares, trusted proxies); each
 * client has a token bucket of --rate requests a minute on /api/...; with
 * --token every /api/... request needs `Authorization: Bearer TOKEN`;
 * every response carries a strict CSP (no inline script or style, nothing
 * from another origin) and friends.  Message texts are never
 * logged: the server writes one start-up line and errors about itself.
 *
 * Stopping (SIGTERM, SIGINT) drains: the listening socket is shut, idle
 * connections are cut, and requests in progress have --drain-timeout
 * seconds to be answered; what is left then is answered 503 and given a
 * second to be written before the daemon stops.  A second signal skips
 * the waits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "catalog.h"
#include "cli.h"
#include "exporter.h"
#include "feedback.h"
#include "handler.h"
#include "paths.h"
#include "prom.h"
#include "request.h"
#include "webcheck.h"
#include "webguard.h"
#include "webpool.h"
#include "webstats.h"

static const char USAGE[] =
    "usage: hubao web [OPTIONS]\n"
    "\n"
    "Serve the hotline page and the HTTP API (docs/web.md): paste a message,\n"
    "read the verdict aloud, record whether it was right.\n"
    "\n"
    "  --bind ADDR:PORT    where to listen (default 127.0.0.1:8080; [::1]:8080)\n"
    "  --server ENDPOINT   the hubaod to ask (default tcp://127.0.0.1:7531)\n"
    "  --curve-server-key FILE, --curve-secret-key FILE\n"
    "                      hubaod's public key and this server's key pair, for a\n"
    "                      hubaod with CURVE on its client endpoint\n"
    "  --local             load the models in this process instead of asking hubaod\n"
    "  --models DIR        with --local: model bundles (default $HUBAO_MODELS or\n"
    "                      " HB_PATHS_MODELS ")\n"
    "  --rules DIR         rules (default $HUBAO_RULES or MODELS/rules): its types.tsv\n"
    "                      names the fraud types feedback may give (GET /types.json),\n"
    "                      and with --local the rules are loaded from it\n"
    "  --feeds DIR         with --local: blocklist copies (default $HUBAO_FEEDS_DIR,\n"
    "                      else " HB_PATHS_FEEDS_STORE " if present)\n"
    "  --static DIR        the page's files (default " HB_PATHS_WEB ")\n"
    "  --db FILE           feedback database (default " HB_PATHS_FEEDBACK_DB ")\n"
    "  --rate N            API requests per minute per client IP (default 120; 0: no limit)\n"
    "  --token T           require `Authorization: Bearer T` on /api/* (default\n"
    "                      $HUBAO_WEB_TOKEN; none if unset)\n"
    "  --max-body BYTES    largest request body (default 262144)\n"
    "  --allow-origin O    a browser origin besides the page's own that may\n"
    "                      call /api/* (e.g. https://hotline.example.org; repeat)\n"
    "  --timeout-ms N      how long to wait for hubaod (default 5000)\n"
    "  --threads N         with --local: classifier threads (default: one per core)\n"
    "  --max-connections N open connections at most (default 512; the last\n"
    "                      quarter is kept for clients holding none)\n"
    "  --max-per-client N  connections (behind a trusted proxy: requests in\n"
    "                      progress) one client may hold (default 64)\n"
    "  --header-timeout S  seconds a connection has to send a request's headers\n"
    "                      (default 10)\n"
    "  --body-timeout S    seconds to send the body, and to read the reply (default 30)\n"
    "  --trusted-proxy A   believe X-Forwarded-For from address A (or A/PREFIX):\n"
    "                      limits then apply to the client it names (repeat)\n"
    "  --drain-timeout S   on SIGTERM or SIGINT, seconds that requests in progress\n"
    "                      have to finish before they are answered 503 (default 10)\n"
    "\n"
    "Stops on SIGINT or SIGTERM: takes no new connection, lets requests in\n"
    "progress finish (a second signal: at once).  Exit codes: 0 stopped; 2 usage;\n"
    "3 could not load models, the fraud types, the page or the database, or bind\n"
    "the address.\n";

enum { RATE_SLOTS = 1024, RATE_PROBE = 8, MAX_STATIC = 1 << 20 };

typedef struct static_file {
    const char *name; /* URL path */
    const char *file; /* file in --static */
    const char *type; /* Content-Type */
    char *data;
    size_t len;
} static_file;

typedef struct rate_slot {
    char client[WEB_CLIENT_MAX];
    double tokens;
    double last; /* seconds, monotonic */
} rate_slot;

enum { MAX_ORIGINS = 8, MAX_PROXIES = 16 };

/* The store thread's state: the feedback database, which only that thread
 * uses, and the fraud types a piece of feedback may name (read only there;
 * owned here, loaded before and freed after the thread). */
typedef struct feedback_store {
    cli_feedback *db;
    hb_catalog *types;
} feedback_store;

typedef struct web {
    web_guard *guard;
    web_backend *backend;
    feedback_store feedback;
    web_pool *store;  /* one thread: feedback writes */
    char *types_json; /* GET /types.json: the feedback form's type list */
    static_file files[3];
    const char *token;
    const char *origins[MAX_ORIGINS]; /* --allow-origin */
    int norigins;
    size_t max_body;
    double rate;         /* per minute; 0 = unlimited */
    rate_slot *slots;    /* RATE_SLOTS */
    atomic_int stopping; /* the backends are stopped: no answer means that */
    web_stats *stats;    /* event thread only */
} web;

typedef enum { JOB_NONE, JOB_CHECK, JOB_HEALTH, JOB_FEEDBACK } job_kind;

/* What is kept between the calls MHD makes for one request.  While the
 * connection is suspended a backend or store thread owns the answer
 * fields and sets answered last, then resumes the connection; the event
 * thread reads them when MHD calls the handler again. */
typedef struct request {
    char *body;
    size_t len, cap;
    int too_big;
    char client[WEB_CLIENT_MAX]; /* whom it is from (webguard.h) */
    struct MHD_Connection *conn;
    job_kind job; /* what is (or was) answering off the event thread */
    int answered;
    char *reply; /* the answer, malloc'd; NULL: none came */
    size_t reply_len;
    unsigned status; /* JOB_FEEDBACK: the answer's HTTP status */
    web_route route;
    unsigned sent;    /* the status of the response sent, 0: none yet */
    double job_start; /* when the job was handed off (monotonic seconds) */
} request;

/* The status of the last response queued: set by send_response and read
 * back by handle, both on the event thread, so that every response is
 * counted once per request without threading the request through every
 * caller of send_response. */
static unsigned last_status;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Take a token from the bucket of client (as web_guard_request names it):
 * capacity rate, refilled at rate per minute.  Returns 1 if allowed.  A full table evicts
 * the least recently seen of the probed slots: at worst a busy attacker resets someone's
 * bucket, never blocks them. */
static int rate_allow(web *w, const char *client)
{
    if (w->rate <= 0)
        return 1;
    uint32_t h = 2166136261u;
    for (const char *p = client; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    double t = now_s();
    rate_slot *pick = NULL;
    for (int i = 0; i < RATE_PROBE; i++) {
        rate_slot *s = &w->slots[(h + (uint32_t)i) % RATE_SLOTS];
        if (strcmp(s->client, client) == 0) {
            pick = s;
            break;
        }
        if (!pick || s->client[0] == '\0' || (pick->client[0] && s->last < pick->last))
            pick = s;
    }
    if (strcmp(pick->client, client) != 0) {
        snprintf(pick->client, sizeof pick->client, "%s", client);
        pick->tokens = w->rate;
        pick->last = t;
    }
    pick->tokens += (t - pick->last) * w->rate / 60.0;
    if (pick->tokens > w->rate)
        pick->tokens = w->rate;
    pick->last = t;
    if (pick->tokens < 1.0)
        return 0;
    pick->tokens -= 1.0;
    return 1;
}

/* Queue a response with the security headers every response carries.  A
 * MUST_FREE buffer is freed whatever happens. */
static enum MHD_Result send_response(struct MHD_Connection *c, unsigned status,
                                     const char *type, const char *data, size_t len,
                                     enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free((void *)data);
        return MHD_NO;
    }
    web_guard_replying(c);
    last_status = status;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(
        r, "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (status == MHD_HTTP_TOO_MANY_REQUESTS)
        MHD_add_response_header(r, "Retry-After", "60");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char JSON_TYPE[] = "application/json; charset=utf-8";

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = j ? hb_reply_dumps(j, HB_JSON_FLAGS) : NULL;
    json_decref(j);
    if (!s)
        return MHD_NO;
    return send_response(c, status, JSON_TYPE, s, strlen(s), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, int code,
                                  const char *message)
{
    return send_json(c, status, hb_error_reply(NULL, code, message));
}

/* The HTTP status for an error code of the protocol. */
static unsigned status_of(int code)
{
    switch (code) {
    case HB_OK: return MHD_HTTP_OK;
    case HB_ETOOBIG:
    case HB_EBATCH: return MHD_HTTP_CONTENT_TOO_LARGE;
    /* the web server is one client of hubaod: its share being full means
     * hubaod is busy for everyone behind it, not that this request is bad */
    case HB_EOVERLOADED:
    case HB_ESHUTDOWN:
    case HB_EINFLIGHT: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case HB_EDEADLINE: return MHD_HTTP_GATEWAY_TIMEOUT;
    case HB_EINTERNAL: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    default: return MHD_HTTP_BAD_REQUEST;
    }
}

/* ---- answers made off the event thread -------------------------------- */

/* The answer to rq's job has come (on a backend or the store thread):
 * keep it and have MHD call the handler again, which sends it.  Nothing
 * may touch rq after the resume: the event thread owns it again. */
static void answered(void *ctx, char *reply, size_t len)
{
    request *rq = ctx;
    rq->reply = reply;
    rq->reply_len = len;
    rq->answered = 1;
    MHD_resume_connection(rq->conn);
}

/* A string member, or NULL. */
static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Store feedback {"verdict": reply or {"verdict": ..}, "text": ..,
 * "correct": bool, "label": .., "fraud_type": ..} and make its answer
 * (owned), with the HTTP status in *status.  A fraud_type must be one of
 * types.tsv: feedback becomes training rows labelled fraud_<type>, and
 * training refuses a type the catalog lacks. */
static json_t *feedback_answer(const feedback_store *fb, const request *rq,
                               unsigned *status)
{
    json_error_t jerr;
    json_t *j =
        json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &jerr);
    *status = MHD_HTTP_BAD_REQUEST;
    if (!j) {
        char msg[256];
        snprintf(msg, sizeof msg, "body is not JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        return hb_error_reply(NULL, HB_EJSON, msg);
    }
    const json_t *text = json_object_get(j, "text");
    const json_t *correct = json_object_get(j, "correct");
    const json_t *v = json_object_get(j, "verdict");
    const char *fraud_type = str_of(j, "fraud_type");
    if (fraud_type && !*fraud_type)
        fraud_type = NULL;
    json_t *answer;
    if (!json_is_string(text)) {
        answer = hb_error_reply(NULL, HB_ENOTEXT, "feedback has no string \"text\"");
    } else if (!json_is_boolean(correct) || !(json_is_object(v) || json_is_string(v))) {
        answer =
            hb_error_reply(NULL, HB_EREQUEST,
                           "feedback needs \"verdict\" (the reply, or its verdict name) "
                           "and \"correct\": true or false");
    } else if (fraud_type && !hb_catalog_find(fb->types, fraud_type)) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "\"fraud_type\": \"%.40s\" is not a fraud type (GET /types.json lists "
                 "them)",
                 fraud_type);
        answer = hb_error_reply(NULL, HB_EREQUEST, msg);
    } else {
        /* the verdict's fraud type is that of its headline task */
        const char *name =
            json_is_string(v) ? json_string_value(v) : str_of(v, "verdict");
        const json_t *task =
            json_object_get(json_object_get(v, "tasks"), name ? name : "");
        const json_t *summary = json_object_get(v, "summary");
        const json_t *models = json_object_get(v, "models");
        if (!models)
            models = json_object_get(j, "models");
        char *models_s = json_is_object(models) ? json_dumps(models, JSON_COMPACT) : NULL;
        cli_feedback_record r = {
            .text = json_string_value(text),
            .len = json_string_length(text),
            .models = models_s,
            .verdict = name,
            .verdict_type = str_of(task, "type"),
            .summary = json_is_object(summary) ? str_of(summary, "en") : NULL,
            .correct = json_is_true(correct),
            .label =
                str_of(j, "label") && *str_of(j, "label") ? str_of(j, "label") : NULL,
            .fraud_type = fraud_type,
        };
        char err[512];
        long long id = cli_feedback_add(fb->db, &r, err, sizeof err);
        free(models_s);
        if (id > 0) {
            *status = MHD_HTTP_CREATED;
            answer = json_pack("{s:I, s:b}", "id", (json_int_t)id, "stored", 1);
        } else if (strncmp(err, "cannot store", 12) == 0) {
            *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            answer = hb_error_reply(NULL, HB_EINTERNAL, err);
        } else {
            answer = hb_error_reply(NULL, HB_EREQUEST, err);
        }
    }
    json_decref(j);
    return answer;
}

/* A store-thread job (webpool.h): write one piece of feedback.  The
 * thread's state is the feedback_store. */
static void store_feedback(void *state, void *job)
{
    request *rq = job;
    unsigned status;
    json_t *j = feedback_answer(state, rq, &status);
    char *s = j ? json_dumps(j, HB_JSON_FLAGS) : NULL;
    json_decref(j);
    rq->status = status;
    answered(rq, s, s ? strlen(s) : 0);
}

/* Suspend c and hand rq's job to the thread that answers it; MHD calls
 * the handler again once answered() has run. */
static enum MHD_Result start_job(web *w, struct MHD_Connection *c, request *rq,
                                 job_kind job)
{
    rq->job = job;
    rq->job_start = now_s();
    web_guard_waiting(c);
    MHD_suspend_connection(c);
    int rc = job == JOB_CHECK    ? web_backend_check(w->backend, rq->body ? rq->body : "",
                                                     rq->len, answered, rq)
             : job == JOB_HEALTH ? web_backend_health(w->backend, answered, rq)
                                 : web_pool_submit(w->store, store_feedback, rq);
    if (rc != 0) { /* stopping, or out of memory */
        rq->job = JOB_NONE;
        answered(rq, NULL, 0);
    }
    return MHD_YES;
}

/* The HTTP status of a check's reply: a single item's error (empty, too
 * long) is the request's; a batch is 200, its items carry their own. */
static unsigned check_status(const char *reply, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", reply[i]))
        i++;
    if (i == len || reply[i] != '{')
        return MHD_HTTP_OK;
    json_t *j = json_loadb(reply, len, 0, NULL);
    const char *code =
        json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    unsigned status = code ? status_of(hb_err_from_name(code)) : MHD_HTTP_OK;
    json_decref(j);
    return status;
}

/* Send the answer a job left in rq. */
static enum MHD_Result send_answer(web *w, struct MHD_Connection *c, request *rq)
{
    char *reply = rq->reply;
    size_t n = rq->reply_len;
    rq->reply = NULL; /* send_response owns it now */
    if (rq->job == JOB_NONE || (!reply && atomic_load(&w->stopping)))
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, HB_ESHUTDOWN,
                          "the web server is stopping (or out of memory); try again");
    if (!reply && rq->job == JOB_CHECK)
        return send_error(c, MHD_HTTP_BAD_GATEWAY, HB_EUNAVAILABLE,
                          "the classifier service (hubaod) did not answer; "
                          "is it running?");
    if (!reply)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, HB_EINTERNAL,
                          "out of memory");
    unsigned status = rq->status;
    if (rq->job == JOB_CHECK) {
        web_stats_backend(w->stats, now_s() - rq->job_start);
        status = check_status(reply, n);
    } else if (rq->job == JOB_HEALTH) {
        json_t *h = json_loadb(reply, n, 0, NULL);
        status = json_is_true(json_object_get(h, "ready")) ? MHD_HTTP_OK
                                                           : MHD_HTTP_SERVICE_UNAVAILABLE;
        json_decref(h);
    } else if (rq->job == JOB_FEEDBACK && status / 100 == 2) {
        web_stats_feedback_row(w->stats);
    }
    return send_response(c, status, JSON_TYPE, reply, n, MHD_RESPMEM_MUST_FREE);
}

/* ---- requests answered on the event thread ---------------------------- */

/* Control commands (stats, reload, ping) are hubaod's, on its control
 * endpoint; the web API answers checks only. */
static int has_control(const json_t *req)
{
    if (json_is_object(req))
        return json_object_get(req, "control") != NULL;
    size_t i;
    const json_t *item;
    json_array_foreach(req, i, item)
    {
        if (json_is_object(item) && json_object_get(item, "control"))
            return 1;
    }
    return 0;
}

/* POST /api/check: refuse what is malformed here (so a bad request is a 4xx
 * even while hubaod is down), then let the backend answer. */
static enum MHD_Result api_check(web *w, struct MHD_Connection *c, request *rq)
{
    hb_error rerr;
    json_t *req =
        hb_request_parse(rq->body ? rq->body : "", rq->len, HB_HANDLER_MAX_BATCH, &rerr);
    if (!req)
        return send_error(c, status_of(rerr.code), rerr.code, rerr.message);
    if (has_control(req)) {
        json_decref(req);
        return send_error(c, MHD_HTTP_FORBIDDEN, HB_EFORBIDDEN,
                          "control commands are not accepted over HTTP; use hubaod's "
                          "control endpoint (hubao control)");
    }
    if (json_is_object(req)) {
        hb_request_item it;
        if (hb_request_item_check(req, &it, &rerr) != 0) {
            json_t *e = hb_error_reply(it.id, rerr.code, rerr.message);
            json_decref(req);
            return send_json(c, status_of(rerr.code), e);
        }
    }
    json_decref(req);
    return start_job(w, c, rq, JOB_CHECK);
}

/* Constant-time comparison of the Authorization header with the token. */
static int authorised(const web *w, struct MHD_Connection *c)
{
    if (!w->token)
        return 1;
    /* over the length libmicrohttpd reports, not up to a NUL, so that a NUL
     * passed on cannot end the token early; 0.9.75 itself ends the value
     * at a NUL and reports the cut length (docs/web.md, "Safety") */
    const char *auth = NULL;
    size_t a = 0;
    if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, "Authorization", 13, &auth,
                                      &a) != MHD_YES ||
        a < 7 || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    auth += 7;
    a -= 7;
    size_t t = strlen(w->token);
    unsigned char diff = a != t;
    for (size_t i = 0; i < a; i++)
        diff |= (unsigned char)(auth[i] ^ w->token[i % (t ? t : 1)]);
    return diff == 0;
}

/* Counts the Content-Length headers of a request and whether they differ. */
typedef struct length_headers {
    int n, differ;
    const char *first;
} length_headers;

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    length_headers *l = cls;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (l->n++ == 0)
            l->first = value;
        else if (strcmp(l->first, value) != 0)
            l->differ = 1;
    }
    return MHD_YES;
}

/* A browser page may call the API only from the page's own origin (or one
 * allowed by --allow-origin): a form on another site must not store
 * feedback (training data) or run checks in a staff member's name.
 * Clients that are not browsers send no Origin and pass. */
static int same_origin(const web *w, struct MHD_Connection *c)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
    if (site && strcmp(site, "cross-site") == 0 && !origin)
        return 0;
    if (!origin)
        return 1;
    for (int i = 0; i < w->norigins; i++)
        if (strcmp(origin, w->origins[i]) == 0)
            return 1;
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *rest = strncmp(origin, "http://", 7) == 0    ? origin + 7
                       : strncmp(origin, "https://", 8) == 0 ? origin + 8
                                                             : NULL;
    return host && rest && strcmp(rest, host) == 0;
}

/* The body is JSON: a form (text/plain, urlencoded, multipart) is never a
 * request, whatever it holds. */
static int json_body(struct MHD_Connection *c)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) != 0)
        return 0;
    return type[16] == '\0' || type[16] == ';' || type[16] == ' ';
}

/* GET /metrics: this server's own counters (hubaod serves its own). */
static enum MHD_Result send_metrics(web *w, struct MHD_Connection *c)
{
    size_t len = 0;
    char *text = web_stats_render(w->stats, &len);
    if (!text)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, HB_EINTERNAL,
                          "out of memory");
    return send_response(c, MHD_HTTP_OK, HB_PROM_CONTENT_TYPE, text, len,
                         MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result route(web *w, struct MHD_Connection *c, const char *url,
                             const char *method, const char *upload_data,
                             size_t *upload_data_size, void **con_cls);

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    (void)version;
    last_status = 0;
    enum MHD_Result ret =
        route(cls, c, url, method, upload_data, upload_data_size, con_cls);
    request *rq = *con_cls;
    if (rq && last_status)
        rq->sent = last_status;
    return ret;
}

/* Answer one of MHD's calls for a request (*con_cls NULL on the first). */
static enum MHD_Result route(web *w, struct MHD_Connection *c, const char *url,
                             const char *method, const char *upload_data,
                             size_t *upload_data_size, void **con_cls)
{
    request *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->conn = c;
        rq->route = web_route_of(url);
        *con_cls = rq;
        if (web_guard_request(c, rq->client, sizeof rq->client) != 0)
            return send_error(c, MHD_HTTP_TOO_MANY_REQUESTS, HB_ECONNECTIONS,
                              "this client has too many requests in progress; let them "
                              "finish first");
        return MHD_YES;
    }
    if (rq->answered)
        return send_answer(w, c, rq);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_big || rq->len + n > w->max_body) {
            rq->too_big = 1; /* read and dropped, never kept */
            return MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 4096;
            while (cap < rq->len + n + 1)
                cap *= 2;
            char *b = realloc(rq->body, cap);
            if (!b)
                return MHD_NO;
            rq->body = b;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        return MHD_YES;
    }

    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    length_headers lengths = {0, 0, NULL};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_length, &lengths);
    if (lengths.differ) /* RFC 9112 6.3: a message framing error */
        return send_error(c, MHD_HTTP_BAD_REQUEST, HB_EBADREQUEST,
                          "Content-Length is given twice with different values");
    if (strncmp(url, "/api/", 5) == 0) {
        /* authentication first: requests without the token must not spend
         * the bucket of a client that has it */
        if (!authorised(w, c))
            return send_error(c, MHD_HTTP_UNAUTHORIZED, HB_EUNAUTHORIZED,
                              "this API needs \"Authorization: Bearer TOKEN\"");
        if (!rate_allow(w, rq->client))
            return send_error(c, MHD_HTTP_TOO_MANY_REQUESTS, HB_ERATE,
                              "too many requests from this address; wait a minute");
        if (!post)
            return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, HB_EMETHOD,
                              "use POST with a JSON body");
        if (!same_origin(w, c))
            return send_error(c, MHD_HTTP_FORBIDDEN, HB_EFORBIDDEN,
                              "requests from another site's page are refused; "
                              "see --allow-origin");
        if (!json_body(c))
            return send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, HB_EMEDIA,
                              "send the body as Content-Type: application/json");
        if (rq->too_big) {
            char msg[128];
            snprintf(msg, sizeof msg, "request body is over the limit of %zu bytes",
                     w->max_body);
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, HB_ETOOBIG, msg);
        }
        if (strcmp(url, "/api/check") == 0)
            return api_check(w, c, rq);
        if (strcmp(url, "/api/feedback") == 0)
            return start_job(w, c, rq, JOB_FEEDBACK);
        return send_error(c, MHD_HTTP_NOT_FOUND, HB_ENOTFOUND, "no such API");
    }
    if (strcmp(url, "/healthz") == 0 && get)
        return start_job(w, c, rq, JOB_HEALTH);
    if (strcmp(url, "/metrics") == 0 && get)
        return send_metrics(w, c);
    if (strcmp(url, "/types.json") == 0 && get)
        return send_response(c, MHD_HTTP_OK, JSON_TYPE, w->types_json,
                             strlen(w->types_json), MHD_RESPMEM_PERSISTENT);
    for (size_t i = 0; get && i < sizeof w->files / sizeof w->files[0]; i++)
        if (strcmp(url, w->files[i].name) == 0 ||
            (i == 0 && strcmp(url, "/index.html") == 0))
            return send_response(c, MHD_HTTP_OK, w->files[i].type, w->files[i].data,
                                 w->files[i].len, MHD_RESPMEM_PERSISTENT);
    return send_error(c, MHD_HTTP_NOT_FOUND, HB_ENOTFOUND, "no such page");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    web *w = cls;
    (void)toe;
    web_guard_done(c);
    request *rq = *con_cls;
    if (rq && rq->sent)
        web_stats_response(w->stats, rq->route, rq->sent);
    if (rq) {
        free(rq->body);
        free(rq->reply);
        free(rq);
    }
    *con_cls = NULL;
}

/* Load the fraud types of the rules directory (as given, or its default)
 * into w, with the JSON the feedback form lists them from:
 * {"types": [{"type", "name_zh", "name_en"}, ...]}.  0, or -1 after
 * saying why. */
static int load_types(web *w, const char *models, const char *rules)
{
    char dir[4096], path[4200];
    snprintf(path, sizeof path, "%s/types.tsv",
             hb_paths_rules(rules, hb_paths_models(models), dir, sizeof dir));
    hb_error err;
    hb_error_clear(&err);
    if (!(w->feedback.types = hb_catalog_load(path, &err))) {
        cli_error("%s (give the rules' folder with --rules)", err.message);
        return -1;
    }
    json_t *list = json_array();
    for (size_t i = 0; list && i < hb_catalog_ntypes(w->feedback.types); i++) {
        const hb_type_info *t = hb_catalog_type_at(w->feedback.types, i);
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s}", "type", t->type, "name_zh",
                                        t->name_zh, "name_en", t->name_en));
    }
    json_t *doc = list ? json_pack("{s:o}", "types", list) : NULL;
    w->types_json = doc ? json_dumps(doc, HB_JSON_FLAGS) : NULL;
    json_decref(doc);
    if (!w->types_json)
        cli_error("out of memory");
    return w->types_json ? 0 : -1;
}

/* Read dir/name whole into *data.  0, or -1 after saying why. */
static int read_static(const char *dir, static_file *f)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, f->file);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        cli_error("cannot read %s: %s (give the page's folder with --static)", path,
                  strerror(errno));
        return -1;
    }
    f->data = malloc(MAX_STATIC);
    f->len = f->data ? fread(f->data, 1, MAX_STATIC, fp) : 0;
    int bad = !f->data || ferror(fp) || !feof(fp);
    fclose(fp);
    if (bad) {
        cli_error("cannot read %s (over %d bytes, or an I/O error)", path, MAX_STATIC);
        return -1;
    }
    return 0;
}

/* Parse a whole number from lo to hi into *out.  0, or -1. */
static int parse_count(const char *s, long lo, long hi, unsigned *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Wait until no request is in progress, for seconds at most, cutting
 * connections as web_guard_sweep does meanwhile.  Returns 1 when a signal
 * of sigs came (stop waiting altogether), else 0. */
static int wait_idle(web *w, double seconds, const sigset_t *sigs)
{
    const struct timespec tick = {0, 50000000L};
    double end = now_s() + seconds;
    while (web_guard_busy(w->guard) > 0 && now_s() < end) {
        if (sigtimedwait(sigs, NULL, &tick) >= 0)
            return 1;
        web_guard_sweep(w->guard);
    }
    return 0;
}

/* A stop signal came: refuse new connections, give requests in progress
 * that many seconds to finish, then answer what is left (503 for a check
 * still waiting for hubaod) and give those answers a second to be written.
 * Returns the listening socket, for the caller to close once MHD stopped
 * (MHD_quiesce_daemon's contract), or MHD_INVALID_SOCKET. */
static MHD_socket drain(web *w, struct MHD_Daemon *d, unsigned seconds,
                        const sigset_t *sigs)
{
    MHD_socket listener = MHD_quiesce_daemon(d);
    /* shut, not closed (MHD's thread may still hold it): connections
     * that were not accepted yet are reset, new ones refused */
    if (listener != MHD_INVALID_SOCKET)
        shutdown(listener, SHUT_RDWR);
    web_guard_drain(w->guard);
    int hurry = wait_idle(w, seconds, sigs);
    atomic_store(&w->stopping, 1);
    web_backend_stop(w->backend);
    web_pool_stop(w->store);
    if (!hurry)
        wait_idle(w, 1.0, sigs);
    return listener;
}

int cmd_web(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bind", required_argument, NULL, 'b'},
        {"server", required_argument, NULL, 's'},
        {"local", no_argument, NULL, 'l'},
        {"models", required_argument, NULL, 'm'},
        {"rules", required_argument, NULL, 'r'},
        {"feeds", required_argument, NULL, 'f'},
        {"static", required_argument, NULL, 'S'},
        {"db", required_argument, NULL, 'd'},
        {"rate", required_argument, NULL, 'R'},
        {"token", required_argument, NULL, 't'},
        {"max-body", required_argument, NULL, 'B'},
        {"allow-origin", required_argument, NULL, 'O'},
        {"timeout-ms", required_argument, NULL, 'T'},
        {"threads", required_argument, NULL, 'n'},
        {"max-connections", required_argument, NULL, 'C'},
        {"max-per-client", required_argument, NULL, 'P'},
        {"header-timeout", required_argument, NULL, 'H'},
        {"body-timeout", required_argument, NULL, 'Y'},
        {"trusted-proxy", required_argument, NULL, 'X'},
        {"drain-timeout", required_argument, NULL, 'D'},
        {"curve-server-key", required_argument, NULL, 'K'},
        {"curve-secret-key", required_argument, NULL, 'Z'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *bind = "127.0.0.1:8080", *endpoint = "tcp://127.0.0.1:7531";
    const char *models = NULL, *rules = NULL, *feeds = NULL, *dir = HB_PATHS_WEB;
    const char *db = HB_PATHS_FEEDBACK_DB, *token = getenv("HUBAO_WEB_TOKEN");
    long rate = 120, max_body = 256L * 1024, timeout_ms = 5000;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cores > 0 ? (unsigned)cores : 1, drain_timeout = 10;
    web_guard_limits limits = {.max_connections = 512,
                               .max_per_client = 64,
                               .header_timeout = 10,
                               .body_timeout = 30};
    cli_keys keys = {NULL, NULL};
    int local = 0, c, norigins = 0, nproxies = 0;
    const char *origins[MAX_ORIGINS], *proxies[MAX_PROXIES];
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bind = optarg; break;
        case 's': endpoint = optarg; break;
        case 'l': local = 1; break;
        case 'm': models = optarg; break;
        case 'r': rules = optarg; break;
        case 'f': feeds = optarg; break;
        case 'S': dir = optarg; break;
        case 'd': db = optarg; break;
        case 't': token = optarg; break;
        case 'O':
            if (norigins == MAX_ORIGINS)
                goto usage;
            origins[norigins++] = optarg;
            break;
        case 'R':
            rate = strtol(optarg, &end, 10);
            if (*end || rate < 0)
                goto usage;
            break;
        case 'B':
            max_body = strtol(optarg, &end, 10);
            if (*end || max_body < 1)
                goto usage;
            break;
        case 'T':
            timeout_ms = strtol(optarg, &end, 10);
            if (*end || timeout_ms < 1 || timeout_ms > 600000)
                goto usage;
            break;
        case 'n':
            if (parse_count(optarg, 1, 256, &threads) != 0)
                goto usage;
            break;
        case 'C':
            if (parse_count(optarg, 4, 65536, &limits.max_connections) != 0)
                goto usage;
            break;
        case 'P':
            if (parse_count(optarg, 1, 65536, &limits.max_per_client) != 0)
                goto usage;
            break;
        case 'H':
            if (parse_count(optarg, 1, 3600, &limits.header_timeout) != 0)
                goto usage;
            break;
        case 'Y':
            if (parse_count(optarg, 1, 3600, &limits.body_timeout) != 0)
                goto usage;
            break;
        case 'X':
            if (nproxies == MAX_PROXIES)
                goto usage;
            proxies[nproxies++] = optarg;
            break;
        case 'D':
            if (parse_count(optarg, 0, 3600, &drain_timeout) != 0)
                goto usage;
            break;
        case 'K': keys.server_key = optarg; break;
        case 'Z': keys.secret_key = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: goto usage;
        }
    }
    if (optind != argc)
        goto usage;
    if (cli_keys_check(&keys) != 0)
        return EXIT_USAGE;
    if (local && keys.server_key) {
        cli_error("--curve-server-key and --curve-secret-key are for asking hubaod, "
                  "not --local");
        return EXIT_USAGE;
    }
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (hb_listen_addr_parse(bind, &ss, &sslen) != 0) {
        cli_error("--bind wants ADDR:PORT, e.g. 127.0.0.1:8080, not \"%s\"", bind);
        return EXIT_USAGE;
    }

    web w = {
        .files = {{"/", "index.html", "text/html; charset=utf-8", NULL, 0},
                  {"/app.js", "app.js", "text/javascript; charset=utf-8", NULL, 0},
                  {"/style.css", "style.css", "text/css; charset=utf-8", NULL, 0}},
        .token = token && *token ? token : NULL,
        .max_body = (size_t)max_body,
        .rate = (double)rate,
        .norigins = norigins,
    };
    memcpy(w.origins, origins, (size_t)norigins * sizeof *origins);
    int rc = EXIT_SETUP;
    char err[1024];
    struct MHD_Daemon *d = NULL;
    MHD_socket listener = MHD_INVALID_SOCKET;
    if (!(w.stats = web_stats_new()) || !(w.guard = web_guard_new(&limits)))
        goto done;
    for (int i = 0; i < nproxies; i++)
        if (web_guard_trust(w.guard, proxies[i]) != 0) {
            cli_error("--trusted-proxy wants an address or ADDR/PREFIX, e.g. 10.0.0.5 or "
                      "10.0.0.0/24, not \"%s\"",
                      proxies[i]);
            rc = EXIT_USAGE;
            goto done;
        }
    for (size_t i = 0; i < sizeof w.files / sizeof w.files[0]; i++)
        if (read_static(dir, &w.files[i]) != 0)
            goto done;
    if (!(w.slots = calloc(RATE_SLOTS, sizeof *w.slots)))
        goto done;
    if (load_types(&w, models, rules) != 0)
        goto done;
    if (!(w.feedback.db = cli_feedback_open(db, err, sizeof err))) {
        cli_error("%s", err);
        goto done;
    }

    /* signals are taken by sigtimedwait below; block them before any thread
     * starts (backend, store, ZeroMQ's, MHD's) so that all inherit the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    w.backend =
        local ? web_backend_local(models, rules, feeds, (int)threads, err, sizeof err)
              : web_backend_remote(endpoint, &keys, (int)timeout_ms, err, sizeof err);
    if (!w.backend) {
        cli_error("%s", err);
        goto done;
    }
    if (!(w.store = web_pool_new(1, NULL, NULL, &w.feedback))) {
        cli_error("cannot start the feedback thread");
        goto done;
    }

    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
            (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, web_guard_accept, w.guard, handle, &w, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_NOTIFY_COMPLETED, completed, &w, MHD_OPTION_NOTIFY_CONNECTION,
        web_guard_connection, w.guard,
        /* an idle limit behind the guard's deadlines */
        MHD_OPTION_CONNECTION_TIMEOUT, limits.body_timeout, MHD_OPTION_CONNECTION_LIMIT,
        limits.max_connections, MHD_OPTION_END);
    if (!d) {
        cli_error("cannot listen on %s (in use, or not an address of this machine?)",
                  bind);
        goto done;
    }
    fprintf(stderr, "hubao web: serving http://%s/ (%s%s)\n", bind,
            local ? "models loaded here" : "hubaod at ", local ? "" : endpoint);
    /* wait for a signal, cutting connections past their deadlines meanwhile */
    const struct timespec tick = {0, 250000000L};
    while (sigtimedwait(&sigs, NULL, &tick) < 0)
        web_guard_sweep(w.guard);
    listener = drain(&w, d, drain_timeout, &sigs);
    rc = 0;
done:
    /* answer every suspended connection before MHD stops (it must not stop
     * with one suspended); requests that come meanwhile get 503 */
    web_backend_stop(w.backend);
    web_pool_stop(w.store);
    if (d)
        MHD_stop_daemon(d);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    web_backend_free(w.backend);
    web_pool_free(w.store);
    web_guard_free(w.guard);
    web_stats_free(w.stats);
    cli_feedback_close(w.feedback.db);
    hb_catalog_free(w.feedback.types);
    free(w.types_json);
    free(w.slots);
    for (size_t i = 0; i < sizeof w.files / sizeof w.files[0]; i++)
        free(w.files[i].data);
    return rc;
usage:
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
