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
    double den = sqrt((double)(tp + fp) * (double)(tp + fn) *
                      (double)(tn + fp) * (double)(tn + fn));
    if (den == 0)
        return 0.0;
    return ((double)tp * (double)tn - (double)fp * (double)fn) / den;
}

int hb_metrics_compute(const double *p, const int *y, size_t n,
                       double threshold, hb_metrics *m)
{
    return hb_metrics_compute_pred(p, NULL, y, n, threshold, m);
}

int hb_metrics_compute_pred(const double *p, const int *pred_or_null,
                            const int *y, size_t n, double threshold,
                            hb_metrics *m)
{
    *m = (hb_metrics){.n = n};
    double bin_p[10] = {0}, bin_y[10] = {0};
    size_t bin_n[10] = {0};
    for (size_t i = 0; i < n; i++) {
        int pred = pred_or_null ? pred_or_null[i] != 0 : p[i] >= threshold;
        if (pred && y[i]) m->tp++;
        else if (pred) m->fp++;
        else if (y[i]) m->fn++;
        else m->tn++;
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
            if (s[j].y) tie_pos++;
            else tie_neg++;
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

double hb_metrics_best_threshold(const double *p, const int *y, size_t n,
                                 double max_fpr)
{
    scored *s = sorted_copy(p, y, n);
    if (!s)
        return 0.5;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += s[i].y;
    size_t neg = n - pos;
    size_t tp = 0, fp = 0;
    double best = -2, best_t = 0.5;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j].p == s[i].p) {
            if (s[j].y) tp++;
            else fp++;
            j++;
        }
        /* threshold s[i].p: everything in s[0..j) is positive */
        int allowed = max_fpr <= 0 || (neg && (double)fp / (double)neg <= max_fpr);
        double mcc = hb_mcc(tp, fp, neg - fp, pos - tp);
        if (allowed && mcc > best) {
            best = mcc;
            /* halfway to the next lower score generalises better than the
             * exact observed value */
            best_t = j < n ? 0.5 * (s[i].p + s[j].p) : s[i].p;
        }
        i = j;
    }
    free(s);
    return best_t;
}
