/*
 * test_metrics.c - confusion-matrix metrics, AUC with ties, threshold
 * choice, Platt fitting.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "metrics.h"
#include "trainer.h"

static void test_confusion_and_scores(void **state)
{
    (void)state;
    const double p[] = {0.9, 0.8, 0.3, 0.6, 0.1, 0.2};
    const int y[] = {1, 1, 1, 0, 0, 0};
    hb_metrics m;
    assert_int_equal(hb_metrics_compute(p, y, 6, 0.5, &m), 0);
    assert_int_equal(m.tp, 2);
    assert_int_equal(m.fn, 1);
    assert_int_equal(m.fp, 1);
    assert_int_equal(m.tn, 2);
    assert_true(fabs(m.precision - 2.0 / 3) < 1e-12);
    assert_true(fabs(m.recall - 2.0 / 3) < 1e-12);
    assert_true(fabs(m.mcc - 1.0 / 3) < 1e-12);
    /* pairs (pos, neg) ranked right: 8 of 9 */
    assert_true(fabs(m.auc - 8.0 / 9) < 1e-12);
}

static void test_auc_ties_and_single_class(void **state)
{
    (void)state;
    const double p[] = {0.5, 0.5, 0.5, 0.5};
    const int y[] = {1, 0, 1, 0};
    hb_metrics m;
    hb_metrics_compute(p, y, 4, 0.5, &m);
    assert_true(fabs(m.auc - 0.5) < 1e-12);
    const int all[] = {1, 1, 1, 1};
    hb_metrics_compute(p, all, 4, 0.5, &m);
    assert_true(isnan(m.auc));
    assert_true(m.mcc == 0.0);
}

static void test_best_threshold(void **state)
{
    (void)state;
    const double p[] = {0.95, 0.9, 0.7, 0.65, 0.4, 0.2, 0.1};
    const int y[] = {1, 1, 1, 0, 0, 0, 0};
    double t = hb_metrics_best_threshold(p, y, 7, 0);
    assert_true(t < 0.7 && t > 0.65); /* separates perfectly */
    hb_metrics m;
    hb_metrics_compute(p, y, 7, t, &m);
    assert_true(fabs(m.mcc - 1.0) < 1e-12);
    /* capping the false positive rate at 0 forbids the 0.65 negative */
    const double q[] = {0.95, 0.6, 0.7, 0.65};
    const int z[] = {1, 1, 0, 0};
    double capped = hb_metrics_best_threshold(q, z, 4, 1e-9);
    assert_true(capped > 0.7);
}

/* A perfect split squeezed between scores 0.001 apart is the best single
 * point; the steady threshold takes the wide gap above it, where a small
 * shift costs nothing. */
static void test_steady_threshold(void **state)
{
    (void)state;
    const double p[] = {0.99,  0.98,  0.97,  0.96,  0.95,  0.94, 0.93, 0.92, 0.91, 0.90,
                        0.600, 0.599, 0.597, 0.596, 0.595, 0.59, 0.3,  0.2,  0.1,  0.05};
    const int y[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    double spike = hb_metrics_best_threshold(p, y, 20, 0);
    assert_true(spike > 0.597 && spike < 0.599);
    double steady = hb_metrics_steady_threshold(p, y, 20, 0, 0.5);
    assert_true(fabs(steady - 0.75) < 1e-12); /* halfway between 0.90 and 0.600 */
    assert_true(hb_metrics_steady_threshold(p, y, 20, 0, 0) == spike);
    /* where the data separate with room to spare both agree */
    const double q[] = {0.99, 0.98, 0.02, 0.01};
    const int z[] = {1, 1, 0, 0};
    assert_true(fabs(hb_metrics_steady_threshold(q, z, 4, 0, 0.5) - 0.5) < 1e-12);
    /* the false positive cap still holds */
    const double r[] = {0.95, 0.6, 0.7, 0.65};
    const int w[] = {1, 1, 0, 0};
    assert_true(hb_metrics_steady_threshold(r, w, 4, 1e-9, 0.5) > 0.7);
}

/* The possible tier's threshold: walking down from the likely threshold,
 * each cut's band (one logit wide) must be precise enough; the first band
 * with enough rows that is not ends the tier. */
static void test_band_threshold(void **state)
{
    (void)state;
    const double p[] = {0.95, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1};
    const int y[] = {1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0};
    /* bands: {.85} {.85 .8} {.85 .8 .75} {.8 .75 .7} {.75 .7 .6}
     * {.6 .5}: 1/2, then {.5 .4}: 0/2 stops the walk at cut 0.45 */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 11, 0.9, 0.5, 1, 1) - 0.45) < 1e-12);
    /* asking 0.6, {.6 .5} fails: the tier stops at 0.55 */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 11, 0.9, 0.6, 1, 1) - 0.55) < 1e-12);
    /* negatives counted at a quarter: {.6 .5} reads 1 / 1.25 = 0.8 */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 11, 0.9, 0.6, 1, 0.25) - 0.45) <
                1e-12);
    /* bands of fewer than 3 rows neither extend nor end the tier */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 11, 0.9, 0.5, 3, 1) - 0.55) < 1e-12);
    /* nothing qualifies: no tier (the likely threshold) */
    const double q[] = {0.6, 0.5, 0.4};
    const int z[] = {0, 0, 0};
    assert_true(fabs(hb_metrics_band_threshold(q, z, 3, 0.9, 0.5, 1, 1) - 0.9) < 1e-12);
    /* ties are never cut: 0.6 and 0.6 go together (1/2) */
    const double t[] = {0.6, 0.6, 0.2};
    const int u[] = {1, 0, 0};
    assert_true(fabs(hb_metrics_band_threshold(t, u, 3, 0.9, 0.5, 1, 1) - 0.4) < 1e-12);
    assert_true(fabs(hb_metrics_band_threshold(t, u, 3, 0.9, 0.6, 1, 1) - 0.9) < 1e-12);
}

static void test_fpr_threshold(void **state)
{
    (void)state;
    const double p[] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05};
    const int y[] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    /* 8 negatives: 25% allows two of them, so the cut goes under 0.6 */
    assert_true(fabs(hb_metrics_fpr_threshold(p, y, 10, 0.25) - 0.55) < 1e-12);
    /* 1/8 allows 0.8 only */
    assert_true(fabs(hb_metrics_fpr_threshold(p, y, 10, 0.125) - 0.65) < 1e-12);
    /* no negative allowed: above the first one */
    assert_true(fabs(hb_metrics_fpr_threshold(p, y, 10, 0) - 0.85) < 1e-12);
    const double q[] = {0.9, 0.8};
    const int z[] = {0, 1};
    assert_true(hb_metrics_fpr_threshold(q, z, 2, 0) == 1.0);
}

static void test_platt(void **state)
{
    (void)state;
    double d[200];
    int y[200];
    for (int i = 0; i < 200; i++) {
        d[i] = (i - 100) / 25.0;
        /* noisy labels: mostly d > 0 */
        y[i] = (d[i] > 0) != (i % 10 == 0);
    }
    double a, b;
    hb_platt_fit(d, y, 200, &a, &b);
    assert_true(a < 0); /* larger decision, higher probability */
    assert_true(fabs(b) < 0.5);
    double p_hi = 1 / (1 + exp(a * 3 + b)), p_lo = 1 / (1 + exp(a * -3 + b));
    assert_true(p_hi > 0.8 && p_lo < 0.2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confusion_and_scores),
        cmocka_unit_test(test_auc_ties_and_single_class),
        cmocka_unit_test(test_best_threshold),
        cmocka_unit_test(test_steady_threshold),
        cmocka_unit_test(test_band_threshold),
        cmocka_unit_test(test_fpr_threshold),
        cmocka_unit_test(test_platt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
