/*
 * typemodel.h - the fraud type model: which of the known fraud types a
 * flagged message is, learned from typed examples, for the scams that no
 * typed rule recognises.
 *
 * Rules type a scam whose wording they know, and say why.  A scam worded
 * otherwise is still caught by the fraud model's n-grams, but without a
 * type it gets only the general advice.  This model fills that gap (and
 * settles which of several types the fired rules name applies): one
 * linear SVM per type against the other types (liblinear, one-vs-rest),
 * trained on the typed rows of the fraud model's training data (labels
 * "fraud_<type>"), over the very values the fraud model scores
 * (hb_model_values: IDF-weighted, group-normalised n-grams, and the rule
 * and entity features as they are).  Bucket b of the fraud model reads as
 * b mod 2^hash_bits here.  The shipped 2^14 buckets of 19 types are
 * 0.6 MiB on disk as half floats and 1.2 MiB in memory as floats (a
 * flagged message reads a row of every type per feature); a collision
 * can only blur a type, never move the fraud score, and out of fold the
 * share typed right is the same at 2^12, 2^14 and 2^16 (63.1%, 63.3%,
 * 63.4%).
 *
 * It lives in the fraud bundle (model.h, docs/model-format.md): manifest
 * "types" = {"hash_bits", "classes", "bias", "min_margin", "metrics"}
 * ("min_margin" learned out of fold, typetrain.h) and "types_file",
 * "types_xxh64" naming a file of 2^hash_bits x classes little-endian IEEE
 * half floats, bucket-major.
 *
 * Immutable after parsing; may be shared between threads.
 */
#ifndef HB_TYPEMODEL_H
#define HB_TYPEMODEL_H

#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "featurize.h"

typedef struct hb_type_model hb_type_model;

enum {
    HB_TYPE_BITS_MIN = 8,
    HB_TYPE_BITS_MAX = 20,
    HB_TYPE_CLASSES_MAX = 64,
    HB_TYPE_MIN_MARGIN_MAX = 10 /* min_margin is -10..0 */
};

/* A type model from the manifest's "types" object and the bytes of its
 * file (where names the file in errors).  NULL with err when spec is
 * malformed (hash_bits out of range, fewer than 2 or more than
 * HB_TYPE_CLASSES_MAX classes, a class that is not a type id, bias not one
 * number per class, min_margin, when present, not a number from
 * -HB_TYPE_MIN_MARGIN_MAX to 0; absent, it is 0) or the file's size is
 * not 2^hash_bits x classes x 2. */
hb_type_model *hb_type_model_parse(const json_t *spec, const void *data, size_t len,
                                   const char *where, hb_error *err);
void hb_type_model_free(hb_type_model *model);

size_t hb_type_model_nclasses(const hb_type_model *model);
const char *hb_type_model_class(const hb_type_model *model, size_t i);

/* The class of type, or -1 when the model has none. */
int hb_type_model_index(const hb_type_model *model, const char *type);

/* margins[k] (one per class) = class k's bias plus its weights times the
 * values of v, whose entry e has the value values[e] in the vector the
 * fraud model scores (hb_model_values). */
void hb_type_model_margins(const hb_type_model *model, const hb_fvec *v,
                           const float *values, double *margins);

/* The type of v: the class with the largest margin when that margin is
 * above min_margin (out of fold, the types named there are right at least
 * 3 times in 4), else NULL.
 * *margin (may be NULL) gets the largest margin. */
const char *hb_type_model_predict(const hb_type_model *model, const hb_fvec *v,
                                  const float *values, double *margin);

/* The file's bytes for weights w[bucket * nclasses + k] of 2^bits buckets:
 * a malloc'd buffer of 2^bits x nclasses x 2 bytes in *out, or HB_ENOMEM. */
int hb_type_model_encode(const float *w, unsigned bits, size_t nclasses,
                         unsigned char **out, size_t *len);

#endif
