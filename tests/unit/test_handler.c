/*
 * test_handler.c - the request handler, request bytes in and reply bytes
 * out: verdicts with "id" and "models", batches in order, an error reply
 * for each bad input, ids echoed as the client wrote them, the options
 * (batch limit, brief by default), the tick between batch items, moving
 * to another engine, and one engine shared by handlers on two threads.
 * Models are trained by the test itself.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handler.h"
#include "testutil.h"
#include "trainer.h"

#define RULES TU_RULES

static char models[1100];
static hb_engine *engine;

/* The options every test handler uses unless it says otherwise. */
static hb_handler_options test_options(void)
{
    hb_handler_options o = hb_handler_defaults();
    o.max_batch = 3;
    o.render.top_features = 2;
    return o;
}

static hb_engine *open_engine(const char *dir)
{
    hb_error err;
    hb_engine *e = hb_engine_open(RULES, dir, &err);
    if (!e)
        fprintf(stderr, "%s\n", err.message);
    else
        hb_engine_set_max_text(e, 1000);
    return e;
}

static int setup(void **state)
{
    snprintf(models, sizeof models, "%s", tu_tmpdir("handler"));
    tu_train_fixture_model("fraud", models);
    tu_train_fixture_model("spam", models);
    if (!(engine = open_engine(models)))
        return -1;
    hb_handler_options o = test_options();
    hb_error err;
    hb_handler *h = hb_handler_new(engine, &o, &err);
    if (!h) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    hb_handler_free(*state);
    hb_engine_free(engine);
    return 0;
}

/* Handle body and return the parsed reply (owned). */
static json_t *handle(hb_handler *h, const char *body)
{
    size_t n = 0;
    const char *out = hb_handler_handle(h, body, strlen(body), &n);
    assert_non_null(out);
    json_error_t je;
    json_t *r = json_loadb(out, n, 0, &je);
    if (!r)
        fail_msg("reply is not JSON: %s", je.text);
    return r;
}

static const char *code_of(const json_t *r)
{
    return json_string_value(json_object_get(json_object_get(r, "error"), "code"));
}

static void test_verdict_with_id_and_models(void **state)
{
    hb_handler *h = *state;
    json_t *r = handle(
        h, "{\"id\": 42, \"text\": \"公安局通知：请把存款转入安全账户 13812345678\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(r, "verdict")), "fraud");
    json_t *m = json_object_get(r, "models");
    assert_int_equal(json_object_size(m), 2);
    assert_non_null(json_object_get(m, "spam"));
    char *s = json_dumps(r, JSON_COMPACT);
    assert_null(strstr(s, "13812345678"));          /* masked by default */
    assert_true(strncmp(s, "{\"id\":42,", 9) == 0); /* id leads */
    free(s);
    json_decref(r);
}

/* A brief reply keeps what a platform acts on and drops what a person
 * reads. */
static void test_brief_reply(void **state)
{
    hb_handler *h = *state;
    json_t *r = handle(h, "{\"id\": 1, \"detail\": \"brief\", \"text\": "
                          "\"公安局通知：请把存款转入安全账户 http://gov-safe.top/a\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "verdict")), "fraud");
    json_t *fraud = json_object_get(json_object_get(r, "tasks"), "fraud");
    assert_true(json_is_true(json_object_get(fraud, "positive")));
    assert_true(json_real_value(json_object_get(fraud, "probability")) > 0.5);
    assert_true(json_is_string(json_object_get(fraud, "type")));
    json_t *rules = json_object_get(fraud, "rules");
    assert_true(json_array_size(rules) > 0);
    assert_true(json_is_string(json_array_get(rules, 0))); /* rule ids */
    json_t *link = json_array_get(json_object_get(r, "urls"), 0);
    assert_string_equal(json_string_value(json_object_get(link, "domain")),
                        "gov-safe.top");
    assert_non_null(json_object_get(link, "malicious"));
    static const char *const gone[] = {"summary", "advice", "entities", "rules_limited",
                                       "models"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        assert_null(json_object_get(r, gone[i]));
    assert_null(json_object_get(fraud, "evidence"));
    assert_null(json_object_get(fraud, "threshold"));
    json_decref(r);
    /* the same text in full carries the evidence */
    r = handle(
        h,
        "{\"id\": 1, \"text\": \"公安局通知：请把存款转入安全账户 http://gov-safe.top/a\"}");
    fraud = json_object_get(json_object_get(r, "tasks"), "fraud");
    assert_non_null(json_object_get(fraud, "evidence"));
    assert_non_null(json_object_get(r, "summary"));
    assert_non_null(json_object_get(r, "models"));
    json_decref(r);
}

static void test_batch_in_order_with_item_errors(void **state)
{
    hb_handler *h = *state;
    json_t *r = handle(h, "[{\"id\": \"a\", \"text\": \"hello\"}, {\"id\": \"b\"},"
                          " {\"id\": \"c\", \"text\": \"   \"}]");
    assert_int_equal(json_array_size(r), 3);
    assert_non_null(json_object_get(json_array_get(r, 0), "verdict"));
    assert_string_equal(code_of(json_array_get(r, 1)), "missing_text");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "id")),
                        "b");
    assert_string_equal(code_of(json_array_get(r, 2)), "empty_text");
    json_decref(r);
    r = handle(
        h,
        "[{\"text\": \"a\"}, {\"text\": \"b\"}, {\"text\": \"c\"}, {\"text\": \"d\"}]");
    assert_string_equal(code_of(r), "batch_too_large");
    json_decref(r);
}

/* The reply's bytes as a string (the handler's buffer, copied). */
static char *handle_raw(hb_handler *h, const char *body)
{
    size_t n = 0;
    const char *out = hb_handler_handle(h, body, strlen(body), &n);
    assert_non_null(out);
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, out, n);
    s[n] = '\0';
    return s;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Ids that jansson cannot hold, or would write otherwise, come back in
 * verdicts and item errors as the client wrote them; the verdict after
 * the id is the one a string id gets. */
static void test_ids_echoed_exactly(void **state)
{
    hb_handler *h = *state;
    char *plain =
        handle_raw(h, "{\"id\": \"s\", \"text\": \"公安局通知：请把存款转入安全账户\"}");
    char *big = handle_raw(
        h,
        "{\"id\": 9223372036854775808, \"text\": \"公安局通知：请把存款转入安全账户\"}");
    assert_true(starts_with(big, "{\"id\":9223372036854775808,\"verdict\":\"fraud\","));
    assert_string_equal(big + strlen("{\"id\":9223372036854775808"),
                        plain + strlen("{\"id\":\"s\""));
    free(big);
    free(plain);
    char *r = handle_raw(
        h, "[{\"id\": 1e400, \"text\": \"hello\"}, {\"id\": -0},"
           " {\"id\": {\"seq\": 0.1234567, \"at\": [1.0, 1E+2]}, \"text\": \"  \"}]");
    assert_true(starts_with(r, "[{\"id\":1e400,\"verdict\":"));
    assert_non_null(strstr(r, "},{\"id\":-0,\"error\":{\"code\":\"missing_text\""));
    assert_non_null(strstr(r, "},{\"id\":{\"seq\":0.1234567,\"at\":[1.0,1E+2]},\"error\":"
                              "{\"code\":\"empty_text\""));
    free(r);
    r = handle_raw(h, "{\"id\": -9223372036854775809}");
    assert_true(starts_with(
        r, "{\"id\":-9223372036854775809,\"error\":{\"code\":\"missing_text\""));
    free(r);
}

static void test_every_bad_input_gets_an_error(void **state)
{
    hb_handler *h = *state;
    static const struct {
        const char *body, *code;
    } cases[] = {
        {"", "malformed_json"},
        {"{\"text\": ", "malformed_json"},
        {"{\"text\": \"\xc3\x28\"}", "invalid_utf8"},
        {"17", "invalid_request"},
        {"{\"text\": 17}", "missing_text"},
        {"{\"text\": \"x\", \"urls\": {}}", "invalid_request"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *r = handle(h, cases[i].body);
        if (!code_of(r) || strcmp(code_of(r), cases[i].code) != 0)
            fail_msg("%s: expected %s", cases[i].body, cases[i].code);
        json_decref(r);
    }
    char big[1200];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"text\": \"");
    memset(big + n, 'a', 1100); /* over the 1000-byte text limit */
    snprintf(big + n + 1100, sizeof big - n - 1100, "\"}");
    json_t *r = handle(h, big);
    assert_string_equal(code_of(r), "too_large");
    json_decref(r);
    hb_handler_counts c = hb_handler_counts_get(h);
    assert_true(c.errors >= 7 && c.requests >= c.errors);
    assert_true(json_integer_value(
                    json_object_get(hb_handler_error_counts(h), "malformed_json")) >= 2);
}

static void test_urls_are_normalised(void **state)
{
    hb_handler *h = *state;
    json_t *r = handle(
        h,
        "{\"text\": \"see link\", \"urls\": [\"WWW.Example.co.uk/a/../b\", \"http://[x\"]}");
    json_t *u = json_object_get(r, "urls");
    /* the link that does not parse cannot be followed either: left out */
    assert_int_equal(json_array_size(u), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(u, 0), "domain")),
        "example.co.uk");
    assert_string_equal(json_string_value(json_object_get(json_array_get(u, 0), "url")),
                        "http://www.example.co.uk/b");
    json_decref(r);
}

/* A handler made brief answers brief unless an item asks for full. */
static void test_brief_by_default(void **state)
{
    (void)state;
    hb_handler_options o = test_options();
    o.render.detail = HB_DETAIL_BRIEF;
    hb_handler *h = hb_handler_new(engine, &o, NULL);
    assert_non_null(h);
    json_t *r = handle(
        h,
        "[{\"text\": \"公安局通知\"}, {\"text\": \"公安局通知\", \"detail\": \"full\"}]");
    assert_null(json_object_get(json_array_get(r, 0), "summary"));
    assert_non_null(json_object_get(json_array_get(r, 1), "summary"));
    json_decref(r);
    hb_handler_free(h);
}

static void count_tick(void *ctx)
{
    (*(int *)ctx)++;
}

static void test_tick_between_batch_items(void **state)
{
    hb_handler *h = *state;
    int ticks = 0;
    hb_handler_set_tick(h, count_tick, &ticks);
    json_t *r = handle(h, "[{\"text\": \"a\"}, {\"text\": \"b\"}, {\"text\": \"c\"}]");
    json_decref(r);
    assert_int_equal(ticks, 3);
    r = handle(h, "{\"text\": \"one\"}"); /* no batch, no tick */
    json_decref(r);
    assert_int_equal(ticks, 3);
    hb_handler_set_tick(h, NULL, NULL);
}

/* Replies name the models of the engine that answered them. */
static void test_another_engine(void **state)
{
    hb_handler *h = *state;
    char fraud_only[1200];
    snprintf(fraud_only, sizeof fraud_only, "%s", tu_tmpdir("handler_fraud_only"));
    tu_train_fixture_model("fraud", fraud_only);
    hb_engine *other = open_engine(fraud_only);
    assert_non_null(other);
    hb_error err;
    assert_int_equal(hb_handler_set_engine(h, other, &err), 0);
    json_t *r = handle(h, "{\"text\": \"公安局通知\"}");
    assert_int_equal(json_object_size(json_object_get(r, "models")), 1);
    assert_null(json_object_get(json_object_get(r, "tasks"), "spam"));
    json_decref(r);
    assert_int_equal(hb_handler_set_engine(h, engine, &err), 0);
    hb_engine_free(other);
    r = handle(h, "{\"text\": \"公安局通知\"}");
    assert_int_equal(json_object_size(hb_handler_models(h)), 2);
    assert_non_null(json_object_get(json_object_get(r, "tasks"), "spam"));
    json_decref(r);
}

enum { THREAD_REQUESTS = 40 };

static const char SHARED_BODY[] =
    "[{\"id\": 1.50, \"text\": \"公安局通知：请把存款转入安全账户 13812345678\"},"
    " {\"id\": 2, \"text\": \"周年庆大促，全场五折 http://shop.example/a\"}]";

/* A thread with its own handler on the shared engine: every reply must be
 * the bytes the main thread got. */
static void *answer_repeatedly(void *arg)
{
    const char *expected = arg;
    hb_handler_options o = test_options();
    hb_handler *h = hb_handler_new(engine, &o, NULL);
    long same = h != NULL;
    for (int i = 0; same && i < THREAD_REQUESTS; i++) {
        size_t n = 0;
        const char *out = hb_handler_handle(h, SHARED_BODY, sizeof SHARED_BODY - 1, &n);
        same = out && n == strlen(expected) && memcmp(out, expected, n) == 0;
    }
    hb_handler_free(h);
    return (void *)same;
}

static void test_one_engine_two_threads(void **state)
{
    char *expected = handle_raw(*state, SHARED_BODY);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, answer_repeatedly, expected), 0);
    for (int i = 0; i < 2; i++) {
        void *same;
        pthread_join(t[i], &same);
        assert_true(same != NULL);
    }
    free(expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_with_id_and_models),
        cmocka_unit_test(test_brief_reply),
        cmocka_unit_test(test_batch_in_order_with_item_errors),
        cmocka_unit_test(test_ids_echoed_exactly),
        cmocka_unit_test(test_every_bad_input_gets_an_error),
        cmocka_unit_test(test_urls_are_normalised),
        cmocka_unit_test(test_brief_by_default),
        cmocka_unit_test(test_tick_between_batch_items),
        cmocka_unit_test(test_another_engine),
        cmocka_unit_test(test_one_engine_two_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
