/*
 * test_prom.c - the Prometheus text format: families, escaped label
 * values, number formats, histograms with cumulative buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "prom.h"

static const char *text(const hb_prom *p)
{
    size_t n;
    const char *t = hb_prom_text(p, &n);
    assert_non_null(t);
    assert_int_equal(strlen(t), n);
    return t;
}

static void test_family_and_samples(void **state)
{
    (void)state;
    hb_prom p;
    hb_prom_init(&p);
    assert_string_equal(text(&p), "");
    hb_prom_family(&p, "hubao_errors_total", "counter", "Error replies\nby code.");
    hb_prom_sample(&p, "hubao_errors_total", 3, "code", "too_large", (const char *)NULL);
    hb_prom_sample(&p, "hubao_up", 1, (const char *)NULL);
    hb_prom_sample(&p, "hubao_x", 0.25, "a", "q\"b\\c\nd", "b", "", (const char *)NULL);
    assert_string_equal(text(&p), "# HELP hubao_errors_total Error replies\\nby code.\n"
                                  "# TYPE hubao_errors_total counter\n"
                                  "hubao_errors_total{code=\"too_large\"} 3\n"
                                  "hubao_up 1\n"
                                  "hubao_x{a=\"q\\\"b\\\\c\\nd\",b=\"\"} 0.25\n");
    hb_prom_free(&p);
}

static void test_special_values(void **state)
{
    (void)state;
    hb_prom p;
    hb_prom_init(&p);
    hb_prom_sample(&p, "a", NAN, (const char *)NULL);
    hb_prom_sample(&p, "b", INFINITY, (const char *)NULL);
    hb_prom_sample(&p, "c", -INFINITY, (const char *)NULL);
    hb_prom_sample(&p, "d", 1e20, (const char *)NULL);
    hb_prom_sample(&p, "e", 1234567890123.0, (const char *)NULL);
    assert_string_equal(text(&p), "a NaN\nb +Inf\nc -Inf\nd 1e+20\ne 1234567890123\n");
    hb_prom_free(&p);
}

static void test_histogram(void **state)
{
    (void)state;
    hb_prom p;
    hb_prom_init(&p);
    const double le[] = {0.001, 0.5};
    const uint64_t cum[] = {2, 5};
    hb_prom_histogram(&p, "h_seconds", le, cum, 2, 7, 3.5, "task", "fraud",
                      (const char *)NULL);
    assert_string_equal(text(&p), "h_seconds_bucket{task=\"fraud\",le=\"0.001\"} 2\n"
                                  "h_seconds_bucket{task=\"fraud\",le=\"0.5\"} 5\n"
                                  "h_seconds_bucket{task=\"fraud\",le=\"+Inf\"} 7\n"
                                  "h_seconds_sum{task=\"fraud\"} 3.5\n"
                                  "h_seconds_count{task=\"fraud\"} 7\n");
    hb_prom_free(&p);
}

/* The fixed-bucket latency histogram: each sample in the first bucket at
 * or above it, the slowest in +Inf only, buckets cumulative when written. */
static void test_latency(void **state)
{
    (void)state;
    hb_prom_latency h;
    memset(&h, 0, sizeof h);
    hb_prom_latency_add(&h, 0.00005);
    hb_prom_latency_add(&h, 0.0001);
    hb_prom_latency_add(&h, 0.003);
    hb_prom_latency_add(&h, 60);
    assert_int_equal(h.bucket[0], 2);
    assert_int_equal(h.bucket[5], 1);
    assert_int_equal(h.count, 4);
    hb_prom p;
    hb_prom_init(&p);
    hb_prom_latency_write(&p, "l_seconds", &h);
    const char *t = text(&p);
    assert_non_null(strstr(t, "l_seconds_bucket{le=\"0.0001\"} 2\n"));
    assert_non_null(strstr(t, "l_seconds_bucket{le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(t, "l_seconds_bucket{le=\"0.005\"} 3\n"));
    assert_non_null(strstr(t, "l_seconds_bucket{le=\"10\"} 3\n"));
    assert_non_null(strstr(t, "l_seconds_bucket{le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(t, "l_seconds_count 4\n"));
    hb_prom_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_and_samples),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_latency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
