/*
 * prom.c - the Prometheus text format (prom.h).
 */
#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double hb_prom_latency_bounds[HB_PROM_LATENCY_BOUNDS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

void hb_prom_init(hb_prom *p)
{
    memset(p, 0, sizeof *p);
}

void hb_prom_free(hb_prom *p)
{
    free(p->buf);
    hb_prom_init(p);
}

const char *hb_prom_text(const hb_prom *p, size_t *len)
{
    *len = p->oom ? 0 : p->len;
    return p->oom ? NULL : p->buf ? p->buf : "";
}

static int reserve(hb_prom *p, size_t more)
{
    if (p->oom)
        return -1;
    if (p->len + more + 1 <= p->cap)
        return 0;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + more + 1)
        cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b) {
        p->oom = 1;
        return -1;
    }
    p->buf = b;
    p->cap = cap;
    return 0;
}

static void put(hb_prom *p, const char *s, size_t n)
{
    if (reserve(p, n) != 0)
        return;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void puts_(hb_prom *p, const char *s)
{
    put(p, s, strlen(s));
}

/* A label value or HELP text, escaped: backslash and newline always, the
 * double quote in label values. */
static void put_escaped(hb_prom *p, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            puts_(p, "\\\\");
        else if (*s == '\n')
            puts_(p, "\\n");
        else if (*s == '"' && quote)
            puts_(p, "\\\"");
        else
            put(p, s, 1);
    }
}

static void put_value(hb_prom *p, double v)
{
    char num[40];
    if (isnan(v))
        snprintf(num, sizeof num, "NaN");
    else if (isinf(v))
        snprintf(num, sizeof num, "%sInf", v > 0 ? "+" : "-");
    else if (v == floor(v) && fabs(v) < 1e15)
        snprintf(num, sizeof num, "%.0f", v);
    else
        snprintf(num, sizeof num, "%.9g", v);
    puts_(p, num);
}

void hb_prom_family(hb_prom *p, const char *name, const char *type, const char *help)
{
    puts_(p, "# HELP ");
    puts_(p, name);
    puts_(p, " ");
    put_escaped(p, help, 0);
    puts_(p, "\n# TYPE ");
    puts_(p, name);
    puts_(p, " ");
    puts_(p, type);
    puts_(p, "\n");
}

/* name{k="v",...,extra_k="extra_v"} value: the pairs from ap, then one
 * more (extra_k NULL: none). */
static void put_sample(hb_prom *p, const char *name, const char *suffix, double value,
                       va_list ap, const char *extra_k, const char *extra_v)
{
    puts_(p, name);
    puts_(p, suffix);
    int n = 0;
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        puts_(p, n++ ? "," : "{");
        puts_(p, k);
        puts_(p, "=\"");
        put_escaped(p, v ? v : "", 1);
        puts_(p, "\"");
    }
    if (extra_k) {
        puts_(p, n++ ? "," : "{");
        puts_(p, extra_k);
        puts_(p, "=\"");
        puts_(p, extra_v);
        puts_(p, "\"");
    }
    if (n)
        puts_(p, "}");
    puts_(p, " ");
    put_value(p, value);
    puts_(p, "\n");
}

void hb_prom_sample(hb_prom *p, const char *name, double value, ...)
{
    va_list ap;
    va_start(ap, value);
    put_sample(p, name, "", value, ap, NULL, NULL);
    va_end(ap);
}

void hb_prom_counter(hb_prom *p, const char *name, const char *help, double value)
{
    hb_prom_family(p, name, "counter", help);
    hb_prom_sample(p, name, value, (const char *)NULL);
}

void hb_prom_gauge(hb_prom *p, const char *name, const char *help, double value)
{
    hb_prom_family(p, name, "gauge", help);
    hb_prom_sample(p, name, value, (const char *)NULL);
}

void hb_prom_histogram(hb_prom *p, const char *name, const double *le,
                       const uint64_t *cumulative, size_t n, uint64_t count, double sum,
                       ...)
{
    va_list ap;
    char bound[40];
    for (size_t i = 0; i <= n; i++) {
        if (i < n)
            snprintf(bound, sizeof bound, "%.9g", le[i]);
        va_start(ap, sum);
        put_sample(p, name, "_bucket", (double)(i < n ? cumulative[i] : count), ap, "le",
                   i < n ? bound : "+Inf");
        va_end(ap);
    }
    va_start(ap, sum);
    put_sample(p, name, "_sum", sum, ap, NULL, NULL);
    va_end(ap);
    va_start(ap, sum);
    put_sample(p, name, "_count", (double)count, ap, NULL, NULL);
    va_end(ap);
}

void hb_prom_latency_add(hb_prom_latency *h, double seconds)
{
    for (size_t i = 0; i < HB_PROM_LATENCY_BOUNDS; i++) {
        if (seconds <= hb_prom_latency_bounds[i]) {
            h->bucket[i]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
}

void hb_prom_latency_write(hb_prom *p, const char *name, const hb_prom_latency *h)
{
    uint64_t cumulative[HB_PROM_LATENCY_BOUNDS], seen = 0;
    for (size_t i = 0; i < HB_PROM_LATENCY_BOUNDS; i++)
        cumulative[i] = seen += h->bucket[i];
    hb_prom_histogram(p, name, hb_prom_latency_bounds, cumulative, HB_PROM_LATENCY_BOUNDS,
                      h->count, h->sum, (const char *)NULL);
}
