/*
 * trainer.h - train a task's model bundle from labelled text.
 *
 * The recipe (docs/training.md):
 *   1. every row goes through hb_featurize - the very code that scores in
 *      production - and its fired rules' weights for the task are noted;
 *      n-grams seen in fewer than min_df rows are left out (counted per
 *      n-gram, not per hash bucket);
 *   2. a linear SVM (L2-regularised, squared hinge loss: liblinear's dual
 *      coordinate descent, the solver libsvm's authors wrote for this size
 *      of problem) with balanced class weights; C is picked from a grid by
 *      stratified k-fold cross-validation (best out-of-fold MCC over
 *      `repeats` runs with different folds, their held-out decisions
 *      pooled), and with it the damping of the rule and entity features
 *      (named_scale);
 *      The factor applied to the hand-set weights of the task's rules is
 *      chosen with C, per script (0, 0.25, 0.5 or 1 on the rows of each
 *      script; fixed with rule_scale or rule_scale_script): where the
 *      data already teaches what the rules know, trusting them fully only
 *      adds noise, and where it does not (fraud in Chinese), they carry
 *      the verdict;
 *   3. Platt scaling is fitted on the out-of-fold decision values (margin
 *      plus scaled rule weights: exactly what scoring computes), so probabilities
 *      are calibrated on data the model did not see;
 *   4. the probability threshold maximises out-of-fold MCC, optionally with
 *      a cap on the false positive rate;
 *   5. the final model is trained on all rows with the chosen C and written
 *      as a libsvm model bundle (model.h);
 *   6. with type_prefix, the type model is trained on the typed positive
 *      rows (typetrain.h) and written into the same bundle.
 * Deterministic: the same data, options and seed give the same model bytes.
 */
#ifndef HB_TRAINER_H
#define HB_TRAINER_H

#include <jansson.h>

#include "dataset.h"
#include "featurize.h"
#include "metrics.h"
#include "verdict.h"

typedef void (*hb_progress_fn)(void *ctx, const char *stage, size_t done, size_t total);

typedef struct hb_train_options {
    const char *task;          /* task name written in the manifest */
    const char *kind;          /* "text" (messages) or "url" (one link per row) */
    const char *positive_name; /* label names of the verdict */
    const char *negative_name;
    const char *version; /* manifest version string */
    hb_feature_config features;
    unsigned long seed;
    int folds;   /* 2..10 */
    int repeats; /* 1..10: cross-validation runs, each with
                    its own folds; C, scales, calibration and
                    threshold are chosen on the held-out
                    decisions of all of them */
    double c_grid[8];
    size_t nc;
    double max_fpr;                       /* 0: no cap when choosing the threshold */
    double possible_precision;            /* the "possible" tier: the lowest threshold
                                             under the likely one whose band of
                                             out-of-fold decisions is at least this
                                             precise (metrics.h); 1: no such tier */
    double possible_max_fpr;              /* ... raised so that it flags at most this
                                             share of the held-out negatives */
    double rule_scale;                    /* factor on the rules' weights; < 0: chosen
                                             by cross-validation from 0, .25, .5, 1 */
    double rule_scale_script[HB_SCRIPTS]; /* per script (HB_SCRIPT_*), fixed
                                   when >= 0, else rule_scale applies */
    double named_scale;                   /* factor on rule and entity feature values
                                             while training, undone in the saved
                                             weights, 0 leaving them out; < 0: chosen
                                             by cross-validation from 1, 0.3 and 0 */
    double prune;                         /* weights below this are not written */
    int balanced_calibration;             /* 1: probabilities as if both classes were
                                             equally common (for rare positives, such
                                             as fraud among all SMS, read by people who
                                             already suspect the message) */
    const char *type_prefix;              /* rows labelled <prefix><type> (positive,
                                             <type> in the engine's types.tsv)
                                             train the type model (typemodel.h,
                                             typetrain.h); NULL: none */
    unsigned type_bits;                   /* its buckets: 2^type_bits */
    hb_progress_fn progress;              /* may be NULL */
    void *progress_ctx;
} hb_train_options;

/* Defaults for a task (labels named after it, 5 folds run 3 times, C grid
 * 0.0625..2, seed 1, the task's kind as hb_train_set_task sets it). */
hb_train_options hb_train_defaults(const char *task);

/* Set o's task and what follows from it: kind "url" for task "url", whose
 * features are all named and so share the n-grams' buckets (named_bits 0),
 * and "text" otherwise. */
void hb_train_set_task(hb_train_options *o, const char *task);

typedef struct hb_train_result {
    size_t n, npositive;
    double c;
    double named_scale; /* the factor on rule and entity features */
    double rule_scale;  /* the factor for HB_SCRIPT_OTHER */
    double rule_scale_script[HB_SCRIPTS];
    double threshold;
    double possible_threshold; /* <= threshold; == threshold: no tier */
    double platt_a, platt_b;
    hb_metrics cv;            /* out-of-fold metrics at the threshold */
    size_t typed;             /* rows the type model trained on (0: none) */
    size_t unusable;          /* rows that normalise to nothing, or links
                                 that do not parse: kept as empty vectors */
    char first_unusable[600]; /* file:line: why, of the first of them */
    double seconds;
} hb_train_result;

/* Train on ds (labels mapped by map) and write the bundle to out_dir.  For
 * kind "url" each row's text is one link (urlfeatures.h).  Rows that
 * normalise to nothing, or links that do not parse, are kept as empty
 * vectors and reported in result->unusable and the manifest, never dropped
 * silently.
 * engine supplies the rules and entity patterns (rules-only is enough).
 * extra, if not NULL, is merged into the manifest (provenance: data files,
 * checksums).  Returns 0 or an error (bad data, one class only, I/O). */
int hb_train_text(const hb_engine *engine, const hb_dataset *ds, const hb_label_map *map,
                  const hb_train_options *opt, const char *out_dir, const json_t *extra,
                  hb_train_result *result, hb_error *err);

/* Cross-validation folds, stratified and grouped: rows with equal
 * group[i] (the same text, hb_dataset_text_keys) always share a fold, so
 * no held-out decision comes from a model that saw the same text; groups
 * are shuffled within each class (label of their first row, 1/0) and dealt
 * round-robin into fold[i] = 0..folds-1.  The same seed gives the same
 * folds.  Returns 0 or HB_ENOMEM. */
int hb_assign_folds(const uint64_t *group, const int *label, size_t n, int folds,
                    unsigned long seed, int *fold);

/* Fit Platt scaling p = 1 / (1 + exp(a*d + b)) to decision values d[i] and
 * labels y[i] (1/0), with Platt's prior-corrected targets. */
void hb_platt_fit(const double *d, const int *y, size_t n, double *a, double *b);

/* The same with the positive and negative rows weighted wp and wn. */
void hb_platt_fit_weighted(const double *d, const int *y, size_t n, double wp, double wn,
                           double *a, double *b);

#endif
