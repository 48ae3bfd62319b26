/*
 * test_urls.c - URL normalisation and registrable domains on the forms
 * links take in scam messages, and the errors for what is not a link.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "testutil.h"
#include "urls.h"

typedef struct url_case {
    const char *raw;
    const char *url;
    const char *host;
    const char *domain;
    int is_ip;
} url_case;

static const url_case url_cases[] = {
    /* scheme, case, default port, dot-segments */
    {"http://EXAMPLE.com:80/a/../b", "http://example.com/b", "example.com", "example.com",
     0},
    {"HTTPS://Example.COM:443/A/./B/", "https://example.com/A/B/", "example.com",
     "example.com", 0},
    {"www.abc.com", "http://www.abc.com/", "www.abc.com", "abc.com", 0},
    {"icbc-vip.top/login", "http://icbc-vip.top/login", "icbc-vip.top", "icbc-vip.top",
     0},
    {"abc.cn/x", "http://abc.cn/x", "abc.cn", "abc.cn", 0},
    {"//cdn.example.com/x.js", "http://cdn.example.com/x.js", "cdn.example.com",
     "example.com", 0},
    {"example.com.", "http://example.com/", "example.com", "example.com", 0},
    /* public suffixes */
    {"a.b.example.co.uk", "http://a.b.example.co.uk/", "a.b.example.co.uk",
     "example.co.uk", 0},
    {"www.icbc.com.cn/x", "http://www.icbc.com.cn/x", "www.icbc.com.cn", "icbc.com.cn",
     0},
    {"scam.github.io/pay", "http://scam.github.io/pay", "scam.github.io",
     "scam.github.io", 0},
    {"github.io", "http://github.io/", "github.io", "github.io", 0},
    {"localhost:3000", "http://localhost:3000/", "localhost", "localhost", 0},
    /* internationalised names */
    {"http://例子.中国/", "http://xn--fsqu00a.xn--fiqs8s/", "xn--fsqu00a.xn--fiqs8s",
     "xn--fsqu00a.xn--fiqs8s", 0},
    {"http://www.例子.中国/a", "http://www.xn--fsqu00a.xn--fiqs8s/a",
     "www.xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s", 0},
    {"bücher.de", "http://xn--bcher-kva.de/", "xn--bcher-kva.de", "xn--bcher-kva.de", 0},
    /* IP hosts, including the numeric disguises curl rewrites */
    {"http://192.168.1.1:8080/admin", "http://192.168.1.1:8080/admin", "192.168.1.1",
     "192.168.1.1", 1},
    {"http://3232235777/", "http://192.168.1.1/", "192.168.1.1", "192.168.1.1", 1},
    {"http://0xC0A80101/x", "http://192.168.1.1/x", "192.168.1.1", "192.168.1.1", 1},
    {"http://0300.0250.1.1/", "http://192.168.1.1/", "192.168.1.1", "192.168.1.1", 1},
    {"http://[2001:DB8::1]:8443/", "http://[2001:db8::1]:8443/", "[2001:db8::1]",
     "[2001:db8::1]", 1},
    /* ports */
    {"https://abc.com:8443", "https://abc.com:8443/", "abc.com", "abc.com", 0},
    {"http://abc.com:443/", "http://abc.com:443/", "abc.com", "abc.com", 0},
    {"http://abc.com:00080/", "http://abc.com/", "abc.com", "abc.com", 0},
    /* query and fragment kept; percent-encoding normalised */
    {"http://a.cn/p?id=1&t=x#/pay", "http://a.cn/p?id=1&t=x#/pay", "a.cn", "a.cn", 0},
    {"http://a.cn/%7e%41/%2f?q=%e4%b8%ad", "http://a.cn/~A/%2F?q=%E4%B8%AD", "a.cn",
     "a.cn", 0},
    {"http://a.cn/中文?q=a b", "http://a.cn/%E4%B8%AD%E6%96%87?q=a+b", "a.cn", "a.cn", 0},
    {"http://ex%41mple.com/", "http://example.com/", "example.com", "example.com", 0},
    /* found by fuzz_urls: each must come back unchanged when parsed again */
    {"http://a.cn/x/%2e/y", "http://a.cn/x/%2E/y", "a.cn", "a.cn", 0},
    {"http://a.cn/%%66ec", "http://a.cn/%25fec", "a.cn", "a.cn", 0},
    {"http://1./", "http://0.0.0.1/", "0.0.0.1", "0.0.0.1", 1},
    {"1%31163", "http://0.0.43.155/", "0.0.43.155", "0.0.43.155", 1},
    {"http://hRt../x", "http://hrt/x", "hrt", "hrt", 0},
    /* the userinfo trick: the host is what follows the last '@' */
    {"http://www.icbc.com@evil.cn/login", "http://www.icbc.com@evil.cn/login", "evil.cn",
     "evil.cn", 0},
    /* deep links with schemes curl does not speak */
    {"alipays://platformapi/startapp?appId=1", "alipays://platformapi/startapp?appId=1",
     "platformapi", "platformapi", 0},
    {"ftp://Files.Example.COM/a", "ftp://files.example.com/a", "files.example.com",
     "example.com", 0},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        const url_case *c = &url_cases[i];
        hb_url u;
        hb_error err;
        hb_error_clear(&err);
        int rc = hb_url_parse(c->raw, strlen(c->raw), &u, &err);
        if (rc != 0 || strcmp(u.url, c->url) != 0 || strcmp(u.host, c->host) != 0 ||
            strcmp(u.domain, c->domain) != 0 || u.host_is_ip != c->is_ip) {
            fprintf(stderr,
                    "%s\n  got  rc=%d url=%s host=%s domain=%s ip=%d (%s)\n"
                    "  want url=%s host=%s domain=%s ip=%d\n",
                    c->raw, rc, u.url, u.host, u.domain, u.host_is_ip, err.message,
                    c->url, c->host, c->domain, c->is_ip);
            fail();
        }
        /* canonical means stable: the result parses to itself */
        hb_url again;
        assert_int_equal(hb_url_parse(u.url, strlen(u.url), &again, &err), 0);
        assert_string_equal(again.url, u.url);
        assert_string_equal(again.host, u.host);
    }
}

/* IDN conversion switches the calling thread to a UTF-8 locale for a
 * moment; the process's locale must be as it was. */
static void test_locale_untouched(void **state)
{
    (void)state;
    char before[64];
    snprintf(before, sizeof before, "%s", setlocale(LC_CTYPE, NULL));
    hb_url u;
    assert_int_equal(hb_url_parse("例子.中国", strlen("例子.中国"), &u, NULL), 0);
    assert_string_equal(setlocale(LC_CTYPE, NULL), before);
}

typedef struct bad_case {
    const char *raw;
    const char *says; /* part of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"", "empty"},
    {"http://", "no host"},
    {"http://.../x", "no host"},
    {"http://:80/x", "no host"},
    {"abc.com:99999/", "bad port"},
    {"abc.com:8o/", "bad port"},
    {"http://abc.com:80:80/", "bad port"},
    {"http://[1:2:3]/", "cannot parse"},
    {"http://a b.com/", "cannot parse"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        hb_url u;
        hb_error err;
        hb_error_clear(&err);
        int rc = hb_url_parse(c->raw, strlen(c->raw), &u, &err);
        if (rc != HB_EINVAL || err.code != HB_EINVAL || !strstr(err.message, c->says) ||
            u.url[0] || u.host[0]) {
            fprintf(stderr, "%s: rc=%d message=%s url=%s\n", c->raw, rc, err.message,
                    u.url);
            fail();
        }
    }
}

static void test_null_arguments(void **state)
{
    (void)state;
    hb_url u;
    hb_error err;
    assert_int_equal(hb_url_parse(NULL, 3, &u, &err), HB_EINVAL);
    assert_int_equal(hb_url_parse("a.cn", 4, NULL, &err), HB_EINVAL);
    assert_int_equal(hb_url_parse("a.cn", 4, &u, NULL), 0);
    assert_int_equal(hb_url_parse("a.cn\0x", 6, &u, &err), HB_EINVAL);
    assert_non_null(strstr(err.message, "NUL"));
}

/* Only len bytes are read: the caller hands a span of the message. */
static void test_reads_only_len_bytes(void **state)
{
    (void)state;
    const char *text = "abc.cn/x领取更多";
    hb_url u;
    assert_int_equal(hb_url_parse(text, strlen("abc.cn/x"), &u, NULL), 0);
    assert_string_equal(u.url, "http://abc.cn/x");
}

static void test_length_limits(void **state)
{
    (void)state;
    hb_url u;
    hb_error err;
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);

    /* 100k characters of digits and of dots: rejected at once */
    memset(big, '1', n);
    big[n] = '\0';
    assert_int_equal(hb_url_parse(big, n, &u, &err), HB_EINVAL);
    assert_non_null(strstr(err.message, "limit"));
    memset(big, '.', n);
    assert_int_equal(hb_url_parse(big, n, &u, &err), HB_EINVAL);

    /* exactly at the limit is fine ... */
    memcpy(big, "a.cn/", 5);
    memset(big + 5, 'x', 1995);
    assert_int_equal(hb_url_parse(big, 2000, &u, &err), 0);
    assert_int_equal(strlen(u.url), 2007);
    /* ... one over is not */
    memset(big + 5, 'x', 1996);
    assert_int_equal(hb_url_parse(big, 2001, &u, &err), HB_EINVAL);

    /* within the input limit but too long once percent-encoded */
    memcpy(big, "a.cn/", 5);
    for (size_t i = 5; i + 1 < 2000; i += 2)
        memcpy(big + i, " x", 2);
    assert_int_equal(hb_url_parse(big, 1999, &u, &err), HB_EINVAL);
    assert_non_null(strstr(err.message, "normalised"));

    /* a host label run longer than the host field */
    memset(big, 'a', 300);
    memcpy(big + 300, ".com", 4);
    assert_int_equal(hb_url_parse(big, 304, &u, &err), HB_EINVAL);
    free(big);
}

/* Error messages quote the input, cut at a character boundary. */
static void test_error_message_is_readable(void **state)
{
    (void)state;
    char raw[400];
    size_t n = 0;
    n += (size_t)snprintf(raw, sizeof raw, "http://a.cn:99999/");
    while (n + 3 < sizeof raw - 1) {
        memcpy(raw + n, "中", 3);
        n += 3;
    }
    raw[n] = '\0';
    hb_url u;
    hb_error err;
    assert_int_equal(hb_url_parse(raw, n, &u, &err), HB_EINVAL);
    assert_non_null(strstr(err.message, "bad port"));
    assert_non_null(strstr(err.message, "...\""));
    assert_true(strlen(err.message) < 200);
}

int main(void)
{
    /* The process's job, never the library's (see urls.c). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_locale_untouched),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_reads_only_len_bytes),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_error_message_is_readable),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
