/*
 * protocol.h - the JSON shape of requests, verdicts and errors, shared by
 * `hubao check --json`, the ZeroMQ service and the HTTP API so that every
 * front end speaks exactly the same language (docs/protocol.md).
 *
 * Personal data: phone, account numbers and messenger handles are masked in
 * everything rendered here unless the caller explicitly asks otherwise.
 */
#ifndef HB_PROTOCOL_H
#define HB_PROTOCOL_H

#include <jansson.h>

#include "verdict.h"

typedef struct hb_render_options {
    int unmask;        /* 1: show phone/account numbers in clear */
    int top_features;  /* strongest n-grams listed per task (0 = none) */
} hb_render_options;

hb_render_options hb_render_defaults(void);

/* The headline of a verdict: the positive task that matters most to a
 * person (fraud, then rumour, then spam, then any other task in model
 * order), or NULL when no task is positive. */
const hb_task_result *hb_verdict_headline(const hb_verdict *v);

/* The sentence a hotline worker reads out, in lang "en" or "zh" (anything
 * else means "en"): "Likely fraud: impersonating police or government
 * (97%)", "Advertising, not fraud (88%)", "Likely rumour (80%)", "No fraud
 * signs found".  Writes at most cap bytes (NUL-terminated) to out. */
void hb_verdict_summary(const hb_engine *engine, const hb_verdict *verdict,
                        const char *lang, char *out, size_t cap);

/* Render the session's last verdict as a new JSON object (caller owns it):
 *   { "verdict": "fraud"|"spam"|"rumour"|...|"clean",
 *     "summary": {"en": ..., "zh": ...},
 *     "advice": {"en": ..., "zh": ...}      (when the fraud type has advice)
 *     "tasks": { "<task>": { "label", "positive", "probability",
 *                "threshold", "type", "model", "evidence": { "rules": [...],
 *                "features": [...] } } },
 *     "entities": [ { "kind", "text", "start", "end" } ],
 *     "rules_limited": n }
 * Spans ("start", "end") are code point offsets in the text as submitted.
 * NULL only on allocation failure. */
json_t *hb_verdict_to_json(const hb_engine *engine, const hb_session *session,
                           const hb_verdict *verdict,
                           const hb_render_options *opt);

/* {"error": {"code": "<hb_err_name>", "message": message}}, with "id" first
 * when id is not NULL (a borrowed reference, copied). */
json_t *hb_error_to_json(const json_t *id, int code, const char *message);

/* Copy len bytes of normalised text starting at byte start into out (cap
 * bytes, NUL-terminated), masking the digits of any phone, account or
 * handle entity of the verdict that overlaps the range. */
size_t hb_masked_excerpt(const hb_verdict *verdict, uint32_t start,
                         uint32_t end, char *out, size_t cap);

#endif
