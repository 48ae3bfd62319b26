/*
 * test_rules.c - unit tests for classifier/rules.c.
 *
 * Three groups:
 *   - loading: the good fixture parses with the values it spells out, and
 *     every class of mistake is rejected with "file:line: what" (fixtures
 *     in tests/fixtures/rules/, one per mistake);
 *   - matching: AND over `pattern`, OR over `unless`, hit spans in bytes,
 *     the hits buffer limit, and a catastrophic-backtracking rule that must
 *     be abandoned at the match limit rather than run away;
 *   - the shipped rule set (models/rules/): it loads, a few representative
 *     scams trip the rules meant for them, and a legitimate one-time-code
 *     notice and a shop advert do not trip any positive fraud rule.
 *
 * Texts are written already normalised (lower case, half-width punctuation,
 * see normalize.h) so this test does not depend on normalize.c.
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
    assert_int_equal(a->line, 4);
    assert_non_null(strstr(a->file, "good.rules"));

    /* Indented header, no spaces around '=', values trimmed, '+1'. */
    const hb_rule_info *b = hb_rules_info(r, 1);
    assert_string_equal(b->id, "test.spam.unsubscribe");
    assert_string_equal(b->task, "spam");
    assert_string_equal(b->type, "");
    assert_true(b->weight == 1.0);
    assert_string_equal(b->description, "Unsubscribe marker.");

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
    };
    const struct CMUnitTest with_shipped[] = {
        cmocka_unit_test(test_shipped_loads),
        cmocka_unit_test(test_shipped_fake_police),
        cmocka_unit_test(test_shipped_code_request),
        cmocka_unit_test(test_shipped_english_smishing),
        cmocka_unit_test(test_shipped_legitimate),
        cmocka_unit_test(test_shipped_rumour),
    };
    int failed = cmocka_run_group_tests_name("rules", loading, NULL, NULL);
    failed += cmocka_run_group_tests_name("shipped rules", with_shipped,
                                          shipped_setup, shipped_teardown);
    return failed ? 1 : 0;
}
