/*
 * test_service_protocol.c - the request side of the protocol (request.h): parsing a
 * request body, checking items, error replies.  Every refusal names its
 * code and keeps the "id" when there is one to keep, and a number in an id
 * comes back in the reply's bytes exactly as the client wrote it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

static json_t *parse(const char *body, hb_error *err)
{
    return hb_request_parse(body, strlen(body), 4, err);
}

static void expect_refused(const char *body, int code)
{
    hb_error err = {0};
    json_t *r = parse(body, &err);
    if (r)
        fail_msg("%s was accepted", body);
    assert_int_equal(err.code, code);
    assert_true(strlen(err.message) > 10);
}

/* The bytes of an error reply carrying id (NULL for none): the id must
 * lead it as want, and the rest be the error. */
static void expect_echo(const json_t *id, const char *want)
{
    json_t *r = hb_error_reply(id, HB_EOVERLOADED, "m");
    char *s = hb_reply_dumps(r, HB_JSON_FLAGS);
    char expected[512];
    snprintf(expected, sizeof expected,
             "{\"id\":%s,\"error\":{\"code\":\"overloaded\",\"message\":\"m\"}}", want);
    if (!s || strcmp(s, expected) != 0)
        fail_msg("reply %s, expected %s", s ? s : "(none)", expected);
    free(s);
    json_decref(r);
}

/* The id of item i of body, echoed. */
static void expect_item_echo(const char *body, size_t i, const char *want)
{
    hb_error err;
    json_t *r = parse(body, &err);
    if (!r)
        fail_msg("%s refused: %s", body, err.message);
    hb_request_item it;
    hb_request_item_check(json_is_array(r) ? json_array_get(r, i) : r, &it, &err);
    expect_echo(it.id, want);
    json_decref(r);
}

static void test_parse_objects_and_batches(void **state)
{
    (void)state;
    hb_error err;
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
    expect_refused("", HB_EJSON);
    expect_refused("{\"text\": ", HB_EJSON);
    expect_refused("{\"text\": \"a\"} trailing", HB_EJSON);
    expect_refused("{\"text\": \"\xff\"}", HB_EUTF8);
    expect_refused("{\"text\": \"\\udc00\"}", HB_EUTF8);
    expect_refused("42", HB_EREQUEST);
    expect_refused("\"text\"", HB_EREQUEST);
    expect_refused("null", HB_EREQUEST);
    expect_refused("[]", HB_EREQUEST);
    expect_refused("[{},{},{},{},{}]", HB_EBATCH);
    /* a key twice has no one meaning, in an item or a batch */
    expect_refused("{\"control\":\"ping\",\"control\":\"reload\"}", HB_EREQUEST);
    expect_refused("[{\"text\":\"a\",\"text\":\"b\"}]", HB_EREQUEST);
    /* a number jansson cannot hold makes nothing valid that is not */
    expect_refused("{\"id\": 1e400, \"text\": \"a\"", HB_EJSON);
    expect_refused("{\"id\": 1e400e5, \"text\": \"a\"}", HB_EJSON);
    expect_refused("{\"id\": 1e400, \"x\": 01}", HB_EJSON);
    expect_refused("{\"id\": 1e400, \"x\": 1.}", HB_EJSON);
    expect_refused("{\"id\": 1e400, \"x\": -}", HB_EJSON);
    expect_refused("{\"id\": 1e400, \"x\": tru}", HB_EJSON);
    expect_refused("[true1e400]", HB_EJSON);
    expect_refused("[1e400 2]", HB_EJSON);
    expect_refused("{\"id\": 1e400, \"text\": \"\xff\"}", HB_EUTF8);
    expect_refused("{\"id\": 1e400, \"id\": 2}", HB_EREQUEST);
    expect_refused("1e400", HB_EREQUEST);
    expect_refused("-9223372036854775809", HB_EREQUEST);
}

/* Where a body is malformed past a number jansson cannot hold, the error
 * names the same line and column as it would without that number. */
static void test_errors_past_huge_numbers_keep_their_place(void **state)
{
    (void)state;
    hb_error a, b;
    assert_null(parse("{\"id\": 1e400,\n \"text\": }", &a));
    assert_null(parse("{\"id\": 1,\n \"text\": }", &b));
    assert_int_equal(a.code, HB_EJSON);
    assert_non_null(strstr(a.message, "line 2, column 10"));
    assert_non_null(strstr(b.message, "line 2, column 10"));
}

static void test_parse_keeps_nul_bytes(void **state)
{
    (void)state;
    hb_error err;
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
    hb_error err;
    json_t *r = parse(
        "[{\"id\": \"x\", \"text\": \"hi\", \"urls\": [\"a.com\"], \"other\": 1},"
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
    assert_int_equal(err.code, HB_ENOTEXT);
    expect_echo(it.id, "7"); /* kept for the error reply */

    assert_int_equal(hb_request_item_check(json_array_get(r, 2), &it, &err), -1);
    assert_int_equal(err.code, HB_ENOTEXT);
    assert_non_null(strstr(err.message, "not a number"));
    expect_echo(it.id, "[1]");

    assert_int_equal(hb_request_item_check(json_array_get(r, 3), &it, &err), -1);
    assert_int_equal(err.code, HB_EREQUEST);
    json_decref(r);

    r = parse(
        "[{\"text\": \"a\", \"detail\": \"brief\"}, {\"text\": \"a\", \"detail\": \"full\"},"
        " {\"text\": \"a\", \"detail\": \"short\"}, {\"text\": \"a\", \"detail\": 1}]",
        &err);
    assert_int_equal(hb_request_item_check(json_array_get(r, 0), &it, &err), 0);
    assert_int_equal(it.detail, HB_DETAIL_BRIEF);
    assert_int_equal(hb_request_item_check(json_array_get(r, 1), &it, &err), 0);
    assert_int_equal(it.detail, HB_DETAIL_FULL);
    for (size_t i = 2; i < 4; i++) {
        assert_int_equal(hb_request_item_check(json_array_get(r, i), &it, &err), -1);
        assert_int_equal(err.code, HB_EREQUEST);
        assert_non_null(strstr(err.message, "\"detail\""));
    }
    json_decref(r);

    json_t *scalar = json_integer(3);
    assert_int_equal(hb_request_item_check(scalar, &it, &err), -1);
    assert_int_equal(err.code, HB_EREQUEST);
    assert_null(it.id);
    json_decref(scalar);
}

/* Ids as a client may write them, and the bytes the reply must carry:
 * numbers exactly as written, however large, small or oddly spelt, also
 * inside objects and arrays; everything else as jansson writes it, as
 * before (compact, strings with only the escapes JSON needs). */
static const struct {
    const char *raw, *echo;
} IDS[] = {
    {"9223372036854775808", "9223372036854775808"},
    {"-9223372036854775809", "-9223372036854775809"},
    {"123456789012345678901234567890", "123456789012345678901234567890"},
    {"1e400", "1e400"},
    {"-1E400", "-1E400"},
    {"1e-400", "1e-400"},
    {"-0", "-0"},
    {"1.0", "1.0"},
    {"1E+2", "1E+2"},
    {"1e2", "1e2"},
    {"0.1", "0.1"},
    {"0.1234567", "0.1234567"},
    {"7", "7"},
    {"{ \"k\" : 1e400, \"a\" : [ 1.0 , -0 ] }", "{\"k\":1e400,\"a\":[1.0,-0]}"},
    {"[ 9223372036854775808 , \"x\\\"y\" , { \"n\" : 1E400, \"id\": 2 } ]",
     "[9223372036854775808,\"x\\\"y\",{\"n\":1E400,\"id\":2}]"},
    {"{\"s\": \"q\\\"u\\\\o\\/t\\u00e9\\ud83d\\ude00\", \"n\": 2.50}",
     "{\"s\":\"q\\\"u\\\\o/t\u00e9\xf0\x9f\x98\x80\",\"n\":2.50}"},
    {"[[[[-0.0e-0]]]]", "[[[[-0.0e-0]]]]"},
    /* no number: exactly as before */
    {"\"m-1\"", "\"m-1\""},
    {"\"x\\\"y\\u0041\\/\\u0000\"", "\"x\\\"yA/\\u0000\""},
    {"\"\\u00e9 [1e400]\"", "\"\xc3\xa9 [1e400]\""},
    {"null", "null"},
    {"true", "true"},
    {"false", "false"},
    {"{ }", "{}"},
    {"[ ]", "[]"},
    {"{\"a\" : \"b\", \"c\": [null, true, {\"d\\n\": \"e\"}]}",
     "{\"a\":\"b\",\"c\":[null,true,{\"d\\n\":\"e\"}]}"},
};

/* Every id of the table, wherever it stands in a request, comes back as
 * its echo: first or last member, after a text that looks like an id,
 * under an escaped key, as an item of a batch, and from the broker's peek. */
static void test_ids_echoed_exactly(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof IDS / sizeof IDS[0]; i++) {
        const char *raw = IDS[i].raw, *echo = IDS[i].echo;
        char body[512];
        snprintf(body, sizeof body, "{\"id\": %s, \"text\": \"hi\"}", raw);
        expect_item_echo(body, 0, echo);
        json_t *peeked = hb_request_peek_id(body, strlen(body));
        expect_echo(peeked, echo);
        json_decref(peeked);
        snprintf(body, sizeof body,
                 "{\"text\": \"say \\\"id\\\": 5, {[\", \"x\": {\"id\": 1},\n"
                 "\t\"id\"\r\n:\n%s\n}",
                 raw);
        expect_item_echo(body, 0, echo);
        snprintf(body, sizeof body, "{\"\\u0069d\": %s}", raw);
        expect_item_echo(body, 0, echo);
        snprintf(body, sizeof body,
                 " [ {\"text\": \"a]\", \"id\": [1e999]} , 5, {\"n\": {\"id\": 0}, "
                 "\"id\" : %s } ,"
                 "{\"id\":-1}] ",
                 raw);
        expect_item_echo(body, 0, "[1e999]");
        expect_item_echo(body, 2, echo);
        expect_item_echo(body, 3, "-1");
        /* the reply holds the number tokens as they were sent */
        if (strchr(raw, '"') == NULL) {
            json_t *r = hb_request_parse(body, strlen(body), 8, NULL);
            json_t *reply =
                json_pack("[{s:O}]", "id", json_object_get(json_array_get(r, 2), "id"));
            char *out = hb_reply_dumps(reply, JSON_COMPACT);
            char want[512];
            snprintf(want, sizeof want, "[{\"id\":%s}]", echo);
            assert_string_equal(out, want);
            free(out);
            json_decref(reply);
            json_decref(r);
        }
    }
}

/* An id without numbers is written exactly as jansson wrote it before. */
/* jansson reads a NUL byte right after a number or literal as nothing:
 * so does the echo. */
static void test_ids_followed_by_nul(void **state)
{
    (void)state;
    static const char body[] =
        "[{\"id\": 1e400\0, \"text\": \"a\"}, {\"id\": [true\0, 2\0]}]";
    json_t *r = hb_request_parse(body, sizeof body - 1, 4, NULL);
    assert_non_null(r);
    hb_request_item it;
    hb_request_item_check(json_array_get(r, 0), &it, NULL);
    expect_echo(it.id, "1e400");
    hb_request_item_check(json_array_get(r, 1), &it, NULL);
    expect_echo(it.id, "[true,2]");
    json_decref(r);
}

static void test_ids_without_numbers_as_before(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof IDS / sizeof IDS[0]; i++) {
        if (strpbrk(IDS[i].raw, "0123456789") && IDS[i].raw[0] != '"')
            continue;
        json_t *id = json_loads(IDS[i].raw, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        assert_non_null(id);
        char *before = json_dumps(id, JSON_ENCODE_ANY | HB_JSON_FLAGS);
        assert_string_equal(before, IDS[i].echo);
        free(before);
        json_decref(id);
    }
}

/* hb_reply_dumpb is json_dumpb's contract: the size needed whatever the
 * room, and never a byte written past it. */
static void test_reply_dumpb_counts_and_stays_in_bounds(void **state)
{
    (void)state;
    const char *body =
        "[{\"id\": 1e400, \"text\": \"a\"}, {\"id\": \"s\"}, {\"id\": -0}]";
    json_t *req = hb_request_parse(body, strlen(body), 8, NULL);
    json_t *replies = json_array();
    for (size_t i = 0; i < 3; i++) {
        hb_request_item it;
        hb_request_item_check(json_array_get(req, i), &it, NULL);
        json_array_append_new(replies, hb_error_reply(it.id, HB_EOVERLOADED, "m"));
    }
    json_array_append_new(
        replies, json_pack("{s:O}", "id", json_object_get(json_array_get(req, 2), "id")));
    const char *want =
        "[{\"id\":1e400,\"error\":{\"code\":\"overloaded\",\"message\":\"m\"}},"
        "{\"id\":\"s\",\"error\":{\"code\":\"overloaded\",\"message\":\"m\"}},"
        "{\"id\":-0,\"error\":{\"code\":\"overloaded\",\"message\":\"m\"}},{\"id\":-0}]";
    size_t n = hb_reply_dumpb(replies, NULL, 0, JSON_COMPACT);
    assert_int_equal(n, strlen(want));
    char buf[256];
    for (size_t cap = 0; cap <= n; cap++) {
        memset(buf, '#', sizeof buf);
        assert_int_equal(hb_reply_dumpb(replies, buf, cap, JSON_COMPACT), n);
        assert_int_equal(buf[cap], '#');
    }
    assert_memory_equal(buf, want, n);
    json_decref(replies);
    json_decref(req);
}

/* A reply with an exact id is the id's text, then the bytes jansson writes
 * for its other members: in order, keys escaped, values written with the
 * flags (six significant digits here), wherever the id stood. */
static void test_reply_with_exact_id_as_jansson_writes_it(void **state)
{
    (void)state;
    const char *body = "{\"id\": 7, \"text\": \"a\"}";
    json_t *req = hb_request_parse(body, strlen(body), 8, NULL);
    json_t *id = json_object_get(req, "id");
    json_t *members = json_pack("{s:s, s:f, s:{s:[i, f]}, s:[]}", "verdict", "fraud", "p",
                                0.123456789, "tasks", "q\"\\\n", 1, 2.5, "empty");
    char *rest = json_dumps(members, HB_JSON_FLAGS);
    char want[256];
    snprintf(want, sizeof want, "{\"id\":7,%s", rest + 1);
    json_t *first = json_pack("{s:O}", "id", id), *last = json_copy(members);
    json_object_update(first, members);
    json_object_set(last, "id", id);
    char *a = hb_reply_dumps(first, HB_JSON_FLAGS),
         *b = hb_reply_dumps(last, HB_JSON_FLAGS);
    assert_string_equal(a, want);
    assert_string_equal(b, want);
    free(a);
    free(b);
    free(rest);
    json_decref(first);
    json_decref(last);
    json_decref(members);
    json_decref(req);
}

static void test_peek_id(void **state)
{
    (void)state;
    const char *body = "{\"text\": \"x\", \"id\": {\"k\": [1, 2]}}";
    json_t *id = hb_request_peek_id(body, strlen(body));
    expect_echo(id, "{\"k\":[1,2]}");
    json_decref(id);
    assert_null(hb_request_peek_id("{\"id\": 1, \"id\": 2}", 18)); /* no one id */
    assert_null(hb_request_peek_id("[{\"id\": 1}]", 11));
    assert_null(hb_request_peek_id("{\"id\": ", 7));
    assert_null(hb_request_peek_id("{\"text\": \"a\"}", 13));
}

/* Every refusal a client can see is one code with one name, and the name
 * reads back as the code (the web server maps hubaod's replies so). */
static void test_every_error_code_has_one_name(void **state)
{
    (void)state;
    for (int a = HB_OK; a >= HB_EINTERNAL; a--) {
        const char *name = hb_err_name(a);
        assert_int_equal(hb_err_from_name(name), a);
        for (int b = HB_OK; b > a; b--)
            if (strcmp(hb_err_name(b), name) == 0)
                fail_msg("codes %d and %d are both \"%s\"", a, b, name);
    }
    assert_string_equal(hb_err_name(HB_EINTERNAL - 1), "internal");
    assert_int_equal(hb_err_from_name("no_such_code"), HB_EINTERNAL);
    assert_string_equal(hb_err_name(HB_EINFLIGHT), "too_many_in_flight");
    assert_string_equal(hb_err_name(HB_EJSON), "malformed_json");
}

static void test_error_reply(void **state)
{
    (void)state;
    json_t *id = json_string("m-1");
    json_t *r = hb_error_reply(id, HB_EOVERLOADED, "busy");
    char *s = json_dumps(r, JSON_COMPACT);
    assert_string_equal(
        s, "{\"id\":\"m-1\",\"error\":{\"code\":\"overloaded\",\"message\":\"busy\"}}");
    free(s);
    json_decref(r);
    json_decref(id);
    r = hb_error_reply(NULL, HB_EDEADLINE, "late");
    assert_null(json_object_get(r, "id"));
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_objects_and_batches),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_errors_past_huge_numbers_keep_their_place),
        cmocka_unit_test(test_ids_echoed_exactly),
        cmocka_unit_test(test_ids_followed_by_nul),
        cmocka_unit_test(test_ids_without_numbers_as_before),
        cmocka_unit_test(test_reply_dumpb_counts_and_stays_in_bounds),
        cmocka_unit_test(test_reply_with_exact_id_as_jansson_writes_it),
        cmocka_unit_test(test_parse_keeps_nul_bytes),
        cmocka_unit_test(test_item_check),
        cmocka_unit_test(test_peek_id),
        cmocka_unit_test(test_error_reply),
        cmocka_unit_test(test_every_error_code_has_one_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
