/*
 * test_trainer.c - training: determinism (same seed, same bytes), the
 * train -> save -> load -> score round trip, refusals, and min_df
 * pruning n-grams rather than hash buckets.
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

#include "testutil.h"
#include "trainer.h"

#define RULES "tests/fixtures/engine/rules"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The engine, the train_small.tsv rows and the fraud label mapping that
 * train_into and the repeats test train with. */
typedef struct small_set {
    hb_engine *engine;
    hb_dataset ds;
    hb_label_map map;
} small_set;

static void small_set_open(small_set *s)
{
    hb_error err;
    s->engine = hb_engine_open(RULES, NULL, &err);
    assert_non_null(s->engine);
    hb_dataset_init(&s->ds);
    assert_int_equal(hb_dataset_load(&s->ds, tu_fixture("train_small.tsv"), &err), 0);
    hb_label_map_default("fraud", &s->map, NULL);
}

static void small_set_close(small_set *s)
{
    hb_dataset_release(&s->ds);
    hb_engine_free(s->engine);
}

static void train_into(const char *dir, unsigned long seed, hb_train_result *res)
{
    small_set s;
    small_set_open(&s);
    hb_train_options o = hb_train_defaults("fraud");
    o.seed = seed;
    o.features.hash_bits = 14;
    o.negative_name = "not_fraud";
    hb_error err;
    if (hb_train_text(s.engine, &s.ds, &s.map, &o, dir, NULL, res, &err) != 0)
        fail_msg("training failed: %s", err.message);
    small_set_close(&s);
}

static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    char a[1100], b[1100], pa[1200], pb[1200];
    snprintf(a, sizeof a, "%s", tu_tmpdir("train_a"));
    snprintf(b, sizeof b, "%s", tu_tmpdir("train_b"));
    hb_train_result ra, rb;
    train_into(a, 7, &ra);
    train_into(b, 7, &rb);
    snprintf(pa, sizeof pa, "%s/model.svm", a);
    snprintf(pb, sizeof pb, "%s/model.svm", b);
    size_t la, lb;
    char *da = slurp(pa, &la), *db = slurp(pb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    free(da);
    free(db);
    assert_int_equal(ra.n, 48);
    assert_int_equal(ra.npositive, 25); /* fraud_* and smishing rows */
    assert_true(ra.c == rb.c && ra.threshold == rb.threshold);
}

static void test_round_trip_scores(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("train_rt"));
    hb_train_result res;
    train_into(dir, 1, &res);
    assert_true(res.cv.mcc > 0.5); /* the fixture is easy; the CV must see it */
    assert_true(res.threshold > 0 && res.threshold < 1);
    assert_true(res.possible_threshold >= 0 && res.possible_threshold <= res.threshold);

    hb_error err;
    hb_engine *e1 = hb_engine_open(RULES, dir, &err);
    hb_engine *e2 = hb_engine_open(RULES, dir, &err);
    assert_non_null(e1);
    assert_non_null(e2);
    hb_session *s = hb_session_new();
    hb_dataset ds;
    hb_dataset_init(&ds);
    hb_dataset_load(&ds, tu_fixture("train_small.tsv"), NULL);
    size_t right = 0;
    for (size_t i = 0; i < ds.n; i++) {
        const hb_verdict *v;
        assert_int_equal(
            hb_classify(e1, s, ds.rows[i].text, ds.rows[i].text_len, &v, &err), 0);
        double p1 = v->tasks[0].probability;
        int pos = v->tasks[0].positive;
        assert_int_equal(
            hb_classify(e2, s, ds.rows[i].text, ds.rows[i].text_len, &v, &err), 0);
        assert_true(p1 == v->tasks[0].probability);
        int gold = strncmp(ds.rows[i].label, "fraud_", 6) == 0 ||
                   strcmp(ds.rows[i].label, "smishing") == 0;
        right += pos == gold;
    }
    assert_true(right >= 44); /* training data: nearly all right */
    hb_dataset_release(&ds);
    hb_session_free(s);
    hb_engine_free(e1);
    hb_engine_free(e2);

    /* the manifest records what the model card needs */
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *man = json_load_file(path, 0, NULL);
    assert_non_null(man);
    assert_string_equal(json_string_value(json_object_get(man, "task")), "fraud");
    assert_non_null(json_object_get(json_object_get(man, "metrics"), "cross_validation"));
    assert_true(json_is_number(json_object_get(json_object_get(man, "training"), "c")));
    assert_true(json_real_value(json_object_get(man, "possible_threshold")) ==
                res.possible_threshold);
    json_decref(man);
}

/* Named scale 0 leaves rule ids and entity counts out of the model: their
 * buckets are their own, so each weighs exactly 0, even where an n-gram
 * of the training rows hashes to the same low bits. */
static void test_named_scale_zero_leaves_rules_out(void **state)
{
    (void)state;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("train_named0"));
    small_set s;
    small_set_open(&s);
    hb_train_options o = hb_train_defaults("fraud");
    o.features.hash_bits = 14;
    o.named_scale = 0;
    o.negative_name = "not_fraud";
    hb_train_result res;
    hb_error err;
    if (hb_train_text(s.engine, &s.ds, &s.map, &o, dir, NULL, &res, &err) != 0)
        fail_msg("training failed: %s", err.message);
    small_set_close(&s);

    hb_engine *e = hb_engine_open(RULES, dir, &err);
    assert_non_null(e);
    const hb_model *m = hb_engine_model(e, 0);
    const hb_feature_config *cfg = hb_model_features(m);
    assert_true(cfg->named_bits > 0);
    hb_fvec none, one;
    hb_fvec_init(&none);
    double base = hb_model_decision(m, &none);
    const hb_rules *rules = hb_engine_rules(e);
    assert_true(hb_rules_count(rules) > 3);
    for (size_t i = 0; i < hb_rules_count(rules); i++) {
        hb_fvec_init(&one);
        assert_int_equal(hb_fvec_add_named(cfg, &one, hb_rules_info(rules, i)->id, 1.0f),
                         0);
        assert_true(hb_model_decision(m, &one) == base);
        hb_fvec_release(&one);
    }
    hb_fvec_release(&none);
    hb_engine_free(e);
}

static void test_refuses_one_class(void **state)
{
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s/ham.tsv", tu_tmpdir("train_oneclass"));
    const char *rows = "ham\ta\nham\tb\nham\tc\nham\td\nham\te\nham\tf\n";
    tu_write_file(path, rows, strlen(rows));
    hb_error err;
    hb_engine *e = hb_engine_open(RULES, NULL, &err);
    hb_dataset ds;
    hb_dataset_init(&ds);
    hb_dataset_load(&ds, path, NULL);
    hb_label_map map;
    hb_label_map_default("fraud", &map, NULL);
    hb_train_options o = hb_train_defaults("fraud");
    hb_train_result res;
    assert_int_equal(hb_train_text(e, &ds, &map, &o, "build/tmp/never", NULL, &res, &err),
                     HB_EINVAL);
    assert_non_null(strstr(err.message, "positive"));
    hb_dataset_release(&ds);
    hb_engine_free(e);
}

/* Cross-validation can run several times with different folds: the count
 * is checked and recorded, and the cross-validated metrics still count
 * each training row once. */
static void test_repeats_checked_and_recorded(void **state)
{
    (void)state;
    small_set s;
    small_set_open(&s);
    hb_error err;
    hb_train_options o = hb_train_defaults("fraud");
    assert_int_equal(o.repeats, 3);
    o.features.hash_bits = 14;
    hb_train_result res;
    const int bad[] = {0, 11};
    for (size_t i = 0; i < 2; i++) {
        o.repeats = bad[i];
        assert_int_equal(hb_train_text(s.engine, &s.ds, &s.map, &o, "build/tmp/never",
                                       NULL, &res, &err),
                         HB_EINVAL);
        assert_non_null(strstr(err.message, "repeats"));
    }
    const char *dir = tu_tmpdir("train_repeats");
    const int good[] = {1, 4};
    for (size_t i = 0; i < 2; i++) {
        o.repeats = good[i];
        assert_int_equal(
            hb_train_text(s.engine, &s.ds, &s.map, &o, dir, NULL, &res, &err), 0);
        assert_int_equal(res.cv.n, 48);
        char path[1200];
        snprintf(path, sizeof path, "%s/manifest.json", dir);
        json_t *man = json_load_file(path, 0, NULL);
        assert_non_null(man);
        json_t *training = json_object_get(man, "training");
        assert_int_equal(json_integer_value(json_object_get(training, "repeats")),
                         good[i]);
        json_decref(man);
    }
    small_set_close(&s);
}

/* min_df counts messages per n-gram, not per bucket: in 2^10 buckets the
 * n-grams of 40 one-off words collide all over, yet only the n-grams of the
 * word every row shares may keep an IDF (at most its 10 character n-grams
 * and 1 word; a bucket-level min_df would keep scores of buckets). */
static void test_min_df_prunes_ngrams_not_buckets(void **state)
{
    (void)state;
    char dir[1100], path[1200], rows[4096];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("train_mindf"));
    size_t len = 0;
    for (int i = 0; i < 40; i++) {
        char word[4] = {0}; /* one CJK ideograph no other row uses, UTF-8 */
        unsigned cp = 0x4e00 + 7u * (unsigned)i;
        word[0] = (char)(0xe0 | (cp >> 12));
        word[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        word[2] = (char)(0x80 | (cp & 0x3f));
        len += (size_t)snprintf(rows + len, sizeof rows - len, "%s\t%s%s%s pay\n",
                                i % 2 ? "fraud_loan" : "ham", word, word, word);
    }
    snprintf(path, sizeof path, "%s/rows.tsv", dir);
    tu_write_file(path, rows, len);
    hb_error err;
    hb_engine *e = hb_engine_open(RULES, NULL, &err);
    hb_dataset ds;
    hb_dataset_init(&ds);
    assert_int_equal(hb_dataset_load(&ds, path, &err), 0);
    hb_label_map map;
    hb_label_map_default("fraud", &map, NULL);
    hb_train_options o = hb_train_defaults("fraud");
    o.features.hash_bits = 10;
    hb_train_result res;
    if (hb_train_text(e, &ds, &map, &o, dir, NULL, &res, &err) != 0)
        fail_msg("training failed: %s", err.message);
    snprintf(path, sizeof path, "%s/idf.bin", dir);
    size_t n;
    free(slurp(path, &n));
    assert_true(n >= 8 && n <= 11 * 8); /* (bucket, idf) pairs of 8 bytes */
    hb_dataset_release(&ds);
    hb_engine_free(e);
}

/* Duplicated texts share a fold; classes are spread evenly; the seed
 * decides the folds. */
static void test_folds_keep_duplicates_together(void **state)
{
    (void)state;
    enum { N = 400, FOLDS = 5 };
    uint64_t group[N];
    int label[N], fold[N], again[N], other[N];
    for (size_t i = 0; i < N; i++) {
        group[i] = (uint64_t)(i % 150) * 2 + 1; /* 150 texts, most 2-3 times */
        label[i] = (i % 150) < 30;              /* 30 positive texts */
    }
    assert_int_equal(hb_assign_folds(group, label, N, FOLDS, 7, fold), 0);
    size_t pos_in[FOLDS] = {0}, rows_in[FOLDS] = {0};
    for (size_t i = 0; i < N; i++) {
        assert_true(fold[i] >= 0 && fold[i] < FOLDS);
        assert_int_equal(fold[i], fold[i % 150]); /* with its duplicates */
        rows_in[fold[i]]++;
        pos_in[fold[i]] += (size_t)label[i];
    }
    for (int f = 0; f < FOLDS; f++) {
        assert_true(rows_in[f] >= 70 && rows_in[f] <= 90);
        assert_true(pos_in[f] >= 14 && pos_in[f] <= 18); /* 6 texts each, 2-3 rows */
    }
    assert_int_equal(hb_assign_folds(group, label, N, FOLDS, 7, again), 0);
    assert_memory_equal(fold, again, sizeof fold);
    assert_int_equal(hb_assign_folds(group, label, N, FOLDS, 8, other), 0);
    assert_memory_not_equal(fold, other, sizeof fold);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_round_trip_scores),
        cmocka_unit_test(test_named_scale_zero_leaves_rules_out),
        cmocka_unit_test(test_refuses_one_class),
        cmocka_unit_test(test_repeats_checked_and_recorded),
        cmocka_unit_test(test_min_df_prunes_ngrams_not_buckets),
        cmocka_unit_test(test_folds_keep_duplicates_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
