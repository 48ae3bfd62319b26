/*
 * bench.c - `hubao-bench`, the load generator behind `make bench`.
 *
 *   hubao-bench pipeline FILE [--models DIR] [--seconds S]
 *       in-process throughput on one core, and the cost of each stage
 *   hubao-bench e2e FILE --server EP [--batch N] [--window W] [--seconds S]
 *                   [--detail full|brief]
 *       closed-loop throughput through hubaod (N messages per request,
 *       W requests in flight, replies of the given detail; without
 *       --detail, the server's default)
 *   hubao-bench latency FILE --server EP --rate R [--seconds S] [--detail D]
 *       open-loop single requests at R per second: latency percentiles
 *
 * FILE holds one message per line.  Every mode prints one JSON object.
 * Every loop is bounded by --seconds (default 5) and by a request cap.
 */
#define _GNU_SOURCE /* memmem */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "render.h"
#include "verdict.h"

enum { MAX_MESSAGES = 200000, MAX_REQUESTS = 5000000 };

typedef struct messages {
    char **text;
    size_t *len;
    size_t n;
} messages;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int load_messages(const char *path, messages *m)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    m->text = malloc(MAX_MESSAGES * sizeof *m->text);
    m->len = malloc(MAX_MESSAGES * sizeof *m->len);
    m->n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (m->n < MAX_MESSAGES && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue;
        m->text[m->n] = strdup(line);
        m->len[m->n++] = (size_t)len;
    }
    free(line);
    fclose(f);
    return m->n ? 0 : -1;
}

/* In-process: whole pipeline, then each stage on its own over the same
 * messages, so the per-stage figures add up to about the whole. */
static int bench_pipeline(const messages *m, const char *models, double seconds)
{
    char rules_dir[4096];
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", models);
    hb_error err;
    hb_engine *e = hb_engine_open(rules_dir, models, &err);
    if (!e) {
        fprintf(stderr, "hubao-bench: %s\n", err.message);
        return 3;
    }
    hb_session *s = hb_session_new();
    hb_render_options ro = hb_render_defaults(), brief = ro;
    brief.detail = HB_DETAIL_BRIEF;
    const hb_verdict *v;
    /* warm-up: every buffer reaches its final size */
    for (size_t i = 0; i < m->n; i++)
        hb_classify(e, s, m->text[i], m->len[i], &v, &err);

    size_t done = 0;
    double t0 = now(), stop = t0 + seconds;
    while (now() < stop && done < MAX_REQUESTS)
        for (size_t i = 0; i < m->n; i++, done++)
            hb_classify(e, s, m->text[i], m->len[i], &v, &err);
    double whole = (now() - t0) / (double)done;

    /* stages, each over one pass of the messages */
    hb_text text;
    hb_text_init(&text);
    hb_rules_scratch *rs = hb_rules_scratch_new();
    hb_rule_hit hits[HB_MAX_HITS];
    size_t nhits, limited, passes = 0;
    double t_norm = 0, t_rules = 0, t_feat = 0, t_score = 0, t_json = 0, t_render = 0,
           t_brief = 0;
    hb_fvec fv;
    hb_fvec_init(&fv);
    const hb_model *model = hb_engine_model(e, 0);
    char *buf = malloc(1 << 20);
    t0 = now();
    while (now() - t0 < seconds && passes < 1000) {
        for (size_t i = 0; i < m->n; i++) {
            double a = now();
            if (hb_normalize(m->text[i], m->len[i], &text, NULL) != 0)
                continue;
            double b = now();
            hb_rules_match(hb_engine_rules(e), rs, text.utf8, text.len, hits, HB_MAX_HITS,
                           &nhits, &limited);
            double c = now();
            hb_features_text(hb_model_features(model), &text, &fv);
            double d = now();
            for (size_t t = 0; t < hb_engine_ntasks(e); t++)
                hb_model_decision(hb_engine_model(e, t), &fv);
            double f = now();
            if (hb_classify(e, s, m->text[i], m->len[i], &v, &err) == 0) {
                double g = now();
                json_t *j = hb_verdict_to_json(e, s, v, &ro);
                double h = now();
                json_dumpb(j, buf, 1 << 20, HB_JSON_FLAGS);
                json_decref(j);
                double k = now();
                j = hb_verdict_to_json(e, s, v, &brief);
                json_dumpb(j, buf, 1 << 20, HB_JSON_FLAGS);
                json_decref(j);
                t_json += k - g;
                t_render += h - g;
                t_brief += now() - k;
            }
            t_norm += b - a;
            t_rules += c - b;
            t_feat += d - c;
            t_score += f - d;
        }
        passes++;
    }
    double per = 1e9 / (double)(passes * m->n);
    printf(
        "{\"messages\": %zu, \"pipeline_msgs_per_s\": %.0f, \"pipeline_us_per_msg\": %.2f, "
        "\"stage_ns\": {\"normalise\": %.0f, \"rules\": %.0f, \"features\": %.0f, "
        "\"score_all_tasks\": %.0f, \"serialise\": %.0f, \"of_which_building_json\": %.0f, "
        "\"serialise_brief\": %.0f}}\n",
        m->n, 1.0 / whole, whole * 1e6, t_norm * per, t_rules * per, t_feat * per,
        t_score * per, t_json * per, t_render * per, t_brief * per);
    free(buf);
    hb_fvec_release(&fv);
    hb_rules_scratch_free(rs);
    hb_text_release(&text);
    hb_session_free(s);
    hb_engine_free(e);
    return 0;
}

/* JSON request for messages [first, first+count), as one object or an
 * array, asking for replies of the given detail (NULL: the server's
 * default).  Returns a malloc'd string. */
static char *make_request(const messages *m, size_t first, size_t count, int batch,
                          const char *detail)
{
    json_t *req = batch ? json_array() : NULL;
    json_t *one = NULL;
    for (size_t k = 0; k < count; k++) {
        size_t i = (first + k) % m->n;
        one = json_pack("{s:I, s:s%}", "id", (json_int_t)(first + k), "text", m->text[i],
                        m->len[i]);
        if (detail)
            json_object_set_new(one, "detail", json_string(detail));
        if (batch)
            json_array_append_new(req, one);
    }
    char *out = json_dumps(batch ? req : one, JSON_COMPACT);
    json_decref(batch ? req : one);
    return out;
}

static void *connect_dealer(void *ctx, const char *endpoint)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, hwm = 100000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(sock, endpoint) != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* Send [seq][""][json]. */
static int send_request(void *sock, uint64_t seq, const char *json)
{
    if (zmq_send(sock, &seq, sizeof seq, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, json, strlen(json), 0) < 0)
        return -1;
    return 0;
}

/* Receive one reply; returns its sequence number, or -1 on timeout.
 * *errors is bumped when the reply is an error object. */
static long recv_reply(void *sock, int timeout_ms, size_t *errors)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return -1;
    uint64_t seq = 0;
    long result = -1;
    int part = 0, more = 1;
    while (more) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            return -1;
        }
        if (part == 0 && zmq_msg_size(&msg) == sizeof seq) {
            memcpy(&seq, zmq_msg_data(&msg), sizeof seq);
            result = (long)seq;
        }
        if (!zmq_msg_more(&msg) && errors &&
            memmem(zmq_msg_data(&msg), zmq_msg_size(&msg), "\"error\":{", 9))
            (*errors)++;
        more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        part++;
    }
    return result;
}

static int bench_e2e(const messages *m, const char *endpoint, size_t batch, size_t window,
                     double seconds, const char *detail)
{
    void *ctx = zmq_ctx_new();
    void *sock = connect_dealer(ctx, endpoint);
    if (!sock) {
        fprintf(stderr, "hubao-bench: cannot connect to %s\n", endpoint);
        return 3;
    }
    /* pre-built requests: the generator must not be the bottleneck */
    size_t nreq = m->n / batch ? m->n / batch : 1;
    char **reqs = malloc(nreq * sizeof *reqs);
    for (size_t r = 0; r < nreq; r++)
        reqs[r] = make_request(m, r * batch, batch, batch > 1, detail);
    size_t sent = 0, received = 0, errors = 0;
    double t0 = now(), stop = t0 + seconds;
    int failed = 0;
    while (!failed && (now() < stop || received < sent) && sent < MAX_REQUESTS) {
        while (now() < stop && sent - received < window && sent < MAX_REQUESTS)
            if (send_request(sock, sent, reqs[sent % nreq]) == 0)
                sent++;
            else
                failed = 1;
        if (recv_reply(sock, 5000, &errors) < 0)
            failed = 1;
        else
            received++;
    }
    double secs = now() - t0;
    printf("{\"batch\": %zu, \"window\": %zu, \"requests\": %zu, \"replies\": %zu, "
           "\"error_replies\": %zu, \"e2e_msgs_per_s\": %.0f, \"lost\": %zu}\n",
           batch, window, sent, received, errors, (double)received * (double)batch / secs,
           sent - received);
    for (size_t r = 0; r < nreq; r++)
        free(reqs[r]);
    free(reqs);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return failed ? 1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Wait until the socket may hold a reply, or `seconds` pass: zmq_poll
 * counts whole milliseconds, too coarse for a schedule of one request
 * every 100 µs, so wait on the socket's descriptor with ppoll.  Reading
 * ZMQ_EVENTS first makes the edge-triggered descriptor safe to wait on. */
static void wait_readable(void *sock, double seconds)
{
    int fd, events;
    size_t size = sizeof events;
    if (seconds <= 0 || zmq_getsockopt(sock, ZMQ_EVENTS, &events, &size) != 0 ||
        (events & ZMQ_POLLIN))
        return;
    size = sizeof fd;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &size) != 0)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec ts = {(time_t)seconds,
                          (long)((seconds - (double)(time_t)seconds) * 1e9)};
    ppoll(&p, 1, &ts, NULL);
}

static int bench_latency(const messages *m, const char *endpoint, double rate,
                         double seconds, const char *detail)
{
    void *ctx = zmq_ctx_new();
    void *sock = connect_dealer(ctx, endpoint);
    if (!sock || rate <= 0) {
        fprintf(stderr, "hubao-bench: cannot connect to %s\n", endpoint);
        return 3;
    }
    size_t total = (size_t)(rate * seconds);
    if (total > MAX_REQUESTS)
        total = MAX_REQUESTS;
    char **reqs = malloc(m->n * sizeof *reqs);
    for (size_t i = 0; i < m->n; i++)
        reqs[i] = make_request(m, i, 1, 0, detail);
    double *sent_at = calloc(total, sizeof *sent_at);
    double *lat = calloc(total, sizeof *lat);
    size_t sent = 0, received = 0, errors = 0;
    double t0 = now(), interval = 1.0 / rate, progress = t0;
    while (received < total) {
        /* open loop: send on schedule whatever the replies do */
        while (sent < total && t0 + (double)sent * interval <= now()) {
            sent_at[sent] = now();
            send_request(sock, sent, reqs[sent % m->n]);
            sent++;
        }
        long seq;
        while ((seq = recv_reply(sock, 0, &errors)) >= 0)
            if ((size_t)seq < total) {
                lat[received++] = (now() - sent_at[seq]) * 1000.0;
                progress = now();
            }
        double t = now();
        if (t - t0 > seconds + 10 || (sent == total && t - progress > 5))
            break; /* bounded: a reply that has not come in 5 s will not */
        if (received < total)
            wait_readable(sock, sent < total ? t0 + (double)sent * interval - t : 0.05);
    }
    qsort(lat, received, sizeof *lat, cmp_double);
#define PCT(p) (received ? lat[(size_t)((p) * (double)(received - 1))] : NAN)
    printf(
        "{\"offered_per_s\": %.0f, \"requests\": %zu, \"replies\": %zu, \"error_replies\": %zu, "
        "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f}\n",
        rate, sent, received, errors, PCT(0.5), PCT(0.99), PCT(0.999),
        received ? lat[received - 1] : NAN);
#undef PCT
    for (size_t i = 0; i < m->n; i++)
        free(reqs[i]);
    free(reqs);
    free(sent_at);
    free(lat);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return received == total ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"models", required_argument, NULL, 'm'},
        {"server", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'},
        {"window", required_argument, NULL, 'w'},
        {"rate", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 't'},
        {"detail", required_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 3) {
        fprintf(
            stderr,
            "usage: hubao-bench pipeline|e2e|latency FILE [options] (see tools/bench/bench.c)\n");
        return 2;
    }
    const char *mode = argv[1], *file = argv[2];
    const char *models = "models", *server = "tcp://127.0.0.1:7531", *detail = NULL;
    size_t batch = 1, window = 64;
    double rate = 1000, seconds = 5;
    int c;
    optind = 3;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': models = optarg; break;
        case 's': server = optarg; break;
        case 'b': batch = strtoul(optarg, NULL, 10); break;
        case 'w': window = strtoul(optarg, NULL, 10); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 't': seconds = strtod(optarg, NULL); break;
        case 'd': detail = optarg; break;
        default: return 2;
        }
    }
    if (batch == 0 || window == 0 || seconds <= 0 || seconds > 600 ||
        (detail && strcmp(detail, "full") != 0 && strcmp(detail, "brief") != 0))
        return 2;
    messages m;
    if (load_messages(file, &m) != 0) {
        fprintf(stderr, "hubao-bench: cannot read messages from %s\n", file);
        return 3;
    }
    if (strcmp(mode, "pipeline") == 0)
        return bench_pipeline(&m, models, seconds);
    if (strcmp(mode, "e2e") == 0)
        return bench_e2e(&m, server, batch, window, seconds, detail);
    if (strcmp(mode, "latency") == 0)
        return bench_latency(&m, server, rate, seconds, detail);
    fprintf(stderr, "hubao-bench: unknown mode %s\n", mode);
    return 2;
}
