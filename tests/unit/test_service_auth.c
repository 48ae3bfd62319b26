/*
 * test_service_auth.c - hubaod's CURVE endpoints and ZAP handler, with
 * real libzmq sockets on loopback in one process: an authorised key gets
 * in, any other key, no key or the wrong server key does not (and the
 * client's watch says which), a client key is no worker key, a reload
 * adds and removes keys but keeps the old ones when a file is bad, and
 * every ZAP request gets a reply, malformed ones included (RFC 27).
 *
 * The service's modules are not part of libhubao.a, so their sources are
 * compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zmq.h>

#include "service/auth.c"
#include "service/log.c"
#include "testutil.h"

/* Key pairs written under DIR: the broker's, two clients and a worker;
 * DIR/clients holds alice.pub, DIR/workers holds worker.pub. */
static char DIR_[1024];
static hb_curve_key BROKER, ALICE, BOB, WORKER;

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", DIR_, name);
}

static void write_pair(const hb_curve_key *k, const char *name)
{
    char prefix[1200];
    path_of(prefix, sizeof prefix, name);
    hb_error err;
    assert_int_equal(hb_curve_key_write(k, prefix, &err), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(DIR_, sizeof DIR_, "%s", tu_tmpdir("service-auth"));
    hb_error err;
    if (hb_curve_keypair(&BROKER, &err) || hb_curve_keypair(&ALICE, &err) ||
        hb_curve_keypair(&BOB, &err) || hb_curve_keypair(&WORKER, &err))
        return -1;
    char path[1200];
    path_of(path, sizeof path, "clients");
    mkdir(path, 0700);
    path_of(path, sizeof path, "workers");
    mkdir(path, 0700);
    write_pair(&BROKER, "broker");
    write_pair(&ALICE, "clients/alice");
    write_pair(&WORKER, "workers/worker");
    write_pair(&BOB, "bob");
    /* the secret .key beside each .pub, and a README, are no keys */
    path_of(path, sizeof path, "clients/README");
    tu_write_file(path, "authorised clients\n", 19);
    return 0;
}

static void config(hb_service_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    path_of(cfg->curve_secret_key, sizeof cfg->curve_secret_key, "broker.key");
    path_of(cfg->curve_clients, sizeof cfg->curve_clients, "clients");
    path_of(cfg->curve_workers, sizeof cfg->curve_workers, "workers");
}

/* The broker's side of one test: a context, the handler opened with
 * config()'s settings, and a ROUTER server for one role on an ephemeral
 * loopback port. */
typedef struct rig {
    void *ctx;
    hb_auth *a;
    void *srv;
    char ep[256];
} rig;

static void rig_up(rig *r, hb_auth_role which)
{
    hb_service_config cfg;
    config(&cfg);
    hb_error err;
    r->ctx = zmq_ctx_new();
    assert_int_equal(hb_auth_open(r->ctx, &cfg, &r->a, &err), 0);
    r->srv = zmq_socket(r->ctx, ZMQ_ROUTER);
    assert_int_equal(hb_auth_serve(r->a, r->srv, which, &err), 0);
    assert_int_equal(zmq_bind(r->srv, "tcp://127.0.0.1:*"), 0);
    size_t cap = sizeof r->ep;
    assert_int_equal(zmq_getsockopt(r->srv, ZMQ_LAST_ENDPOINT, r->ep, &cap), 0);
}

static void rig_down(rig *r)
{
    zmq_close(r->srv);
    hb_auth_free(r->a);
    zmq_ctx_term(r->ctx);
}

/* Serve the ZAP handler while a client with the keys own (NULL: none) and
 * the server key server_key connects, and return how its watch says the
 * handshake ended (HB_CURVE_NONE: not within 5 s).  With delivered, also
 * say whether the client's "hi" then reaches the server (waiting 2 s
 * when the handshake succeeded, 300 ms when not). */
static hb_curve_event try_client(rig *r, const hb_curve_key *server_key,
                                 const hb_curve_key *own, int *delivered)
{
    void *c = zmq_socket(r->ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(c, ZMQ_LINGER, &linger, sizeof linger);
    hb_error err;
    if (own) {
        hb_curve_client keys = {.server = *server_key, .own = *own};
        assert_int_equal(hb_curve_client_apply(c, &keys, &err), 0);
    }
    void *watch = hb_curve_watch(r->ctx, c, &err);
    assert_non_null(watch);
    assert_int_equal(zmq_connect(c, r->ep), 0);
    hb_curve_event ev = HB_CURVE_NONE;
    char why[384];
    for (int i = 0; i < 500 && ev == HB_CURVE_NONE; i++) {
        zmq_pollitem_t it[2] = {{hb_auth_socket(r->a), 0, ZMQ_POLLIN, 0},
                                {watch, 0, ZMQ_POLLIN, 0}};
        zmq_poll(it, 2, 10);
        if (it[0].revents & ZMQ_POLLIN)
            hb_auth_handle(r->a);
        ev = hb_curve_watch_read(watch, own != NULL, why, sizeof why);
    }
    if (delivered) {
        *delivered = 0;
        zmq_send(c, "hi", 2, ZMQ_DONTWAIT);
        int ms = ev == HB_CURVE_ACCEPTED ? 2000 : 300;
        for (int i = 0; i < ms / 10 && !*delivered; i++) {
            zmq_pollitem_t it[2] = {{hb_auth_socket(r->a), 0, ZMQ_POLLIN, 0},
                                    {r->srv, 0, ZMQ_POLLIN, 0}};
            zmq_poll(it, 2, 10);
            if (it[0].revents & ZMQ_POLLIN)
                hb_auth_handle(r->a);
            if (it[1].revents & ZMQ_POLLIN) {
                char id[256], body[16];
                zmq_recv(r->srv, id, sizeof id, 0);
                *delivered = zmq_recv(r->srv, body, sizeof body, 0) == 2 &&
                             memcmp(body, "hi", 2) == 0;
            }
        }
    }
    hb_curve_unwatch(c, watch);
    zmq_close(c);
    return ev;
}

static void test_no_curve_settings_no_handler(void **state)
{
    (void)state;
    hb_service_config cfg;
    memset(&cfg, 0, sizeof cfg);
    void *ctx = zmq_ctx_new();
    hb_auth *a = (hb_auth *)&cfg; /* must be overwritten */
    hb_error err;
    assert_int_equal(hb_auth_open(ctx, &cfg, &a, &err), 0);
    assert_null(a);
    assert_int_equal(hb_auth_enabled(a, HB_AUTH_CLIENTS), 0);
    zmq_ctx_term(ctx);
}

static void test_only_authorised_clients_get_in(void **state)
{
    (void)state;
    rig r;
    rig_up(&r, HB_AUTH_CLIENTS);
    assert_true(hb_auth_enabled(r.a, HB_AUTH_CLIENTS));
    assert_true(hb_auth_enabled(r.a, HB_AUTH_WORKERS));
    assert_int_equal(r.a->roles[HB_AUTH_CLIENTS].n, 1);
    int got;
    assert_int_equal(try_client(&r, &BROKER, &ALICE, &got), HB_CURVE_ACCEPTED);
    assert_true(got);
    /* a key nobody let in */
    assert_int_equal(try_client(&r, &BROKER, &BOB, &got), HB_CURVE_REFUSED);
    assert_false(got);
    /* a worker's key is no client's */
    assert_int_equal(try_client(&r, &BROKER, &WORKER, NULL), HB_CURVE_REFUSED);
    /* no CURVE at all: either side may see the mismatch first, and the
     * server then hangs up */
    hb_curve_event ev = try_client(&r, NULL, NULL, &got);
    assert_true(ev == HB_CURVE_MISMATCH || ev == HB_CURVE_CLOSED);
    assert_false(got);
    /* alice, but not this server's key */
    assert_int_equal(try_client(&r, &BOB, &ALICE, &got), HB_CURVE_CLOSED);
    assert_false(got);
    rig_down(&r);
}

static void test_workers_have_their_own_keys(void **state)
{
    (void)state;
    rig r;
    rig_up(&r, HB_AUTH_WORKERS);
    int got;
    assert_int_equal(try_client(&r, &BROKER, &WORKER, &got), HB_CURVE_ACCEPTED);
    assert_true(got);
    /* a client's key is no worker's */
    assert_int_equal(try_client(&r, &BROKER, &ALICE, NULL), HB_CURVE_REFUSED);
    rig_down(&r);
}

static void test_reload_adds_and_removes_keys(void **state)
{
    (void)state;
    rig r;
    rig_up(&r, HB_AUTH_CLIENTS);
    char from[1200], to[1200];
    path_of(from, sizeof from, "bob.pub");
    path_of(to, sizeof to, "clients/bob.pub");
    assert_int_equal(rename(from, to), 0);
    hb_auth_reload(r.a);
    assert_int_equal(r.a->roles[HB_AUTH_CLIENTS].n, 2);
    assert_int_equal(try_client(&r, &BROKER, &BOB, NULL), HB_CURVE_ACCEPTED);

    /* a bad file: the reload is refused, the keys read before still apply */
    path_of(to, sizeof to, "clients/broken.pub");
    tu_write_file(to, "public-key = \"short\"\n", 21);
    hb_auth_reload(r.a);
    assert_int_equal(r.a->roles[HB_AUTH_CLIENTS].n, 2);
    assert_int_equal(try_client(&r, &BROKER, &BOB, NULL), HB_CURVE_ACCEPTED);
    unlink(to);

    /* bob's key taken out: his next connection is refused */
    path_of(from, sizeof from, "clients/bob.pub");
    path_of(to, sizeof to, "bob.pub");
    assert_int_equal(rename(from, to), 0);
    hb_auth_reload(r.a);
    assert_int_equal(r.a->roles[HB_AUTH_CLIENTS].n, 1);
    assert_int_equal(try_client(&r, &BROKER, &BOB, NULL), HB_CURVE_REFUSED);
    rig_down(&r);
}

/* Send a ZAP request of n frames to the handler and return its status
 * code (the reply's third frame), checking the reply's shape. */
static int zap_status(rig *r, const char *const *frames, const size_t *len, int n)
{
    void *req = zmq_socket(r->ctx, ZMQ_REQ);
    assert_int_equal(zmq_connect(req, "inproc://zeromq.zap.01"), 0);
    for (int i = 0; i < n; i++)
        zmq_send(req, frames[i], len[i], i < n - 1 ? ZMQ_SNDMORE : 0);
    hb_auth_handle(r->a);
    char part[6][64];
    int got = 0, more = 1;
    size_t sz = sizeof more;
    while (more && got < 6) {
        int size = zmq_recv(req, part[got], sizeof part[got] - 1, 0);
        assert_true(size >= 0);
        part[got++][size < 63 ? size : 63] = '\0';
        zmq_getsockopt(req, ZMQ_RCVMORE, &more, &sz);
    }
    assert_int_equal(got, 6); /* version, id, status, text, user, metadata */
    assert_false(more);
    assert_string_equal(part[0], "1.0");
    if (n > 1)
        assert_string_equal(part[1], frames[1]);
    zmq_close(req);
    return atoi(part[2]);
}

static void test_every_zap_request_is_answered(void **state)
{
    (void)state;
    rig r; /* its server is not used: requests go to the handler directly */
    rig_up(&r, HB_AUTH_CLIENTS);
    unsigned char alice[HB_CURVE_KEY_BYTES], bob[HB_CURVE_KEY_BYTES];
    hb_curve_key_decode(ALICE.public_key, alice);
    hb_curve_key_decode(BOB.public_key, bob);
    const char *ok[] = {"1.0", "7",     "hubao-clients", "127.0.0.1",
                        "",    "CURVE", (char *)alice};
    size_t oklen[] = {3, 1, 13, 9, 0, 5, HB_CURVE_KEY_BYTES};
    assert_int_equal(zap_status(&r, ok, oklen, 7), 200);
    ok[6] = (const char *)bob;
    assert_int_equal(zap_status(&r, ok, oklen, 7), 400);
    ok[6] = (const char *)alice;
    ok[2] = "hubao-workers"; /* alice is no worker */
    assert_int_equal(zap_status(&r, ok, oklen, 7), 400);
    ok[2] = "elsewhere";
    oklen[2] = 9;
    assert_int_equal(zap_status(&r, ok, oklen, 7), 400);
    ok[2] = "hubao-clients";
    oklen[2] = 13;
    oklen[6] = 31; /* not a key */
    assert_int_equal(zap_status(&r, ok, oklen, 7), 400);
    assert_int_equal(zap_status(&r, ok, oklen, 6), 400); /* no key at all */
    ok[5] = "PLAIN";
    assert_int_equal(zap_status(&r, ok, oklen, 7), 400);
    /* a keyless socket with no domain: not this handler's to guard */
    const char *null[] = {"1.0", "8", "", "127.0.0.1", "", "NULL"};
    size_t nulllen[] = {3, 1, 0, 9, 0, 4};
    assert_int_equal(zap_status(&r, null, nulllen, 6), 200);
    null[2] = "hubao-clients";
    nulllen[2] = 13;
    assert_int_equal(zap_status(&r, null, nulllen, 6), 400);
    const char *bad[] = {"2.0", "9", "hubao-clients"};
    size_t badlen[] = {3, 1, 13};
    assert_int_equal(zap_status(&r, bad, badlen, 3), 500);
    assert_int_equal(zap_status(&r, bad, badlen, 1), 500);
    rig_down(&r);
}

static void test_refusals_are_logged_sparingly(void **state)
{
    (void)state;
    rig r; /* its server is not used: requests go to the handler directly */
    rig_up(&r, HB_AUTH_CLIENTS);
    unsigned char key[HB_CURVE_KEY_BYTES];
    hb_curve_key_decode(BOB.public_key, key);
    const char *req[] = {"1.0", "1",     "hubao-clients", "127.0.0.1",
                         "",    "CURVE", (char *)key};
    size_t len[] = {3, 1, 13, 9, 0, 5, HB_CURVE_KEY_BYTES};
    /* a refused peer retries: its key is logged once, the retries counted */
    for (int i = 0; i < 3; i++)
        assert_int_equal(zap_status(&r, req, len, 7), 400);
    assert_int_equal(r.a->lines, 1);
    assert_int_equal(r.a->unlogged, 2);
    /* new keys, each logged, up to five lines a second */
    for (int i = 0; i < 6; i++) {
        key[0] = (unsigned char)(i + 1);
        key[1] = 0x5a;
        assert_int_equal(zap_status(&r, req, len, 7), 400);
    }
    assert_int_equal(r.a->lines, LOG_LINES);
    assert_int_equal(r.a->unlogged, 2); /* counted into the next line logged */
    rig_down(&r);
}

static void test_bad_settings_stop_start_up(void **state)
{
    (void)state;
    hb_service_config cfg;
    void *ctx = zmq_ctx_new();
    hb_auth *a;
    hb_error err;
    char path[1200];

    config(&cfg);
    path_of(cfg.curve_clients, sizeof cfg.curve_clients, "nowhere");
    assert_int_equal(hb_auth_open(ctx, &cfg, &a, &err), HB_EIO);
    assert_null(a);
    assert_non_null(strstr(err.message, "nowhere: cannot read the directory"));

    config(&cfg);
    path_of(cfg.curve_secret_key, sizeof cfg.curve_secret_key, "broker.pub");
    assert_int_equal(hb_auth_open(ctx, &cfg, &a, &err), HB_EFORMAT);
    assert_non_null(strstr(err.message, "it is a public key"));

    config(&cfg);
    path_of(path, sizeof path, "workers/typo.pub");
    tu_write_file(path, "curve\n  public-key = \"x\"\n", 25);
    assert_int_equal(hb_auth_open(ctx, &cfg, &a, &err), HB_EFORMAT);
    assert_non_null(strstr(err.message, "typo.pub:2: public-key is not a CURVE key"));
    unlink(path);
    /* the handler was never bound: a good configuration binds it now */
    assert_int_equal(hb_auth_open(ctx, &cfg, &a, &err), 0);
    hb_auth_free(a);
    zmq_ctx_term(ctx);
}

/* What hb_auth_warn_exposed logs for bind and backend, into out. */
static void warnings(const hb_auth *a, const char *bind, const char *backend, char *out,
                     size_t cap)
{
    char path[1200];
    path_of(path, sizeof path, "warnings.log");
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    dup2(fileno(f), 2);
    hb_auth_warn_exposed(a, bind, backend);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void test_keyless_endpoints_others_reach_are_warned_about(void **state)
{
    (void)state;
    char log[4096];
    warnings(NULL, "tcp://0.0.0.0:7531", "tcp://10.1.2.3:7532", log, sizeof log);
    assert_non_null(strstr(log,
                           "client endpoint tcp://0.0.0.0:7531 is on an address other "
                           "than loopback without CURVE"));
    assert_non_null(strstr(log, "worker endpoint tcp://10.1.2.3:7532"));
    assert_non_null(strstr(log, "--curve-workers DIR"));
    /* loopback, the default private back end, ipc: nothing to say */
    warnings(NULL, "tcp://127.0.0.1:7531", "", log, sizeof log);
    assert_string_equal(log, "");
    warnings(NULL, "ipc:///run/hubaod/requests", "ipc://@hubaod-1", log, sizeof log);
    assert_string_equal(log, "");
    /* an endpoint with CURVE on it is guarded by keys */
    hb_service_config cfg;
    config(&cfg);
    cfg.curve_workers[0] = '\0';
    void *ctx = zmq_ctx_new();
    hb_auth *a;
    hb_error err;
    assert_int_equal(hb_auth_open(ctx, &cfg, &a, &err), 0);
    warnings(a, "tcp://0.0.0.0:7531", "tcp://0.0.0.0:7532", log, sizeof log);
    assert_null(strstr(log, "client endpoint"));
    assert_non_null(strstr(log, "worker endpoint tcp://0.0.0.0:7532"));
    hb_auth_free(a);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_curve_settings_no_handler),
        cmocka_unit_test(test_only_authorised_clients_get_in),
        cmocka_unit_test(test_workers_have_their_own_keys),
        cmocka_unit_test(test_reload_adds_and_removes_keys),
        cmocka_unit_test(test_every_zap_request_is_answered),
        cmocka_unit_test(test_refusals_are_logged_sparingly),
        cmocka_unit_test(test_bad_settings_stop_start_up),
        cmocka_unit_test(test_keyless_endpoints_others_reach_are_warned_about),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
