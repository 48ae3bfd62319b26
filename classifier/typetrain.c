/*
 * typetrain.c - training the fraud type model (see typetrain.h).
 */
#include "typetrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer.h"
#include "typemodel.h"

/* The rows with their buckets folded to 2^bits (bias node last). */
typedef struct folded {
    struct feature_node **x;
    struct feature_node *pool;
} folded;

static int cmp_node(const void *a, const void *b)
{
    int x = ((const struct feature_node *)a)->index;
    int y = ((const struct feature_node *)b)->index;
    return (x > y) - (x < y);
}

static int fold_rows(const struct feature_node *const *x, size_t n,
                     const hb_type_train_options *o, folded *f)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        for (const struct feature_node *p = x[i]; p->index != -1; p++)
            total++;
    f->x = malloc(n * sizeof(struct feature_node *));
    f->pool = malloc((total + 2 * n) * sizeof *f->pool);
    if (!f->x || !f->pool)
        return HB_ENOMEM;
    size_t nb = (size_t)1 << o->bits, used = 0;
    for (size_t i = 0; i < n; i++) {
        struct feature_node *row = f->pool + used;
        size_t k = 0;
        for (const struct feature_node *p = x[i]; p->index != -1; p++)
            if (p->index >= 1 && (size_t)p->index <= o->dim && p->value != 0.0)
                row[k++] = (struct feature_node){(int)((size_t)(p->index - 1) % nb) + 1,
                                                 p->value};
        qsort(row, k, sizeof *row, cmp_node);
        size_t m = 0; /* buckets folded together add up */
        for (size_t j = 0; j < k; j++) {
            if (m > 0 && row[m - 1].index == row[j].index)
                row[m - 1].value += row[j].value;
            else
                row[m++] = row[j];
        }
        row[m++] = (struct feature_node){(int)nb + 1, 1.0}; /* bias */
        row[m++] = (struct feature_node){-1, 0.0};
        f->x[i] = row;
        used += m;
    }
    return 0;
}

static struct model *fit(const folded *f, const int *cls, const int *fold, int skip,
                         size_t n, const hb_type_train_options *o, double c)
{
    struct feature_node **x = malloc(n * sizeof(struct feature_node *));
    double *y = malloc(n * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return NULL;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (fold[i] != skip) {
            x[m] = f->x[i];
            y[m++] = cls[i];
        }
    struct problem prob = {
        .l = (int)m, .n = (int)((size_t)1 << o->bits) + 1, .y = y, .x = x, .bias = 1.0};
    struct parameter param;
    memset(&param, 0, sizeof param);
    param.solver_type = L2R_L2LOSS_SVC_DUAL;
    param.eps = 0.01;
    param.C = c;
    srand((unsigned)o->seed); /* liblinear shuffles with rand() */
    struct model *model = train(&prob, &param);
    free(x);
    free(y);
    return model;
}

/* The model's margin for each class (in o->classes order) on row x: a
 * class the model never saw gets -inf. */
static void margins(const struct model *model, const struct feature_node *x, size_t k,
                    double *score)
{
    double dec[HB_TYPE_CLASSES_MAX];
    for (size_t c = 0; c < k; c++)
        score[c] = -INFINITY;
    predict_values(model, x, dec);
    if (model->nr_class == 2) { /* liblinear keeps one vector for two classes */
        score[model->label[0]] = dec[0];
        score[model->label[1]] = -dec[0];
    } else {
        for (int c = 0; c < model->nr_class; c++)
            score[model->label[c]] = dec[c];
    }
}

/* The class with the largest margin. */
static size_t top_class(const double *score, size_t k)
{
    size_t best = 0;
    for (size_t c = 1; c < k; c++)
        if (score[c] > score[best])
            best = c;
    return best;
}

/* Out of fold, a type whose margin is a little below 0 is still right
 * more often than not (on the typed rows of 2026-12-07.1 at C = 16: 97% of the
 * types named above 1, 90% above 0, 78% between -0.2 and 0, under half
 * below -0.4).  The model names a type down to the lowest margin, in steps of
 * 1 / STEPS_PER_UNIT and no lower than -MARGIN_STEPS / STEPS_PER_UNIT
 * (-1), at which the out-of-fold types whose largest margin lies between
 * it and 0 are right at least BAND_RIGHT of the time: below that, the
 * general advice serves a caller better than a type as likely wrong. */
enum { STEPS_PER_UNIT = 20, MARGIN_STEPS = 20 };
static const double BAND_RIGHT = 0.75;

static double lowest_margin(const double *top, const unsigned char *right, size_t n)
{
    double cut = 0.0;
    for (int s = 1; s <= MARGIN_STEPS; s++) {
        double t = -(double)s / STEPS_PER_UNIT; /* -0.3, not -0.30000000000000004 */
        size_t in = 0, ok = 0;
        for (size_t i = 0; i < n; i++)
            if (top[i] > t && top[i] <= 0.0) {
                in++;
                ok += right[i];
            }
        if (in == 0 || (double)ok < BAND_RIGHT * (double)in)
            break;
        cut = t;
    }
    return cut;
}

/* The weights of model in the file's layout, and its biases. */
static float *weights(const struct model *model, const hb_type_train_options *o,
                      double *bias)
{
    size_t nb = (size_t)1 << o->bits, k = o->nclasses;
    int nr_w = model->nr_class == 2 ? 1 : model->nr_class;
    float *w = calloc(nb * k, sizeof *w);
    if (!w)
        return NULL;
    for (size_t c = 0; c < k; c++)
        bias[c] = 0.0;
    for (int c = 0; c < nr_w; c++) {
        int cls = model->label[c];
        for (size_t j = 0; j < nb; j++) {
            double v = model->w[j * (size_t)nr_w + (size_t)c];
            w[j * k + (size_t)cls] = (float)v;
            if (nr_w == 1)
                w[j * k + (size_t)model->label[1]] = (float)-v;
        }
        bias[cls] = model->w[nb * (size_t)nr_w + (size_t)c] * model->bias;
        if (nr_w == 1)
            bias[model->label[1]] = -bias[cls];
    }
    return w;
}

int hb_type_train(const struct feature_node *const *x, const int *cls,
                  const uint64_t *group, size_t n, const hb_type_train_options *o,
                  json_t **spec, float **w_out, hb_error *err)
{
    *spec = NULL;
    *w_out = NULL;
    size_t k = o->nclasses;
    if (k < 2 || k > HB_TYPE_CLASSES_MAX || o->bits < HB_TYPE_BITS_MIN ||
        o->bits > HB_TYPE_BITS_MAX || o->folds < 2 || o->folds > 10 || o->nc == 0)
        return hb_error_set(err, HB_EINVAL,
                            "type model: need 2..%d types, hash bits %d..%d, "
                            "2..10 folds and a C grid",
                            HB_TYPE_CLASSES_MAX, HB_TYPE_BITS_MIN, HB_TYPE_BITS_MAX);
    size_t count[HB_TYPE_CLASSES_MAX] = {0};
    for (size_t i = 0; i < n; i++)
        count[cls[i]]++;
    for (size_t c = 0; c < k; c++)
        if (count[c] == 0)
            return hb_error_set(err, HB_EINVAL, "type model: no row of type %s",
                                o->classes[c]);
    folded f = {0};
    int *fold = malloc(n * sizeof *fold);
    int *none = calloc(n, sizeof *none); /* folds are dealt by group only */
    int rc = !fold || !none ? HB_ENOMEM : fold_rows(x, n, o, &f);
    if (rc == 0)
        rc = hb_assign_folds(group, none, n, o->folds, o->seed, fold);
    /* out of fold, per row: the largest margin and whether its class is right */
    double *top = calloc(n, sizeof *top);
    unsigned char *top_right = calloc(n, 1);
    if (rc == 0 && (!top || !top_right))
        rc = HB_ENOMEM;
    double best_right = -1, best_typed = 0, best_c = o->c_grid[0], best_cut = 0;
    for (size_t ci = 0; rc == 0 && ci < o->nc; ci++) {
        for (int fi = 0; rc == 0 && fi < o->folds; fi++) {
            struct model *m = fit(&f, cls, fold, fi, n, o, o->c_grid[ci]);
            if (!m) {
                rc = HB_ENOMEM;
                break;
            }
            for (size_t i = 0; i < n; i++) {
                if (fold[i] != fi)
                    continue;
                double score[HB_TYPE_CLASSES_MAX];
                margins(m, f.x[i], k, score);
                size_t p = top_class(score, k);
                top[i] = score[p];
                top_right[i] = (int)p == cls[i];
            }
            free_and_destroy_model(&m);
        }
        if (rc != 0)
            break;
        /* C is judged by the rule it will run with: its own cut-off */
        double cut = lowest_margin(top, top_right, n);
        size_t right = 0, typed = 0;
        for (size_t i = 0; i < n; i++)
            if (top[i] > cut) {
                typed++;
                right += top_right[i];
            }
        if ((double)right / (double)n > best_right) {
            best_right = (double)right / (double)n;
            best_typed = (double)typed / (double)n;
            best_c = o->c_grid[ci];
            best_cut = cut;
        }
    }
    free(top);
    free(top_right);
    struct model *final = rc == 0 ? fit(&f, cls, fold, -1, n, o, best_c) : NULL;
    double bias[HB_TYPE_CLASSES_MAX];
    float *w = final ? weights(final, o, bias) : NULL;
    if (rc == 0 && !w)
        rc = HB_ENOMEM;
    if (final)
        free_and_destroy_model(&final);
    if (rc == 0) {
        json_t *classes = json_array(), *biases = json_array(), *rows = json_object();
        for (size_t c = 0; c < k; c++) {
            json_array_append_new(classes, json_string(o->classes[c]));
            json_array_append_new(biases, json_real(bias[c]));
            json_object_set_new(rows, o->classes[c], json_integer((json_int_t)count[c]));
        }
        *spec = json_pack("{s:i, s:o, s:o, s:f, s:f, s:o, s:{s:{s:i, s:I, s:f, s:f}}}",
                          "hash_bits", (int)o->bits, "classes", classes, "bias", biases,
                          "min_margin", best_cut, "c", best_c, "rows", rows, "metrics",
                          "cross_validation", "folds", o->folds, "n", (json_int_t)n,
                          "typed", best_typed, "right", best_right);
        if (!*spec)
            rc = HB_ENOMEM;
    }
    free(fold);
    free(none);
    free(f.x);
    free(f.pool);
    if (rc != 0) {
        free(w);
        return hb_error_set(err, rc, "type model: out of memory");
    }
    *w_out = w;
    return 0;
}
