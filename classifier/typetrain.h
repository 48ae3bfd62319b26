/*
 * typetrain.h - train the fraud type model (typemodel.h) on the typed rows
 * of the fraud model's training data.
 *
 * The rows are the fraud trainer's own liblinear rows (the values the
 * fraud model scores, rule and entity features at full value), their
 * buckets folded to 2^bits.  One linear SVM per type against the others
 * (liblinear's one-vs-rest, L2-regularised squared hinge).  Out of fold
 * (folds grouped by text, as the fraud model's) it also learns the lowest
 * margin at which the types it names are still right at least 3 times in
 * 4 (min_margin, 0 or below); C is the grid value with the most
 * out-of-fold rows typed right under that rule, and those out-of-fold
 * figures go into the manifest: how often the model names the right type
 * for a typed scam it has not seen, and how often it names one at all.
 */
#ifndef HB_TYPETRAIN_H
#define HB_TYPETRAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <linear.h>

#include "error.h"

typedef struct hb_type_train_options {
    const char *const *classes; /* type ids, in the model's order */
    size_t nclasses;            /* 2..HB_TYPE_CLASSES_MAX */
    unsigned bits;              /* HB_TYPE_BITS_MIN..HB_TYPE_BITS_MAX */
    size_t dim;                 /* the rows' buckets (their bias node is dim + 1) */
    int folds;                  /* 2..10 */
    unsigned long seed;
    const double *c_grid;
    size_t nc;
} hb_type_train_options;

/* Train on n rows x[i] (1-based indices up to dim, then the bias node
 * dim + 1, -1 terminated) of class cls[i] (index into o->classes), rows
 * of equal group[i] sharing a fold.  On success *spec is the manifest's
 * "types" object (hash_bits, classes, bias, min_margin, c, metrics) and *w the
 * weights w[bucket * nclasses + k] of 2^bits buckets (free()).  Returns 0,
 * HB_EINVAL (a class without rows, bad options) or HB_ENOMEM, with err. */
int hb_type_train(const struct feature_node *const *x, const int *cls,
                  const uint64_t *group, size_t n, const hb_type_train_options *o,
                  json_t **spec, float **w, hb_error *err);

#endif
