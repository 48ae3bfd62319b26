/*
 * test_rules.c - unit tests for classifier/rules.c.
 *
 * The engine, on rules written here and in tests/fixtures/rules/; the
 * shipped rules (models/rules/) are tested in test_shipped_rules.c, and
 * what the prefilter makes of each pattern in test_prefilter.c.  Three
 * groups:
 *   - loading: the good fixture parses with the values it spells out, and
 *     every class of mistake is rejected with "file:line: what" (fixtures
 *     in tests/fixtures/rules/, one per mistake);
 *   - matching: AND over `pattern`, OR over `unless`, hit spans in bytes,
 *     the hits buffer limit, and a catastrophic-backtracking rule that must
 *     be abandoned at the match limit rather than run away;
 *   - the prefilter seen through the engine: every regex construct the
 *     Hyperscan rewriter handles (and those it leaves to PCRE2) gives the
 *     same hits with the prefilter as without it, one scratch serves
 *     several rule sets, and the prefilter may settle a rule PCRE2 alone
 *     would give up on.
 *
 * Texts are written already normalised (lower case, half-width
 * punctuation, see normalize.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
static void expect_load_error(const char *name, int code, int line, const char *want)
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
        fail_msg("message '%s' does not start with '%s'", err.message, prefix);
    if (!strstr(err.message, want))
        fail_msg("message '%s' does not mention '%s'", err.message, want);
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
    expect_load_error("rules/unknown_key.rules", HB_EFORMAT, 4, "unknown key 'patern'");
}

static void test_error_bad_weight(void **state)
{
    (void)state;
    expect_load_error("rules/bad_weight.rules", HB_EFORMAT, 4, "bad weight '0,5'");
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
        {"[x]\ntask = fraud\nsign = true\n", "inline.rules:3: bad sign 'true'"},
        {"[x]\ntask = fraud\nsign = yes\nsign = no\n",
         "inline.rules:4: 'sign' given twice"},
        {"[x]\ntask = t\nweight = -1\nsign = yes\npattern = a\ndescription = d\n",
         "inline.rules:1: rule 'x' says 'sign = yes' but its weight is not above 0"},
        {"[x]\ntask = fraud\nweight = 1\npattern = a\\Cb\n",
         "inline.rules:4: bad pattern"},
        {"[x]\nweight = 1\npattern = a\ndescription = d\n",
         "inline.rules:1: rule 'x' has no 'task'"},
        {"[x]\ntask = t\nweight = 1\ndescription = d\n",
         "inline.rules:1: rule 'x' has no 'pattern'"},
        {"define = x\n", "inline.rules:1: bad define name ''"},
        {"define warn =\n", "inline.rules:1: 'define warn' has no pattern"},
        {"define warn = (a\n", "inline.rules:1: bad pattern"},
        {"[x]\ntask = t\nweight = 1\npattern = (?&warn)\n",
         "inline.rules:4: unknown name 'warn'"},
        {"define w = a\ndefine w = b\n",
         "inline.rules:2: 'w' is already defined (line 1)"},
        {"define w = a\n", "no rules found"},
        {"# nothing but a comment\n", "no rules found"},
        {"", "no rules found"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hb_error err;
        hb_rules *r =
            hb_rules_parse(cases[i].text, strlen(cases[i].text), "inline.rules", &err);
        if (r)
            fail_msg("case %zu parsed but should not", i);
        if (!strstr(err.message, cases[i].want))
            fail_msg("case %zu: '%s' does not mention '%s'", i, err.message,
                     cases[i].want);
    }
}

/* A rule is a sign on its own from HB_RULE_SIGN_WEIGHT up, unless it says
 * otherwise either way. */
static void test_sign(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("[heavy]\ntask = fraud\nweight = 1.5\npattern = a\n"
                           "description = d\n"
                           "[light]\ntask = fraud\nweight = 1.49\npattern = a\n"
                           "description = d\n"
                           "[light.sign]\ntask = fraud\nweight = 0.5\nsign = yes\n"
                           "pattern = a\ndescription = d\n"
                           "[heavy.cue]\ntask = fraud\nweight = 2\nsign = no\n"
                           "pattern = a\ndescription = d\n");
    assert_int_equal(hb_rules_info(r, 0)->sign, 1);
    assert_int_equal(hb_rules_info(r, 1)->sign, 0);
    assert_int_equal(hb_rules_info(r, 2)->sign, 1);
    assert_int_equal(hb_rules_info(r, 3)->sign, 0);
    hb_rules_free(r);
}

/* Windows line ends and a byte-order mark are accepted; text need not be
 * NUL-terminated. */
static void test_crlf_bom_and_length(void **state)
{
    (void)state;
    const char text[] = "\xEF\xBB\xBF[x]\r\ntask = t\r\nweight = 1\r\n"
                        "pattern = ab\r\ndescription = d\r\nGARBAGE";
    hb_error err;
    hb_rules *r = hb_rules_parse(text, strlen(text) - strlen("GARBAGE"), NULL, &err);
    if (!r)
        fail_msg("%s", err.message);
    assert_string_equal(hb_rules_info(r, 0)->description, "d");
    assert_string_equal(hb_rules_info(r, 0)->file, "<rules>");
    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rule_hit hits[1];
    assert_int_equal(tu_rules_run(r, s, "xaby", hits, NULL), 1);
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
    assert_int_equal(tu_rules_run(r, s, "alpha beta", hits, NULL), 1);
    assert_int_equal(tu_rules_run(r, s, "beta then alpha", hits, NULL), 1);
    assert_int_equal(tu_rules_run(r, s, "alpha only", hits, NULL), 0);
    assert_int_equal(tu_rules_run(r, s, "beta only", hits, NULL), 0);
    assert_int_equal(tu_rules_run(r, s, "alpha beta gamma", hits, NULL), 0);
    assert_int_equal(tu_rules_run(r, s, "alpha beta delta", hits, NULL), 0);
    assert_int_equal(tu_rules_run(r, s, "", hits, NULL), 0);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}

/* define lines: a piece named once and used by pattern, unless and later
 * define lines, before, inside and between rules; hits and spans as if
 * the piece were written out.  A definition holds to the end of its file
 * only. */
static void test_defines(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("define warn = 谨防|警惕\n"
                           "[safe]\ntask = fraud\nweight = 1\n"
                           "pattern = 安全(账|帐)户\n"
                           "unless = (?&warn)|不存在\n"
                           "define site = (?<![a-z0-9-])(?:icbc\\.com\\.cn|95588\\.com)\n"
                           "description = d\n"
                           "[link]\ntask = fraud\nweight = 1\n"
                           "define official = (?&site)(?![a-z0-9-])\n"
                           "pattern = 登录\n"
                           "unless = (?&official)\n"
                           "description = d\n"
                           "[class]\ntask = t\nweight = 1\n"
                           "pattern = x[(?&warn)]\n"
                           "description = d\n");
    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rule_hit hits[3];
    assert_int_equal(tu_rules_run(r, s, "请转到安全账户", hits, NULL), 1);
    assert_int_equal(hits[0].start, 9);
    assert_int_equal(hits[0].end, 21);
    assert_int_equal(tu_rules_run(r, s, "谨防安全账户诈骗", hits, NULL), 0);
    assert_int_equal(tu_rules_run(r, s, "请登录 icbc-vip.top", hits, NULL), 1);
    assert_int_equal(tu_rules_run(r, s, "请登录 icbc.com.cn", hits, NULL), 0);
    assert_int_equal(tu_rules_run(r, s, "请登录 xicbc.com.cn", hits, NULL), 1);
    assert_int_equal(tu_rules_run(r, s, "x&", hits, NULL), 1); /* a class, not a piece */
    assert_int_equal(tu_rules_run(r, s, "x谨", hits, NULL), 0);
    hb_rules_scratch_free(s);
    hb_rules_free(r);

    hb_error err;
    assert_null(hb_rules_load_dir(tu_fixture("rules/define_dir"), &err));
    assert_int_equal(err.code, HB_EFORMAT);
    assert_non_null(strstr(err.message, "b.rules:5: unknown name 'warn'"));
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
    size_t n = tu_rules_run(r, s, "请转到安全账户", hits, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].rule, 0);
    assert_int_equal(hits[0].start, 9);
    assert_int_equal(hits[0].end, 21);

    n = tu_rules_run(r, s, "send the code now, code", hits, NULL);
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

    assert_int_equal(hb_rules_match(NULL, s, "x", 1, hits, 3, &n, NULL), HB_EINVAL);
    assert_int_equal(hb_rules_match(r, NULL, "x", 1, hits, 3, &n, NULL), HB_EINVAL);
    assert_int_equal(hb_rules_match(r, s, "x", 1, NULL, 3, &n, NULL), HB_EINVAL);
    assert_int_equal(hb_rules_match(r, s, "x", 1, hits, 3, NULL, NULL), HB_EINVAL);
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
    size_t n = tu_rules_run(r, s, text, hits, &limited);
    assert_int_equal(limited, 3);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].rule, 3);

    /* The scratch is still usable afterwards; on a short text the nested
     * rules simply match (and the unless of the third one too). */
    n = tu_rules_run(r, s, "aaaaa", hits, &limited);
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
    for (size_t i = 0; i < sizeof construct_texts / sizeof *construct_texts; i++)
        total += tu_rules_same_with_prefilter(r, construct_texts[i],
                                              strlen(construct_texts[i]));
    assert_true(total >= 40); /* the texts do exercise the rules */
    hb_rules_free(r);
}

/* A pattern line that makes a weak filter ("u" is in nearly every
 * English text) is left out of the prefilter when its rule has a
 * stronger line, and only then: not a fallback either way, and the hits
 * are those PCRE2 alone finds, span included (the span is the first
 * line's, here the weak one's). */
static void test_prefilter_weak_lines(void **state)
{
    (void)state;
    hb_rules *r = parse_ok("[w.paired]\ntask = t\nweight = 1\n"
                           "pattern = \\b(u|you)\\b\n"
                           "pattern = \\bwon\\b\n"
                           "description = d\n"
                           "[w.alone]\ntask = t\nweight = 1\n"
                           "pattern = \\b(to|2)\\b\n"
                           "description = d\n"
                           "[w.both_weak]\ntask = t\nweight = 1\n"
                           "pattern = [0-9]\n"
                           "pattern = \\b(u|r)\\b\n"
                           "description = d\n");
    assert_int_equal(hb_rules_prefilter_fallbacks(r), 0);
    static const char *const texts[] = {
        "u won", "you have won", "we won", "u there",   "go to 2 u",
        "r u 2", "run ur",       "",       "won won u",
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        total += tu_rules_same_with_prefilter(r, texts[i], strlen(texts[i]));
    assert_int_equal(total, 7);

    hb_rules_scratch *s = hb_rules_scratch_new();
    hb_rule_hit hits[4];
    size_t n, limited;
    assert_int_equal(hb_rules_match(r, s, "won won u", 9, hits, 4, &n, &limited), 0);
    assert_int_equal(n, 1);
    assert_string_equal(hb_rules_info(r, hits[0].rule)->id, "w.paired");
    assert_int_equal(hits[0].start, 8);
    assert_int_equal(hits[0].end, 9);
    hb_rules_scratch_free(s);
    hb_rules_free(r);
}

/* Patterns the rewriter leaves to PCRE2 (syntax it does not translate,
 * or that can match the empty string, so every text is a candidate) are
 * counted, and still work. */
static void test_prefilter_fallbacks(void **state)
{
    (void)state;
    static const char *const fallbacks[] = {
        "(?i)abc",  "(a)\\1",  "(?>ab)c", "\\Qa.b\\E", "[[:digit:]]x", "ab{,3}",
        "ab{2,3}+", "a(?=b)?", "x?",      "abc|",      "\\Kx",         "\\R",
        "(?s).x",   "^",       "a*",      "(?#c)ab",   "(?|(a)|(b))",  "(a)?(?(1)b|c)",
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
        "",   "abc", "ABC",  "aa",   "a.b",  "7x",   "abbb", "abbbb",
        "ab", "xx",  "\r\n", "a\nx", "abcd", "ABCD", "b",    "abcabc",
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        total += tu_rules_same_with_prefilter(r, texts[i], strlen(texts[i]));
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
    size_t n = tu_rules_run(r, s, text, hits, &limited);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].rule, 0);
    assert_int_equal(limited, 0);

    hb_rules_scratch_set_prefilter(s, 0);
    n = tu_rules_run(r, s, text, hits, &limited);
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
            size_t n = tu_rules_run(r, s, msgs[m], hits, NULL);
            size_t nw = tu_rules_run(r, fresh, msgs[m], want, NULL);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good_fixture),
        cmocka_unit_test(test_error_missing_key),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_bad_weight),
        cmocka_unit_test(test_error_bad_regex),
        cmocka_unit_test(test_error_duplicate_id),
        cmocka_unit_test(test_error_not_utf8),
        cmocka_unit_test(test_error_nul_byte),
        cmocka_unit_test(test_error_syntax),
        cmocka_unit_test(test_sign),
        cmocka_unit_test(test_crlf_bom_and_length),
        cmocka_unit_test(test_load_dir_errors),
        cmocka_unit_test(test_defines),
        cmocka_unit_test(test_and_unless_semantics),
        cmocka_unit_test(test_hit_spans),
        cmocka_unit_test(test_max_hits_and_bad_args),
        cmocka_unit_test(test_pathological_rule_is_limited),
        cmocka_unit_test(test_prefilter_constructs),
        cmocka_unit_test(test_prefilter_fallbacks),
        cmocka_unit_test(test_prefilter_weak_lines),
        cmocka_unit_test(test_prefilter_settles_limited),
        cmocka_unit_test(test_prefilter_scratch_many_sets),
    };
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
