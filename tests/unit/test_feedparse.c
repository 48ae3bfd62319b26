/*
 * test_feedparse.c - feed downloads in the three formats: which lines
 * become url, host or domain entries, what is skipped as garbage, and which
 * downloads are refused whole (empty, truncated, mostly garbage).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "feedparse.h"

static hb_feed_entries *parse(const char *text, hb_feed_format fmt, hb_error *err)
{
    hb_error_clear(err);
    return hb_feedparse(text, strlen(text), fmt, err);
}

/* 1 if e lists (kind, value). */
static int lists(const hb_feed_entries *e, hb_feed_kind kind, const char *value)
{
    for (size_t i = 0; i < e->count; i++) {
        if (e->items[i].kind == kind && strcmp(e->items[i].value, value) == 0)
            return 1;
    }
    return 0;
}

typedef struct entry_case {
    const char *raw;
    char kind; /* 0: rejected */
    const char *value;
} entry_case;

/* A page is a url entry; only a bare host or bare registrable domain
 * becomes a host or domain entry. */
static const entry_case entry_cases[] = {
    {"evil.com", 'd', "evil.com"},
    {"EVIL.COM.", 'd', "evil.com"},
    {"evil.co.uk", 'd', "evil.co.uk"},
    {"login.evil.co.uk", 'h', "login.evil.co.uk"},
    {"www.evil.com", 'h', "www.evil.com"},
    {"scam.github.io", 'd', "scam.github.io"},
    {"bücher.de", 'd', "xn--bcher-kva.de"},
    {"203.0.113.9", 'h', "203.0.113.9"},
    {"[2001:db8::1]", 'h', "[2001:db8::1]"},
    {"evil.com/", 'u', "http://evil.com/"},
    {"http://evil.com", 'u', "http://evil.com/"},
    {"https://docs.google.com/forms/d/e/1FAIpQ/viewform", 'u',
     "https://docs.google.com/forms/d/e/1FAIpQ/viewform"},
    {"evil.com:8080", 'u', "http://evil.com:8080/"},
    {"user@evil.com", 'u', "http://user@evil.com/"},
    {"evil.com?x=1", 'u', "http://evil.com/?x=1"},
    {"HTTPS://Evil.com:443/a/../b", 'u', "https://evil.com/b"},
    /* rejected */
    {"localhost", 0, NULL},
    {"http://intranet/x", 0, NULL},
    {"two words.com", 0, NULL},
    {"evil.com\t", 0, NULL},
    {"http://evil.com:99999/", 0, NULL},
    {"", 0, NULL},
};

static void test_entry_kinds(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof entry_cases / sizeof entry_cases[0]; i++) {
        const entry_case *c = &entry_cases[i];
        hb_feed_kind kind;
        hb_url u;
        hb_error err;
        int rc = hb_feedparse_entry(c->raw, strlen(c->raw), &kind, &u, &err);
        if (!c->kind) {
            if (rc != HB_EINVAL)
                fail_msg("\"%s\" should be rejected", c->raw);
            assert_true(err.message[0] != '\0');
            continue;
        }
        if (rc != 0)
            fail_msg("\"%s\": %s", c->raw, err.message);
        const char *v = kind == HB_FEED_URL    ? u.url
                        : kind == HB_FEED_HOST ? u.host
                                               : u.domain;
        if ((char)kind != c->kind || strcmp(v, c->value) != 0)
            fail_msg("\"%s\": got %c %s, want %c %s", c->raw, (char)kind, v, c->kind,
                     c->value);
    }
}

static void test_text_good(void **state)
{
    (void)state;
    hb_error err;
    const char *feed = "\xef\xbb\xbf# OpenPhish style\r\n"
                       "https://phish.example.com/login.php\r\n"
                       "\r\n"
                       "   evil.com   # a whole domain\n"
                       "login.bad.org\n"
                       "#commented.example.com\n"
                       "https://phish.example.com/login.php\n" /* duplicate */
                       "http://203.0.113.7/bank/";             /* no newline */
    hb_feed_entries *e = parse(feed, HB_FEED_TEXT, &err);
    assert_non_null(e);
    assert_int_equal(e->records, 5);
    assert_int_equal(e->rejected, 0);
    assert_int_equal(e->count, 4);
    assert_true(lists(e, HB_FEED_URL, "https://phish.example.com/login.php"));
    assert_true(lists(e, HB_FEED_URL, "http://203.0.113.7/bank/"));
    assert_true(lists(e, HB_FEED_DOMAIN, "evil.com"));
    assert_true(lists(e, HB_FEED_HOST, "login.bad.org"));
    assert_false(lists(e, HB_FEED_DOMAIN, "bad.org"));
    assert_false(lists(e, HB_FEED_DOMAIN, "example.com"));
    /* sorted by kind, then value */
    for (size_t i = 1; i < e->count; i++) {
        int k = (int)e->items[i - 1].kind - (int)e->items[i].kind;
        assert_true(k < 0 ||
                    (k == 0 && strcmp(e->items[i - 1].value, e->items[i].value) < 0));
    }
    hb_feed_entries_free(e);
}

static void test_text_some_garbage(void **state)
{
    (void)state;
    hb_error err;
    const char *feed = "https://a.example.com/1\n"
                       "https://a.example.com/2\n"
                       "not a url\n"
                       "https://a.example.com/3\n"
                       "localhost\n";
    hb_feed_entries *e = parse(feed, HB_FEED_TEXT, &err);
    assert_non_null(e);
    assert_int_equal(e->count, 3);
    assert_int_equal(e->records, 5);
    assert_int_equal(e->rejected, 2);
    assert_string_equal(e->first_rejected, "line 3: more than one word on the line");
    hb_feed_entries_free(e);
}

/* A record whose normalised value would not read back as itself (a
 * byte-order mark inside a host, found by fuzz_feedparse) is rejected,
 * not written into a copy that blocklist.c would then refuse whole. */
static void test_text_value_must_round_trip(void **state)
{
    (void)state;
    hb_error err;
    const char *feed = "https://a.example.com/1\n"
                       "0.2%3\xef\xbb\xbf"
                       "4\n"
                       "https://a.example.com/2\n";
    hb_feed_entries *e = parse(feed, HB_FEED_TEXT, &err);
    assert_non_null(e);
    assert_int_equal(e->count, 2);
    assert_int_equal(e->rejected, 1);
    hb_feed_entries_free(e);
}

static void test_text_refused(void **state)
{
    (void)state;
    hb_error err;
    /* mostly garbage: an error page served as the feed */
    hb_feed_entries *e = parse("<html>\n<body>\nService unavailable\n"
                               "https://a.example.com/\n</body>\n</html>\n",
                               HB_FEED_TEXT, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "of the 6 records are not URLs"));

    e = parse("<html>\n</html>\n", HB_FEED_TEXT, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "none of the 2 records"));

    e = hb_feedparse("", 0, HB_FEED_TEXT, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EEMPTY);

    e = parse("# only comments\n\n   \n# here\n", HB_FEED_TEXT, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EEMPTY);

    /* binary junk */
    static const char junk[] = "\x00\x01\xff\xfe\n\x7f\x80\n";
    e = hb_feedparse(junk, sizeof junk - 1, HB_FEED_TEXT, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
}

static const char URLHAUS[] =
    "################################################################\n"
    "# abuse.ch URLhaus Database Dump (CSV - recent URLs only)      #\n"
    "# Terms Of Use: https://urlhaus.abuse.ch/api/                  #\n"
    "################################################################\n"
    "#\n"
    "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,"
    "reporter\n"
    "\"1\",\"2024-01-01 00:00:00\",\"http://198.51.100.4:8080/i.sh\","
    "\"online\",\"2024-01-01\",\"malware_download\",\"elf,mirai\","
    "\"https://urlhaus.abuse.ch/url/1/\",\"a\"\r\n"
    "\"2\",\"2024-01-01 00:00:01\",\"https://csv.example.org/a,b/x.exe\","
    "\"offline\",\"\",\"malware_download\",\"exe\","
    "\"https://urlhaus.abuse.ch/url/2/\",\"b\"\r\n";

static void test_csv_urlhaus(void **state)
{
    (void)state;
    hb_error err;
    hb_feed_entries *e = parse(URLHAUS, HB_FEED_CSV, &err);
    assert_non_null(e);
    assert_int_equal(e->records, 2);
    assert_int_equal(e->count, 2);
    assert_true(lists(e, HB_FEED_URL, "http://198.51.100.4:8080/i.sh"));
    assert_true(lists(e, HB_FEED_URL, "https://csv.example.org/a,b/x.exe"));
    /* the urlhaus_link column is not the url column */
    assert_false(lists(e, HB_FEED_URL, "https://urlhaus.abuse.ch/url/1/"));
    hb_feed_entries_free(e);
}

static void test_csv_header_row_and_quoting(void **state)
{
    (void)state;
    hb_error err;
    const char *feed = "id,URL,note\n"
                       "1,evil.com,\"plain domain\"\n"
                       "2,\"https://q.example.com/a?b=1\",\"says \"\"hi\"\"\n"
                       "over two lines\"\n"
                       "3,https://q.example.com/c\n" /* 2 fields: skipped */
                       "4,login.bad.org,x\n";
    hb_feed_entries *e = parse(feed, HB_FEED_CSV, &err);
    assert_non_null(e);
    assert_int_equal(e->records, 4);
    assert_int_equal(e->rejected, 1);
    assert_string_equal(e->first_rejected, "line 5: 2 fields, expected 3");
    assert_int_equal(e->count, 3);
    assert_true(lists(e, HB_FEED_DOMAIN, "evil.com"));
    assert_true(lists(e, HB_FEED_URL, "https://q.example.com/a?b=1"));
    assert_true(lists(e, HB_FEED_HOST, "login.bad.org"));
    hb_feed_entries_free(e);
}

static void test_csv_without_header(void **state)
{
    (void)state;
    hb_error err;
    const char *feed = "2024-01-01,https://n.example.com/x,phish\n"
                       "2024-01-02,https://n.example.com/y,phish\n";
    hb_feed_entries *e = parse(feed, HB_FEED_CSV, &err);
    assert_non_null(e);
    assert_int_equal(e->count, 2);
    assert_true(lists(e, HB_FEED_URL, "https://n.example.com/y"));
    hb_feed_entries_free(e);

    /* no header and no scheme:// field anywhere: not a URL feed */
    e = parse("1,2,3\n4,5,6\n", HB_FEED_CSV, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "no column named \"url\""));
}

static void test_csv_truncated(void **state)
{
    (void)state;
    hb_error err;
    /* cut inside a quoted field */
    size_t cut = (size_t)(strstr(URLHAUS, "x.exe") - URLHAUS);
    hb_feed_entries *e = hb_feedparse(URLHAUS, cut, HB_FEED_CSV, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "line 8: a quoted field is never closed"));

    /* cut between fields of an unquoted last record */
    e = parse("id,url,date\n1,https://t.example.com/a,2024\n2,https://t.e", HB_FEED_CSV,
              &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "truncated"));

    /* a complete last record without a newline is fine */
    e = parse("id,url,date\n1,https://t.example.com/a,2024", HB_FEED_CSV, &err);
    assert_non_null(e);
    assert_int_equal(e->count, 1);
    hb_feed_entries_free(e);
}

static void test_csv_empty(void **state)
{
    (void)state;
    hb_error err;
    hb_feed_entries *e = parse("# id,url\n", HB_FEED_CSV, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EEMPTY);
    e = parse("id,url\n\n", HB_FEED_CSV, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EEMPTY);
}

static void test_json(void **state)
{
    (void)state;
    hb_error err;
    const char *feed = "[\"https://j.example.com/a\",\n"
                       " {\"url\": \"j-evil.com\", \"target\": \"bank\"},\n"
                       " {\"url\": \"https://j.example.com/b\"},\n"
                       " 42,\n"
                       " {\"link\": \"https://j.example.com/c\"}]";
    hb_feed_entries *e = parse(feed, HB_FEED_JSON, &err);
    assert_non_null(e);
    assert_int_equal(e->records, 5);
    assert_int_equal(e->rejected, 2);
    assert_non_null(strstr(e->first_rejected, "line 4:"));
    assert_int_equal(e->count, 3);
    assert_true(lists(e, HB_FEED_URL, "https://j.example.com/a"));
    assert_true(lists(e, HB_FEED_DOMAIN, "j-evil.com"));
    hb_feed_entries_free(e);
}

static void test_json_refused(void **state)
{
    (void)state;
    hb_error err;
    const char *good = "[\"https://j.example.com/a\", \"https://j.example.com/b\"]";
    hb_feed_entries *e = hb_feedparse(good, strlen(good) - 5, HB_FEED_JSON, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "does not parse"));

    e = parse("{\"url\": \"https://j.example.com/a\"}", HB_FEED_JSON, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "must be an array"));

    e = parse("[]", HB_FEED_JSON, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EEMPTY);

    e = parse("[1, 2, \"https://j.example.com/a\"]", HB_FEED_JSON, &err);
    assert_null(e);
    assert_int_equal(err.code, HB_EFORMAT);
}

static void test_write_copy(void **state)
{
    (void)state;
    hb_error err;
    hb_feed_entries *e = parse("https://w.example.com/p\nw-evil.com\n"
                               "a.w-bad.org\n",
                               HB_FEED_TEXT, &err);
    assert_non_null(e);
    char buf[512] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    assert_int_equal(hb_feed_entries_write(e, f), 0);
    fclose(f);
    assert_string_equal(buf, HB_FEED_COPY_MAGIC "\n"
                                                "d w-evil.com\n"
                                                "h a.w-bad.org\n"
                                                "u https://w.example.com/p\n"
                                                "# end 3\n");
    hb_feed_entries_free(e);
}

static void test_format_names(void **state)
{
    (void)state;
    hb_feed_format f;
    assert_int_equal(hb_feed_format_from_name("csv", &f), 0);
    assert_int_equal(f, HB_FEED_CSV);
    assert_string_equal(hb_feed_format_name(HB_FEED_JSON), "json");
    assert_int_equal(hb_feed_format_from_name("CSV", &f), HB_EINVAL);
    assert_int_equal(hb_feed_format_from_name(NULL, &f), HB_EINVAL);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_kinds),
        cmocka_unit_test(test_text_good),
        cmocka_unit_test(test_text_some_garbage),
        cmocka_unit_test(test_text_value_must_round_trip),
        cmocka_unit_test(test_text_refused),
        cmocka_unit_test(test_csv_urlhaus),
        cmocka_unit_test(test_csv_header_row_and_quoting),
        cmocka_unit_test(test_csv_without_header),
        cmocka_unit_test(test_csv_truncated),
        cmocka_unit_test(test_csv_empty),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_refused),
        cmocka_unit_test(test_write_copy),
        cmocka_unit_test(test_format_names),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
