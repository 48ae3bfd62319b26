/*
 * prom.h - metrics in the Prometheus text exposition format (version
 * 0.0.4), written into a growing buffer: what hubaod, `hubao web` and
 * `hubao kafka` serve on /metrics.
 *
 * A family is announced once (# HELP, # TYPE), then its samples follow,
 * each with label pairs given as NULL-terminated varargs (name, value,
 * ..., NULL).  Label values are escaped as the format asks; names are the
 * caller's constants and are not checked.  Running out of memory is
 * sticky: the buffer is then reported as NULL.
 */
#ifndef HB_PROM_H
#define HB_PROM_H

#include <stddef.h>
#include <stdint.h>

typedef struct hb_prom {
    char *buf;
    size_t len, cap;
    int oom;
} hb_prom;

/* The content type a /metrics reply carries. */
#define HB_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* An empty buffer (nothing allocated yet). */
void hb_prom_init(hb_prom *p);
void hb_prom_free(hb_prom *p);

/* The text so far and its length, or NULL when memory ran out. */
const char *hb_prom_text(const hb_prom *p, size_t *len);

/* # HELP and # TYPE lines; type is "counter", "gauge" or "histogram". */
void hb_prom_family(hb_prom *p, const char *name, const char *type, const char *help);

/* One sample: name{labels} value.  Labels are (name, value) pairs ending
 * with NULL. */
void hb_prom_sample(hb_prom *p, const char *name, double value, ...)
    __attribute__((sentinel));

/* A family of one unlabelled sample: hb_prom_family, then the sample. */
void hb_prom_counter(hb_prom *p, const char *name, const char *help, double value);
void hb_prom_gauge(hb_prom *p, const char *name, const char *help, double value);

/* A histogram's samples: name_bucket for each upper bound in le[] with the
 * cumulative count at or below it, the +Inf bucket (count), name_sum and
 * name_count, under the given labels (ending with NULL). */
void hb_prom_histogram(hb_prom *p, const char *name, const double *le,
                       const uint64_t *cumulative, size_t n, uint64_t count, double sum,
                       ...) __attribute__((sentinel));

/* Latency bounds in seconds that most of Hubao's histograms use: from
 * 100 us (a single message in process) to 10 s (a deadline). */
extern const double hb_prom_latency_bounds[];
enum { HB_PROM_LATENCY_BOUNDS = 16 };

/* A fixed-bucket histogram over hb_prom_latency_bounds for callers with no
 * histogram of their own; not thread-safe (guard it). */
typedef struct hb_prom_latency {
    uint64_t bucket[HB_PROM_LATENCY_BOUNDS]; /* not cumulative */
    uint64_t count;
    double sum;
} hb_prom_latency;

void hb_prom_latency_add(hb_prom_latency *h, double seconds);
void hb_prom_latency_write(hb_prom *p, const char *name, const hb_prom_latency *h);

#endif
