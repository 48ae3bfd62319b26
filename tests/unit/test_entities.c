/*
 * test_entities.c - entity extraction on the forms scam messages really
 * use, masking, and bounded time on hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "entities.h"
#include "testutil.h"

typedef struct fixture {
    hb_entities *ents;
    hb_entities_scratch *scratch;
} fixture;

static int setup(void **state)
{
    hb_error err;
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->ents = hb_entities_new(&err);
    if (!f->ents) {
        fprintf(stderr, "hb_entities_new: %s\n", err.message);
        free(f);
        return -1;
    }
    f->scratch = hb_entities_scratch_new();
    if (!f->scratch)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hb_entities_scratch_free(f->scratch);
    hb_entities_free(f->ents);
    free(f);
    return 0;
}

/* One extraction case: text and up to four expected entities "kind:text",
 * in order; NULL ends the list. */
typedef struct extract_case {
    const char *text;
    const char *want[5];
} extract_case;

static const extract_case extract_cases[] = {
    /* links glued to Chinese text, as normalised messages carry them */
    {"点击http://abc.cn/x领取", {"url:http://abc.cn/x"}},
    {"登录www.icbc-vip.top激活", {"url:www.icbc-vip.top"}},
    {"点击abc.cn/x领取", {"url:abc.cn/x"}},
    {"访问icbc-vip.top/login.", {"url:icbc-vip.top/login"}},
    {"see https://a.cn/x?y=1&z=%41).", {"url:https://a.cn/x?y=1&z=%41"}},
    {"(http://a.cn/wiki/foo_(bar))", {"url:http://a.cn/wiki/foo_(bar)"}},
    {"网址:www.abc.com.", {"url:www.abc.com"}},
    {"打开http://例子.中国/a领取", {"url:http://例子.中国/a"}},
    {"http://[::1]:8080/x, 或 http://192.168.1.1/",
     {"url:http://[::1]:8080/x", "url:http://192.168.1.1/"}},
    {"abc.com.cn:8080/p?q=1 ok", {"url:abc.com.cn:8080/p?q=1"}},
    {"alipays://platformapi/startapp?appid=1!",
     {"url:alipays://platformapi/startapp?appid=1"}},
    {"HTTP://Example.COM/A", {"url:HTTP://Example.COM/A"}},
    {"3.cn/abc是短链", {"url:3.cn/abc"}},
    /* a search for a link starts at the run of scheme or host characters
     * before the next "a.b" or "://" (link_search_start): dots that are
     * no link's come first, and a scheme holds '+' and '.' */
    {"评分3.5,见 git+ssh://host.cn/x 和 WWW.ABC.COM",
     {"url:git+ssh://host.cn/x", "url:WWW.ABC.COM"}},
    {"e.g. 1.5 times at abc.top/p.", {"url:abc.top/p"}},
    {"v1.2 ok: x-y.com then z.cn", {"url:x-y.com", "url:z.cn"}},
    {"note: see 10.5 a.b://x.cn", {"url:a.b://x.cn"}},
    /* not links */
    {"联系abc@qq.com或john.smith@gmail.com", {NULL}},
    {"文件a.txt和x.jpg,版本v1.2.3,评分3.5", {NULL}},
    {"价格3.5元", {"money:3.5元"}},
    /* digits inside a link stay in the link */
    {"http://a.cn/13812345678", {"url:http://a.cn/13812345678"}},
    {"转账5000元到http://x.cn", {"money:5000元", "url:http://x.cn"}},
    /* phones */
    {"电话13812345678", {"phone:13812345678"}},
    {"+86 138-1234-5678", {"phone:+86 138-1234-5678"}},
    {"008613812345678", {"phone:008613812345678"}},
    {"8613812345678", {"phone:8613812345678"}},
    {"打138 1234 5678咨询", {"phone:138 1234 5678"}},
    {"座机010-12345678或0755 12345678", {"phone:010-12345678", "phone:0755 12345678"}},
    {"客服400-123-4567", {"phone:400-123-4567"}},
    {"call +447911123456 or (415) 555-2671 or 07911 123456",
     {"phone:+447911123456", "phone:(415) 555-2671", "phone:07911 123456"}},
    {"尾号138****5678", {"phone:138****5678"}},
    {"13812345678@163.com", {"phone:13812345678"}},
    /* accounts */
    {"转账5000元到6222021234567890123", {"money:5000元", "account:6222021234567890123"}},
    {"卡号6222 0212 3456 7890,户名张三", {"account:6222 0212 3456 7890"}},
    {"6228xxxxxxxx1234和6228****1234",
     {"account:6228xxxxxxxx1234", "account:6228****1234"}},
    {"6228 **** **** 1234 或 6222-0212-3456-7890",
     {"account:6228 **** **** 1234", "account:6222-0212-3456-7890"}},
    {"123456789012345678901234", {NULL}},
    /* money */
    {"¥1,000.50 $20 rmb500 20 usd",
     {"money:¥1,000.50", "money:$20", "money:rmb500", "money:20 usd"}},
    {"日赚3万,月入5k,奖金2.5w", {"money:3万", "money:5k", "money:2.5w"}},
    {"共3万人参加,重5kg", {NULL}},
    {"返利100块钱和5百元", {"money:100块钱", "money:5百元"}},
    /* handles */
    {"加微信abc123", {"handle:微信abc123"}},
    {"微信号: abc_123领取", {"handle:微信号: abc_123"}},
    {"qq:12345678 tg @scamguy", {"handle:qq:12345678", "handle:tg @scamguy"}},
    {"加wx abc123 或 qq群123456789", {"handle:wx abc123", "handle:qq群123456789"}},
    {"微信13812345678", {"handle:微信13812345678"}},
    {"line breaks and online 12345 and tg group", {NULL}},
    /* the names are looked for before the handle pattern runs
     * (read_traits): in any case, at the start, after CJK, never inside a
     * word, and 加v in either case */
    {"WeChat: ABC12345", {"handle:WeChat: ABC12345"}},
    {"skype=abcd1234 ok", {"handle:skype=abcd1234"}},
    {"请加VX abc12345", {"handle:VX abc12345"}},
    {"加V abc12345", {"handle:加V abc12345"}},
    {"xqq:12345678 and whatsappish 1234567", {NULL}},
    {"电报@scam_boss1", {"handle:电报@scam_boss1"}},
    {"", {NULL}},
};

static void check_case(fixture *f, const extract_case *c)
{
    hb_entity got[16];
    size_t n = 99;
    size_t len = strlen(c->text);
    assert_int_equal(hb_entities_find(f->ents, f->scratch, c->text, len, got, 16, &n), 0);
    size_t want_n = 0;
    while (want_n < 5 && c->want[want_n])
        want_n++;
    char buf[512];
    int ok = n == want_n;
    for (size_t i = 0; ok && i < n; i++) {
        snprintf(buf, sizeof buf, "%s:%.*s", hb_entity_kind_name(got[i].kind),
                 (int)(got[i].end - got[i].start), c->text + got[i].start);
        ok = strcmp(buf, c->want[i]) == 0;
    }
    if (!ok) {
        fprintf(stderr, "text: %s\n  got %zu:", c->text, n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " [%s:%.*s]", hb_entity_kind_name(got[i].kind),
                    (int)(got[i].end - got[i].start), c->text + got[i].start);
        fprintf(stderr, "\n  want %zu:", want_n);
        for (size_t i = 0; i < want_n; i++)
            fprintf(stderr, " [%s]", c->want[i]);
        fprintf(stderr, "\n");
        fail();
    }
}

static void test_extract_table(void **state)
{
    for (size_t i = 0; i < sizeof extract_cases / sizeof extract_cases[0]; i++)
        check_case(*state, &extract_cases[i]);
}

static void test_results_respect_max(void **state)
{
    fixture *f = *state;
    const char *text = "13812345678 13912345678 13712345678";
    hb_entity got[2];
    size_t n = 0;
    assert_int_equal(
        hb_entities_find(f->ents, f->scratch, text, strlen(text), got, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(got[1].start, 12);
    assert_int_equal(
        hb_entities_find(f->ents, f->scratch, text, strlen(text), NULL, 0, &n), 0);
    assert_int_equal(n, 0);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    hb_entity got[1];
    size_t n = 7;
    assert_int_equal(hb_entities_find(NULL, f->scratch, "a", 1, got, 1, &n), HB_EINVAL);
    assert_int_equal(n, 0);
    assert_int_equal(hb_entities_find(f->ents, NULL, "a", 1, got, 1, &n), HB_EINVAL);
    assert_int_equal(hb_entities_find(f->ents, f->scratch, NULL, 1, got, 1, &n),
                     HB_EINVAL);
    assert_int_equal(hb_entities_find(f->ents, f->scratch, "a", 1, NULL, 1, &n),
                     HB_EINVAL);
    assert_int_equal(hb_entities_find(f->ents, f->scratch, "a", 1, got, 1, NULL),
                     HB_EINVAL);
    assert_int_equal(hb_entities_find(f->ents, f->scratch, NULL, 0, got, 1, &n), 0);
    assert_int_equal(n, 0);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(hb_entity_kind_name(HB_ENTITY_URL), "url");
    assert_string_equal(hb_entity_kind_name(HB_ENTITY_PHONE), "phone");
    assert_string_equal(hb_entity_kind_name(HB_ENTITY_ACCOUNT), "account");
    assert_string_equal(hb_entity_kind_name(HB_ENTITY_MONEY), "money");
    assert_string_equal(hb_entity_kind_name(HB_ENTITY_HANDLE), "handle");
    assert_string_equal(hb_entity_kind_name(HB_ENTITY_KINDS), "unknown");
}

typedef struct mask_case {
    hb_entity_kind kind;
    const char *text;
    const char *want;
} mask_case;

static const mask_case mask_cases[] = {
    {HB_ENTITY_PHONE, "13812345678", "138****5678"},
    {HB_ENTITY_PHONE, "138-1234-5678", "138****5678"},
    {HB_ENTITY_PHONE, "+86 138 1234 5678", "+861******5678"},
    {HB_ENTITY_PHONE, "(415) 555-2671", "415***2671"},
    {HB_ENTITY_PHONE, "138****5678", "138****5678"},
    {HB_ENTITY_PHONE, "1234567", "****567"},
    {HB_ENTITY_ACCOUNT, "6228480012345678", "622*********5678"},
    {HB_ENTITY_ACCOUNT, "6222 0212 3456 7890", "622*********7890"},
    {HB_ENTITY_ACCOUNT, "6228****1234", "622*****1234"},
    {HB_ENTITY_ACCOUNT, "6228xxxxxxxx1234", "622*********1234"},
    {HB_ENTITY_HANDLE, "微信abc123", "微信ab***"},
    {HB_ENTITY_HANDLE, "微信号: abc_123", "微信号: ab***"},
    {HB_ENTITY_HANDLE, "tg @scamguy", "tg @sc***"},
    {HB_ENTITY_HANDLE, "wxid_abc123", "wxid***"},
    {HB_ENTITY_HANDLE, "qq群123456789", "qq群12***"},
    {HB_ENTITY_HANDLE, "WX:abc123", "WX:ab***"},
    {HB_ENTITY_URL, "http://a.cn/13812345678", "http://a.cn/13812345678"},
    {HB_ENTITY_MONEY, "5000元", "5000元"},
    {HB_ENTITY_PHONE, "", ""},
};

static void test_mask_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mask_cases / sizeof mask_cases[0]; i++) {
        const mask_case *c = &mask_cases[i];
        char out[64];
        size_t n = hb_entity_mask(c->kind, c->text, strlen(c->text), out, sizeof out);
        if (strcmp(out, c->want) != 0 || n != strlen(c->want)) {
            fprintf(stderr, "mask %s: got '%s' want '%s'\n", c->text, out, c->want);
            fail();
        }
    }
}

static void test_mask_truncates_at_character(void **state)
{
    (void)state;
    char out[5];
    /* "微" is 3 bytes: "微信" (6) does not fit in 4 bytes + NUL */
    size_t n =
        hb_entity_mask(HB_ENTITY_MONEY, "微信abc", strlen("微信abc"), out, sizeof out);
    assert_int_equal(n, 3);
    assert_string_equal(out, "微");
    n = hb_entity_mask(HB_ENTITY_PHONE, "13812345678", 11, out, sizeof out);
    assert_int_equal(n, 4);
    assert_string_equal(out, "138*");
    assert_int_equal(hb_entity_mask(HB_ENTITY_PHONE, "1", 1, out, 0), 0);
    n = hb_entity_mask(HB_ENTITY_URL, NULL, 3, out, sizeof out);
    assert_int_equal(n, 0);
    assert_string_equal(out, "");
}

/* Fill buf with count copies of unit, NUL-terminated. */
static char *repeat(const char *unit, size_t count)
{
    size_t u = strlen(unit);
    char *buf = malloc(u * count + 1);
    assert_non_null(buf);
    for (size_t i = 0; i < count; i++)
        memcpy(buf + i * u, unit, u);
    buf[u * count] = '\0';
    return buf;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* About 100 KB of input built to make a naive pattern backtrack must come
 * back quickly (the bound is generous: sanitizers slow everything). */
static void test_hostile_inputs_are_prompt(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *unit;
        size_t count;
    } hostile[] = {
        {"1", 100000},   {".", 100000},   {"a.", 50000},         {"1.", 50000},
        {"1 ", 50000},   {"1,", 50000},   {"1-", 50000},         {"x", 100000},
        {"www.", 25000}, {"微信", 30000}, {"+", 100000},         {"6228*", 20000},
        {"a-", 50000},   {"¥", 50000},    {"13812345678", 9000},
    };
    hb_entity got[64];
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char *text = repeat(hostile[i].unit, hostile[i].count);
        size_t n = 0;
        double t0 = now();
        assert_int_equal(
            hb_entities_find(f->ents, f->scratch, text, strlen(text), got, 64, &n), 0);
        double dt = now() - t0;
        if (dt > 2.0) {
            fprintf(stderr, "'%s' x %zu took %.2fs\n", hostile[i].unit, hostile[i].count,
                    dt);
            fail();
        }
        free(text);
    }

    /* Many dots that are no link's, then one link: the search for the
     * link's start passes over each dot once (link_search_start). */
    for (int k = 0; k < 2; k++) {
        char *dots = repeat(k ? ": " : ". ", 50000);
        char *text = malloc(strlen(dots) + 16);
        assert_non_null(text);
        strcpy(text, dots);
        strcat(text, "see abc.cn");
        size_t n = 0;
        double t0 = now();
        assert_int_equal(
            hb_entities_find(f->ents, f->scratch, text, strlen(text), got, 64, &n), 0);
        if (now() - t0 > 2.0)
            fail_msg("%s before a link took %.2fs", k ? "colons" : "dots", now() - t0);
        assert_int_equal(n, 1);
        assert_int_equal(got[0].kind, HB_ENTITY_URL);
        free(dots);
        free(text);
    }

    /* A link that never ends: one URL, whole. */
    char *tail = repeat("a", 100000);
    char *text = malloc(strlen(tail) + 16);
    assert_non_null(text);
    strcpy(text, "http://");
    strcat(text, tail);
    size_t n = 0;
    assert_int_equal(
        hb_entities_find(f->ents, f->scratch, text, strlen(text), got, 64, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].end, strlen(text));
    free(tail);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_table),
        cmocka_unit_test(test_results_respect_max),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_mask_table),
        cmocka_unit_test(test_mask_truncates_at_character),
        cmocka_unit_test(test_hostile_inputs_are_prompt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
