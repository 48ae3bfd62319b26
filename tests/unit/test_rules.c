/*
 * test_rules.c - unit tests for classifier/rules.c.
 *
 * Four groups:
 *   - loading: the good fixture parses with the values it spells out, and
 *     every class of mistake is rejected with "file:line: what" (fixtures
 *     in tests/fixtures/rules/, one per mistake);
 *   - matching: AND over `pattern`, OR over `unless`, hit spans in bytes,
 *     the hits buffer limit, and a catastrophic-backtracking rule that must
 *     be abandoned at the match limit rather than run away;
 *   - the prefilter: every regex construct the Hyperscan rewriter handles
 *     (and those it leaves to PCRE2) gives the same hits with the prefilter
 *     as without it, one scratch serves several rule sets, and the
 *     prefilter may settle a rule PCRE2 alone would give up on;
 *   - the shipped rule set (models/rules/): it loads, with nothing left out
 *     of the prefilter, a few representative scams trip the rules meant for
 *     them, a legitimate one-time-code notice and a shop advert do not trip
 *     any positive fraud rule, and over ~45 varied messages (scams, adverts,
 *     rumours, ham, hostile input; raw and normalised) the hits with the
 *     prefilter are exactly those of running every pattern.
 *
 * Texts for individual rules are written already normalised (lower case,
 * half-width punctuation, see normalize.h); only the prefilter comparison
 * runs hb_normalize, to see messages as the service does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "normalize.h"
#include "rules.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static hb_rules *parse_ok(const char *text)
{
    hb_error err;
    hb_rules *r = hb_rules_parse(text, strlen(text), "inline.rules", &err);
    if (!r)
        fail_msg("hb_rules_parse failed: %s", err.message);
    return r;
}

/* Load a fixture that must fail; check the code and that the message
 * starts with "<path>:<line>:" and contains want. */
static void expect_load_error(const char *name, int code, int line,
                              const char *want)
{
    char path[1024], prefix[1100];
    snprintf(path, sizeof path, "%s", tu_fixture(name));
    hb_error err;
    hb_error_clear(&err);
    hb_rules *r = hb_rules_load_file(path, &err);
    assert_null(r);
    assert_int_equal(err.code, code);
    snprintf(prefix, sizeof prefix, "%s:%d:", path, line);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", err.message,
                 prefix);
    if (!strstr(err.message, want))
        fail_msg("message '%s' does not mention '%s'", err.message, want);
}

/* Match text against rules; returns the number of hits (all of them). */
static size_t run(const hb_rules *r, hb_rules_scratch *s, const char *text,
                  hb_rule_hit *hits, size_t *limited)
{
    size_t n = 0, lim = 0;
    assert_int_equal(hb_rules_match(r, s, text, strlen(text), hits,
                                    hb_rules_count(r), &n, &lim),
                     0);
    if (limited)
        *limited = lim;
    return n;
}

/* Match len bytes of text against r twice, with the prefilter and
 * without, and check the hits (rules and spans) are the same and the
 * prefilter abandoned no more rules than PCRE2 alone.  Returns the number
 * of hits. */
static size_t same_with_prefilter(const hb_rules *r, const char *text,
                                  size_t len)
{
    size_t count = hb_rules_count(r);
    hb_rule_hit *a = calloc(count, sizeof *a);
    hb_rule_hit *b = calloc(count, sizeof *b);
    hb_rules_scratch *pre = hb_rules_scratch_new();
    hb_rules_scratch *all = hb_rules_scratch_new();
    assert_true(a && b && pre && all);
    hb_rules_scratch_set_prefilter(all, 0);
    size_t na = 0, nb = 0, la = 0, lb = 0;
    assert_int_equal(hb_rules_match(r, pre, text, len, a, count, &na, &la), 0);
    assert_int_equal(hb_rules_match(r, all, text, len, b, count, &nb, &lb), 0);
    if (na != nb)
        fail_msg("%zu hits with the prefilter, %zu without, on \"%.*s\"", na,
                 nb, (int)(len > 80 ? 80 : len), text);
    for (size_t i = 0; i < na; i++)
        if (a[i].rule != b[i].rule || a[i].start != b[i].start ||
            a[i].end != b[i].end)
            fail_msg("hit %zu: rule %s %u-%u with the prefilter, rule %s "
                     "%u-%u without, on \"%.*s\"",
                     i, hb_rules_info(r, a[i].rule)->id, a[i].start, a[i].end,
                     hb_rules_info(r, b[i].rule)->id, b[i].start, b[i].end,
                     (int)(len > 80 ? 80 : len), text);
    assert_true(la <= lb);
    hb_rules_scratch_free(pre);
    hb_rules_scratch_free(all);
    free(a);
    free(b);
    return na;
}

static int fired(const hb_rules *r, const hb_rule_hit *hits, size_t n,
                 const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(hb_rules_info(r, hits[i].rule)->id, id) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

static void test_parse_good_fixture(void **state)
{
    (void)state;
    hb_error err;
    hb_rules *r = hb_rules_load_file(tu_fixture("rules/good.rules"), &err);
    if (!r)
        fail_msg("%s", err.message);
    assert_int_equal(hb_rules_count(r), 3);

    const hb_rule_info *a = hb_rules_info(r, 0);
    assert_string_equal(a->id, "test.safe_account");
    assert_string_equal(a->task, "fraud");
    assert_string_equal(a->type, "authority");
    assert_true(a->weight == 2.5);
    assert_string_equal(a->description, "Safe account plus transfer.");
    assert_string_equal(a->description_zh, "安全账户加转账。");
    assert_int_equal(a->line, 4);
    assert_non_null(strstr(a->file, "good.rules"));

    /* Indented header, no spaces around '=', values trimmed, '+1'. */
    const hb_rule_info *b = hb_rules_info(r, 1);
    assert_string_equal(b->id, "test.spam.unsubscribe");
    assert_string_equal(b->task, "spam");
    assert_string_equal(b->type, "");
    assert_true(b->weight == 1.0);
    assert_string_equal(b->description, "Unsubscribe marker.");
    assert_string_equal(b->description_zh, "");

    assert_true(hb_rules_info(r, 2)->weight == -0.75);
    assert_null(hb_rules_info(r, 3));
    assert_int_equal(hb_rules_find(r, "test.legit"), 2);
    assert_int_equal(hb_rules_find(r, "test.nope"), -1);
    hb_rules_free(r);
}

static void test_error_missing_key(void **state)
{
    (void)state;
    expect_load_error("rules/missing_key.rules", HB_EFORMAT, 8,
                      "'test.no_weight' has no 'weight'");
}

static void test_error_unknown_key(void **state)
{
    (void)state;
    expect_load_error("rules/unknown_key.rules", HB_EFORMAT, 4,
                      "unknown key 'patern'");
}

static void test_error_bad_weight(void **state)
{
    (void)state;
    expect_load_error("rules/bad_weight.rules", HB_EFORMAT, 4,
                      "bad weight '0,5'");
}

static void test_error_bad_regex(void **state)
{
    (void)state;
    /* PCRE2's own wording and the offset of the problem in the pattern
     * (the end of it, 13 bytes in, where ')' was expected). */
    expect_load_error("rules/bad_regex.rules", HB_EFORMAT, 4,
                      "bad pattern: missing closing parenthesis at offset 13");
}

static void test_error_duplicate_id(void **state)
{
    (void)state;
    expect_load_error("rules/duplicate_id.rules", HB_EFORMAT, 7,
                      "duplicate rule id 'test.twice'");
}

static void test_error_not_utf8(void **state)
{
    (void)state;
    expect_load_error("rules/not_utf8.rules", HB_EUTF8, 4, "not valid UTF-8");
}

static void test_error_nul_byte(void **state)
{
    (void)state;
    expect_load_error("rules/nul_byte.rules", HB_EFORMAT, 4, "NUL byte");
}

/* Smaller syntax errors, from strings. */
static void test_error_syntax(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"task = fraud\n", "inline.rules:1: 'task' before the first"},
        {"[Bad Id]\n", "inline.rules:1: bad rule id"},
        {"[x\n", "inline.rules:1: rule header"},
        {"[x]\njust words\n", "inline.rules:2: expected 'key = value'"},
        {"[x]\ntask = fraud\ntask = spam\n", "inline.rules:3: 'task' given twice"},
        {"[x]\ntask = Fraud!\n", "inline.rules:2: bad task"},
        {"[x]\ntask = fraud\nweight =\n", "inline.rules:3: 'weight' has no value"},
        {"[x]\ntask = fraud\npatern =\n", "inline.rules:3: unknown key 'patern'"},
        {"[x]\ntask = fraud\nweight = 1e3\n", "inline.rules:3: bad weight"},
        {"[x]\ntask = fraud\nweight = 1000\n", "inline.rules:3: bad weight"},
        {"[x]\ntask = fraud\nweight = .5\n", "inline.rules:3: bad weight"},
        {"[x]\ntask = fraud\nweight = 1\npattern = a\\Cb\n",
         "inline.rules:4: bad pattern"},
        {"[x]\nweight = 1\npattern = a\ndescription = d\n",
         "inline.rules:1: rule 'x' has no 'task'"},
        {"[x]\ntask = t\nweight = 1\ndescription = d\n",
         "inline.rules:1: rule 'x' has no 'pattern'"},
        {"# nothing but a comment\n", "no rules found"},
        {"", "no rules found"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hb_error err;
        hb_rules *r = hb_rules_parse(cases[i].text, strlen(cases[i].text),
                                     "inline.rules", &err);
        if (r)
            fail_msg("case %zu parsed but should not", i);
        if (!strstr(err.message, cases[i].want))
            fail_msg("case %zu: '%s' does not mention '%s'", i, err.message,
                     cases[i].want);
    }
}

/* Windows line ends and a byte-order mark are accepted; text need not be
 * NUL-terminated. */
static void test_crlf_bom_and_length(void **state)
{
    (void)state;
    const char text[] = "\xEF\xBB\xBF[x]\r\ntask = t\r\nweight = 1\r\n"
                        "pattern = ab\r\ndescription = d\r\nGARBAGE";
    hb_error err;
    hb_rules *r = hb_rules_parse(text, strlen(text) - strlen("GARBAGE"),
                                 NULL, &err);
    if (!r)
        fail_msg("%s", err.message);
    assert_string_equal(hb_rules_info(r, 0)->description, "d");
    assert_string_equal(hb_rules_info(r, 0)->file, "<rules>");
    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rule_hit hits[1];
    assert_int_equal(run(r, s, "xaby", hits, NULL), 1);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}

static void test_load_dir_errors(void **state)
{
    (void)state;
    hb_error err;
    assert_null(hb_rules_load_dir("tests/fixtures/rules/no-such-dir", &err));
    assert_int_equal(err.code, HB_ENOTFOUND);

    char empty[1024];
    snprintf(empty, sizeof empty, "%s", tu_tmpdir("rules_empty"));
    assert_null(hb_rules_load_dir(empty, &err));
    assert_int_equal(err.code, HB_ENOTFOUND);
    assert_non_null(strstr(err.message, "no *.rules files"));

    /* The same id in two files of one directory. */
    assert_null(hb_rules_load_dir(tu_fixture("rules/dup_dir"), &err));
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "b.rules:2: duplicate rule id"));
    assert_non_null(strstr(err.message, "a.rules:1"));

    assert_null(hb_rules_load_file("tests/fixtures/rules/absent.rules", &err));
    assert_int_equal(err.code, HB_ENOTFOUND);
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */

static void test_and_unless_semantics(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("[both]\n"
                           "task = t\n"
                           "weight = 1\n"
                           "pattern = alpha\n"
                           "pattern = beta\n"
                           "unless = gamma\n"
                           "unless = delta\n"
                           "description = alpha and beta, neither gamma nor delta\n");
    hb_rules_scratch *s = hb_rules_scratch_new();
    assert_non_null(s);
    hb_rule_hit hits[1];
    assert_int_equal(run(r, s, "alpha beta", hits, NULL), 1);
    assert_int_equal(run(r, s, "beta then alpha", hits, NULL), 1);
    assert_int_equal(run(r, s, "alpha only", hits, NULL), 0);
    assert_int_equal(run(r, s, "beta only", hits, NULL), 0);
    assert_int_equal(run(r, s, "alpha beta gamma", hits, NULL), 0);
    assert_int_equal(run(r, s, "alpha beta delta", hits, NULL), 0);
    assert_int_equal(run(r, s, "", hits, NULL), 0);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}

/* The span is the first match of the first pattern, in bytes of the
 * normalised text, even when a later pattern matched earlier. */
static void test_hit_spans(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("[zh]\ntask = fraud\nweight = 1\n"
                           "pattern = 安全账户\npattern = 转\n"
                           "description = d\n"
                           "[en]\ntask = fraud\nweight = 1\n"
                           "pattern = \\bcode\\b\ndescription = d\n"
                           "[groups]\ntask = fraud\nweight = 1\n"
                           "pattern = (c)(o)(d)(e)\ndescription = d\n");
    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rule_hit hits[3];
    /* "请转到安全账户" : 请 转 到 are 3 bytes each, so 安 starts at 9. */
    size_t n = run(r, s, "请转到安全账户", hits, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].rule, 0);
    assert_int_equal(hits[0].start, 9);
    assert_int_equal(hits[0].end, 21);

    n = run(r, s, "send the code now, code", hits, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(hits[0].rule, 1);
    assert_int_equal(hits[0].start, 9);
    assert_int_equal(hits[0].end, 13);
    /* More capture groups than the match data holds still match. */
    assert_int_equal(hits[1].rule, 2);
    assert_int_equal(hits[1].start, 9);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}

static void test_max_hits_and_bad_args(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("[a]\ntask = t\nweight = 1\npattern = x\ndescription = d\n"
                           "[b]\ntask = t\nweight = 1\npattern = x\ndescription = d\n"
                           "[c]\ntask = t\nweight = 1\npattern = x\ndescription = d\n");
    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rule_hit hits[3];
    size_t n = 99, lim = 99;
    assert_int_equal(hb_rules_match(r, s, "x", 1, hits, 2, &n, &lim), 0);
    assert_int_equal(n, 2);
    assert_int_equal(hits[0].rule, 0);
    assert_int_equal(hits[1].rule, 1);
    assert_int_equal(lim, 0);

    assert_int_equal(hb_rules_match(NULL, s, "x", 1, hits, 3, &n, NULL),
                     HB_EINVAL);
    assert_int_equal(hb_rules_match(r, NULL, "x", 1, hits, 3, &n, NULL),
                     HB_EINVAL);
    assert_int_equal(hb_rules_match(r, s, "x", 1, NULL, 3, &n, NULL),
                     HB_EINVAL);
    assert_int_equal(hb_rules_match(r, s, "x", 1, hits, 3, NULL, NULL),
                     HB_EINVAL);
    assert_int_equal(hb_rules_match(r, s, NULL, 0, hits, 3, &n, NULL), 0);
    assert_int_equal(n, 0);

    assert_int_equal(hb_rules_count(NULL), 0);
    assert_null(hb_rules_info(NULL, 0));
    assert_int_equal(hb_rules_find(NULL, "a"), -1);
    hb_rules_free(NULL);
    hb_rules_scratch_free(NULL);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}

/* Nested quantifiers over a long near-miss explode combinatorially.  The
 * match limit must stop them: the rules do not fire, they are counted as
 * limited, and the well-behaved rule next to them still works. */
static void test_pathological_rule_is_limited(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("[nested]\ntask = t\nweight = 1\n"
                           "pattern = (a+)+$\ndescription = d\n"
                           "[words]\ntask = t\nweight = 1\n"
                           "pattern = (\\w+\\s?)+$\ndescription = d\n"
                           "[unless_nested]\ntask = t\nweight = 1\n"
                           "pattern = a\nunless = (a|aa)+$\ndescription = d\n"
                           "[fine]\ntask = t\nweight = 1\n"
                           "pattern = a{5}!\ndescription = d\n");
    hb_rules_scratch *s = hb_rules_scratch_new();
    size_t len = 30000;
    char *text = malloc(len + 2);
    assert_non_null(text);
    memset(text, 'a', len);
    text[len] = '!';
    text[len + 1] = '\0';

    hb_rule_hit hits[4];
    size_t limited = 0;
    size_t n = run(r, s, text, hits, &limited);
    assert_int_equal(limited, 3);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].rule, 3);

    /* The scratch is still usable afterwards; on a short text the nested
     * rules simply match (and the unless of the third one too). */
    n = run(r, s, "aaaaa", hits, &limited);
    assert_int_equal(limited, 0);
    assert_int_equal(n, 2);
    assert_int_equal(hits[0].rule, 0);
    assert_int_equal(hits[1].rule, 1);
    free(text);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}


/* ------------------------------------------------------------------ */
/* The prefilter                                                       */

/* One rule per construct the prefilter rewriter translates, widens or
 * cuts into pieces: each must give the same hits with the prefilter as
 * without, on texts made to match some and miss others. */
static const char *const constructs[] = {
    "安全账户",
    "\\bcode\\b",
    "\\bcode\\B",
    "(你|您)(的)?[^。!?]{0,20}(订单|快递)",
    "验证码(为|是|:)?\\s?[0-9]{4,8}",
    "[0-9x]{7,}|1[0-9x]{10}",
    "^(hi|hello) there",
    "done$",
    "a.b",
    "\\d{3}-\\d{4}",
    "\\w+@\\w+",
    "[\\p{Han}x]总",
    "\\p{Han}{2}银行",
    "[^\\s]{3}z",
    "[^a-z ]{2}q",
    "[\\x{4e00}-\\x{9fa5}]{2}",
    "\\x{5b89}\\x{5168}",
    "\\x41\\x42|\\o{103}d",
    "\\t|\\cA",
    "[]x]y|[^]a]z",
    "[a\\-c]{2}!",
    "(?<=转)账",
    "(?<!不)要钱",
    "我(?!们)",
    "pay(?=pal)",
    "(?:ab|cd){2,3}e",
    "(ab){2}",
    "(?<word>hello) world",
    "x*?y+?z??w",
    "(a(b(c(d)?)?)?)e",
    "gift[^.!?]*card[^.!?]*(send|code)",
    "\\.\\-\\]\\}",
    "é|ß",
    "#tag",
    "🎁",
};

static const char *const construct_texts[] = {
    "",
    "a",
    "请转到安全账户",
    "send the code now",
    "codex",
    "您的订单异常",
    "你好,你的快递",
    "你的。快递",
    "验证码为 123456",
    "验证码:12345",
    "call 13800138000",
    "1xxxxxxxxxx",
    "hi there",
    "oh hi there",
    "we are done",
    "done\n",
    "done and dusted",
    "a\nb",
    "axb",
    "555-1234",
    "٥٥٥-١٢٣٤",
    "mail me@example",
    "我是你们李总",
    "我是你们x总",
    "我是你们𰀀总",
    "工商银行",
    "𠀀𠀁银行",
    "abcz",
    "ab z",
    "中文q",
    "12q",
    "安全",
    "ABd",
    "Cd",
    "\t",
    "\x01",
    "]y",
    "}z",
    "bz",
    "a-!",
    "-c!",
    "转账",
    "不要钱",
    "要钱",
    "我们",
    "我",
    "paypal",
    "payment",
    "ababe",
    "abcdcde",
    "abab",
    "hello world",
    "xyyw",
    "xyzw",
    "ae",
    "abe",
    "abcde",
    "gift card, send",
    "gift. card send",
    ".-]}",
    "é",
    "#tag",
    "a 🎁 for you",
};

static void test_prefilter_constructs(void **state)
{
    (void)state;
    char text[16384];
    size_t len = 0;
    size_t nconstructs = sizeof constructs / sizeof *constructs;
    for (size_t i = 0; i < nconstructs; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "[c%zu]\ntask = t\nweight = 1\npattern = %s\n"
                                "description = d\n",
                                i, constructs[i]);
    assert_true(len < sizeof text);
    hb_rules *r = parse_ok(text);
    /* Everything above is translated, none is left to PCRE2 alone. */
    assert_int_equal(hb_rules_prefilter_fallbacks(r), 0);
    size_t total = 0;
    for (size_t i = 0; i < sizeof construct_texts / sizeof *construct_texts;
         i++)
        total += same_with_prefilter(r, construct_texts[i],
                                     strlen(construct_texts[i]));
    assert_true(total >= 40); /* the texts do exercise the rules */
    hb_rules_free(r);
}

/* Patterns the rewriter leaves to PCRE2 (syntax it does not translate,
 * or that can match the empty string, so every text is a candidate) are
 * counted, and still work. */
static void test_prefilter_fallbacks(void **state)
{
    (void)state;
    static const char *const fallbacks[] = {
        "(?i)abc", "(a)\\1",      "(?>ab)c",   "\\Qa.b\\E", "[[:digit:]]x",
        "ab{,3}",  "ab{2,3}+",    "a(?=b)?",   "x?",        "abc|",
        "\\Kx",    "\\R",         "(?s).x",    "^",         "a*",
        "(?#c)ab", "(?|(a)|(b))", "(a)?(?(1)b|c)",
    };
    size_t n = sizeof fallbacks / sizeof *fallbacks;
    char text[4096];
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "[f%zu]\ntask = t\nweight = 1\npattern = %s\n"
                                "description = d\n",
                                i, fallbacks[i]);
    /* One translatable rule, whose unless is a fallback. */
    len += (size_t)snprintf(text + len, sizeof text - len,
                            "[mixed]\ntask = t\nweight = 1\npattern = abc\n"
                            "unless = (?i)ABCD\ndescription = d\n");
    assert_true(len < sizeof text);
    hb_rules *r = parse_ok(text);
    assert_int_equal(hb_rules_prefilter_fallbacks(r), n + 1);
    assert_int_equal(hb_rules_prefilter_fallbacks(NULL), 0);
    static const char *const texts[] = {
        "",      "abc",    "ABC",  "aa",   "a.b",  "7x",   "abbb",
        "abbbb", "ab",     "xx",   "\r\n", "a\nx", "abcd", "ABCD",
        "b",     "abcabc",
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        total += same_with_prefilter(r, texts[i], strlen(texts[i]));
    assert_true(total > 0);
    hb_rules_free(r);
}

/* The prefilter knows when a pattern cannot match; PCRE2 alone may give
 * up on it at the match limit first.  Then the prefilter's answer stands:
 * an unless line that cannot match does not stop its rule, and a pattern
 * line that cannot match is not run, so neither is counted as limited. */
static void test_prefilter_settles_limited(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("[unless]\ntask = t\nweight = 1\npattern = a\n"
                           "unless = (a|aa)+[0-9]\ndescription = d\n"
                           "[pattern]\ntask = t\nweight = 1\n"
                           "pattern = (a|aa)+[0-9]\ndescription = d\n");
    size_t len = 30000;
    char *text = malloc(len + 2);
    assert_non_null(text);
    memset(text, 'a', len);
    text[len] = '!';
    text[len + 1] = '\0';
    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rule_hit hits[2];
    size_t limited = 99;
    size_t n = run(r, s, text, hits, &limited);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].rule, 0);
    assert_int_equal(limited, 0);

    hb_rules_scratch_set_prefilter(s, 0);
    n = run(r, s, text, hits, &limited);
    assert_int_equal(n, 0);
    assert_int_equal(limited, 2);
    hb_rules_scratch_set_prefilter(NULL, 0);
    free(text);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}

/* One scratch, many rule sets: a reload frees one set and loads another,
 * which may well land at the same address with a database of a different
 * size; the scratch must notice and resize. */
static void test_prefilter_scratch_many_sets(void **state)
{
    (void)state;
    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rules_scratch *fresh = NULL;
    hb_rule_hit hits[8], want[8];
    char text[4096];
    for (int round = 0; round < 6; round++) {
        size_t len = 0;
        /* Alternately a small and a larger set. */
        int nrules = round % 2 ? 8 : 1;
        for (int i = 0; i < nrules; i++)
            len += (size_t)snprintf(text + len, sizeof text - len,
                                    "[r%d]\ntask = t\nweight = 1\n"
                                    "pattern = (x|y)[^!]{0,%d}z%d|w{%d}\n"
                                    "description = d\n",
                                    i, 3 + round, i, 2 + i);
        hb_rules *r = parse_ok(text);
        fresh = hb_rules_scratch_new();
        const char *msgs[] = {"x z0", "x z5", "wwwwwwwww", "nothing", ""};
        for (size_t m = 0; m < sizeof msgs / sizeof *msgs; m++) {
            size_t n = run(r, s, msgs[m], hits, NULL);
            size_t nw = run(r, fresh, msgs[m], want, NULL);
            assert_int_equal(n, nw);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(hits[i].rule, want[i].rule);
                assert_int_equal(hits[i].start, want[i].start);
                assert_int_equal(hits[i].end, want[i].end);
            }
        }
        hb_rules_scratch_free(fresh);
        hb_rules_free(r);
    }
    hb_rules_scratch_free(s);
}

/* ------------------------------------------------------------------ */
/* The shipped rule set                                                */

static hb_rules *shipped;
static hb_rules_scratch *scratch;
static hb_rule_hit *shipped_hits;

static int shipped_setup(void **state)
{
    (void)state;
    hb_error err;
    shipped = hb_rules_load_dir("models/rules", &err);
    if (!shipped) {
        fprintf(stderr, "models/rules: %s\n", err.message);
        return -1;
    }
    scratch = hb_rules_scratch_new();
    shipped_hits = calloc(hb_rules_count(shipped), sizeof *shipped_hits);
    return scratch && shipped_hits ? 0 : -1;
}

static int shipped_teardown(void **state)
{
    (void)state;
    free(shipped_hits);
    hb_rules_scratch_free(scratch);
    hb_rules_free(shipped);
    return 0;
}

/* Sum of the weights of fired rules of task, and of positive ones. */
static double task_score(const char *text, const char *task, size_t *npos)
{
    size_t n = run(shipped, scratch, text, shipped_hits, NULL);
    double sum = 0.0;
    *npos = 0;
    for (size_t i = 0; i < n; i++) {
        const hb_rule_info *info = hb_rules_info(shipped, shipped_hits[i].rule);
        if (strcmp(info->task, task) != 0)
            continue;
        sum += info->weight;
        if (info->weight > 0)
            (*npos)++;
    }
    return sum;
}

static int shipped_fires(const char *text, const char *id)
{
    assert_true(hb_rules_find(shipped, id) >= 0);
    size_t n = run(shipped, scratch, text, shipped_hits, NULL);
    return fired(shipped, shipped_hits, n, id);
}

static void test_shipped_loads(void **state)
{
    (void)state;
    size_t n = hb_rules_count(shipped);
    assert_true(n >= 50);
    for (size_t i = 0; i < n; i++) {
        const hb_rule_info *info = hb_rules_info(shipped, i);
        assert_true(info->description[0] != '\0');
        assert_true(info->weight >= -3.0 && info->weight <= 3.0);
    }
}

/* A synthetic fake-police script: identity, accusation, safe account,
 * secrecy. */
static const char fake_police[] =
    "您好,我是市公安局刑侦支队的民警,您的身份证涉嫌一起洗钱案件,"
    "现在需要您配合调查,把名下资金转到安全账户进行核查,不要告诉任何人。";

static void test_shipped_fake_police(void **state)
{
    (void)state;
    assert_true(shipped_fires(fake_police, "fraud.zh.authority.safe_account"));
    assert_true(shipped_fires(fake_police, "fraud.zh.authority.accuses_you"));
    assert_true(shipped_fires(fake_police, "fraud.zh.any.secrecy"));
    size_t npos;
    assert_true(task_score(fake_police, "fraud", &npos) >= 3.0);
}

static void test_shipped_code_request(void **state)
{
    (void)state;
    const char *text = "您好,我是平台客服,刚才系统给您发了一条验证码,"
                       "麻烦您把验证码发给我核对一下。";
    assert_true(
        shipped_fires(text, "fraud.zh.account_phishing.code_request"));
    size_t npos;
    assert_true(task_score(text, "fraud", &npos) >= 2.0);
}

static void test_shipped_english_smishing(void **state)
{
    (void)state;
    const char *text = "urgent: your bank account has been suspended. "
                       "verify your identity at http://secure-login.example/"
                       "verify to avoid closure.";
    assert_true(
        shipped_fires(text, "fraud.en.account_phishing.suspended"));
    assert_true(
        shipped_fires(text, "fraud.en.account_phishing.verify_details"));
    size_t npos;
    assert_true(task_score(text, "fraud", &npos) >= 2.0);

    const char *prize = "congratulations! you have won a £1000 prize. "
                        "to claim call 09061234567 now.";
    assert_true(shipped_fires(prize, "fraud.en.prize.you_won"));
    assert_true(task_score(prize, "fraud", &npos) >= 2.0);
}

/* Legitimate messages that share the scams' words. */
static void test_shipped_legitimate(void **state)
{
    (void)state;
    size_t npos;
    const char *otp_zh = "【示例银行】验证码为482913,您正在进行网上支付,"
                         "请勿泄露给他人。";
    assert_true(task_score(otp_zh, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);
    assert_true(shipped_fires(otp_zh, "fraud.zh.legit.otp_notice"));

    const char *otp_en = "482913 is your verification code. "
                         "do not share this code with anyone.";
    assert_true(task_score(otp_en, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);

    const char *bank = "您尾号1234的储蓄卡3月5日14:20支出人民币200.00元,"
                       "余额3,518.20元。";
    assert_true(task_score(bank, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);

    /* An advert is spam, not fraud. */
    const char *advert = "【优品生活】双十一全场5折,满200减50,进店再送好礼!"
                         "详询4008001234,回t退订";
    assert_true(task_score(advert, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);
    assert_true(shipped_fires(advert, "spam.zh.unsubscribe"));
    assert_true(task_score(advert, "spam", &npos) >= 2.0);

    const char *en_advert = "summer sale: 30% off everything this weekend, "
                            "use promo code sun30. reply stop to opt out";
    assert_true(task_score(en_advert, "fraud", &npos) <= 0.0);
    assert_int_equal(npos, 0);
    assert_true(task_score(en_advert, "spam", &npos) >= 1.5);
}

static void test_shipped_rumour(void **state)
{
    (void)state;
    size_t npos;
    const char *chain = "紧急扩散!每天喝这种茶能治癌症,医生都不会告诉你,"
                        "请转发给你的家人和朋友!";
    assert_true(task_score(chain, "rumour", &npos) >= 2.0);
    assert_true(task_score(chain, "fraud", &npos) < 1.0);

    const char *en = "doctors don't want you to know this: garlic cures "
                     "cancer naturally. share this with everyone before "
                     "it's deleted!";
    assert_true(task_score(en, "rumour", &npos) >= 2.0);
}


/* Messages for the prefilter comparison: scams, adverts, rumours and
 * everyday messages in Chinese and English, as users paste them (upper
 * case, full-width punctuation, disguises), then hostile input. */
static const char *const messages[] = {
    /* Chinese scams */
    "【公安局】您好，我是市公安局刑侦支队民警王警官，您的身份证涉嫌一起洗钱"
    "案件，请立即将名下资金转到安全账户配合调查，不要告诉任何人。",
    "您好，我是淘宝客服，您购买的商品因质量问题需要退款，请点击链接 "
    "http://tb-refund.example.cn 填写银行卡号和验证码办理理赔。",
    "招聘兼职刷单，日赚300-500元，在家动动手指就能赚钱，先垫付后返佣，"
    "加微信 ab12345 了解详情。",
    "【XX金融】您的贷款额度已审批通过，额度50000元，需先缴纳保证金2000元"
    "解冻账户后即可放款，请联系专员办理。",
    "小王，我是你们张总，我在开会不方便接电话，你先帮我转5万元给这个账户，"
    "6222 0000 1111 2222，急用。",
    "妈，我手机掉水里了，这是我新号，我现在急需用钱交学费，你先转3000到我"
    "同学的卡上。",
    "恭喜您被抽中为幸运用户，获得二等奖现金88000元及笔记本电脑一台，请登录"
    "www.zhongjiang-example.com领取，需先缴纳个人所得税。",
    "老师带你炒股，内幕消息，稳赚不赔，收益率高达30%，扫码进群："
    "https://t.example/abc",
    "您的征信出现异常，将影响个人征信，请下载APP注销校园贷账户，否则将上报"
    "央行。",
    "您好，您的快递在运输途中丢失，我们将给您3倍理赔，请加客服QQ 123456789 "
    "办理。",
    "【医保局】您的医保卡已被冻结，涉嫌违规套取医保基金，请拨打 "
    "010-12345678 联系处理。",
    "请下载腾讯会议，打开屏幕共享，我们工作人员远程帮您操作退款。",
    "您的游戏账号涉嫌违规将被封号，请添加客服薇信解冻，需要支付解冻费。",
    "安 全 账 户 转 账，V信联系，扣扣 ８８８８８８",
    "您好，请把验证码发给我核对一下，谢谢！ＱＱ：１２３４５６",
    /* Chinese ham, adverts, rumours */
    "【招商银行】验证码：482913，您正在进行转账操作，请勿泄露给他人。",
    "【工商银行】您尾号1234的储蓄卡3月5日14:20支出人民币200.00元，余额"
    "3,518.20元。",
    "【优品生活】双十一全场5折，满200减50，进店再送好礼！详询4008001234，"
    "回T退订",
    "【碧桂园】城市核心地段，首付20万起，火爆认筹中，欢迎来电咨询："
    "0755-88886666，拒收请回复R",
    "【反诈中心提醒】公检法机关不会通过电话办案，更没有所谓的安全账户，谨防"
    "电信诈骗！",
    "紧急扩散！每天喝这种茶能治癌症，医生都不会告诉你，请转发给你的家人和"
    "朋友！",
    "据说某地已经有3个孩子被拐，人贩子开着白色面包车，大家转发提醒身边的人！",
    "今晚七点一起吃饭吗？我在老地方等你。",
    "【顺丰速运】您的快件已到达小区丰巢柜，取件码 56789，请及时领取。",
    /* English */
    "URGENT! You have won a £1000 prize GUARANTEED. Call 09061234567 to "
    "claim. T&C apply.",
    "Your bank account has been suspended. Verify your identity at "
    "http://secure-login.example/verify to avoid closure.",
    "Hi mum, this is my new number, I dropped my phone. Can you transfer "
    "£300 for my rent? I'll pay you back tomorrow.",
    "USPS: your package could not be delivered due to incomplete address. "
    "Update here: https://usps-track.example/p",
    "IRS notice: you owe back taxes. Pay immediately with gift cards or face "
    "arrest.",
    "Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. "
    "Text FA to 87121 to receive entry question(std txt rate)",
    "I'm going to be late, can you pick up milk on the way home?",
    "482913 is your verification code. Do not share this code with anyone.",
    "Summer sale: 30% off everything this weekend, use promo code SUN30. "
    "Reply STOP to opt out",
    "Doctors don't want you to know this: garlic cures cancer naturally. "
    "Share this with everyone before it's deleted!",
    "Invest $500 in bitcoin today and earn 20% daily returns guaranteed! Join "
    "our WhatsApp group.",
    "Hey sexy, lonely tonight? Chat with local singles now, text DATE to "
    "69696, £1.50/msg",
    "Your Amazon order #123-4567 has shipped. Track it in the app.",
    /* Hostile */
    "",
    " ",
    "安全\n账户\t转账\u200b验证码\r\n123456\x01\x7f",
    "我是𰀀总，𠀀𠀁快转账，🎁🎉 you won 🏆 prize",
    "((((((((((]]]]]]]]}}}}}}{{{{{{\\\\\\\\\\\\[[[[????****++++",
    "。。。！！！？？？,,,...!!!???",
    "ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ／ＬＯＧＩＮ hxxp://evil[.]example/verify",
};

/* Hostile messages built at run time: long near-misses. */
static char *repeat(const char *unit, size_t times, const char *tail)
{
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(u * times + t + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * u, unit, u);
    memcpy(s + u * times, tail, t + 1);
    return s;
}

/* Compare raw and normalised forms of text. */
static size_t compare_both_forms(hb_text *norm, const char *text, size_t len)
{
    size_t hits = same_with_prefilter(shipped, text, len);
    hb_error err;
    assert_int_equal(hb_normalize(text, len, norm, &err), 0);
    hits += same_with_prefilter(shipped, norm->utf8, norm->len);
    return hits;
}

static void test_shipped_prefilter_changes_nothing(void **state)
{
    (void)state;
    /* Every shipped pattern is prefiltered. */
    assert_int_equal(hb_rules_prefilter_fallbacks(shipped), 0);
    hb_text norm;
    hb_text_init(&norm);
    size_t total = 0;
    size_t n = sizeof messages / sizeof *messages;
    for (size_t i = 0; i < n; i++)
        total += compare_both_forms(&norm, messages[i], strlen(messages[i]));
    assert_true(total >= 60); /* the messages do trip rules */

    /* A NUL byte inside (raw form only: normalisation drops it). */
    static const char nul[] = "安全账户\0转账 验证码 123456";
    same_with_prefilter(shipped, nul, sizeof nul - 1);

    /* Long near-misses, and all the messages as one. */
    char *long_inputs[] = {
        repeat("a", 30000, "!"),
        repeat("你", 20000, "转账"),
        repeat("ab", 10000, " code"),
        repeat("1", 50000, ""),
        repeat("安全账户 ", 3000, "不会"),
        repeat("http://x.example/", 2000, ""),
    };
    for (size_t i = 0; i < sizeof long_inputs / sizeof *long_inputs; i++) {
        compare_both_forms(&norm, long_inputs[i], strlen(long_inputs[i]));
        free(long_inputs[i]);
    }
    size_t all_len = 0;
    for (size_t i = 0; i < n; i++)
        all_len += strlen(messages[i]) + 1;
    char *all = malloc(all_len + 1);
    assert_non_null(all);
    all_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(messages[i]);
        memcpy(all + all_len, messages[i], k);
        all[all_len + k] = '\n';
        all_len += k + 1;
    }
    all[all_len] = '\0';
    assert_true(compare_both_forms(&norm, all, all_len) > 0);
    free(all);
    hb_text_release(&norm);
}

int main(void)
{
    const struct CMUnitTest loading[] = {
        cmocka_unit_test(test_parse_good_fixture),
        cmocka_unit_test(test_error_missing_key),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_bad_weight),
        cmocka_unit_test(test_error_bad_regex),
        cmocka_unit_test(test_error_duplicate_id),
        cmocka_unit_test(test_error_not_utf8),
        cmocka_unit_test(test_error_nul_byte),
        cmocka_unit_test(test_error_syntax),
        cmocka_unit_test(test_crlf_bom_and_length),
        cmocka_unit_test(test_load_dir_errors),
        cmocka_unit_test(test_and_unless_semantics),
        cmocka_unit_test(test_hit_spans),
        cmocka_unit_test(test_max_hits_and_bad_args),
        cmocka_unit_test(test_pathological_rule_is_limited),
        cmocka_unit_test(test_prefilter_constructs),
        cmocka_unit_test(test_prefilter_fallbacks),
        cmocka_unit_test(test_prefilter_settles_limited),
        cmocka_unit_test(test_prefilter_scratch_many_sets),
    };
    const struct CMUnitTest with_shipped[] = {
        cmocka_unit_test(test_shipped_loads),
        cmocka_unit_test(test_shipped_fake_police),
        cmocka_unit_test(test_shipped_code_request),
        cmocka_unit_test(test_shipped_english_smishing),
        cmocka_unit_test(test_shipped_legitimate),
        cmocka_unit_test(test_shipped_rumour),
        cmocka_unit_test(test_shipped_prefilter_changes_nothing),
    };
    int failed = cmocka_run_group_tests_name("rules", loading, NULL, NULL);
    failed += cmocka_run_group_tests_name("shipped rules", with_shipped,
                                          shipped_setup, shipped_teardown);
    return failed ? 1 : 0;
}
