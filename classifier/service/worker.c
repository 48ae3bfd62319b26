/*
 * worker.c - the worker process loop (see worker.h and backend.h).
 *
 * The hot path is: receive the request number and body (the body stays
 * in ZeroMQ's buffer), hb_handler_handle, send the request number and the
 * reply bytes.  Heartbeats are sent from the loop and, during a long
 * batch, from the handler's tick between items.
 *
 * A reload loads the new engine on a second thread while this one keeps
 * serving (and heartbeating) with the old engine; the loader writes one
 * byte into a pipe when done, the loop sees it like any other input and
 * swaps the engines, or keeps the old one and reports why.  The loader
 * (loader.h) owns the engine; the handler (handler.h) borrows it, so a
 * swap moves the handler to the new engine before the old one is freed.  Loading a big
 * bundle under load can take seconds: a worker that stopped to load would
 * stall its requests and be taken for dead.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "backend.h"
#include "blocklist.h"
#include "clock.h"
#include "curvekey.h"
#include "handler.h"
#include "loader.h"
#include "log.h"
#include "signals.h"

enum { BACKOFF_MIN_MS = 1000, BACKOFF_MAX_MS = 32000 };

typedef struct worker {
    const hb_service_config *cfg;
    hb_loader *engines;
    hb_handler *handler;
    void *ctx, *sock;
    hb_curve_client *curve; /* keys to connect with (--curve-server-key), or NULL */
    void *watch;            /* the handshake's events (curvekey.h) */
    int refusal_said;       /* this connection's failed handshake is logged */
    int sigfd;
    int stop;
    int64_t interval_us;
    int64_t next_heartbeat_us;
    int64_t broker_seen_us;
    long backoff_ms;
    /* reload in progress on the loader thread */
    int loading, load_again;
    int load_pipe[2];
    pthread_t loader;
    hb_engine *loaded;
    hb_error load_err;
} worker;

static const char OOM_REPLY[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"worker out of memory\"}}";

/* Send a command frame plus a JSON frame (ZMQ_DONTWAIT: a broker that is
 * gone must not block the worker; the broker re-sends what it lost). */
static void send_json(worker *w, char cmd, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    if (!text)
        return;
    if (zmq_send(w->sock, &cmd, 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 1)
        zmq_send(w->sock, text, strlen(text), ZMQ_DONTWAIT);
    free(text);
}

/* The blocklist copies the engine serves with: [{"name", "entries",
 * "updated"}], for the metrics of feed age and size. */
static json_t *feeds_json(const worker *w)
{
    const hb_blocklist *list = hb_engine_blocklist(hb_loader_engine(w->engines));
    json_t *a = json_array();
    for (size_t i = 0; list && i < hb_blocklist_feed_count(list); i++) {
        const hb_feed_info *f = hb_blocklist_feed(list, i);
        json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "name", f->name, "entries",
                                           (json_int_t)f->entries, "updated",
                                           (json_int_t)f->updated));
    }
    return a;
}

/* Counts (numbers, and objects of numbers, which the broker sums over
 * workers) and the feeds in service. */
static void send_heartbeat(worker *w)
{
    hb_handler_counts c = hb_handler_counts_get(w->handler);
    json_t *j =
        json_pack("{s:I, s:I, s:I, s:O, s:O, s:o}", "requests", (json_int_t)c.requests,
                  "items", (json_int_t)c.items, "errors", (json_int_t)c.errors,
                  "error_codes", hb_handler_error_counts(w->handler), "verdicts",
                  hb_handler_verdict_counts(w->handler), "feeds", feeds_json(w));
    if (j)
        send_json(w, HB_CMD_HEARTBEAT, j);
    json_decref(j);
    w->next_heartbeat_us = hb_clock_us() + w->interval_us;
}

static void tick(void *ctx)
{
    worker *w = ctx;
    if (hb_clock_us() >= w->next_heartbeat_us)
        send_heartbeat(w);
}

static void models_line(const json_t *models, char *out, size_t cap)
{
    const char *task;
    const json_t *v;
    size_t used = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)models, task, v)
    {
        int n = snprintf(out + used, cap - used, "%s%s=%s", used ? " " : "", task,
                         json_string_value(v));
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}

static int connect_broker(worker *w)
{
    w->sock = zmq_socket(w->ctx, ZMQ_DEALER);
    if (!w->sock)
        return -1;
    int linger = 1000;
    zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
    hb_error err;
    if ((w->curve && hb_curve_client_apply(w->sock, w->curve, &err) != 0) ||
        !(w->watch = hb_curve_watch(w->ctx, w->sock, &err))) {
        hb_log(HB_LOG_ERROR, "cannot connect to %s: %s", w->cfg->connect, err.message);
        zmq_close(w->sock);
        w->sock = NULL;
        return -1;
    }
    w->refusal_said = 0;
    if (zmq_connect(w->sock, w->cfg->connect) != 0) {
        hb_log(HB_LOG_ERROR, "cannot connect to %s: %s", w->cfg->connect,
               zmq_strerror(errno));
        hb_curve_unwatch(w->sock, w->watch);
        w->watch = NULL;
        zmq_close(w->sock);
        w->sock = NULL;
        return -1;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    json_t *ready =
        json_pack("{s:s, s:i, s:s, s:O, s:s?}", "protocol", HB_BACKEND_PROTOCOL, "pid",
                  (int)getpid(), "host", host, "models", hb_handler_models(w->handler),
                  "fallback", hb_loader_fallback(w->engines));
    if (ready)
        send_json(w, HB_CMD_READY, ready);
    json_decref(ready);
    w->broker_seen_us = hb_clock_us();
    w->next_heartbeat_us = w->broker_seen_us + w->interval_us;
    return 0;
}

static void disconnect_broker(worker *w)
{
    hb_curve_unwatch(w->sock, w->watch);
    w->watch = NULL;
    int linger = 0;
    zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(w->sock);
    w->sock = NULL;
}

/* Wait ms milliseconds, waking early for a stop signal. */
static void pause_ms(worker *w, long ms)
{
    int64_t until = hb_clock_us() + ms * 1000;
    while (!w->stop) {
        int64_t left = (until - hb_clock_us()) / 1000;
        if (left <= 0)
            return;
        zmq_pollitem_t it = {NULL, w->sigfd, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, (long)left);
        if (hb_signals_take() & HB_SIG_TERM)
            w->stop = 1;
    }
}

static void *load_engine(void *arg)
{
    worker *w = arg;
    w->loaded = hb_loader_load(w->engines, &w->load_err);
    char done = 1;
    ssize_t n = write(w->load_pipe[1], &done, 1);
    (void)n; /* the pipe is empty: one reload at a time */
    return NULL;
}

/* Start loading a new engine (or, if a load is running, load again when
 * it ends: the files may have changed since it began). */
static void reload_start(worker *w)
{
    if (w->loading) {
        w->load_again = 1;
        return;
    }
    w->loaded = NULL;
    hb_error_clear(&w->load_err);
    if (pthread_create(&w->loader, NULL, load_engine, w) != 0) {
        hb_log(HB_LOG_ERROR, "reload failed: cannot start a loader thread");
        return;
    }
    w->loading = 1;
}

/* Serve with the engine the loader thread made: the handler moves to it
 * before the loader frees the old one.  Returns 0, or -1 (the engine is
 * freed, the old one still serves) with w->load_err. */
static int swap_engine(worker *w)
{
    hb_engine *e = w->loaded;
    w->loaded = NULL;
    if (hb_handler_set_engine(w->handler, e, &w->load_err) != 0) {
        hb_engine_free(e);
        return -1;
    }
    hb_loader_swap(w->engines, e);
    return 0;
}

/* The loader thread is done: swap, or keep the old engine and say why. */
static void reload_finish(worker *w)
{
    char b;
    while (read(w->load_pipe[0], &b, 1) > 0)
        ;
    pthread_join(w->loader, NULL);
    w->loading = 0;
    json_t *result;
    if (w->loaded && swap_engine(w) == 0) {
        char line[512];
        models_line(hb_handler_models(w->handler), line, sizeof line);
        hb_log(HB_LOG_INFO, "reloaded models and rules: %s", line);
        result =
            json_pack("{s:b, s:O}", "ok", 1, "models", hb_handler_models(w->handler));
    } else {
        hb_log(HB_LOG_ERROR, "reload failed, still serving the models loaded before: %s",
               w->load_err.message);
        result = json_pack("{s:b, s:s, s:O, s:s?}", "ok", 0, "error", w->load_err.message,
                           "models", hb_handler_models(w->handler), "fallback",
                           hb_loader_fallback(w->engines));
    }
    if (result && w->sock)
        send_json(w, HB_CMD_RELOAD, result);
    json_decref(result);
    if (w->load_again) {
        w->load_again = 0;
        reload_start(w);
    }
}

static void handle_request(worker *w, const char *cmd, zmq_msg_t *body)
{
    uint64_t errors_before = hb_handler_counts_get(w->handler).errors;
    size_t n = 0;
    const char *out =
        hb_handler_handle(w->handler, zmq_msg_data(body), zmq_msg_size(body), &n);
    if (!out) {
        out = OOM_REPLY;
        n = sizeof OOM_REPLY - 1;
    }
    char head[HB_SEQ_FRAME];
    memcpy(head, cmd, HB_SEQ_FRAME);
    head[0] = HB_CMD_REPLY;
    hb_handler_counts c = hb_handler_counts_get(w->handler);
    if (c.errors != errors_before)
        send_heartbeat(w); /* the error codes reach the broker before the reply */
    uint64_t counts[3] = {c.requests, c.items, c.errors};
    if (zmq_send(w->sock, head, HB_SEQ_FRAME, ZMQ_SNDMORE | ZMQ_DONTWAIT) ==
            HB_SEQ_FRAME &&
        zmq_send(w->sock, out, n, ZMQ_SNDMORE) >= 0)
        zmq_send(w->sock, counts, sizeof counts, 0);
}

/* Discard the rest of a multi-frame message. */
static void skip_rest(void *sock)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, sock, 0);
        zmq_msg_close(&m);
    }
}

/* Handle what the broker sent, up to a bounded number of messages so
 * signals and heartbeats are looked at in between.  Returns -1 when the
 * broker asked for a reconnect. */
static int read_broker(worker *w)
{
    for (int i = 0; i < 64; i++) {
        char cmd[HB_SEQ_FRAME + 1];
        int n = zmq_recv(w->sock, cmd, sizeof cmd, ZMQ_DONTWAIT);
        if (n < 0)
            return 0;
        w->broker_seen_us = hb_clock_us();
        w->backoff_ms = BACKOFF_MIN_MS;
        if (n == HB_SEQ_FRAME && cmd[0] == HB_CMD_REQUEST) {
            zmq_msg_t body;
            zmq_msg_init(&body);
            if (zmq_msg_recv(&body, w->sock, 0) >= 0)
                handle_request(w, cmd, &body);
            zmq_msg_close(&body);
            skip_rest(w->sock);
            continue;
        }
        skip_rest(w->sock);
        if (n == 1 && cmd[0] == HB_CMD_RELOAD)
            reload_start(w);
        else if (n == 1 && cmd[0] == HB_CMD_DISCONNECT)
            return -1;
        else if (!(n == 1 && cmd[0] == HB_CMD_HEARTBEAT))
            hb_log(HB_LOG_WARN, "ignored a malformed message from the broker");
    }
    return 0;
}

/* Say why the broker does not answer when the handshake fails (a key it
 * refuses, CURVE on one side only): once per connection, since libzmq
 * retries every 100 ms. */
static void read_watch(worker *w)
{
    char why[384];
    hb_curve_event ev;
    while ((ev = hb_curve_watch_read(w->watch, w->curve != NULL, why, sizeof why)) !=
           HB_CURVE_NONE) {
        if (ev == HB_CURVE_ACCEPTED || w->refusal_said)
            continue;
        if (w->curve)
            hb_log(HB_LOG_ERROR, "%s: %s (this worker's public key: %s)", w->cfg->connect,
                   why, w->curve->own.public_key);
        else
            hb_log(HB_LOG_ERROR, "%s: %s", w->cfg->connect, why);
        w->refusal_said = 1;
    }
}

static int run(worker *w)
{
    if (connect_broker(w) != 0)
        return 3;
    char line[512];
    models_line(hb_handler_models(w->handler), line, sizeof line);
    if (hb_loader_fallback(w->engines))
        hb_log(HB_LOG_WARN,
               "cannot load the configured models (%s); serving the last set "
               "that loaded, from the snapshot in %s: %s",
               hb_loader_fallback(w->engines), w->cfg->snapshot_dir, line);
    hb_log(HB_LOG_INFO, "connected to %s; models: %s", w->cfg->connect, line);
    while (!w->stop) {
        int64_t now = hb_clock_us();
        long timeout = (long)((w->next_heartbeat_us - now) / 1000);
        zmq_pollitem_t items[4] = {{w->sock, 0, ZMQ_POLLIN, 0},
                                   {NULL, w->sigfd, ZMQ_POLLIN, 0},
                                   {NULL, w->load_pipe[0], ZMQ_POLLIN, 0},
                                   {w->watch, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 4, timeout > 0 ? timeout : 0);
        if (rc < 0 && errno != EINTR) {
            hb_log(HB_LOG_ERROR, "poll failed: %s", zmq_strerror(errno));
            return 3;
        }
        unsigned sig = (items[1].revents & ZMQ_POLLIN) ? hb_signals_take() : 0;
        if (sig & HB_SIG_TERM)
            break;
        if (sig & HB_SIG_HUP)
            reload_start(w);
        if (items[2].revents & ZMQ_POLLIN)
            reload_finish(w);
        if (items[3].revents & ZMQ_POLLIN)
            read_watch(w);
        int reconnect = (items[0].revents & ZMQ_POLLIN) && read_broker(w) < 0;
        now = hb_clock_us();
        if (now >= w->next_heartbeat_us)
            send_heartbeat(w);
        int64_t silent_ms = (now - w->broker_seen_us) / 1000;
        if (!reconnect && silent_ms > w->cfg->heartbeat_ms * w->cfg->liveness) {
            hb_log(HB_LOG_WARN, "broker silent for %lld ms; reconnecting in %ld ms",
                   (long long)silent_ms, w->backoff_ms);
            disconnect_broker(w);
            pause_ms(w, w->backoff_ms);
            if (w->backoff_ms < BACKOFF_MAX_MS)
                w->backoff_ms *= 2;
            if (w->stop || connect_broker(w) != 0)
                break;
        } else if (reconnect) {
            hb_log(HB_LOG_INFO, "broker asked for a reconnect");
            disconnect_broker(w);
            if (connect_broker(w) != 0)
                return 3;
        }
    }
    hb_log(HB_LOG_INFO, "stopping");
    return 0;
}

int hb_worker_run(const hb_service_config *cfg)
{
    worker w;
    memset(&w, 0, sizeof w);
    w.cfg = cfg;
    w.interval_us = cfg->heartbeat_ms * 1000;
    w.backoff_ms = BACKOFF_MIN_MS;
    hb_curve_client curve;
    memset(&curve, 0, sizeof curve);
    if (cfg->curve_server_key[0]) {
        hb_error kerr;
        if (hb_curve_client_load(&curve, cfg->curve_server_key, cfg->curve_secret_key,
                                 &kerr) != 0) {
            hb_log(HB_LOG_ERROR, "cannot use CURVE: %s", kerr.message);
            return 3;
        }
        w.curve = &curve;
        hb_log(HB_LOG_INFO,
               "CURVE to the broker's key %s; this worker's public key is %s",
               curve.server.public_key, curve.own.public_key);
    }
    if (pipe(w.load_pipe) != 0) {
        hb_log(HB_LOG_ERROR, "cannot make a pipe: %s", strerror(errno));
        return 3;
    }
    for (int i = 0; i < 2; i++)
        fcntl(w.load_pipe[i], F_SETFD, FD_CLOEXEC);
    fcntl(w.load_pipe[0], F_SETFL, O_NONBLOCK);
    w.sigfd = hb_signals_open(cfg->supervised ? HB_SIG_TERM : HB_SIG_TERM | HB_SIG_HUP);
    if (w.sigfd < 0) {
        hb_log(HB_LOG_ERROR, "cannot install signal handlers: %s", strerror(errno));
        return 3;
    }
    if (cfg->supervised) {
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
    }
    hb_loader_config lc = {
        .models_dir = cfg->models,
        .rules_dir = cfg->rules,
        .feeds_dir = cfg->feeds,
        .snapshot_dir = cfg->snapshot_dir,
        .max_text = (size_t)cfg->max_text_bytes,
    };
    hb_handler_options ho = hb_handler_defaults();
    ho.max_batch = (size_t)cfg->max_batch;
    ho.render.top_features = (int)cfg->top_features;
    ho.render.unmask = cfg->unmask;
    ho.render.detail = cfg->brief ? HB_DETAIL_BRIEF : HB_DETAIL_FULL;
    hb_error err;
    int rc = 3;
    if (!(w.engines = hb_loader_new(&lc, &err)) ||
        !(w.handler = hb_handler_new(hb_loader_engine(w.engines), &ho, &err))) {
        hb_log(HB_LOG_ERROR, "cannot load models: %s", err.message);
    } else if (!(w.ctx = zmq_ctx_new())) {
        hb_log(HB_LOG_ERROR, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
    } else {
        hb_handler_set_tick(w.handler, tick, &w);
        rc = run(&w);
    }
    if (w.loading) {
        pthread_join(w.loader, NULL);
        hb_engine_free(w.loaded);
    }
    close(w.load_pipe[0]);
    close(w.load_pipe[1]);
    hb_curve_unwatch(w.sock, w.watch);
    if (w.sock)
        zmq_close(w.sock);
    explicit_bzero(&curve, sizeof curve);
    if (w.ctx)
        zmq_ctx_term(w.ctx);
    hb_handler_free(w.handler);
    hb_loader_free(w.engines);
    hb_signals_close();
    return rc;
}
