/*
 * catalog.c - see catalog.h.  The files are small (one row per type or
 * task), so each is read whole and split in place; entries point into
 * those buffers.
 */
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_TYPES = 64, MAX_TASKS = 16, MAX_BYTES = 1 << 20, MAX_COLUMNS = 6 };

struct hb_catalog {
    char *types_buf, *tasks_buf;
    hb_type_info types[MAX_TYPES];
    size_t ntypes;
    hb_task_info tasks[MAX_TASKS];
    size_t ntasks;
};

/* One data row of a TSV file: its columns (NUL-terminated, in the file's
 * buffer) and line number.  Returns 0 or an error code with err set. */
typedef int row_fn(hb_catalog *c, char **cols, const char *path, int line, hb_error *err);

/* Read path whole into *buf and call row for every line after the header
 * that is neither empty nor a # comment, split into exactly ncols
 * tab-separated columns (header names them, for the error message). */
static int read_rows(hb_catalog *c, const char *path, int ncols, const char *header,
                     row_fn *row, char **buf_out, hb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                            "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(MAX_BYTES + 1);
    size_t len = buf ? fread(buf, 1, MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf)
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    *buf_out = buf; /* freed with the catalog, also on error */
    if (len > MAX_BYTES)
        return hb_error_set(err, HB_ETOOBIG, "%s: larger than 1 MiB", path);
    buf[len] = '\0';
    int line = 0;
    for (char *p = buf; *p;) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        line++;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[l - 1] = '\0';
        if (line > 1 && *p && *p != '#') {
            char *cols[MAX_COLUMNS] = {NULL};
            int n = 0;
            for (char *q = p; n < ncols;) {
                cols[n++] = q;
                char *tab = strchr(q, '\t');
                if (!tab)
                    break;
                *tab = '\0';
                q = tab + 1;
            }
            if (n != ncols || strchr(cols[ncols - 1], '\t'))
                return hb_error_set(err, HB_EFORMAT,
                                    "%s:%d: expected %d tab-separated columns (%s)", path,
                                    line, ncols, header);
            int rc = row(c, cols, path, line, err);
            if (rc != 0)
                return rc;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return 0;
}

static int type_row(hb_catalog *c, char **cols, const char *path, int line, hb_error *err)
{
    if (c->ntypes == MAX_TYPES)
        return hb_error_set(err, HB_ETOOBIG, "%s:%d: more than %d types", path, line,
                            MAX_TYPES);
    c->types[c->ntypes++] = (hb_type_info){cols[0], cols[1], cols[2], cols[3], cols[4]};
    return 0;
}

/* Whether a sentence template is one render.c can fill: placeholders
 * {pct} and {type} only, {type} only inside one [optional part], brackets
 * not nested.  Returns NULL, or what is wrong. */
static const char *template_problem(const char *t)
{
    int in_optional = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '[') {
            if (in_optional)
                return "a [ inside [...]";
            in_optional = 1;
        } else if (*p == ']') {
            if (!in_optional)
                return "a ] without its [";
            in_optional = 0;
        } else if (*p == '{') {
            if (strncmp(p, "{pct}", 5) == 0) {
                p += 4;
            } else if (strncmp(p, "{type}", 6) == 0) {
                if (!in_optional)
                    return "{type} outside [...] (a message may have no type)";
                p += 5;
            } else {
                return "a placeholder other than {pct} and {type}";
            }
        }
    }
    return in_optional ? "a [ without its ]" : NULL;
}

static int task_row(hb_catalog *c, char **cols, const char *path, int line, hb_error *err)
{
    if (c->ntasks == MAX_TASKS)
        return hb_error_set(err, HB_ETOOBIG, "%s:%d: more than %d tasks", path, line,
                            MAX_TASKS);
    int possible = strcmp(cols[1], "possible") == 0;
    if (!possible && strcmp(cols[1], "likely") != 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: heads_from is \"%s\"; it must be possible or likely",
                            path, line, cols[1]);
    if (!*cols[0] || hb_catalog_task(c, cols[0]))
        return hb_error_set(err, HB_EFORMAT, "%s:%d: task \"%s\" %s", path, line, cols[0],
                            *cols[0] ? "is listed twice" : "has no name");
    for (int k = 2; k < 6; k++) {
        int optional = k >= 4; /* the possible sentences may be "-" */
        if (!*cols[k] || (!optional && strcmp(cols[k], "-") == 0))
            return hb_error_set(err, HB_EFORMAT, "%s:%d: column %d is empty", path, line,
                                k + 1);
        const char *why = template_problem(cols[k]);
        if (why)
            return hb_error_set(err, HB_EFORMAT, "%s:%d: column %d has %s", path, line,
                                k + 1, why);
    }
    if (possible && strcmp(cols[4], "-") == 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: task %s heads from the possible tier but has no "
                            "possible sentence",
                            path, line, cols[0]);
    int none = strcmp(cols[4], "-") == 0;
    c->tasks[c->ntasks++] = (hb_task_info){cols[0],
                                           possible,
                                           cols[2],
                                           cols[3],
                                           none ? NULL : cols[4],
                                           none ? NULL : cols[5]};
    return 0;
}

static const char TYPES_HEADER[] = "type name_zh name_en advice_zh advice_en";
static const char TASKS_HEADER[] =
    "task heads_from likely_en likely_zh possible_en possible_zh";

hb_catalog *hb_catalog_load(const char *path, hb_error *err)
{
    hb_catalog *c = calloc(1, sizeof *c);
    if (!c) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    if (read_rows(c, path, 5, TYPES_HEADER, type_row, &c->types_buf, err) != 0) {
        hb_catalog_free(c);
        return NULL;
    }
    return c;
}

hb_catalog *hb_catalog_open(const char *dir, hb_error *err)
{
    hb_catalog *c = calloc(1, sizeof *c);
    if (!c) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/types.tsv", dir);
    if (stat(path, &st) == 0 &&
        read_rows(c, path, 5, TYPES_HEADER, type_row, &c->types_buf, err) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/tasks.tsv", dir);
    if (stat(path, &st) == 0 &&
        read_rows(c, path, 6, TASKS_HEADER, task_row, &c->tasks_buf, err) != 0)
        goto fail;
    return c;
fail:
    hb_catalog_free(c);
    return NULL;
}

void hb_catalog_free(hb_catalog *c)
{
    if (!c)
        return;
    free(c->types_buf);
    free(c->tasks_buf);
    free(c);
}

const hb_type_info *hb_catalog_find(const hb_catalog *c, const char *type)
{
    if (!c || !type)
        return NULL;
    for (size_t i = 0; i < c->ntypes; i++)
        if (strcmp(c->types[i].type, type) == 0)
            return &c->types[i];
    return NULL;
}

size_t hb_catalog_ntypes(const hb_catalog *c)
{
    return c ? c->ntypes : 0;
}

const hb_type_info *hb_catalog_type_at(const hb_catalog *c, size_t i)
{
    return c && i < c->ntypes ? &c->types[i] : NULL;
}

size_t hb_catalog_ntasks(const hb_catalog *c)
{
    return c ? c->ntasks : 0;
}

const hb_task_info *hb_catalog_task_at(const hb_catalog *c, size_t i)
{
    return c && i < c->ntasks ? &c->tasks[i] : NULL;
}

const hb_task_info *hb_catalog_task(const hb_catalog *c, const char *task)
{
    for (size_t i = 0; i < hb_catalog_ntasks(c); i++)
        if (strcmp(c->tasks[i].task, task) == 0)
            return &c->tasks[i];
    return NULL;
}
