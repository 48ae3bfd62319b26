/*
 * featurize.h - turn normalised text into the sparse vector a model scores.
 *
 * Feature groups (each can be switched off in the configuration):
 *   - character n-grams over code points, CJK and Latin alike, taken inside
 *     space-separated tokens padded with one space on each side (the
 *     "char_wb" analyser of scikit-learn), so "安全账户" and "paypal" give
 *     n-grams whatever the language;
 *   - word n-grams over runs of letters and digits of any script (a CJK run
 *     between punctuation counts as one word, as in scikit-learn's word
 *     analyser);
 *   - the ids of the rules that fired, and counts of extracted entities
 *     (links, phones, accounts, amounts, handles), added by the caller with
 *     hb_fvec_add_named.
 * Digits, and x-runs used to mask digits, read as '0' when map_digits is on,
 * so no model can learn "has a real digit" from corpora that masked theirs.
 *
 * Every feature name is hashed with xxhash (XXH3, one seed per group) into
 * 2^hash_bits buckets; the sign of the hash decides the sign of the value,
 * which keeps collisions from biasing weights.  Text counts become 1+log(tf)
 * (sublinear).  Weighting by inverse document frequency and L2
 * normalisation of the text part belong to the model (model.h): they
 * depend on its training data, and leaving them out here lets models that
 * share a configuration share one extraction.
 *
 * The configuration is stored in every model manifest so that training and
 * scoring can never disagree: always take it from the model.
 *
 * Hot path: an hb_fvec and hb_featurizer are reusable scratch; after warm-up
 * extraction allocates nothing.
 */
#ifndef HB_FEATURIZE_H
#define HB_FEATURIZE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "error.h"
#include "normalize.h"

typedef struct hb_feature_config {
    int char_min, char_max; /* char n-gram lengths, 0/0 = off (max 8) */
    int word_min, word_max; /* word n-gram lengths, 0/0 = off (max 4) */
    int hash_bits;          /* 10..24 */
    int named_bits;         /* 0: named features (rule ids, entity counts,
                               link features) hash into the same buckets
                               as n-grams, as in bundles written before
                               2026-12-08 and in link models, whose
                               features are all named; k: they get the top
                               2^k buckets (at most 2^(hash_bits - 6)),
                               which no n-gram uses (0..16) */
    int map_digits;         /* 1: digits and digit masks read as '0' */
    int use_rules;          /* 1: rule ids are features */
    int use_entities;       /* 1: entity counts are features */
    int use_idf;            /* 1: text features weighted by IDF */
    int min_df;             /* with IDF: n-grams seen in fewer training
                               documents are left out when training; a
                               bucket holding none of the kept ones has
                               IDF 0 and is ignored when scoring */
} hb_feature_config;

/* The defaults new models are trained with. */
hb_feature_config hb_feature_config_default(void);

/* The bucket of a feature whose hash is h (only its low hash_bits bits
 * count), an n-gram's or, with named, a named feature's. */
uint32_t hb_feature_bucket(const hb_feature_config *cfg, uint64_t h, int named);

/* JSON round trip for model manifests.  from_json fills unspecified fields
 * with defaults, except named_bits: a manifest without it was written when
 * named features shared the n-gram buckets (0).  Out-of-range values are
 * rejected with HB_EFORMAT. */
json_t *hb_feature_config_to_json(const hb_feature_config *cfg);
int hb_feature_config_from_json(const json_t *obj, hb_feature_config *cfg, hb_error *err);

/* Where a text feature came from: a span of code points of the normalised
 * text (for explanations); len 0 for named features. */
typedef struct hb_feature_origin {
    uint32_t start;
    uint32_t len;
} hb_feature_origin;

/* Feature groups.  Text groups are IDF-weighted and L2-normalised each on
 * its own (as scikit-learn's separate char and word TF-IDF blocks are), so
 * the few word features are not drowned by the many character n-grams. */
enum { HB_GROUP_CHAR = 0, HB_GROUP_WORD = 1, HB_GROUP_NAMED = 2, HB_TEXT_GROUPS = 2 };

/* A sparse vector: n entries with distinct indices, in insertion order
 * (sorted only by hb_fvec_sort). */
typedef struct hb_fvec {
    uint32_t *idx;
    float *val;
    uint8_t *group; /* HB_GROUP_* of each entry */
    hb_feature_origin *origin;
    const char **name; /* for named features, the name; else NULL */
    size_t n, cap;
    /* scratch reused between messages: an open-addressing table from
     * index to entry, and the digit-mapped copy of the text */
    uint32_t *slot;
    size_t slot_cap;
    uint32_t *mapped;
    size_t mapped_cap;
} hb_fvec;

void hb_fvec_init(hb_fvec *v);
void hb_fvec_release(hb_fvec *v);

/* Extract the text features of t into v (cleared first): counts, then
 * sublinear tf.  Returns 0 or HB_ENOMEM. */
int hb_features_text(const hb_feature_config *cfg, const hb_text *t, hb_fvec *v);

/* The text as the n-gram features read it: t's code points, with digits
 * and digit masks read as '0' when cfg->map_digits is on (only ASCII
 * characters change, each into '0').  Returns t->ncps code points held in
 * v's scratch, valid until v is next used, or NULL when out of memory.
 * For tools that show what a model sees (`hubao normalize`). */
const uint32_t *hb_features_view(const hb_feature_config *cfg, const hb_text *t,
                                 hb_fvec *v);

/* Add a named feature ("rule:fraud.safe_account", "entity:url") with the
 * given value (summed if already present).  Named features are neither
 * IDF-weighted nor normalised.  name must outlive v's use (it
 * is only kept for explanations).  Returns 0 or HB_ENOMEM. */
int hb_fvec_add_named(const hb_feature_config *cfg, hb_fvec *v, const char *name,
                      float value);

/* The L2 norm of each text group of v after weighting by idf (may be
 * NULL: no weighting); 1 for an empty group. */
typedef struct hb_norms {
    double group[HB_TEXT_GROUPS];
} hb_norms;
void hb_fvec_norms(const hb_fvec *v, const float *idf, hb_norms *out);

/* The value entry e has in the vector a model scores: text features
 * IDF-weighted and divided by their group's norm, named features as they
 * are. */
double hb_fvec_value(const hb_fvec *v, size_t e, const float *idf, const hb_norms *norms);

/* Like hb_fvec_add_named, but hashed by the len bytes of key while label
 * (static, outliving v) names it in explanations: for features whose name
 * is built per message, such as "url:tld=top". */
int hb_fvec_add_keyed(const hb_feature_config *cfg, hb_fvec *v, const char *key,
                      size_t len, const char *label, float value);

/* Sort entries by index (libsvm and liblinear want ascending indices).
 * Allocates a temporary: for training and kernel models, not the linear hot
 * path.  Returns 0 or HB_ENOMEM. */
int hb_fvec_sort(hb_fvec *v);

#endif
