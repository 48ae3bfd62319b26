/*
 * test_typemodel.c - the fraud type model: scoring by hand-set weights,
 * the learned margin cut-off, every malformed spec refused, and the train -> save -> load
 * -> classify round trip (a likely fraud no typed rule recognises gets the model's type,
 * one typed rule still decides, rules that disagree are settled by the model's margins, a
 * message not likely fraud gets none; a type missing from types.tsv or a corrupt
 * types.bin refuses the bundle).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "half.h"
#include "testutil.h"
#include "trainer.h"
#include "typemodel.h"

enum { BITS = 8, BUCKETS = 1 << BITS };

static json_t *spec_of(int bits, const char *a, const char *b, double bias_a,
                       double bias_b)
{
    return json_pack("{s:i, s:[s,s], s:[f,f]}", "hash_bits", bits, "classes", a, b,
                     "bias", bias_a, bias_b);
}

/* A vector of one entry at idx with value val. */
static void one_entry(hb_fvec *v, uint32_t idx, float val)
{
    hb_feature_config cfg = hb_feature_config_default();
    hb_fvec_init(v);
    assert_int_equal(hb_fvec_add_named(&cfg, v, "x", 1.0f), 0);
    v->idx[0] = idx;
    v->val[0] = val;
}

static void test_predict_by_hand(void **state)
{
    (void)state;
    /* bucket 5 says "parcel" (+2), "loan" (-1); both biases -0.5 */
    float w[BUCKETS * 2] = {0};
    w[5 * 2 + 0] = -1.0f;
    w[5 * 2 + 1] = 2.0f;
    unsigned char *data;
    size_t len;
    assert_int_equal(hb_type_model_encode(w, BITS, 2, &data, &len), 0);
    assert_int_equal(len, BUCKETS * 2 * 2);
    json_t *spec = spec_of(BITS, "loan", "parcel", -0.5, -0.5);
    hb_error err;
    hb_type_model *m = hb_type_model_parse(spec, data, len, "t", &err);
    assert_non_null(m);
    assert_int_equal(hb_type_model_nclasses(m), 2);
    assert_string_equal(hb_type_model_class(m, 1), "parcel");
    assert_null(hb_type_model_class(m, 2));

    hb_fvec v;
    double margin;
    /* bucket 5 + 256 folds onto bucket 5 */
    one_entry(&v, 5 + BUCKETS, 1.0f);
    float values[1] = {0.5f};
    assert_string_equal(hb_type_model_predict(m, &v, values, &margin), "parcel");
    assert_true(fabs(margin - 0.5) < 1e-6); /* -0.5 + 2 x 0.5 */
    /* no evidence: every margin is the negative bias, so no type */
    values[0] = 0.0f;
    assert_null(hb_type_model_predict(m, &v, values, &margin));
    assert_true(fabs(margin + 0.5) < 1e-6);
    hb_fvec_release(&v);
    hb_type_model_free(m);
    json_decref(spec);
    free(data);
}

/* A learned min_margin lets a type whose margin is a little below 0 be
 * named; absent, the cut-off is 0. */
static void test_min_margin(void **state)
{
    (void)state;
    float w[BUCKETS * 2] = {0};
    unsigned char *data;
    size_t len;
    assert_int_equal(hb_type_model_encode(w, BITS, 2, &data, &len), 0);
    hb_fvec v;
    one_entry(&v, 5, 1.0f);
    float values[1] = {1.0f};
    double margin;
    hb_error err;
    const double cuts[] = {-0.4, -0.2};
    const char *want[] = {"parcel", NULL};
    for (size_t i = 0; i < 2; i++) {
        json_t *spec =
            json_pack("{s:i, s:[s,s], s:[f,f], s:f}", "hash_bits", BITS, "classes",
                      "loan", "parcel", "bias", -0.5, -0.3, "min_margin", cuts[i]);
        hb_type_model *m = hb_type_model_parse(spec, data, len, "t", &err);
        assert_non_null(m);
        const char *t = hb_type_model_predict(m, &v, values, &margin);
        assert_true(fabs(margin + 0.3) < 1e-6);
        if (want[i])
            assert_string_equal(t, want[i]);
        else
            assert_null(t);
        hb_type_model_free(m);
        json_decref(spec);
    }
    hb_fvec_release(&v);
    free(data);
}

static void expect_refused(json_t *spec, size_t len, const char *what)
{
    unsigned char *data = calloc(len ? len : 1, 1);
    hb_error err;
    assert_null(hb_type_model_parse(spec, data, len, "types.bin", &err));
    if (!strstr(err.message, what))
        fail_msg("expected \"%s\" in \"%s\"", what, err.message);
    free(data);
    json_decref(spec);
}

static void test_malformed_refused(void **state)
{
    (void)state;
    size_t ok = BUCKETS * 2 * 2;
    expect_refused(spec_of(BITS, "loan", "parcel", 0, 0), ok - 2, "bytes");
    expect_refused(spec_of(4, "loan", "parcel", 0, 0), ok, "hash_bits");
    expect_refused(spec_of(BITS, "loan", "loan", 0, 0), ok, "listed twice");
    expect_refused(spec_of(BITS, "loan", "Parcel!", 0, 0), ok, "not a type id");
    expect_refused(json_pack("{s:i, s:[s,s], s:[f]}", "hash_bits", BITS, "classes", "a",
                             "b", "bias", 0.0),
                   ok, "bias");
    expect_refused(
        json_pack("{s:i, s:[s], s:[f]}", "hash_bits", BITS, "classes", "a", "bias", 0.0),
        BUCKETS * 2, "classes");
    const double bad_cuts[] = {0.5, -11.0};
    for (size_t i = 0; i < 2; i++)
        expect_refused(json_pack("{s:i, s:[s,s], s:[f,f], s:f}", "hash_bits", BITS,
                                 "classes", "a", "b", "bias", 0.0, 0.0, "min_margin",
                                 bad_cuts[i]),
                       ok, "min_margin");
    expect_refused(json_pack("{s:i, s:[s,s], s:[f,f], s:s}", "hash_bits", BITS, "classes",
                             "a", "b", "bias", 0.0, 0.0, "min_margin", "low"),
                   ok, "min_margin");
}

#define RULES "tests/fixtures/engine/rules"

/* The fixture's fraud model with its type model, trained into dir: the
 * fixture's types.tsv has authority and customer_service, so its
 * fraud_loan and fraud_acquaintance rows train no type. */
static void train_typed(const char *dir, hb_train_result *res)
{
    hb_error err;
    hb_engine *e = hb_engine_open(RULES, NULL, &err);
    assert_non_null(e);
    hb_dataset ds;
    hb_dataset_init(&ds);
    assert_int_equal(hb_dataset_load(&ds, tu_fixture("train_small.tsv"), &err), 0);
    hb_label_map map;
    hb_label_map_default("fraud", &map, NULL);
    hb_train_options o = hb_train_defaults("fraud");
    o.features.hash_bits = 14;
    o.type_prefix = "fraud_";
    o.type_bits = 10;
    if (hb_train_text(e, &ds, &map, &o, dir, NULL, res, &err) != 0)
        fail_msg("training failed: %s", err.message);
    hb_dataset_release(&ds);
    hb_engine_free(e);
}

static json_t *manifest_of(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m = json_load_file(path, 0, NULL);
    assert_non_null(m);
    return m;
}

static void test_train_and_classify(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("types_rt"));
    hb_train_result res;
    train_typed(dir, &res);
    assert_int_equal(res.typed, 10); /* 5 authority + 5 customer_service rows */
    json_t *man = manifest_of(dir);
    json_t *types = json_object_get(man, "types");
    assert_int_equal(json_array_size(json_object_get(types, "classes")), 2);
    double right = json_number_value(json_object_get(
        json_object_get(json_object_get(types, "metrics"), "cross_validation"), "right"));
    assert_true(right >= 0 && right <= 1);
    /* learned out of fold, in steps of 0.05 from 0 to -1 */
    double cut = json_number_value(json_object_get(types, "min_margin"));
    assert_true(json_is_number(json_object_get(types, "min_margin")));
    assert_true(cut <= 0 && cut >= -1.0);
    json_decref(man);

    hb_error err;
    hb_engine *e = hb_engine_open(RULES, dir, &err);
    assert_non_null(e);
    hb_session *s = hb_session_new();
    const hb_verdict *v;
    /* no typed rule fires: the type is the model's */
    const char *police = "我是派出所的，你涉嫌洗钱，配合调查";
    assert_int_equal(hb_classify(e, s, police, strlen(police), &v, &err), 0);
    const hb_task_result *r = tu_task(v, "fraud");
    assert_int_equal(r->tier, HB_TIER_LIKELY);
    assert_int_equal(r->type_by, HB_TYPE_BY_MODEL);
    /* which of the two, on ten typed rows, is beside the point */
    assert_true(strcmp(r->type, "authority") == 0 ||
                strcmp(r->type, "customer_service") == 0);
    /* a typed rule (test.code_request) decides the type itself */
    const char *code = "您好，我是客服，请提供验证码给我，马上为您退款";
    assert_int_equal(hb_classify(e, s, code, strlen(code), &v, &err), 0);
    r = tu_task(v, "fraud");
    assert_int_equal(r->type_by, HB_TYPE_BY_RULES);
    assert_string_equal(r->type, "customer_service");
    /* two typed rules that disagree (test.safe_account: authority,
     * test.code_request: customer_service): the type model picks the one
     * with the larger margin of the two */
    const char *both = "公安局通知：您涉嫌洗钱，请把存款转入安全账户，并提供验证码";
    assert_int_equal(hb_classify(e, s, both, strlen(both), &v, &err), 0);
    r = tu_task(v, "fraud");
    assert_int_equal(r->tier, HB_TIER_LIKELY);
    assert_int_equal(r->type_by, HB_TYPE_BY_RULES);
    const hb_model *m = r->model;
    const hb_type_model *tm = hb_model_types(m);
    assert_non_null(tm);
    const hb_fvec *fv;
    assert_int_equal(
        hb_featurize(e, s, hb_model_features(m), both, strlen(both), &fv, &err), 0);
    float values[4096];
    assert_true(fv->n <= 4096);
    hb_model_values(m, fv, values);
    double margin[HB_TYPE_CLASSES_MAX];
    hb_type_model_margins(tm, fv, values, margin);
    int a = hb_type_model_index(tm, "authority"),
        c = hb_type_model_index(tm, "customer_service");
    assert_true(a >= 0 && c >= 0);
    assert_string_equal(r->type,
                        margin[a] >= margin[c] ? "authority" : "customer_service");
    assert_int_equal(hb_type_model_index(tm, "loan"), -1); /* not in types.tsv */

    /* a message that is not likely fraud gets no type from the model */
    const char *home = "我到家了，你也早点睡";
    assert_int_equal(hb_classify(e, s, home, strlen(home), &v, &err), 0);
    r = tu_task(v, "fraud");
    assert_int_not_equal(r->tier, HB_TIER_LIKELY);
    assert_null(r->type);
    assert_int_equal(r->type_by, HB_TYPE_BY_NONE);
    hb_session_free(s);
    hb_engine_free(e);
}

static void test_bundle_refused(void **state)
{
    (void)state;
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("types_bad"));
    hb_train_result res;
    train_typed(dir, &res);
    hb_error err;

    /* a type types.tsv does not know: the verdict could not explain it */
    json_t *man = manifest_of(dir);
    json_t *good = json_deep_copy(man);
    json_array_set_new(json_object_get(json_object_get(man, "types"), "classes"), 1,
                       json_string("no_such_type"));
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    assert_int_equal(json_dump_file(man, path, 0), 0);
    assert_null(hb_engine_open(RULES, dir, &err));
    assert_non_null(strstr(err.message, "\"no_such_type\" is not in types.tsv"));
    assert_int_equal(json_dump_file(good, path, 0), 0);
    json_decref(man);
    json_decref(good);

    /* a changed types.bin fails its checksum */
    snprintf(path, sizeof path, "%s/types.bin", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fputc(0x7b, f);
    fclose(f);
    assert_null(hb_engine_open(RULES, dir, &err));
    assert_non_null(strstr(err.message, "types_xxh64"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict_by_hand),
        cmocka_unit_test(test_min_margin),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_train_and_classify),
        cmocka_unit_test(test_bundle_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
