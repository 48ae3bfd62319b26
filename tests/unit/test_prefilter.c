/*
 * test_prefilter.c - unit tests for classifier/prefilter.c, the rules'
 * Hyperscan prefilter.
 *
 * One table drives most of it: per pattern, what the rewriter makes of it
 * (exact, widened or a fallback, and the pieces, branch by branch) and
 * three texts that show what that means once the prefilter is built:
 *   match  the pattern matches it (PCRE2 says so), so it must be a
 *          candidate;
 *   wide   the pattern does not match it but its widened copy does, so
 *          it is a candidate anyway (what widening costs);
 *   miss   the pattern does not match it and it is not a candidate (what
 *          the prefilter saves).
 * The rows go through literals, alternations, classes, optional parts and
 * gaps, lookarounds and other assertions, counted repeats, case, Chinese
 * and other non-ASCII text, and the syntax that is left to PCRE2 alone.
 * PCRE2 checks the table itself: a `match` text that PCRE2 does not match,
 * or a `wide` or `miss` text that it does, is a mistake in the table.
 *
 * Then: a pattern Hyperscan refuses after rewriting becomes a fallback on
 * its own, and the API's edge cases (no patterns, NULL arguments).
 * Whether the prefilter changes any rule's hits is checked through the
 * rules engine in test_rules.c, and for fuzzed patterns by
 * tests/fuzz/fuzz_prefilter.c.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcre2.h>

#include "prefilter.h"

enum kind { EXACT, WIDENED, FALLBACK };

/* The pieces of a row, in order, "|" between branches (no piece can be
 * "|": a top-level '|' separates branches, an escaped one is written
 * \x7C). */
#define MAX_PIECES 8
#define OR "|"

typedef struct row {
    const char *pattern;
    enum kind kind;
    const char *pieces[MAX_PIECES];
    const char *match;
    const char *wide;
    const char *miss;
} row;

/* One row per line where it fits: clang-format would give every field of
 * a row with designated fields a line of its own. */
/* clang-format off */
static const row rows[] = {
    /* Literals: copied; escaped ASCII becomes \xHH, so that nothing is
     * special to Hyperscan; \x{..} becomes the character itself. */
    {"安全账户", EXACT, {"安全账户"}, .match = "请转到安全账户", .miss = "安全"},
    {"a b", EXACT, {"a b"}, .match = "a b", .miss = "ab"},
    {"#tag", EXACT, {"#tag"}, .match = "a #tag", .miss = "tag"},
    {"\\.\\-\\]\\}", EXACT, {"\\x2E\\x2D\\x5D\\x7D"}, .match = ".-]}",
     .miss = "x-]}"},
    {"\\x{5b89}\\x{5168}", EXACT, {"安全"}, .match = "安全", .miss = "安"},
    {"\\t|\\cA", EXACT, {"\\x09", OR, "\\x01"}, .match = "a\tb", .miss = "cA"},
    {"🎁", EXACT, {"🎁"}, .match = "a 🎁 for you", .miss = "gift"},
    {"é|ß", EXACT, {"é", OR, "ß"}, .match = "straße", .miss = "e"},

    /* Case: matched as written (patterns see lower-cased text, so an
     * upper-case pattern is a mistake, but the prefilter must agree). */
    {"IRS", EXACT, {"IRS"}, .match = "IRS notice", .miss = "irs notice"},

    /* Alternations: each top-level alternative is a branch; groups keep
     * theirs inside one piece, named ones lose the name. */
    {"abc|def", EXACT, {"abc", OR, "def"}, .match = "xdefx", .miss = "abd"},
    {"(你|您)的订单", EXACT, {"(?:你|您)的订单"}, .match = "您的订单",
     .miss = "他的订单"},
    {"(?:a|bc)+d", EXACT, {"(?:a|bc)+d"}, .match = "abcad", .miss = "bd"},
    {"(?<word>hello) world", EXACT, {"(?:hello) world"},
     .match = "hello world", .miss = "hello"},

    /* Classes: an ASCII class is kept; one using a Unicode table (\d \s
     * \w \p{..}) and a negated one become "any character". */
    {"[]x]y", EXACT, {"[\\x5Dx]y"}, .match = "]y", .miss = "zy"},
    {"[0-9x]{7,}", EXACT, {"[0-9x]{7,}"}, .match = "call 1380013x",
     .miss = "123456"},
    {"[^a]x", WIDENED, {"(?s:.)x"}, .match = "bx", .wide = "ax", .miss = "x"},
    {"\\d{3}-\\d{4}", WIDENED, {"(?s:.)+-(?s:.)+"}, .match = "555-1234",
     .wide = "a-b", .miss = "5551234"},
    {"\\w+@\\w+", WIDENED, {"(?s:.)+@(?s:.)+"}, .match = "me@example",
     .wide = "! @ !", .miss = "@me"},
    {"[\\p{Han}x]总", WIDENED, {"(?s:.)总"}, .match = "李总", .wide = " 总",
     .miss = "总"},
    {"\\p{Han}{2}银行", WIDENED, {"(?s:.)+银行"}, .match = "工商银行",
     .wide = "a银行", .miss = "银行"},

    /* Optional parts: a plain ? stays; an item that may repeat zero times
     * at the top level is a gap, and cuts its branch into pieces that may
     * then be found in any order. */
    {"(a|b)?c", EXACT, {"(?:a|b)?c"}, .match = "c", .miss = "ab"},
    {"(你|您)(的)?[^。!?]{0,20}(订单|快递)", WIDENED,
     {"(?:你|您)(?:的)?", "(?:订单|快递)"}, .match = "您的订单异常",
     .wide = "快递给你", .miss = "你好"},
    {"验证码(为|是|:)?\\s?[0-9]{4,8}", WIDENED,
     {"验证码(?:为|是|:)?(?s:.)?[0-9]{4,}"}, .match = "验证码为 123456",
     .wide = "验证码:x12345", .miss = "验证码为"},
    {"gift[^.!?]*card[^.!?]*(send|code)", WIDENED,
     {"gift", "card", "(?:send|code)"}, .match = "gift card, send",
     .wide = "send a card. gift", .miss = "gift card"},
    {"转账.*安全账户", WIDENED, {"转账", "安全账户"}, .match = "转账到安全账户",
     .wide = "安全账户不会要你转账", .miss = "转账"},
    {"a[^b]*c|d", WIDENED, {"a", "c", OR, "d"}, .match = "axc", .wide = "cba",
     .miss = "ab"},
    {"x*?y+?z??w", WIDENED, {"y+z?w"}, .match = "xyyw", .miss = "xw"},

    /* Lookarounds and other zero-width assertions are dropped, except ^. */
    {"pay(?=pal)", WIDENED, {"pay"}, .match = "paypal", .wide = "payment",
     .miss = "pa"},
    {"(?<!不)要钱", WIDENED, {"要钱"}, .match = "要钱", .wide = "不要钱",
     .miss = "要"},
    {"\\bcode\\b", WIDENED, {"code"}, .match = "the code", .wide = "codex",
     .miss = "cod"},
    {"done$", WIDENED, {"done"}, .match = "we are done",
     .wide = "done and dusted", .miss = "don"},
    {"^hi", EXACT, {"^hi"}, .match = "hi there", .miss = "oh hi"},

    /* Counted repeats: {m,n} and {m} become {m,}; only a single ASCII
     * character keeps its count, at most 16; anything else repeats "at
     * least once". */
    {"x{2,}", EXACT, {"x{2,}"}, .match = "axxb", .miss = "axb"},
    {"ax{3}b", WIDENED, {"ax{3,}b"}, .match = "axxxb", .wide = "axxxxb",
     .miss = "axxb"},
    {"a[0-9]{2,3}b", WIDENED, {"a[0-9]{2,}b"}, .match = "a12b",
     .wide = "a1234b", .miss = "a1b"},
    {"x{20}", WIDENED, {"x{16,}"}, .match = "xxxxxxxxxxxxxxxxxxxx",
     .wide = "xxxxxxxxxxxxxxxx", .miss = "xxxxxxxxxxxxxxx"},
    {"你{2}", WIDENED, {"你+"}, .match = "你你", .wide = "你", .miss = "我"},
    {"(ab){2}", WIDENED, {"(?:ab)+"}, .match = "abab", .wide = "ab",
     .miss = "a b"},

    /* Fallbacks: syntax the rewriter does not translate, and patterns
     * that can match the empty string.  Always candidates, even for a
     * text they do not match. */
    {"(?i)irs", FALLBACK, {NULL}, .match = "IRS", .wide = "nothing"},
    {"(a)\\1", FALLBACK, {NULL}, .match = "aa", .wide = "ab"},
    {"(?>ab)c", FALLBACK, {NULL}, .match = "abc", .wide = "ab"},
    {"ab{2,3}+", FALLBACK, {NULL}, .match = "abb", .wide = "ab"},
    {"ab{,3}", FALLBACK, {NULL}, .match = "ab{,3}", .wide = "b"},
    {"\\Qa.b\\E", FALLBACK, {NULL}, .match = "a.b", .wide = "axb"},
    {"[[:digit:]]x", FALLBACK, {NULL}, .match = "7x", .wide = "x"},
    {"\\R", FALLBACK, {NULL}, .match = "\r\n", .wide = "rn"},
    {"\\Kx", FALLBACK, {NULL}, .match = "x", .wide = "y"},
    {"((((((((((((a))))))))))))", FALLBACK, {NULL}, .match = "a", .wide = "b"},
    {"x?", FALLBACK, {NULL}, .match = "", .wide = NULL},
    {"abc|", FALLBACK, {NULL}, .match = "abc", .wide = NULL},
    {".*", FALLBACK, {NULL}, .match = "anything", .wide = NULL},
    {"(?=a)", FALLBACK, {NULL}, .match = "a", .wide = "b"},
};
/* clang-format on */

#define NROWS (sizeof rows / sizeof rows[0])

static const char *const kind_names[] = {"exact", "widened", "a fallback"};

/* Does the pattern match text, as the rules compile it (rules.c)? */
static int pcre2_matches(const char *pattern, const char *text)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C,
                                     &errcode, &erroff, NULL);
    if (!code)
        fail_msg("PCRE2 refuses '%s' (error %d at %zu)", pattern, errcode,
                 (size_t)erroff);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    assert_non_null(md);
    int rc = pcre2_match(code, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        fail_msg("PCRE2 error %d matching '%s'", rc, pattern);
    return rc >= 0;
}

static void test_rewrite_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        hb_prefilter_pieces p;
        int rc = hb_prefilter_rewrite(r->pattern, &p);
        enum kind got = rc ? FALLBACK : p.exact ? EXACT : WIDENED;
        if (got != r->kind)
            fail_msg("'%s' is %s, want %s", r->pattern, kind_names[got],
                     kind_names[r->kind]);
        if (rc) {
            assert_null(p.text);
            assert_int_equal(p.count, 0);
            continue;
        }
        /* Walk the expected list and the pieces side by side. */
        const char *text = p.text;
        size_t k = 0, want = 0;
        uint32_t branch = 0;
        for (; want < MAX_PIECES && r->pieces[want]; want++) {
            if (strcmp(r->pieces[want], OR) == 0) {
                branch++;
                continue;
            }
            if (k == p.count)
                fail_msg("'%s': %zu pieces, want more ('%s')", r->pattern, p.count,
                         r->pieces[want]);
            if (strcmp(text, r->pieces[want]) != 0 || p.branch[k] != branch)
                fail_msg("'%s': piece %zu is '%s' in branch %u, want '%s' "
                         "in branch %u",
                         r->pattern, k, text, p.branch[k], r->pieces[want], branch);
            text += strlen(text) + 1;
            k++;
        }
        if (k != p.count)
            fail_msg("'%s': %zu pieces, want %zu", r->pattern, p.count, k);
        assert_int_equal(p.nbranches, branch + 1);
        hb_prefilter_pieces_release(&p);
        assert_null(p.text);
    }
}

/* All rows in one prefilter, as the rules build it: the kinds survive
 * Hyperscan, and the three texts of each row are what they say. */
static void test_scan_table(void **state)
{
    (void)state;
    const char *patterns[NROWS];
    size_t nfallbacks = 0;
    for (size_t i = 0; i < NROWS; i++) {
        patterns[i] = rows[i].pattern;
        nfallbacks += rows[i].kind == FALLBACK;
    }
    hb_error err;
    hb_prefilter *pf = hb_prefilter_new(patterns, NROWS, &err);
    if (!pf)
        fail_msg("%s", err.message);
    assert_int_equal(hb_prefilter_fallbacks(pf), nfallbacks);
    const uint64_t *exact = hb_prefilter_exact(pf);
    hb_prefilter_scratch *s = hb_prefilter_scratch_new();
    assert_non_null(s);
    for (size_t i = 0; i < NROWS; i++) {
        const row *r = &rows[i];
        if (hb_prefilter_in(exact, i) != (r->kind == EXACT))
            fail_msg("'%s': exact bit %d", r->pattern, hb_prefilter_in(exact, i));
        const char *texts[] = {r->match, r->wide, r->miss};
        for (int t = 0; t < 3; t++) {
            if (!texts[t])
                continue;
            if (pcre2_matches(r->pattern, texts[t]) != (t == 0))
                fail_msg("table: '%s' %s '%s'", r->pattern,
                         t == 0 ? "does not match" : "matches", texts[t]);
            const uint64_t *cand = hb_prefilter_scan(pf, s, texts[t], strlen(texts[t]));
            assert_non_null(cand);
            if (hb_prefilter_in(cand, i) != (t < 2))
                fail_msg("'%s' is %sa candidate for '%s'", r->pattern,
                         t < 2 ? "not " : "", texts[t]);
        }
    }
    hb_prefilter_scratch_free(s);
    hb_prefilter_free(pf);
}

/* The rewriter cannot know everything Hyperscan refuses: "a^b" rewrites
 * to itself, which can never match and which Hyperscan rejects.  It
 * becomes a fallback, and the patterns around it are not disturbed. */
static void test_hyperscan_refuses(void **state)
{
    (void)state;
    const char *patterns[] = {"abc", "a^b", "x[^y]z"};
    hb_prefilter_pieces p;
    assert_int_equal(hb_prefilter_rewrite("a^b", &p), 0);
    assert_true(p.exact);
    hb_prefilter_pieces_release(&p);

    hb_error err;
    hb_prefilter *pf = hb_prefilter_new(patterns, 3, &err);
    assert_non_null(pf);
    assert_int_equal(hb_prefilter_fallbacks(pf), 1);
    const uint64_t *exact = hb_prefilter_exact(pf);
    assert_true(hb_prefilter_in(exact, 0));
    assert_false(hb_prefilter_in(exact, 1));
    assert_false(hb_prefilter_in(exact, 2));
    hb_prefilter_scratch *s = hb_prefilter_scratch_new();
    const uint64_t *cand = hb_prefilter_scan(pf, s, "abc", 3);
    assert_non_null(cand);
    assert_true(hb_prefilter_in(cand, 0));
    assert_true(hb_prefilter_in(cand, 1));
    assert_false(hb_prefilter_in(cand, 2));
    hb_prefilter_scratch_free(s);
    hb_prefilter_free(pf);
}

/* No patterns, or none Hyperscan can take: no database, and a scan says
 * "cannot answer" (NULL), which the caller reads as "run everything".
 * NULL arguments are refused the same way, and freeing NULL is fine. */
static void test_edges(void **state)
{
    (void)state;
    hb_error err;
    hb_prefilter_scratch *s = hb_prefilter_scratch_new();
    assert_non_null(s);

    hb_prefilter *none = hb_prefilter_new(NULL, 0, &err);
    assert_non_null(none);
    assert_int_equal(hb_prefilter_fallbacks(none), 0);
    assert_null(hb_prefilter_scan(none, s, "abc", 3));
    hb_prefilter_free(none);

    const char *fallbacks[] = {"(?i)a", "x?"};
    hb_prefilter *all = hb_prefilter_new(fallbacks, 2, &err);
    assert_non_null(all);
    assert_int_equal(hb_prefilter_fallbacks(all), 2);
    assert_null(hb_prefilter_scan(all, s, "a", 1));
    hb_prefilter_free(all);

    const char *one[] = {"abc"};
    hb_prefilter *pf = hb_prefilter_new(one, 1, &err);
    assert_non_null(pf);
    assert_null(hb_prefilter_scan(NULL, s, "abc", 3));
    assert_null(hb_prefilter_scan(pf, NULL, "abc", 3));
    assert_null(hb_prefilter_scan(pf, s, NULL, 3));
    const uint64_t *cand = hb_prefilter_scan(pf, s, NULL, 0);
    assert_non_null(cand);
    assert_false(hb_prefilter_in(cand, 0));

    assert_int_equal(hb_prefilter_fallbacks(NULL), 0);
    assert_null(hb_prefilter_exact(NULL));
    hb_prefilter_free(NULL);
    hb_prefilter_scratch_free(NULL);
    hb_prefilter_pieces_release(NULL);
    hb_prefilter_free(pf);
    hb_prefilter_scratch_free(s);
}

/* A weak filter: a branch whose pieces can all match in one or two
 * bytes.  A strong piece anywhere in each branch makes the pattern
 * strong; a fallback is not called weak (it is unfiltered already). */
static void test_weak(void **state)
{
    (void)state;
    static const char *const weak[] = {
        "\\b(you|u|ur)\\b",         "[0-9]", "to|and",
        "gift card|\\b(to|and)\\b", "qq",    "a|bcd[0-9]",
    };
    static const char *const strong[] = {
        "gift card",    "验证码", "you", "\\b(you|u)\\b[^.]*\\bwon\\b",
        "abc|bcd[0-9]", "(?i)u",  "x?",
    };
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++)
        if (!hb_prefilter_weak(weak[i]))
            fail_msg("'%s' should be a weak filter", weak[i]);
    for (size_t i = 0; i < sizeof strong / sizeof strong[0]; i++)
        if (hb_prefilter_weak(strong[i]))
            fail_msg("'%s' should not be a weak filter", strong[i]);
    assert_false(hb_prefilter_weak(NULL));
}

/* A NULL pattern is left unfiltered: a candidate for every text, and not
 * a fallback; the patterns around it are filtered as usual. */
static void test_unfiltered(void **state)
{
    (void)state;
    hb_error err;
    const char *patterns[] = {"abc", NULL, "(?i)x"};
    hb_prefilter *pf = hb_prefilter_new(patterns, 3, &err);
    assert_non_null(pf);
    assert_int_equal(hb_prefilter_fallbacks(pf), 1);
    hb_prefilter_scratch *s = hb_prefilter_scratch_new();
    const uint64_t *cand = hb_prefilter_scan(pf, s, "zzz", 3);
    assert_non_null(cand);
    assert_false(hb_prefilter_in(cand, 0));
    assert_true(hb_prefilter_in(cand, 1));
    assert_true(hb_prefilter_in(cand, 2));
    assert_false(hb_prefilter_in(hb_prefilter_exact(pf), 1));
    cand = hb_prefilter_scan(pf, s, "abc", 3);
    assert_true(hb_prefilter_in(cand, 0));
    assert_true(hb_prefilter_in(cand, 1));
    hb_prefilter_scratch_free(s);
    hb_prefilter_free(pf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewrite_table),
        cmocka_unit_test(test_scan_table),
        cmocka_unit_test(test_hyperscan_refuses),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_weak),
        cmocka_unit_test(test_unfiltered),
    };
    return cmocka_run_group_tests_name("prefilter", tests, NULL, NULL);
}
