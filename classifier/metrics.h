/*
 * metrics.h - binary classification metrics, shared by training (cross-
 * validation, threshold choice) and `hubao eval`, so that both report the
 * same numbers computed the same way.
 */
#ifndef HB_METRICS_H
#define HB_METRICS_H

#include <stddef.h>

typedef struct hb_metrics {
    size_t n, tp, fp, tn, fn;
    double accuracy, precision, recall, f1, mcc;
    double auc; /* ROC area; NaN when only one class is present */
    double ece; /* expected calibration error, 10 equal-width bins */
} hb_metrics;

/* Metrics of probabilities p[i] (0..1) against labels y[i] (1 positive,
 * 0 negative) when positive means p >= threshold.  Allocates a temporary
 * for the AUC; returns 0 or HB_ENOMEM. */
int hb_metrics_compute(const double *p, const int *y, size_t n, double threshold,
                       hb_metrics *out);

/* The same, with the decisions given (pred[i] 1 = called positive) rather
 * than one threshold, for models whose threshold depends on the message;
 * threshold is then unused (pred may also be NULL: use threshold). */
int hb_metrics_compute_pred(const double *p, const int *pred, const int *y, size_t n,
                            double threshold, hb_metrics *out);

/* The threshold among the observed p values that maximises MCC, subject to
 * a false positive rate of at most max_fpr (ignored when max_fpr <= 0).
 * Returns 0.5 when nothing qualifies. */
double hb_metrics_best_threshold(const double *p, const int *y, size_t n, double max_fpr);

/* Like hb_metrics_best_threshold for probabilities, but steadier: the
 * threshold t whose neighbourhood scores best, i.e. that maximises the
 * mean MCC of every threshold within halfwidth of t in logit space
 * (log(p / (1 - p))).  Near its best the MCC curve is flat and noisy, so
 * its single highest point moves a lot with which rows the data happens
 * to hold; the middle of the best stretch moves less and survives a small
 * calibration shift.  halfwidth <= 0 is hb_metrics_best_threshold. */
double hb_metrics_steady_threshold(const double *p, const int *y, size_t n,
                                   double max_fpr, double halfwidth);

/* The "possible" tier's threshold under a likely threshold `likely`.
 * Walking down from `likely` over cuts halfway between observed
 * probabilities, each cut t is judged on its local band: the rows with
 * t <= p < min(likely, the probability one logit above t).  A band of at
 * least min_rows rows whose precision is at least min_precision extends
 * the tier down to t; the first band that has the rows but not the
 * precision ends the walk.  Each negative row counts neg_weight times (1
 * for the data's own mix of classes; npos / nneg for precision as if both
 * classes were equally common).  Returns the lowest qualifying cut, or
 * likely when none qualifies (no possible tier), or -1 when memory runs
 * out. */
double hb_metrics_band_threshold(const double *p, const int *y, size_t n, double likely,
                                 double min_precision, size_t min_rows,
                                 double neg_weight);

/* The lowest threshold, halfway between observed probabilities, at which
 * at most max_fpr of the negatives have p >= it; 1.0 when even the
 * highest-scored negative breaks that budget. */
double hb_metrics_fpr_threshold(const double *p, const int *y, size_t n, double max_fpr);

/* Matthews correlation coefficient of a confusion matrix (0 when undefined). */
double hb_mcc(size_t tp, size_t fp, size_t tn, size_t fn);

#endif
