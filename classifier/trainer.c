/*
 * trainer.c - model training (see trainer.h for the recipe).
 *
 * All feature vectors are built once and kept as liblinear rows in one
 * pool; cross-validation folds are then just different lists of row
 * pointers, so k folds x |C grid| trainings never re-extract features.
 */
#include "trainer.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linear.h>

#include "model.h"
#include "typetrain.h"

typedef struct rows {
    struct feature_node **x;
    double *y;      /* +1 / -1 for liblinear */
    int *label;     /* 1 / 0 for metrics */
    double *rule_w; /* the task's fired rule weights */
    int *fold;
    uint64_t *group; /* rows with the same text share a group (and a fold) */
    int *script;     /* HB_SCRIPT_* of each row */
    size_t n;
    struct feature_node *pool;
    size_t pool_used, pool_cap;
    size_t dim;      /* 2^hash_bits; the bias is feature dim + 1 */
    float *idf;      /* per-bucket IDF, or NULL without IDF */
    size_t unusable; /* rows kept as empty vectors */
    char first_unusable[600];
} rows;

/* The decision threshold is the middle of the best stretch of the
 * out-of-fold MCC curve, half a logit either side (metrics.h): the single
 * best point moved an English threshold from 0.51 to 0.23 between two
 * trainings that differed only in hash size. */
static const double THRESHOLD_WINDOW = 0.5;

/* A "possible" band needs this many out-of-fold decisions per run to say
 * anything about its precision. */
enum { POSSIBLE_MIN_ROWS = 10 };

/* The band's precision is read at the prior the probabilities are
 * calibrated for: the data's own mix, or both classes equally common
 * (--balanced), where a "possible" message is at least as likely to be
 * positive as negative.  Then the tier is kept within its false-alarm
 * budget: it may flag at most o->possible_max_fpr of the held-out
 * negatives (the threshold is raised to the probability that does). */
static double possible_threshold(const double *p, const int *y, size_t n, double likely,
                                 const hb_train_options *o)
{
    if (o->possible_precision >= 1)
        return likely;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++)
        pos += (size_t)(y[i] != 0);
    double neg_weight =
        o->balanced_calibration && pos < n ? (double)pos / (double)(n - pos) : 1.0;
    double t =
        hb_metrics_band_threshold(p, y, n, likely, o->possible_precision,
                                  POSSIBLE_MIN_ROWS * (size_t)o->repeats, neg_weight);
    if (t < 0)
        return likely;
    double budget = hb_metrics_fpr_threshold(p, y, n, o->possible_max_fpr);
    return budget > t ? (budget < likely ? budget : likely) : t;
}

static void rows_free(rows *r)
{
    free(r->group);
    free(r->x);
    free(r->y);
    free(r->label);
    free(r->rule_w);
    free(r->fold);
    free(r->script);
    free(r->pool);
    free(r->idf);
}

static void quiet(const char *s)
{
    (void)s;
}

hb_train_options hb_train_defaults(const char *task)
{
    hb_train_options o = {
        .positive_name = task,
        .negative_name = "none",
        .version = "dev",
        .features = hb_feature_config_default(),
        .seed = 1,
        .folds = 5,
        .repeats = 3,
        .c_grid = {0.0625, 0.125, 0.25, 0.5, 1.0, 2.0},
        .nc = 6,
        .max_fpr = 0,
        .possible_precision = 0.5,
        .possible_max_fpr = 0.01,
        .rule_scale = -1,
        .rule_scale_script = {-1, -1},
        .prune = 1e-5,
        .named_scale = -1,
        .type_bits = 14,
    };
    hb_train_set_task(&o, task);
    return o;
}

void hb_train_set_task(hb_train_options *o, const char *task)
{
    o->task = task;
    o->kind = strcmp(task, "url") == 0 ? "url" : "text";
    if (strcmp(o->kind, "url") == 0)
        o->features.named_bits = 0;
}

static void progress(const hb_train_options *o, const char *stage, size_t done,
                     size_t total)
{
    if (o->progress)
        o->progress(o->progress_ctx, stage, done, total);
}

/* splitmix64: a small seeded generator, so folds do not depend on libc */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* min_df is a property of n-grams, not of buckets: 2^18 buckets hold a
 * million distinct Chinese n-grams, so nearly every bucket is seen twice and
 * a bucket-level min_df prunes nothing.  Document frequencies are therefore
 * counted in a fine hash space (2^FINE_BITS slots, saturating at 255), where
 * distinct n-grams seldom share a slot.  A fine slot's index keeps the low
 * bits of the n-gram's hash, so it folds onto the model's bucket by a mask:
 * the folded vector of a row is exactly the vector scoring computes, minus
 * the rare n-grams.  Buckets that hold no kept n-gram get IDF 0, so scoring
 * ignores most unseen n-grams too, as a vocabulary would. */
enum { FINE_BITS = 25, FINE_DF_MAX = 255 };

typedef struct folder {
    hb_feature_config fine; /* the model's features at FINE_BITS */
    uint8_t *fine_df;       /* per fine slot; NULL: nothing is pruned */
    size_t dim;             /* the model's buckets */
    float *acc;             /* per bucket: the current row's value */
    uint8_t *group;         /* per bucket: its group in the current row */
    hb_fvec row;            /* the folded row, ascending indices (owns
                               idx, val and group only) */
    size_t row_cap;
} folder;

static void folder_free(folder *f)
{
    free(f->fine_df);
    free(f->acc);
    free(f->group);
    free(f->row.idx);
    free(f->row.val);
    free(f->row.group);
}

static int folder_init(folder *f, const hb_train_options *o, size_t dim)
{
    memset(f, 0, sizeof *f);
    f->fine = o->features;
    f->fine.hash_bits = FINE_BITS;
    f->fine.named_bits = 0; /* fine indices are the hashes' low bits */
    f->dim = dim;
    f->acc = calloc(dim, sizeof *f->acc);
    f->group = calloc(dim, sizeof *f->group);
    int prune = o->features.use_idf && o->features.min_df > 1;
    if (prune)
        f->fine_df = calloc((size_t)1 << FINE_BITS, sizeof *f->fine_df);
    return f->acc && f->group && (f->fine_df || !prune) ? 0 : HB_ENOMEM;
}

/* The feature vector of one row: a message, or a link for URL models. */
static int vectorize(const hb_engine *engine, hb_session *s, const hb_train_options *o,
                     const hb_feature_config *cfg, const hb_example *ex,
                     const hb_fvec **fv, hb_error *err)
{
    if (strcmp(o->kind, "url") == 0)
        return hb_featurize_url(engine, s, cfg, ex->text, ex->text_len, fv, err);
    return hb_featurize(engine, s, cfg, ex->text, ex->text_len, fv, err);
}

/* Count, per fine slot, the rows whose text features touch it. */
static void count_fine_df(folder *f, const hb_fvec *fv)
{
    for (size_t e = 0; e < fv->n; e++)
        if (fv->group[e] < HB_TEXT_GROUPS && fv->val[e] != 0.0f &&
            f->fine_df[fv->idx[e]] < FINE_DF_MAX)
            f->fine_df[fv->idx[e]]++;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Fold a fine vector onto the model's buckets, leaving out n-grams seen in
 * fewer than min_df rows, into f->row.  Text counts are summed per bucket
 * before the sublinear 1 + ln(tf), and named features added after it, in
 * the order hb_featurize does, so the result equals what scoring computes
 * for the kept n-grams. */
static int fold(folder *f, const hb_fvec *fv, const hb_feature_config *cfg)
{
    if (fv->n > f->row_cap) {
        /* each array is kept as soon as it has grown: folder_free frees it */
        size_t cap = fv->n * 2;
        uint32_t *idx = realloc(f->row.idx, cap * sizeof *idx);
        if (!idx)
            return HB_ENOMEM;
        f->row.idx = idx;
        float *val = realloc(f->row.val, cap * sizeof *val);
        if (!val)
            return HB_ENOMEM;
        f->row.val = val;
        uint8_t *group = realloc(f->row.group, cap * sizeof *group);
        if (!group)
            return HB_ENOMEM;
        f->row.group = group;
        f->row_cap = cap;
    }
    uint32_t *out = f->row.idx;
    size_t m = 0;
    for (size_t e = 0; e < fv->n; e++) {
        if (fv->group[e] >= HB_TEXT_GROUPS || fv->val[e] == 0.0f ||
            (f->fine_df && f->fine_df[fv->idx[e]] < cfg->min_df))
            continue;
        uint32_t b = hb_feature_bucket(cfg, fv->idx[e], 0);
        if (f->group[b] == 0) {
            out[m++] = b;
            f->group[b] = fv->group[e] + 1; /* 0 marks an unused bucket */
        }
        /* back from 1 + ln|tf| to the signed count */
        float tf = roundf(expf(fabsf(fv->val[e]) - 1.0f));
        f->acc[b] += fv->val[e] < 0 ? -tf : tf;
    }
    for (size_t k = 0; k < m; k++) {
        float c = f->acc[out[k]], a = fabsf(c);
        float w = a > 0.0f ? 1.0f + logf(a) : 0.0f;
        f->acc[out[k]] = c < 0 ? -w : w;
    }
    for (size_t e = 0; e < fv->n; e++)
        if (fv->group[e] >= HB_TEXT_GROUPS) {
            uint32_t b = hb_feature_bucket(cfg, fv->idx[e], 1);
            if (f->group[b] == 0) {
                out[m++] = b;
                f->group[b] = fv->group[e] + 1;
            }
            f->acc[b] += fv->val[e];
        }
    qsort(out, m, sizeof *out, cmp_u32);
    f->row.n = m;
    for (size_t k = 0; k < m; k++) {
        f->row.val[k] = f->acc[out[k]];
        f->row.group[k] = (uint8_t)(f->group[out[k]] - 1);
        f->acc[out[k]] = 0.0f;
        f->group[out[k]] = 0;
    }
    return 0;
}

/* Featurize a row at the fine resolution and fold it into f->row. */
static int folded_row(const hb_engine *engine, hb_session *s, const hb_train_options *o,
                      folder *f, const hb_example *ex, hb_error *err)
{
    const hb_fvec *fv;
    int rc = vectorize(engine, s, o, &f->fine, ex, &fv, err);
    if (rc != 0)
        return rc;
    return fold(f, fv, &o->features) != 0 ? hb_error_set(err, HB_ENOMEM, "out of memory")
                                          : 0;
}

/* Document frequency of every text bucket over the folded rows, turned
 * into smoothed IDF (scikit-learn's formula: ln((1+N)/(1+df)) + 1); buckets
 * with fewer than min_df rows (none of their n-grams kept) get 0, so they
 * are ignored everywhere. */
static int compute_idf(const hb_engine *engine, const hb_dataset *ds,
                       const hb_train_options *o, rows *r, folder *f, hb_session *s,
                       hb_error *err)
{
    uint32_t *df = calloc(r->dim, sizeof *df);
    r->idf = malloc(r->dim * sizeof *r->idf);
    if (!df || !r->idf) {
        free(df);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    for (int pass = f->fine_df ? 0 : 1; pass < 2; pass++)
        for (size_t i = 0; i < ds->n; i++) {
            const hb_fvec *fv;
            if (pass == 0 &&
                vectorize(engine, s, o, &f->fine, &ds->rows[i], &fv, NULL) == 0)
                count_fine_df(f, fv);
            /* build_rows reports real errors */
            if (pass == 1 && folded_row(engine, s, o, f, &ds->rows[i], NULL) == 0)
                for (size_t e = 0; e < f->row.n; e++)
                    if (f->row.group[e] < HB_TEXT_GROUPS && f->row.val[e] != 0.0f)
                        df[f->row.idx[e]]++;
            if (i % 256 == 0 || i + 1 == ds->n)
                progress(o, "document frequency", i + 1, ds->n);
        }
    double n = (double)ds->n;
    for (size_t j = 0; j < r->dim; j++)
        r->idf[j] = df[j] >= (uint32_t)o->features.min_df
                        ? (float)(log((1.0 + n) / (1.0 + df[j])) + 1.0)
                        : 0.0f;
    free(df);
    return 0;
}

static int build_rows(const hb_engine *engine, const hb_dataset *ds,
                      const hb_label_map *map, const hb_train_options *o, rows *r,
                      hb_error *err)
{
    size_t n = ds->n;
    r->n = n;
    r->dim = (size_t)1 << o->features.hash_bits;
    r->x = calloc(n, sizeof(struct feature_node *));
    r->y = calloc(n, sizeof *r->y);
    r->label = calloc(n, sizeof *r->label);
    r->rule_w = calloc(n, sizeof *r->rule_w);
    r->fold = calloc(n, sizeof *r->fold);
    r->group = calloc(n, sizeof *r->group);
    r->script = calloc(n, sizeof *r->script);
    hb_session *s = hb_session_new();
    folder f;
    if (folder_init(&f, o, r->dim) != 0 || !r->x || !r->y || !r->label || !r->rule_w ||
        !r->fold || !r->group || !r->script || !s) {
        folder_free(&f);
        hb_session_free(s);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    hb_dataset_text_keys(ds, r->group);
    for (size_t i = 0; i < n; i++)
        if (!r->group[i]) /* keys are odd: an even one is a group of its own */
            r->group[i] = (uint64_t)i << 1;
    /* store offsets while filling (the pool moves as it grows) */
    size_t *offset = NULL;
    int rc = o->features.use_idf ? compute_idf(engine, ds, o, r, &f, s, err) : 0;
    if (rc != 0)
        goto done;
    if (!(offset = malloc(n * sizeof *offset))) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const hb_example *ex = &ds->rows[i];
        const hb_fvec *fv = &f.row;
        hb_error ferr;
        int frc = folded_row(engine, s, o, &f, ex, &ferr);
        /* a message that normalises to nothing, or a link too broken to
         * parse, still counts: it is kept as an empty vector and reported */
        if (frc == HB_EEMPTY || (frc == HB_EINVAL && strcmp(o->kind, "url") == 0)) {
            if (r->unusable++ == 0)
                snprintf(r->first_unusable, sizeof r->first_unusable, "%s:%d: %s",
                         ex->file, ex->line, ferr.message);
        } else if (frc != 0) {
            rc = hb_error_set(err, frc, "%s:%d: %s", ex->file, ex->line, ferr.message);
            goto done;
        }
        size_t need = (frc == 0 ? fv->n : 0) + 2;
        if (r->pool_used + need > r->pool_cap) {
            size_t cap = r->pool_cap ? r->pool_cap * 2 : 1 << 16;
            while (cap < r->pool_used + need)
                cap *= 2;
            struct feature_node *p = realloc(r->pool, cap * sizeof *p);
            if (!p) {
                rc = hb_error_set(err, HB_ENOMEM, "out of memory");
                goto done;
            }
            r->pool = p;
            r->pool_cap = cap;
        }
        assert(r->pool); /* it has room for need (at least 2) entries */
        offset[i] = r->pool_used;
        struct feature_node *node = r->pool + r->pool_used;
        size_t k = 0;
        if (frc == 0) {
            /* the vector the model will score (hb_model_decision), without
             * the n-grams pruned by min_df */
            hb_norms norms;
            hb_fvec_norms(fv, r->idf, &norms);
            for (size_t e = 0; e < fv->n; e++) {
                double x = hb_fvec_value(fv, e, r->idf, &norms);
                if (x != 0.0)
                    node[k++] = (struct feature_node){(int)fv->idx[e] + 1, x};
            }
            if (strcmp(o->kind, "text") == 0) {
                r->rule_w[i] = hb_session_rule_weight(engine, s, o->task);
                r->script[i] = hb_session_script(s);
            }
        }
        node[k++] = (struct feature_node){(int)r->dim + 1, 1.0}; /* bias */
        node[k++] = (struct feature_node){-1, 0.0};
        r->pool_used += k;
        r->label[i] = hb_label_map_classify(map, ex->label) == 1;
        r->y[i] = r->label[i] ? 1.0 : -1.0;
        if (i % 256 == 0 || i + 1 == n)
            progress(o, "features", i + 1, n);
    }
    /* every row is in the pool, which moves no more */
    for (size_t i = 0; i < n; i++)
        r->x[i] = r->pool + offset[i];
done:
    free(offset);
    folder_free(&f);
    hb_session_free(s);
    return rc;
}

typedef struct grouped_row {
    uint64_t group;
    size_t row;
} grouped_row;

static int cmp_grouped(const void *a, const void *b)
{
    const grouped_row *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

int hb_assign_folds(const uint64_t *group, const int *label, size_t n, int folds,
                    unsigned long seed, int *fold)
{
    uint64_t state = seed;
    grouped_row *by_group = malloc((n ? n : 1) * sizeof *by_group);
    size_t *first = malloc((n ? n : 1) * sizeof *first); /* each group's first row */
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);     /* one class's groups */
    if (!by_group || !first || !idx) {
        free(by_group);
        free(first);
        free(idx);
        return HB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        by_group[i] = (grouped_row){group[i], i};
    qsort(by_group, n, sizeof *by_group, cmp_grouped);
    size_t ngroups = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || by_group[i].group != by_group[i - 1].group)
            first[ngroups++] = by_group[i].row;
    for (int cls = 0; cls <= 1; cls++) {
        size_t m = 0;
        for (size_t g = 0; g < ngroups; g++)
            if (label[first[g]] == cls)
                idx[m++] = first[g];
        for (size_t i = m; i > 1; i--) {
            size_t j = (size_t)(next_random(&state) % i);
            size_t t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        for (size_t i = 0; i < m; i++)
            fold[idx[i]] = (int)(i % (size_t)folds);
    }
    /* the other rows of a group follow its first row */
    for (size_t i = 1; i < n; i++)
        if (by_group[i].group == by_group[i - 1].group)
            fold[by_group[i].row] = fold[by_group[i - 1].row];
    free(idx);
    free(by_group);
    free(first);
    return 0;
}

/* Train on the rows whose fold differs from skip (skip < 0: all rows). */
static struct model *fit(const rows *r, int skip, double c, unsigned long seed)
{
    struct problem prob;
    size_t m = 0;
    struct feature_node **x = malloc(r->n * sizeof(struct feature_node *));
    double *y = malloc(r->n * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return NULL;
    }
    size_t npos = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->fold[i] != skip) {
            x[m] = r->x[i];
            y[m] = r->y[i];
            npos += r->label[i];
            m++;
        }
    prob.l = (int)m;
    prob.n = (int)r->dim + 1;
    prob.x = x;
    prob.y = y;
    prob.bias = 1.0;
    /* balanced class weights, as scikit-learn's class_weight="balanced" */
    int wl[2] = {1, -1};
    double wv[2] = {npos ? (double)m / (2.0 * (double)npos) : 1.0,
                    m > npos ? (double)m / (2.0 * (double)(m - npos)) : 1.0};
    struct parameter param;
    memset(&param, 0, sizeof param);
    param.solver_type = L2R_L2LOSS_SVC_DUAL;
    param.eps = 0.01;
    param.C = c;
    param.nr_weight = 2;
    param.weight_label = wl;
    param.weight = wv;
    srand((unsigned)seed); /* liblinear shuffles with rand() */
    struct model *model = train(&prob, &param);
    free(x);
    free(y);
    return model;
}

/* Decision value of row x: positive means the positive class. */
static double decide(const struct model *model, const struct feature_node *x)
{
    double dec = 0;
    predict_values(model, x, &dec);
    return model->label[0] == 1 ? dec : -dec;
}

/* Cross-entropy of the sigmoid 1/(1+exp(A*d+B)) against the targets,
 * each class weighted (wp, wn). */
static double platt_loss(const double *d, const int *y, size_t n, double hi, double lo,
                         double wp, double wn, double A, double B)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        double t = y[i] ? hi : lo, z = d[i] * A + B;
        loss += (y[i] ? wp : wn) *
                (z >= 0 ? t * z + log1p(exp(-z)) : (t - 1) * z + log1p(exp(z)));
    }
    return loss;
}

void hb_platt_fit_weighted(const double *d, const int *y, size_t n, double wp, double wn,
                           double *a, double *b)
{
    double npos = 0, nneg = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i])
            npos += 1;
        else
            nneg += 1;
    }
    /* Platt's targets, pulled off 0 and 1 to avoid overfitting */
    double hi = (npos + 1) / (npos + 2), lo = 1 / (nneg + 2);
    double A = 0, B = log((wn * nneg + 1) / (wp * npos + 1));
    double f = platt_loss(d, y, n, hi, lo, wp, wn, A, B);
    for (int iter = 0; iter < 100; iter++) {
        /* Newton step on the cross-entropy, with a small ridge */
        double h11 = 1e-12, h22 = 1e-12, h21 = 0, g1 = 0, g2 = 0;
        for (size_t i = 0; i < n; i++) {
            double t = y[i] ? hi : lo, z = d[i] * A + B, w = y[i] ? wp : wn;
            double p = z >= 0 ? exp(-z) / (1 + exp(-z)) : 1 / (1 + exp(z));
            double q = 1 - p, pq = w * p * q;
            h11 += d[i] * d[i] * pq;
            h22 += pq;
            h21 += d[i] * pq;
            g1 += w * d[i] * (t - p);
            g2 += w * (t - p);
        }
        if (fabs(g1) < 1e-5 && fabs(g2) < 1e-5)
            break;
        double det = h11 * h22 - h21 * h21;
        double dA = -(h22 * g1 - h21 * g2) / det;
        double dB = -(-h21 * g1 + h11 * g2) / det;
        double gd = g1 * dA + g2 * dB, step = 1;
        while (step >= 1e-10) {
            double nf = platt_loss(d, y, n, hi, lo, wp, wn, A + step * dA, B + step * dB);
            if (nf < f + 1e-4 * step * gd) {
                A += step * dA;
                B += step * dB;
                f = nf;
                break;
            }
            step /= 2;
        }
        if (step < 1e-10)
            break;
    }
    *a = A;
    *b = B;
}

void hb_platt_fit(const double *d, const int *y, size_t n, double *a, double *b)
{
    hb_platt_fit_weighted(d, y, n, 1.0, 1.0, a, b);
}

/* Class weights for the Platt fit of the rows in mask (all rows when NULL). */
static void platt_weights(const hb_train_options *o, const rows *r, const int *mask,
                          int want, double *wp, double *wn)
{
    size_t n = 0, pos = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!mask || mask[i] == want) {
            n++;
            pos += (size_t)r->label[i];
        }
    *wp = *wn = 1.0;
    if (o->balanced_calibration && pos && pos < n) {
        *wp = (double)n / (2.0 * (double)pos);
        *wn = (double)n / (2.0 * (double)(n - pos));
    }
}

/* A model trained on Chinese and English at once gets a calibration and a
 * threshold per script when each script has enough rows of both classes
 * (one pooled threshold serves the bigger language and fails the other).
 * r and dec are the out-of-fold decisions of every run (pool_runs).
 * Fills pred[] with every decision's call and returns the manifest's
 * "by_script" object, or NULL when pooled is all there is. */
static json_t *calibrate_by_script(const rows *r, const double *dec, double *prob,
                                   const hb_train_options *o, const hb_train_result *res,
                                   int *pred)
{
    static const char *const NAME[HB_SCRIPTS] = {"other", "cjk"};
    enum { MIN_ROWS = 30 };
    json_t *by = NULL;
    for (size_t i = 0; i < r->n; i++)
        pred[i] = prob[i] >= res->threshold;
    if (strcmp(o->kind, "text") != 0)
        return NULL;
    double *d = malloc(r->n * sizeof *d), *p = malloc(r->n * sizeof *p);
    int *y = malloc(r->n * sizeof *y);
    size_t *idx = malloc(r->n * sizeof *idx);
    for (int k = 0; d && p && y && idx && k < HB_SCRIPTS; k++) {
        size_t m = 0, pos = 0;
        for (size_t i = 0; i < r->n; i++)
            if (r->script[i] == k) {
                idx[m] = i;
                d[m] = dec[i];
                y[m] = r->label[i];
                pos += (size_t)y[m++];
            }
        size_t runs = (size_t)o->repeats; /* r holds each row this often */
        if (pos < MIN_ROWS * runs || m - pos < MIN_ROWS * runs || m == r->n)
            continue;
        double wp, wn, a, b;
        platt_weights(o, r, r->script, k, &wp, &wn);
        hb_platt_fit_weighted(d, y, m, wp, wn, &a, &b);
        for (size_t j = 0; j < m; j++)
            p[j] = 1.0 / (1.0 + exp(a * d[j] + b));
        double t = hb_metrics_steady_threshold(p, y, m, o->max_fpr, THRESHOLD_WINDOW);
        double possible = possible_threshold(p, y, m, t, o);
        for (size_t j = 0; j < m; j++)
            pred[idx[j]] = p[j] >= t;
        if (!by)
            by = json_object();
        json_object_set_new(by, NAME[k],
                            json_pack("{s:f, s:f, s:f, s:f, s:I, s:I}", "a", a, "b", b,
                                      "threshold", t, "possible_threshold", possible,
                                      "rows", (json_int_t)(m / runs), "positives",
                                      (json_int_t)(pos / runs)));
    }
    free(d);
    free(p);
    free(y);
    free(idx);
    return by;
}

/* The out-of-fold SVM margins for cost c: o->repeats cross-validation
 * runs, run k with folds drawn from seed + k (so every C and scale is
 * judged on the same folds), its margin for row i at margin[k * r->n + i].
 * 0 or HB_ENOMEM.  step counts the fits done, for the progress bar. */
static int out_of_fold(rows *r, const hb_train_options *o, double c, double *margin,
                       size_t *step, size_t steps)
{
    for (int k = 0; k < o->repeats; k++) {
        if (hb_assign_folds(r->group, r->label, r->n, o->folds,
                            o->seed + (unsigned long)k, r->fold) != 0)
            return HB_ENOMEM;
        double *run = margin + (size_t)k * r->n;
        for (int f = 0; f < o->folds; f++) {
            struct model *m = fit(r, f, c, o->seed);
            if (!m)
                return HB_ENOMEM;
            for (size_t i = 0; i < r->n; i++)
                if (r->fold[i] == f)
                    run[i] = decide(m, r->x[i]);
            free_and_destroy_model(&m);
            progress(o, "cross-validation", ++*step, steps);
        }
    }
    return 0;
}

/* The rows as the out-of-fold decisions of all runs see them: entry
 * k * r->n + i is row i in run k, with its label, script and rule weight.
 * Each entry is the held-out decision of one model, as a new message's
 * will be; averaging the runs per row instead would give steadier
 * decisions than any one model and so a too-confident calibration.  Only
 * label, script, rule_w and n are set.  0 or HB_ENOMEM. */
static int pool_runs(const rows *r, int repeats, rows *pooled)
{
    memset(pooled, 0, sizeof *pooled);
    size_t n = r->n * (size_t)repeats;
    pooled->label = malloc(n * sizeof *pooled->label);
    pooled->script = malloc(n * sizeof *pooled->script);
    pooled->rule_w = malloc(n * sizeof *pooled->rule_w);
    if (!pooled->label || !pooled->script || !pooled->rule_w)
        return HB_ENOMEM;
    for (size_t k = 0; k < n; k += r->n) {
        memcpy(pooled->label + k, r->label, r->n * sizeof *r->label);
        memcpy(pooled->script + k, r->script, r->n * sizeof *r->script);
        memcpy(pooled->rule_w + k, r->rule_w, r->n * sizeof *r->rule_w);
    }
    pooled->n = n;
    return 0;
}

/* The rule and entity features of the rows: entries in buckets with IDF 0,
 * which hold only these (text entries there are 0 and never stored). */
static int is_named(const rows *r, const struct feature_node *x)
{
    return (size_t)x->index <= r->dim && r->idf[x->index - 1] == 0.0f;
}

/* Their values as built, in row order, so that set_named can give them any
 * factor, 0 included, and return.  NULL with *count 0 when there are none
 * (or no IDF to tell them apart); NULL with *count > 0 when out of memory. */
static double *save_named(const rows *r, size_t *count)
{
    *count = 0;
    if (!r->idf)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        for (const struct feature_node *x = r->x[i]; x->index != -1; x++)
            *count += (size_t)is_named(r, x);
    /* zeroed: the pass below fills every entry, but the analyzer cannot
     * match its float tests to the count's */
    double *v = *count ? calloc(*count, sizeof *v) : NULL;
    size_t k = 0;
    for (size_t i = 0; v && i < r->n; i++)
        for (const struct feature_node *x = r->x[i]; x->index != -1; x++)
            if (is_named(r, x))
                v[k++] = x->value;
    return v;
}

/* Give every rule and entity feature factor times its value as built
 * (saved by save_named).  Training on factor*x and scoring x with the
 * weight times factor is the same model, so the factor only sets how much
 * the regulariser lets the SVM lean on these unnormalised features (a rule
 * id is worth 1, a typical n-gram 0.05-0.2); 0 leaves them out. */
static void set_named(rows *r, const double *built, double factor)
{
    size_t k = 0;
    for (size_t i = 0; built && i < r->n; i++)
        for (struct feature_node *x = r->x[i]; x->index != -1; x++)
            if (is_named(r, x))
                x->value = built[k++] * factor;
}

/* How far to trust the hand-set rule weights is learned too, for each
 * script on its own rows (out-of-fold margins in margin): rules written for
 * Chinese scams must not be trusted less because English data needs them
 * less.  sub_d and sub_y are scratch of r->n entries. */
static void choose_rule_scale(const hb_train_options *o, const rows *r,
                              const double *margin, double *sub_d, int *sub_y,
                              double scale[HB_SCRIPTS])
{
    static const double SCALE_GRID[] = {0.0, 0.25, 0.5, 1.0};
    for (int k = 0; k < HB_SCRIPTS; k++) {
        double fixed =
            o->rule_scale_script[k] >= 0 ? o->rule_scale_script[k] : o->rule_scale;
        scale[k] = fixed >= 0 ? fixed : SCALE_GRID[0];
        if (fixed >= 0)
            continue;
        double best_k = -2;
        for (size_t si = 0; si < sizeof SCALE_GRID / sizeof SCALE_GRID[0]; si++) {
            size_t m = 0;
            for (size_t i = 0; i < r->n; i++)
                if (r->script[i] == k) {
                    sub_d[m] = margin[i] + SCALE_GRID[si] * r->rule_w[i];
                    sub_y[m++] = r->label[i];
                }
            double t = hb_metrics_best_threshold(sub_d, sub_y, m, 0);
            hb_metrics mk;
            hb_metrics_compute(sub_d, sub_y, m, t, &mk);
            if (mk.mcc > best_k) {
                best_k = mk.mcc;
                scale[k] = SCALE_GRID[si];
            }
        }
    }
}

static json_t *metrics_json(const hb_metrics *m)
{
    return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I}", "n",
                     (json_int_t)m->n, "accuracy", m->accuracy, "precision", m->precision,
                     "recall", m->recall, "f1", m->f1, "mcc", m->mcc, "auc",
                     isnan(m->auc) ? 0.0 : m->auc, "ece", m->ece, "tp", (json_int_t)m->tp,
                     "fp", (json_int_t)m->fp, "tn", (json_int_t)m->tn, "fn",
                     (json_int_t)m->fn);
}

/* The type model (step 6): the positive rows labelled o->type_prefix
 * followed by a type of the engine's catalog, their rule and entity
 * features at full value (named_built), written into manifest and
 * out_dir.  Types are in the order the rows first show them. */
static int train_types(const hb_engine *engine, const hb_dataset *ds,
                       const hb_train_options *o, rows *r, const double *named_built,
                       const char *out_dir, json_t *manifest, hb_train_result *res,
                       hb_error *err)
{
    size_t plen = strlen(o->type_prefix), k = 0;
    const char *classes[HB_TYPE_CLASSES_MAX];
    int *cls = malloc(r->n * sizeof *cls);
    const struct feature_node **x = malloc(r->n * sizeof(struct feature_node *));
    uint64_t *group = malloc(r->n * sizeof *group);
    if (!cls || !x || !group) {
        free(cls);
        free(x);
        free(group);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    const hb_catalog *cat = hb_engine_catalog(engine);
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        const char *label = ds->rows[i].label;
        if (!r->label[i] || strncmp(label, o->type_prefix, plen) != 0 ||
            !hb_catalog_find(cat, label + plen))
            continue;
        size_t c = 0;
        while (c < k && strcmp(classes[c], label + plen) != 0)
            c++;
        if (c == k) {
            if (k == HB_TYPE_CLASSES_MAX)
                continue;
            classes[k++] = label + plen;
        }
        cls[n] = (int)c;
        x[n] = r->x[i];
        group[n++] = r->group[i];
    }
    set_named(r, named_built, 1.0);
    /* its own grid: the types are nearly separable, and the best C sat at
     * the top of the fraud grid (2); past 16 the held-out share typed
     * right rises by under a point (256: +0.3) */
    static const double TYPE_C_GRID[] = {0.5, 1.0, 2.0, 4.0, 8.0, 16.0};
    hb_type_train_options to = {
        classes,  k,       o->type_bits, r->dim,
        o->folds, o->seed, TYPE_C_GRID,  sizeof TYPE_C_GRID / sizeof TYPE_C_GRID[0]};
    json_t *spec = NULL;
    float *w = NULL;
    int rc = k < 2 ? hb_error_set(err, HB_EINVAL,
                                  "type model: need rows of at least 2 types "
                                  "labelled %s<type> (types.tsv), have %zu",
                                  o->type_prefix, k)
                   : hb_type_train(x, cls, group, n, &to, &spec, &w, err);
    if (rc == 0)
        rc = hb_model_save_types(out_dir, manifest, spec, w, err);
    res->typed = n;
    json_decref(spec);
    free(w);
    free(cls);
    free(x);
    free(group);
    return rc;
}

int hb_train_text(const hb_engine *engine, const hb_dataset *ds, const hb_label_map *map,
                  const hb_train_options *o, const char *out_dir, const json_t *extra,
                  hb_train_result *res, hb_error *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(res, 0, sizeof *res);
    if (o->folds < 2 || o->folds > 10 || o->repeats < 1 || o->repeats > 10 ||
        o->nc == 0 || o->nc > 8)
        return hb_error_set(err, HB_EINVAL,
                            "folds and repeats must be 2..10 "
                            "and 1..10, the C grid 1..8 values");
    int rc = hb_label_map_check(map, ds, err);
    if (rc != 0)
        return rc;
    rows r, pooled;
    memset(&r, 0, sizeof r);
    memset(&pooled, 0, sizeof pooled);
    set_print_string_function(quiet);
    double *dec = NULL, *best_dec = NULL, *prob = NULL, *margin = NULL;
    int *pred = NULL;
    json_t *by_script = NULL;
    float *w = NULL;
    json_t *manifest = NULL;
    double *named_built = NULL; /* rule and entity feature values as built */
    if ((rc = build_rows(engine, ds, map, o, &r, err)) != 0)
        goto done;
    for (size_t i = 0; i < r.n; i++)
        res->npositive += (size_t)r.label[i];
    res->n = r.n;
    res->unusable = r.unusable;
    snprintf(res->first_unusable, sizeof res->first_unusable, "%s", r.first_unusable);
    if (res->npositive < (size_t)o->folds || r.n - res->npositive < (size_t)o->folds) {
        rc = hb_error_set(err, HB_EINVAL,
                          "need at least %d positive and %d negative rows for "
                          "task %s (have %zu and %zu): check the labels or "
                          "--positive",
                          o->folds, o->folds, o->task, res->npositive,
                          r.n - res->npositive);
        goto done;
    }

    /* the out-of-fold decisions of every run (pool_runs) */
    if (pool_runs(&r, o->repeats, &pooled) != 0) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    size_t np = pooled.n;
    dec = malloc(np * sizeof *dec);
    best_dec = malloc(np * sizeof *best_dec);
    margin = malloc(np * sizeof *margin);
    prob = malloc(np * sizeof *prob);
    pred = malloc(np * sizeof *pred);
    if (!dec || !best_dec || !prob || !margin || !pred) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    double *sub_d = malloc(np * sizeof *sub_d);
    int *sub_y = malloc(np * sizeof *sub_y);
    if (!sub_d || !sub_y) {
        free(sub_d);
        free(sub_y);
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    /* rule and entity features at full value, damped or left out
     * (set_named) */
    static const double NAMED_GRID[] = {1.0, 0.3, 0.0};
    size_t n_named;
    named_built = save_named(&r, &n_named);
    if (!named_built && n_named) {
        free(sub_d);
        free(sub_y);
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    size_t nn = o->named_scale >= 0 || !named_built ? 1 : 3;
    double best_mcc = -2;
    size_t step = 0, steps = nn * o->nc * (size_t)(o->folds * o->repeats) + 1;
    for (size_t ni = 0; ni < nn; ni++) {
        double named = !named_built          ? 1.0 /* none to scale */
                       : o->named_scale >= 0 ? o->named_scale
                                             : NAMED_GRID[ni];
        set_named(&r, named_built, named);
        for (size_t ci = 0; ci < o->nc; ci++) {
            if (out_of_fold(&r, o, o->c_grid[ci], margin, &step, steps) != 0) {
                free(sub_d);
                free(sub_y);
                rc = hb_error_set(err, HB_ENOMEM, "training failed (out of memory)");
                goto done;
            }
            double scale[HB_SCRIPTS];
            choose_rule_scale(o, &pooled, margin, sub_d, sub_y, scale);
            for (size_t i = 0; i < np; i++)
                dec[i] = margin[i] + scale[pooled.script[i]] * pooled.rule_w[i];
            double t = hb_metrics_best_threshold(dec, pooled.label, np, 0);
            hb_metrics m;
            hb_metrics_compute(dec, pooled.label, np, t, &m);
            /* the first candidate is taken, so best_dec is always set */
            if ((ni == 0 && ci == 0) || m.mcc > best_mcc) {
                best_mcc = m.mcc;
                res->c = o->c_grid[ci];
                res->named_scale = named;
                memcpy(res->rule_scale_script, scale, sizeof scale);
                res->rule_scale = scale[HB_SCRIPT_OTHER];
                memcpy(best_dec, dec, np * sizeof *dec);
            }
        }
    }
    set_named(&r, named_built, res->named_scale);
    free(sub_d);
    free(sub_y);
    double wp, wn;
    platt_weights(o, &pooled, NULL, 0, &wp, &wn);
    hb_platt_fit_weighted(best_dec, pooled.label, np, wp, wn, &res->platt_a,
                          &res->platt_b);
    for (size_t i = 0; i < np; i++) {
        double z = res->platt_a * best_dec[i] + res->platt_b;
        prob[i] = 1.0 / (1.0 + exp(z));
    }
    res->threshold =
        hb_metrics_steady_threshold(prob, pooled.label, np, o->max_fpr, THRESHOLD_WINDOW);
    res->possible_threshold =
        possible_threshold(prob, pooled.label, np, res->threshold, o);
    by_script = calibrate_by_script(&pooled, best_dec, prob, o, res, pred);
    /* the manifest's cross-validated metrics: the first run, one decision
     * per training row */
    hb_metrics_compute_pred(prob, pred, r.label, r.n, res->threshold, &res->cv);

    struct model *final = fit(&r, -1, res->c, o->seed);
    progress(o, "final model", steps, steps);
    if (!final) {
        rc = hb_error_set(err, HB_ENOMEM, "training failed (out of memory)");
        goto done;
    }
    w = malloc(r.dim * sizeof *w);
    if (!w) {
        free_and_destroy_model(&final);
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    double sign = final->label[0] == 1 ? 1.0 : -1.0;
    for (size_t j = 0; j < r.dim; j++)
        w[j] = (float)(sign * final->w[j] *
                       (r.idf && r.idf[j] == 0.0f ? res->named_scale : 1.0));
    double bias = sign * final->w[r.dim] * final->bias;
    free_and_destroy_model(&final);

    manifest = json_object();
    json_object_set_new(manifest, "task", json_string(o->task));
    json_object_set_new(manifest, "kind", json_string(o->kind));
    json_object_set_new(manifest, "version", json_string(o->version));
    json_object_set_new(manifest, "labels",
                        json_pack("{s:s, s:s}", "positive", o->positive_name, "negative",
                                  o->negative_name));
    json_object_set_new(manifest, "features", hb_feature_config_to_json(&o->features));
    json_object_set_new(manifest, "threshold", json_real(res->threshold));
    json_object_set_new(manifest, "possible_threshold",
                        json_real(res->possible_threshold));
    json_object_set_new(manifest, "possible_precision", json_real(o->possible_precision));
    json_object_set_new(manifest, "rule_weight_scale", json_real(res->rule_scale));
    json_object_set_new(manifest, "rule_weight_scale_by_script",
                        json_pack("{s:f, s:f}", "other",
                                  res->rule_scale_script[HB_SCRIPT_OTHER], "cjk",
                                  res->rule_scale_script[HB_SCRIPT_CJK]));
    json_object_set_new(manifest, "calibration",
                        json_pack("{s:s, s:f, s:f, s:s, s:O?}", "method", "platt", "a",
                                  res->platt_a, "b", res->platt_b, "prior",
                                  o->balanced_calibration ? "balanced" : "training",
                                  "by_script", by_script));
    json_object_set_new(manifest, "training",
                        json_pack("{s:s, s:f, s:i, s:i, s:I, s:s, s:I, s:I, s:f, s:f}",
                                  "solver", "liblinear L2R_L2LOSS_SVC_DUAL (linear SVM)",
                                  "c", res->c, "folds", o->folds, "repeats", o->repeats,
                                  "seed", (json_int_t)o->seed, "class_weight", "balanced",
                                  "rows", (json_int_t)r.n, "positives",
                                  (json_int_t)res->npositive, "max_fpr", o->max_fpr,
                                  "named_scale", res->named_scale));
    if (r.unusable)
        json_object_set_new(manifest, "unusable_rows",
                            json_pack("{s:I, s:s}", "count", (json_int_t)r.unusable,
                                      "first", r.first_unusable));
    json_object_set_new(manifest, "metrics",
                        json_pack("{s:o}", "cross_validation", metrics_json(&res->cv)));
    if (extra)
        json_object_update(manifest, (json_t *)extra);
    if (o->type_prefix && (rc = train_types(engine, ds, o, &r, named_built, out_dir,
                                            manifest, res, err)) != 0)
        goto done;
    rc = hb_model_save_linear(out_dir, manifest, w, bias, r.idf, o->prune, err);
done:
    free(named_built);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds =
        (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    json_decref(manifest);
    free(w);
    free(dec);
    free(best_dec);
    free(margin);
    free(pred);
    json_decref(by_script);
    free(prob);
    rows_free(&pooled);
    rows_free(&r);
    return rc;
}
