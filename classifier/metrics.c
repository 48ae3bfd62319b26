/*
 * metrics.c - see metrics.h.  AUC and the threshold search sort the scores
 * once and sweep them, so both are O(n log n).
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

typedef struct scored {
    double p;
    int y;
} scored;

static int by_p_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->p, y = ((const scored *)b)->p;
    return (x < y) - (x > y);
}

static scored *sorted_copy(const double *p, const int *y, size_t n)
{
    scored *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = (scored){p[i], y[i] ? 1 : 0};
    qsort(s, n, sizeof *s, by_p_desc);
    return s;
}

double hb_mcc(size_t tp, size_t fp, size_t tn, size_t fn)
{
    double den = sqrt((double)(tp + fp) * (double)(tp + fn) * (double)(tn + fp) *
                      (double)(tn + fn));
    if (den == 0)
        return 0.0;
    return ((double)tp * (double)tn - (double)fp * (double)fn) / den;
}

int hb_metrics_compute(const double *p, const int *y, size_t n, double threshold,
                       hb_metrics *m)
{
    return hb_metrics_compute_pred(p, NULL, y, n, threshold, m);
}

int hb_metrics_compute_pred(const double *p, const int *pred_or_null, const int *y,
                            size_t n, double threshold, hb_metrics *m)
{
    *m = (hb_metrics){.n = n};
    double bin_p[10] = {0}, bin_y[10] = {0};
    size_t bin_n[10] = {0};
    for (size_t i = 0; i < n; i++) {
        int pred = pred_or_null ? pred_or_null[i] != 0 : p[i] >= threshold;
        if (pred && y[i])
            m->tp++;
        else if (pred)
            m->fp++;
        else if (y[i])
            m->fn++;
        else
            m->tn++;
        int b = (int)(p[i] * 10);
        b = b < 0 ? 0 : b > 9 ? 9 : b;
        bin_p[b] += p[i];
        bin_y[b] += y[i] ? 1 : 0;
        bin_n[b]++;
    }
    m->accuracy = n ? (double)(m->tp + m->tn) / (double)n : 0;
    m->precision = m->tp + m->fp ? (double)m->tp / (double)(m->tp + m->fp) : 0;
    m->recall = m->tp + m->fn ? (double)m->tp / (double)(m->tp + m->fn) : 0;
    m->f1 = m->precision + m->recall > 0
                ? 2 * m->precision * m->recall / (m->precision + m->recall)
                : 0;
    m->mcc = hb_mcc(m->tp, m->fp, m->tn, m->fn);
    for (int b = 0; b < 10; b++)
        if (bin_n[b])
            m->ece += fabs(bin_p[b] - bin_y[b]) / (double)n;

    /* AUC by the rank-sum over descending scores, ties counted half */
    size_t pos = m->tp + m->fn, neg = m->fp + m->tn;
    m->auc = NAN;
    if (pos == 0 || neg == 0)
        return 0;
    scored *s = sorted_copy(p, y, n);
    if (!s)
        return HB_ENOMEM;
    double area = 0, neg_above = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, tie_pos = 0, tie_neg = 0;
        while (j < n && s[j].p == s[i].p) {
            if (s[j].y)
                tie_pos++;
            else
                tie_neg++;
            j++;
        }
        /* each positive beats the negatives ranked below it */
        area += (double)tie_pos * ((double)neg - neg_above - 0.5 * (double)tie_neg);
        neg_above += (double)tie_neg;
        i = j;
    }
    m->auc = area / ((double)pos * (double)neg);
    free(s);
    return 0;
}

/* One candidate threshold per distinct score, highest first: calling the
 * scores at or above p positive gives mcc, allowed says whether its false
 * positive rate is within max_fpr (always, when max_fpr <= 0), and t is
 * the threshold to use, halfway to the next lower score (that generalises
 * better than the exact observed value).  NULL when out of memory. */
typedef struct candidate {
    double p, t, mcc;
    int allowed;
} candidate;

static candidate *candidates(const double *p, const int *y, size_t n, double max_fpr,
                             size_t *count)
{
    scored *s = sorted_copy(p, y, n);
    candidate *c = malloc((n ? n : 1) * sizeof *c);
    if (!s || !c) {
        free(s);
        free(c);
        return NULL;
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += s[i].y;
    size_t neg = n - pos;
    size_t tp = 0, fp = 0, k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j].p == s[i].p) {
            if (s[j].y)
                tp++;
            else
                fp++;
            j++;
        }
        c[k++] =
            (candidate){s[i].p, j < n ? 0.5 * (s[i].p + s[j].p) : s[i].p,
                        hb_mcc(tp, fp, neg - fp, pos - tp),
                        max_fpr <= 0 || (neg && (double)fp / (double)neg <= max_fpr)};
        i = j;
    }
    free(s);
    *count = k;
    return c;
}

double hb_metrics_best_threshold(const double *p, const int *y, size_t n, double max_fpr)
{
    size_t k;
    candidate *c = candidates(p, y, n, max_fpr, &k);
    if (!c)
        return 0.5;
    double best = -2, best_t = 0.5;
    for (size_t i = 0; i < k; i++)
        if (c[i].allowed && c[i].mcc > best) {
            best = c[i].mcc;
            best_t = c[i].t;
        }
    free(c);
    return best_t;
}

static double logit(double p)
{
    const double eps = 1e-12;
    p = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
    return log(p / (1 - p));
}

/* The integral of the MCC-against-threshold step function from the lowest
 * score's logit to x: edge[] holds the candidates' logits ascending,
 * value[i] the MCC on (edge[i], edge[i+1]] (0 above the last edge),
 * cum[i] the integral up to edge[i], below the MCC under the lowest edge. */
static double mcc_integral(const double *edge, const double *value, const double *cum,
                           size_t k, double below, double x)
{
    if (x < edge[0])
        return below * (x - edge[0]);
    size_t lo = 0, hi = k; /* the last edge at or below x */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (edge[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return cum[lo] + value[lo] * (x - edge[lo]);
}

double hb_metrics_steady_threshold(const double *p, const int *y, size_t n,
                                   double max_fpr, double halfwidth)
{
    if (halfwidth <= 0)
        return hb_metrics_best_threshold(p, y, n, max_fpr);
    size_t k = 0;
    candidate *c = candidates(p, y, n, max_fpr, &k);
    double *edge = c ? malloc((k ? k : 1) * 3 * sizeof *edge) : NULL;
    if (!edge || k == 0) {
        free(edge);
        free(c);
        return 0.5;
    }
    double *value = edge + k, *cum = value + k;
    /* ascending edge i is candidate k-1-i; above it the positives stop
     * at the candidate before, whose MCC holds up to the next edge */
    for (size_t i = 0; i < k; i++) {
        edge[i] = logit(c[k - 1 - i].p);
        value[i] = i + 1 < k ? c[k - 2 - i].mcc : 0.0;
        cum[i] = i ? cum[i - 1] + value[i - 1] * (edge[i] - edge[i - 1]) : 0.0;
    }
    double below = c[k - 1].mcc;
    double best = -3, best_t = 0.5;
    for (size_t i = 0; i < k; i++) {
        if (!c[i].allowed)
            continue;
        double x = logit(c[i].t);
        double mean = (mcc_integral(edge, value, cum, k, below, x + halfwidth) -
                       mcc_integral(edge, value, cum, k, below, x - halfwidth)) /
                      (2 * halfwidth);
        if (mean > best) {
            best = mean;
            best_t = c[i].t;
        }
    }
    free(edge);
    free(c);
    return best_t;
}

double hb_metrics_band_threshold(const double *p, const int *y, size_t n, double likely,
                                 double min_precision, size_t min_rows, double neg_weight)
{
    scored *s = sorted_copy(p, y, n);
    if (!s)
        return -1;
    size_t first = 0;
    while (first < n && s[first].p >= likely)
        first++;
    /* the band [cut, top) is s[top_i .. i]; top_i moves down with the cut */
    size_t top_i = first, tp = 0;
    double best = likely;
    for (size_t i = first; i < n; i++) {
        tp += (size_t)s[i].y;
        if (i + 1 < n && s[i + 1].p == s[i].p)
            continue; /* cut only between distinct probabilities */
        double cut = i + 1 < n ? (s[i].p + s[i + 1].p) / 2 : s[i].p;
        double top =
            cut > 0 && cut < 1 ? 1.0 / (1.0 + (1.0 - cut) / (cut * exp(1.0))) : likely;
        while (top_i < i && s[top_i].p >= top)
            tp -= (size_t)s[top_i++].y;
        size_t rows = i + 1 - top_i;
        if (rows < min_rows)
            continue;
        double fp = neg_weight * (double)(rows - tp);
        if ((double)tp < min_precision * ((double)tp + fp))
            break;
        best = cut;
    }
    free(s);
    return best;
}

double hb_metrics_fpr_threshold(const double *p, const int *y, size_t n, double max_fpr)
{
    scored *s = sorted_copy(p, y, n);
    if (!s)
        return 1.0;
    size_t neg = 0;
    for (size_t i = 0; i < n; i++)
        neg += (size_t)(s[i].y == 0);
    double allowed = max_fpr * (double)neg, best = 1.0;
    size_t fp = 0;
    for (size_t i = 0; i < n; i++) {
        fp += (size_t)(s[i].y == 0);
        if (i + 1 < n && s[i + 1].p == s[i].p)
            continue;
        if ((double)fp > allowed)
            break;
        best = i + 1 < n ? (s[i].p + s[i + 1].p) / 2 : s[i].p;
    }
    free(s);
    return best;
}
