/*
 * test_service_handler.c - what a worker does with a request body, without
 * sockets: verdicts with "id" and "models", batches in order, an error
 * reply for each bad input, ids echoed as the client wrote them, a reload
 * that keeps the old engine when the new bundle is broken, and a handler
 * made while the bundle is broken falling back to the snapshot of the
 * last set that loaded.  Models are trained by the test itself.
 *
 * The service's modules are not part of libhubao.a, so the handler's
 * source (and the snapshot's, which it uses) is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "service/handler.c"
#include "service/snapshot.c"
#include "testutil.h"
#include "trainer.h"

#define RULES TU_RULES

static char models[1100];


static int setup(void **state)
{
    snprintf(models, sizeof models, "%s", tu_tmpdir("service_handler"));
    tu_train_fixture_model("fraud", models);
    tu_train_fixture_model("spam", models);
    hb_handler_config cfg = {.models_dir = models, .rules_dir = RULES, .max_text = 1000,
                             .max_batch = 3, .top_features = 2, .unmask = 0};
    hb_error err;
    hb_handler *h = hb_handler_new(&cfg, &err);
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
    json_t *r = handle(h, "{\"id\": 42, \"text\": \"公安局通知：请把存款转入安全账户 13812345678\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 42);
    assert_string_equal(json_string_value(json_object_get(r, "verdict")), "fraud");
    json_t *m = json_object_get(r, "models");
    assert_int_equal(json_object_size(m), 2);
    assert_non_null(json_object_get(m, "spam"));
    char *s = json_dumps(r, JSON_COMPACT);
    assert_null(strstr(s, "13812345678")); /* masked by default */
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
    assert_string_equal(json_string_value(json_object_get(link, "domain")), "gov-safe.top");
    assert_non_null(json_object_get(link, "malicious"));
    static const char *const gone[] = {"summary", "advice", "entities", "rules_limited",
                                       "models"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        assert_null(json_object_get(r, gone[i]));
    assert_null(json_object_get(fraud, "evidence"));
    assert_null(json_object_get(fraud, "threshold"));
    json_decref(r);
    /* the same text in full carries the evidence */
    r = handle(h, "{\"id\": 1, \"text\": \"公安局通知：请把存款转入安全账户 http://gov-safe.top/a\"}");
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
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "id")), "b");
    assert_string_equal(code_of(json_array_get(r, 2)), "empty_text");
    json_decref(r);
    r = handle(h, "[{\"text\": \"a\"}, {\"text\": \"b\"}, {\"text\": \"c\"}, {\"text\": \"d\"}]");
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
    assert_true(json_integer_value(json_object_get(hb_handler_error_counts(h), "malformed_json")) >= 2);
}

static void test_urls_are_normalised(void **state)
{
    hb_handler *h = *state;
    json_t *r = handle(h, "{\"text\": \"see link\", \"urls\": [\"WWW.Example.co.uk/a/../b\", \"http://[x\"]}");
    json_t *u = json_object_get(r, "urls");
    /* the link that does not parse cannot be followed either: left out */
    assert_int_equal(json_array_size(u), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(u, 0), "domain")),
                        "example.co.uk");
    assert_string_equal(json_string_value(json_object_get(json_array_get(u, 0), "url")),
                        "http://www.example.co.uk/b");
    json_decref(r);
}

static void corrupt_spam(void)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/spam/model.svm", models);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
}

static void test_failed_reload_keeps_serving(void **state)
{
    hb_handler *h = *state;
    corrupt_spam();
    const json_t *before = hb_handler_models(h);
    hb_error err;
    assert_int_not_equal(hb_handler_reload(h, &err), 0);
    assert_non_null(strstr(err.message, "checksum"));
    assert_ptr_equal(hb_handler_models(h), before);
    json_t *r = handle(h, "{\"text\": \"still here\"}");
    assert_non_null(json_object_get(r, "verdict"));
    json_decref(r);
    tu_train_fixture_model("spam", models); /* a good bundle again: the reload goes through */
    assert_int_equal(hb_handler_reload(h, &err), 0);
    r = handle(h, "{\"text\": \"still here\"}");
    assert_non_null(json_object_get(r, "verdict"));
    json_decref(r);
}

static void test_start_falls_back_to_the_snapshot(void **state)
{
    (void)state;
    char snap[1200];
    snprintf(snap, sizeof snap, "%s.snapshot", models);
    hb_engine_paths from = {RULES, models, NULL};
    hb_error err;
    assert_int_equal(hb_snapshot_take(snap, &from, &err), 0);
    corrupt_spam();
    hb_handler_config cfg = {.models_dir = models, .rules_dir = RULES, .max_text = 1000,
                             .max_batch = 3, .top_features = 2};
    assert_null(hb_handler_new(&cfg, &err)); /* no snapshot: no worker */
    assert_non_null(strstr(err.message, "checksum"));
    cfg.snapshot_dir = snap;
    hb_handler *h = hb_handler_new(&cfg, &err);
    assert_non_null(h);
    assert_non_null(hb_handler_fallback(h));
    assert_non_null(strstr(hb_handler_fallback(h), "spam/model.svm: checksum"));
    json_t *r = handle(h, "{\"text\": \"served from the snapshot\"}");
    assert_non_null(json_object_get(r, "verdict"));
    json_decref(r);
    assert_int_not_equal(hb_handler_reload(h, &err), 0); /* still broken */
    assert_non_null(hb_handler_fallback(h));
    tu_train_fixture_model("spam", models);
    assert_int_equal(hb_handler_reload(h, &err), 0);
    assert_null(hb_handler_fallback(h)); /* the configured models serve again */
    hb_handler_free(h);
    hb_snapshot_remove(snap);
    corrupt_spam();
    cfg.snapshot_dir = snap; /* gone: the configured error is the one reported */
    assert_null(hb_handler_new(&cfg, &err));
    assert_non_null(strstr(err.message, "checksum"));
    tu_train_fixture_model("spam", models);
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
        cmocka_unit_test(test_failed_reload_keeps_serving),
        cmocka_unit_test(test_start_falls_back_to_the_snapshot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
