/*
 * featurize.c - hashed n-gram features (see featurize.h for the contract).
 *
 * Counting uses a small open-addressing table (vector index -> entry slot)
 * kept in the hb_fvec between messages, so a message costs one hash and one
 * probe per n-gram and no sorting: a linear model does not need the entries
 * in index order.  The table is cleared by walking the entries it holds,
 * not by zeroing all of it.
 */
#include "featurize.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>
/* xxhash's documented header-only mode: the n-gram hashes are the inner
 * loop, and an inlined XXH3 on a few bytes costs a fraction of a call */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* One seed per feature group, so that the same bytes in two groups land in
 * unrelated buckets. */
enum {
    SEED_CHAR = 0x68756263,  /* "hubc" */
    SEED_WORD = 0x68756277,  /* "hubw" */
    SEED_NAMED = 0x6875626e, /* "hubn" */
};

#define EMPTY_SLOT UINT32_MAX

hb_feature_config hb_feature_config_default(void)
{
    hb_feature_config cfg = {
        .char_min = 1,
        .char_max = 3,
        .word_min = 1,
        .word_max = 2,
        .hash_bits = 20,
        .named_bits = 14,
        .map_digits = 1,
        .use_rules = 1,
        .use_entities = 1,
        .use_idf = 1,
        .min_df = 2,
    };
    return cfg;
}

json_t *hb_feature_config_to_json(const hb_feature_config *cfg)
{
    return json_pack("{s:[i,i], s:[i,i], s:i, s:i, s:b, s:b, s:b, s:b, s:i}",
                     "char_ngrams", cfg->char_min, cfg->char_max, "word_ngrams",
                     cfg->word_min, cfg->word_max, "hash_bits", cfg->hash_bits,
                     "named_bits", cfg->named_bits, "map_digits", cfg->map_digits,
                     "use_rules", cfg->use_rules, "use_entities", cfg->use_entities,
                     "use_idf", cfg->use_idf, "min_df", cfg->min_df);
}

static int read_range(const json_t *obj, const char *key, int limit, int *lo, int *hi,
                      hb_error *err)
{
    const json_t *a = json_object_get(obj, key);
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) != 2 ||
        !json_is_integer(json_array_get(a, 0)) || !json_is_integer(json_array_get(a, 1)))
        return hb_error_set(err, HB_EFORMAT, "features.%s must be [min, max] integers",
                            key);
    json_int_t a0 = json_integer_value(json_array_get(a, 0));
    json_int_t a1 = json_integer_value(json_array_get(a, 1));
    if (a0 < 0 || a1 < a0 || a1 > limit || (a0 == 0 && a1 != 0))
        return hb_error_set(err, HB_EFORMAT,
                            "features.%s [%lld, %lld] out of range (1..%d, "
                            "or [0, 0] for off)",
                            key, (long long)a0, (long long)a1, limit);
    *lo = (int)a0;
    *hi = (int)a1;
    return 0;
}

static int read_flag(const json_t *obj, const char *key, int *out, hb_error *err)
{
    const json_t *b = json_object_get(obj, key);
    if (!b)
        return 0;
    if (!json_is_boolean(b))
        return hb_error_set(err, HB_EFORMAT, "features.%s must be true or false", key);
    *out = json_is_true(b);
    return 0;
}

static int read_int(const json_t *obj, const char *key, int lo, int hi, int *out,
                    hb_error *err)
{
    const json_t *n = json_object_get(obj, key);
    if (!n)
        return 0;
    if (!json_is_integer(n) || json_integer_value(n) < lo || json_integer_value(n) > hi)
        return hb_error_set(err, HB_EFORMAT, "features.%s must be an integer %d..%d", key,
                            lo, hi);
    *out = (int)json_integer_value(n);
    return 0;
}

int hb_feature_config_from_json(const json_t *obj, hb_feature_config *cfg, hb_error *err)
{
    *cfg = hb_feature_config_default();
    if (!json_is_object(obj))
        return hb_error_set(err, HB_EFORMAT, "features must be a JSON object");
    int rc;
    if ((rc = read_range(obj, "char_ngrams", 8, &cfg->char_min, &cfg->char_max, err)) ||
        (rc = read_range(obj, "word_ngrams", 4, &cfg->word_min, &cfg->word_max, err)) ||
        (rc = read_flag(obj, "map_digits", &cfg->map_digits, err)) ||
        (rc = read_flag(obj, "use_rules", &cfg->use_rules, err)) ||
        (rc = read_flag(obj, "use_entities", &cfg->use_entities, err)) ||
        (rc = read_flag(obj, "use_idf", &cfg->use_idf, err)))
        return rc;
    /* a manifest without named_bits was written when named features
     * shared the n-grams' buckets */
    cfg->named_bits = 0;
    if ((rc = read_int(obj, "min_df", 1, 1000, &cfg->min_df, err)) ||
        (rc = read_int(obj, "hash_bits", 10, 24, &cfg->hash_bits, err)) ||
        (rc = read_int(obj, "named_bits", 0, 16, &cfg->named_bits, err)))
        return rc;
    return 0;
}

void hb_fvec_init(hb_fvec *v)
{
    memset(v, 0, sizeof *v);
}

void hb_fvec_release(hb_fvec *v)
{
    free(v->idx);
    free(v->val);
    free(v->group);
    free(v->origin);
    free(v->name);
    free(v->slot);
    free(v->mapped);
    hb_fvec_init(v);
}

/* Empty v, clearing only the table slots its entries occupy. */
static void fvec_clear(hb_fvec *v)
{
    size_t mask = v->slot_cap - 1;
    for (size_t e = 0; e < v->n; e++) {
        size_t s = v->idx[e] & mask;
        while (v->slot[s] != e)
            s = (s + 1) & mask;
        v->slot[s] = EMPTY_SLOT;
    }
    v->n = 0;
}

/* Rebuild the index table from the entries (after growing or sorting). */
static void fvec_reindex(hb_fvec *v)
{
    size_t mask = v->slot_cap - 1;
    memset(v->slot, 0xff, v->slot_cap * sizeof *v->slot);
    for (size_t e = 0; e < v->n; e++) {
        size_t s = v->idx[e] & mask;
        while (v->slot[s] != EMPTY_SLOT)
            s = (s + 1) & mask;
        v->slot[s] = (uint32_t)e;
    }
}

static int fvec_grow(hb_fvec *v)
{
    size_t cap = v->cap ? v->cap * 2 : 256;
    uint32_t *idx = realloc(v->idx, cap * sizeof *idx);
    if (!idx)
        return HB_ENOMEM;
    v->idx = idx;
    float *val = realloc(v->val, cap * sizeof *val);
    if (!val)
        return HB_ENOMEM;
    v->val = val;
    uint8_t *group = realloc(v->group, cap * sizeof *group);
    if (!group)
        return HB_ENOMEM;
    v->group = group;
    hb_feature_origin *origin = realloc(v->origin, cap * sizeof *origin);
    if (!origin)
        return HB_ENOMEM;
    v->origin = origin;
    const char **name = realloc(v->name, cap * sizeof *name);
    if (!name)
        return HB_ENOMEM;
    v->name = name;
    v->cap = cap;

    /* keep the table at most half full */
    size_t slots = v->slot_cap ? v->slot_cap : 512;
    while (slots < cap * 2)
        slots *= 2;
    if (slots != v->slot_cap) {
        uint32_t *slot = realloc(v->slot, slots * sizeof *slot);
        if (!slot)
            return HB_ENOMEM;
        v->slot = slot;
        v->slot_cap = slots;
        fvec_reindex(v);
    }
    return 0;
}

/* Add value at index, remembering the first origin seen.  Returns the entry
 * number or a negative error. */
static inline long fvec_add(hb_fvec *v, uint32_t index, float value, uint8_t group,
                            hb_feature_origin origin, const char *name)
{
    if (v->n == v->cap && fvec_grow(v) != 0)
        return HB_ENOMEM;
    size_t mask = v->slot_cap - 1;
    size_t s = index & mask;
    while (v->slot[s] != EMPTY_SLOT) {
        uint32_t e = v->slot[s];
        if (v->idx[e] == index) {
            v->val[e] += value;
            return e;
        }
        s = (s + 1) & mask;
    }
    size_t e = v->n++;
    v->slot[s] = (uint32_t)e;
    v->idx[e] = index;
    v->val[e] = value;
    v->group[e] = group;
    v->origin[e] = origin;
    v->name[e] = name;
    return (long)e;
}

static int is_ascii_letter(uint32_t c)
{
    return c >= 'a' && c <= 'z';
}

static int is_ascii_alnum(uint32_t c)
{
    return is_ascii_letter(c) || (c >= '0' && c <= '9');
}

/* Word characters: letters and digits of any script, so a run of CJK
 * between punctuation is one "word" as for Latin text. */
static int is_word_char(uint32_t c)
{
    if (c < 0x80)
        return is_ascii_alnum(c);
    /* the CJK Unified Ideographs assigned by Unicode 11 (every utf8proc
     * release since 2.2 calls them letters), without the table lookup */
    if (c >= 0x4E00 && c <= 0x9FEF)
        return 1;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

/* Copy the code points into v->mapped, reading digits as '0' and x-runs
 * that stand where digits would (not touching a Latin letter on either
 * side: "xxx元", "x.x折", "6228xxxx1234") as zeros too. */
static int map_text(const hb_feature_config *cfg, const hb_text *t, hb_fvec *v)
{
    /* room for the text and, after it, one padded token (char_grams) */
    if (v->mapped_cap < 2 * t->ncps + 3) {
        size_t cap = 2 * t->ncps + 64;
        uint32_t *m = realloc(v->mapped, cap * sizeof *m);
        if (!m)
            return HB_ENOMEM;
        v->mapped = m;
        v->mapped_cap = cap;
    }
    uint32_t *m = v->mapped;
    size_t n = t->ncps;
    memcpy(m, t->cps, n * sizeof *m);
    if (!cfg->map_digits)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (m[i] >= '0' && m[i] <= '9') {
            m[i] = '0';
        } else if (m[i] == 'x') {
            size_t j = i;
            while (j < n && t->cps[j] == 'x')
                j++;
            int letter_before = i > 0 && is_ascii_letter(t->cps[i - 1]);
            int letter_after = j < n && is_ascii_letter(t->cps[j]);
            if (!letter_before && !letter_after)
                for (size_t k = i; k < j; k++)
                    m[k] = '0';
            i = j - 1;
        }
    }
    return 0;
}

/* Named features are few (five hundred rule ids and entity kinds) and
 * trained apart from the n-grams, with a factor on their values (0 leaves
 * them out).  Sharing a bucket with an n-gram, as a third of them did in
 * 2^20 buckets, made the bucket an n-gram to the trainer: the rule id was
 * learned anyway, and the n-gram scored with the rule's weight.  With
 * named_bits they own the top 2^named_bits buckets (in 2^14, a handful of
 * pairs of rules share one), and an n-gram hashed there moves down by as
 * much. */
typedef struct bucket_layout {
    uint32_t mask;  /* 2^hash_bits - 1 */
    uint32_t named; /* first named bucket; mask + 1 when they are shared */
    uint32_t nmask; /* 2^named_bits - 1 */
} bucket_layout;

/* Worked out once per message, not per n-gram. */
static bucket_layout layout_of(const hb_feature_config *cfg)
{
    int k = cfg->named_bits < cfg->hash_bits - 6 ? cfg->named_bits : cfg->hash_bits - 6;
    uint32_t dim = (uint32_t)1 << cfg->hash_bits;
    return (bucket_layout){dim - 1, k ? dim - ((uint32_t)1 << k) : dim,
                           ((uint32_t)1 << k) - 1};
}

static inline uint32_t text_bucket(const bucket_layout *l, uint64_t h)
{
    uint32_t b = (uint32_t)h & l->mask;
    return b >= l->named ? b - (l->nmask + 1) : b;
}

static inline uint32_t named_bucket(const bucket_layout *l, uint64_t h)
{
    if (l->named > l->mask)
        return (uint32_t)h & l->mask;
    return l->named + ((uint32_t)h & l->nmask);
}

uint32_t hb_feature_bucket(const hb_feature_config *cfg, uint64_t h, int named)
{
    bucket_layout l = layout_of(cfg);
    return named ? named_bucket(&l, h) : text_bucket(&l, h);
}

static float hash_sign(uint64_t h)
{
    return (h >> 63) ? -1.0f : 1.0f;
}

/* The hash of the n code points at p.  The common lengths get their own
 * call so that each inlines XXH3's path for its size (4, 8 or 12 bytes)
 * instead of dispatching on the length per n-gram. */
static inline uint64_t hash_chars(const uint32_t *p, int n)
{
    switch (n) {
    case 1: return XXH3_64bits_withSeed(p, 1 * sizeof *p, SEED_CHAR);
    case 2: return XXH3_64bits_withSeed(p, 2 * sizeof *p, SEED_CHAR);
    case 3: return XXH3_64bits_withSeed(p, 3 * sizeof *p, SEED_CHAR);
    default: return XXH3_64bits_withSeed(p, (size_t)n * sizeof *p, SEED_CHAR);
    }
}

/* Character n-grams of one space-padded token m[start, end).  pad has
 * room for the token and its two padding spaces. */
static int char_grams(const hb_feature_config *cfg, const bucket_layout *l,
                      const uint32_t *m, size_t start, size_t end, uint32_t *pad,
                      hb_fvec *v)
{
    size_t toklen = end - start;
    size_t plen = toklen + 2;
    pad[0] = pad[plen - 1] = ' ';
    memcpy(pad + 1, m + start, toklen * sizeof *pad);
    for (int n = cfg->char_min; n <= cfg->char_max; n++) {
        if ((size_t)n > plen)
            break;
        for (size_t p = 0; p + (size_t)n <= plen; p++) {
            /* n-grams made only of padding carry nothing */
            if (n == 1 && (p == 0 || p == plen - 1))
                continue;
            uint64_t h = hash_chars(pad + p, n);
            size_t first = p == 0 ? 0 : p - 1;
            size_t last = p + (size_t)n - 1 > toklen ? toklen : p + (size_t)n - 1;
            hb_feature_origin o = {(uint32_t)(start + first),
                                   (uint32_t)(last > first ? last - first : 1)};
            if (fvec_add(v, text_bucket(l, h), hash_sign(h), HB_GROUP_CHAR, o, NULL) < 0)
                return HB_ENOMEM;
        }
    }
    return 0;
}

/* Word n-grams over runs of letters and digits.  Word hashes are chained
 * so bigrams need no string building. */
static int word_grams(const hb_feature_config *cfg, const bucket_layout *l,
                      const uint32_t *m, size_t n, hb_fvec *v)
{
    enum { MAXW = 4 };
    uint64_t hist[MAXW];
    hb_feature_origin spans[MAXW];
    size_t nw = 0;
    size_t i = 0;
    while (i < n) {
        if (!is_word_char(m[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && is_word_char(m[j]))
            j++;
        uint64_t h = XXH3_64bits_withSeed(m + i, (j - i) * sizeof m[0], SEED_WORD);
        hb_feature_origin span = {(uint32_t)i, (uint32_t)(j - i)};
        memmove(hist + 1, hist, (MAXW - 1) * sizeof hist[0]);
        memmove(spans + 1, spans, (MAXW - 1) * sizeof spans[0]);
        hist[0] = h;
        spans[0] = span;
        if (nw < MAXW)
            nw++;
        for (int g = cfg->word_min; g <= cfg->word_max && (size_t)g <= nw; g++) {
            uint64_t gh = hist[0];
            if (g == 2) /* a constant length inlines XXH3's 16-byte path */
                gh = XXH3_64bits_withSeed(hist, 2 * sizeof hist[0], SEED_WORD + 2);
            else if (g > 2)
                gh = XXH3_64bits_withSeed(hist, (size_t)g * sizeof hist[0],
                                          SEED_WORD + (uint64_t)g);
            hb_feature_origin o = {spans[g - 1].start,
                                   spans[0].start + spans[0].len - spans[g - 1].start};
            if (fvec_add(v, text_bucket(l, gh), hash_sign(gh), HB_GROUP_WORD, o, NULL) <
                0)
                return HB_ENOMEM;
        }
        i = j;
    }
    return 0;
}

const uint32_t *hb_features_view(const hb_feature_config *cfg, const hb_text *t,
                                 hb_fvec *v)
{
    return map_text(cfg, t, v) == 0 ? v->mapped : NULL;
}

/* 1 + log(count) for the counts below SUBLINEAR_TABLE (0 for 0): a
 * hashed n-gram's value is a sum of +-1, so a whole number, and calling
 * logf for each repeated n-gram was 1% of a message's instructions.  The
 * table holds logf's own results, so the features are the same. */
#define SUBLINEAR_TABLE 64
static float sublinear[SUBLINEAR_TABLE];
static pthread_once_t sublinear_once = PTHREAD_ONCE_INIT;

static void fill_sublinear(void)
{
    for (int k = 1; k < SUBLINEAR_TABLE; k++)
        sublinear[k] = 1.0f + logf((float)k);
}

int hb_features_text(const hb_feature_config *cfg, const hb_text *t, hb_fvec *v)
{
    if (!v->slot && fvec_grow(v) != 0)
        return HB_ENOMEM;
    fvec_clear(v);
    if (map_text(cfg, t, v) != 0)
        return HB_ENOMEM;
    const uint32_t *m = v->mapped;
    size_t n = t->ncps;
    bucket_layout l = layout_of(cfg);

    if (cfg->char_min > 0) {
        /* the padded token is built after the mapped text's n + 1 code
         * points (map_text leaves room for n + 2 more) */
        uint32_t *pad = v->mapped + n + 1;
        size_t i = 0;
        while (i < n) {
            while (i < n && m[i] == ' ')
                i++;
            size_t j = i;
            while (j < n && m[j] != ' ')
                j++;
            if (j > i && char_grams(cfg, &l, m, i, j, pad, v) != 0)
                return HB_ENOMEM;
            i = j;
        }
    }
    if (cfg->word_min > 0 && word_grams(cfg, &l, m, n, v) != 0)
        return HB_ENOMEM;

    /* sublinear tf; IDF weighting and L2 normalisation are the model's
     * (hb_model_decision), since they depend on its training data */
    pthread_once(&sublinear_once, fill_sublinear);
    for (size_t e = 0; e < v->n; e++) {
        float c = v->val[e];
        float a = fabsf(c);
        if (a == 1.0f)
            continue; /* most n-grams occur once: 1 + log 1 is 1 */
        float w = a < SUBLINEAR_TABLE && a == (float)(int)a ? sublinear[(int)a]
                                                            : 1.0f + logf(a);
        v->val[e] = c < 0 ? -w : w;
    }
    return 0;
}

int hb_fvec_add_keyed(const hb_feature_config *cfg, hb_fvec *v, const char *key,
                      size_t len, const char *label, float value)
{
    if (!v->slot && fvec_grow(v) != 0)
        return HB_ENOMEM;
    uint64_t h = XXH3_64bits_withSeed(key, len, SEED_NAMED);
    hb_feature_origin none = {0, 0};
    bucket_layout l = layout_of(cfg);
    return fvec_add(v, named_bucket(&l, h), value, HB_GROUP_NAMED, none, label) < 0
               ? HB_ENOMEM
               : 0;
}

int hb_fvec_add_named(const hb_feature_config *cfg, hb_fvec *v, const char *name,
                      float value)
{
    return hb_fvec_add_keyed(cfg, v, name, strlen(name), name, value);
}

void hb_fvec_norms(const hb_fvec *v, const float *idf, hb_norms *out)
{
    double sq[HB_TEXT_GROUPS] = {0};
    for (size_t e = 0; e < v->n; e++) {
        if (v->group[e] >= HB_TEXT_GROUPS)
            continue;
        double x = idf ? (double)idf[v->idx[e]] * v->val[e] : v->val[e];
        sq[v->group[e]] += x * x;
    }
    for (int g = 0; g < HB_TEXT_GROUPS; g++)
        out->group[g] = sq[g] > 0 ? sqrt(sq[g]) : 1.0;
}

double hb_fvec_value(const hb_fvec *v, size_t e, const float *idf, const hb_norms *norms)
{
    uint8_t g = v->group[e];
    if (g >= HB_TEXT_GROUPS)
        return v->val[e];
    double x = idf ? (double)idf[v->idx[e]] * v->val[e] : v->val[e];
    return x / norms->group[g];
}

typedef struct sort_entry {
    uint32_t idx;
    float val;
    uint8_t group;
    hb_feature_origin origin;
    const char *name;
} sort_entry;

static int cmp_entry(const void *a, const void *b)
{
    uint32_t x = ((const sort_entry *)a)->idx, y = ((const sort_entry *)b)->idx;
    return (x > y) - (x < y);
}

int hb_fvec_sort(hb_fvec *v)
{
    if (v->n < 2)
        return 0;
    sort_entry *tmp = malloc(v->n * sizeof *tmp);
    if (!tmp)
        return HB_ENOMEM;
    for (size_t e = 0; e < v->n; e++)
        tmp[e] =
            (sort_entry){v->idx[e], v->val[e], v->group[e], v->origin[e], v->name[e]};
    qsort(tmp, v->n, sizeof *tmp, cmp_entry);
    for (size_t e = 0; e < v->n; e++) {
        v->idx[e] = tmp[e].idx;
        v->val[e] = tmp[e].val;
        v->group[e] = tmp[e].group;
        v->origin[e] = tmp[e].origin;
        v->name[e] = tmp[e].name;
    }
    free(tmp);
    fvec_reindex(v);
    return 0;
}
