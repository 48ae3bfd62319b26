/*
 * test_ruledefs.c - unit tests for classifier/ruledefs.c, the `define`
 * lines of rules files and their (?&name) references.
 *
 * A table of patterns and their expansions: references are replaced by
 * the named piece as a non-capturing group, nested definitions arrive
 * expanded, and `(?&` where PCRE2 would not read it as syntax (escaped, in
 * a class, a \Q..\E quote or a (?#..) comment) is copied as it is.  Then
 * the errors, each with file:line: unknown and malformed references, bad
 * and repeated names, and an expansion over the size bound.  How rules
 * use definitions (scope per file, the define line's own compile check)
 * is tested through the parser in test_rules.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ruledefs.h"

static void add_ok(hb_ruledefs *defs, const char *name, const char *body, size_t line)
{
    hb_error err;
    if (hb_ruledefs_add(defs, name, strlen(name), body, strlen(body), "t.rules", line,
                        &err))
        fail_msg("define %s: %s", name, err.message);
}

static void test_expansions(void **state)
{
    (void)state;
    hb_ruledefs defs;
    hb_ruledefs_init(&defs);
    add_ok(&defs, "warn", "谨防|警惕", 1);
    add_ok(&defs, "warn_or_stop", "(?&warn)|退订", 2);
    static const struct {
        const char *pattern;
        const char *want;
    } cases[] = {
        {"abc", "abc"},
        {"", ""},
        {"(?&warn)", "(?:谨防|警惕)"},
        {"x(?&warn)y|(?&warn)", "x(?:谨防|警惕)y|(?:谨防|警惕)"},
        {"(?&warn_or_stop)", "(?:(?:谨防|警惕)|退订)"},
        /* not references */
        {"\\(?&warn)", "\\(?&warn)"},
        {"[(?&warn)]", "[(?&warn)]"},
        {"[]a(?&warn)]", "[]a(?&warn)]"},
        {"[^]a(?&warn)]", "[^]a(?&warn)]"},
        {"[[:alpha:](?&warn)]", "[[:alpha:](?&warn)]"},
        {"[\\](?&warn)]", "[\\](?&warn)]"},
        {"\\Q(?&warn)\\E(?&warn)", "\\Q(?&warn)\\E(?:谨防|警惕)"},
        {"\\Q(?&warn)", "\\Q(?&warn)"},
        {"(?#(?&warn))(?&warn)", "(?#(?&warn))(?:谨防|警惕)"},
        {"a\\", "a\\"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hb_error err;
        char *out = NULL;
        size_t n = 0;
        if (hb_ruledefs_expand(&defs, cases[i].pattern, strlen(cases[i].pattern), &out,
                               &n, "t.rules", 9, &err))
            fail_msg("case %zu: %s", i, err.message);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: '%s' expands to '%s', want '%s'", i, cases[i].pattern,
                     out, cases[i].want);
        assert_int_equal(n, strlen(out));
        free(out);
    }
    hb_ruledefs_release(&defs);
    assert_int_equal(defs.count, 0);
}

static void test_errors(void **state)
{
    (void)state;
    hb_ruledefs defs;
    hb_ruledefs_init(&defs);
    add_ok(&defs, "warn", "谨防", 3);
    static const struct {
        const char *pattern;
        const char *want;
    } refs[] = {
        {"(?&nope)", "t.rules:7: unknown name 'nope' in (?&nope)"},
        {"a|(?&warnx)", "t.rules:7: unknown name 'warnx'"},
        {"(?&Warn)", "t.rules:7: '(?&' must start a reference"},
        {"(?&)", "t.rules:7: '(?&' must start a reference"},
        {"(?&warn", "t.rules:7: '(?&' must start a reference"},
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        hb_error err;
        char *out = NULL;
        size_t n = 0;
        assert_int_equal(hb_ruledefs_expand(&defs, refs[i].pattern,
                                            strlen(refs[i].pattern), &out, &n, "t.rules",
                                            7, &err),
                         HB_EFORMAT);
        assert_null(out);
        if (!strstr(err.message, refs[i].want))
            fail_msg("case %zu: '%s' does not mention '%s'", i, err.message,
                     refs[i].want);
    }

    hb_error err;
    assert_int_equal(hb_ruledefs_add(&defs, "warn", 4, "x", 1, "t.rules", 8, &err),
                     HB_EFORMAT);
    assert_non_null(strstr(err.message, "t.rules:8: 'warn' is already defined (line 3)"));
    assert_int_equal(hb_ruledefs_add(&defs, "Bad-Name", 8, "x", 1, "t.rules", 9, &err),
                     HB_EFORMAT);
    assert_non_null(strstr(err.message, "t.rules:9: bad define name 'Bad-Name'"));
    assert_int_equal(hb_ruledefs_add(&defs, "", 0, "x", 1, "t.rules", 10, &err),
                     HB_EFORMAT);
    assert_int_equal(
        hb_ruledefs_add(&defs, "loop", 4, "(?&loop)", 8, "t.rules", 11, &err),
        HB_EFORMAT);
    assert_non_null(strstr(err.message, "t.rules:11: unknown name 'loop'"));
    assert_int_equal(defs.count, 1);

    /* Each definition doubles the last one: the 14th would be over 64 KiB. */
    char name[16], body[40];
    add_ok(&defs, "d0", "abcdefgh", 12);
    int rc = 0;
    int k;
    for (k = 1; k < 20 && rc == 0; k++) {
        snprintf(name, sizeof name, "d%d", k);
        snprintf(body, sizeof body, "(?&d%d)(?&d%d)", k - 1, k - 1);
        rc = hb_ruledefs_add(&defs, name, strlen(name), body, strlen(body), "t.rules",
                             (size_t)(12 + k), &err);
    }
    assert_int_equal(rc, HB_EFORMAT);
    assert_non_null(
        strstr(err.message, "bytes once its (?&name) references are expanded"));
    assert_true(k > 10 && k < 20);
    hb_ruledefs_release(&defs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansions),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
