/*
 * model.c - model bundles (see model.h).
 *
 * libsvm's own loader does the parsing of model.svm; this file adds what
 * libsvm does not know: the manifest, the checksum that protects the file,
 * and the collapse of a linear model's support vectors into one weight
 * vector w = sum_i coef_i * sv_i, so that scoring costs O(features) instead
 * of O(support vectors x features).
 */
#include "model.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libsvm/svm.h>
#include <xxhash.h>

#include "half.h"
#include "typemodel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#define MANIFEST_FORMAT "hubao-model/1"
#define MAX_MODEL_BYTES (256u << 20)

/* Rows of 2^bits buckets: each row holds `cols` weights (one per model
 * sharing the table) then as many IDFs, as half-precision floats (half.h),
 * so a worker holds twice the buckets in the same memory.  Alone a model
 * has rows {w, idf}; fused, HB_FUSE_MAX models fill rows of 16 bytes, so
 * all of them read a feature from one cache line. */
typedef struct weight_table {
    uint16_t *rows;
    size_t cols;
    int refs;
    int f16c; /* fused rows may be decoded with x86's F16C */
} weight_table;

#if defined(__x86_64__) && defined(__GNUC__)
/* F16C from CPUID leaf 1 (clang's __builtin_cpu_supports does not know
 * "f16c"); "avx" also says the OS saves the YMM registers. */
static int cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) &&
           (c & bit_F16C);
}
#endif

enum { HUGE_PAGE = 2 << 20 };

static uint16_t *row(const weight_table *t, uint32_t bucket)
{
    return t->rows + (size_t)bucket * 2 * t->cols;
}

static weight_table *table_new(size_t dim, size_t cols)
{
    weight_table *t = malloc(sizeof *t);
    size_t bytes = dim * 2 * cols * sizeof(uint16_t);
    /* Features land on random rows megabytes apart: with 4 KiB pages
     * nearly every one also misses the TLB, so ask for huge pages (the
     * kernel may say no; the table works either way).  Aligned so rows of
     * 16 bytes never straddle a cache line. */
    size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : 64;
    bytes = (bytes + align - 1) / align * align;
    if (!t || !(t->rows = aligned_alloc(align, bytes))) {
        free(t);
        return NULL;
    }
    if (align == HUGE_PAGE)
        madvise(t->rows, bytes, MADV_HUGEPAGE);
    /* not zeroed: every caller writes every value of every row, and pages
     * are then touched only as they are written (see hb_models_fuse) */
    t->cols = cols;
    t->refs = 1;
    t->f16c = 0;
    return t;
}

/* Give the whole pages inside [from, to) back to the kernel: memory that
 * will not be read again before it is freed. */
static void drop_pages(const uint16_t *from, const uint16_t *to)
{
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)from + page - 1) & ~(page - 1);
    uintptr_t b = (uintptr_t)to & ~(page - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

static void table_release(weight_table *t)
{
    if (t && --t->refs == 0) {
        free(t->rows);
        free(t);
    }
}

struct hb_model {
    char *dir;
    json_t *manifest;
    const char *task, *kind, *version, *positive, *negative;
    hb_feature_config features;
    double threshold;
    double possible_threshold; /* the "possible" tier; == threshold: none */
    double override_at;        /* URL models: probability that makes a message fraud */
    double rule_scale;
    double rule_scale_script[HB_SCRIPTS];
    double platt_a, platt_b;
    /* per-script calibration and threshold, when the manifest has them */
    struct script_calibration {
        int present;
        double a, b, threshold, possible_threshold;
    } by_script[HB_SCRIPTS];
    /* linear models: weight and IDF of each bucket side by side, so a
     * feature costs one cache line (w is only used while loading); the
     * table may be shared with other models (hb_models_fuse) */
    weight_table *table;
    size_t slot; /* this model's column in the table's rows */
    float *w;
    size_t dim;
    double bias;
    float *idf; /* kernel models: per-bucket IDF (0 = ignored bucket), or NULL */
    /* kernel models */
    struct svm_model *svm;
    double svm_sign;      /* +1 if libsvm's first label is the positive class */
    hb_type_model *types; /* the fraud type model, or NULL (typemodel.h) */
};

/* Read a whole file into a malloc'd buffer (*data NULL and *len 0 on
 * failure). */
static int read_file(const char *path, char **data, size_t *len, hb_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                            "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > MAX_MODEL_BYTES) {
                free(buf);
                fclose(f);
                return hb_error_set(err, HB_ETOOBIG, "%s: larger than %u MiB", path,
                                    MAX_MODEL_BYTES >> 20);
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return hb_error_set(err, HB_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return hb_error_set(err, HB_EIO, "%s: read error", path);
    }
    *data = buf;
    *len = used;
    return 0;
}

static const char *get_string(const json_t *obj, const char *key, const char *fallback)
{
    const json_t *s = json_object_get(obj, key);
    return json_is_string(s) ? json_string_value(s) : fallback;
}

static int get_number(const json_t *obj, const char *key, double *out)
{
    const json_t *n = json_object_get(obj, key);
    if (!json_is_number(n))
        return -1;
    *out = json_number_value(n);
    return isfinite(*out) ? 0 : -1;
}

/* "possible_threshold" of obj: 0..likely, or likely when absent (no
 * possible tier).  -1 when present but not such a number. */
static int get_possible_threshold(const json_t *obj, double likely, double *out)
{
    *out = likely;
    if (!json_object_get(obj, "possible_threshold"))
        return 0;
    if (get_number(obj, "possible_threshold", out) != 0 || *out < 0 || *out > likely)
        return -1;
    return 0;
}

static int parse_manifest(hb_model *m, const char *path, hb_error *err)
{
    json_error_t jerr;
    m->manifest = json_load_file(path, 0, &jerr);
    if (!m->manifest) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                                "%s: cannot open: %s", path, strerror(errno));
        fclose(f);
        return hb_error_set(err, HB_EFORMAT, "%s:%d:%d: invalid JSON: %s", path,
                            jerr.line, jerr.column, jerr.text);
    }
    const json_t *man = m->manifest;
    if (!json_is_object(man))
        return hb_error_set(err, HB_EFORMAT, "%s: not a JSON object", path);
    const char *format = get_string(man, "format", "");
    if (strcmp(format, MANIFEST_FORMAT) != 0)
        return hb_error_set(err, HB_EFORMAT, "%s: \"format\" is \"%s\", expected \"%s\"",
                            path, format, MANIFEST_FORMAT);
    m->task = get_string(man, "task", NULL);
    m->version = get_string(man, "version", NULL);
    if (!m->task || !*m->task || !m->version)
        return hb_error_set(err, HB_EFORMAT,
                            "%s: \"task\" and \"version\" are required strings", path);
    m->kind = get_string(man, "kind", "text");
    if (strcmp(m->kind, "text") != 0 && strcmp(m->kind, "url") != 0)
        return hb_error_set(err, HB_EFORMAT, "%s: \"kind\" must be \"text\" or \"url\"",
                            path);
    const json_t *labels = json_object_get(man, "labels");
    m->positive = get_string(labels, "positive", m->task);
    m->negative = get_string(labels, "negative", "none");

    hb_error ferr;
    if (hb_feature_config_from_json(json_object_get(man, "features"), &m->features,
                                    &ferr) != 0)
        return hb_error_set(err, HB_EFORMAT, "%s: %s", path, ferr.message);

    if (get_number(man, "threshold", &m->threshold) != 0 || m->threshold < 0 ||
        m->threshold > 1)
        return hb_error_set(err, HB_EFORMAT,
                            "%s: \"threshold\" must be a probability 0..1", path);
    if (get_possible_threshold(man, m->threshold, &m->possible_threshold) != 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s: \"possible_threshold\" must be a probability "
                            "0..threshold",
                            path);
    m->override_at = 2.0; /* never, unless the manifest says so */
    if (json_object_get(man, "fraud_override_at") &&
        (get_number(man, "fraud_override_at", &m->override_at) != 0 ||
         m->override_at < 0.5 || m->override_at > 2.0))
        return hb_error_set(err, HB_EFORMAT,
                            "%s: \"fraud_override_at\" must be a probability "
                            "0.5..1 (or 2 for never)",
                            path);
    m->rule_scale = 1.0;
    if (json_object_get(man, "rule_weight_scale") &&
        (get_number(man, "rule_weight_scale", &m->rule_scale) != 0 || m->rule_scale < 0 ||
         m->rule_scale > 10))
        return hb_error_set(err, HB_EFORMAT,
                            "%s: \"rule_weight_scale\" must be a number 0..10", path);
    static const char *const SCALE_SCRIPT[HB_SCRIPTS] = {"other", "cjk"};
    const json_t *by_scale = json_object_get(man, "rule_weight_scale_by_script");
    for (int k = 0; k < HB_SCRIPTS; k++) {
        m->rule_scale_script[k] = m->rule_scale;
        if (by_scale &&
            (get_number(by_scale, SCALE_SCRIPT[k], &m->rule_scale_script[k]) != 0 ||
             m->rule_scale_script[k] < 0 || m->rule_scale_script[k] > 10))
            return hb_error_set(err, HB_EFORMAT,
                                "%s: \"rule_weight_scale_by_script\" needs numbers "
                                "0..10 for \"other\" and \"cjk\"",
                                path);
    }
    const json_t *cal = json_object_get(man, "calibration");
    if (get_number(cal, "a", &m->platt_a) != 0 || get_number(cal, "b", &m->platt_b) != 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s: \"calibration\" needs numbers \"a\" and \"b\" "
                            "(Platt scaling)",
                            path);
    static const char *const SCRIPT_NAME[HB_SCRIPTS] = {"other", "cjk"};
    const json_t *by = json_object_get(cal, "by_script");
    for (int k = 0; by && k < HB_SCRIPTS; k++) {
        const json_t *c = json_object_get(by, SCRIPT_NAME[k]);
        struct script_calibration *sc = &m->by_script[k];
        if (!c)
            continue;
        if (get_number(c, "a", &sc->a) != 0 || get_number(c, "b", &sc->b) != 0 ||
            get_number(c, "threshold", &sc->threshold) != 0 || sc->threshold < 0 ||
            sc->threshold > 1)
            return hb_error_set(err, HB_EFORMAT,
                                "%s: calibration.by_script.%s needs \"a\", \"b\" "
                                "and a \"threshold\" 0..1",
                                path, SCRIPT_NAME[k]);
        if (get_possible_threshold(c, sc->threshold, &sc->possible_threshold) != 0)
            return hb_error_set(err, HB_EFORMAT,
                                "%s: calibration.by_script.%s: \"possible_threshold\" "
                                "must be a probability 0..threshold",
                                path, SCRIPT_NAME[k]);
        sc->present = 1;
    }
    return 0;
}

static int load_svm(hb_model *m, const char *svm_path, hb_error *err)
{
    m->svm = svm_load_model(svm_path);
    if (!m->svm)
        return hb_error_set(err, HB_EFORMAT, "%s: libsvm could not parse it", svm_path);
    struct svm_model *s = m->svm;
    if (svm_get_svm_type(s) != C_SVC || svm_get_nr_class(s) != 2)
        return hb_error_set(err, HB_EFORMAT, "%s: need a two-class C-SVC model",
                            svm_path);
    int labels[2];
    svm_get_labels(s, labels);
    if (!((labels[0] == 1 && labels[1] == -1) || (labels[0] == -1 && labels[1] == 1)))
        return hb_error_set(err, HB_EFORMAT, "%s: labels must be +1 (positive) and -1",
                            svm_path);
    m->svm_sign = labels[0] == 1 ? 1.0 : -1.0;
    if (s->param.kernel_type != LINEAR)
        return 0;

    /* collapse: w = sum_i coef_i * sv_i, bias = -rho (summed in float:
     * the table keeps half precision anyway, and a double accumulator
     * would add 8 bytes a bucket to every worker's peak while loading) */
    m->dim = (size_t)1 << m->features.hash_bits;
    m->w = calloc(m->dim, sizeof *m->w);
    if (!m->w)
        return hb_error_set(err, HB_ENOMEM, "%s: out of memory", svm_path);
    for (int i = 0; i < s->l; i++) {
        double coef = m->svm_sign * s->sv_coef[0][i];
        for (const struct svm_node *n = s->SV[i]; n->index != -1; n++) {
            if (n->index < 1 || (size_t)n->index > m->dim)
                return hb_error_set(err, HB_EFORMAT,
                                    "%s: feature index %d outside the model's "
                                    "2^%d hash space",
                                    svm_path, n->index, m->features.hash_bits);
            m->w[n->index - 1] += (float)(coef * n->value);
        }
    }
    m->bias = -m->svm_sign * s->rho[0];
    svm_free_and_destroy_model(&m->svm);
    return 0;
}

/* Read a checksummed file named by manifest keys file_key / sum_key into a
 * malloc'd buffer (*data NULL and *len 0 on failure). */
static int read_checked(const hb_model *m, const char *dir, const char *file_key,
                        const char *sum_key, const char *fallback, char **data,
                        size_t *len, hb_error *err)
{
    *data = NULL;
    *len = 0;
    const char *file = get_string(m->manifest, file_key, fallback);
    if (!file || strchr(file, '/') || strcmp(file, "..") == 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s/manifest.json: \"%s\" must name a file inside "
                            "the bundle",
                            dir, file_key);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int rc = read_file(path, data, len, err);
    if (rc != 0)
        return rc;
    const char *want = get_string(m->manifest, sum_key, NULL);
    char have[17];
    snprintf(have, sizeof have, "%016llx", (unsigned long long)XXH64(*data, *len, 0));
    if (!want || strcmp(want, have) != 0) {
        free(*data);
        *data = NULL;
        *len = 0;
        return hb_error_set(err, HB_EFORMAT,
                            "%s: checksum %s does not match the manifest's "
                            "\"%s\" %s: the file is corrupt or was changed "
                            "without retraining",
                            path, have, sum_key, want ? want : "(missing)");
    }
    return 0;
}

/* IDF weights, stored sparsely: little-endian (uint32 bucket, float32 idf)
 * pairs in ascending bucket order, for every bucket whose idf is not 0. */
static int load_idf(hb_model *m, const char *dir, hb_error *err)
{
    char *data;
    size_t len;
    int rc = read_checked(m, dir, "idf_file", "idf_xxh64", NULL, &data, &len, err);
    if (rc != 0)
        return rc;
    size_t dim = (size_t)1 << m->features.hash_bits;
    /* a linear model's IDFs go straight into its table (whose IDF column
     * starts at 0); a kernel model keeps them as floats */
    if (!m->table && !(m->idf = calloc(dim, sizeof *m->idf))) {
        free(data);
        return hb_error_set(err, HB_ENOMEM, "%s: out of memory", dir);
    }
    const char *problem = len % 8 ? "size is not a whole number of entries" : NULL;
    long last = -1;
    for (size_t off = 0; !problem && off < len; off += 8) {
        uint32_t idx;
        float val;
        memcpy(&idx, data + off, 4);
        memcpy(&val, data + off + 4, 4);
        if (idx >= dim || (long)idx <= last)
            problem = "bucket out of range or out of order";
        else if (!isfinite(val) || val <= 0)
            problem = "IDF value is not a positive number";
        else if (m->table)
            row(m->table, idx)[1] = hb_half_from_float(val);
        else
            m->idf[idx] = val;
        last = (long)idx;
    }
    free(data);
    if (problem)
        return hb_error_set(err, HB_EFORMAT, "%s/%s: %s", dir,
                            get_string(m->manifest, "idf_file", "idf.bin"), problem);
    return 0;
}

/* The type model named by the manifest's "types", "types_file" and
 * "types_xxh64" (typemodel.h). */
static int load_types(hb_model *m, const char *dir, hb_error *err)
{
    char *data;
    size_t len;
    int rc = read_checked(m, dir, "types_file", "types_xxh64", NULL, &data, &len, err);
    if (rc != 0)
        return rc;
    char where[4200];
    snprintf(where, sizeof where, "%s/%s", dir,
             get_string(m->manifest, "types_file", ""));
    m->types =
        hb_type_model_parse(json_object_get(m->manifest, "types"), data, len, where, err);
    free(data);
    return m->types ? 0 : HB_EFORMAT;
}

hb_model *hb_model_load(const char *dir, hb_error *err)
{
    hb_model *m = calloc(1, sizeof *m);
    char path[4096];
    char *data = NULL;
    if (!m || !(m->dir = strdup(dir))) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    if (parse_manifest(m, path, err) != 0)
        goto fail;

    size_t len;
    if (read_checked(m, dir, "model_file", "model_xxh64", "model.svm", &data, &len,
                     err) != 0)
        goto fail;
    free(data);
    data = NULL;
    char svm_path[4096];
    snprintf(svm_path, sizeof svm_path, "%s/%s", dir,
             get_string(m->manifest, "model_file", "model.svm"));
    if (load_svm(m, svm_path, err) != 0)
        goto fail;
    if (m->w) {
        /* without IDF every bucket's is 1; with it, load_idf fills them in */
        uint16_t idf = m->features.use_idf ? 0 : hb_half_from_float(1.0f);
        if (!(m->table = table_new(m->dim, 1))) {
            hb_error_set(err, HB_ENOMEM, "%s: out of memory", dir);
            goto fail;
        }
        for (uint32_t j = 0; j < m->dim; j++) {
            row(m->table, j)[0] = hb_half_from_float(m->w[j]);
            row(m->table, j)[1] = idf;
        }
        free(m->w);
        m->w = NULL;
    }
    if (m->features.use_idf && load_idf(m, dir, err) != 0)
        goto fail;
    if (json_object_get(m->manifest, "types") && load_types(m, dir, err) != 0)
        goto fail;
    return m;
fail:
    free(data);
    hb_model_free(m);
    return NULL;
}

void hb_model_free(hb_model *m)
{
    if (!m)
        return;
    if (m->svm)
        svm_free_and_destroy_model(&m->svm);
    json_decref(m->manifest);
    free(m->w);
    table_release(m->table);
    free(m->idf);
    hb_type_model_free(m->types);
    free(m->dir);
    free(m);
}

const char *hb_model_task(const hb_model *m)
{
    return m->task;
}
const char *hb_model_kind(const hb_model *m)
{
    return m->kind;
}
const char *hb_model_version(const hb_model *m)
{
    return m->version;
}
const char *hb_model_positive(const hb_model *m)
{
    return m->positive;
}
const char *hb_model_negative(const hb_model *m)
{
    return m->negative;
}
const char *hb_model_dir(const hb_model *m)
{
    return m->dir;
}
const hb_feature_config *hb_model_features(const hb_model *m)
{
    return &m->features;
}

int hb_model_same_features(const hb_model *a, const hb_model *b)
{
    return memcmp(&a->features, &b->features, sizeof a->features) == 0;
}
double hb_model_threshold(const hb_model *m)
{
    return m->threshold;
}
double hb_model_rule_scale(const hb_model *m)
{
    return m->rule_scale;
}

double hb_model_rule_scale_in(const hb_model *m, int script)
{
    return script >= 0 && script < HB_SCRIPTS ? m->rule_scale_script[script]
                                              : m->rule_scale;
}
double hb_model_override_at(const hb_model *m)
{
    return m->override_at;
}
const json_t *hb_model_manifest(const hb_model *m)
{
    return m->manifest;
}

const hb_type_model *hb_model_types(const hb_model *m)
{
    return m->types;
}

void hb_model_values(const hb_model *m, const hb_fvec *v, float *values)
{
    double sq[HB_TEXT_GROUPS] = {0};
    for (size_t e = 0; e < v->n; e++) {
        double x = v->val[e];
        if (v->group[e] < HB_TEXT_GROUPS) {
            double idf =
                m->table
                    ? hb_half_to_float(row(m->table, v->idx[e])[m->table->cols + m->slot])
                : m->idf ? m->idf[v->idx[e]]
                         : 1.0;
            x *= idf;
            sq[v->group[e]] += x * x;
        }
        values[e] = (float)x;
    }
    double inv[HB_TEXT_GROUPS];
    for (int g = 0; g < HB_TEXT_GROUPS; g++)
        inv[g] = sq[g] > 0 ? 1.0 / sqrt(sq[g]) : 1.0;
    for (size_t e = 0; e < v->n; e++)
        if (v->group[e] < HB_TEXT_GROUPS)
            values[e] = (float)(values[e] * inv[v->group[e]]);
}

/* The features of v are read from rows megabytes apart: ask for each row
 * a few features ahead so the cache misses overlap. */
enum { PREFETCH_AHEAD = 24 };

static void prefetch_row(const weight_table *t, const hb_fvec *v, size_t e)
{
    if (e < v->n)
        __builtin_prefetch(row(t, v->idx[e]));
}

/* Per-group norms and the decision from per-group sums: what a linear
 * model adds up in one pass over the features. */
typedef struct linear_sums {
    double dot[HB_TEXT_GROUPS], sq[HB_TEXT_GROUPS], named;
} linear_sums;

/* Add one feature (value val, group g) with weight w and IDF idf to a;
 * returns its contribution before normalisation.  Every linear path goes
 * through here, so fused and single scoring stay bit-identical. */
static inline double add_feature(linear_sums *a, float w, float idf, uint8_t g,
                                 double val)
{
    if (g < HB_TEXT_GROUPS) {
        double x = (double)idf * val;
        a->dot[g] += w * x;
        a->sq[g] += x * x;
        return w * x;
    }
    double c = (double)w * val;
    a->named += c;
    return c;
}

static double finish_sums(const linear_sums *a, double bias, double inv[HB_TEXT_GROUPS])
{
    double d = bias + a->named;
    for (int g = 0; g < HB_TEXT_GROUPS; g++) {
        inv[g] = a->sq[g] > 0 ? 1.0 / sqrt(a->sq[g]) : 1.0;
        d += a->dot[g] * inv[g];
    }
    return d;
}

double hb_model_decision_explained(const hb_model *m, const hb_fvec *v, float *contrib)
{
    if (m->table) {
        const weight_table *t = m->table;
        linear_sums a = {0};
        for (size_t e = 0; e < PREFETCH_AHEAD; e++)
            prefetch_row(t, v, e);
        for (size_t e = 0; e < v->n; e++) {
            prefetch_row(t, v, e + PREFETCH_AHEAD);
            const uint16_t *r = row(t, v->idx[e]);
            double c = add_feature(&a, hb_half_to_float(r[m->slot]),
                                   hb_half_to_float(r[t->cols + m->slot]), v->group[e],
                                   v->val[e]);
            if (contrib)
                contrib[e] = (float)c;
        }
        double inv[HB_TEXT_GROUPS];
        double d = finish_sums(&a, m->bias, inv);
        if (contrib)
            for (size_t e = 0; e < v->n; e++)
                if (v->group[e] < HB_TEXT_GROUPS)
                    contrib[e] = (float)(contrib[e] * inv[v->group[e]]);
        return d;
    }
    hb_norms norms;
    hb_fvec_norms(v, m->idf, &norms);
    if (contrib)
        for (size_t e = 0; e < v->n; e++)
            contrib[e] = 0.0f; /* a kernel model has no per-feature weights */
    /* kernel model: libsvm wants 1-based ascending indices, -1 terminated */
    struct svm_node *x = malloc((v->n + 1) * sizeof *x);
    if (!x)
        return 0.0;
    size_t k = 0;
    for (size_t e = 0; e < v->n; e++)
        x[k++] =
            (struct svm_node){(int)v->idx[e] + 1, hb_fvec_value(v, e, m->idf, &norms)};
    /* insertion sort: vectors are short and this is the slow path anyway */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && x[j - 1].index > x[j].index; j--) {
            struct svm_node t = x[j];
            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    x[k].index = -1;
    double dec = 0.0;
    svm_predict_values(m->svm, x, &dec);
    free(x);
    return m->svm_sign * dec;
}

static double logistic(double z)
{
    return z >= 0 ? exp(-z) / (1.0 + exp(-z)) : 1.0 / (1.0 + exp(z));
}

/* The manifest's calibration for script, or NULL when it has none. */
static const struct script_calibration *calibration(const hb_model *m, int script)
{
    if (script < 0 || script >= HB_SCRIPTS || !m->by_script[script].present)
        return NULL;
    return &m->by_script[script];
}

double hb_model_probability_in(const hb_model *m, double decision, int script)
{
    const struct script_calibration *sc = calibration(m, script);
    if (sc)
        return logistic(sc->a * decision + sc->b);
    return hb_model_probability(m, decision);
}

double hb_model_threshold_in(const hb_model *m, int script)
{
    const struct script_calibration *sc = calibration(m, script);
    return sc ? sc->threshold : m->threshold;
}

double hb_model_possible_threshold_in(const hb_model *m, int script)
{
    const struct script_calibration *sc = calibration(m, script);
    return sc ? sc->possible_threshold : m->possible_threshold;
}

double hb_model_probability(const hb_model *m, double decision)
{
    double z = m->platt_a * decision + m->platt_b;
    /* numerically stable logistic */
    return z >= 0 ? exp(-z) / (1.0 + exp(-z)) : 1.0 / (1.0 + exp(z));
}

double hb_model_decision(const hb_model *m, const hb_fvec *v)
{
    return hb_model_decision_explained(m, v, NULL);
}

int hb_models_fuse(hb_model *const *models, size_t n)
{
    if (n < 2 || n > HB_FUSE_MAX)
        return HB_EINVAL;
    for (size_t k = 0; k < n; k++)
        if (!models[k]->table || models[k]->table->cols != 1 ||
            models[k]->dim != models[0]->dim)
            return HB_EINVAL;
    size_t dim = models[0]->dim;
    weight_table *t = table_new(dim, HB_FUSE_MAX);
    if (!t)
        return HB_ENOMEM;
    /* Copy a slice of rows at a time and hand the copied slice of each
     * model's own table back to the kernel, so the new table and the old
     * ones are never resident together (that would add their size to
     * every worker's peak). */
    enum { SLICE = 1 << 15 };
    for (size_t j0 = 0; j0 < dim; j0 += SLICE) {
        size_t j1 = j0 + SLICE < dim ? j0 + SLICE : dim;
        for (size_t j = j0; j < j1; j++) {
            uint16_t *r = row(t, (uint32_t)j);
            for (size_t k = 0; k < HB_FUSE_MAX; k++) {
                const uint16_t *own = k < n ? row(models[k]->table, (uint32_t)j) : NULL;
                r[k] = own ? own[0] : 0;
                r[HB_FUSE_MAX + k] = own ? own[1] : 0;
            }
        }
        for (size_t k = 0; k < n; k++)
            drop_pages(row(models[k]->table, (uint32_t)j0),
                       row(models[k]->table, (uint32_t)j1));
    }
    for (size_t k = 0; k < n; k++) {
        table_release(models[k]->table);
        models[k]->table = t;
        models[k]->slot = k;
    }
    t->refs = (int)n;
#if defined(__x86_64__) && defined(__GNUC__)
    t->f16c = cpu_has_f16c();
#endif
    return 0;
}

/* A fused row's weights and IDFs as floats. */
typedef void decode_row_fn(const uint16_t *row, float out[2 * HB_FUSE_MAX]);

static inline void decode_row_portable(const uint16_t *r, float out[2 * HB_FUSE_MAX])
{
    for (size_t i = 0; i < (size_t)2 * HB_FUSE_MAX; i++)
        out[i] = hb_half_to_float(r[i]);
}

/* The sums of n fused models over v, decoding each row with decode (a
 * constant once inlined, so each caller gets its own loop). */
static inline __attribute__((always_inline)) void fused_sums(const weight_table *t,
                                                             size_t n, const hb_fvec *v,
                                                             linear_sums *a,
                                                             decode_row_fn *decode)
{
    for (size_t e = 0; e < PREFETCH_AHEAD; e++)
        prefetch_row(t, v, e);
    for (size_t e = 0; e < v->n; e++) {
        prefetch_row(t, v, e + PREFETCH_AHEAD);
        float f[2 * HB_FUSE_MAX];
        decode(row(t, v->idx[e]), f);
        for (size_t k = 0; k < n; k++)
            add_feature(&a[k], f[k], f[HB_FUSE_MAX + k], v->group[e], v->val[e]);
    }
}

static void fused_sums_portable(const weight_table *t, size_t n, const hb_fvec *v,
                                linear_sums *a)
{
    fused_sums(t, n, v, a, decode_row_portable);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* x86's F16C converts a whole 16-byte row in one instruction, exactly as
 * hb_half_to_float does value by value (every stored half is normal or 0);
 * scoring the three shipped models that way took 2 µs less a message. */
__attribute__((target("avx,f16c"))) static inline void
decode_row_f16c(const uint16_t *r, float out[2 * HB_FUSE_MAX])
{
    _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_load_si128((const __m128i *)r)));
}

__attribute__((target("avx,f16c"))) static void
fused_sums_f16c(const weight_table *t, size_t n, const hb_fvec *v, linear_sums *a)
{
    fused_sums(t, n, v, a, decode_row_f16c);
}
#endif

void hb_models_decision(hb_model *const *models, size_t n, const hb_fvec *v, double *out)
{
    const weight_table *t = models[0]->table;
    linear_sums a[HB_FUSE_MAX] = {0};
    /* the models hb_models_fuse fused, in the order it fused them: model
     * k's weights are column k of the shared table */
    assert(n <= HB_FUSE_MAX);
    for (size_t k = 0; k < n; k++)
        assert(models[k]->table == t && models[k]->slot == k);
#if defined(__x86_64__) && defined(__GNUC__)
    if (t->f16c)
        fused_sums_f16c(t, n, v, a);
    else
#endif
        fused_sums_portable(t, n, v, a);
    double inv[HB_TEXT_GROUPS];
    for (size_t k = 0; k < n; k++)
        out[k] = finish_sums(&a[k], models[k]->bias, inv);
}

static int write_svm(const char *path, const float *w, size_t dim, double bias,
                     double prune, hb_error *err)
{
    size_t nz = 0;
    for (size_t j = 0; j < dim; j++)
        nz += fabs(w[j]) >= prune && w[j] != 0.0f;
    struct svm_node *nodes = malloc((nz + 1) * sizeof *nodes);
    if (!nodes)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < dim; j++)
        if (fabs(w[j]) >= prune && w[j] != 0.0f)
            nodes[k++] = (struct svm_node){(int)j + 1, w[j]};
    nodes[k].index = -1;

    /* one "support vector" equal to w with coefficient 1: libsvm's linear
     * decision sum_i coef_i <sv_i, x> - rho is then exactly w.x + bias */
    struct svm_node *sv[1] = {nodes};
    double coef[1] = {1.0};
    double *sv_coef[1] = {coef};
    double rho[1] = {-bias};
    int label[2] = {1, -1};
    int nsv[2] = {1, 0};
    struct svm_model model;
    memset(&model, 0, sizeof model);
    model.param.svm_type = C_SVC;
    model.param.kernel_type = LINEAR;
    model.nr_class = 2;
    model.l = 1;
    model.SV = sv;
    model.sv_coef = sv_coef;
    model.rho = rho;
    model.label = label;
    model.nSV = nsv;
    int rc = svm_save_model(path, &model);
    free(nodes);
    if (rc != 0)
        return hb_error_set(err, HB_EIO, "%s: libsvm could not write it", path);
    return 0;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Write len bytes atomically (temporary file, then rename) and return its
 * xxh64 as hex in sum. */
static int write_file(const char *path, const void *data, size_t len, char sum[17],
                      hb_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0 || rename(tmp, path) != 0)
        return hb_error_set(err, HB_EIO, "%s: cannot write: %s", path, strerror(errno));
    snprintf(sum, 17, "%016llx", (unsigned long long)XXH64(data, len, 0));
    return 0;
}

int hb_model_save_types(const char *dir, json_t *manifest, json_t *spec, const float *w,
                        hb_error *err)
{
    const json_t *bits = json_object_get(spec, "hash_bits");
    size_t k = json_array_size(json_object_get(spec, "classes"));
    if (!json_is_integer(bits) || json_integer_value(bits) < HB_TYPE_BITS_MIN ||
        json_integer_value(bits) > HB_TYPE_BITS_MAX || k < 2)
        return hb_error_set(err, HB_EINVAL, "type model: bad hash_bits or classes");
    if (make_dirs(dir) != 0)
        return hb_error_set(err, HB_EIO, "%s: cannot create: %s", dir, strerror(errno));
    unsigned char *buf;
    size_t len;
    if (hb_type_model_encode(w, (unsigned)json_integer_value(bits), k, &buf, &len) != 0)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    char path[4096], sum[17];
    snprintf(path, sizeof path, "%s/types.bin", dir);
    int rc = write_file(path, buf, len, sum, err);
    free(buf);
    if (rc != 0)
        return rc;
    json_object_set(manifest, "types", spec);
    json_object_set_new(manifest, "types_file", json_string("types.bin"));
    json_object_set_new(manifest, "types_xxh64", json_string(sum));
    return 0;
}

int hb_model_save_linear(const char *dir, json_t *manifest, const float *w, double bias,
                         const float *idf, double prune, hb_error *err)
{
    hb_feature_config cfg;
    hb_error ferr;
    if (hb_feature_config_from_json(json_object_get(manifest, "features"), &cfg, &ferr) !=
        0)
        return hb_error_set(err, HB_EINVAL, "manifest: %s", ferr.message);
    if (make_dirs(dir) != 0)
        return hb_error_set(err, HB_EIO, "%s: cannot create: %s", dir, strerror(errno));
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/model.svm", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int rc = write_svm(tmp, w, (size_t)1 << cfg.hash_bits, bias, prune, err);
    if (rc != 0)
        return rc;
    if (rename(tmp, path) != 0)
        return hb_error_set(err, HB_EIO, "%s: cannot rename: %s", path, strerror(errno));
    char *data;
    size_t len;
    if ((rc = read_file(path, &data, &len, err)) != 0)
        return rc;
    char sum[17];
    snprintf(sum, sizeof sum, "%016llx", (unsigned long long)XXH64(data, len, 0));
    free(data);

    if (idf) {
        char isum[17];
        size_t dim = (size_t)1 << cfg.hash_bits, n = 0;
        unsigned char *buf = malloc(dim * 8);
        if (!buf)
            return hb_error_set(err, HB_ENOMEM, "out of memory");
        for (size_t j = 0; j < dim; j++) {
            if (idf[j] == 0.0f)
                continue;
            uint32_t idx = (uint32_t)j;
            memcpy(buf + 8 * n, &idx, 4);
            memcpy(buf + 8 * n + 4, &idf[j], 4);
            n++;
        }
        snprintf(path, sizeof path, "%s/idf.bin", dir);
        rc = write_file(path, buf, 8 * n, isum, err);
        free(buf);
        if (rc != 0)
            return rc;
        json_object_set_new(manifest, "idf_file", json_string("idf.bin"));
        json_object_set_new(manifest, "idf_xxh64", json_string(isum));
    }
    json_object_set_new(manifest, "format", json_string(MANIFEST_FORMAT));
    json_object_set_new(manifest, "model_file", json_string("model.svm"));
    json_object_set_new(manifest, "model_xxh64", json_string(sum));
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(manifest, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0)
        return hb_error_set(err, HB_EIO, "%s: cannot write", path);
    return 0;
}
