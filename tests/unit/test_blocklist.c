/*
 * test_blocklist.c - loading feed copies from a directory and looking
 * links up: exact URL, host and domain matches, their precedence, that a
 * listed page never blocks its site, and that damaged copies are refused.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "blocklist.h"
#include "feedparse.h"
#include "testutil.h"

/* Parse text as a text feed and store it as DIR/NAME.list, as `hubao feeds
 * update` would. */
static void put_feed(const char *dir, const char *name, const char *text)
{
    hb_error err;
    hb_feed_entries *e = hb_feedparse(text, strlen(text), HB_FEED_TEXT, &err);
    if (!e)
        fail_msg("feed %s: %s", name, err.message);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.list", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(hb_feed_entries_write(e, f), 0);
    assert_int_equal(fclose(f), 0);
    hb_feed_entries_free(e);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tu_write_file(path, text, strlen(text));
}

/* Look raw up in b: the match kind, and the feed in *feed. */
static hb_block_match look(const hb_blocklist *b, const char *raw, const char **feed)
{
    hb_url u;
    hb_error err;
    if (hb_url_parse(raw, strlen(raw), &u, &err) != 0)
        fail_msg("%s: %s", raw, err.message);
    return hb_blocklist_lookup(b, &u, feed);
}

typedef struct lookup_case {
    const char *link;
    hb_block_match match;
    const char *feed;
} lookup_case;

static void test_lookups(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("blocklist-lookups"));
    put_feed(dir, "phish",
             "https://docs.google.com/forms/d/e/1FAIpQ/viewform\n"
             "https://evil.com/special/page?id=7\n"
             "http://203.0.113.7/bank/\n");
    put_feed(dir, "hosts", "login.bad-site.org\n198.51.100.9\nwww.evil.com\n");
    put_feed(dir, "domains", "evil.com\nscam.github.io\n");
    hb_error err;
    hb_blocklist *b = hb_blocklist_load_dir(dir, &err);
    if (!b)
        fail_msg("%s", err.message);

    static const lookup_case cases[] = {
        /* exact URL, whatever scheme or fragment the message used */
        {"https://docs.google.com/forms/d/e/1FAIpQ/viewform", HB_BLOCK_URL, "phish"},
        {"docs.google.com/forms/d/e/1FAIpQ/viewform", HB_BLOCK_URL, "phish"},
        {"https://DOCS.google.com:443/forms/d/e/x/../1FAIpQ/viewform#p2", HB_BLOCK_URL,
         "phish"},
        {"http://203.0.113.7/bank/", HB_BLOCK_URL, "phish"},
        /* a listed page blocks neither its host nor its domain */
        {"https://docs.google.com/forms/d/e/OTHER/viewform", HB_BLOCK_NONE, NULL},
        {"https://docs.google.com/", HB_BLOCK_NONE, NULL},
        {"https://google.com/", HB_BLOCK_NONE, NULL},
        {"http://203.0.113.7/", HB_BLOCK_NONE, NULL},
        {"https://docs.google.com/forms/d/e/1FAIpQ/viewform?x=1", HB_BLOCK_NONE, NULL},
        /* host entries: that host only */
        {"http://login.bad-site.org/anything?x=1", HB_BLOCK_HOST, "hosts"},
        {"LOGIN.bad-site.org", HB_BLOCK_HOST, "hosts"},
        {"http://198.51.100.9:8080/x", HB_BLOCK_HOST, "hosts"},
        {"http://bad-site.org/", HB_BLOCK_NONE, NULL},
        {"http://x.login.bad-site.org/", HB_BLOCK_NONE, NULL},
        /* domain entries: every host under the registrable domain */
        {"https://a.b.evil.com/login", HB_BLOCK_DOMAIN, "domains"},
        {"evil.com", HB_BLOCK_DOMAIN, "domains"},
        {"https://evil.com.example.net/", HB_BLOCK_NONE, NULL},
        {"https://notevil.com/", HB_BLOCK_NONE, NULL},
        {"https://x.scam.github.io/", HB_BLOCK_DOMAIN, "domains"},
        {"https://other.github.io/", HB_BLOCK_NONE, NULL},
        /* precedence: url > host > domain */
        {"https://evil.com/special/page?id=7", HB_BLOCK_URL, "phish"},
        {"https://www.evil.com/special/page?id=7", HB_BLOCK_HOST, "hosts"},
        {"https://www.evil.com/other", HB_BLOCK_HOST, "hosts"},
        {"https://evil.com/other", HB_BLOCK_DOMAIN, "domains"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *feed = "unset";
        hb_block_match m = look(b, cases[i].link, &feed);
        if (m != cases[i].match)
            fail_msg("%s: matched %s, want %s", cases[i].link, hb_block_match_name(m),
                     hb_block_match_name(cases[i].match));
        if (cases[i].feed ? !feed || strcmp(feed, cases[i].feed) != 0 : feed != NULL)
            fail_msg("%s: feed %s, want %s", cases[i].link, feed ? feed : "NULL",
                     cases[i].feed ? cases[i].feed : "NULL");
    }
    hb_blocklist_free(b);
}

static void test_feed_info(void **state)
{
    (void)state;
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("blocklist-info"));
    put_feed(dir, "beta", "https://b.example.com/1\nb-evil.com\n");
    put_feed(dir, "alpha",
             "https://b.example.com/1\nhttps://a.example.com/2\n"
             "a.example.org\n");
    snprintf(path, sizeof path, "%s/alpha.list", dir);
    struct timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    /* what else lives in a feeds directory is not a copy */
    put_file(dir, "alpha.meta", "{\"etag\": \"x\"}\n");
    put_file(dir, "alpha.tmp.Ab12Cd", "half a copy");
    put_file(dir, ".update.lock", "");

    hb_error err;
    hb_blocklist *b = hb_blocklist_load_dir(dir, &err);
    if (!b)
        fail_msg("%s", err.message);
    assert_int_equal(hb_blocklist_feed_count(b), 2);
    const hb_feed_info *a = hb_blocklist_feed(b, 0), *z = hb_blocklist_feed(b, 1);
    assert_string_equal(a->name, "alpha");
    assert_int_equal(a->entries, 3);
    assert_int_equal(a->updated, 1700000000);
    assert_string_equal(z->name, "beta");
    assert_int_equal(z->entries, 2);
    assert_true(z->updated > 1700000000);
    assert_null(hb_blocklist_feed(b, 2));
    /* listed by both: the first by name is reported */
    const char *feed;
    assert_int_equal(look(b, "https://b.example.com/1", &feed), HB_BLOCK_URL);
    assert_string_equal(feed, "alpha");
    hb_blocklist_free(b);
}

static void test_missing_and_empty(void **state)
{
    (void)state;
    hb_error err;
    /* a configured directory that is gone is refused, never read as "no
     * lists" (a reload would then unlist every domain) */
    assert_null(hb_blocklist_load_dir("build/tmp/no/such/feeds/dir", &err));
    assert_int_equal(err.code, HB_ENOTFOUND);
    assert_non_null(strstr(
        err.message, "build/tmp/no/such/feeds/dir: feeds directory does not exist"));
    hb_blocklist *b = hb_blocklist_load_dir(NULL, &err);
    assert_non_null(b);
    assert_int_equal(hb_blocklist_feed_count(b), 0);
    const char *feed = "unset";
    assert_int_equal(look(b, "https://evil.com/", &feed), HB_BLOCK_NONE);
    assert_null(feed);
    hb_blocklist_free(b);

    b = hb_blocklist_load_dir(tu_tmpdir("blocklist-empty"), &err);
    assert_non_null(b);
    assert_int_equal(hb_blocklist_feed_count(b), 0);
    hb_blocklist_free(b);

    assert_int_equal(look(NULL, "https://evil.com/", &feed), HB_BLOCK_NONE);
    assert_null(feed);
    assert_int_equal(hb_blocklist_lookup(NULL, NULL, NULL), HB_BLOCK_NONE);
    hb_blocklist_free(NULL);
    assert_int_equal(hb_blocklist_feed_count(NULL), 0);
    assert_string_equal(hb_block_match_name(HB_BLOCK_DOMAIN), "domain");
    assert_string_equal(hb_block_match_name(HB_BLOCK_NONE), "none");
}

typedef struct bad_copy {
    const char *text;
    const char *message; /* expected in the error after the file name */
} bad_copy;

static void test_damaged_copies(void **state)
{
    (void)state;
    static const bad_copy cases[] = {
        {"u https://x.example.com/\n# end 1\n", "1: not a feed copy"},
        {HB_FEED_COPY_MAGIC "\nd x.example.com\n", "no \"# end N\" line"},
        {HB_FEED_COPY_MAGIC "\nd x.example.com\n# end 2\n", "3: end line says"},
        {HB_FEED_COPY_MAGIC "\nd x.example.com\n# end 1", "3: last line has no newline"},
        {HB_FEED_COPY_MAGIC "\nx x.example.com\n# end 1\n", "2: expected"},
        {HB_FEED_COPY_MAGIC "\nd two words.com\n# end 1\n", "2: expected"},
        {HB_FEED_COPY_MAGIC "\n# end 0\nd x.example.com\n", "3: text after"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", tu_tmpdir("blocklist-damaged"));
        put_feed(dir, "good", "https://g.example.com/\n");
        put_file(dir, "bad.list", cases[i].text);
        hb_error err;
        hb_blocklist *b = hb_blocklist_load_dir(dir, &err);
        if (b)
            fail_msg("case %zu loaded", i);
        assert_int_equal(err.code, HB_EFORMAT);
        if (!strstr(err.message, "bad.list") || !strstr(err.message, cases[i].message))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].message);
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("blocklist-badname"));
    put_file(dir, "-x.list", HB_FEED_COPY_MAGIC "\n# end 0\n");
    hb_error err;
    assert_null(hb_blocklist_load_dir(dir, &err));
    assert_non_null(strstr(err.message, "not a valid feed name"));
}

/* The feed-name rule the loader and feeds.conf share. */
static void test_names(void **state)
{
    (void)state;
    assert_true(hb_blocklist_feed_name_ok("a"));
    assert_true(hb_blocklist_feed_name_ok("URLhaus-recent.v2_x"));
    assert_false(hb_blocklist_feed_name_ok(""));
    assert_false(hb_blocklist_feed_name_ok(NULL));
    assert_false(hb_blocklist_feed_name_ok(".hidden"));
    assert_false(hb_blocklist_feed_name_ok("a b"));
    assert_false(hb_blocklist_feed_name_ok("../x"));
    char longname[HB_FEED_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(hb_blocklist_feed_name_ok(longname));
    longname[HB_FEED_NAME_MAX] = '\0';
    assert_true(hb_blocklist_feed_name_ok(longname));
}

/* Enough entries to exercise probing and a large table. */
static void test_many_entries(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("blocklist-many"));
    enum { N = 20000 };
    size_t cap = (size_t)N * 48, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(
            text + len, cap - len,
            i % 2 ? "https://m.example.com/p/%d\n" : "h%d.many.example.org\n", i);
    put_feed(dir, "many", text);
    free(text);
    hb_error err;
    hb_blocklist *b = hb_blocklist_load_dir(dir, &err);
    if (!b)
        fail_msg("%s", err.message);
    assert_int_equal(hb_blocklist_feed(b, 0)->entries, N);
    char link[128];
    for (int i = 0; i < N; i++) {
        snprintf(link, sizeof link,
                 i % 2 ? "https://m.example.com/p/%d" : "h%d.many.example.org/x", i);
        const char *feed;
        hb_block_match want = i % 2 ? HB_BLOCK_URL : HB_BLOCK_HOST;
        if (look(b, link, &feed) != want)
            fail_msg("%s not found", link);
    }
    assert_int_equal(look(b, "https://m.example.com/p/20001", NULL), HB_BLOCK_NONE);
    assert_int_equal(look(b, "h1.many.example.org", NULL), HB_BLOCK_NONE);
    hb_blocklist_free(b);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),           cmocka_unit_test(test_feed_info),
        cmocka_unit_test(test_missing_and_empty), cmocka_unit_test(test_damaged_copies),
        cmocka_unit_test(test_many_entries),      cmocka_unit_test(test_names),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
