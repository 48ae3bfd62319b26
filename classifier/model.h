/*
 * model.h - a trained model bundle: load it, score feature vectors with it,
 * and (for the trainer) write one.
 *
 * A bundle is a directory:
 *   manifest.json  what the model is: format "hubao-model/1", task, kind
 *                  ("text" or "url"), version, label names, feature
 *                  configuration (featurize.h), probability calibration,
 *                  decision threshold, provenance and metrics (docs/model-format.md)
 *   model.svm      a libsvm model file (two classes, label +1 = positive)
 *   idf.bin        inverse document frequency per feature bucket, when the
 *                  features use IDF: (uint32 bucket, float32 idf) pairs,
 *                  little-endian, ascending, buckets with idf 0 left out
 *   types.bin      optional (fraud): the type model's weights (typemodel.h)
 * The manifest records the xxh64 checksum of model.svm, so a truncated or
 * corrupted model file is refused with a clear error before libsvm parses it.
 *
 * Linear-kernel models are collapsed at load time into one dense table of
 * 2^hash_bits weights and IDFs held as half-precision floats (half.h: 4
 * bytes a bucket, relative error at most 2^-11; weights below 6.1e-5 read
 * as 0), so scoring is one multiply-add per feature;
 * other kernels keep the libsvm model and score with svm_predict_values
 * (which allocates a node array per call: the slow path).
 *
 * An hb_model is immutable after loading and may be shared between threads.
 */
#ifndef HB_MODEL_H
#define HB_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "featurize.h"
#include "normalize.h"
#include "typemodel.h"

typedef struct hb_model hb_model;

/* Load the bundle in directory dir.  Returns an owned model, or NULL with
 * err naming the file and what is wrong (missing, bad JSON with line,
 * missing field, checksum mismatch, libsvm refused the file, not a
 * two-class classifier). */
hb_model *hb_model_load(const char *dir, hb_error *err);

/* Free a model; NULL is fine. */
void hb_model_free(hb_model *model);

const char *hb_model_task(const hb_model *model); /* "fraud", "url", ... */
const char *hb_model_kind(const hb_model *model); /* "text" or "url" */
const char *hb_model_version(const hb_model *model);
const char *hb_model_positive(const hb_model *model); /* label when positive */
const char *hb_model_negative(const hb_model *model); /* label when negative */
const char *hb_model_dir(const hb_model *model);
const hb_feature_config *hb_model_features(const hb_model *model);

/* 1 if a and b read the same features (same configuration): they score
 * the same vector, one extraction, and can share a weight table
 * (hb_models_fuse). */
int hb_model_same_features(const hb_model *a, const hb_model *b);

/* Probability at or above which the verdict is positive. */
double hb_model_threshold(const hb_model *model);

/* The probability and threshold for a message of the given script
 * (normalize.h HB_SCRIPT_*): a model trained on Chinese and English at once
 * may carry a calibration and threshold per script ("calibration":
 * {"by_script": {"cjk": {"a", "b", "threshold"}, "other": {...}}}), since
 * one pooled threshold would serve the larger language and fail the other;
 * without them these are hb_model_probability and hb_model_threshold. */
double hb_model_probability_in(const hb_model *model, double decision, int script);
double hb_model_threshold_in(const hb_model *model, int script);

/* The lower threshold of the "possible" tier for that script (manifest
 * "possible_threshold", also per script): a probability at or above it but
 * below hb_model_threshold_in reads "possible".  Equal to the threshold
 * when the manifest has none, so older bundles have no possible tier. */
double hb_model_possible_threshold_in(const hb_model *model, int script);

/* Factor applied to the weights of the task's rules that fired before they
 * are added to the decision value ("rule_weight_scale", default 1). */
double hb_model_rule_scale(const hb_model *model);

/* The rule weight factor for a message of the given script
 * ("rule_weight_scale_by_script"; without it, hb_model_rule_scale). */
double hb_model_rule_scale_in(const hb_model *model, int script);

/* URL models: the probability at or above which a link makes its message
 * fraud ("fraud_override_at"); above 1 (the default) when the model's
 * scores are evidence only. */
double hb_model_override_at(const hb_model *model);

/* The parsed manifest (borrowed; lives as long as the model). */
const json_t *hb_model_manifest(const hb_model *model);

/* The bundle's fraud type model (typemodel.h), or NULL when it has none. */
const hb_type_model *hb_model_types(const hb_model *model);

/* values[e] (v->n floats) = the value entry e of v has in the vector the
 * model scores: text features IDF-weighted and divided by their group's
 * norm, named features as they are (what the type model reads). */
void hb_model_values(const hb_model *model, const hb_fvec *v, float *values);

/* Raw SVM decision value of v: positive means the positive class.  Text
 * features are weighted by the model's IDF and L2-normalised per group;
 * named features (rules, entities) are used as they are (hb_fvec_value). */
double hb_model_decision(const hb_model *model, const hb_fvec *v);

/* hb_model_decision, also writing to contrib[e] (v->n floats) how much
 * each entry added to the decision, to explain a verdict without a second
 * pass (all 0 for kernel models). */
double hb_model_decision_explained(const hb_model *model, const hb_fvec *v,
                                   float *contrib);

/* Linear models scored together read each feature's bucket once.
 * hb_models_fuse moves the weight tables of n (2..HB_FUSE_MAX) linear
 * models with the same hash size into one table whose rows hold all their
 * weights and IDFs (16 bytes a bucket), in the given order; each model
 * still scores alone as before.  HB_EINVAL if one is not linear or the
 * sizes differ, HB_ENOMEM; on error nothing changed. */
enum { HB_FUSE_MAX = 4 };
int hb_models_fuse(hb_model *const *models, size_t n);

/* out[k] = hb_model_decision(models[k], v), exactly, for models fused
 * together by one hb_models_fuse call (same models, same order), in one
 * pass over v. */
void hb_models_decision(hb_model *const *models, size_t n, const hb_fvec *v, double *out);

/* Calibrated probability of the positive class for a decision value
 * (Platt scaling: 1 / (1 + exp(a * d + b))). */
double hb_model_probability(const hb_model *model, double decision);

/* Write a linear model bundle into dir (created if missing): model.svm in
 * libsvm format from the dense weights w (2^hash_bits entries) and bias,
 * idf.bin from idf when not NULL (2^hash_bits values), then manifest.json
 * made of the given manifest object plus "format", "model_file",
 * "model_xxh64" and "idf_file", "idf_xxh64".  Weights with |w| < prune are
 * left out to keep the bundle small.  Returns 0 or a negative code with
 * err. */
int hb_model_save_linear(const char *dir, json_t *manifest, const float *w, double bias,
                         const float *idf, double prune, hb_error *err);

/* Write a type model into dir (created if missing), before
 * hb_model_save_linear writes the manifest: types.bin from the weights
 * w[bucket * classes + k] (typemodel.h), and in manifest "types" (spec:
 * "hash_bits", "classes", "bias", ...), "types_file", "types_xxh64".
 * Returns 0 or a negative code with err. */
int hb_model_save_types(const char *dir, json_t *manifest, json_t *spec, const float *w,
                        hb_error *err);

#endif
