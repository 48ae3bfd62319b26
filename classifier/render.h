/*
 * render.h - a verdict as people and programs read it: the sentence a
 * hotline worker reads out and the reply JSON every front end sends
 * (`hubao check --json`, the ZeroMQ service, the HTTP API; the shape is
 * docs/protocol.md).
 *
 * Personal data: phone, account numbers and messenger handles are masked in
 * everything rendered here unless the caller explicitly asks otherwise.
 */
#ifndef HB_RENDER_H
#define HB_RENDER_H

#include <jansson.h>

#include "verdict.h"

/* How every front end serialises verdicts: compact, and six significant
 * digits for probabilities and weights (what a person or a threshold can
 * use; the full 17 cost time and bytes on every reply). */
#define HB_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(6))

/* How much of a verdict a reply carries.  Full is what a person reads
 * (summary, advice, evidence with matches and strongest n-grams,
 * entities); brief is what a platform acting on a stream needs: per task
 * label, probability, type, by_link and the ids of the rules that fired,
 * and per link its url, domain, verdict and blocklist match. */
typedef enum hb_detail { HB_DETAIL_FULL, HB_DETAIL_BRIEF } hb_detail;

typedef struct hb_render_options {
    int unmask;       /* 1: show phone/account numbers in clear */
    int top_features; /* strongest n-grams listed per task (0 = none) */
    hb_detail detail;
} hb_render_options;

hb_render_options hb_render_defaults(void);

/* The sentence a hotline worker reads out, in lang "en" or "zh" (anything
 * else means "en"): "Likely fraud: impersonating police or government
 * (97%)", "Possibly fraud: verify before acting: fake customer service
 * (62%)", "Advertising, not fraud (88%)", "Likely rumour (80%)", "No fraud
 * signs found".  Writes at most cap bytes (NUL-terminated) to out. */
void hb_verdict_summary(const hb_engine *engine, const hb_verdict *verdict,
                        const char *lang, char *out, size_t cap);

/* Render the session's last verdict as a new JSON object (caller owns it);
 * with opt->detail HB_DETAIL_FULL:
 *   { "verdict": "fraud"|"possible_fraud"|"spam"|"rumour"|...|"clean",
 *     "summary": {"en": ..., "zh": ...},
 *     "advice": {"en": ..., "zh": ...}      (when the fraud type has advice;
 *                                            a possible scam of no type gets
 *                                            the "other" type's)
 *     "tasks": { "<task>": { "label", "positive", "tier" ("likely",
 *                "possible", "none"), "possible", "probability",
 *                "threshold", "possible_threshold", "type", "by_link", "model",
 *                "evidence": { "rules": [...], "features": [...] } } },
 *     ("features": the strongest features of positive tasks, each
 *      {"feature", "kind": "ngram"|"rule"|"entity"|"url", "weight"})
 *     "entities": [ { "kind", "text", "start", "end" } ],
 *     "urls": [ { "url", "host", "domain", "probability" (null without a
 *                 URL model), "malicious", "listed" ("url", "host",
 *                 "domain" or null), "feed", "decided_fraud",
 *                 "start", "end" (links found in the text) } ],
 *     "rules_limited": n }
 * Spans ("start", "end") are code point offsets in the text as submitted.
 * HB_DETAIL_BRIEF keeps "verdict", "tasks" (without the thresholds and
 * "model", with "rules": [rule ids] instead of "evidence"), "urls" (url,
 * domain, malicious, probability, listed) and "rules_limited" when not 0.
 * NULL only on allocation failure. */
json_t *hb_verdict_to_json(const hb_engine *engine, hb_session *session,
                           const hb_verdict *verdict, const hb_render_options *opt);

/* hb_verdict_to_json's members, added to root, an object that may already
 * hold some (a reply's "id", which so stays first). */
void hb_verdict_render(json_t *root, const hb_engine *engine, hb_session *session,
                       const hb_verdict *verdict, const hb_render_options *opt);

/* {"task": "version", ..., "url": "version", "feed:NAME": "updated TIME,
 * N entries"}: what answers with this engine, so a reply can be traced to
 * its models and feeds.  New reference; NULL on allocation failure. */
json_t *hb_engine_versions_json(const hb_engine *engine);

/* Copy len bytes of normalised text starting at byte start into out (cap
 * bytes, NUL-terminated), masking the digits of any phone, account or
 * handle entity of the verdict that overlaps the range. */
size_t hb_masked_excerpt(const hb_verdict *verdict, uint32_t start, uint32_t end,
                         char *out, size_t cap);

#endif
