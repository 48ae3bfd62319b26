/*
 * verdict.c - the message pipeline (see verdict.h).
 *
 * Tasks whose models share a feature configuration share one feature
 * vector, so three models trained with the defaults cost one extraction.
 */
#include "verdict.h"

#include "urlfeatures.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

struct hb_session {
    hb_text text;
    hb_rules_scratch *rules;
    hb_entities_scratch *entities;
    hb_fvec fvec[HB_MAX_TASKS];
    float *contrib; /* scratch of a float per entry: what each added
                       (hb_explain), the values the type model reads */
    size_t contrib_cap;
    hb_fvec url_fvec;
    hb_text url_text;
    const char *raw; /* the caller's text of the last message */
    hb_brands_scratch *brands;
    char numbers[HB_MAX_ENTITIES][32]; /* phone numbers, NUL-terminated */
    hb_verdict verdict;
};

static const char *const ENTITY_FEATURE[HB_ENTITY_KINDS] = {
    "entity:url", "entity:phone", "entity:account", "entity:money", "entity:handle",
};

hb_session *hb_session_new(void)
{
    hb_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    hb_text_init(&s->text);
    for (size_t i = 0; i < HB_MAX_TASKS; i++)
        hb_fvec_init(&s->fvec[i]);
    hb_fvec_init(&s->url_fvec);
    hb_text_init(&s->url_text);
    s->rules = hb_rules_scratch_new();
    s->entities = hb_entities_scratch_new();
    s->brands = hb_brands_scratch_new();
    if (!s->rules || !s->entities || !s->brands) {
        hb_session_free(s);
        return NULL;
    }
    return s;
}

void hb_session_free(hb_session *s)
{
    if (!s)
        return;
    hb_text_release(&s->text);
    for (size_t i = 0; i < HB_MAX_TASKS; i++)
        hb_fvec_release(&s->fvec[i]);
    free(s->contrib);
    hb_fvec_release(&s->url_fvec);
    hb_text_release(&s->url_text);
    hb_rules_scratch_free(s->rules);
    hb_entities_scratch_free(s->entities);
    hb_brands_scratch_free(s->brands);
    free(s);
}

/* Normalise, run the rules and find entities: the stages every task and
 * every feature configuration share. */
static int analyse(const hb_engine *e, hb_session *s, const char *text, size_t len,
                   hb_error *err)
{
    hb_verdict *v = &s->verdict;
    v->text = NULL;
    v->ntasks = v->nhits = v->nentities = v->rules_limited = v->nurls = 0;
    v->fraud_link = NULL;
    v->headline = NULL;
    v->nbrand_hits = v->nbrands = v->nbrand_numbers = 0;
    s->raw = text;
    if (len > hb_engine_max_text(e))
        return hb_error_set(err, HB_ETOOBIG, "text is %zu bytes, over the limit of %zu",
                            len, hb_engine_max_text(e));
    int rc = hb_normalize(text, len, &s->text, err);
    if (rc != 0)
        return rc;
    if (s->text.len == 0)
        return hb_error_set(err, HB_EEMPTY,
                            "text is empty (nothing but spaces or invisible "
                            "characters)");
    v->text = &s->text;
    hb_rules_match(hb_engine_rules(e), s->rules, s->text.utf8, s->text.len, v->hits,
                   HB_MAX_HITS, &v->nhits, &v->rules_limited);
    hb_entities_find(hb_engine_entities(e), s->entities, s->text.utf8, s->text.len,
                     v->entities, HB_MAX_ENTITIES, &v->nentities);
    return 0;
}

/* Text features plus the named rule and entity features, into fv. */
static int build_vector(const hb_engine *e, hb_session *s, const hb_feature_config *cfg,
                        hb_fvec *fv)
{
    const hb_verdict *v = &s->verdict;
    if (hb_features_text(cfg, &s->text, fv) != 0)
        return HB_ENOMEM;
    if (cfg->use_rules)
        for (size_t i = 0; i < v->nhits; i++)
            if (hb_fvec_add_named(cfg, fv,
                                  hb_rules_info(hb_engine_rules(e), v->hits[i].rule)->id,
                                  1.0f) != 0)
                return HB_ENOMEM;
    if (cfg->use_entities) {
        unsigned count[HB_ENTITY_KINDS] = {0};
        for (size_t i = 0; i < v->nentities; i++)
            count[v->entities[i].kind]++;
        for (int k = 0; k < HB_ENTITY_KINDS; k++)
            if (count[k] && hb_fvec_add_named(cfg, fv, ENTITY_FEATURE[k],
                                              1.0f + logf((float)count[k])) != 0)
                return HB_ENOMEM;
    }
    return 0;
}

int hb_featurize(const hb_engine *e, hb_session *s, const hb_feature_config *cfg,
                 const char *text, size_t len, const hb_fvec **out, hb_error *err)
{
    int rc = analyse(e, s, text, len, err);
    if (rc != 0)
        return rc;
    if (build_vector(e, s, cfg, &s->fvec[0]) != 0)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    *out = &s->fvec[0];
    return 0;
}

/* The distinct types the task's fired rules of positive weight name, each
 * with their summed weight (at most HB_MAX_HITS). */
static size_t rule_types(const hb_engine *e, const hb_verdict *v, const char *task,
                         const char **types, double *weight)
{
    size_t ntypes = 0;
    for (size_t i = 0; i < v->nhits; i++) {
        const hb_rule_info *info = hb_rules_info(hb_engine_rules(e), v->hits[i].rule);
        if (strcmp(info->task, task) != 0 || info->weight <= 0 || !info->type[0])
            continue;
        size_t t = 0;
        while (t < ntypes && strcmp(types[t], info->type) != 0)
            t++;
        if (t == ntypes) {
            types[ntypes] = info->type;
            weight[ntypes++] = 0.0;
        }
        weight[t] += info->weight;
    }
    return ntypes;
}

/* Sum the task's fired rule weights, and pick the type whose rules weigh
 * most. */
static void score_rules(const hb_engine *e, const hb_verdict *v, hb_task_result *r)
{
    r->rule_weight = 0.0;
    for (size_t i = 0; i < v->nhits; i++) {
        const hb_rule_info *info = hb_rules_info(hb_engine_rules(e), v->hits[i].rule);
        if (strcmp(info->task, r->task) == 0)
            r->rule_weight += info->weight;
    }
    const char *types[HB_MAX_HITS];
    double weight[HB_MAX_HITS];
    size_t ntypes = rule_types(e, v, r->task, types, weight);
    double best = 0.0;
    r->type = NULL;
    for (size_t t = 0; t < ntypes; t++)
        if (weight[t] > best) {
            best = weight[t];
            r->type = types[t];
        }
    r->type_by = r->type ? HB_TYPE_BY_RULES : HB_TYPE_BY_NONE;
}

/* s->contrib with room for a float per entry of fv, or NULL. */
static float *entry_scratch(hb_session *s, const hb_fvec *fv)
{
    if (s->contrib_cap < fv->n) {
        float *c = realloc(s->contrib, fv->cap * sizeof *c);
        if (!c)
            return NULL;
        s->contrib = c;
        s->contrib_cap = fv->cap;
    }
    return s->contrib;
}

/* The type of a likely positive, with its model's type model: when no
 * typed rule fired, the type the model names, if any; when the fired
 * rules name several types, the one of them the model puts first (a
 * romance script that mentions a trading platform fires investment rules
 * too, and weighing the rules cannot tell which frame the scam is in).
 * Only those messages pay for it. */
static int type_by_model(const hb_engine *e, hb_session *s, const hb_model *m,
                         hb_task_result *r)
{
    const hb_type_model *tm = hb_model_types(m);
    const char *types[HB_MAX_HITS];
    double weight[HB_MAX_HITS];
    size_t ntypes = rule_types(e, &s->verdict, r->task, types, weight);
    if (ntypes == 1)
        return 0;
    const hb_fvec *fv = &s->fvec[r->fvec];
    float *values = entry_scratch(s, fv);
    if (!values)
        return HB_ENOMEM;
    hb_model_values(m, fv, values);
    if (ntypes == 0) {
        r->type = hb_type_model_predict(tm, fv, values, NULL);
        r->type_by = r->type ? HB_TYPE_BY_MODEL : HB_TYPE_BY_NONE;
        return 0;
    }
    double margin[HB_TYPE_CLASSES_MAX];
    hb_type_model_margins(tm, fv, values, margin);
    int best = -1;
    for (size_t t = 0; t < ntypes; t++) {
        int k = hb_type_model_index(tm, types[t]);
        if (k < 0) /* a type the model never learnt: the rules' weights decide */
            return 0;
        if (best < 0 || margin[k] > margin[best])
            best = k;
    }
    r->type = hb_type_model_class(tm, (size_t)best);
    return 0;
}

const char *hb_type_source_name(hb_type_source source)
{
    return source == HB_TYPE_BY_RULES   ? "rules"
           : source == HB_TYPE_BY_MODEL ? "model"
           : source == HB_TYPE_BY_LINK  ? "link"
                                        : NULL;
}

int hb_session_script(const hb_session *s)
{
    return hb_text_script(&s->text);
}

double hb_session_rule_weight(const hb_engine *e, const hb_session *s, const char *task)
{
    hb_task_result r = {.task = task};
    score_rules(e, &s->verdict, &r);
    return r.rule_weight;
}

/* Parse a link given on its own (a training row, a request's "urls"):
 * quotes and spaces around it are not part of it. */
static int parse_link(const char *raw, size_t len, hb_url *u, hb_error *err)
{
    while (len && (*raw == '\'' || *raw == '"' || *raw == ' ')) {
        raw++;
        len--;
    }
    while (len && (raw[len - 1] == '\'' || raw[len - 1] == '"' || raw[len - 1] == ' '))
        len--;
    return hb_url_parse(raw, len, u, err);
}

/* Parse and score one link into out; -1 if it does not parse. */
static int score_link(const hb_engine *e, hb_session *s, const char *raw, size_t len,
                      hb_url_verdict *out, hb_error *err)
{
    if (parse_link(raw, len, &out->url, err) != 0)
        return HB_EINVAL;
    out->probability = -1;
    out->malicious = out->decides = 0;
    out->feed = NULL;
    out->listed = hb_engine_blocklist(e)
                      ? hb_blocklist_lookup(hb_engine_blocklist(e), &out->url, &out->feed)
                      : HB_BLOCK_NONE;
    /* a blocklist hit outranks any model */
    out->decides = out->listed != HB_BLOCK_NONE;
    if (!hb_engine_url_model(e))
        return 0;
    const hb_feature_config *cfg = hb_model_features(hb_engine_url_model(e));
    if (hb_url_features(cfg, &out->url, &s->url_text, &s->url_fvec) != 0)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    double d = hb_model_decision(hb_engine_url_model(e), &s->url_fvec);
    out->probability = hb_model_probability(hb_engine_url_model(e), d);
    out->malicious = out->probability >= hb_model_threshold(hb_engine_url_model(e));
    out->decides |= out->probability >= hb_model_override_at(hb_engine_url_model(e));
    return 0;
}

/* Every link in the text, then the given ones. */
static void score_links(const hb_engine *e, hb_session *s, const char *const *urls,
                        const size_t *lens, size_t nurls)
{
    hb_verdict *v = &s->verdict;
    for (size_t i = 0; i < v->nentities && v->nurls < HB_MAX_URLS; i++) {
        const hb_entity *x = &v->entities[i];
        if (x->kind != HB_ENTITY_URL)
            continue;
        hb_url_verdict *u = &v->urls[v->nurls];
        if (score_link(e, s, s->text.utf8 + x->start, x->end - x->start, u, NULL) == 0) {
            u->from_text = 1;
            u->start = x->start;
            u->end = x->end;
            v->nurls++;
        }
    }
    for (size_t i = 0; i < nurls && v->nurls < HB_MAX_URLS; i++) {
        hb_url_verdict *u = &v->urls[v->nurls];
        if (score_link(e, s, urls[i], lens[i], u, NULL) == 0) {
            u->from_text = 0;
            u->start = u->end = 0;
            v->nurls++;
        }
    }
    for (size_t i = 0; i < v->nurls && !v->fraud_link; i++)
        if (v->urls[i].decides)
            v->fraud_link = &v->urls[i];
}

/* The brands the message names, assessed against its links and the
 * phone numbers found in it (brands.h). */
static void assess_brands(const hb_engine *e, hb_session *s)
{
    hb_verdict *v = &s->verdict;
    if (!hb_engine_brands(e))
        return;
    /* without a link or a number, naming a brand says nothing either way
     * (no impersonation, no official channel): most messages skip the scan */
    int channels = v->nurls > 0;
    for (size_t i = 0; i < v->nentities && !channels; i++)
        channels = v->entities[i].kind == HB_ENTITY_PHONE;
    if (!channels)
        return;
    int n = hb_brands_match(hb_engine_brands(e), s->brands, s->text.utf8, s->text.len,
                            v->brand_hits, HB_MAX_BRANDS);
    if (n <= 0)
        return;
    v->nbrand_hits = (size_t)n;
    const char *domains[HB_MAX_URLS];
    uint32_t number_at[HB_MAX_ENTITIES];
    for (size_t i = 0; i < v->nurls; i++)
        domains[i] = v->urls[i].url.domain;
    for (size_t i = 0; i < v->nentities; i++) {
        const hb_entity *x = &v->entities[i];
        size_t len = x->end - x->start;
        if (x->kind != HB_ENTITY_PHONE || len >= sizeof s->numbers[0])
            continue;
        char *num = s->numbers[v->nbrand_numbers];
        memcpy(num, s->text.utf8 + x->start, len);
        num[len] = '\0';
        number_at[v->nbrand_numbers] = x->start;
        v->brand_numbers[v->nbrand_numbers++] = num;
    }
    hb_brand_message msg = {s->text.utf8,     s->text.len, domains,          v->nurls,
                            v->brand_numbers, number_at,   v->nbrand_numbers};
    n = hb_brands_assess(hb_engine_brands(e), &msg, v->brand_hits, v->nbrand_hits,
                         v->brands, HB_MAX_BRANDS);
    v->nbrands = n > 0 ? (size_t)n : 0;
}

static int has_brand_status(const hb_verdict *v, hb_brand_status status)
{
    for (size_t i = 0; i < v->nbrands; i++)
        if (v->brands[i].status == status)
            return 1;
    return 0;
}

/* 1 if a rule of task with a weight above 0 fired; with sign, only a
 * sign on its own (rules.h); with in_link, only one whose match lies
 * inside a link of the message (a look-alike domain, a bank name dressed
 * up with a cheap ending: the link looks malicious). */
static int positive_rule_fired(const hb_engine *e, const hb_verdict *v, const char *task,
                               int sign, int in_link)
{
    for (size_t i = 0; i < v->nhits; i++) {
        const hb_rule_info *info = hb_rules_info(hb_engine_rules(e), v->hits[i].rule);
        if (info->weight <= 0 || (sign && !info->sign) || strcmp(info->task, task) != 0)
            continue;
        if (!in_link)
            return 1;
        for (size_t k = 0; k < v->nentities; k++)
            if (v->entities[k].kind == HB_ENTITY_URL &&
                v->hits[i].start < v->entities[k].end &&
                v->entities[k].start < v->hits[i].end)
                return 1;
    }
    return 0;
}

/* The fraud task's tier from the evidence beside its score: an
 * impersonated brand, a link a fraud rule finds malicious-looking, or a
 * rule that is a sign on its own makes it at least possible (such a
 * message must never read "advertising, not fraud"); a brand using only
 * its own channels, with no fraud rule for it, takes a possible that rests
 * on the score alone back.
 * The URL model's own call is evidence only: on links in SMS it calls
 * nearly every shortener and shop malicious (models/url/README.md). */
static hb_tier fraud_tier(const hb_engine *e, const hb_verdict *v,
                          const hb_task_result *r)
{
    if (r->tier == HB_TIER_LIKELY)
        return HB_TIER_LIKELY;
    if (has_brand_status(v, HB_BRAND_IMPERSONATION) ||
        positive_rule_fired(e, v, r->task, 0, 1) ||
        positive_rule_fired(e, v, r->task, 1, 0))
        return HB_TIER_POSSIBLE;
    if (r->tier == HB_TIER_POSSIBLE && has_brand_status(v, HB_BRAND_OFFICIAL) &&
        !positive_rule_fired(e, v, r->task, 0, 0))
        return HB_TIER_NONE;
    return r->tier;
}

const char *hb_tier_name(hb_tier tier)
{
    return tier == HB_TIER_LIKELY     ? "likely"
           : tier == HB_TIER_POSSIBLE ? "possible"
                                      : "none";
}

/* The task that heads v (see hb_verdict_headline): the first task of the
 * catalogue's headline order at or above its tier, then any other likely
 * task in model order. */
static const hb_task_result *find_headline(const hb_engine *e, const hb_verdict *v)
{
    const hb_catalog *cat = hb_engine_catalog(e);
    for (size_t o = 0; o < hb_catalog_ntasks(cat); o++) {
        const hb_task_info *t = hb_catalog_task_at(cat, o);
        hb_tier least = t->heads_from_possible ? HB_TIER_POSSIBLE : HB_TIER_LIKELY;
        for (size_t i = 0; i < v->ntasks; i++)
            if (v->tasks[i].tier >= least && strcmp(v->tasks[i].task, t->task) == 0)
                return &v->tasks[i];
    }
    for (size_t i = 0; i < v->ntasks; i++)
        if (v->tasks[i].positive)
            return &v->tasks[i];
    return NULL;
}

int hb_classify_with_urls(const hb_engine *e, hb_session *s, const char *text, size_t len,
                          const char *const *urls, const size_t *lens, size_t nurls,
                          const hb_verdict **out, hb_error *err)
{
    int rc = analyse(e, s, text, len, err);
    if (rc != 0)
        return rc;
    hb_verdict *v = &s->verdict;
    v->script = hb_text_script(&s->text);
    score_links(e, s, urls, lens, nurls);
    assess_brands(e, s);
    double fused[HB_FUSE_MAX];
    size_t nfused;
    hb_model *const *fused_models = hb_engine_fused(e, &nfused);
    /* model 0 is the first fused model (engine.c's fuse_models): fused[] is
     * filled at i == 0, before any other fused model reads it */
    assert(nfused == 0 || hb_engine_fused_slot(e, 0) == 0);
    for (size_t i = 0; i < hb_engine_ntasks(e); i++) {
        const hb_model *m = hb_engine_model(e, i);
        const hb_feature_config *cfg = hb_model_features(m);
        hb_task_result *r = &v->tasks[v->ntasks++];
        r->task = hb_model_task(m);
        r->model = m;
        r->fvec = i;
        r->by_link = 0;
        for (size_t j = 0; j < i; j++)
            if (hb_model_same_features(m, hb_engine_model(e, j))) {
                r->fvec = v->tasks[j].fvec;
                break;
            }
        if (r->fvec == i && build_vector(e, s, cfg, &s->fvec[i]) != 0)
            return hb_error_set(err, HB_ENOMEM, "out of memory");
        score_rules(e, v, r);
        size_t k = hb_engine_fused_slot(e, i);
        if (k == 0 && nfused) /* the first of the fused models */
            hb_models_decision(fused_models, nfused, &s->fvec[r->fvec], fused);
        double d = k < nfused ? fused[k] : hb_model_decision(m, &s->fvec[r->fvec]);
        r->decision = d + hb_model_rule_scale_in(m, v->script) * r->rule_weight;
        r->probability = hb_model_probability_in(m, r->decision, v->script);
        r->threshold = hb_model_threshold_in(m, v->script);
        r->possible_threshold = hb_model_possible_threshold_in(m, v->script);
        r->positive = r->probability >= r->threshold;
        if (strcmp(r->task, "fraud") == 0 && v->fraud_link) {
            /* a blocklisted (or surely malicious) link outranks the text */
            r->positive = r->by_link = 1;
            double p = v->fraud_link->listed ? 1.0 : v->fraud_link->probability;
            if (p > r->probability)
                r->probability = p;
        }
        r->tier = r->positive                               ? HB_TIER_LIKELY
                  : r->probability >= r->possible_threshold ? HB_TIER_POSSIBLE
                                                            : HB_TIER_NONE;
        if (strcmp(r->task, "fraud") == 0)
            r->tier = fraud_tier(e, v, r);
        if (r->tier == HB_TIER_LIKELY && hb_model_types(m) &&
            type_by_model(e, s, m, r) != 0)
            return hb_error_set(err, HB_ENOMEM, "out of memory");
        if (r->by_link && !r->type) {
            r->type = "malicious_link";
            r->type_by = HB_TYPE_BY_LINK;
        }
        r->label = r->positive ? hb_model_positive(m) : hb_model_negative(m);
    }
    v->headline = find_headline(e, v);
    *out = v;
    return 0;
}

int hb_classify(const hb_engine *e, hb_session *s, const char *text, size_t len,
                const hb_verdict **out, hb_error *err)
{
    return hb_classify_with_urls(e, s, text, len, NULL, NULL, 0, out, err);
}

int hb_classify_url(const hb_engine *e, hb_session *s, const char *url, size_t len,
                    hb_url_verdict *out, hb_error *err)
{
    int rc = score_link(e, s, url, len, out, err);
    if (rc == 0 && !hb_engine_url_model(e))
        rc = hb_error_set(err, HB_ENOTFOUND, "no URL model is loaded");
    return rc;
}

int hb_featurize_url(const hb_engine *e, hb_session *s, const hb_feature_config *cfg,
                     const char *url, size_t len, const hb_fvec **out, hb_error *err)
{
    (void)e;
    hb_url u;
    int rc = parse_link(url, len, &u, err);
    if (rc != 0)
        return rc;
    if (hb_url_features(cfg, &u, &s->url_text, &s->url_fvec) != 0)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    *out = &s->url_fvec;
    return 0;
}

/* An n-gram worth showing a person: at least two letters, digits or CJK
 * characters, one of them a letter (",", "您", " a" or "00" explain
 * nothing). */
static int readable_gram(const hb_text *t, hb_feature_origin o)
{
    int word_chars = 0, letters = 0;
    for (uint32_t i = o.start; i < o.start + o.len && i < t->ncps; i++) {
        utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)t->cps[i]);
        int letter = c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL ||
                     c == UTF8PROC_CATEGORY_LO;
        letters += letter;
        word_chars += letter || c == UTF8PROC_CATEGORY_ND;
    }
    return word_chars >= 2 && letters > 0;
}

size_t hb_explain(hb_session *s, size_t ti, int positive_only, hb_contribution *out,
                  size_t k)
{
    const hb_verdict *v = &s->verdict;
    if (ti >= v->ntasks || k == 0)
        return 0;
    const hb_task_result *r = &v->tasks[ti];
    const hb_fvec *fv = &s->fvec[r->fvec];
    /* contributions are worked out here, not while classifying: most
     * replies (negative tasks, brief replies) never show them */
    if (!entry_scratch(s, fv))
        return 0;
    hb_model_decision_explained(r->model, fv, s->contrib);
    const float *contrib = s->contrib;
    size_t n = 0;
    /* keep the k largest in out, smallest last (k is small) */
    for (size_t e = 0; e < fv->n; e++) {
        double w = contrib[e];
        if ((positive_only && w <= 0) || w == 0)
            continue;
        if (fv->origin[e].len > 0 && !readable_gram(&s->text, fv->origin[e]))
            continue;
        if (n == k && fabs(w) <= fabs(out[n - 1].weight))
            continue;
        size_t pos = n < k ? n++ : k - 1;
        while (pos > 0 && fabs(out[pos - 1].weight) < fabs(w)) {
            out[pos] = out[pos - 1];
            pos--;
        }
        out[pos] =
            (hb_contribution){w, fv->origin[e].start, fv->origin[e].len, fv->name[e]};
    }
    return n;
}

void hb_session_source_span(const hb_session *s, uint32_t start, uint32_t end,
                            size_t *cp_start, size_t *cp_end)
{
    size_t bs, be;
    hb_text_source_span(&s->text, start, end, &bs, &be);
    /* the source range runs up to the next kept character: spaces that
     * normalisation dropped after the match are not part of it */
    while (be > bs && (s->raw[be - 1] == ' ' || s->raw[be - 1] == '\t'))
        be--;
    size_t cps = 0;
    for (size_t i = 0; i < be; i++) {
        if (i == bs)
            *cp_start = cps;
        if (((unsigned char)s->raw[i] & 0xC0) != 0x80)
            cps++;
    }
    if (bs >= be)
        *cp_start = cps;
    *cp_end = cps;
}

const hb_task_result *hb_verdict_headline(const hb_verdict *v)
{
    return v->headline;
}

const char *hb_verdict_name(const hb_verdict *v)
{
    const hb_task_result *h = hb_verdict_headline(v);
    if (!h)
        return "clean";
    return h->tier == HB_TIER_POSSIBLE ? "possible_fraud" : h->task;
}
