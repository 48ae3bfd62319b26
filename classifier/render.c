/*
 * render.c - verdicts as people and programs read them: the headline
 * sentence and the reply JSON (see render.h).
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

hb_render_options hb_render_defaults(void)
{
    return (hb_render_options){.unmask = 0, .top_features = 5, .detail = HB_DETAIL_FULL};
}

/* Append s (NULL: nothing) to out[0..n) within cap bytes, one kept for
 * the NUL fill writes last; the new length. */
static size_t put_str(char *out, size_t cap, size_t n, const char *s)
{
    while (s && *s && n + 1 < cap)
        out[n++] = *s++;
    return n;
}

/* Write template (catalog.h) into out (cap bytes, NUL-terminated): {pct}
 * as pct, a [...] part only when type_name is given, {type} as it. */
static void fill(const char *template, const char *type_name, int pct, char *out,
                 size_t cap)
{
    size_t n = 0;
    int skipping = 0;
    for (const char *p = template; *p && n + 1 < cap; p++) {
        if (*p == '[') {
            skipping = !type_name;
        } else if (*p == ']') {
            skipping = 0;
        } else if (skipping) {
            continue;
        } else if (strncmp(p, "{pct}", 5) == 0) {
            char num[16];
            snprintf(num, sizeof num, "%d", pct);
            n = put_str(out, cap, n, num);
            p += 4;
        } else if (strncmp(p, "{type}", 6) == 0) {
            n = put_str(out, cap, n, type_name);
            p += 5;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

void hb_verdict_summary(const hb_engine *e, const hb_verdict *v, const char *lang,
                        char *out, size_t cap)
{
    if (cap == 0)
        return;
    int zh = lang && strcmp(lang, "zh") == 0;
    const hb_catalog *cat = hb_engine_catalog(e);
    const hb_task_result *h = hb_verdict_headline(v);
    const hb_task_info *t = hb_catalog_task(cat, h ? h->task : "clean");
    int pct = h ? (int)(h->probability * 100 + 0.5) : 0;
    if (!t) { /* a task the catalogue does not word */
        if (h)
            snprintf(out, cap, zh ? "疑似%s（%d%%）" : "Likely %s (%d%%)", h->label, pct);
        else
            snprintf(out, cap, "%s", zh ? "未发现可疑迹象" : "Nothing suspicious found");
        return;
    }
    const hb_type_info *type = h ? hb_catalog_find(cat, h->type) : NULL;
    const char *type_name = type ? (zh ? type->name_zh : type->name_en) : NULL;
    const char *template = zh ? t->likely_zh : t->likely_en;
    if (h && h->tier == HB_TIER_POSSIBLE && t->possible_en)
        template = zh ? t->possible_zh : t->possible_en;
    fill(template, type_name, pct, out, cap);
}

static int is_private(hb_entity_kind k)
{
    return k == HB_ENTITY_PHONE || k == HB_ENTITY_ACCOUNT || k == HB_ENTITY_HANDLE;
}

/* Append n bytes to out[*used], keeping room for the NUL (what does not
 * fit is cut at a character boundary). */
static void put(char *out, size_t cap, size_t *used, const char *s, size_t n)
{
    if (*used + n >= cap) {
        n = cap - 1 - *used;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* never split a character: the excerpt stays UTF-8 */
    }
    memcpy(out + *used, s, n);
    *used += n;
    out[*used] = '\0';
}

size_t hb_masked_excerpt(const hb_verdict *v, uint32_t start, uint32_t end, char *out,
                         size_t cap)
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
            size_t n = hb_entity_mask(ent->kind, text + ent->start, ent->end - ent->start,
                                      masked, sizeof masked);
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

static json_t *rule_evidence(const hb_engine *e, const hb_session *s, const hb_verdict *v,
                             const char *task, const hb_render_options *opt)
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
        /* every string here is valid UTF-8 by construction: skip the check */
        json_t *r = json_object();
        json_object_set_new_nocheck(r, "id", json_string_nocheck(info->id));
        json_object_set_new_nocheck(r, "type", json_string_nocheck(info->type));
        json_object_set_new_nocheck(r, "weight", json_real(info->weight));
        json_object_set_new_nocheck(r, "description",
                                    json_string_nocheck(info->description));
        if (info->description_zh && *info->description_zh)
            json_object_set_new_nocheck(r, "description_zh",
                                        json_string_nocheck(info->description_zh));
        json_object_set_new_nocheck(r, "match", json_string_nocheck(match));
        json_object_set_new_nocheck(r, "start", json_integer((json_int_t)cs));
        json_object_set_new_nocheck(r, "end", json_integer((json_int_t)ce));
        json_array_append_new(rules, r);
    }
    return rules;
}

/* Longest n-gram shown as evidence, in characters: MAX_FEATURE_CPS of at
 * most 4 bytes and the ellipsis fit the buffer of feature_evidence. */
enum { MAX_FEATURE_CPS = 32 };

static json_t *feature_evidence(hb_session *s, const hb_verdict *v, size_t ti,
                                const hb_render_options *opt)
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
            /* a word n-gram of Chinese can be a whole clause: show at
             * most MAX_FEATURE_CPS characters of it, cut between two */
            const hb_text *t = v->text;
            uint32_t cps = top[i].len, cut = cps > MAX_FEATURE_CPS;
            if (cut)
                cps = MAX_FEATURE_CPS;
            uint32_t a = t->cp_byte[top[i].start];
            uint32_t b = t->cp_byte[top[i].start + cps];
            size_t len = b - a;
            memcpy(text, t->utf8 + a, len);
            if (cut)
                memcpy(text + len, "…", sizeof "…"); /* NUL included */
            else
                text[len] = '\0';
            /* n-grams read digits as 0: never echo real digits */
            for (char *c = text; *c; c++)
                if (*c >= '0' && *c <= '9')
                    *c = '0';
        }
        json_t *f = json_object();
        json_object_set_new_nocheck(f, "feature", json_string_nocheck(text));
        json_object_set_new_nocheck(
            f, "kind",
            json_string_nocheck(!top[i].name                              ? "ngram"
                                : strncmp(top[i].name, "entity:", 7) == 0 ? "entity"
                                : strncmp(top[i].name, "url:", 4) == 0    ? "url"
                                                                          : "rule"));
        json_object_set_new_nocheck(f, "weight", json_real(top[i].weight));
        json_array_append_new(features, f);
    }
    return features;
}

/* "rules": the ids of the task's rules that fired (brief replies). */
static json_t *rule_ids(const hb_engine *e, const hb_verdict *v, const char *task)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < v->nhits; i++) {
        const hb_rule_info *info = hb_rules_info(hb_engine_rules(e), v->hits[i].rule);
        if (strcmp(info->task, task) == 0)
            json_array_append_new(ids, json_string_nocheck(info->id));
    }
    return ids;
}

static json_t *task_json(const hb_engine *e, hb_session *s, const hb_verdict *v, size_t i,
                         const hb_render_options *opt)
{
    const hb_task_result *r = &v->tasks[i];
    int brief = opt->detail == HB_DETAIL_BRIEF;
    json_t *t = json_object();
    json_object_set_new_nocheck(t, "label", json_string_nocheck(r->label));
    json_object_set_new_nocheck(t, "positive", json_boolean(r->positive));
    json_object_set_new_nocheck(t, "tier", json_string_nocheck(hb_tier_name(r->tier)));
    json_object_set_new_nocheck(t, "possible", json_boolean(r->tier >= HB_TIER_POSSIBLE));
    json_object_set_new_nocheck(t, "probability", json_real(r->probability));
    if (!brief) {
        json_object_set_new_nocheck(t, "threshold", json_real(r->threshold));
        json_object_set_new_nocheck(t, "possible_threshold",
                                    json_real(r->possible_threshold));
    }
    json_object_set_new_nocheck(t, "type",
                                r->type ? json_string_nocheck(r->type) : json_null());
    const char *type_by = hb_type_source_name(r->type_by);
    json_object_set_new_nocheck(t, "type_by",
                                type_by ? json_string_nocheck(type_by) : json_null());
    json_object_set_new_nocheck(t, "by_link", json_boolean(r->by_link));
    if (brief) {
        json_object_set_new_nocheck(t, "rules", rule_ids(e, v, r->task));
        return t;
    }
    json_object_set_new_nocheck(t, "model",
                                json_string_nocheck(hb_model_version(r->model)));
    json_t *evidence = json_object();
    json_object_set_new_nocheck(evidence, "rules", rule_evidence(e, s, v, r->task, opt));
    /* the words that pushed a verdict explain a likely or possible one;
     * for a negative task the rules (some of them exonerating) say enough */
    json_object_set_new_nocheck(
        evidence, "features",
        r->tier >= HB_TIER_POSSIBLE ? feature_evidence(s, v, i, opt) : json_array());
    json_object_set_new_nocheck(t, "evidence", evidence);
    return t;
}

static json_t *entities_json(const hb_session *s, const hb_verdict *v,
                             const hb_render_options *opt)
{
    json_t *ents = json_array();
    for (size_t i = 0; i < v->nentities; i++) {
        const hb_entity *x = &v->entities[i];
        char text[512];
        if (opt->unmask)
            snprintf(text, sizeof text, "%.*s", (int)(x->end - x->start),
                     v->text->utf8 + x->start);
        else
            hb_entity_mask(x->kind, v->text->utf8 + x->start, x->end - x->start, text,
                           sizeof text);
        size_t cs = 0, ce = 0;
        hb_session_source_span(s, x->start, x->end, &cs, &ce);
        json_array_append_new(ents,
                              json_pack("{s:s, s:s, s:I, s:I}", "kind",
                                        hb_entity_kind_name(x->kind), "text", text,
                                        "start", (json_int_t)cs, "end", (json_int_t)ce));
    }
    return ents;
}

static json_t *link_json(const hb_session *s, const hb_verdict *v,
                         const hb_url_verdict *u, const hb_render_options *opt)
{
    int brief = opt->detail == HB_DETAIL_BRIEF;
    json_t *j = json_object();
    json_object_set_new(j, "url", json_string(u->url.url));
    if (!brief)
        json_object_set_new(j, "host", json_string(u->url.host));
    json_object_set_new(j, "domain", json_string(u->url.domain));
    json_object_set_new(j, "malicious", json_boolean(u->malicious));
    json_object_set_new(j, "probability",
                        u->probability < 0 ? json_null() : json_real(u->probability));
    json_object_set_new(j, "listed",
                        u->listed ? json_string(hb_block_match_name(u->listed))
                                  : json_null());
    if (brief)
        return j;
    json_object_set_new(j, "feed", u->feed ? json_string(u->feed) : json_null());
    json_object_set_new(j, "decided_fraud", json_boolean(u == v->fraud_link));
    if (u->from_text) {
        size_t cs = 0, ce = 0;
        hb_session_source_span(s, u->start, u->end, &cs, &ce);
        json_object_set_new(j, "start", json_integer((json_int_t)cs));
        json_object_set_new(j, "end", json_integer((json_int_t)ce));
    }
    return j;
}

/* "brands": each brand the message names and what its links and numbers
 * say (verdict.h); full replies add the names, where it is named and a
 * sentence a person can read out. */
static json_t *brands_json(const hb_engine *e, const hb_session *s, const hb_verdict *v,
                           const hb_render_options *opt)
{
    json_t *out = json_array();
    for (size_t i = 0; i < v->nbrands; i++) {
        const hb_brand_assessment *a = &v->brands[i];
        const hb_brand_info *b = hb_brands_info(hb_engine_brands(e), a->brand);
        json_t *j = json_pack("{s:s, s:s}", "id", b->id, "status",
                              hb_brand_status_name(a->status));
        json_array_append_new(out, j);
        if (opt->detail == HB_DETAIL_BRIEF)
            continue;
        const hb_brand_hit *hit = &v->brand_hits[a->hit];
        size_t cs = 0, ce = 0;
        hb_session_source_span(s, hit->start, hit->end, &cs, &ce);
        char what[128] = "", en[512], zh[512];
        if (a->cause == HB_BRAND_CAUSE_LINK) {
            snprintf(what, sizeof what, "%s", v->urls[a->item].url.domain);
            json_object_set_new(j, "link", json_string(what));
        } else if (a->cause == HB_BRAND_CAUSE_NUMBER) {
            const char *num = v->brand_numbers[a->item];
            if (opt->unmask)
                snprintf(what, sizeof what, "%s", num);
            else
                hb_entity_mask(HB_ENTITY_PHONE, num, strlen(num), what, sizeof what);
            json_object_set_new(j, "number", json_string(what));
        }
        if (a->status == HB_BRAND_IMPERSONATION) {
            int link = a->cause == HB_BRAND_CAUSE_LINK;
            snprintf(en, sizeof en, "Names %s, but %s is not one of its %s", b->name_en,
                     what, link ? "websites" : "service numbers");
            snprintf(zh, sizeof zh, "自称%s，但%s不是其官方%s", b->name_zh, what,
                     link ? "网址" : "号码");
        } else if (a->status == HB_BRAND_OFFICIAL) {
            snprintf(en, sizeof en, "Names %s and uses only its official channels",
                     b->name_en);
            snprintf(zh, sizeof zh, "提到%s，只使用其官方网址或号码", b->name_zh);
        } else {
            snprintf(en, sizeof en, "Names %s", b->name_en);
            snprintf(zh, sizeof zh, "提到%s", b->name_zh);
        }
        json_object_set_new(j, "name",
                            json_pack("{s:s, s:s}", "en", b->name_en, "zh", b->name_zh));
        json_object_set_new(j, "kind", json_string(hb_brand_kind_name(b->kind)));
        json_object_set_new(j, "start", json_integer((json_int_t)cs));
        json_object_set_new(j, "end", json_integer((json_int_t)ce));
        json_object_set_new(j, "reason", json_pack("{s:s, s:s}", "en", en, "zh", zh));
    }
    return out;
}

/* Add the members of the verdict to root (which may already hold "id"). */
void hb_verdict_render(json_t *root, const hb_engine *e, hb_session *s,
                       const hb_verdict *v, const hb_render_options *opt)
{
    int brief = opt->detail == HB_DETAIL_BRIEF;
    const hb_task_result *head = hb_verdict_headline(v);
    json_object_set_new(root, "verdict", json_string(hb_verdict_name(v)));
    if (!brief) {
        char en[256], zh[256];
        hb_verdict_summary(e, v, "en", en, sizeof en);
        hb_verdict_summary(e, v, "zh", zh, sizeof zh);
        json_object_set_new(root, "summary", json_pack("{s:s, s:s}", "en", en, "zh", zh));
        /* a possible scam of no known type gets the general advice */
        const char *type = NULL;
        if (head && strcmp(head->task, "fraud") == 0)
            type = head->type                       ? head->type
                   : head->tier == HB_TIER_POSSIBLE ? "other"
                                                    : NULL;
        const hb_type_info *ti = hb_catalog_find(hb_engine_catalog(e), type);
        if (ti)
            json_object_set_new(
                root, "advice",
                json_pack("{s:s, s:s}", "en", ti->advice_en, "zh", ti->advice_zh));
    }
    json_t *tasks = json_object();
    json_object_set_new(root, "tasks", tasks);
    for (size_t i = 0; i < v->ntasks; i++)
        json_object_set_new_nocheck(tasks, v->tasks[i].task, task_json(e, s, v, i, opt));
    if (!brief)
        json_object_set_new(root, "entities", entities_json(s, v, opt));
    json_t *links = json_array();
    for (size_t i = 0; i < v->nurls; i++)
        json_array_append_new(links, link_json(s, v, &v->urls[i], opt));
    json_object_set_new(root, "urls", links);
    if (v->nbrands || !brief)
        json_object_set_new(root, "brands", brands_json(e, s, v, opt));
    if (!brief || v->rules_limited)
        json_object_set_new(root, "rules_limited",
                            json_integer((json_int_t)v->rules_limited));
}

json_t *hb_verdict_to_json(const hb_engine *e, hb_session *s, const hb_verdict *v,
                           const hb_render_options *opt)
{
    json_t *root = json_object();
    if (root)
        hb_verdict_render(root, e, s, v, opt);
    return root;
}

json_t *hb_engine_versions_json(const hb_engine *e)
{
    json_t *m = json_object();
    for (size_t i = 0; m && i < hb_engine_ntasks(e); i++) {
        const hb_model *model = hb_engine_model(e, i);
        json_object_set_new(m, hb_model_task(model),
                            json_string(hb_model_version(model)));
    }
    const hb_model *url = hb_engine_url_model(e);
    if (m && url)
        json_object_set_new(m, hb_model_task(url), json_string(hb_model_version(url)));
    const hb_blocklist *bl = hb_engine_blocklist(e);
    for (size_t i = 0; m && bl && i < hb_blocklist_feed_count(bl); i++) {
        const hb_feed_info *f = hb_blocklist_feed(bl, i);
        char key[300], value[128], stamp[32];
        struct tm tm;
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&f->updated, &tm));
        snprintf(key, sizeof key, "feed:%s", f->name);
        snprintf(value, sizeof value, "updated %s, %zu entries", stamp, f->entries);
        json_object_set_new(m, key, json_string(value));
    }
    return m;
}
