/*
 * latency.c - log-linear histogram (see latency.h).
 *
 * Bucket i < 64 holds exactly i us.  Above, a value v with highest set bit
 * k (k >= 6) falls in group k - 6 of 32 buckets, each 2^(k-5) us wide.
 */
#include "latency.h"

#include <stdlib.h>

enum { EXACT = 64, SUB = 32, GROUPS = 40, NBUCKETS = EXACT + SUB * GROUPS };

struct hb_latency {
    uint64_t count;
    int64_t max;
    double sum; /* us */
    uint64_t bucket[NBUCKETS];
};

hb_latency *hb_latency_new(void)
{
    return calloc(1, sizeof(hb_latency));
}

void hb_latency_free(hb_latency *h)
{
    free(h);
}

static size_t bucket_of(uint64_t v)
{
    if (v < EXACT)
        return (size_t)v;
    int k = 63 - __builtin_clzll(v);
    size_t i = EXACT + (size_t)(k - 6) * SUB + (size_t)((v >> (k - 5)) & (SUB - 1));
    return i < NBUCKETS ? i : NBUCKETS - 1;
}

/* Largest value that falls in bucket i. */
static int64_t bucket_top(size_t i)
{
    if (i < EXACT)
        return (int64_t)i;
    size_t g = (i - EXACT) / SUB, s = (i - EXACT) % SUB;
    int k = (int)g + 6;
    uint64_t base = (uint64_t)1 << k, width = (uint64_t)1 << (k - 5);
    return (int64_t)(base + (s + 1) * width - 1);
}

void hb_latency_add(hb_latency *h, int64_t us)
{
    uint64_t v = us < 0 ? 0 : (uint64_t)us;
    h->bucket[bucket_of(v)]++;
    h->count++;
    h->sum += (double)v;
    if ((int64_t)v > h->max)
        h->max = (int64_t)v;
}

uint64_t hb_latency_count(const hb_latency *h)
{
    return h->count;
}

int64_t hb_latency_max(const hb_latency *h)
{
    return h->max;
}

double hb_latency_sum(const hb_latency *h)
{
    return h->sum;
}

uint64_t hb_latency_count_le(const hb_latency *h, int64_t us)
{
    uint64_t n = 0;
    for (size_t i = 0; i < NBUCKETS && bucket_top(i) <= us; i++)
        n += h->bucket[i];
    return n;
}

int64_t hb_latency_percentile(const hb_latency *h, double p)
{
    if (h->count == 0)
        return 0;
    double want = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            int64_t top = bucket_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}
