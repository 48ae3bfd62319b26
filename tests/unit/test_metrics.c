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
    const double p[] = {0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.90,
                        0.600, 0.599, 0.597, 0.596, 0.595, 0.59, 0.3, 0.2, 0.1, 0.05};
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

/* The possible tier's threshold: the lowest cut under the likely one
 * whose band is precise enough and big enough. */
static void test_band_threshold(void **state)
{
    (void)state;
    /* above 0.9: likely.  Band rows below it, descending:
     * 0.8 y1, 0.7 y1, 0.6 y0, 0.5 y1, 0.4 y0, 0.3 y0, 0.2 y0, 0.1 y0 */
    const double p[] = {0.95, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1};
    const int y[] = {1, 1, 1, 0, 1, 0, 0, 0, 0};
    /* precision 1/1 2/2 2/3 3/4 3/5 3/6 3/7 3/8: at least 0.5 down to 0.3 */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 9, 0.9, 0.5, 1) - 0.25) < 1e-12);
    /* 0.75 holds down to 0.5 */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 9, 0.9, 0.75, 1) - 0.45) < 1e-12);
    /* the band must hold 5 rows: 3/6 qualifies, so still 0.25 */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 9, 0.9, 0.5, 5) - 0.25) < 1e-12);
    /* nothing qualifies: no tier (the likely threshold) */
    assert_true(fabs(hb_metrics_band_threshold(p, y, 9, 0.9, 0.75, 5) - 0.9) < 1e-12);
    /* ties are never cut: 0.6 and 0.6 go together */
    const double q[] = {0.6, 0.6, 0.2};
    const int z[] = {1, 0, 0};
    assert_true(fabs(hb_metrics_band_threshold(q, z, 3, 0.9, 0.5, 1) - 0.4) < 1e-12);
    assert_true(fabs(hb_metrics_band_threshold(q, z, 3, 0.9, 0.6, 1) - 0.9) < 1e-12);
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
        cmocka_unit_test(test_platt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
