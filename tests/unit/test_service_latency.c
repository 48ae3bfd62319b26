/*
 * test_service_latency.c - the stats latency histogram: percentiles within
 * its documented 3%, exact below 64 us, bounded by the largest sample.
 *
 * The service's modules are not part of libhubao.a, which is all unit
 * tests link against, so the module's source is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "service/latency.c"

static void test_empty(void **state)
{
    (void)state;
    hb_latency *h = hb_latency_new();
    assert_int_equal(hb_latency_count(h), 0);
    assert_int_equal(hb_latency_percentile(h, 99), 0);
    hb_latency_free(h);
    hb_latency_free(NULL);
}

static void test_small_values_are_exact(void **state)
{
    (void)state;
    hb_latency *h = hb_latency_new();
    for (int v = 1; v <= 50; v++)
        hb_latency_add(h, v);
    assert_int_equal(hb_latency_percentile(h, 50), 25);
    assert_int_equal(hb_latency_percentile(h, 100), 50);
    assert_int_equal(hb_latency_max(h), 50);
    hb_latency_add(h, -5); /* a clock step backwards counts as 0 */
    assert_int_equal(hb_latency_count(h), 51);
    hb_latency_free(h);
}

static void test_percentiles_within_three_percent(void **state)
{
    (void)state;
    hb_latency *h = hb_latency_new();
    /* 1..100000 us: the p-th percentile is p * 1000 */
    for (int64_t v = 1; v <= 100000; v++)
        hb_latency_add(h, v);
    double ps[] = {10, 50, 90, 99, 99.9};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double want = ps[i] * 1000, got = (double)hb_latency_percentile(h, ps[i]);
        if (got < want || got > want * 1.03)
            fail_msg("p%g: got %g, want %g (+3%%)", ps[i], got, want);
    }
    assert_int_equal(hb_latency_percentile(h, 100), 100000);
    hb_latency_free(h);
}

static void test_huge_values_stay_in_range(void **state)
{
    (void)state;
    hb_latency *h = hb_latency_new();
    hb_latency_add(h, INT64_MAX / 2);
    hb_latency_add(h, 3);
    assert_int_equal(hb_latency_percentile(h, 50), 3);
    assert_true(hb_latency_percentile(h, 100) <= INT64_MAX / 2);
    hb_latency_free(h);
}

/* Prometheus buckets: cumulative counts at bucket edges, and the sum. */
static void test_count_le_and_sum(void **state)
{
    (void)state;
    hb_latency *h = hb_latency_new();
    hb_latency_add(h, 10);
    hb_latency_add(h, 63);
    hb_latency_add(h, 500);
    hb_latency_add(h, 100000);
    assert_int_equal(hb_latency_count_le(h, 9), 0);
    assert_int_equal(hb_latency_count_le(h, 10), 1);
    assert_int_equal(hb_latency_count_le(h, 63), 2);
    /* 500 us lies in a bucket 16 us wide: counted from its top on */
    assert_int_equal(hb_latency_count_le(h, 480), 2);
    assert_int_equal(hb_latency_count_le(h, 520), 3);
    assert_int_equal(hb_latency_count_le(h, 10000000), 4);
    assert_true(hb_latency_sum(h) == 10 + 63 + 500 + 100000);
    hb_latency_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_small_values_are_exact),
        cmocka_unit_test(test_percentiles_within_three_percent),
        cmocka_unit_test(test_huge_values_stay_in_range),
        cmocka_unit_test(test_count_le_and_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
