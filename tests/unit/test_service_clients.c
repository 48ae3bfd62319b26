/*
 * test_service_clients.c - the broker's per-client budgets on a real
 * ROUTER socket over loopback TCP: requests refused past a client's share
 * or the total, replies that find a full pipe kept in order and delivered
 * once the client reads, and a client that never reads cut off (its
 * unread replies dropped and counted, its connection closed) without
 * touching the others.
 *
 * The service's modules are not part of libhubao.a, so their sources are
 * compiled in here.
 */
#define _GNU_SOURCE /* clients.c's struct ucred, before any header */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "service/clients.c"
#include "service/log.c"

enum { REPLY = 100 * 1024, SMALL_BUF = 4096 };

typedef struct fixture {
    void *ctx, *router;
    char endpoint[256];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    int hwm = HB_CLIENTS_SNDHWM, on = 1, buf = SMALL_BUF, linger = 0;
    zmq_setsockopt(f->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(f->router, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
    zmq_setsockopt(f->router, ZMQ_SNDBUF, &buf, sizeof buf); /* the kernel hides little */
    zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof f->endpoint;
    zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
    free(f);
    return 0;
}

/* A DEALER that reads one message at a time (RCVHWM 1, small buffers). */
static void *dealer(fixture *f)
{
    void *d = zmq_socket(f->ctx, ZMQ_DEALER);
    int one = 1, buf = SMALL_BUF, linger = 0;
    zmq_setsockopt(d, ZMQ_RCVHWM, &one, sizeof one);
    zmq_setsockopt(d, ZMQ_RCVBUF, &buf, sizeof buf);
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(d, f->endpoint), 0);
    return d;
}

/* Send a request from d and return its client, its routing id in id. */
static hb_client *request(fixture *f, hb_clients *cs, void *d, zmq_msg_t *id)
{
    assert_int_equal(zmq_send(d, "hello", 5, 0), 5);
    zmq_msg_init(id);
    assert_true(zmq_msg_recv(id, f->router, 0) >= 0);
    zmq_msg_t body;
    zmq_msg_init(&body);
    assert_int_equal(zmq_msg_recv(&body, f->router, 0), 5);
    hb_client *c = hb_clients_get(cs, zmq_msg_data(id), zmq_msg_size(id),
                                  zmq_msg_get(&body, ZMQ_SRCFD));
    zmq_msg_close(&body);
    assert_non_null(c);
    return c;
}

/* Send c reply number seq (REPLY bytes, seq in the first four). */
static void reply(hb_clients *cs, hb_client *c, zmq_msg_t *id, uint32_t seq)
{
    zmq_msg_t frames[2];
    zmq_msg_init(&frames[0]);
    zmq_msg_copy(&frames[0], id);
    zmq_msg_init_size(&frames[1], REPLY);
    memset(zmq_msg_data(&frames[1]), 'x', REPLY);
    memcpy(zmq_msg_data(&frames[1]), &seq, sizeof seq);
    hb_clients_send(cs, c, frames, 2);
}

static json_int_t stat_of(hb_clients *cs, const char *key)
{
    json_t *j = hb_clients_stats(cs);
    json_int_t v = json_integer_value(json_object_get(j, key));
    json_decref(j);
    return v;
}

/* Let libzmq's I/O thread move what it can. */
static void settle(void)
{
    usleep(100000);
}

static void test_admission(void **state)
{
    fixture *f = *state;
    hb_clients_limits lim = {.in_flight = 2, .client_bytes = 1000, .total_bytes = 1500};
    hb_clients *cs = hb_clients_new(f->router, &lim);
    void *d1 = dealer(f), *d2 = dealer(f);
    zmq_msg_t id1, id2;
    hb_client *c1 = request(f, cs, d1, &id1), *c2 = request(f, cs, d2, &id2);
    char msg[256];
    hb_clients_hold(cs, c1, 10);
    assert_int_equal(hb_clients_admit(cs, c1, msg, sizeof msg), 0);
    hb_clients_hold(cs, c1, 10);
    assert_int_equal(hb_clients_admit(cs, c1, msg, sizeof msg), 0);
    hb_clients_hold(cs, c1, 10);
    assert_int_equal(hb_clients_admit(cs, c1, msg, sizeof msg), HB_EINFLIGHT);
    assert_non_null(strstr(msg, "read the replies"));
    hb_clients_release(cs, c1, 10);
    hb_clients_release(cs, c1, 10);
    hb_clients_hold(cs, c1, 995); /* 1005 bytes: over its share */
    assert_int_equal(hb_clients_admit(cs, c1, msg, sizeof msg), HB_EINFLIGHT);
    hb_clients_release(cs, c1, 995);
    hb_clients_hold(cs, c2, 900);
    hb_clients_hold(cs, c1, 700); /* 710 of its own, 1610 in all */
    assert_int_equal(hb_clients_admit(cs, c1, msg, sizeof msg), HB_EOVERLOADED);
    assert_int_equal(stat_of(cs, "active"), 2);
    hb_clients_release(cs, c1, 700);
    hb_clients_release(cs, c1, 10);
    hb_clients_release(cs, c2, 900);
    assert_int_equal(stat_of(cs, "active"), 0); /* nothing held: no record */
    hb_clients_free(cs);
    zmq_msg_close(&id1);
    zmq_msg_close(&id2);
    zmq_close(d1);
    zmq_close(d2);
}

static void test_backlog_delivered_in_order(void **state)
{
    fixture *f = *state;
    hb_clients_limits lim = {
        .in_flight = 1000, .client_bytes = 64 << 20, .total_bytes = 64 << 20};
    hb_clients *cs = hb_clients_new(f->router, &lim);
    void *d = dealer(f);
    zmq_msg_t id;
    hb_client *c = request(f, cs, d, &id);
    hb_clients_hold(cs, c, 5);
    enum { N = 100 };
    for (uint32_t i = 0; i < N; i++)
        reply(cs, c, &id, i);
    settle();
    assert_int_equal(hb_clients_flush(cs), 1); /* it is not reading */
    assert_true(stat_of(cs, "waiting_bytes") > 10 * REPLY);
    assert_true(stat_of(cs, "piped_bytes") >= HB_CLIENTS_SNDHWM / 2 * REPLY);
    uint32_t next = 0;
    for (int spins = 0; next < N && spins < 2000; spins++) {
        hb_clients_flush(cs);
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, d, ZMQ_DONTWAIT) == REPLY) {
            uint32_t seq;
            memcpy(&seq, zmq_msg_data(&m), sizeof seq);
            assert_int_equal(seq, next);
            next++;
        } else {
            usleep(1000);
        }
        zmq_msg_close(&m);
    }
    assert_int_equal(next, N);
    assert_int_equal(hb_clients_flush(cs), 0);
    assert_int_equal(stat_of(cs, "waiting_bytes"), 0);
    assert_int_equal(stat_of(cs, "replies_dropped"), 0);
    assert_int_equal(stat_of(cs, "cut_off"), 0);
    hb_clients_release(cs, c, 5);
    hb_clients_free(cs);
    zmq_msg_close(&id);
    zmq_close(d);
}

static void test_a_client_that_never_reads_is_cut_off(void **state)
{
    fixture *f = *state;
    hb_clients_limits lim = {
        .in_flight = 1000, .client_bytes = 3 << 20, .total_bytes = 5 << 20};
    hb_clients *cs = hb_clients_new(f->router, &lim);
    void *hog = dealer(f), *other = dealer(f), *third = dealer(f);
    zmq_msg_t hid, oid, tid;
    hb_client *h = request(f, cs, hog, &hid), *o = request(f, cs, other, &oid);
    hb_client *t = request(f, cs, third, &tid);
    hb_clients_hold(cs, h, 5);
    hb_clients_hold(cs, o, 5);
    hb_clients_hold(cs, t, 5);
    /* the hog passes its own share: cut off, the others untouched */
    for (uint32_t i = 0; i < 40; i++) {
        reply(cs, h, &hid, i);
        if (i % 8 == 0)
            settle();
    }
    assert_int_equal(stat_of(cs, "cut_off"), 1);
    json_int_t dropped = stat_of(cs, "replies_dropped");
    assert_true(dropped > 0);
    settle(); /* its connection is closed: later replies are dropped */
    reply(cs, h, &hid, 99);
    hb_clients_flush(cs);
    assert_int_equal(stat_of(cs, "replies_dropped"), dropped + 1);
    /* two more that do not read, each under its share: together over the
     * total, the one holding more is cut off */
    for (uint32_t i = 0; i < 40 && stat_of(cs, "cut_off") < 2; i++) {
        reply(cs, o, &oid, i);
        if (i < 24)
            reply(cs, t, &tid, i);
        if (i % 8 == 0)
            settle();
    }
    assert_int_equal(stat_of(cs, "cut_off"), 2);
    assert_int_equal(stat_of(cs, "waiting"), 1); /* the third still waits */
    hb_clients_release(cs, h, 5);
    hb_clients_release(cs, o, 5);
    hb_clients_release(cs, t, 5);
    hb_clients_free(cs);
    zmq_msg_close(&hid);
    zmq_msg_close(&oid);
    zmq_msg_close(&tid);
    zmq_close(hog);
    zmq_close(other);
    zmq_close(third);
}

int main(void)
{
    hb_log_init(HB_LOG_ERROR, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_admission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backlog_delivered_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_client_that_never_reads_is_cut_off, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
