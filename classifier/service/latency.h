/*
 * latency.h - a fixed-size latency histogram for the `stats` command.
 *
 * Log-linear buckets (exact below 64 us, then 32 per power of two) keep
 * every percentile within about 3% of the true value in constant memory
 * and O(1) per sample, whatever the traffic: no samples are stored.
 */
#ifndef HB_SERVICE_LATENCY_H
#define HB_SERVICE_LATENCY_H

#include <stdint.h>

typedef struct hb_latency hb_latency;

/* An empty histogram (owned; hb_latency_free it), or NULL if out of
 * memory. */
hb_latency *hb_latency_new(void);
void hb_latency_free(hb_latency *h);

/* Record one sample of us microseconds (negative counts as 0). */
void hb_latency_add(hb_latency *h, int64_t us);

uint64_t hb_latency_count(const hb_latency *h);
int64_t hb_latency_max(const hb_latency *h);

/* The sum of the samples, in microseconds. */
double hb_latency_sum(const hb_latency *h);

/* Samples in buckets wholly at or below us microseconds: a Prometheus
 * bucket's cumulative count, low by at most the one bucket that
 * straddles us (about 3% of us wide). */
uint64_t hb_latency_count_le(const hb_latency *h, int64_t us);

/* The p-th percentile (0 < p <= 100) in microseconds: the upper edge of
 * the bucket holding it, never above the largest sample; 0 when empty. */
int64_t hb_latency_percentile(const hb_latency *h, double p);

#endif
