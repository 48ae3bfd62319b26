/*
 * webcheck.c - answer checks for `hubao web` (webcheck.h).
 *
 * Local mode answers each body with the request handler hubaod's workers
 * use (handler.h), on a pool of threads that share the engine (read-only
 * once built) and own a handler each.
 *
 * Remote mode is one dispatcher thread that owns a DEALER socket connected
 * to hubaod, so every request can be in flight at once and ZeroMQ's socket
 * is only ever touched by one thread.  Each request goes out as
 * [seq][""][body] and hubaod returns the frames before the delimiter, so
 * replies are matched by sequence number whatever order they come in; a
 * request not answered timeout_ms after it was submitted is answered NULL
 * and forgotten, so a late reply is dropped, never given to another
 * request.  The socket is ZMQ_IMMEDIATE: while hubaod is down nothing is
 * queued for it (a check waits for a connection until its deadline and is
 * never sent stale; a health check says "not ready" at once).  Requests
 * reach the thread through a mutex-guarded list and a byte on a pipe that
 * zmq_poll watches beside the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cli.h"
#include "curvekey.h"
#include "frames.h"
#include "handler.h"
#include "paths.h"
#include "request.h"
#include "webcheck.h"
#include "webpool.h"

/* hubaod's liveness probe, the one control command its request socket
 * takes: answered by the broker itself, with the model versions. */
static const char PING[] = "{\"control\":\"ping\"}";

/* A request handed to the dispatcher, until it is answered. */
typedef struct pending {
    struct pending *prev, *next;
    uint64_t seq;
    int64_t deadline_ms; /* monotonic */
    int health, sent;
    const char *body; /* borrowed until done is called */
    size_t len;
    web_reply_fn *done;
    void *ctx;
} pending;

struct web_backend {
    /* local mode */
    hb_engine *engine;
    json_t *models; /* {"task": "version"} of engine */
    web_pool *pool;
    /* remote mode */
    int timeout_ms;
    void *zctx, *sock; /* the socket is the dispatcher's alone */
    int wake[2];       /* pipe: submitter -> dispatcher */
    pthread_t thread;
    int started, stopped;
    pthread_mutex_t lock; /* guards submitted and stopping */
    pending *submitted;   /* newest first */
    int stopping;
    /* the dispatcher's own: in submission (= deadline) order */
    pending *head, *tail;
    size_t unsent;
    uint64_t next_seq;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* done(ctx, a copy of text), or done(ctx, NULL) when text is NULL (no
 * answer) or memory ran out. */
static void answer_copy(web_reply_fn *done, void *ctx, const char *text, size_t len)
{
    char *copy = text ? malloc(len + 1) : NULL;
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    done(ctx, copy, copy ? len : 0);
}

/* done(ctx, j serialised); takes j. */
static void answer_json(web_reply_fn *done, void *ctx, json_t *j)
{
    char *s = j ? hb_reply_dumps(j, HB_JSON_FLAGS) : NULL;
    json_decref(j);
    done(ctx, s, s ? strlen(s) : 0);
}

/* An empty backend, or NULL when out of memory. */
static web_backend *backend_new(void)
{
    web_backend *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->wake[0] = b->wake[1] = -1;
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

static json_t *health_json(int ready, const char *mode, json_t *models)
{
    return json_pack("{s:b, s:s, s:O}", "ready", ready, "mode", mode, "models", models);
}

/* ---- local mode --------------------------------------------------------- */

typedef struct local_job {
    web_backend *b;
    const char *body;
    size_t len;
    web_reply_fn *done;
    void *ctx;
} local_job;

/* A pool job: answer one body with this thread's handler. */
static void local_check(void *state, void *arg)
{
    local_job *j = arg;
    size_t n = 0;
    const char *out = hb_handler_handle(state, j->body, j->len, &n);
    answer_copy(j->done, j->ctx, out, n);
    free(j);
}

static void local_worker_free(void *state)
{
    hb_handler_free(state);
}

/* A pool thread's state: a handler of its own (a session, a reply buffer
 * and its copy of the model versions, since jansson's reference counts
 * are not for sharing between threads) on the shared engine. */
static void *local_worker_new(void *arg)
{
    const web_backend *b = arg;
    hb_handler_options opt = hb_handler_defaults();
    return hb_handler_new(b->engine, &opt, NULL);
}

web_backend *web_backend_local(const char *models, const char *rules, const char *feeds,
                               int threads, char *err, size_t cap)
{
    char rules_buf[4096];
    const char *models_dir = hb_paths_models(models);
    const char *rules_dir =
        hb_paths_rules(rules, models_dir, rules_buf, sizeof rules_buf);
    feeds = hb_paths_feeds(feeds);
    web_backend *b = backend_new();
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
    if (!(b->models = hb_engine_versions_json(b->engine)) ||
        !(b->pool = web_pool_new(threads, local_worker_new, local_worker_free, b))) {
        snprintf(err, cap, "out of memory, or cannot start %d threads", threads);
        web_backend_free(b);
        return NULL;
    }
    return b;
}

/* ---- remote mode: the dispatcher ---------------------------------------- */

static void unlink_pending(web_backend *b, pending *p)
{
    if (p == b->head)
        b->head = p->next;
    else
        p->prev->next = p->next;
    if (p == b->tail)
        b->tail = p->prev;
    else
        p->next->prev = p->prev;
    if (!p->sent)
        b->unsent--;
}

/* Answer p with hubaod's reply (NULL: none) and forget it. */
static void finish(web_backend *b, pending *p, const char *reply, size_t len)
{
    unlink_pending(b, p);
    if (!p->health) {
        answer_copy(p->done, p->ctx, reply, len);
    } else {
        json_t *j = reply ? json_loadb(reply, len, 0, NULL) : NULL;
        json_t *pong = json_object_get(j, "pong");
        json_t *models = json_object_get(pong, "models");
        json_t *none = json_object();
        answer_json(p->done, p->ctx,
                    health_json(json_is_object(pong), "server",
                                json_is_object(models) ? models : none));
        json_decref(none);
        json_decref(j);
    }
    free(p);
}

/* Move what was submitted onto the dispatcher's list, oldest first.
 * Returns 1 when the backend is stopping. */
static int take_submitted(web_backend *b)
{
    char drain[64];
    while (read(b->wake[0], drain, sizeof drain) > 0)
        ;
    pthread_mutex_lock(&b->lock);
    pending *p = b->submitted;
    int stopping = b->stopping;
    b->submitted = NULL;
    pthread_mutex_unlock(&b->lock);
    pending *oldest = NULL;
    while (p) { /* reverse newest-first into oldest-first */
        pending *next = p->next;
        p->next = oldest;
        oldest = p;
        p = next;
    }
    for (p = oldest; p; p = oldest) {
        oldest = p->next;
        p->seq = b->next_seq++;
        p->next = NULL;
        p->prev = b->tail;
        if (b->tail)
            b->tail->next = p;
        else
            b->head = p;
        b->tail = p;
        b->unsent++;
    }
    return stopping;
}

/* Send what is not sent yet.  With no connection to hubaod a check stays
 * for later and a health check is answered "not ready" at once. */
static void send_unsent(web_backend *b)
{
    pending *next;
    for (pending *p = b->head; p && b->unsent; p = next) {
        next = p->next;
        if (p->sent)
            continue;
        if (zmq_send(b->sock, &p->seq, sizeof p->seq, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            if (p->health)
                finish(b, p, NULL, 0);
            continue;
        }
        /* the first frame is queued: the rest of the message cannot block */
        zmq_send(b->sock, "", 0, ZMQ_SNDMORE);
        zmq_send(b->sock, p->body, p->len, 0);
        p->sent = 1;
        b->unsent--;
    }
}

/* Read every reply waiting on the socket and hand each to its request. */
static void receive_replies(web_backend *b)
{
    for (;;) {
        zmq_msg_t frame[3];
        int n = hb_frames_recv(b->sock, frame, 3, ZMQ_DONTWAIT);
        if (n == 0)
            return;
        uint64_t seq;
        if (n == 3 && zmq_msg_size(&frame[0]) == sizeof seq) {
            memcpy(&seq, zmq_msg_data(&frame[0]), sizeof seq);
            for (pending *p = b->head; p; p = p->next)
                if (p->seq == seq && p->sent) {
                    finish(b, p, zmq_msg_data(&frame[2]), zmq_msg_size(&frame[2]));
                    break;
                }
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&frame[i]);
    }
}

static void *dispatch(void *arg)
{
    web_backend *b = arg;
    for (;;) {
        int stopping = take_submitted(b);
        int64_t now = now_ms();
        while (b->head && (stopping || b->head->deadline_ms <= now))
            finish(b, b->head, NULL, 0);
        if (stopping)
            return NULL;
        send_unsent(b);
        receive_replies(b);
        zmq_pollitem_t items[2] = {
            {b->sock, 0, (short)(ZMQ_POLLIN | (b->unsent ? ZMQ_POLLOUT : 0)), 0},
            {NULL, b->wake[0], ZMQ_POLLIN, 0},
        };
        long wait = b->head ? (long)(b->head->deadline_ms - now_ms()) : -1;
        zmq_poll(items, 2, wait < 0 && b->head ? 0 : wait);
    }
}

web_backend *web_backend_remote(const char *endpoint, const cli_keys *keys,
                                int timeout_ms, char *err, size_t cap)
{
    web_backend *b = backend_new();
    if (!b) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    b->timeout_ms = timeout_ms;
    int one = 1, linger = 0;
    if (pipe(b->wake) != 0 || fcntl(b->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(b->wake[1], F_SETFL, O_NONBLOCK) != 0 || !(b->zctx = zmq_ctx_new()) ||
        !(b->sock = zmq_socket(b->zctx, ZMQ_DEALER)) ||
        zmq_setsockopt(b->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(b->sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0) {
        snprintf(err, cap, "cannot set up a ZeroMQ socket: %s", strerror(errno));
        web_backend_free(b);
        return NULL;
    }
    if (keys && keys->server_key) {
        hb_curve_client c;
        hb_error e;
        int bad = hb_curve_client_load(&c, keys->server_key, keys->secret_key, &e) != 0 ||
                  hb_curve_client_apply(b->sock, &c, &e) != 0;
        explicit_bzero(&c, sizeof c);
        if (bad) {
            snprintf(err, cap, "%s", e.message);
            web_backend_free(b);
            return NULL;
        }
    }
    if (zmq_connect(b->sock, endpoint) != 0) {
        snprintf(err, cap, "cannot connect to %s: %s", endpoint, zmq_strerror(errno));
        web_backend_free(b);
        return NULL;
    }
    if (pthread_create(&b->thread, NULL, dispatch, b) != 0) {
        snprintf(err, cap, "cannot start a thread: %s", strerror(errno));
        web_backend_free(b);
        return NULL;
    }
    b->started = 1;
    return b;
}

/* Hand a request to the dispatcher. */
static int submit(web_backend *b, const char *body, size_t len, int health,
                  web_reply_fn *done, void *ctx)
{
    pending *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    *p = (pending){.deadline_ms = now_ms() + b->timeout_ms,
                   .health = health,
                   .body = body,
                   .len = len,
                   .done = done,
                   .ctx = ctx};
    pthread_mutex_lock(&b->lock);
    if (b->stopping) {
        pthread_mutex_unlock(&b->lock);
        free(p);
        return -1;
    }
    p->next = b->submitted;
    b->submitted = p;
    pthread_mutex_unlock(&b->lock);
    /* a full pipe already holds a wake-up: losing this byte is fine */
    ssize_t ignored = write(b->wake[1], "", 1);
    (void)ignored;
    return 0;
}

/* ---- either mode -------------------------------------------------------- */

int web_backend_check(web_backend *b, const char *body, size_t len, web_reply_fn *done,
                      void *ctx)
{
    if (!b->engine)
        return submit(b, body, len, 0, done, ctx);
    local_job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (local_job){b, body, len, done, ctx};
    if (web_pool_submit(b->pool, local_check, j) != 0) {
        free(j);
        return -1;
    }
    return 0;
}

int web_backend_health(web_backend *b, web_reply_fn *done, void *ctx)
{
    if (!b->engine)
        return submit(b, PING, sizeof PING - 1, 1, done, ctx);
    answer_json(done, ctx, health_json(1, "local", b->models));
    return 0;
}

void web_backend_stop(web_backend *b)
{
    if (!b || b->stopped)
        return;
    web_pool_stop(b->pool);
    if (b->started) {
        pthread_mutex_lock(&b->lock);
        b->stopping = 1;
        pthread_mutex_unlock(&b->lock);
        ssize_t ignored = write(b->wake[1], "", 1);
        (void)ignored;
        pthread_join(b->thread, NULL);
    }
    b->stopped = 1;
}

void web_backend_free(web_backend *b)
{
    if (!b)
        return;
    web_backend_stop(b);
    web_pool_free(b->pool);
    hb_engine_free(b->engine);
    json_decref(b->models);
    if (b->sock)
        zmq_close(b->sock);
    if (b->zctx)
        zmq_ctx_term(b->zctx);
    if (b->wake[0] >= 0) {
        close(b->wake[0]);
        close(b->wake[1]);
    }
    pthread_mutex_destroy(&b->lock);
    free(b);
}
