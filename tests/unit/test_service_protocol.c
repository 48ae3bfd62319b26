/*
 * test_service_protocol.c - the request side of protocol.h: parsing a
 * request body, checking items, error replies.  Every refusal names its
 * code and keeps the "id" when there is one to keep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol.h"

static json_t *parse(const char *body, hb_request_error *err)
{
    return hb_request_parse(body, strlen(body), 4, err);
}

static void expect_refused(const char *body, const char *code)
{
    hb_request_error err = {0};
    json_t *r = parse(body, &err);
    if (r)
        fail_msg("%s was accepted", body);
    assert_string_equal(err.code, code);
    assert_true(strlen(err.message) > 10);
}

static void test_parse_objects_and_batches(void **state)
{
    (void)state;
    hb_request_error err;
    json_t *r = parse("{\"id\": 1, \"text\": \"hi\"}", &err);
    assert_true(json_is_object(r));
    json_decref(r);
    r = parse("[{\"text\": \"a\"}, {\"text\": \"b\"}, 3, {}]", &err);
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 4);
    json_decref(r);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    expect_refused("", HB_CODE_MALFORMED_JSON);
    expect_refused("{\"text\": ", HB_CODE_MALFORMED_JSON);
    expect_refused("{\"text\": \"a\"} trailing", HB_CODE_MALFORMED_JSON);
    expect_refused("{\"text\": \"\xff\"}", "invalid_utf8");
    expect_refused("{\"text\": \"\\udc00\"}", "invalid_utf8");
    expect_refused("42", HB_CODE_INVALID_REQUEST);
    expect_refused("\"text\"", HB_CODE_INVALID_REQUEST);
    expect_refused("null", HB_CODE_INVALID_REQUEST);
    expect_refused("[]", HB_CODE_INVALID_REQUEST);
    expect_refused("[{},{},{},{},{}]", HB_CODE_BATCH_TOO_LARGE);
    /* a key twice has no one meaning, in an item or a batch */
    expect_refused("{\"control\":\"ping\",\"control\":\"reload\"}", HB_CODE_INVALID_REQUEST);
    expect_refused("[{\"text\":\"a\",\"text\":\"b\"}]", HB_CODE_INVALID_REQUEST);
    /* numbers beyond 64-bit integers or doubles: a request error that says
     * what to do, not malformed_json (the request is valid JSON) */
    expect_refused("{\"id\": 9223372036854775808, \"text\": \"a\"}", HB_CODE_INVALID_REQUEST);
    expect_refused("{\"id\": 1e400, \"text\": \"a\"}", HB_CODE_INVALID_REQUEST);
    hb_request_error err;
    json_t *r = parse("{\"id\": 9223372036854775807, \"text\": \"a\"}", &err);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), INT64_MAX);
    json_decref(r);
    r = parse("{\"id\": \"9223372036854775808\", \"text\": \"a\"}", &err);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "9223372036854775808");
    json_decref(r);
}

static void test_parse_keeps_nul_bytes(void **state)
{
    (void)state;
    hb_request_error err;
    json_t *r = parse("{\"text\": \"a\\u0000b\"}", &err);
    assert_non_null(r);
    hb_request_item it;
    assert_int_equal(hb_request_item_check(r, &it, &err), 0);
    assert_int_equal(it.len, 3);
    assert_memory_equal(it.text, "a\0b", 3);
    json_decref(r);
}

static void test_item_check(void **state)
{
    (void)state;
    hb_request_error err;
    json_t *r = parse("[{\"id\": \"x\", \"text\": \"hi\", \"urls\": [\"a.com\"], \"other\": 1},"
                      " {\"id\": 7}, {\"id\": [1], \"text\": 5}, {\"text\": \"t\", \"urls\": [1]}]",
                      &err);
    assert_non_null(r);
    hb_request_item it;
    assert_int_equal(hb_request_item_check(json_array_get(r, 0), &it, &err), 0);
    assert_string_equal(json_string_value(it.id), "x");
    assert_string_equal(it.text, "hi");
    assert_int_equal(json_array_size(it.urls), 1);
    assert_int_equal(it.detail, -1); /* not given: the server's default */

    assert_int_equal(hb_request_item_check(json_array_get(r, 1), &it, &err), -1);
    assert_string_equal(err.code, HB_CODE_MISSING_TEXT);
    assert_int_equal(json_integer_value(it.id), 7); /* kept for the error reply */

    assert_int_equal(hb_request_item_check(json_array_get(r, 2), &it, &err), -1);
    assert_string_equal(err.code, HB_CODE_MISSING_TEXT);
    assert_non_null(strstr(err.message, "not a number"));
    assert_true(json_is_array(it.id));

    assert_int_equal(hb_request_item_check(json_array_get(r, 3), &it, &err), -1);
    assert_string_equal(err.code, HB_CODE_INVALID_REQUEST);
    json_decref(r);

    r = parse("[{\"text\": \"a\", \"detail\": \"brief\"}, {\"text\": \"a\", \"detail\": \"full\"},"
              " {\"text\": \"a\", \"detail\": \"short\"}, {\"text\": \"a\", \"detail\": 1}]",
              &err);
    assert_int_equal(hb_request_item_check(json_array_get(r, 0), &it, &err), 0);
    assert_int_equal(it.detail, HB_DETAIL_BRIEF);
    assert_int_equal(hb_request_item_check(json_array_get(r, 1), &it, &err), 0);
    assert_int_equal(it.detail, HB_DETAIL_FULL);
    for (size_t i = 2; i < 4; i++) {
        assert_int_equal(hb_request_item_check(json_array_get(r, i), &it, &err), -1);
        assert_string_equal(err.code, HB_CODE_INVALID_REQUEST);
        assert_non_null(strstr(err.message, "\"detail\""));
    }
    json_decref(r);

    json_t *scalar = json_integer(3);
    assert_int_equal(hb_request_item_check(scalar, &it, &err), -1);
    assert_string_equal(err.code, HB_CODE_INVALID_REQUEST);
    assert_null(it.id);
    json_decref(scalar);
}

static void test_peek_id(void **state)
{
    (void)state;
    const char *body = "{\"text\": \"x\", \"id\": {\"k\": [1, 2]}}";
    json_t *id = hb_request_peek_id(body, strlen(body));
    assert_true(json_is_object(id));
    json_decref(id);
    assert_null(hb_request_peek_id("[{\"id\": 1}]", 11));
    assert_null(hb_request_peek_id("{\"id\": ", 7));
    assert_null(hb_request_peek_id("{\"text\": \"a\"}", 13));
}

static void test_error_reply(void **state)
{
    (void)state;
    json_t *id = json_string("m-1");
    json_t *r = hb_error_reply(id, HB_CODE_OVERLOADED, "busy");
    char *s = json_dumps(r, JSON_COMPACT);
    assert_string_equal(s, "{\"id\":\"m-1\",\"error\":{\"code\":\"overloaded\",\"message\":\"busy\"}}");
    free(s);
    json_decref(r);
    json_decref(id);
    r = hb_error_reply(NULL, HB_CODE_DEADLINE, "late");
    assert_null(json_object_get(r, "id"));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_objects_and_batches),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_parse_keeps_nul_bytes),
        cmocka_unit_test(test_item_check),
        cmocka_unit_test(test_peek_id),
        cmocka_unit_test(test_error_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
