/*
 * stream.c - `hubao stream`: pipe messages through a running hubaod, and
 * the pipelined client that `hubao check --server` shares (cli.h).
 *
 * Requests go out on a DEALER socket, each behind an 8-byte sequence
 * frame and the empty delimiter ([seq][""][json]); hubaod returns the
 * frames before the delimiter unchanged, so replies are matched to
 * requests by sequence number whatever order the workers finish in, and
 * written in input order.  At most `window` requests are in flight: a
 * bounded ring of reply slots, so memory does not grow with the input.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "cli.h"
#include "curvekey.h"
#include "frames.h"

static const char USAGE[] =
    "usage: hubao stream --server ENDPOINT [OPTIONS] < INPUT\n"
    "\n"
    "Send each line of standard input to hubaod and write one reply per line,\n"
    "in input order, while many requests are in flight.  A line starting with\n"
    "'{' or '[' is sent as a JSON request (docs/protocol.md); any other line\n"
    "is a message text, sent as {\"text\": LINE}.\n"
    "\n"
    "  --server ENDPOINT   hubaod's client endpoint, e.g. tcp://127.0.0.1:7531\n"
    "  --window N          requests in flight at most (default 128; 1 when\n"
    "                      standard input is a terminal)\n"
    "  --timeout-ms N      give up when no reply comes for N ms (default 10000)\n" CLI_KEYS_USAGE
    "\n"
    "Exit codes: 0 every reply a verdict; 1 some error reply; 2 usage; 3 no\n"
    "reply from the server.\n";

int cli_keys_check(const cli_keys *k)
{
    if (!k->server_key == !k->secret_key)
        return 0;
    cli_error("--curve-server-key (hubaod's public key) and --curve-secret-key (this "
              "client's key pair) go together");
    return EXIT_USAGE;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Make sock a CURVE client with the key files in keys (none: keyless) and
 * start watching its handshakes (*watch).  Returns 0, or EXIT_SETUP after
 * saying why. */
static int setup_keys(void *zctx, void *sock, const cli_keys *keys, void **watch)
{
    hb_curve_client c;
    hb_error err;
    int rc = 0;
    if (keys && keys->server_key &&
        (hb_curve_client_load(&c, keys->server_key, keys->secret_key, &err) != 0 ||
         hb_curve_client_apply(sock, &c, &err) != 0))
        rc = EXIT_SETUP;
    explicit_bzero(&c, sizeof c);
    if (rc == 0 && !(*watch = hb_curve_watch(zctx, sock, &err)))
        rc = EXIT_SETUP;
    if (rc != 0)
        cli_error("%s", err.message);
    return rc;
}

/* Wait up to timeout_ms for a reply on sock (keyed: it connects with
 * CURVE keys).  Returns 1 when one is there; 0 (after saying why) when
 * none came, or the handshake failed for a reason that waiting does not
 * mend. */
static int wait_reply(const char *endpoint, void *sock, void *watch, int keyed,
                      int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    char why[384] = "", last[384] = "";
    for (;;) {
        int64_t left = deadline - now_ms();
        zmq_pollitem_t it[2] = {{sock, 0, ZMQ_POLLIN, 0}, {watch, 0, ZMQ_POLLIN, 0}};
        if (left <= 0 || (zmq_poll(it, 2, (long)left) < 0 && errno != EINTR))
            break;
        if (it[0].revents & ZMQ_POLLIN)
            return 1;
        hb_curve_event ev;
        while ((ev = hb_curve_watch_read(watch, keyed, why, sizeof why)) !=
               HB_CURVE_NONE) {
            if (ev == HB_CURVE_REFUSED || ev == HB_CURVE_MISMATCH) {
                cli_error("%s: %s", endpoint, why);
                return 0;
            }
            if (ev == HB_CURVE_CLOSED)
                memcpy(last, why, sizeof last);
        }
    }
    if (last[0])
        cli_error("no reply from %s within %d ms: %s", endpoint, timeout_ms, last);
    else
        cli_error("no reply from %s within %d ms (is hubaod running there?)", endpoint,
                  timeout_ms);
    return 0;
}

typedef struct slot {
    int state; /* 0 free, 1 waiting for the server, 2 reply ready */
    char *reply;
    size_t len;
} slot;

int cli_pipeline(const char *endpoint, const cli_keys *keys, int window, int timeout_ms,
                 cli_next_fn *next, cli_reply_fn *reply, void *ctx)
{
    void *zctx = zmq_ctx_new();
    void *sock = zctx ? zmq_socket(zctx, ZMQ_DEALER) : NULL, *watch = NULL;
    slot *ring = calloc((size_t)window, sizeof *ring);
    int linger = 0, rc = 0;
    if (!sock || !ring) {
        cli_error("cannot set up a ZeroMQ socket: %s", zmq_strerror(errno));
        rc = EXIT_SETUP;
        goto done;
    }
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if ((rc = setup_keys(zctx, sock, keys, &watch)) != 0)
        goto done;
    if (zmq_connect(sock, endpoint) != 0) {
        cli_error("cannot connect to %s: %s", endpoint, zmq_strerror(errno));
        rc = EXIT_SETUP;
        goto done;
    }
    uint64_t head = 0, tail = 0; /* replies written < head <= sent < tail */
    int eof = 0;
    while (!eof || head < tail) {
        while (!eof && tail - head < (uint64_t)window) {
            cli_request req;
            if (!next(ctx, &req)) {
                eof = 1;
                break;
            }
            slot *s = &ring[tail % (uint64_t)window];
            if (req.local) {
                s->reply = malloc(req.len ? req.len : 1);
                if (s->reply)
                    memcpy(s->reply, req.data, req.len);
                s->len = s->reply ? req.len : 0;
                s->state = 2;
            } else {
                zmq_send(sock, &tail, sizeof tail, ZMQ_SNDMORE);
                zmq_send(sock, "", 0, ZMQ_SNDMORE);
                zmq_send(sock, req.data, req.len, 0);
                s->state = 1;
            }
            tail++;
        }
        while (head < tail && ring[head % (uint64_t)window].state == 2) {
            slot *s = &ring[head % (uint64_t)window];
            reply(ctx, s->reply ? s->reply : "", s->len);
            free(s->reply);
            s->reply = NULL;
            s->state = 0;
            head++;
        }
        if (head == tail)
            continue;
        if (!wait_reply(endpoint, sock, watch, keys && keys->server_key, timeout_ms)) {
            rc = EXIT_SETUP;
            goto done;
        }
        zmq_msg_t frames[3];
        int n = hb_frames_recv(sock, frames, 3, 0);
        uint64_t seq;
        if (n == 3 && zmq_msg_size(&frames[0]) == sizeof seq) {
            memcpy(&seq, zmq_msg_data(&frames[0]), sizeof seq);
            slot *s = &ring[seq % (uint64_t)window];
            if (seq >= head && seq < tail && s->state == 1) {
                size_t len = zmq_msg_size(&frames[2]);
                if ((s->reply = malloc(len ? len : 1)))
                    memcpy(s->reply, zmq_msg_data(&frames[2]), len);
                s->len = s->reply ? len : 0;
                s->state = 2;
            }
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
    }
done:
    if (ring)
        for (int i = 0; i < window; i++)
            free(ring[i].reply);
    free(ring);
    if (sock) {
        hb_curve_unwatch(sock, watch);
        zmq_close(sock);
    }
    if (zctx)
        zmq_ctx_term(zctx);
    return rc;
}

int cli_text_request(const char *text, size_t len, cli_request *out, char **buf)
{
    free(*buf);
    *buf = NULL;
    json_t *s = json_stringn(text, len);
    if (!s) {
        static const char BAD[] = "{\"error\":{\"code\":\"invalid_utf8\",\"message\":"
                                  "\"text is not valid UTF-8\"}}";
        *out = (cli_request){.data = BAD, .len = sizeof BAD - 1, .local = 1};
        return 0;
    }
    json_t *req = json_pack("{s:o}", "text", s);
    *buf = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!*buf)
        return -1;
    *out = (cli_request){.data = *buf, .len = strlen(*buf), .local = 0};
    return 0;
}

int cli_reply_is_error(const char *reply, size_t len)
{
    /* quotes inside JSON strings are escaped, so without this byte
     * sequence nothing in the reply can be an error object: most replies
     * are verdicts, and need no parse */
    static const char ERR[] = "\"error\":{\"code\":";
    if (!memmem(reply, len, ERR, sizeof ERR - 1))
        return 0;
    json_t *j = json_loadb(reply, len, 0, NULL);
    int bad = !j;
    if (json_is_object(j))
        bad = json_object_get(j, "error") != NULL;
    for (size_t i = 0; json_is_array(j) && i < json_array_size(j); i++)
        bad |= json_object_get(json_array_get(j, i), "error") != NULL;
    json_decref(j);
    return bad;
}

typedef struct stream_ctx {
    char *line;
    size_t cap;
    char *buf;
    int errors;
    int failed;
} stream_ctx;

static int stream_next(void *vctx, cli_request *out)
{
    stream_ctx *c = vctx;
    ssize_t len = cli_read_line(&c->line, &c->cap, stdin);
    if (len < 0)
        return 0;
    const char *p = c->line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '{' || *p == '[') {
        *out = (cli_request){.data = c->line, .len = (size_t)len, .local = 0};
        return 1;
    }
    if (cli_text_request(c->line, (size_t)len, out, &c->buf) != 0) {
        c->failed = 1;
        return 0;
    }
    return 1;
}

static void stream_reply(void *vctx, const char *reply, size_t len)
{
    stream_ctx *c = vctx;
    c->errors += cli_reply_is_error(reply, len);
    fwrite(reply, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

int cmd_stream(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"window", required_argument, NULL, 'w'},
        {"timeout-ms", required_argument, NULL, 't'},
        {"curve-server-key", required_argument, NULL, 'K'},
        {"curve-secret-key", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *server = NULL;
    cli_keys keys = {NULL, NULL};
    long window = isatty(STDIN_FILENO) ? 1 : 128, timeout_ms = 10000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': server = optarg; break;
        case 'w': window = strtol(optarg, NULL, 10); break;
        case 't': timeout_ms = strtol(optarg, NULL, 10); break;
        case 'K': keys.server_key = optarg; break;
        case 'S': keys.secret_key = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (cli_keys_check(&keys) != 0)
        return EXIT_USAGE;
    if (!server || optind < argc) {
        cli_error("%s", !server ? "stream needs --server ENDPOINT"
                                : "stream reads standard input; it takes no TEXT");
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    if (window < 1 || window > 100000 || timeout_ms < 1 || timeout_ms > 3600000) {
        cli_error("--window must be 1..100000 and --timeout-ms 1..3600000");
        return EXIT_USAGE;
    }
    stream_ctx ctx = {0};
    int rc = cli_pipeline(server, &keys, (int)window, (int)timeout_ms, stream_next,
                          stream_reply, &ctx);
    free(ctx.line);
    free(ctx.buf);
    if (ctx.failed && rc == 0) {
        cli_error("out of memory");
        rc = EXIT_SETUP;
    }
    return rc ? rc : ctx.errors ? EXIT_INPUT : 0;
}
