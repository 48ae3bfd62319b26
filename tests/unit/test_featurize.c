/*
 * test_featurize.c - hashed n-gram features: determinism, digit masking,
 * normalisation, named features, configuration round trip.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "featurize.h"
#include "normalize.h"

typedef struct fixture {
    hb_text text;
    hb_fvec a, b;
    hb_feature_config cfg;
} fixture;

static int setup(void **state)
{
    static fixture f;
    hb_text_init(&f.text);
    hb_fvec_init(&f.a);
    hb_fvec_init(&f.b);
    f.cfg = hb_feature_config_default();
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hb_text_release(&f->text);
    hb_fvec_release(&f->a);
    hb_fvec_release(&f->b);
    return 0;
}

static void extract(fixture *f, const char *s, hb_fvec *v)
{
    assert_int_equal(hb_normalize(s, strlen(s), &f->text, NULL), 0);
    assert_int_equal(hb_features_text(&f->cfg, &f->text, v), 0);
}

/* Sum of value per index, for order-independent comparison. */
static double value_at(const hb_fvec *v, uint32_t idx)
{
    for (size_t e = 0; e < v->n; e++)
        if (v->idx[e] == idx)
            return v->val[e];
    return 0;
}

static void assert_same_vector(const hb_fvec *a, const hb_fvec *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t e = 0; e < a->n; e++)
        assert_true(fabs(value_at(b, a->idx[e]) - a->val[e]) < 1e-6);
}

static void test_deterministic_and_sublinear(void **state)
{
    fixture *f = *state;
    extract(f, "请把钱转到安全账户 now please", &f->a);
    extract(f, "请把钱转到安全账户 now please", &f->b);
    assert_true(f->a.n > 10);
    assert_same_vector(&f->a, &f->b);
    for (size_t e = 0; e < f->a.n; e++) {
        assert_true(f->a.idx[e] < (1u << f->cfg.hash_bits));
        /* sublinear tf: |value| is 1 + ln(count) >= 1 barring collisions */
        assert_true(fabs(f->a.val[e]) >= 1.0f - 1e-6 || f->a.val[e] == 0.0f);
    }
}

static void test_digits_and_masks_read_alike(void **state)
{
    fixture *f = *state;
    /* a corpus that masked digits as x must look like one that did not */
    extract(f, "满100元送20元", &f->a);
    extract(f, "满xxx元送xx元", &f->b);
    assert_same_vector(&f->a, &f->b);
    extract(f, "6228123412341234", &f->a);
    extract(f, "6228xxxxxxxx1234", &f->b);
    assert_same_vector(&f->a, &f->b);
}

static void test_x_inside_words_is_a_letter(void **state)
{
    fixture *f = *state;
    extract(f, "xbox", &f->a);
    extract(f, "0box", &f->b);
    /* different texts must give different vectors */
    int differs = f->a.n != f->b.n;
    for (size_t e = 0; !differs && e < f->a.n; e++)
        differs = fabs(value_at(&f->b, f->a.idx[e]) - f->a.val[e]) > 1e-6;
    assert_true(differs);
}

static void test_reuse_leaves_no_stale_entries(void **state)
{
    fixture *f = *state;
    char long_text[4096];
    for (size_t i = 0; i < sizeof long_text - 1; i++)
        long_text[i] = (char)('a' + (i * 7) % 26);
    long_text[sizeof long_text - 1] = '\0';
    extract(f, long_text, &f->a);
    size_t big = f->a.n;
    extract(f, "hi", &f->a);
    assert_true(f->a.n < 10 && f->a.n < big);
    extract(f, "hi", &f->b);
    assert_same_vector(&f->a, &f->b);
}

static void test_named_features(void **state)
{
    fixture *f = *state;
    extract(f, "hello", &f->a);
    size_t n = f->a.n;
    assert_int_equal(hb_fvec_add_named(&f->cfg, &f->a, "rule:x", 1.0f), 0);
    assert_int_equal(hb_fvec_add_named(&f->cfg, &f->a, "rule:x", 1.0f), 0);
    assert_int_equal(f->a.n, n + 1);
    assert_true(fabs(f->a.val[n] - 2.0f) < 1e-6);
    assert_string_equal(f->a.name[n], "rule:x");
    assert_int_equal(f->a.origin[n].len, 0);
}

/* Named features own the top 2^named_bits buckets and no n-gram lands
 * there, so the trainer can tell a rule id from an n-gram by its bucket;
 * with named_bits 0 (bundles written before) both share every bucket. */
static void test_named_buckets_apart(void **state)
{
    fixture *f = *state;
    assert_true(f->cfg.named_bits > 0);
    uint32_t dim = 1u << f->cfg.hash_bits, first = dim - (1u << f->cfg.named_bits);
    extract(f, "请把钱转到安全账户 now please, the quick brown fox 12345", &f->a);
    size_t n = f->a.n;
    for (size_t e = 0; e < n; e++)
        assert_true(f->a.idx[e] < first);
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "rule:%d", i);
        assert_int_equal(hb_fvec_add_named(&f->cfg, &f->a, name, 1.0f), 0);
    }
    for (size_t e = n; e < f->a.n; e++)
        assert_true(f->a.idx[e] >= first && f->a.idx[e] < dim);
    /* the same hash's bucket, as the trainer folds it */
    assert_true(hb_feature_bucket(&f->cfg, dim - 1, 0) < first);
    assert_true(hb_feature_bucket(&f->cfg, 5, 0) == 5);
    assert_true(hb_feature_bucket(&f->cfg, 5, 1) == first + 5);

    hb_feature_config shared = f->cfg;
    shared.named_bits = 0;
    assert_true(hb_feature_bucket(&shared, dim - 1, 0) == dim - 1);
    assert_true(hb_feature_bucket(&shared, 5, 1) == 5);

    /* a small hash space keeps 63 of every 64 buckets for n-grams */
    hb_feature_config small = f->cfg;
    small.hash_bits = 10;
    assert_true(hb_feature_bucket(&small, 1023, 0) == 1007);
    assert_true(hb_feature_bucket(&small, 7, 1) == 1008 + 7);
}

static void test_sort(void **state)
{
    fixture *f = *state;
    extract(f, "the quick brown fox jumps over the lazy dog", &f->b);
    extract(f, "the quick brown fox jumps over the lazy dog", &f->a);
    assert_int_equal(hb_fvec_sort(&f->a), 0);
    for (size_t e = 1; e < f->a.n; e++)
        assert_true(f->a.idx[e - 1] < f->a.idx[e]);
    assert_same_vector(&f->a, &f->b);
}

static void test_origins_point_into_text(void **state)
{
    fixture *f = *state;
    extract(f, "安全账户 paypal", &f->a);
    for (size_t e = 0; e < f->a.n; e++) {
        assert_true(f->a.origin[e].len >= 1);
        assert_true(f->a.origin[e].start + f->a.origin[e].len <= f->text.ncps);
    }
}

static void test_config_json(void **state)
{
    (void)state;
    hb_feature_config cfg = hb_feature_config_default(), back;
    cfg.char_max = 4;
    cfg.hash_bits = 16;
    cfg.use_rules = 0;
    cfg.min_df = 3;
    json_t *j = hb_feature_config_to_json(&cfg);
    assert_int_equal(hb_feature_config_from_json(j, &back, NULL), 0);
    assert_memory_equal(&cfg, &back, sizeof cfg);
    json_decref(j);

    hb_error err;
    j = json_pack("{s:i}", "hash_bits", 40);
    assert_int_equal(hb_feature_config_from_json(j, &back, &err), HB_EFORMAT);
    assert_non_null(strstr(err.message, "hash_bits"));
    json_decref(j);
    j = json_pack("{s:[i,i]}", "char_ngrams", 3, 1);
    assert_int_equal(hb_feature_config_from_json(j, &back, &err), HB_EFORMAT);
    json_decref(j);

    /* a manifest from before named_bits keeps the shared layout */
    j = json_pack("{s:i}", "hash_bits", 20);
    assert_int_equal(hb_feature_config_from_json(j, &back, NULL), 0);
    assert_int_equal(back.named_bits, 0);
    json_decref(j);
    j = json_pack("{s:i, s:i}", "hash_bits", 20, "named_bits", 17);
    assert_int_equal(hb_feature_config_from_json(j, &back, &err), HB_EFORMAT);
    assert_non_null(strstr(err.message, "named_bits"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_sublinear),
        cmocka_unit_test(test_digits_and_masks_read_alike),
        cmocka_unit_test(test_x_inside_words_is_a_letter),
        cmocka_unit_test(test_reuse_leaves_no_stale_entries),
        cmocka_unit_test(test_named_features),
        cmocka_unit_test(test_named_buckets_apart),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_origins_point_into_text),
        cmocka_unit_test(test_config_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
