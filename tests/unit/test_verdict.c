/*
 * test_verdict.c - the whole pipeline: separate fraud and spam verdicts,
 * fraud types from rules, evidence spans, masking, and input errors.
 * The models are trained by the test itself on tests/fixtures.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render.h"
#include "testutil.h"
#include "trainer.h"

#define RULES TU_RULES

static char models[1100];

typedef struct fixture {
    hb_engine *engine;
    hb_session *session;
} fixture;

static int setup(void **state)
{
    snprintf(models, sizeof models, "%s", tu_tmpdir("verdict_models"));
    tu_train_fixture_model("fraud", models);
    tu_train_fixture_model("spam", models);
    static fixture f;
    hb_error err;
    f.engine = hb_engine_open(RULES, models, &err);
    if (!f.engine) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    f.session = hb_session_new();
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hb_session_free(f->session);
    hb_engine_free(f->engine);
    return 0;
}

static const hb_verdict *classify(fixture *f, const char *text)
{
    const hb_verdict *v;
    hb_error err;
    if (hb_classify(f->engine, f->session, text, strlen(text), &v, &err) != 0)
        fail_msg("classify failed: %s", err.message);
    return v;
}

static void test_tasks_are_separate(void **state)
{
    fixture *f = *state;
    assert_int_equal(hb_engine_ntasks(f->engine), 2);
    const hb_verdict *v =
        classify(f, "您好，这里是公安局，您的银行卡涉嫌洗钱，请把存款转入安全账户。");
    const hb_task_result *fraud = tu_task(v, "fraud");
    assert_true(fraud->positive);
    assert_string_equal(fraud->label, "fraud");
    assert_non_null(fraud->type);
    assert_string_equal(fraud->type, "authority");
    assert_true(fraud->rule_weight >= 2.5);
    assert_string_equal(hb_verdict_headline(v)->task, "fraud");

    v = classify(f, "周年庆大促，全场五折，会员买一送一，退订回T");
    assert_false(tu_task(v, "fraud")->positive);
    assert_true(tu_task(v, "spam")->positive);
    assert_string_equal(hb_verdict_headline(v)->task, "spam");
    char line[256];
    hb_verdict_summary(f->engine, v, "en", line, sizeof line);
    assert_non_null(strstr(line, "Advertising, not fraud"));

    v = classify(f, "明天上午开会，记得带上报表。");
    assert_false(tu_task(v, "fraud")->positive);
    assert_false(tu_task(v, "spam")->positive);
    assert_null(hb_verdict_headline(v));
    hb_verdict_summary(f->engine, v, "zh", line, sizeof line);
    assert_string_equal(line, "未发现诈骗迹象");
}

static void test_probabilities_are_probabilities(void **state)
{
    fixture *f = *state;
    const hb_verdict *v = classify(f, "hello there");
    for (size_t i = 0; i < v->ntasks; i++) {
        assert_true(v->tasks[i].probability >= 0 && v->tasks[i].probability <= 1);
        assert_true(v->tasks[i].positive ==
                    (v->tasks[i].probability >= hb_model_threshold(v->tasks[i].model)));
    }
}

static void test_evidence_spans_point_at_the_original(void **state)
{
    fixture *f = *state;
    /* spaced-out, full-width obfuscation: the rule matches the normalised
     * text, the span must cover the characters as the user pasted them */
    const char *text = "快把钱转到 安 全 账 户 里";
    const hb_verdict *v = classify(f, text);
    long rule = hb_rules_find(hb_engine_rules(f->engine), "test.safe_account");
    assert_true(rule >= 0);
    size_t i = 0;
    while (i < v->nhits && v->hits[i].rule != (uint32_t)rule)
        i++;
    assert_true(i < v->nhits);
    size_t cs, ce;
    hb_session_source_span(f->session, v->hits[i].start, v->hits[i].end, &cs, &ce);
    assert_int_equal(cs, 6);  /* code points before "安" */
    assert_int_equal(ce, 13); /* through "户" */
}

static void test_explanations(void **state)
{
    fixture *f = *state;
    const hb_verdict *v = classify(f, "请提供验证码给客服，办理退款");
    hb_contribution top[5];
    size_t ti = 0;
    while (strcmp(v->tasks[ti].task, "fraud") != 0)
        ti++;
    size_t n = hb_explain(f->session, ti, 0, top, 5);
    assert_true(n > 0);
    for (size_t k = 1; k < n; k++)
        assert_true(fabs(top[k - 1].weight) >= fabs(top[k].weight));
    n = hb_explain(f->session, ti, 1, top, 5);
    for (size_t k = 0; k < n; k++)
        assert_true(top[k].weight > 0);
}

static void test_json_masks_personal_data(void **state)
{
    fixture *f = *state;
    const char *text =
        "公安局通知：请拨打13812345678，并转账到安全账户6222021234567890123";
    const hb_verdict *v = classify(f, text);
    hb_render_options o = hb_render_defaults();
    json_t *j = hb_verdict_to_json(f->engine, f->session, v, &o);
    char *out = json_dumps(j, 0);
    assert_null(strstr(out, "13812345678"));
    assert_null(strstr(out, "6222021234567890123"));
    assert_non_null(strstr(out, "\"verdict\": \"fraud\""));
    assert_non_null(strstr(out, "authority"));
    free(out);
    json_decref(j);
    o.unmask = 1;
    j = hb_verdict_to_json(f->engine, f->session, v, &o);
    out = json_dumps(j, 0);
    assert_non_null(strstr(out, "13812345678"));
    free(out);
    json_decref(j);
}

/* Excerpts cut to fit their buffer end between characters, so a reply
 * with a long Chinese match still serialises. */
static void test_excerpts_stay_utf8(void **state)
{
    fixture *f = *state;
    const hb_verdict *v = classify(f, "公安局通知请把存款转入安全账户配合调查");
    char out[8];
    for (uint32_t end = 3; end <= 30; end += 3) { /* three bytes a character */
        size_t n = hb_masked_excerpt(v, 0, end, out, sizeof out);
        assert_true(n < sizeof out);
        json_t *s = json_stringn(out, n); /* NULL if not UTF-8 */
        assert_non_null(s);
        json_decref(s);
    }
}

static void test_bad_input(void **state)
{
    fixture *f = *state;
    const hb_verdict *v;
    hb_error err;
    assert_int_equal(hb_classify(f->engine, f->session, "ok \xc3\x28 bad", 9, &v, &err),
                     HB_EUTF8);
    assert_int_equal(hb_classify(f->engine, f->session, " \t\xe2\x80\x8b ", 6, &v, &err),
                     HB_EEMPTY);
    assert_int_equal(hb_classify(f->engine, f->session, "", 0, &v, &err), HB_EEMPTY);
    hb_engine_set_max_text(f->engine, 10);
    assert_int_equal(hb_classify(f->engine, f->session, "0123456789A", 11, &v, &err),
                     HB_ETOOBIG);
    assert_non_null(strstr(err.message, "limit"));
    hb_engine_set_max_text(f->engine, HB_DEFAULT_MAX_TEXT);
    /* the session still works after errors */
    v = classify(f, "hello");
    assert_int_equal(v->ntasks, 2);
}

static void test_engine_errors(void **state)
{
    (void)state;
    hb_error err;
    const char *empty = tu_tmpdir("verdict_empty_models");
    assert_null(hb_engine_open(RULES, empty, &err));
    assert_int_equal(err.code, HB_ENOTFOUND);
    assert_non_null(strstr(err.message, "no text model"));
    assert_null(hb_engine_open("build/tmp/no-rules-here", NULL, &err));
    assert_null(hb_engine_open(RULES, "build/tmp/no-models-here", &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_are_separate),
        cmocka_unit_test(test_probabilities_are_probabilities),
        cmocka_unit_test(test_evidence_spans_point_at_the_original),
        cmocka_unit_test(test_explanations),
        cmocka_unit_test(test_json_masks_personal_data),
        cmocka_unit_test(test_excerpts_stay_utf8),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_engine_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
