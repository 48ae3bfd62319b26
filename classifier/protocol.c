/*
 * protocol.c - JSON rendering of verdicts and errors (see protocol.h).
 */
#include "protocol.h"

#include <stdio.h>
#include <string.h>

static const char *const HEADLINE_ORDER[] = {"fraud", "rumour", "spam"};

hb_render_options hb_render_defaults(void)
{
    return (hb_render_options){.unmask = 0, .top_features = 5};
}

const hb_task_result *hb_verdict_headline(const hb_verdict *v)
{
    for (size_t o = 0; o < sizeof HEADLINE_ORDER / sizeof HEADLINE_ORDER[0]; o++)
        for (size_t i = 0; i < v->ntasks; i++)
            if (v->tasks[i].positive &&
                strcmp(v->tasks[i].task, HEADLINE_ORDER[o]) == 0)
                return &v->tasks[i];
    for (size_t i = 0; i < v->ntasks; i++)
        if (v->tasks[i].positive)
            return &v->tasks[i];
    return NULL;
}

void hb_verdict_summary(const hb_engine *e, const hb_verdict *v,
                        const char *lang, char *out, size_t cap)
{
    int zh = lang && strcmp(lang, "zh") == 0;
    const hb_task_result *h = hb_verdict_headline(v);
    int pct = h ? (int)(h->probability * 100 + 0.5) : 0;
    if (!h) {
        snprintf(out, cap, "%s", zh ? "未发现诈骗迹象" : "No fraud signs found");
    } else if (strcmp(h->task, "fraud") == 0) {
        const hb_type_info *t = hb_catalog_find(hb_engine_catalog(e), h->type);
        if (t)
            snprintf(out, cap, zh ? "疑似诈骗：%s（%d%%）" : "Likely fraud: %s (%d%%)",
                     zh ? t->name_zh : t->name_en, pct);
        else
            snprintf(out, cap, zh ? "疑似诈骗（%d%%）" : "Likely fraud (%d%%)", pct);
    } else if (strcmp(h->task, "spam") == 0) {
        snprintf(out, cap, zh ? "广告推销，不是诈骗（%d%%）" : "Advertising, not fraud (%d%%)",
                 pct);
    } else if (strcmp(h->task, "rumour") == 0) {
        snprintf(out, cap, zh ? "疑似谣言（%d%%）" : "Likely rumour (%d%%)", pct);
    } else {
        snprintf(out, cap, zh ? "疑似%s（%d%%）" : "Likely %s (%d%%)", h->label, pct);
    }
}

static int is_private(hb_entity_kind k)
{
    return k == HB_ENTITY_PHONE || k == HB_ENTITY_ACCOUNT || k == HB_ENTITY_HANDLE;
}

/* Append n bytes to out[*used], keeping room for the NUL. */
static void put(char *out, size_t cap, size_t *used, const char *s, size_t n)
{
    if (*used + n >= cap)
        n = cap - 1 - *used;
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
}

size_t hb_masked_excerpt(const hb_verdict *v, uint32_t start, uint32_t end,
                         char *out, size_t cap)
{
    const char *text = v->text->utf8;
    size_t used = 0;
    out[0] = '\0';
    if (cap == 0)
        return 0;
    uint32_t p = start;
    while (p < end) {
        const hb_entity *ent = NULL;
        for (size_t i = 0; i < v->nentities; i++) {
            const hb_entity *x = &v->entities[i];
            if (is_private(x->kind) && x->start <= p && p < x->end) {
                ent = x;
                break;
            }
        }
        if (!ent) {
            /* copy up to the next private entity */
            uint32_t next = end;
            for (size_t i = 0; i < v->nentities; i++) {
                const hb_entity *x = &v->entities[i];
                if (is_private(x->kind) && x->start > p && x->start < next)
                    next = x->start;
            }
            put(out, cap, &used, text + p, next - p);
            p = next;
        } else if (ent->start == p && ent->end <= end) {
            char masked[256];
            size_t n = hb_entity_mask(ent->kind, text + ent->start,
                                      ent->end - ent->start, masked,
                                      sizeof masked);
            put(out, cap, &used, masked, n);
            p = ent->end;
        } else {
            /* the range cuts the entity: hide every digit of the overlap */
            uint32_t stop = ent->end < end ? ent->end : end;
            for (; p < stop; p++) {
                char c = text[p];
                put(out, cap, &used, (c >= '0' && c <= '9') ? "*" : &text[p], 1);
            }
        }
    }
    return used;
}

static json_t *rule_evidence(const hb_engine *e, const hb_session *s,
                             const hb_verdict *v, const char *task,
                             const hb_render_options *opt)
{
    json_t *rules = json_array();
    for (size_t i = 0; i < v->nhits; i++) {
        const hb_rule_hit *h = &v->hits[i];
        const hb_rule_info *info = hb_rules_info(hb_engine_rules(e), h->rule);
        if (strcmp(info->task, task) != 0)
            continue;
        char match[512];
        if (opt->unmask) {
            size_t n = h->end - h->start;
            if (n >= sizeof match)
                n = sizeof match - 1;
            memcpy(match, v->text->utf8 + h->start, n);
            match[n] = '\0';
        } else {
            hb_masked_excerpt(v, h->start, h->end, match, sizeof match);
        }
        size_t cs = 0, ce = 0;
        hb_session_source_span(s, h->start, h->end, &cs, &ce);
        json_array_append_new(
            rules, json_pack("{s:s, s:s, s:f, s:s, s:s, s:I, s:I}", "id",
                             info->id, "type", info->type, "weight",
                             info->weight, "description", info->description,
                             "match", match, "start", (json_int_t)cs, "end",
                             (json_int_t)ce));
    }
    return rules;
}

static json_t *feature_evidence(const hb_session *s, const hb_verdict *v,
                                size_t ti, const hb_render_options *opt)
{
    json_t *features = json_array();
    hb_contribution top[32];
    size_t k = opt->top_features < 32 ? (size_t)opt->top_features : 32;
    size_t n = hb_explain(s, ti, 1, top, k);
    for (size_t i = 0; i < n; i++) {
        char text[256];
        if (top[i].name) {
            snprintf(text, sizeof text, "%s", top[i].name);
        } else {
            const hb_text *t = v->text;
            uint32_t a = t->cp_byte[top[i].start];
            uint32_t b = t->cp_byte[top[i].start + top[i].len];
            size_t len = b - a < sizeof text - 1 ? b - a : sizeof text - 1;
            memcpy(text, t->utf8 + a, len);
            text[len] = '\0';
            /* n-grams read digits as 0: never echo real digits */
            for (char *c = text; *c; c++)
                if (*c >= '0' && *c <= '9')
                    *c = '0';
        }
        json_array_append_new(features, json_pack("{s:s, s:f}", "feature", text,
                                                  "weight", top[i].weight));
    }
    return features;
}

json_t *hb_verdict_to_json(const hb_engine *e, const hb_session *s,
                           const hb_verdict *v, const hb_render_options *opt)
{
    const hb_task_result *head = hb_verdict_headline(v);
    json_t *root = json_object();
    json_t *tasks = json_object();
    json_object_set_new(root, "verdict", json_string(head ? head->task : "clean"));
    char en[256], zh[256];
    hb_verdict_summary(e, v, "en", en, sizeof en);
    hb_verdict_summary(e, v, "zh", zh, sizeof zh);
    json_object_set_new(root, "summary", json_pack("{s:s, s:s}", "en", en, "zh", zh));
    const hb_type_info *ti = head && strcmp(head->task, "fraud") == 0
                                 ? hb_catalog_find(hb_engine_catalog(e), head->type)
                                 : NULL;
    if (ti)
        json_object_set_new(root, "advice", json_pack("{s:s, s:s}", "en", ti->advice_en,
                                                      "zh", ti->advice_zh));
    json_object_set_new(root, "tasks", tasks);
    for (size_t i = 0; i < v->ntasks; i++) {
        const hb_task_result *r = &v->tasks[i];
        json_t *t = json_pack(
            "{s:s, s:b, s:f, s:f, s:o, s:s, s:{s:o, s:o}}", "label", r->label,
            "positive", r->positive, "probability", r->probability, "threshold",
            hb_model_threshold(r->model), "type",
            r->type ? json_string(r->type) : json_null(), "model",
            hb_model_version(r->model), "evidence", "rules",
            rule_evidence(e, s, v, r->task, opt), "features",
            feature_evidence(s, v, i, opt));
        json_object_set_new(tasks, r->task, t);
    }
    json_t *ents = json_array();
    for (size_t i = 0; i < v->nentities; i++) {
        const hb_entity *x = &v->entities[i];
        char text[512];
        if (opt->unmask)
            snprintf(text, sizeof text, "%.*s", (int)(x->end - x->start),
                     v->text->utf8 + x->start);
        else
            hb_entity_mask(x->kind, v->text->utf8 + x->start, x->end - x->start,
                           text, sizeof text);
        size_t cs = 0, ce = 0;
        hb_session_source_span(s, x->start, x->end, &cs, &ce);
        json_array_append_new(ents, json_pack("{s:s, s:s, s:I, s:I}", "kind",
                                              hb_entity_kind_name(x->kind),
                                              "text", text, "start",
                                              (json_int_t)cs, "end",
                                              (json_int_t)ce));
    }
    json_object_set_new(root, "entities", ents);
    json_object_set_new(root, "rules_limited", json_integer((json_int_t)v->rules_limited));
    return root;
}

json_t *hb_error_to_json(const json_t *id, int code, const char *message)
{
    json_t *root = json_object();
    if (id)
        json_object_set_new(root, "id", json_deep_copy(id));
    json_object_set_new(root, "error", json_pack("{s:s, s:s}", "code",
                                                 hb_err_name(code), "message",
                                                 message));
    return root;
}
