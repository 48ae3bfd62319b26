/*
 * test_tiers.c - the "possible" tier and the headline rules: a message
 * that may be a scam is never told "advertising, not fraud" or "no fraud
 * signs found", in full and brief replies, nor is one where a fraud rule
 * that is a sign on its own fired; bundles without a possible
 * threshold have no possible tier; a bad one is refused at load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "render.h"
#include "testutil.h"

static char models[1100];

/* Set manifest key (a number) of models/task, or remove it (value < 0). */
static void set_manifest(const char *task, const char *key, double value)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/%s/manifest.json", models, task);
    json_t *m = json_load_file(path, 0, NULL);
    assert_non_null(m);
    if (value < 0)
        json_object_del(m, key);
    else
        json_object_set_new(m, key, json_real(value));
    json_object_del(json_object_get(m, "calibration"), "by_script");
    assert_int_equal(json_dump_file(m, path, JSON_INDENT(2)), 0);
    json_decref(m);
}

static hb_engine *open_engine(void)
{
    hb_error err;
    hb_engine *e = hb_engine_open(TU_RULES, models, &err);
    if (!e)
        fail_msg("%s", err.message);
    return e;
}

static const hb_verdict *classify(hb_engine *e, hb_session *s, const char *text)
{
    const hb_verdict *v;
    hb_error err;
    if (hb_classify(e, s, text, strlen(text), &v, &err) != 0)
        fail_msg("classify failed: %s", err.message);
    return v;
}

static const char *AD = "周年庆大促，全场五折，会员买一送一，退订回T";
static const char *CHAT = "明天上午开会，记得带上报表。";

static int setup(void **state)
{
    (void)state;
    snprintf(models, sizeof models, "%s", tu_tmpdir("tier_models"));
    tu_train_fixture_model("fraud", models);
    tu_train_fixture_model("spam", models);
    return 0;
}

/* A bundle without "possible_threshold": likely or nothing. */
static void test_no_possible_tier_without_threshold(void **state)
{
    (void)state;
    set_manifest("fraud", "possible_threshold", -1);
    hb_engine *e = open_engine();
    hb_session *s = hb_session_new();
    const hb_verdict *v = classify(e, s, AD);
    const hb_task_result *fraud = tu_task(v, "fraud");
    assert_int_equal(fraud->tier, HB_TIER_NONE);
    assert_true(fraud->possible_threshold == fraud->threshold);
    assert_int_equal(tu_task(v, "spam")->tier, HB_TIER_LIKELY);
    assert_string_equal(hb_verdict_name(v), "spam");
    hb_session_free(s);
    hb_engine_free(e);
}

/* With a possible threshold under the advert's fraud probability, the
 * advert reads "possibly fraud", in both languages and both details. */
static void test_possible_fraud_outranks_advertising(void **state)
{
    (void)state;
    set_manifest("fraud", "possible_threshold", 0.0);
    hb_engine *e = open_engine();
    hb_session *s = hb_session_new();
    const hb_verdict *v = classify(e, s, AD);
    const hb_task_result *fraud = tu_task(v, "fraud");
    assert_false(fraud->positive);
    assert_int_equal(fraud->tier, HB_TIER_POSSIBLE);
    assert_true(tu_task(v, "spam")->positive);
    assert_ptr_equal(hb_verdict_headline(v), fraud);
    assert_string_equal(hb_verdict_name(v), "possible_fraud");
    char en[256], zh[256];
    hb_verdict_summary(e, v, "en", en, sizeof en);
    hb_verdict_summary(e, v, "zh", zh, sizeof zh);
    assert_non_null(strstr(en, "Possibly fraud: verify before acting"));
    assert_null(strstr(en, "Advertising"));
    assert_non_null(strstr(zh, "可能是诈骗，请先核实"));

    hb_render_options opt = hb_render_defaults();
    for (int brief = 0; brief < 2; brief++) {
        opt.detail = brief ? HB_DETAIL_BRIEF : HB_DETAIL_FULL;
        json_t *j = hb_verdict_to_json(e, s, v, &opt);
        assert_string_equal(json_string_value(json_object_get(j, "verdict")),
                            "possible_fraud");
        json_t *t = json_object_get(json_object_get(j, "tasks"), "fraud");
        assert_string_equal(json_string_value(json_object_get(t, "tier")), "possible");
        assert_true(json_is_true(json_object_get(t, "possible")));
        assert_true(json_is_false(json_object_get(t, "positive")));
        json_t *spam = json_object_get(json_object_get(j, "tasks"), "spam");
        assert_string_equal(json_string_value(json_object_get(spam, "tier")), "likely");
        /* full replies carry the general advice for a possible scam */
        assert_int_equal(json_object_get(j, "advice") != NULL, !brief);
        assert_int_equal(json_object_get(t, "possible_threshold") != NULL, !brief);
        json_decref(j);
    }

    /* and ordinary chat is no longer "no fraud signs found" either */
    v = classify(e, s, CHAT);
    assert_string_equal(hb_verdict_name(v), "possible_fraud");
    hb_session_free(s);
    hb_engine_free(e);
}

/* Below the possible threshold nothing is possible: chat reads "no fraud
 * signs found", a likely scam stays likely. */
static void test_likely_and_none(void **state)
{
    (void)state;
    hb_engine *e = open_engine();
    hb_session *s = hb_session_new();
    const hb_verdict *v = classify(e, s, CHAT);
    double p = tu_task(v, "fraud")->probability, t = tu_task(v, "fraud")->threshold;
    hb_engine_free(e);
    set_manifest("fraud", "possible_threshold", p + (t - p) / 2);
    e = open_engine();
    v = classify(e, s, CHAT);
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_NONE);
    assert_null(hb_verdict_headline(v));
    assert_string_equal(hb_verdict_name(v), "clean");
    char en[256];
    hb_verdict_summary(e, v, "en", en, sizeof en);
    assert_string_equal(en, "No fraud signs found");
    v = classify(e, s, "您好，这里是公安局，您的银行卡涉嫌洗钱，请把存款转入安全账户。");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_LIKELY);
    assert_string_equal(hb_verdict_name(v), "fraud");
    hb_session_free(s);
    hb_engine_free(e);
}

/* Copy the one-brand fixture table (ICBC) in beside the models. */
static void add_brands(void)
{
    char path[1300];
    FILE *in = fopen(tu_fixture("brands/good.tsv"), "rb");
    assert_non_null(in);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    snprintf(path, sizeof path, "%s/brands.tsv", models);
    tu_write_file(path, buf, n);
}

static const hb_brand_assessment *brand(const hb_verdict *v)
{
    assert_int_equal(v->nbrands, 1);
    return &v->brands[0];
}

/* A brand named with a link that is not its own makes fraud possible
 * however low the score; with only its own channels, a possible that
 * rests on the score alone is taken back. */
static void test_brands_move_the_fraud_tier(void **state)
{
    (void)state;
    add_brands();
    set_manifest("fraud", "possible_threshold", -1); /* no tier from the score */
    hb_engine *e = open_engine();
    hb_session *s = hb_session_new();
    const hb_verdict *v =
        classify(e, s, "工商银行提醒：周年庆会员日，详情见 icbc-vip.top");
    assert_int_equal(brand(v)->status, HB_BRAND_IMPERSONATION);
    assert_int_equal(brand(v)->cause, HB_BRAND_CAUSE_LINK);
    assert_true(tu_task(v, "fraud")->tier >= HB_TIER_POSSIBLE);
    assert_string_equal(hb_verdict_name(v),
                        tu_task(v, "fraud")->positive ? "fraud" : "possible_fraud");
    hb_render_options opt = hb_render_defaults();
    json_t *j = hb_verdict_to_json(e, s, v, &opt);
    json_t *b = json_array_get(json_object_get(j, "brands"), 0);
    assert_string_equal(json_string_value(json_object_get(b, "status")), "impersonation");
    assert_string_equal(json_string_value(json_object_get(b, "link")), "icbc-vip.top");
    const char *en =
        json_string_value(json_object_get(json_object_get(b, "reason"), "en"));
    assert_non_null(strstr(en, "icbc-vip.top is not one of its websites"));
    json_decref(j);
    hb_engine_free(e);

    set_manifest("fraud", "threshold", 1.0);          /* nothing likely, */
    set_manifest("fraud", "possible_threshold", 0.0); /* everything possible */
    e = open_engine();
    v = classify(e, s, "工商银行提醒：周年庆会员日，详情见 www.icbc.com.cn");
    assert_int_equal(brand(v)->status, HB_BRAND_OFFICIAL);
    assert_false(tu_task(v, "fraud")->positive);
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_NONE);
    /* without the brand the same score is possible */
    v = classify(e, s, "周年庆会员日，详情见 www.example.com.cn");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_POSSIBLE);
    hb_session_free(s);
    hb_engine_free(e);
}

/* An engine on the fixture rules plus extra (one more rules file), with
 * a fraud score that reaches no tier by itself: whatever tier fraud gets
 * comes from the evidence beside the score. */
static hb_engine *open_with_rules(const char *extra)
{
    char rules[1100], path[1300];
    snprintf(rules, sizeof rules, "%s", tu_tmpdir("tier_rules"));
    static const char *const COPY[] = {"test.rules", "types.tsv", "tasks.tsv"};
    for (size_t i = 0; i < sizeof COPY / sizeof COPY[0]; i++) {
        char from[1300];
        snprintf(from, sizeof from, "%s/%s", TU_RULES, COPY[i]);
        FILE *in = fopen(from, "rb");
        assert_non_null(in);
        static char buf[65536];
        size_t n = fread(buf, 1, sizeof buf, in);
        fclose(in);
        snprintf(path, sizeof path, "%s/%s", rules, COPY[i]);
        tu_write_file(path, buf, n);
    }
    snprintf(path, sizeof path, "%s/extra.rules", rules);
    tu_write_file(path, extra, strlen(extra));
    set_manifest("fraud", "threshold", 1.0);
    set_manifest("fraud", "possible_threshold", 1.0); /* nothing from the score */
    hb_error err;
    hb_engine *e = hb_engine_open(rules, models, &err);
    if (!e)
        fail_msg("%s", err.message);
    return e;
}

/* A fraud rule matching inside a link (a look-alike domain) makes fraud
 * possible whatever the score; the URL model's call alone does not. */
static void test_rule_on_a_link_makes_fraud_possible(void **state)
{
    (void)state;
    hb_engine *e =
        open_with_rules("[test.fraud.lookalike]\ntask = fraud\nweight = 0.001\n"
                        "pattern = [a-z]+-jf\\.top\n"
                        "description = A look-alike points address.\n");
    hb_session *s = hb_session_new();
    const hb_verdict *v = classify(e, s, "周年庆大促，积分兑换礼品 abc-jf.top");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_POSSIBLE);
    assert_string_equal(hb_verdict_name(v), "possible_fraud");
    v = classify(e, s, "周年庆大促，积分兑换礼品 abc-shop.top");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_NONE);
    hb_session_free(s);
    hb_engine_free(e);
}

/* A fraud rule of weight 1.5 or more, or a lighter one that says
 * `sign = yes`, is a sign on its own: the message is at least possible
 * fraud, never "no fraud signs found" or "advertising"; a lighter cue
 * alone, or a heavy one that says `sign = no`, leaves the tier to the
 * score. */
static void test_a_sign_rule_makes_fraud_possible(void **state)
{
    (void)state;
    hb_engine *e = open_with_rules("[test.fraud.forwarding]\ntask = fraud\nweight = 1.5\n"
                                   "pattern = 呼叫转移\n"
                                   "description = A call-forwarding code.\n\n"
                                   "[test.fraud.cue]\ntask = fraud\nweight = 1.2\n"
                                   "pattern = 急用\n"
                                   "description = Haste.\n\n"
                                   "[test.fraud.opener]\ntask = fraud\nweight = 0.3\n"
                                   "sign = yes\npattern = 新号码\n"
                                   "description = A new number.\n\n"
                                   "[test.fraud.heavy_cue]\ntask = fraud\nweight = 1.6\n"
                                   "sign = no\npattern = 报表\n"
                                   "description = A report.\n\n"
                                   "[test.fraud.against]\ntask = fraud\nweight = -2\n"
                                   "pattern = 营业厅\n"
                                   "description = A counter in person.\n");
    hb_session *s = hb_session_new();
    char line[256];
    const hb_verdict *v = classify(e, s, "请设置呼叫转移，明天上午开会");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_POSSIBLE);
    hb_verdict_summary(e, v, "en", line, sizeof line);
    assert_non_null(strstr(line, "Possibly fraud"));
    v = classify(e, s, "周年庆大促，全场五折，设置呼叫转移送流量，退订回T");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_POSSIBLE);
    assert_string_equal(hb_verdict_name(v), "possible_fraud");
    v = classify(e, s, "急用，明天上午开会记得带上报表");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_NONE);
    v = classify(e, s, "这是我的新号码，明天上午开会");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_POSSIBLE);
    v = classify(e, s, "明天上午去营业厅开会");
    assert_int_equal(tu_task(v, "fraud")->tier, HB_TIER_NONE);
    hb_session_free(s);
    hb_engine_free(e);
}

/* A possible threshold above the likely one makes no sense: refused. */
static void test_bad_possible_threshold_refused(void **state)
{
    (void)state;
    set_manifest("fraud", "threshold", 0.5);
    set_manifest("fraud", "possible_threshold", 0.7);
    hb_error err;
    hb_engine *e = hb_engine_open(TU_RULES, models, &err);
    assert_null(e);
    assert_non_null(strstr(err.message, "possible_threshold"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_possible_tier_without_threshold),
        cmocka_unit_test(test_possible_fraud_outranks_advertising),
        cmocka_unit_test(test_likely_and_none),
        cmocka_unit_test(test_brands_move_the_fraud_tier),
        cmocka_unit_test(test_rule_on_a_link_makes_fraud_possible),
        cmocka_unit_test(test_a_sign_rule_makes_fraud_possible),
        cmocka_unit_test(test_bad_possible_threshold_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
