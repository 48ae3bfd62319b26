/*
 * test_feedconf.c - reading feeds.conf: the accepted syntax, and an error
 * naming file:line for every kind of mistake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "feedconf.h"
#include "testutil.h"

static void test_good(void **state)
{
    (void)state;
    const char *text = "\xef\xbb\xbf# feeds\n"
                       "\n"
                       "openphish text https://openphish.com/feed.txt\n"
                       "  urlhaus\tcsv\t https://urlhaus.abuse.ch/downloads/csv_recent/ "
                       "  # URLhaus\r\n"
                       "# off json https://off.example.com/x.json\n"
                       "local.v2_x json http://127.0.0.1:8080/list.json#frag";
    hb_error err;
    hb_feedconf *c = hb_feedconf_parse(text, strlen(text), "t.conf", &err);
    if (!c)
        fail_msg("%s", err.message);
    assert_int_equal(c->count, 3);
    assert_string_equal(c->feeds[0].name, "openphish");
    assert_int_equal(c->feeds[0].format, HB_FEED_TEXT);
    assert_int_equal(c->feeds[0].line, 3);
    assert_string_equal(c->feeds[1].name, "urlhaus");
    assert_int_equal(c->feeds[1].format, HB_FEED_CSV);
    assert_string_equal(c->feeds[1].url,
                        "https://urlhaus.abuse.ch/downloads/csv_recent/");
    assert_string_equal(c->feeds[2].name, "local.v2_x");
    assert_int_equal(c->feeds[2].format, HB_FEED_JSON);
    assert_string_equal(c->feeds[2].url, "http://127.0.0.1:8080/list.json#frag");
    assert_int_equal(c->feeds[2].line, 6);
    hb_feedconf_free(c);

    c = hb_feedconf_parse("# nothing\n\n", 11, "t.conf", &err);
    assert_non_null(c);
    assert_int_equal(c->count, 0);
    hb_feedconf_free(c);
    hb_feedconf_free(NULL);
}

typedef struct bad_case {
    const char *text;
    const char *message;
} bad_case;

static void test_errors(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"a text\n", "t.conf:1: expected \"NAME FORMAT URL\", found 2 fields"},
        {"\na text https://x.example.com/ extra\n",
         "t.conf:2: expected \"NAME FORMAT URL\", found 4 fields"},
        {"-a text https://x.example.com/\n", "t.conf:1: feed name \"-a\""},
        {"a/b text https://x.example.com/\n", "t.conf:1: feed name \"a/b\""},
        {"a xml https://x.example.com/\n", "t.conf:1: feed a: format \"xml\""},
        {"a TEXT https://x.example.com/\n", "t.conf:1: feed a: format \"TEXT\""},
        {"a text ftp://x.example.com/\n", "t.conf:1: feed a: URL \"ftp://"},
        {"a text example.com/feed\n", "must start with https://"},
        {"a text https:///x\n", "t.conf:1: feed a: URL has no host"},
        {"a text https://\xc3\xa9.example.com/\n", "printable ASCII"},
        {"a text https://x.example.com/\nb csv https://y.example.com/\n"
         "a json https://z.example.com/\n",
         "t.conf:3: feed a is already configured on line 1"},
        {"a text https://x.example.com/\0\n", "NUL byte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        size_t len = strlen(t);
        if (strstr(cases[i].message, "NUL"))
            len += 2;
        hb_error err;
        hb_feedconf *c = hb_feedconf_parse(t, len, "t.conf", &err);
        if (c)
            fail_msg("case %zu accepted", i);
        assert_int_equal(err.code, HB_EFORMAT);
        if (!strstr(err.message, cases[i].message))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].message);
    }
}

static void test_load(void **state)
{
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s/feeds.conf", tu_tmpdir("feedconf"));
    hb_error err;
    assert_null(hb_feedconf_load(path, &err));
    assert_int_equal(err.code, HB_ENOTFOUND);
    assert_non_null(strstr(err.message, "feeds.conf"));

    const char *text = "x json https://x.example.com/list.json\n";
    tu_write_file(path, text, strlen(text));
    hb_feedconf *c = hb_feedconf_load(path, &err);
    assert_non_null(c);
    assert_int_equal(c->count, 1);
    hb_feedconf_free(c);

    /* the shipped configuration is valid and fetches nothing */
    c = hb_feedconf_load("feeds/feeds.conf", &err);
    if (!c)
        fail_msg("%s", err.message);
    assert_int_equal(c->count, 0);
    hb_feedconf_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
