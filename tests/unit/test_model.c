/*
 * test_model.c - model bundles: save/load round trip, linear collapse,
 * kernel fallback, and every kind of corrupt bundle refused clearly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libsvm/svm.h>
#include <xxhash.h>

#include "half.h"
#include "model.h"
#include "testutil.h"

enum { BITS = 10, DIM = 1 << BITS };

static json_t *base_manifest(void)
{
    hb_feature_config cfg = hb_feature_config_default();
    cfg.hash_bits = BITS;
    cfg.use_idf = 0;
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:f, s:{s:s, s:f, s:f}}", "task",
                     "fraud", "kind", "text", "version", "test-1", "labels", "positive",
                     "fraud", "negative", "not_fraud", "features",
                     hb_feature_config_to_json(&cfg), "threshold", 0.5, "calibration",
                     "method", "platt", "a", -2.0, "b", 0.0);
}

/* A bundle with w[i] = (i % 7 - 3) / 10 and bias 0.25 in a fresh dir. */
static const char *save_bundle(const char *tag, float *w)
{
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir(tag));
    for (int i = 0; i < DIM; i++)
        w[i] = (float)((i % 7) - 3) / 10.0f;
    json_t *man = base_manifest();
    hb_error err;
    assert_int_equal(hb_model_save_linear(dir, man, w, 0.25, NULL, 0.0, &err), 0);
    json_decref(man);
    return dir;
}

static void fill_vector(hb_fvec *v)
{
    static const uint32_t idx[] = {3, 10, 500, 1023};
    static const float val[] = {0.5f, -1.0f, 0.25f, 2.0f};
    hb_fvec_init(v);
    hb_feature_config cfg = hb_feature_config_default();
    cfg.hash_bits = BITS;
    /* build through the public API: named features land at hashed indices,
     * so set the arrays directly after one allocation */
    assert_int_equal(hb_fvec_add_named(&cfg, v, "x", 1.0f), 0);
    v->n = 4;
    for (int i = 0; i < 4; i++) {
        v->idx[i] = idx[i];
        v->val[i] = val[i];
        v->name[i] = NULL; /* character n-grams */
        v->group[i] = HB_GROUP_CHAR;
    }
}

static void test_round_trip_linear(void **state)
{
    (void)state;
    float w[DIM];
    const char *dir = save_bundle("model_rt", w);
    for (int i = 0; i < DIM; i++)
        w[i] = hb_half_round(w[i]); /* what the loaded table holds */
    hb_error err;
    hb_model *m = hb_model_load(dir, &err);
    assert_non_null(m);
    assert_string_equal(hb_model_task(m), "fraud");
    assert_string_equal(hb_model_positive(m), "fraud");
    assert_string_equal(hb_model_negative(m), "not_fraud");
    assert_string_equal(hb_model_kind(m), "text");
    assert_int_equal(hb_model_features(m)->hash_bits, BITS);
    hb_fvec v;
    fill_vector(&v);
    /* text features are L2-normalised by the model */
    double want = 0, norm = 0;
    for (size_t e = 0; e < v.n; e++) {
        want += (double)w[v.idx[e]] * v.val[e];
        norm += (double)v.val[e] * v.val[e];
    }
    want = 0.25 + want / sqrt(norm);
    assert_true(fabs(hb_model_decision(m, &v) - want) < 1e-5);
    float contrib[4];
    assert_true(fabs(hb_model_decision_explained(m, &v, contrib) - want) < 1e-5);
    assert_true(fabs(contrib[1] - w[10] * -1.0 / sqrt(norm)) < 1e-6);
    double sum = 0.25;
    for (int e = 0; e < 4; e++)
        sum += contrib[e];
    assert_true(fabs(sum - want) < 1e-5); /* contributions add up */
    /* a named feature is used as it is, outside the normalisation */
    v.name[3] = "rule:x";
    v.group[3] = HB_GROUP_NAMED;
    double named_want =
        0.25 +
        ((double)w[3] * 0.5 + (double)w[10] * -1.0 + (double)w[500] * 0.25) /
            sqrt(0.25 + 1.0 + 0.0625) +
        (double)w[1023] * 2.0;
    assert_true(fabs(hb_model_decision(m, &v) - named_want) < 1e-5);
    /* Platt with a = -2: p(0) = 0.5, increasing in the decision */
    assert_true(fabs(hb_model_probability(m, 0.0) - 0.5) < 1e-9);
    assert_true(hb_model_probability(m, 1.0) > 0.8);
    assert_true(hb_model_probability(m, -1.0) < 0.2);
    assert_true(hb_model_probability(m, 1e6) <= 1.0);
    hb_fvec_release(&v);
    hb_model_free(m);
    hb_model_free(NULL);
}

/* The tables' half precision: exact where binary16 is, ties to even,
 * within 2^-11 elsewhere, tiny values flushed, huge ones saturated. */
static void test_half_precision(void **state)
{
    (void)state;
    static const float exact[] = {0.0f,     1.0f,     -2.5f,     0.099975586f,
                                  65504.0f, 0x1p-14f, -0x1p-14f, 1.0009765625f};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        assert_true(hb_half_round(exact[i]) == exact[i]);
    assert_int_equal(hb_half_from_float(1.0f), 0x3c00);
    assert_int_equal(hb_half_from_float(-2.0f), 0xc000);
    /* halfway between 1 and 1 + 2^-10 goes to the even 1; the next
     * halfway point goes up to the even 1 + 2^-9 */
    assert_true(hb_half_round(1.0f + 0x1p-11f) == 1.0f);
    assert_true(hb_half_round(1.0f + 3 * 0x1p-11f) == 1.0f + 0x1p-9f);
    /* rounding carries into the exponent */
    assert_true(hb_half_round(2.0f - 0x1p-12f) == 2.0f);
    for (int k = 1; k < 20000; k++) {
        float f = (float)k * 0.000731f - 7.0f;
        float r = hb_half_round(f);
        if (fabsf(f) >= 0x1p-14f)
            assert_true(fabsf(r - f) <= fabsf(f) * 0x1p-11f);
    }
    assert_true(hb_half_round(5e-5f) == 0.0f);
    assert_true(hb_half_round(-1e-7f) == 0.0f);
    assert_true(hb_half_round(1e6f) == 65504.0f);
    assert_true(hb_half_round(-INFINITY) == -65504.0f);
}

static void expect_failure(const char *dir, int code, const char *needle)
{
    hb_error err;
    hb_model *m = hb_model_load(dir, &err);
    assert_null(m);
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
}

static void rewrite(const char *dir, const char *file, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    tu_write_file(path, text, strlen(text));
}

static void test_per_script_calibration(void **state)
{
    (void)state;
    float w[DIM];
    const char *dir = save_bundle("model_script", w);
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *man = json_load_file(path, 0, NULL);
    json_object_set_new(
        json_object_get(man, "calibration"), "by_script",
        json_pack("{s:{s:f, s:f, s:f}}", "cjk", "a", -4.0, "b", 1.0, "threshold", 0.7));
    json_object_set_new(man, "rule_weight_scale_by_script",
                        json_pack("{s:f, s:f}", "other", 0.25, "cjk", 1.0));
    json_dump_file(man, path, 0);
    json_decref(man);
    hb_error err;
    hb_model *m = hb_model_load(dir, &err);
    assert_non_null(m);
    /* CJK text gets its own calibration and threshold ... */
    assert_true(fabs(hb_model_probability_in(m, 0.25, HB_SCRIPT_CJK) - 0.5) < 1e-9);
    assert_true(hb_model_threshold_in(m, HB_SCRIPT_CJK) == 0.7);
    /* ... other text falls back to the pooled ones */
    assert_true(hb_model_probability_in(m, 0.3, HB_SCRIPT_OTHER) ==
                hb_model_probability(m, 0.3));
    assert_true(hb_model_threshold_in(m, HB_SCRIPT_OTHER) == hb_model_threshold(m));
    /* and the rules are trusted per script too */
    assert_true(hb_model_rule_scale_in(m, HB_SCRIPT_CJK) == 1.0);
    assert_true(hb_model_rule_scale_in(m, HB_SCRIPT_OTHER) == 0.25);
    hb_model_free(m);
}

static void test_missing_bundle(void **state)
{
    (void)state;
    expect_failure("build/tmp/no-such-bundle", HB_ENOTFOUND, "manifest.json");
}

static void test_corrupt_model_file(void **state)
{
    (void)state;
    float w[DIM];
    const char *dir = save_bundle("model_corrupt", w);
    char path[1200];
    snprintf(path, sizeof path, "%s/model.svm", dir);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    fputc('#', f);
    fclose(f);
    expect_failure(dir, HB_EFORMAT, "checksum");

    /* truncated to nothing */
    rewrite(dir, "model.svm", "");
    expect_failure(dir, HB_EFORMAT, "checksum");
}

static void test_garbage_with_matching_checksum(void **state)
{
    (void)state;
    float w[DIM];
    const char *dir = save_bundle("model_garbage", w);
    const char *junk = "this is not a libsvm model\n";
    rewrite(dir, "model.svm", junk);
    char man_path[1200];
    snprintf(man_path, sizeof man_path, "%s/manifest.json", dir);
    json_t *man = json_load_file(man_path, 0, NULL);
    char sum[17];
    snprintf(sum, sizeof sum, "%016llx",
             (unsigned long long)XXH64(junk, strlen(junk), 0));
    json_object_set_new(man, "model_xxh64", json_string(sum));
    json_dump_file(man, man_path, 0);
    json_decref(man);
    expect_failure(dir, HB_EFORMAT, "libsvm");
}

static void test_bad_manifests(void **state)
{
    (void)state;
    float w[DIM];
    const char *dir = save_bundle("model_manifest", w);
    rewrite(dir, "manifest.json", "{\"format\": \"hubao-model/1\",\n  \"task\": ");
    expect_failure(dir, HB_EFORMAT, "manifest.json:");
    rewrite(dir, "manifest.json", "[1, 2]");
    expect_failure(dir, HB_EFORMAT, "not a JSON object");
    rewrite(dir, "manifest.json", "{\"format\": \"other/2\"}");
    expect_failure(dir, HB_EFORMAT, "format");
    rewrite(dir, "manifest.json",
            "{\"format\": \"hubao-model/1\", \"task\": \"fraud\", \"version\": \"1\","
            " \"threshold\": 1.5, \"calibration\": {\"a\": -1, \"b\": 0},"
            " \"features\": {}}");
    expect_failure(dir, HB_EFORMAT, "threshold");
    rewrite(dir, "manifest.json",
            "{\"format\": \"hubao-model/1\", \"task\": \"fraud\", \"version\": \"1\","
            " \"threshold\": 0.5, \"features\": {}}");
    expect_failure(dir, HB_EFORMAT, "calibration");
    rewrite(dir, "manifest.json",
            "{\"format\": \"hubao-model/1\", \"task\": \"fraud\", \"version\": \"1\","
            " \"threshold\": 0.5, \"calibration\": {\"a\": -1, \"b\": 0},"
            " \"features\": {\"hash_bits\": 99}}");
    expect_failure(dir, HB_EFORMAT, "hash_bits");
    rewrite(dir, "manifest.json",
            "{\"format\": \"hubao-model/1\", \"task\": \"fraud\", \"version\": \"1\","
            " \"threshold\": 0.5, \"calibration\": {\"a\": -1, \"b\": 0},"
            " \"features\": {}, \"model_file\": \"../../etc/passwd\"}");
    expect_failure(dir, HB_EFORMAT, "model_file");
}

/* A real RBF model from libsvm: scored by the kernel fallback, which must
 * agree with svm_predict_values. */
static void test_kernel_fallback(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("model_rbf");
    struct svm_node xs[8][3];
    struct svm_node *rows[8];
    double ys[8];
    for (int i = 0; i < 8; i++) {
        xs[i][0] = (struct svm_node){1, i < 4 ? 1.0 + 0.1 * i : -1.0 - 0.1 * i};
        xs[i][1] = (struct svm_node){5, i % 2 ? 0.5 : -0.5};
        xs[i][2] = (struct svm_node){-1, 0};
        rows[i] = xs[i];
        ys[i] = i < 4 ? 1 : -1;
    }
    struct svm_problem prob = {8, ys, rows};
    struct svm_parameter param;
    memset(&param, 0, sizeof param);
    param.svm_type = C_SVC;
    param.kernel_type = RBF;
    param.gamma = 0.5;
    param.C = 1;
    param.eps = 1e-3;
    param.cache_size = 1;
    struct svm_model *sm = svm_train(&prob, &param);
    char path[1200];
    snprintf(path, sizeof path, "%s/model.svm", dir);
    assert_int_equal(svm_save_model(path, sm), 0);
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char sum[17];
    snprintf(sum, sizeof sum, "%016llx", (unsigned long long)XXH64(buf, len, 0));
    json_t *man = base_manifest();
    json_object_set_new(man, "format", json_string("hubao-model/1"));
    json_object_set_new(man, "model_xxh64", json_string(sum));
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_dump_file(man, path, 0);
    json_decref(man);

    hb_error err;
    hb_model *m = hb_model_load(dir, &err);
    if (!m)
        fail_msg("%s", err.message);
    hb_fvec v;
    fill_vector(&v);
    v.n = 2;
    v.idx[0] = 4; /* libsvm index 5 */
    v.val[0] = 0.5f;
    v.idx[1] = 0; /* libsvm index 1, out of order on purpose */
    v.val[1] = 1.2f;
    v.name[0] = v.name[1] = "named"; /* used as they are, not normalised */
    v.group[0] = v.group[1] = HB_GROUP_NAMED;
    struct svm_node x[] = {{1, 1.2}, {5, 0.5}, {-1, 0}};
    double want;
    svm_predict_values(sm, x, &want);
    int labels[2];
    svm_get_labels(sm, labels);
    if (labels[0] != 1)
        want = -want;
    assert_true(fabs(hb_model_decision(m, &v) - want) < 1e-6);
    assert_true(hb_model_decision(m, &v) > 0); /* a positive-side point */
    float contrib[2];
    hb_model_decision_explained(m, &v, contrib);
    assert_true(contrib[0] == 0.0f && contrib[1] == 0.0f);
    hb_fvec_release(&v);
    hb_model_free(m);
    svm_free_and_destroy_model(&sm);
}

/* Model k of a family: weights ((i * (k + 2)) % 7 - 3) / 10, IDF
 * 1 + (i + k) % 3, bias k / 10. */
static hb_model *family_model(int k)
{
    char tag[32];
    snprintf(tag, sizeof tag, "model_fuse%d", k);
    const char *dir = tu_tmpdir(tag);
    static float w[DIM], idf[DIM];
    for (int i = 0; i < DIM; i++) {
        w[i] = (float)((i * (k + 2)) % 7 - 3) / 10.0f;
        idf[i] = 1.0f + (float)((i + k) % 3);
    }
    json_t *man = base_manifest();
    json_t *cfg = json_object_get(man, "features");
    json_object_set_new(cfg, "use_idf", json_true());
    hb_error err;
    assert_int_equal(hb_model_save_linear(dir, man, w, k / 10.0, idf, 0.0, &err), 0);
    json_decref(man);
    hb_model *m = hb_model_load(dir, &err);
    if (!m)
        fail_msg("%s", err.message);
    return m;
}

static void test_fused_models_score_exactly_alike(void **state)
{
    (void)state;
    hb_model *m[3] = {family_model(0), family_model(1), family_model(2)};
    hb_fvec v;
    fill_vector(&v);
    v.name[3] = "rule:x";
    v.group[3] = HB_GROUP_NAMED;
    double alone[3], fused[3];
    for (int k = 0; k < 3; k++)
        alone[k] = hb_model_decision(m[k], &v);
    assert_true(alone[0] != alone[1] && alone[1] != alone[2]);

    assert_int_equal(hb_models_fuse(m, 1), HB_EINVAL); /* nothing to fuse */
    assert_int_equal(hb_models_fuse(m, 3), 0);
    hb_models_decision(m, 3, &v, fused);
    for (int k = 0; k < 3; k++) {
        assert_true(fused[k] == alone[k]); /* bit for bit */
        assert_true(hb_model_decision(m[k], &v) == alone[k]);
    }
    float contrib[4];
    assert_true(hb_model_decision_explained(m[1], &v, contrib) == alone[1]);
    double sum = 0.1;
    for (int e = 0; e < 4; e++)
        sum += contrib[e];
    assert_true(fabs(sum - alone[1]) < 1e-5);
    /* the shared table lives until the last model goes, in any order */
    hb_model_free(m[1]);
    assert_true(hb_model_decision(m[2], &v) == alone[2]);
    hb_model_free(m[0]);
    assert_true(hb_model_decision(m[2], &v) == alone[2]);
    hb_model_free(m[2]);
    hb_fvec_release(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_linear),
        cmocka_unit_test(test_per_script_calibration),
        cmocka_unit_test(test_missing_bundle),
        cmocka_unit_test(test_corrupt_model_file),
        cmocka_unit_test(test_garbage_with_matching_checksum),
        cmocka_unit_test(test_bad_manifests),
        cmocka_unit_test(test_kernel_fallback),
        cmocka_unit_test(test_fused_models_score_exactly_alike),
        cmocka_unit_test(test_half_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
