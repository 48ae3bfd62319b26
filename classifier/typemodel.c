/*
 * typemodel.c - the fraud type model (see typemodel.h).
 */
#include "typemodel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"

struct hb_type_model {
    unsigned bits;
    uint32_t mask;
    size_t nclasses;
    char **classes;
    double *bias;
    double min_margin; /* a type is named when its margin is above this */
    float *w;          /* [bucket * nclasses + k]: floats, not the file's halves, as
                          a flagged message reads hundreds of rows of every class */
};

/* Type ids are what types.tsv and the rules' type key accept. */
static int is_type_id(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

void hb_type_model_free(hb_type_model *m)
{
    if (!m)
        return;
    for (size_t k = 0; m->classes && k < m->nclasses; k++)
        free(m->classes[k]);
    free(m->classes);
    free(m->bias);
    free(m->w);
    free(m);
}

hb_type_model *hb_type_model_parse(const json_t *spec, const void *data, size_t len,
                                   const char *where, hb_error *err)
{
    const json_t *bits = json_object_get(spec, "hash_bits");
    const json_t *classes = json_object_get(spec, "classes");
    const json_t *bias = json_object_get(spec, "bias");
    if (!json_is_integer(bits) || json_integer_value(bits) < HB_TYPE_BITS_MIN ||
        json_integer_value(bits) > HB_TYPE_BITS_MAX) {
        hb_error_set(err, HB_EFORMAT, "%s: \"types\": \"hash_bits\" must be %d..%d",
                     where, HB_TYPE_BITS_MIN, HB_TYPE_BITS_MAX);
        return NULL;
    }
    size_t k = json_array_size(classes);
    if (!json_is_array(classes) || k < 2 || k > HB_TYPE_CLASSES_MAX) {
        hb_error_set(err, HB_EFORMAT, "%s: \"types\": \"classes\" must list 2..%d types",
                     where, HB_TYPE_CLASSES_MAX);
        return NULL;
    }
    if (!json_is_array(bias) || json_array_size(bias) != k) {
        hb_error_set(err, HB_EFORMAT,
                     "%s: \"types\": \"bias\" must hold one number per class", where);
        return NULL;
    }
    /* absent in bundles from before it was learned: those named a type
     * above 0 only */
    const json_t *cut = json_object_get(spec, "min_margin");
    if (cut && (!json_is_number(cut) || !(json_number_value(cut) <= 0.0) ||
                json_number_value(cut) < -HB_TYPE_MIN_MARGIN_MAX)) {
        hb_error_set(err, HB_EFORMAT,
                     "%s: \"types\": \"min_margin\" must be a number from -%d to 0",
                     where, HB_TYPE_MIN_MARGIN_MAX);
        return NULL;
    }
    unsigned b = (unsigned)json_integer_value(bits);
    size_t want = ((size_t)1 << b) * k * 2;
    if (len != want) {
        hb_error_set(err, HB_EFORMAT,
                     "%s: %zu bytes, but 2^%u buckets x %zu types of half floats "
                     "take %zu",
                     where, len, b, k, want);
        return NULL;
    }
    hb_type_model *m = calloc(1, sizeof *m);
    if (!m || !(m->classes = calloc(k, sizeof *m->classes)) ||
        !(m->bias = calloc(k, sizeof *m->bias)) ||
        !(m->w = malloc(len / 2 * sizeof *m->w))) {
        hb_type_model_free(m);
        hb_error_set(err, HB_ENOMEM, "%s: out of memory", where);
        return NULL;
    }
    m->bits = b;
    m->mask = (uint32_t)(((size_t)1 << b) - 1);
    m->nclasses = k;
    m->min_margin = cut ? json_number_value(cut) : 0.0;
    for (size_t i = 0; i < k; i++) {
        const json_t *c = json_array_get(classes, i);
        const json_t *bi = json_array_get(bias, i);
        if (!json_is_string(c) || !is_type_id(json_string_value(c))) {
            hb_error_set(err, HB_EFORMAT,
                         "%s: \"types\": class %zu is not a type id (a-z, 0-9, _)", where,
                         i + 1);
            hb_type_model_free(m);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->classes[j], json_string_value(c)) == 0) {
                hb_error_set(err, HB_EFORMAT, "%s: \"types\": class \"%s\" listed twice",
                             where, json_string_value(c));
                hb_type_model_free(m);
                return NULL;
            }
        if (!json_is_number(bi) || !isfinite(json_number_value(bi))) {
            hb_error_set(err, HB_EFORMAT, "%s: \"types\": bias %zu is not a number",
                         where, i + 1);
            hb_type_model_free(m);
            return NULL;
        }
        m->bias[i] = json_number_value(bi);
        if (!(m->classes[i] = strdup(json_string_value(c)))) {
            hb_error_set(err, HB_ENOMEM, "%s: out of memory", where);
            hb_type_model_free(m);
            return NULL;
        }
    }
    /* little-endian on disk; byte by byte so the host's order is moot */
    const unsigned char *p = data;
    for (size_t i = 0; i < len / 2; i++)
        m->w[i] = hb_half_to_float((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
    return m;
}

size_t hb_type_model_nclasses(const hb_type_model *m)
{
    return m->nclasses;
}

const char *hb_type_model_class(const hb_type_model *m, size_t i)
{
    return i < m->nclasses ? m->classes[i] : NULL;
}

int hb_type_model_index(const hb_type_model *m, const char *type)
{
    for (size_t k = 0; k < m->nclasses; k++)
        if (strcmp(m->classes[k], type) == 0)
            return (int)k;
    return -1;
}

void hb_type_model_margins(const hb_type_model *m, const hb_fvec *v, const float *values,
                           double *margins)
{
    /* the rows are scattered over megabytes: ask for them all first, so
     * the cache misses overlap instead of queueing */
    for (size_t e = 0; e < v->n; e++)
        __builtin_prefetch(m->w + (size_t)(v->idx[e] & m->mask) * m->nclasses);
    float sum[HB_TYPE_CLASSES_MAX] = {0};
    for (size_t e = 0; e < v->n; e++) {
        float x = values[e];
        if (x == 0.0f)
            continue;
        const float *row = m->w + (size_t)(v->idx[e] & m->mask) * m->nclasses;
        for (size_t k = 0; k < m->nclasses; k++)
            sum[k] += row[k] * x;
    }
    for (size_t k = 0; k < m->nclasses; k++)
        margins[k] = m->bias[k] + sum[k];
}

const char *hb_type_model_predict(const hb_type_model *m, const hb_fvec *v,
                                  const float *values, double *margin)
{
    double score[HB_TYPE_CLASSES_MAX] = {0};
    hb_type_model_margins(m, v, values, score);
    size_t best = 0;
    for (size_t k = 1; k < m->nclasses; k++)
        if (score[k] > score[best])
            best = k;
    if (margin)
        *margin = score[best];
    return score[best] > m->min_margin ? m->classes[best] : NULL;
}

int hb_type_model_encode(const float *w, unsigned bits, size_t nclasses,
                         unsigned char **out, size_t *len)
{
    size_t n = ((size_t)1 << bits) * nclasses;
    unsigned char *buf = malloc(n * 2);
    *out = buf;
    *len = buf ? n * 2 : 0;
    if (!buf)
        return HB_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = hb_half_from_float(w[i]);
        buf[2 * i] = (unsigned char)(h & 0xff);
        buf[2 * i + 1] = (unsigned char)(h >> 8);
    }
    return 0;
}
