/*
 * broker.c - the request broker (see broker.h, backend.h, docs/protocol.md).
 *
 * Requests live in slots that are reused, never freed until exit: a slot
 * holds the client's envelope frames (identity plus any address frames a
 * DEALER client put before the empty delimiter) and the body, kept as a
 * ZeroMQ message so that sending it to a worker - or re-sending it to a
 * second one - shares the bytes instead of copying them.  A slot is FREE,
 * QUEUED (in the FIFO, waiting for a worker), INFLIGHT (a worker has it)
 * or WAITING (a control command waiting for the reload it started).
 *
 * Workers are picked by fewest requests in hand, then least recently
 * used; each may hold --credit requests, so the next one is already in
 * its socket when it finishes the current one.  A worker's requests are
 * found by their slot's worker index, so a late reply from a worker given
 * up for dead is still delivered once: the request number carries the
 * slot's generation, and the first reply to arrive frees the slot.
 *
 * The broker never parses a request on the hot path: a body is looked at
 * only when it could be a control command (small and naming "control"),
 * or when the broker must answer it itself and wants the "id".
 *
 * Control commands that change or reveal the service (reload, stats) are
 * taken only from a second ROUTER socket, the control endpoint (control.h:
 * by default a unix socket only the service's user can reach); the request
 * socket answers them "forbidden" and takes only "ping", the liveness
 * probe.  Control requests use the same slots, marked as the control
 * socket's, so that a reload's late reply leaves where the command came
 * in; they are not held to a client's share (clients.h), which is the
 * request socket's.
 *
 * Every slot in use is accounted to the client that sent it (clients.h),
 * and every reply leaves through that client's record, which sends it or,
 * when the client's pipe is full, keeps it until the client reads.
 */
#define _GNU_SOURCE /* memmem */
#include "broker.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "auth.h"
#include "backend.h"
#include "clients.h"
#include "clock.h"
#include "control.h"
#include "endpoint.h"
#include "exporter.h"
#include "latency.h"
#include "log.h"
#include "prom.h"
#include "promstats.h"
#include "request.h"
#include "signals.h"

enum {
    MAX_ENVELOPE = 8, /* identity + address frames kept per request */
    MAX_WORKERS = 256,
    MAX_TRIES = 3,     /* workers a request is sent to, at most */
    MAX_WAITERS = 16,  /* reload commands waiting for one round */
    CONTROL_MAX = 512, /* larger bodies are never control commands */
    BURST = 256,       /* messages read from one socket per loop */
    QUIET_US = 100000, /* drain: front end idle this long means done */
    PEEK_MAX = 65536,  /* larger bodies are not parsed for an error's id */
    RELOAD_MIN_WAIT_MS = 30000,
    FRAME_SLACK = 65536, /* frames up to 2 x max request + this are read */
    HANDSHAKE_MS = 5000,
    FLUSH_MS = 5,      /* retry a reply backlog this often */
    TICK_US = 1000000, /* hb_clients_tick */
};

typedef enum { R_FREE, R_QUEUED, R_INFLIGHT, R_WAITING } req_state;

typedef struct request {
    uint32_t index, gen;
    req_state state;
    zmq_msg_t env[MAX_ENVELOPE];
    int nenv;
    int delimited; /* the client sent the empty delimiter frame */
    int control;   /* it came on the control socket */
    zmq_msg_t body;
    int64_t recv_us, deadline_us;
    int worker; /* while INFLIGHT */
    int tries;
    int prev, next;     /* FIFO links while QUEUED; free list while FREE */
    json_t *control_id; /* while WAITING: the command's "id" */
    hb_client *client;  /* who sent it (clients.h); NULL while FREE */
    size_t held;        /* bytes accounted to the client for it */
} request;

typedef struct worker {
    int used;
    unsigned char id[256];
    size_t idlen;
    int pid;
    char host[64];
    int inflight;
    uint64_t last_pick; /* dispatch clock when last given a request */
    uint64_t replies;
    int64_t seen_us, joined_us;
    json_t *models;      /* {"task": "version"} */
    json_t *fallback;    /* why it serves the snapshot (a string), or NULL */
    json_t *counts;      /* last heartbeat payload */
    json_t *last_reload; /* last RELOADED payload */
    int reloading;
} worker;

struct hb_broker {
    hb_service_config cfg;
    void *ctx, *front, *back, *ctl;
    int ctl_bound; /* the control socket file is ours to remove at the end */
    char backend[HB_CONFIG_PATH];
    char local_backend[HB_CONFIG_PATH]; /* with CURVE on the back end: the
                                         * keyless one of local workers */
    hb_auth *auth;                      /* CURVE and its ZAP handler, or NULL */
    char hostname[64];
    int sigfd;
    hb_supervisor *sup;

    request **reqs;
    size_t nreqs, cap_reqs;
    int free_head;
    int q_head, q_tail;
    size_t q_len, inflight;

    worker workers[MAX_WORKERS];
    uint64_t pick_clock;

    hb_clients *clients;
    size_t backlogged; /* clients with replies waiting for room */

    int64_t started_us, next_heartbeat_us, next_sweep_us, next_tick_us, last_front_us;
    uint64_t requests, replies, resent, dropped, stale;
    json_t *errors;  /* {"code": n} of errors made here */
    json_t *retired; /* summed heartbeat counts of workers gone */
    hb_latency *latency;
    uint64_t reloads_ok, reloads_failed;
    hb_exporter *exporter; /* --metrics, or NULL */

    struct {
        int active, again;
        int64_t started_us;
        int pending;
        json_t *results;
        int waiters[MAX_WAITERS], nwaiters;
        int next_waiters[MAX_WAITERS], nnext;
    } reload;

    int draining, stop;
    int64_t drain_started_us;
};

/* ---- request slots and the queue ------------------------------------ */

static request *slot_alloc(hb_broker *b)
{
    if (b->free_head >= 0) {
        request *r = b->reqs[b->free_head];
        assert(r->state == R_FREE);
        b->free_head = r->next;
        return r;
    }
    if (b->nreqs == b->cap_reqs) {
        size_t cap = b->cap_reqs ? b->cap_reqs * 2 : 256;
        request **bigger = realloc(b->reqs, cap * sizeof(request *));
        if (!bigger)
            return NULL;
        b->reqs = bigger;
        b->cap_reqs = cap;
    }
    request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->index = (uint32_t)b->nreqs;
    b->reqs[b->nreqs++] = r;
    return r;
}

/* Close what the slot holds and put it on the free list; the generation
 * bump makes any later reply for it stale. */
static void slot_free(hb_broker *b, request *r)
{
    assert(r->state != R_QUEUED); /* queue_unlink it first */
    for (int i = 0; i < r->nenv; i++)
        zmq_msg_close(&r->env[i]);
    r->nenv = 0;
    zmq_msg_close(&r->body);
    json_decref(r->control_id);
    r->control_id = NULL;
    if (r->client)
        hb_clients_release(b->clients, r->client, r->held);
    r->client = NULL;
    r->state = R_FREE;
    r->gen++;
    r->next = b->free_head;
    b->free_head = (int)r->index;
}

static void queue_unlink(hb_broker *b, request *r)
{
    assert(r->state == R_QUEUED && b->q_len > 0);
    if (r->prev >= 0)
        b->reqs[r->prev]->next = r->next;
    else
        b->q_head = r->next;
    if (r->next >= 0)
        b->reqs[r->next]->prev = r->prev;
    else
        b->q_tail = r->prev;
    b->q_len--;
    r->state = R_FREE; /* the caller sets the real state */
}

static void queue_push(hb_broker *b, request *r, int front)
{
    int i = (int)r->index;
    assert(r->state != R_QUEUED); /* in the queue at most once */
    r->state = R_QUEUED;
    if (front) {
        r->prev = -1;
        r->next = b->q_head;
        if (b->q_head >= 0)
            b->reqs[b->q_head]->prev = i;
        else
            b->q_tail = i;
        b->q_head = i;
    } else {
        r->next = -1;
        r->prev = b->q_tail;
        if (b->q_tail >= 0)
            b->reqs[b->q_tail]->next = i;
        else
            b->q_head = i;
        b->q_tail = i;
    }
    b->q_len++;
}

/* ---- replies to clients --------------------------------------------- */

/* Send the client's envelope then body to the front end (or into the
 * client's backlog, clients.h), and free the slot.  body is the caller's
 * to close (sent or not). */
static void send_reply(hb_broker *b, request *r, zmq_msg_t *body)
{
    zmq_msg_t frames[MAX_ENVELOPE + 2];
    int n = 0;
    for (int i = 0; i < r->nenv; i++) {
        zmq_msg_init(&frames[n]);
        zmq_msg_move(&frames[n++], &r->env[i]);
    }
    if (r->delimited)
        zmq_msg_init(&frames[n++]);
    zmq_msg_init(&frames[n]);
    zmq_msg_move(&frames[n++], body);
    if (r->client) {
        hb_clients_send(b->clients, r->client, frames, n);
    } else {
        void *sock = r->control ? b->ctl : b->front;
        for (int i = 0; i < n; i++) {
            zmq_msg_send(&frames[i], sock, ZMQ_DONTWAIT | (i < n - 1 ? ZMQ_SNDMORE : 0));
            zmq_msg_close(&frames[i]);
        }
    }
    slot_free(b, r);
}

static void free_text(void *data, void *hint)
{
    (void)hint;
    free(data);
}

static void reply_json(hb_broker *b, request *r, json_t *j)
{
    char *text = j ? hb_reply_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    zmq_msg_t m;
    if (!text || zmq_msg_init_data(&m, text, strlen(text), free_text, NULL) != 0) {
        static const char OOM[] =
            "{\"error\":{\"code\":\"internal\",\"message\":\"broker out of memory\"}}";
        free(text);
        zmq_msg_init_size(&m, sizeof OOM - 1);
        memcpy(zmq_msg_data(&m), OOM, sizeof OOM - 1);
    }
    send_reply(b, r, &m);
    zmq_msg_close(&m);
}

static void count_error(hb_broker *b, int code)
{
    const char *name = hb_err_name(code);
    json_t *n = json_object_get(b->errors, name);
    json_object_set_new(b->errors, name, json_integer(n ? json_integer_value(n) + 1 : 1));
}

/* Answer r with an error made here, echoing the request's "id" when it has
 * one and peek is set (too_large bodies are never parsed, nor any over
 * PEEK_MAX: refusing work must stay cheap when the broker is swamped). */
static void reply_error(hb_broker *b, request *r, int peek, int code, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));

static void reply_error(hb_broker *b, request *r, int peek, int code, const char *fmt,
                        ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    count_error(b, code);
    json_t *id = r->control_id;
    const char *body = zmq_msg_data(&r->body);
    size_t size = zmq_msg_size(&r->body), i = 0;
    while (i < size &&
           (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
        i++;
    if (id)
        json_incref(id);
    else if (peek && size <= PEEK_MAX && i < size && body[i] == '{')
        id = hb_request_peek_id(body, size); /* batches have no id */
    reply_json(b, r, hb_error_reply(id, code, message));
    json_decref(id);
}

/* ---- workers -------------------------------------------------------- */

static int find_worker(hb_broker *b, const void *id, size_t len)
{
    for (int i = 0; i < MAX_WORKERS; i++) {
        const worker *w = &b->workers[i];
        if (w->used && w->idlen == len && memcmp(w->id, id, len) == 0)
            return i;
    }
    return -1;
}

static int send_command(hb_broker *b, const void *id, size_t idlen, char cmd)
{
    if (zmq_send(b->back, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(b->back, &cmd, 1, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static void reload_finish(hb_broker *b);

static void reload_note(hb_broker *b, worker *w, int ok, const char *error)
{
    json_t *res = json_pack("{s:i, s:s, s:b}", "pid", w->pid, "host", w->host, "ok", ok);
    if (res && error)
        json_object_set_new(res, "error", json_string(error));
    if (res && w->models)
        json_object_set(res, "models", w->models);
    json_array_append_new(b->reload.results, res);
    w->reloading = 0;
    if (--b->reload.pending == 0)
        reload_finish(b);
}

/* Add counts (a heartbeat payload: numbers, and objects of numbers such
 * as "error_codes") into the same keys of into. */
static void add_counts(json_t *into, const json_t *counts)
{
    const char *k;
    json_t *v;
    if (!counts)
        return;
    json_object_foreach((json_t *)counts, k, v)
    {
        json_t *old = json_object_get(into, k);
        if (json_is_integer(v)) {
            json_object_set_new(into, k,
                                json_integer(json_integer_value(v) +
                                             (old ? json_integer_value(old) : 0)));
        } else if (json_is_object(v)) {
            if (!old) {
                old = json_object();
                json_object_set_new(into, k, old);
            }
            add_counts(old, v);
        }
    }
}

/* Forget worker wi: its requests go back to the front of the queue (or
 * are answered, if they have been tried too often). */
static void worker_lost(hb_broker *b, int wi, const char *why)
{
    worker *w = &b->workers[wi];
    hb_log(HB_LOG_WARN,
           "worker pid %d on %s lost (%s); re-sending the %d request%s it held", w->pid,
           w->host, why, w->inflight, w->inflight == 1 ? "" : "s");
    for (size_t i = 0; i < b->nreqs; i++) {
        request *r = b->reqs[i];
        if (r->state != R_INFLIGHT || r->worker != wi)
            continue;
        b->inflight--;
        if (r->tries >= MAX_TRIES) {
            reply_error(b, r, 1, HB_EINTERNAL,
                        "request was held by %d workers that died; not trying again",
                        r->tries);
        } else {
            queue_push(b, r, 1);
            b->resent++;
        }
    }
    w->inflight = 0;
    if (w->reloading && b->reload.active) {
        char e[160];
        snprintf(e, sizeof e, "worker lost during the reload: %s", why);
        reload_note(b, w, 0, e);
    }
    add_counts(b->retired, w->counts);
    json_decref(w->models);
    json_decref(w->fallback);
    json_decref(w->counts);
    json_decref(w->last_reload);
    memset(w, 0, sizeof *w);
}

/* The worker to give the next request to, or -1 if all are full. */
static int pick_worker(hb_broker *b)
{
    int best = -1;
    for (int i = 0; i < MAX_WORKERS; i++) {
        const worker *w = &b->workers[i];
        if (!w->used || w->inflight >= b->cfg.credit)
            continue;
        if (best < 0) {
            best = i;
            continue;
        }
        const worker *o = &b->workers[best];
        if (w->reloading != o->reloading ? !w->reloading
            : w->inflight != o->inflight ? w->inflight < o->inflight
                                         : w->last_pick < o->last_pick)
            best = i;
    }
    return best;
}

static int send_to_worker(hb_broker *b, int wi, request *r)
{
    worker *w = &b->workers[wi];
    assert(r->state == R_FREE); /* new, or just taken off the queue */
    char head[HB_SEQ_FRAME];
    uint64_t seq = (uint64_t)r->index << 32 | r->gen;
    head[0] = HB_CMD_REQUEST;
    memcpy(head + 1, &seq, 8);
    if (zmq_send(b->back, w->id, w->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    zmq_send(b->back, head, sizeof head, ZMQ_SNDMORE);
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, &r->body);
    if (zmq_msg_send(&copy, b->back, 0) < 0)
        zmq_msg_close(&copy);
    r->state = R_INFLIGHT;
    r->worker = wi;
    r->tries++;
    w->inflight++;
    w->last_pick = ++b->pick_clock;
    b->inflight++;
    return 0;
}

/* Give queued requests to workers with credit left. */
static void dispatch(hb_broker *b)
{
    while (b->q_len > 0) {
        int wi = pick_worker(b);
        if (wi < 0)
            return;
        request *r = b->reqs[b->q_head];
        queue_unlink(b, r);
        if (hb_clock_us() > r->deadline_us) {
            reply_error(b, r, 1, HB_EDEADLINE,
                        "not answered within %ld ms (all workers busy or restarting)",
                        b->cfg.deadline_ms);
        } else if (send_to_worker(b, wi, r) != 0) {
            queue_push(b, r, 1);
            worker_lost(b, wi,
                        errno == EHOSTUNREACH ? "disconnected" : "cannot send to it");
        }
    }
}

/* ---- control commands ----------------------------------------------- */

static json_t *latency_json(const hb_latency *h)
{
    return json_pack(
        "{s:I, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)hb_latency_count(h), "p50",
        hb_latency_percentile(h, 50) / 1000.0, "p90",
        hb_latency_percentile(h, 90) / 1000.0, "p99",
        hb_latency_percentile(h, 99) / 1000.0, "p999",
        hb_latency_percentile(h, 99.9) / 1000.0, "max", hb_latency_max(h) / 1000.0);
}

/* The model versions in service: "task": "version" when every worker
 * agrees, "task": ["v1", "v2"] while they differ (during a reload). */
static int array_has(const json_t *array, const json_t *v)
{
    for (size_t k = 0; k < json_array_size(array); k++)
        if (json_equal(json_array_get(array, k), v))
            return 1;
    return 0;
}

static json_t *models_json(const hb_broker *b)
{
    json_t *seen = json_object(); /* task -> [versions] */
    for (int i = 0; i < MAX_WORKERS; i++) {
        const char *task;
        json_t *v;
        if (!b->workers[i].used || !b->workers[i].models)
            continue;
        json_object_foreach(b->workers[i].models, task, v)
        {
            json_t *versions = json_object_get(seen, task);
            if (!versions)
                json_object_set_new(seen, task, json_pack("[O]", v));
            else if (!array_has(versions, v))
                json_array_append(versions, v);
        }
    }
    json_t *out = json_object();
    const char *task;
    json_t *v;
    json_object_foreach(seen, task, v)
    {
        json_object_set(out, task, json_array_size(v) == 1 ? json_array_get(v, 0) : v);
    }
    json_decref(seen);
    return out;
}

/* The feed copies in service, as the first worker to report them has
 * them (workers load the same directory). */
static json_t *feeds_json(const hb_broker *b)
{
    for (int i = 0; i < MAX_WORKERS; i++) {
        json_t *f =
            b->workers[i].used ? json_object_get(b->workers[i].counts, "feeds") : NULL;
        if (json_is_array(f))
            return json_incref(f);
    }
    return json_array();
}

static json_t *stats_json(hb_broker *b)
{
    int64_t now = hb_clock_us();
    json_t *codes = json_deep_copy(b->errors);
    json_t *tot = json_deep_copy(b->retired); /* workers gone + workers here */
    json_t *workers = json_array();
    for (int i = 0; i < MAX_WORKERS; i++) {
        worker *w = &b->workers[i];
        if (!w->used)
            continue;
        json_t *wj = json_pack(
            "{s:i, s:s, s:s, s:i, s:I, s:f, s:f, s:O?, s:b, s:O?}", "pid", w->pid, "host",
            w->host, "state",
            w->reloading  ? "reloading"
            : w->inflight ? "busy"
                          : "idle",
            "in_flight", w->inflight, "replies", (json_int_t)w->replies, "uptime_s",
            (double)(now - w->joined_us) / 1e6, "last_seen_ms",
            (double)(now - w->seen_us) / 1e3, "models", w->models, "models_fallback",
            w->fallback != NULL, "last_reload", w->last_reload);
        if (wj && w->fallback)
            json_object_set(wj, "fallback_reason", w->fallback);
        json_array_append_new(workers, wj);
        add_counts(tot, w->counts);
    }
    /* worker-side error codes join the broker's */
    add_counts(codes, json_object_get(tot, "error_codes"));
    const char *c;
    json_t *n;
    json_int_t total = 0;
    json_object_foreach(codes, c, n) total += json_integer_value(n);
    json_t *items = json_object_get(tot, "items");
    json_t *verdicts = json_object_get(tot, "verdicts");
    json_t *s = json_pack(
        "{s:f, s:I, s:I, s:I, s:{s:I, s:o}, s:I, s:I, s:o, s:{s:I, s:I}, s:I, s:o, "
        "s:o, s:I, s:I, s:b, s:b, s:o}",
        "uptime_s", (double)(now - b->started_us) / 1e6, "requests",
        (json_int_t)b->requests, "replies", (json_int_t)b->replies, "items",
        items ? json_integer_value(items) : (json_int_t)0, "errors", "total", total,
        "by_code", codes, "resent", (json_int_t)b->resent, "stale_replies",
        (json_int_t)b->stale, "latency_ms", latency_json(b->latency), "queue", "length",
        (json_int_t)b->q_len, "limit", (json_int_t)b->cfg.queue, "in_flight",
        (json_int_t)b->inflight, "workers", workers, "models", models_json(b),
        "workers_running", (json_int_t)(b->sup ? hb_supervisor_running(b->sup) : 0),
        "restarts", (json_int_t)(b->sup ? hb_supervisor_restarts(b->sup) : 0), "draining",
        b->draining, "reloading", b->reload.active, "clients",
        hb_clients_stats(b->clients));
    if (s) {
        json_object_set_new(s, "verdicts",
                            verdicts ? json_incref(verdicts) : json_object());
        json_object_set_new(s, "feeds", feeds_json(b));
        json_object_set_new(s, "reloads",
                            json_pack("{s:I, s:I}", "ok", (json_int_t)b->reloads_ok,
                                      "failed", (json_int_t)b->reloads_failed));
    }
    json_decref(tot);
    return s;
}

/* Answer the scrapes that wait on --metrics with fresh numbers. */
static void serve_metrics(hb_broker *b)
{
    if (!hb_exporter_wanted(b->exporter))
        return;
    json_t *stats = stats_json(b);
    hb_prom p;
    hb_prom_init(&p);
    if (stats)
        hb_promstats_write(&p, stats, b->latency, (double)time(NULL));
    size_t len;
    const char *text = stats ? hb_prom_text(&p, &len) : NULL;
    hb_exporter_publish(b->exporter, text, text ? len : 0);
    hb_prom_free(&p);
    json_decref(stats);
}

static void reload_start(hb_broker *b)
{
    if (b->auth)
        hb_auth_reload(b->auth); /* authorised keys, like models, on reload */
    b->reload.active = 1;
    b->reload.again = 0;
    b->reload.started_us = hb_clock_us();
    b->reload.pending = 0;
    json_decref(b->reload.results);
    b->reload.results = json_array();
    memcpy(b->reload.waiters, b->reload.next_waiters, sizeof b->reload.waiters);
    b->reload.nwaiters = b->reload.nnext;
    b->reload.nnext = 0;
    int n = 0;
    for (int i = 0; i < MAX_WORKERS; i++)
        if (b->workers[i].used)
            n++;
    hb_log(HB_LOG_INFO, "reloading models and rules in %d worker%s", n,
           n == 1 ? "" : "s");
    for (int i = 0; i < MAX_WORKERS; i++) {
        worker *w = &b->workers[i];
        if (!w->used)
            continue;
        if (send_command(b, w->id, w->idlen, HB_CMD_RELOAD) != 0) {
            worker_lost(b, i, "cannot send to it");
            continue;
        }
        w->reloading = 1;
        b->reload.pending++;
    }
    if (b->reload.pending == 0)
        reload_finish(b);
}

/* Ask every worker to reload; waiter (may be NULL) is the control command
 * that wants the outcome. */
static void reload_request(hb_broker *b, request *waiter)
{
    if (waiter) {
        if (b->reload.nnext == MAX_WAITERS) {
            reply_error(b, waiter, 0, HB_EOVERLOADED,
                        "%d reload commands are already waiting", MAX_WAITERS);
            return;
        }
        assert(waiter->state == R_FREE);
        waiter->state = R_WAITING;
        b->reload.next_waiters[b->reload.nnext++] = (int)waiter->index;
    }
    if (b->reload.active)
        b->reload.again = 1; /* files may have changed since this round began */
    else
        reload_start(b);
}

static void reload_finish(hb_broker *b)
{
    size_t n = json_array_size(b->reload.results), failed = 0;
    for (size_t i = 0; i < n; i++)
        failed +=
            !json_is_true(json_object_get(json_array_get(b->reload.results, i), "ok"));
    int ok = n > 0 && failed == 0;
    if (ok)
        b->reloads_ok++;
    else
        b->reloads_failed++;
    if (n == 0)
        hb_log(HB_LOG_WARN, "reload: no worker connected");
    else if (failed)
        hb_log(HB_LOG_ERROR,
               "reload: %zu of %zu workers rejected the new models and keep serving the "
               "old ones (reasons above)",
               failed, n);
    else
        hb_log(HB_LOG_INFO, "reload: all %zu workers switched", n);
    if (n > failed && b->sup)
        hb_supervisor_snapshot(b->sup); /* what loaded is the set to fall back to */
    for (int i = 0; i < b->reload.nwaiters; i++) {
        request *r = b->reqs[b->reload.waiters[i]];
        json_t *j =
            json_pack("{s:{s:b, s:O}}", "reload", "ok", ok, "workers", b->reload.results);
        if (j && !n)
            json_object_set_new(json_object_get(j, "reload"), "error",
                                json_string("no worker connected"));
        if (j && r->control_id) {
            json_t *with_id = json_pack("{s:O}", "id", r->control_id);
            json_object_update(with_id, j);
            json_decref(j);
            j = with_id;
        }
        reply_json(b, r, j);
    }
    b->reload.nwaiters = 0;
    b->reload.active = 0;
    for (int i = 0; i < MAX_WORKERS; i++)
        b->workers[i].reloading = 0;
    if (b->reload.again && !b->draining)
        reload_start(b);
}

/* If r is a control command, answer or start it and return 1; 0 if it is
 * an ordinary request.  On the request socket only ping is answered:
 * every other command, known or not, is refused "forbidden". */
static int handle_control(hb_broker *b, request *r)
{
    /* read as workers read requests: a body with a key twice is no
     * command (the worker refuses it), and the id comes back exactly */
    json_t *root =
        hb_request_parse(zmq_msg_data(&r->body), zmq_msg_size(&r->body), 1, NULL);
    json_t *cmd = json_object_get(root, "control");
    if (!json_is_string(cmd)) {
        json_decref(root);
        return 0;
    }
    json_t *id = json_object_get(root, "id");
    r->control_id = id ? json_incref(id) : NULL;
    /* a name with a NUL in it ("ping\u0000x") is no command's name */
    const char *name = json_string_value(cmd);
    if (strlen(name) != json_string_length(cmd))
        name = "";
    if (strcmp(name, "ping") == 0) {
        json_t *j = json_object();
        if (id)
            json_object_set(j, "id", id);
        int n = 0;
        for (int i = 0; i < MAX_WORKERS; i++)
            n += b->workers[i].used;
        json_object_set_new(
            j, "pong", json_pack("{s:i, s:o}", "workers", n, "models", models_json(b)));
        reply_json(b, r, j);
    } else if (!r->control) {
        reply_error(b, r, 0, HB_EFORBIDDEN,
                    "control commands are taken on the control endpoint (--control)");
    } else if (strcmp(name, "stats") == 0) {
        json_t *j = json_object();
        if (id)
            json_object_set(j, "id", id);
        json_object_set_new(j, "stats", stats_json(b));
        reply_json(b, r, j);
    } else if (strcmp(name, "reload") == 0) {
        if (b->draining)
            reply_error(b, r, 0, HB_ESHUTDOWN, "hubaod is shutting down");
        else
            reload_request(b, r);
    } else {
        reply_error(b, r, 0, HB_EREQUEST,
                    "unknown control command \"%.64s\"; use stats, reload or ping", name);
    }
    json_decref(root);
    return 1;
}

/* ---- the front end -------------------------------------------------- */

/* Receive one client message from sock (the request or the control
 * socket) into r: 1 if one was read, 0 if none was waiting.  Sets *bad to
 * 1 for more than MAX_ENVELOPE envelope frames (dropped: there is no way
 * to address the reply) and 2 for more than one frame after the
 * delimiter. */
static int recv_request(void *sock, request *r, int *bad)
{
    int have_body = 0, first = 1, more = 1;
    r->nenv = 0;
    r->delimited = 0;
    *bad = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, first ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            if (first)
                return 0;
            break;
        }
        more = zmq_msg_more(&m);
        zmq_msg_t *dest = NULL;
        if (first || (!r->delimited && zmq_msg_size(&m) > 0)) {
            if (r->nenv < MAX_ENVELOPE)
                dest = &r->env[r->nenv++];
            else
                *bad = 1;
        } else if (!r->delimited) {
            r->delimited = 1;
        } else if (!have_body) {
            dest = &r->body;
            have_body = 1;
        } else if (!*bad) {
            *bad = 2;
        }
        if (dest) {
            zmq_msg_init(dest);
            zmq_msg_move(dest, &m);
        }
        zmq_msg_close(&m);
        first = 0;
    }
    if (!r->delimited && r->nenv >= 2 && !*bad) {
        /* no delimiter: a bare DEALER; its last frame is the body */
        zmq_msg_init(&r->body);
        zmq_msg_move(&r->body, &r->env[--r->nenv]);
        zmq_msg_close(&r->env[r->nenv]);
        have_body = 1;
    }
    if (!have_body)
        zmq_msg_init(&r->body);
    return 1;
}

static void admit(hb_broker *b, request *r, int64_t now)
{
    r->recv_us = now;
    r->deadline_us = now + b->cfg.deadline_ms * 1000;
    r->tries = 0;
    size_t size = zmq_msg_size(&r->body);
    if (size > (size_t)b->cfg.max_request_bytes) {
        b->requests++;
        reply_error(b, r, 0, HB_ETOOBIG, "request is %zu bytes, over the limit of %ld",
                    size, b->cfg.max_request_bytes);
        return;
    }
    if (size <= CONTROL_MAX && memmem(zmq_msg_data(&r->body), size, "\"control\"", 9) &&
        handle_control(b, r))
        return;
    b->requests++;
    if (b->draining) {
        reply_error(b, r, 1, HB_ESHUTDOWN,
                    "hubaod is shutting down; send the request again later or elsewhere");
        return;
    }
    char why[256];
    int refused =
        r->client ? hb_clients_admit(b->clients, r->client, why, sizeof why) : 0;
    if (refused) {
        reply_error(b, r, 1, refused, "%s", why);
        return;
    }
    if (b->q_len >= (size_t)b->cfg.queue)
        dispatch(b);
    if (b->q_len >= (size_t)b->cfg.queue && !(b->q_len == 0 && pick_worker(b) >= 0)) {
        reply_error(b, r, 1, HB_EOVERLOADED, "%zu requests already waiting; retry later",
                    b->q_len);
        return;
    }
    queue_push(b, r, 0);
    dispatch(b);
}

/* What comes in on the control socket: a control command, or a refusal. */
static void admit_control(hb_broker *b, request *r)
{
    if (zmq_msg_size(&r->body) > CONTROL_MAX || !handle_control(b, r))
        reply_error(b, r, 1, HB_EREQUEST,
                    "the control endpoint takes control commands only: "
                    "{\"control\": \"stats\"}, \"reload\" or \"ping\"");
}

/* Read what waits on sock, the request socket or the control socket. */
static void read_requests(hb_broker *b, void *sock)
{
    for (int i = 0; i < BURST; i++) {
        request *r = slot_alloc(b);
        if (!r) {
            hb_log(HB_LOG_ERROR, "out of memory for a request slot");
            return;
        }
        int bad;
        if (!recv_request(sock, r, &bad)) {
            r->nenv = 0;
            zmq_msg_init(&r->body);
            slot_free(b, r);
            return;
        }
        r->control = sock == b->ctl;
        int64_t now = hb_clock_us();
        if (!r->control)
            b->last_front_us = now;
        if (bad == 1) {
            b->dropped++;
            hb_log(HB_LOG_WARN, "dropped a request with more than %d envelope frames",
                   MAX_ENVELOPE - 1);
            slot_free(b, r);
            continue;
        }
        if (r->control) {
            if (bad == 2)
                reply_error(b, r, 0, HB_EREQUEST,
                            "send one JSON frame after the empty delimiter frame");
            else
                admit_control(b, r);
            continue;
        }
        /* everything the slot holds counts against the client's budget;
         * without a record (out of memory) the request goes unaccounted */
        int fd = zmq_msg_get(&r->body, ZMQ_SRCFD);
        if (fd < 0 && r->nenv > 1)
            fd = zmq_msg_get(&r->env[1], ZMQ_SRCFD);
        r->client = hb_clients_get(b->clients, zmq_msg_data(&r->env[0]),
                                   zmq_msg_size(&r->env[0]), fd);
        r->held = zmq_msg_size(&r->body);
        for (int k = 0; k < r->nenv; k++)
            r->held += zmq_msg_size(&r->env[k]);
        if (r->client)
            hb_clients_hold(b->clients, r->client, r->held);
        if (bad == 2) {
            b->requests++;
            reply_error(b, r, 0, HB_EREQUEST,
                        "send one JSON frame after the empty delimiter frame");
        } else {
            admit(b, r, now);
        }
    }
}

/* ---- the back end --------------------------------------------------- */

static void on_ready(hb_broker *b, const unsigned char *id, size_t idlen,
                     const zmq_msg_t *payload)
{
    json_t *info = json_loadb(zmq_msg_data((zmq_msg_t *)payload),
                              zmq_msg_size((zmq_msg_t *)payload), 0, NULL);
    const char *proto = json_string_value(json_object_get(info, "protocol"));
    if (!proto || strcmp(proto, HB_BACKEND_PROTOCOL) != 0) {
        hb_log(HB_LOG_ERROR, "refused a worker speaking \"%s\" (expected %s)",
               proto ? proto : "?", HB_BACKEND_PROTOCOL);
        json_decref(info);
        return;
    }
    int wi = find_worker(b, id, idlen);
    if (wi >= 0)
        worker_lost(b, wi, "it registered again");
    for (wi = 0; wi < MAX_WORKERS && b->workers[wi].used; wi++)
        ;
    if (wi == MAX_WORKERS) {
        hb_log(HB_LOG_ERROR, "refused a worker: %d already connected", MAX_WORKERS);
        json_decref(info);
        return;
    }
    worker *w = &b->workers[wi];
    memset(w, 0, sizeof *w);
    w->used = 1;
    memcpy(w->id, id, idlen);
    w->idlen = idlen;
    w->pid = (int)json_integer_value(json_object_get(info, "pid"));
    const char *host = json_string_value(json_object_get(info, "host"));
    snprintf(w->host, sizeof w->host, "%s", host ? host : "?");
    w->models = json_incref(json_object_get(info, "models"));
    json_t *fallback = json_object_get(info, "fallback");
    w->fallback = json_is_string(fallback) ? json_incref(fallback) : NULL;
    w->joined_us = w->seen_us = hb_clock_us();
    char line[512] = "";
    size_t used = 0;
    const char *task;
    json_t *v;
    json_object_foreach(w->models, task, v)
    {
        int n = snprintf(line + used, sizeof line - used, " %s=%s", task,
                         json_string_value(v));
        if (n > 0 && (size_t)n < sizeof line - used)
            used += (size_t)n;
    }
    if (w->fallback)
        hb_log(HB_LOG_WARN,
               "worker pid %d on %s ready on the snapshot of the last models "
               "that loaded, because the configured ones do not load (%s); models:%s",
               w->pid, w->host, json_string_value(w->fallback), line);
    else
        hb_log(HB_LOG_INFO, "worker pid %d on %s ready; models:%s", w->pid, w->host,
               line);
    json_decref(info);
}

static void on_reply(hb_broker *b, const char *head, zmq_msg_t *body)
{
    uint64_t seq;
    memcpy(&seq, head + 1, 8);
    size_t idx = (size_t)(seq >> 32);
    uint32_t gen = (uint32_t)seq;
    request *r = idx < b->nreqs ? b->reqs[idx] : NULL;
    if (!r || r->gen != gen || r->state != R_INFLIGHT) {
        b->stale++; /* answered already: re-sent, or past its deadline */
        return;
    }
    worker *w = &b->workers[r->worker];
    if (w->used) {
        w->inflight--;
        w->replies++;
    }
    b->inflight--;
    b->replies++;
    hb_latency_add(b->latency, hb_clock_us() - r->recv_us);
    send_reply(b, r, body);
}

/* The counts a reply carried (backend.h): fresher than the last
 * heartbeat's, whose error codes stay as they were. */
static void worker_counts_update(worker *w, const uint64_t counts[3])
{
    static const char *const keys[3] = {"requests", "items", "errors"};
    if (!w->counts)
        w->counts = json_object();
    for (int k = 0; k < 3; k++) {
        json_t *v = json_object_get(w->counts, keys[k]);
        if (json_is_integer(v))
            json_integer_set(v, (json_int_t)counts[k]);
        else
            json_object_set_new(w->counts, keys[k], json_integer((json_int_t)counts[k]));
    }
}

static void on_reload_result(hb_broker *b, int wi, const zmq_msg_t *payload)
{
    worker *w = &b->workers[wi];
    json_t *res = json_loadb(zmq_msg_data((zmq_msg_t *)payload),
                             zmq_msg_size((zmq_msg_t *)payload), 0, NULL);
    int ok = json_is_true(json_object_get(res, "ok"));
    const char *error = json_string_value(json_object_get(res, "error"));
    json_t *models = json_object_get(res, "models");
    if (models) {
        json_decref(w->models);
        w->models = json_incref(models);
    }
    json_t *fallback = json_object_get(res, "fallback");
    json_decref(w->fallback);
    w->fallback = json_is_string(fallback) ? json_incref(fallback) : NULL;
    json_decref(w->last_reload);
    w->last_reload = res;
    if (ok)
        hb_log(HB_LOG_INFO, "worker pid %d reloaded", w->pid);
    else
        hb_log(HB_LOG_ERROR,
               "worker pid %d rejected the new models and keeps serving the old: %s",
               w->pid, error ? error : "?");
    if (w->reloading && b->reload.active)
        reload_note(b, w, ok, error);
}

static void read_back(hb_broker *b)
{
    for (int i = 0; i < BURST; i++) {
        unsigned char id[256];
        int idlen = zmq_recv(b->back, id, sizeof id, ZMQ_DONTWAIT);
        if (idlen < 0)
            break;
        char head[HB_SEQ_FRAME + 1];
        int hlen = zmq_recv(b->back, head, sizeof head, 0);
        zmq_msg_t payload;
        zmq_msg_init(&payload);
        int more = 0;
        size_t sz = sizeof more;
        zmq_getsockopt(b->back, ZMQ_RCVMORE, &more, &sz);
        if (more && zmq_msg_recv(&payload, b->back, 0) >= 0)
            zmq_getsockopt(b->back, ZMQ_RCVMORE, &more, &sz);
        uint64_t counts[3];
        int ncounts = 0;
        if (more) {
            ncounts = zmq_recv(b->back, counts, sizeof counts, 0);
            zmq_getsockopt(b->back, ZMQ_RCVMORE, &more, &sz);
        }
        while (more) { /* nothing this protocol sends */
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            zmq_msg_recv(&extra, b->back, 0);
            zmq_msg_close(&extra);
            zmq_getsockopt(b->back, ZMQ_RCVMORE, &more, &sz);
        }
        if (idlen > (int)sizeof id || hlen < 1) {
            zmq_msg_close(&payload);
            continue;
        }
        int wi = find_worker(b, id, (size_t)idlen);
        if (wi >= 0)
            b->workers[wi].seen_us = hb_clock_us();
        switch (head[0]) {
        case HB_CMD_READY: on_ready(b, id, (size_t)idlen, &payload); break;
        case HB_CMD_REPLY:
            if (hlen == HB_SEQ_FRAME)
                on_reply(b, head, &payload);
            if (wi >= 0 && ncounts == HB_COUNTS_FRAME)
                worker_counts_update(&b->workers[wi], counts);
            if (wi < 0)
                send_command(b, id, (size_t)idlen, HB_CMD_DISCONNECT);
            break;
        case HB_CMD_HEARTBEAT:
            if (wi < 0) {
                send_command(b, id, (size_t)idlen, HB_CMD_DISCONNECT);
            } else if (zmq_msg_size(&payload) > 0) {
                json_t *c =
                    json_loadb(zmq_msg_data(&payload), zmq_msg_size(&payload), 0, NULL);
                if (json_is_object(c)) {
                    json_decref(b->workers[wi].counts);
                    b->workers[wi].counts = c;
                } else {
                    json_decref(c);
                }
            }
            break;
        case HB_CMD_RELOAD:
            if (wi >= 0)
                on_reload_result(b, wi, &payload);
            break;
        default: hb_log(HB_LOG_WARN, "ignored an unknown command from a worker");
        }
        zmq_msg_close(&payload);
    }
    dispatch(b);
}

/* ---- timers --------------------------------------------------------- */

static void heartbeat(hb_broker *b, int64_t now)
{
    int64_t limit_us = b->cfg.heartbeat_ms * b->cfg.liveness * 1000;
    for (int i = 0; i < MAX_WORKERS; i++) {
        worker *w = &b->workers[i];
        if (!w->used)
            continue;
        if (now - w->seen_us > limit_us) {
            char why[64];
            snprintf(why, sizeof why, "silent for %lld ms",
                     (long long)((now - w->seen_us) / 1000));
            worker_lost(b, i, why);
        } else if (send_command(b, w->id, w->idlen, HB_CMD_HEARTBEAT) != 0 &&
                   errno == EHOSTUNREACH) {
            worker_lost(b, i, "disconnected");
        }
    }
    b->next_heartbeat_us = now + b->cfg.heartbeat_ms * 1000;
    dispatch(b);
}

/* Answer every request past its deadline, queued or with a worker (a
 * late reply from the worker is then dropped as stale). */
static void sweep(hb_broker *b, int64_t now)
{
    for (size_t i = 0; i < b->nreqs; i++) {
        request *r = b->reqs[i];
        if ((r->state != R_QUEUED && r->state != R_INFLIGHT) || now <= r->deadline_us)
            continue;
        if (r->state == R_QUEUED) {
            queue_unlink(b, r);
        } else {
            if (b->workers[r->worker].used)
                b->workers[r->worker].inflight--;
            b->inflight--;
        }
        reply_error(b, r, 1, HB_EDEADLINE, "not answered within %ld ms%s",
                    b->cfg.deadline_ms,
                    r->tries ? "" : " (all workers busy or restarting)");
    }
    long period_ms = b->cfg.deadline_ms / 4 < 100 ? b->cfg.deadline_ms / 4 : 100;
    b->next_sweep_us = now + (period_ms > 0 ? period_ms : 1) * 1000;
}

static void on_worker_exit(void *ctx, pid_t pid, const char *why)
{
    hb_broker *b = ctx;
    for (int i = 0; i < MAX_WORKERS; i++)
        if (b->workers[i].used && b->workers[i].pid == (int)pid &&
            strcmp(b->workers[i].host, b->hostname) == 0)
            worker_lost(b, i, why);
}

/* Answer whatever is left when the drain time is up. */
static void abandon_all(hb_broker *b)
{
    for (size_t i = 0; i < b->nreqs; i++) {
        request *r = b->reqs[i];
        if (r->state == R_QUEUED)
            queue_unlink(b, r);
        else if (r->state == R_INFLIGHT)
            b->inflight--;
        else if (r->state != R_WAITING)
            continue;
        reply_error(b, r, 1, HB_ESHUTDOWN,
                    "hubaod stopped before this request was answered");
    }
}

static void start_drain(hb_broker *b, int64_t now)
{
    if (b->draining) {
        hb_log(HB_LOG_WARN, "second stop signal: not waiting any longer");
        b->drain_started_us = now - b->cfg.drain_ms * 1000;
        return;
    }
    b->draining = 1;
    b->drain_started_us = now;
    hb_log(HB_LOG_INFO, "stopping: answering %zu queued and %zu in-flight requests first",
           b->q_len, b->inflight);
    if (b->sup)
        hb_supervisor_stop_restarts(b->sup);
    for (int i = 0; i < b->reload.nnext; i++)
        reply_error(b, b->reqs[b->reload.next_waiters[i]], 0, HB_ESHUTDOWN,
                    "hubaod is shutting down");
    b->reload.nnext = 0;
    b->reload.again = 0;
}

/* ---- life cycle ----------------------------------------------------- */

static void resolve_endpoint(void *sock, char *out, size_t cap)
{
    size_t len = cap;
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, out, &len) != 0)
        return;
    char *any = strstr(out, "://0.0.0.0:");
    if (any) {
        char rest[HB_CONFIG_PATH];
        snprintf(rest, sizeof rest, "%s", any + 11);
        snprintf(any, cap - (size_t)(any - out), "://127.0.0.1:%s", rest);
    }
}

/* Bind the worker endpoint.  With CURVE on it (--curve-workers), the
 * workers this broker starts get a keyless private endpoint of their own,
 * bound before the socket becomes a CURVE server (the option applies to
 * later binds only), so that they need no keys; remote workers connect
 * to --backend with theirs. */
static int bind_backend(hb_broker *b, hb_error *err)
{
    if (hb_auth_enabled(b->auth, HB_AUTH_WORKERS)) {
        snprintf(b->local_backend, sizeof b->local_backend, "ipc://@hubaod-%d",
                 (int)getpid());
        if (zmq_bind(b->back, b->local_backend) != 0)
            return hb_error_set(err, HB_EIO,
                                "cannot bind the local workers' endpoint %s: %s",
                                b->local_backend, zmq_strerror(errno));
        if (hb_auth_serve(b->auth, b->back, HB_AUTH_WORKERS, err) != 0)
            return HB_EINVAL;
    }
    if (zmq_bind(b->back, b->backend) != 0)
        return hb_error_set(err, HB_EIO, "cannot bind the worker endpoint %s: %s",
                            b->backend, zmq_strerror(errno));
    return 0;
}

hb_broker *hb_broker_new(const hb_service_config *cfg, hb_error *err)
{
    hb_broker *b = calloc(1, sizeof *b);
    if (!b) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    b->cfg = *cfg;
    b->sigfd = -1;
    b->free_head = b->q_head = b->q_tail = -1;
    b->started_us = hb_clock_us();
    gethostname(b->hostname, sizeof b->hostname - 1);
    b->errors = json_object();
    b->retired = json_object();
    b->latency = hb_latency_new();
    b->ctx = zmq_ctx_new();
    if (!b->errors || !b->retired || !b->latency || !b->ctx) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_broker_free(b);
        return NULL;
    }
    b->front = zmq_socket(b->ctx, ZMQ_ROUTER);
    b->back = zmq_socket(b->ctx, ZMQ_ROUTER);
    b->ctl = zmq_socket(b->ctx, ZMQ_ROUTER);
    /* replies beyond a few per client wait in the broker, counted in
     * bytes (clients.h); ROUTER_MANDATORY makes a full pipe say EAGAIN */
    int hwm = 10000, sndhwm = HB_CLIENTS_SNDHWM, on = 1, linger = 0;
    zmq_setsockopt(b->front, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(b->front, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->front, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
    hb_clients_limits limits = {cfg->client_in_flight, (size_t)cfg->client_bytes,
                                (size_t)cfg->buffer_bytes};
    if (!(b->clients = hb_clients_new(b->front, &limits))) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_broker_free(b);
        return NULL;
    }
    /* A frame somewhat over --max-request-bytes is read and answered
     * too_large; one far over it (a client announcing a gigabyte) makes
     * libzmq drop the connection before buffering it.  A peer gets 5 s to
     * finish the ZMTP handshake. */
    int64_t max_frame = (int64_t)cfg->max_request_bytes * 2 + FRAME_SLACK;
    int handshake_ms = HANDSHAKE_MS;
    zmq_setsockopt(b->front, ZMQ_MAXMSGSIZE, &max_frame, sizeof max_frame);
    zmq_setsockopt(b->front, ZMQ_HANDSHAKE_IVL, &handshake_ms, sizeof handshake_ms);
    int64_t max_control = PEEK_MAX;
    zmq_setsockopt(b->ctl, ZMQ_MAXMSGSIZE, &max_control, sizeof max_control);
    zmq_setsockopt(b->ctl, ZMQ_HANDSHAKE_IVL, &handshake_ms, sizeof handshake_ms);
    /* ZMTP heartbeats: a client whose process is stopped or whose host is
     * gone stops answering them, and libzmq closes its connection after
     * --client-timeout-ms; its unread replies are then dropped
     * (hb_clients_flush) instead of being held for ever.  A client that
     * is alive but not reading still answers; the byte budgets deal with
     * it. */
    int timeout_ms = (int)cfg->client_timeout_ms, ping_ms = timeout_ms / 3;
    zmq_setsockopt(b->front, ZMQ_HEARTBEAT_IVL, &ping_ms, sizeof ping_ms);
    zmq_setsockopt(b->front, ZMQ_HEARTBEAT_TIMEOUT, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(b->ctl, ZMQ_HEARTBEAT_IVL, &ping_ms, sizeof ping_ms);
    zmq_setsockopt(b->ctl, ZMQ_HEARTBEAT_TIMEOUT, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(b->back, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
    zmq_setsockopt(b->back, ZMQ_LINGER, &linger, sizeof linger);
    if (cfg->backend[0])
        snprintf(b->backend, sizeof b->backend, "%s", cfg->backend);
    else
        snprintf(b->backend, sizeof b->backend, "ipc://@hubaod-%d", (int)getpid());
    if (hb_auth_open(b->ctx, cfg, &b->auth, err) != 0 ||
        (hb_auth_enabled(b->auth, HB_AUTH_CLIENTS) &&
         hb_auth_serve(b->auth, b->front, HB_AUTH_CLIENTS, err) != 0)) {
        hb_broker_free(b);
        return NULL;
    }
    if (zmq_bind(b->front, cfg->bind) != 0) {
        hb_error_set(err, HB_EIO, "cannot listen on %s: %s", cfg->bind,
                     zmq_strerror(errno));
        hb_broker_free(b);
        return NULL;
    }
    const char *private_dir = cfg->control_dir[0] ? cfg->control_dir : NULL;
    if (hb_control_bind(b->ctl, cfg->control, private_dir, &cfg->runas, err) != 0) {
        hb_broker_free(b);
        return NULL;
    }
    b->ctl_bound = 1;
    const char *exposed = hb_endpoint_exposure(cfg->control);
    if (exposed)
        hb_log(HB_LOG_WARN, "control endpoint %s: %s", cfg->control, exposed);
    if (bind_backend(b, err) != 0) {
        hb_broker_free(b);
        return NULL;
    }
    hb_auth_warn_exposed(b->auth, cfg->bind, cfg->backend);
    resolve_endpoint(b->back, b->backend, sizeof b->backend);
    char front[HB_CONFIG_PATH] = "", ctl[HB_CONFIG_PATH] = "";
    resolve_endpoint(b->front, front, sizeof front);
    resolve_endpoint(b->ctl, ctl, sizeof ctl);
    b->sigfd = hb_signals_open(HB_SIG_TERM | HB_SIG_HUP | HB_SIG_CHLD);
    if (b->sigfd < 0) {
        hb_error_set(err, HB_EIO, "cannot install signal handlers: %s", strerror(errno));
        hb_broker_free(b);
        return NULL;
    }
    /* metrics last: a scrape asks the loop, which runs from now on */
    if (cfg->metrics[0]) {
        if (!(b->exporter = hb_exporter_start(cfg->metrics, err))) {
            hb_broker_free(b);
            return NULL;
        }
        hb_log(HB_LOG_INFO, "metrics on %s (port %d): GET /metrics", cfg->metrics,
               hb_exporter_port(b->exporter));
        char as_tcp[HB_CONFIG_PATH + 8];
        snprintf(as_tcp, sizeof as_tcp, "tcp://%s", cfg->metrics);
        const char *open_to = hb_endpoint_exposure(as_tcp);
        if (open_to)
            hb_log(HB_LOG_WARN, "metrics endpoint %s: %s", cfg->metrics, open_to);
    }
    hb_log(HB_LOG_INFO, "listening on %s; control on %s; workers connect to %s", front,
           ctl, b->backend);
    return b;
}

const char *hb_broker_backend(const hb_broker *b)
{
    return b->local_backend[0] ? b->local_backend : b->backend;
}

void hb_broker_free(hb_broker *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nreqs; i++) {
        request *r = b->reqs[i];
        if (r->state != R_FREE) {
            for (int k = 0; k < r->nenv; k++)
                zmq_msg_close(&r->env[k]);
            zmq_msg_close(&r->body);
            json_decref(r->control_id);
        }
        free(r);
    }
    free(b->reqs);
    hb_clients_free(b->clients);
    for (int i = 0; i < MAX_WORKERS; i++) {
        json_decref(b->workers[i].models);
        json_decref(b->workers[i].fallback);
        json_decref(b->workers[i].counts);
        json_decref(b->workers[i].last_reload);
    }
    if (b->front) {
        int linger = 2000;
        zmq_setsockopt(b->front, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(b->front);
    }
    if (b->ctl) {
        int linger = 2000;
        zmq_setsockopt(b->ctl, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(b->ctl);
    }
    if (b->back)
        zmq_close(b->back);
    hb_auth_free(b->auth);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    if (b->ctl_bound)
        hb_control_unbind(b->cfg.control);
    if (b->sigfd >= 0)
        hb_signals_close();
    json_decref(b->errors);
    json_decref(b->retired);
    json_decref(b->reload.results);
    hb_exporter_stop(b->exporter);
    hb_latency_free(b->latency);
    free(b);
}

static long min_timeout(long a, int64_t until_us, int64_t now)
{
    long t = until_us <= now ? 0 : (long)((until_us - now + 999) / 1000);
    return a < 0 || t < a ? t : a;
}

int hb_broker_run(hb_broker *b, hb_supervisor *sup)
{
    b->sup = sup;
    int64_t now = hb_clock_us();
    b->next_heartbeat_us = now + b->cfg.heartbeat_ms * 1000;
    b->next_sweep_us = now;
    b->next_tick_us = now + TICK_US;
    while (!b->stop) {
        /* whatever the last round answered, replies that found a full
         * pipe are sent now if they fit */
        b->backlogged = hb_clients_flush(b->clients);
        now = hb_clock_us();
        long timeout = min_timeout(-1, b->next_heartbeat_us, now);
        timeout = min_timeout(timeout, b->next_tick_us, now);
        if (b->q_len + b->inflight > 0)
            timeout = min_timeout(timeout, b->next_sweep_us, now);
        if (sup) {
            long t = hb_supervisor_tick(sup, now); /* starts the workers due */
            if (t >= 0 && t < timeout)
                timeout = t;
        }
        if (b->reload.active && timeout > 1000)
            timeout = 1000;
        if (b->draining && timeout > 10)
            timeout = 10;
        if (b->backlogged && timeout > FLUSH_MS)
            timeout = FLUSH_MS; /* libzmq does not say when a pipe has room */
        /* the exporter's wake-up pipe and the ZAP handler, when there are
         * such, after the four always polled */
        zmq_pollitem_t items[6] = {{b->front, 0, ZMQ_POLLIN, 0},
                                   {b->back, 0, ZMQ_POLLIN, 0},
                                   {NULL, b->sigfd, ZMQ_POLLIN, 0},
                                   {b->ctl, 0, ZMQ_POLLIN, 0}};
        int nitems = 4, exporter_item = -1, auth_item = -1;
        if (b->exporter) {
            exporter_item = nitems;
            items[nitems++] =
                (zmq_pollitem_t){NULL, hb_exporter_fd(b->exporter), ZMQ_POLLIN, 0};
        }
        if (b->auth) {
            auth_item = nitems;
            items[nitems++] = (zmq_pollitem_t){hb_auth_socket(b->auth), 0, ZMQ_POLLIN, 0};
        }
        if (zmq_poll(items, nitems, timeout) < 0 && errno != EINTR) {
            hb_log(HB_LOG_ERROR, "poll failed: %s", zmq_strerror(errno));
            break;
        }
        /* the pipe is read only when it has something: one syscall less
         * per wake-up */
        unsigned sig = (items[2].revents & ZMQ_POLLIN) ? hb_signals_take() : 0;
        now = hb_clock_us();
        if ((sig & HB_SIG_CHLD) && sup)
            hb_supervisor_reap(sup, on_worker_exit, b);
        if (sig & HB_SIG_TERM)
            start_drain(b, now);
        if ((sig & HB_SIG_HUP) && !b->draining) {
            hb_log(HB_LOG_INFO, "SIGHUP: reload requested");
            reload_request(b, NULL);
        }
        if (auth_item >= 0 && (items[auth_item].revents & ZMQ_POLLIN))
            hb_auth_handle(b->auth); /* CURVE handshakes wait for it */
        if (items[1].revents & ZMQ_POLLIN)
            read_back(b);
        if (items[0].revents & ZMQ_POLLIN)
            read_requests(b, b->front);
        if (items[3].revents & ZMQ_POLLIN)
            read_requests(b, b->ctl);
        if (exporter_item >= 0 && (items[exporter_item].revents & ZMQ_POLLIN))
            serve_metrics(b);
        now = hb_clock_us();
        if (now >= b->next_heartbeat_us)
            heartbeat(b, now);
        if (now >= b->next_sweep_us)
            sweep(b, now);
        if (now >= b->next_tick_us) {
            hb_clients_tick(b->clients); /* memory back after a backlog drained */
            b->next_tick_us = now + TICK_US;
        }
        long reload_wait_ms = b->cfg.heartbeat_ms * b->cfg.liveness * 3;
        if (reload_wait_ms < RELOAD_MIN_WAIT_MS)
            reload_wait_ms = RELOAD_MIN_WAIT_MS;
        if (b->reload.active && now - b->reload.started_us > reload_wait_ms * 1000) {
            hb_log(HB_LOG_ERROR, "reload: %d worker%s did not answer within %ld ms",
                   b->reload.pending, b->reload.pending == 1 ? "" : "s", reload_wait_ms);
            for (int i = 0; i < MAX_WORKERS && b->reload.active; i++)
                if (b->workers[i].used && b->workers[i].reloading)
                    reload_note(b, &b->workers[i], 0, "no answer");
        }
        if (b->draining) {
            int idle = b->q_len == 0 && b->inflight == 0 && b->backlogged == 0 &&
                       now - b->last_front_us >= QUIET_US;
            if (idle || now - b->drain_started_us >= b->cfg.drain_ms * 1000) {
                if (!idle)
                    hb_log(HB_LOG_WARN,
                           "drain time (%ld ms) is up with %zu queued and %zu "
                           "in-flight requests; answering them shutting_down",
                           b->cfg.drain_ms, b->q_len, b->inflight);
                abandon_all(b);
                b->stop = 1;
            }
        }
    }
    hb_log(HB_LOG_INFO, "stopped after %llu requests", (unsigned long long)b->requests);
    return 0;
}
