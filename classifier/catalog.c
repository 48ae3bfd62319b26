/*
 * catalog.c - see catalog.h.  The file is small (one row per type), so it
 * is read whole and split in place; entries point into that buffer.
 */
#include "catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COLUMNS = 5, MAX_TYPES = 64, MAX_BYTES = 1 << 20 };

struct hb_catalog {
    char *buf;
    hb_type_info types[MAX_TYPES];
    size_t n;
};

hb_catalog *hb_catalog_load(const char *path, hb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO, "%s: cannot open: %s",
                     path, strerror(errno));
        return NULL;
    }
    hb_catalog *c = calloc(1, sizeof *c);
    char *buf = malloc(MAX_BYTES + 1);
    size_t len = buf ? fread(buf, 1, MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!c || !buf) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        goto fail;
    }
    if (len > MAX_BYTES) {
        hb_error_set(err, HB_ETOOBIG, "%s: larger than 1 MiB", path);
        goto fail;
    }
    buf[len] = '\0';
    c->buf = buf;
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
            char *cols[COLUMNS];
            int ncol = 0;
            for (char *q = p; ncol < COLUMNS;) {
                cols[ncol++] = q;
                char *tab = strchr(q, '\t');
                if (!tab)
                    break;
                *tab = '\0';
                q = tab + 1;
            }
            if (ncol != COLUMNS || strchr(cols[COLUMNS - 1], '\t')) {
                hb_error_set(err, HB_EFORMAT,
                             "%s:%d: expected %d tab-separated columns "
                             "(type name_zh name_en advice_zh advice_en)",
                             path, line, COLUMNS);
                goto fail;
            }
            if (c->n == MAX_TYPES) {
                hb_error_set(err, HB_ETOOBIG, "%s:%d: more than %d types", path, line,
                             MAX_TYPES);
                goto fail;
            }
            c->types[c->n++] =
                (hb_type_info){cols[0], cols[1], cols[2], cols[3], cols[4]};
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return c;
fail:
    if (c)
        c->buf = NULL;
    free(buf);
    free(c);
    return NULL;
}

void hb_catalog_free(hb_catalog *c)
{
    if (!c)
        return;
    free(c->buf);
    free(c);
}

const hb_type_info *hb_catalog_find(const hb_catalog *c, const char *type)
{
    if (!c || !type)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->types[i].type, type) == 0)
            return &c->types[i];
    return NULL;
}
