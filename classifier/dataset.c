/*
 * dataset.c - TSV loading and label mapping (see dataset.h).
 */
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>
#include <xxhash.h>

#include "normalize.h"

#define MAX_FILE_BYTES (1u << 30)

void hb_dataset_init(hb_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
}

void hb_dataset_release(hb_dataset *ds)
{
    for (size_t i = 0; i < ds->nbuffers; i++)
        free(ds->buffers[i]);
    free(ds->buffers);
    free(ds->rows);
    hb_dataset_init(ds);
}

static int slurp(const char *path, char **out, size_t *len, hb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                            "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        used += fread(buf + used, 1, cap - used, f);
        if (used < cap)
            break;
        if (cap >= MAX_FILE_BYTES) {
            free(buf);
            fclose(f);
            return hb_error_set(err, HB_ETOOBIG, "%s: larger than 1 GiB", path);
        }
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb)
            free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return hb_error_set(err, HB_ENOMEM, "%s: out of memory", path);
    if (bad) {
        free(buf);
        return hb_error_set(err, HB_EIO, "%s: read error", path);
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return 0;
}

static int valid_utf8(const char *s, size_t len)
{
    utf8proc_int32_t cp;
    for (size_t i = 0; i < len;) {
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

int hb_dataset_load(hb_dataset *ds, const char *path, hb_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = slurp(path, &buf, &len, err);
    if (rc != 0)
        return rc;
    char **bufs = realloc(ds->buffers, (ds->nbuffers + 1) * sizeof *bufs);
    if (!bufs) {
        free(buf);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    ds->buffers = bufs;
    /* the path is kept after the contents, so rows can name their file */
    size_t plen = strlen(path);
    char *nb = realloc(buf, len + 1 + plen + 1);
    if (!nb) {
        free(buf);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    buf = nb;
    char *file = buf + len + 1;
    memcpy(file, path, plen + 1);

    size_t first = ds->n;
    int line = 0;
    char *p = buf;
    char *end = buf + len;
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *stop = eol ? eol : end;
        line++;
        if (stop > p && stop[-1] == '\r')
            stop--;
        *stop = '\0';
        char *tab = memchr(p, '\t', (size_t)(stop - p));
        const char *problem = NULL;
        if (stop == p)
            problem = "empty line";
        else if (memchr(p, '\0', (size_t)(stop - p)))
            problem = "NUL byte in line";
        else if (!tab)
            problem = "no TAB between label and text";
        else if (tab == p)
            problem = "empty label";
        else if (tab + 1 == stop)
            problem = "empty text";
        else if (memchr(tab + 1, '\t', (size_t)(stop - tab - 1)))
            problem = "more than one TAB (expected label<TAB>text)";
        else if (!valid_utf8(p, (size_t)(stop - p)))
            problem = "not valid UTF-8";
        if (problem) {
            ds->n = first;
            free(buf);
            return hb_error_set(err, HB_EFORMAT, "%s:%d: %s", path, line, problem);
        }
        *tab = '\0';
        if (ds->n == ds->cap) {
            size_t cap = ds->cap ? ds->cap * 2 : 1024;
            hb_example *rows = realloc(ds->rows, cap * sizeof *rows);
            if (!rows) {
                ds->n = first;
                free(buf);
                return hb_error_set(err, HB_ENOMEM, "out of memory");
            }
            ds->rows = rows;
            ds->cap = cap;
        }
        ds->rows[ds->n++] =
            (hb_example){p, tab + 1, (size_t)(stop - tab - 1), file, line};
        if (!eol)
            break;
        p = eol + 1;
    }
    ds->buffers[ds->nbuffers++] = buf;
    return 0;
}

/* Hash of a text as hb_dataset_exclude compares it; 0 if it does not
 * normalise (such rows are never excluded). */
static uint64_t text_key(hb_text *t, const char *text, size_t len)
{
    if (hb_normalize(text, len, t, NULL) != 0)
        return 0;
    for (size_t i = 0; i < t->len; i++)
        if (t->utf8[i] >= '0' && t->utf8[i] <= '9')
            t->utf8[i] = '0';
    return XXH3_64bits(t->utf8, t->len) | 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void hb_dataset_text_keys(const hb_dataset *ds, uint64_t *keys)
{
    hb_text t;
    hb_text_init(&t);
    for (size_t i = 0; i < ds->n; i++)
        keys[i] = text_key(&t, ds->rows[i].text, ds->rows[i].text_len);
    hb_text_release(&t);
}

int hb_dataset_exclude(hb_dataset *ds, const hb_dataset *other, size_t *removed,
                       hb_error *err)
{
    *removed = 0;
    uint64_t *keys = malloc((other->n ? other->n : 1) * sizeof *keys);
    if (!keys)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    hb_dataset_text_keys(other, keys);
    qsort(keys, other->n, sizeof *keys, cmp_u64);
    hb_text t;
    hb_text_init(&t);
    size_t kept = 0;
    for (size_t i = 0; i < ds->n; i++) {
        uint64_t k = text_key(&t, ds->rows[i].text, ds->rows[i].text_len);
        if (k && bsearch(&k, keys, other->n, sizeof *keys, cmp_u64))
            continue;
        ds->rows[kept++] = ds->rows[i];
    }
    *removed = ds->n - kept;
    ds->n = kept;
    hb_text_release(&t);
    free(keys);
    return 0;
}

/* Default mappings: they cover every label name in the project's public
 * data sets (docs/training.md).  Advertising ("spam") is not fraud. */
static const struct {
    const char *task;
    const char *positive;
    const char *negative;
    int all_but_negative;
} DEFAULTS[] = {
    {"spam", "spam,smishing,fraud_*", "ham", 0},
    {"fraud", "smishing,fraud_*", "ham,spam", 0},
    {"rumour", "rumour,fake,false,pants-fire,barely-true",
     "nonrumour,real,true,half-true,mostly-true", 0},
    {"url", "", "benign", 1},
};

/* Split csv into names stored in map->storage; returns count or -1. */
static int split_names(hb_label_map *map, size_t *offset, const char *csv,
                       const char **names, size_t max)
{
    size_t n = 0;
    const char *p = csv;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            if (n == max || *offset + len + 1 > sizeof map->storage)
                return -1;
            char *dst = map->storage + *offset;
            memcpy(dst, p, len);
            dst[len] = '\0';
            names[n++] = dst;
            *offset += len + 1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return (int)n;
}

int hb_label_map_default(const char *task, hb_label_map *map, hb_error *err)
{
    memset(map, 0, sizeof *map);
    for (size_t i = 0; i < sizeof DEFAULTS / sizeof DEFAULTS[0]; i++) {
        if (strcmp(DEFAULTS[i].task, task) != 0)
            continue;
        snprintf(map->task, sizeof map->task, "%s", task);
        size_t off = 0;
        int np = split_names(map, &off, DEFAULTS[i].positive, map->positive, 32);
        int nn = split_names(map, &off, DEFAULTS[i].negative, map->negative, 32);
        map->npositive = (size_t)np;
        map->nnegative = (size_t)nn;
        map->all_but_negative = DEFAULTS[i].all_but_negative;
        return 0;
    }
    return hb_error_set(err, HB_ENOTFOUND,
                        "no default labels for task \"%s\" (known: fraud, "
                        "spam, rumour, url); give --positive LABEL,...",
                        task);
}

int hb_label_map_set_positive(hb_label_map *map, const char *csv, hb_error *err)
{
    size_t off = 0;
    int n = split_names(map, &off, csv, map->positive, 32);
    if (n <= 0)
        return hb_error_set(err, HB_EINVAL,
                            "--positive needs one or more comma-separated "
                            "labels (at most 32, 1 KiB in all)");
    map->npositive = (size_t)n;
    map->nnegative = 0;
    map->all_but_negative = 0;
    return 0;
}

static int name_matches(const char *pattern, const char *label)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(pattern, label, n - 1) == 0;
    return strcmp(pattern, label) == 0;
}

int hb_label_map_classify(const hb_label_map *map, const char *label)
{
    for (size_t i = 0; i < map->npositive; i++)
        if (name_matches(map->positive[i], label))
            return 1;
    for (size_t i = 0; i < map->nnegative; i++)
        if (name_matches(map->negative[i], label))
            return 0;
    if (map->all_but_negative)
        return 1;
    /* with an explicit --positive list, everything else is negative */
    return map->nnegative == 0 ? 0 : -1;
}

int hb_label_map_check(const hb_label_map *map, const hb_dataset *ds, hb_error *err)
{
    for (size_t i = 0; i < ds->n; i++)
        if (hb_label_map_classify(map, ds->rows[i].label) < 0)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%d: label \"%s\" is neither positive nor "
                                "negative for task %s; say which with "
                                "--positive LABEL,...",
                                ds->rows[i].file, ds->rows[i].line, ds->rows[i].label,
                                map->task);
    return 0;
}

int hb_dataset_drop_conflicts(hb_dataset *ds, const hb_label_map *map, size_t *removed,
                              hb_error *err)
{
    *removed = 0;
    uint64_t *keys = malloc((ds->n ? ds->n : 1) * sizeof *keys);
    uint64_t *positive = malloc((ds->n ? ds->n : 1) * sizeof *positive);
    if (!keys || !positive) {
        free(keys);
        free(positive);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    hb_dataset_text_keys(ds, keys);
    size_t npos = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (keys[i] && hb_label_map_classify(map, ds->rows[i].label) == 1)
            positive[npos++] = keys[i];
    qsort(positive, npos, sizeof *positive, cmp_u64);
    size_t kept = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (keys[i] && hb_label_map_classify(map, ds->rows[i].label) == 0 &&
            bsearch(&keys[i], positive, npos, sizeof *positive, cmp_u64))
            continue;
        ds->rows[kept++] = ds->rows[i];
    }
    *removed = ds->n - kept;
    ds->n = kept;
    free(keys);
    free(positive);
    return 0;
}
