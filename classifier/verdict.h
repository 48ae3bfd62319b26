/*
 * verdict.h - the pipeline: message in, three separate verdicts and their
 * evidence out.
 *
 *   normalise -> rules + entities -> features -> score each task -> decide
 *
 * A task (fraud, spam, rumour, ...) is data, not code: it exists because a
 * model bundle for it is present under the models directory.  Each task gets
 * its own calibrated probability and label, so an advert can be spam without
 * being fraud.  A task's decision value is its model's SVM margin plus the
 * weights of that task's rules that fired, times the model's
 * rule_weight_scale (learned at training); the fraud type is the type with
 * the largest total weight among the task's fired rules, or, on a likely
 * one with a type model (typemodel.h), the type the model names when no
 * typed rule fired, and the one of the rules' types the model puts first
 * when they name several.  A possible one stays untyped: the
 * model's guess at a type on top of an uncertain verdict typed a friend
 * paying back money and a dropped video call "sextortion".
 *
 * Brands: when the models directory holds brands.tsv (brands.h), the
 * brands a message with a link or a phone number names are assessed
 * against those (a message with neither is not searched: naming a brand
 * alone is evidence neither way).  A brand named with a link or a number to call that is
 * not its own (impersonation) makes fraud at least "possible"; a brand named with only
 * its own channels, with no fraud rule of positive weight fired, exonerates: fraud is
 * then not "possible" on the model's score alone.
 *
 * Links: every link in the text (and any given with the message) is
 * normalised (urls.h), looked up in the blocklist feeds and, when a model
 * bundle of kind "url" is present, scored by it.  A message with a
 * blocklisted link, or one the URL model is sure enough about (its
 * manifest's fraud_override_at), is fraud (type "malicious_link" unless
 * a rule gave a type), whatever the text model says; below that, the
 * link's score is evidence only.
 *
 * Objects:
 *   hb_engine  everything loaded from disk (engine.h), shared by all threads.
 *   hb_session one per worker thread: the scratch buffers of every stage,
 *              reused for every message, and the last verdict.  Works with
 *              any engine, so it survives reloads.
 */
#ifndef HB_VERDICT_H
#define HB_VERDICT_H

#include <stddef.h>

#include "blocklist.h"
#include "brands.h"
#include "engine.h"
#include "entities.h"
#include "error.h"
#include "featurize.h"
#include "model.h"
#include "normalize.h"
#include "rules.h"
#include "urls.h"

enum {
    HB_MAX_HITS = 64,
    HB_MAX_ENTITIES = 64,
    HB_MAX_URLS = 8,
    HB_MAX_BRANDS = 8,
};

typedef struct hb_session hb_session;

/* How sure a task's verdict is: likely at the model's threshold (the
 * label), possible from its lower "possible" threshold (model.h), or
 * neither. */
typedef enum hb_tier { HB_TIER_NONE, HB_TIER_POSSIBLE, HB_TIER_LIKELY } hb_tier;

/* "none", "possible", "likely". */
const char *hb_tier_name(hb_tier tier);

/* Where a task's type came from. */
typedef enum hb_type_source {
    HB_TYPE_BY_NONE,  /* no type */
    HB_TYPE_BY_RULES, /* the typed rules that fired */
    HB_TYPE_BY_MODEL, /* the type model (no typed rule fired) */
    HB_TYPE_BY_LINK,  /* "malicious_link": a link made it fraud, nothing typed it */
} hb_type_source;

/* "rules", "model", "link"; NULL for HB_TYPE_BY_NONE. */
const char *hb_type_source_name(hb_type_source source);

/* The verdict of one task. */
typedef struct hb_task_result {
    const char *task; /* "fraud", "spam", "rumour" */
    const hb_model *model;
    const char *label;         /* model's positive or negative label */
    int positive;              /* probability >= model threshold */
    hb_tier tier;              /* LIKELY exactly when positive; POSSIBLE
                                  from the possible threshold, and for fraud
                                  also on a brand impersonation, or a link
                                  a fraud rule finds malicious-looking */
    double possible_threshold; /* the model's, for that script */
    double probability;        /* calibrated (for the message's script) */
    double threshold;          /* the model's threshold for that script */
    double decision;           /* model margin + scale x rule_weight */
    double rule_weight;        /* sum of the task's fired rules' weights */
    const char *type;          /* e.g. "authority"; NULL: no type */
    hb_type_source type_by;    /* where type came from */
    int by_link;               /* fraud because of a blocklisted or surely
                                  malicious link (whatever the text said) */
    size_t fvec;               /* which of the session's vectors it scored */
} hb_task_result;

/* The verdict on one link found in the message (or given with it). */
typedef struct hb_url_verdict {
    hb_url url;            /* normalised link and registrable domain */
    int from_text;         /* 1: found in the text at [start, end) */
    uint32_t start, end;   /* bytes of the normalised text */
    double probability;    /* URL model's probability; -1: no URL model */
    int malicious;         /* the URL model says so (at its threshold) */
    hb_block_match listed; /* found in a blocklist feed, and how */
    const char *feed;      /* that feed's name, or NULL */
    int decides;           /* makes the message fraud: listed, or the URL
                              model is sure enough (fraud_override_at) */
} hb_url_verdict;

/* The verdict of one message: valid until the session classifies the next
 * one or is freed. */
typedef struct hb_verdict {
    const hb_text *text; /* normalised text */
    hb_task_result tasks[HB_MAX_TASKS];
    size_t ntasks;
    hb_rule_hit hits[HB_MAX_HITS]; /* rules that fired, all tasks */
    size_t nhits;
    size_t rules_limited; /* rules stopped by the match limit */
    hb_entity entities[HB_MAX_ENTITIES];
    size_t nentities;
    hb_url_verdict urls[HB_MAX_URLS]; /* links, text order, then given */
    size_t nurls;
    const hb_url_verdict *fraud_link;       /* the link that made it fraud, or NULL */
    hb_brand_hit brand_hits[HB_MAX_BRANDS]; /* where brands are named */
    size_t nbrand_hits;
    hb_brand_assessment brands[HB_MAX_BRANDS]; /* one per named brand */
    size_t nbrands;
    const char *brand_numbers[HB_MAX_ENTITIES]; /* the numbers assessed
                                                   (hb_brand_assessment.item
                                                   with cause NUMBER) */
    size_t nbrand_numbers;
    int script;                     /* HB_SCRIPT_* of the text */
    const hb_task_result *headline; /* hb_verdict_headline */
} hb_verdict;

/* A feature that pushed a task's decision, for explanations. */
typedef struct hb_contribution {
    double weight;       /* model weight x feature value */
    uint32_t start, len; /* code points of the normalised text; len 0 for
                            a named feature */
    const char *name;    /* named feature ("rule:...", "entity:url") or NULL */
} hb_contribution;

hb_session *hb_session_new(void);
void hb_session_free(hb_session *session);

/* Classify len bytes of raw UTF-8 text.  Returns 0 and sets *out, or
 * HB_EUTF8, HB_EEMPTY (nothing left after normalisation), HB_ETOOBIG or
 * HB_ENOMEM with err.  After warm-up it allocates nothing (linear models). */
int hb_classify(const hb_engine *engine, hb_session *session, const char *text,
                size_t len, const hb_verdict **out, hb_error *err);

/* hb_classify with links given beside the text (urls[i], lens[i]), as the
 * service's "urls" field carries them; a link that does not parse is
 * skipped (it cannot be followed either). */
int hb_classify_with_urls(const hb_engine *engine, hb_session *session, const char *text,
                          size_t len, const char *const *urls, const size_t *lens,
                          size_t nurls, const hb_verdict **out, hb_error *err);

/* Score one link alone with the URL model (for `hubao eval` of URL models
 * and `hubao train --task url`): fills *out.  HB_EINVAL if it does not
 * parse, HB_ENOTFOUND without a URL model (out->probability is then -1). */
int hb_classify_url(const hb_engine *engine, hb_session *session, const char *url,
                    size_t len, hb_url_verdict *out, hb_error *err);

/* The feature vector of one link, for training URL models. */
int hb_featurize_url(const hb_engine *engine, hb_session *session,
                     const hb_feature_config *cfg, const char *url, size_t len,
                     const hb_fvec **out, hb_error *err);

/* Run the pipeline up to the feature vector for cfg (normalise, rules,
 * entities, features) - what training uses, so training and scoring can
 * never extract differently.  The vector is valid until the next call. */
int hb_featurize(const hb_engine *engine, hb_session *session,
                 const hb_feature_config *cfg, const char *text, size_t len,
                 const hb_fvec **out, hb_error *err);

/* HB_SCRIPT_* of the last message analysed. */
int hb_session_script(const hb_session *session);

/* Sum of the weights of the rules of task that fired on the last message
 * analysed by hb_classify or hb_featurize. */
double hb_session_rule_weight(const hb_engine *engine, const hb_session *session,
                              const char *task);

/* The k strongest contributions (largest |weight|, sign kept) to task
 * ti of the last verdict, leaving out n-grams with fewer than two letters,
 * digits or CJK characters (they explain nothing to a person); returns how
 * many were written (0 also when memory runs out).  Only positive
 * contributions are returned when positive_only is set. */
size_t hb_explain(hb_session *session, size_t ti, int positive_only, hb_contribution *out,
                  size_t k);

/* Entities and rule hits know normalised byte offsets; this maps them to
 * code point offsets in the caller's original text (for highlighting). */
void hb_session_source_span(const hb_session *session, uint32_t start, uint32_t end,
                            size_t *cp_start, size_t *cp_end);

/* The headline of a verdict: the task that matters most to a person, in
 * the catalogue's headline order (catalog.h; the shipped tasks.tsv: fraud
 * at the possible tier or above, then a likely rumour, then likely spam),
 * then any other positive task in model order; NULL when none.  A
 * possible scam therefore never reads "advertising" or "no fraud signs". */
const hb_task_result *hb_verdict_headline(const hb_verdict *v);

/* The reply's "verdict": the headline task's name, "possible_fraud" when
 * the headline is fraud at the possible tier, or "clean". */
const char *hb_verdict_name(const hb_verdict *v);

#endif
