/*
 * brands.c - see brands.h.
 *
 * Loading: the file is small (one row per brand), so it is read whole,
 * checked for UTF-8 once, and split in place; every string of every
 * hb_brand_info points into that buffer, and the list columns point into
 * one shared array of pointers.  Every rule a row must satisfy is checked
 * here, with the file:line of the row, so that a table that loads is a
 * table the matcher can use.
 *
 * Matching: aliases and signatures are literals, so one Hyperscan literal
 * database finds them all in a single pass (about 0.2 µs for a 100-byte
 * message against the shipped table).  A literal reports only its end;
 * its start is end minus its length.  Word boundaries for Latin aliases
 * are checked in the callback, and the leftmost-longest choice between
 * overlapping candidates is made afterwards on the handful found.
 *
 * Assessing is plain loops over a few hits, links and numbers: no
 * allocation, no state.
 */
#include "brands.h"

#include <errno.h>
#include <hs/hs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    COLUMNS = 9,
    MAX_BYTES = 4 << 20,
    MAX_CANDIDATES = 4096,
    MAX_ID = 64,
    SOLICIT_BEFORE = 48, /* bytes of text before a number searched for a cue */
    SOLICIT_AFTER = 24,  /* and after it */
};

static const char HEADER[] =
    "id\tname_zh\tname_en\taliases\tdomains\tnumbers\tsignatures\tkind\tsource";

static const char *const KIND_NAMES[HB_BRAND_KINDS] = {
    "bank", "operator", "courier", "platform", "airline", "government", "payment",
};

/* One literal of the matcher: an alias, or a signature in one pair of
 * brackets. */
typedef struct pattern {
    uint32_t brand;
    uint32_t len;
    uint8_t by;         /* hb_brand_by */
    uint8_t word_left;  /* starts with an ASCII letter or digit */
    uint8_t word_right; /* ends with one */
} pattern;

struct hb_brands {
    char *buf; /* the file, split in place */
    hb_brand_info *info;
    size_t n;
    const char **items; /* every list item of every row */
    char *literals;     /* bracketed signatures */
    pattern *patterns;
    size_t npatterns;
    hs_database_t *db;
    uint64_t serial; /* tells scratches which database they fit */
};

/* A match before overlaps are resolved. */
typedef struct candidate {
    uint32_t start, end, pattern;
} candidate;

struct hb_brands_scratch {
    hs_scratch_t *hs;
    uint64_t serial; /* of the database hs was sized for; 0: none */
    candidate *cands;
    size_t ncands, cap;
    const hb_brands *brands; /* during a scan */
    const char *text;
    size_t len;
    int nomem;
};

static atomic_uint_fast64_t next_serial = 1;

const char *hb_brand_kind_name(hb_brand_kind kind)
{
    return (unsigned)kind < HB_BRAND_KINDS ? KIND_NAMES[kind] : "unknown";
}

const char *hb_brand_status_name(hb_brand_status status)
{
    switch (status) {
    case HB_BRAND_MENTIONED: return "mentioned";
    case HB_BRAND_OFFICIAL: return "official";
    case HB_BRAND_IMPERSONATION: return "impersonation";
    }
    return "unknown";
}

/* ---- checking the file ------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if it is
 * invalid: truncated, overlong, a surrogate, over U+10FFFF or a stray
 * continuation byte. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min, cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* 0 if buf (len bytes) is valid UTF-8, else the 1-based line of the first
 * invalid byte. */
static int utf8_bad_line(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    int line = 1;
    for (size_t i = 0; i < len;) {
        size_t l = utf8_seq(p + i, len - i);
        if (!l)
            return line;
        if (p[i] == '\n')
            line++;
        i += l;
    }
    return 0;
}

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* NULL if s is in the form hb_normalize gives (as far as can be told
 * without normalising it), else what is wrong with it. */
static const char *not_normalised(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (p[0] == ' ' || p[n - 1] == ' ')
        return "has a leading or trailing space";
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return "has a control character";
        if (p[i] >= 'A' && p[i] <= 'Z')
            return "has upper case (normalised text is lower case)";
        if (p[i] == ' ' && p[i + 1] == ' ')
            return "has two spaces in a row";
        /* U+FF01..U+FF5E full-width ASCII: EF BC 81..BF, EF BD 80..9E;
         * U+3000 ideographic space; U+00A0 no-break space. */
        if (p[i] == 0xef && i + 2 < n &&
            ((p[i + 1] == 0xbc && p[i + 2] >= 0x81) ||
             (p[i + 1] == 0xbd && p[i + 2] <= 0x9e)))
            return "has full-width characters (normalised text is half-width)";
        if ((p[i] == 0xe3 && i + 2 < n && p[i + 1] == 0x80 && p[i + 2] == 0x80) ||
            (p[i] == 0xc2 && i + 1 < n && p[i + 1] == 0xa0))
            return "has a non-ASCII space";
    }
    return NULL;
}

/* 1 if s is a lower-case host name of at least two labels (see
 * brands.h). */
static int valid_domain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    size_t labels = 0;
    const char *last = s;
    for (const char *label = s;;) {
        const char *dot = strchr(label, '.');
        size_t l = dot ? (size_t)(dot - label) : strlen(label);
        if (l == 0 || l > 63 || label[0] == '-' || label[l - 1] == '-')
            return 0;
        for (size_t i = 0; i < l; i++) {
            char c = label[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return 0;
        }
        labels++;
        last = label;
        if (!dot)
            break;
        label = dot + 1;
    }
    if (labels < 2)
        return 0;
    if (strncmp(last, "xn--", 4) == 0)
        return 1;
    for (const char *c = last; *c; c++)
        if (*c < 'a' || *c > 'z')
            return 0;
    return 1;
}

static int valid_number(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 15)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return 0;
    return 1;
}

static int valid_source(const char *s)
{
    size_t skip = strncmp(s, "https://", 8) == 0  ? 8
                  : strncmp(s, "http://", 7) == 0 ? 7
                                                  : 0;
    if (!skip || !s[skip] || s[skip] == '/')
        return 0;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ')
            return 0;
    return 1;
}

/* ---- loading ------------------------------------------------------------ */

/* Split col at '|' in place into items (room checked by the caller's
 * count); returns the number of items, 0 for an empty column. */
static size_t split_list(char *col, const char **items)
{
    if (!*col)
        return 0;
    size_t n = 0;
    for (char *p = col;;) {
        items[n++] = p;
        char *bar = strchr(p, '|');
        if (!bar)
            break;
        *bar = '\0';
        p = bar + 1;
    }
    return n;
}

/* A name (alias or signature) for the duplicate check. */
typedef struct name_ref {
    const char *text;
    uint32_t brand;
    uint8_t is_signature;
} name_ref;

static int cmp_names(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    if (c)
        return c;
    if (x->brand != y->brand)
        return x->brand < y->brand ? -1 : 1;
    return (int)x->is_signature - (int)y->is_signature;
}

typedef struct id_ref {
    const char *id;
    uint32_t brand;
} id_ref;

static int cmp_ids(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->brand < y->brand ? -1 : x->brand > y->brand);
}

/* Check one list column's items with check (NULL: fine, else what is
 * wrong); fills err with path:line and returns HB_EFORMAT on the first bad
 * item. */
static int check_items(const char *path, int line, const char *what,
                       const char *const *items, size_t n,
                       const char *(*check)(const char *), hb_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *why = check(items[i]);
        if (why)
            return hb_error_set(err, HB_EFORMAT, "%s:%d: %s '%s' %s", path, line, what,
                                items[i], why);
    }
    return 0;
}

static const char *check_alias(const char *s)
{
    return not_normalised(s);
}

static const char *check_signature(const char *s)
{
    const char *why = not_normalised(s);
    if (why)
        return why;
    if (strstr(s, "【") || strstr(s, "】") || strchr(s, '[') || strchr(s, ']'))
        return "holds a bracket (write the text inside 【】 only)";
    return NULL;
}

static const char *check_domain(const char *s)
{
    return valid_domain(s) ? NULL
                           : "is not a lower-case host name such as icbc.com.cn "
                             "(letters, digits, '-', at least two labels)";
}

static const char *check_number(const char *s)
{
    return valid_number(s) ? NULL : "is not 3 to 15 digits (no spaces or '+')";
}

/* Parse one data row (line, NUL-terminated, tabs still in) into b->info[b->n],
 * taking list items from b->items at *nitems.  Returns 0 or HB_EFORMAT. */
static int parse_row(hb_brands *b, char *p, int line, size_t *nitems, const char *path,
                     hb_error *err)
{
    char *cols[COLUMNS];
    int ncol = 0;
    for (char *q = p;;) {
        if (ncol == COLUMNS)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%d: more than %d tab-separated columns (%s)", path,
                                line, COLUMNS,
                                "id name_zh name_en aliases "
                                "domains numbers signatures kind source");
        cols[ncol++] = q;
        char *tab = strchr(q, '\t');
        if (!tab)
            break;
        *tab = '\0';
        q = tab + 1;
    }
    if (ncol != COLUMNS)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: %d tab-separated columns, expected %d (id "
                            "name_zh name_en aliases domains numbers signatures "
                            "kind source)",
                            path, line, ncol, COLUMNS);
    hb_brand_info *bi = &b->info[b->n];
    bi->index = b->n;
    bi->line = line;
    bi->id = cols[0];
    bi->name_zh = cols[1];
    bi->name_en = cols[2];
    bi->source = cols[8];
    if (!valid_id(bi->id))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: id '%s' must be 1-%d characters of a-z, 0-9 "
                            "and _",
                            path, line, bi->id, MAX_ID);
    if (!*bi->name_zh || !*bi->name_en)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: brand '%s' needs both name_zh and name_en", path,
                            line, bi->id);
    int kind = -1;
    for (int k = 0; k < HB_BRAND_KINDS; k++)
        if (strcmp(cols[7], KIND_NAMES[k]) == 0)
            kind = k;
    if (kind < 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: kind '%s' is not one of bank, operator, "
                            "courier, platform, airline, government, payment",
                            path, line, cols[7]);
    bi->kind = (hb_brand_kind)kind;
    if (!valid_source(bi->source))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: source '%s' must be the http(s) URL where "
                            "the domains and numbers are stated",
                            path, line, bi->source);

    const char **items = b->items + *nitems;
    size_t n;
    bi->aliases = items;
    bi->naliases = n = split_list(cols[3], items);
    items += n;
    bi->domains = items;
    bi->ndomains = n = split_list(cols[4], items);
    items += n;
    bi->numbers = items;
    bi->nnumbers = n = split_list(cols[5], items);
    items += n;
    bi->signatures = items;
    bi->nsignatures = n = split_list(cols[6], items);
    items += n;
    *nitems = (size_t)(items - b->items);

    int rc;
    if ((rc = check_items(path, line, "alias", bi->aliases, bi->naliases, check_alias,
                          err)) ||
        (rc = check_items(path, line, "domain", bi->domains, bi->ndomains, check_domain,
                          err)) ||
        (rc = check_items(path, line, "number", bi->numbers, bi->nnumbers, check_number,
                          err)) ||
        (rc = check_items(path, line, "signature", bi->signatures, bi->nsignatures,
                          check_signature, err)))
        return rc;
    if (bi->naliases + bi->nsignatures == 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%d: brand '%s' has neither an alias nor a "
                            "signature, so no message can name it",
                            path, line, bi->id);
    b->n++;
    return 0;
}

/* Ids unique, and every alias or signature text naming one brand. */
static int check_unique(const hb_brands *b, size_t nnames, const char *path,
                        hb_error *err)
{
    int rc = 0;
    id_ref *ids = malloc((b->n ? b->n : 1) * sizeof *ids);
    name_ref *names = malloc((nnames ? nnames : 1) * sizeof *names);
    if (!ids || !names) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < b->n; i++)
        ids[i] = (id_ref){b->info[i].id, (uint32_t)i};
    qsort(ids, b->n, sizeof *ids, cmp_ids);
    for (size_t i = 1; i < b->n; i++) {
        if (strcmp(ids[i].id, ids[i - 1].id) == 0) {
            rc = hb_error_set(
                err, HB_EFORMAT, "%s:%d: id '%s' is already used on line %d", path,
                b->info[ids[i].brand].line, ids[i].id, b->info[ids[i - 1].brand].line);
            goto done;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        const hb_brand_info *bi = &b->info[i];
        for (size_t j = 0; j < bi->naliases; j++)
            names[k++] = (name_ref){bi->aliases[j], (uint32_t)i, 0};
        for (size_t j = 0; j < bi->nsignatures; j++)
            names[k++] = (name_ref){bi->signatures[j], (uint32_t)i, 1};
    }
    qsort(names, k, sizeof *names, cmp_names);
    for (size_t i = 1; i < k; i++) {
        const name_ref *x = &names[i - 1], *y = &names[i];
        if (strcmp(x->text, y->text) != 0)
            continue;
        const hb_brand_info *bx = &b->info[x->brand], *by = &b->info[y->brand];
        const char *what = y->is_signature ? "signature" : "alias";
        if (x->brand != y->brand) {
            rc = hb_error_set(err, HB_EFORMAT,
                              "%s:%d: %s '%s' of brand '%s' already names brand "
                              "'%s' (line %d); a name must point to one brand",
                              path, by->line, what, y->text, by->id, bx->id, bx->line);
            goto done;
        }
        if (x->is_signature == y->is_signature) {
            rc = hb_error_set(err, HB_EFORMAT, "%s:%d: %s '%s' is listed twice", path,
                              by->line, what, y->text);
            goto done;
        }
    }
done:
    free(ids);
    free(names);
    return rc;
}

/* Build the literal database over every alias and bracketed signature. */
static int build_matcher(hb_brands *b, const char *path, hb_error *err)
{
    size_t n = 0, litbytes = 1;
    for (size_t i = 0; i < b->n; i++) {
        n += b->info[i].naliases + 2 * b->info[i].nsignatures;
        for (size_t j = 0; j < b->info[i].nsignatures; j++)
            litbytes += 2 * strlen(b->info[i].signatures[j]) + 10;
    }
    if (n == 0) /* every row has a name; this guards the table's shape */
        return hb_error_set(err, HB_EFORMAT, "%s: no aliases or signatures", path);
    int rc = 0;
    const char **exprs = malloc(n * sizeof *exprs);
    size_t *lens = malloc(n * sizeof *lens);
    unsigned *ids = malloc(n * sizeof *ids);
    b->patterns = malloc(n * sizeof *b->patterns);
    b->literals = malloc(litbytes);
    if (!exprs || !lens || !ids || !b->patterns || !b->literals) {
        rc = hb_error_set(err, HB_ENOMEM, "out of memory");
        goto done;
    }
    char *lit = b->literals;
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        const hb_brand_info *bi = &b->info[i];
        for (size_t j = 0; j < bi->naliases; j++) {
            const char *a = bi->aliases[j];
            size_t l = strlen(a);
            exprs[k] = a;
            lens[k] = l;
            b->patterns[k] = (pattern){(uint32_t)i, (uint32_t)l, HB_BRAND_BY_ALIAS,
                                       (uint8_t)is_alnum((unsigned char)a[0]),
                                       (uint8_t)is_alnum((unsigned char)a[l - 1])};
            k++;
        }
        for (size_t j = 0; j < bi->nsignatures; j++) {
            static const char *const open[2] = {"【", "["};
            static const char *const close[2] = {"】", "]"};
            for (int f = 0; f < 2; f++) {
                int l = sprintf(lit, "%s%s%s", open[f], bi->signatures[j], close[f]);
                exprs[k] = lit;
                lens[k] = (size_t)l;
                b->patterns[k] =
                    (pattern){(uint32_t)i, (uint32_t)l, HB_BRAND_BY_SIGNATURE, 0, 0};
                lit += l + 1;
                k++;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = (unsigned)i;
    b->npatterns = n;
    hs_compile_error_t *cerr = NULL;
    if (hs_compile_lit_multi(exprs, NULL, ids, lens, (unsigned)n, HS_MODE_BLOCK, NULL,
                             &b->db, &cerr) != HS_SUCCESS) {
        rc = hb_error_set(err, HB_EFORMAT, "%s: Hyperscan cannot build the matcher: %s",
                          path, cerr && cerr->message ? cerr->message : "unknown error");
        hs_free_compile_error(cerr);
        b->db = NULL;
        goto done;
    }
    b->serial = (uint64_t)atomic_fetch_add(&next_serial, 1);
done:
    free(exprs);
    free(lens);
    free(ids);
    return rc;
}

/* Read path whole into a NUL-terminated buffer; *len its length. */
static char *read_file(const char *path, size_t *len, hb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO, "%s: cannot open: %s",
                     path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_BYTES + 1, f) : 0;
    int failed = buf && ferror(f);
    fclose(f);
    if (!buf) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    if (failed) {
        hb_error_set(err, HB_EIO, "%s: cannot read", path);
    } else if (n > MAX_BYTES) {
        hb_error_set(err, HB_ETOOBIG, "%s: larger than 4 MiB", path);
    } else {
        buf[n] = '\0';
        *len = n;
        return buf;
    }
    free(buf);
    return NULL;
}

hb_brands *hb_brands_load(const char *path, hb_error *err)
{
    if (!path) {
        hb_error_set(err, HB_EINVAL, "no brands file given");
        return NULL;
    }
    size_t len = 0;
    char *buf = read_file(path, &len, err);
    if (!buf)
        return NULL;
    hb_brands *b = calloc(1, sizeof *b);
    if (!b) {
        free(buf);
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    b->buf = buf;
    int bad = utf8_bad_line(buf, len);
    if (bad) {
        hb_error_set(err, HB_EFORMAT, "%s:%d: not valid UTF-8", path, bad);
        goto fail;
    }
    if (memchr(buf, '\0', len)) {
        hb_error_set(err, HB_EFORMAT, "%s: holds a NUL byte", path);
        goto fail;
    }
    /* Upper bounds: a row per line, an item per '|' plus four per row. */
    size_t lines = 1, bars = 0;
    for (size_t i = 0; i < len; i++) {
        lines += buf[i] == '\n';
        bars += buf[i] == '|';
    }
    b->info = calloc(lines, sizeof *b->info);
    b->items = calloc(bars + 4 * lines, sizeof *b->items);
    if (!b->info || !b->items) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        goto fail;
    }
    size_t nitems = 0, nnames = 0;
    int line = 0;
    for (char *p = buf; *p;) {
        char *eol = strchr(p, '\n');
        if (eol)
            *eol = '\0';
        line++;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[--l] = '\0';
        if (line == 1) {
            if (strcmp(p, HEADER) != 0) {
                hb_error_set(err, HB_EFORMAT,
                             "%s:1: the header must be the nine column names "
                             "id name_zh name_en aliases domains numbers "
                             "signatures kind source, tab-separated",
                             path);
                goto fail;
            }
        } else if (l && *p != '#') {
            if (parse_row(b, p, line, &nitems, path, err))
                goto fail;
            nnames += b->info[b->n - 1].naliases + b->info[b->n - 1].nsignatures;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    if (line == 0) {
        hb_error_set(err, HB_EFORMAT, "%s: empty file (expected a header line)", path);
        goto fail;
    }
    if (b->n == 0) {
        hb_error_set(err, HB_EFORMAT, "%s:%d: no brand rows", path, line);
        goto fail;
    }
    if (check_unique(b, nnames, path, err) || build_matcher(b, path, err))
        goto fail;
    return b;
fail:
    hb_brands_free(b);
    return NULL;
}

void hb_brands_free(hb_brands *b)
{
    if (!b)
        return;
    hs_free_database(b->db);
    free(b->patterns);
    free(b->literals);
    free(b->items);
    free(b->info);
    free(b->buf);
    free(b);
}

size_t hb_brands_count(const hb_brands *b)
{
    return b ? b->n : 0;
}

const hb_brand_info *hb_brands_info(const hb_brands *b, size_t i)
{
    return b && i < b->n ? &b->info[i] : NULL;
}

const hb_brand_info *hb_brands_find(const hb_brands *b, const char *id)
{
    if (!b || !id)
        return NULL;
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->info[i].id, id) == 0)
            return &b->info[i];
    return NULL;
}

/* ---- matching ---------------------------------------------------------- */

hb_brands_scratch *hb_brands_scratch_new(void)
{
    return calloc(1, sizeof(hb_brands_scratch));
}

void hb_brands_scratch_free(hb_brands_scratch *s)
{
    if (!s)
        return;
    hs_free_scratch(s->hs);
    free(s->cands);
    free(s);
}

/* Hyperscan callback: keep the match if its word boundaries hold.
 * Returns non-zero (stop scanning) when the candidate list is full. */
static int on_literal(unsigned int id, unsigned long long from, unsigned long long to,
                      unsigned int flags, void *ctx)
{
    (void)from;
    (void)flags;
    hb_brands_scratch *s = ctx;
    const pattern *p = &s->brands->patterns[id];
    size_t end = (size_t)to, start = end - p->len;
    if (p->word_left && start > 0 && is_alnum((unsigned char)s->text[start - 1]))
        return 0;
    if (p->word_right && end < s->len && is_alnum((unsigned char)s->text[end]))
        return 0;
    if (s->ncands == s->cap) {
        if (s->cap == MAX_CANDIDATES)
            return 1;
        size_t cap = s->cap ? 2 * s->cap : 32;
        candidate *c = realloc(s->cands, cap * sizeof *c);
        if (!c) {
            s->nomem = 1;
            return 1;
        }
        s->cands = c;
        s->cap = cap;
    }
    s->cands[s->ncands++] = (candidate){(uint32_t)start, (uint32_t)end, id};
    return 0;
}

/* Leftmost first, then longest, then the lower pattern (table order). */
static int cmp_candidates(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;
    return x->pattern < y->pattern ? -1 : x->pattern > y->pattern;
}

int hb_brands_match(const hb_brands *b, hb_brands_scratch *s, const char *text,
                    size_t len, hb_brand_hit *out, size_t max)
{
    if (!b || !s || (!text && len) || (!out && max) || len > UINT32_MAX)
        return HB_EINVAL;
    if (len == 0 || max == 0)
        return 0;
    if (s->serial != b->serial) {
        /* Grows s->hs if this database needs more room; on failure
         * Hyperscan frees it and sets it to NULL. */
        s->serial = 0;
        if (hs_alloc_scratch(b->db, &s->hs) != HS_SUCCESS)
            return HB_ENOMEM;
        s->serial = b->serial;
    }
    s->brands = b;
    s->text = text;
    s->len = len;
    s->ncands = 0;
    s->nomem = 0;
    hs_error_t rc = hs_scan(b->db, text, (unsigned int)len, 0, s->hs, on_literal, s);
    s->brands = NULL;
    if (s->nomem)
        return HB_ENOMEM;
    if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
        return HB_EINVAL;
    if (s->ncands > 1)
        qsort(s->cands, s->ncands, sizeof *s->cands, cmp_candidates);
    size_t n = 0;
    uint32_t taken_to = 0;
    for (size_t i = 0; i < s->ncands && n < max; i++) {
        const candidate *c = &s->cands[i];
        if (n && c->start < taken_to)
            continue;
        const pattern *p = &b->patterns[c->pattern];
        out[n++] = (hb_brand_hit){p->brand, (hb_brand_by)p->by, c->start, c->end};
        taken_to = c->end;
    }
    return (int)n;
}

/* ---- assessing ---------------------------------------------------------- */

int hb_brand_owns_domain(const hb_brand_info *brand, const char *domain, size_t len)
{
    if (!brand || !domain)
        return 0;
    while (len && domain[len - 1] == '.')
        len--;
    for (size_t i = 0; i < brand->ndomains; i++) {
        const char *d = brand->domains[i];
        size_t dl = strlen(d);
        if (len < dl || strncasecmp(domain + len - dl, d, dl) != 0)
            continue;
        if (len == dl || domain[len - dl - 1] == '.')
            return 1;
    }
    return 0;
}

/* The digits of a number as written, without a leading + or 00, into
 * out (cap bytes); returns their count, or 0 when there are too many. */
static size_t number_digits(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (n + 1 >= cap)
                return 0;
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    if (n > 2 && out[0] == '0' && out[1] == '0') {
        memmove(out, out + 2, n - 1);
        n -= 2;
    }
    return n;
}

int hb_brand_owns_number(const hb_brand_info *brand, const char *number, size_t len)
{
    char d[32];
    if (!brand || !number)
        return 0;
    size_t n = number_digits(number, len, d, sizeof d);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < brand->nnumbers; i++) {
        const char *b = brand->numbers[i];
        size_t bl = strlen(b);
        if (n == bl && memcmp(d, b, n) == 0)
            return 1;
        if (n == bl + 2 && memcmp(d, "86", 2) == 0 && memcmp(d + 2, b, bl) == 0)
            return 1;
        if (b[0] == '0' && n == bl + 1 && memcmp(d, "44", 2) == 0 &&
            memcmp(d + 2, b + 1, bl - 1) == 0)
            return 1;
        if (b[0] == '1' && bl == 11 && n == 10 && memcmp(d, b + 1, 10) == 0)
            return 1;
    }
    return 0;
}

/* What ends a sentence, for the call-to-action window. */
static const char *const SENTENCE_ENDS[] = {"。", "！", "？", "!", "?", ";", "\n", ". "};

/* Bytes of the sentence end at text[i] (within to), or 0. */
static size_t end_at(const char *text, size_t i, size_t to)
{
    for (size_t e = 0; e < sizeof SENTENCE_ENDS / sizeof *SENTENCE_ENDS; e++) {
        size_t el = strlen(SENTENCE_ENDS[e]);
        if (i + el <= to && memcmp(text + i, SENTENCE_ENDS[e], el) == 0)
            return el;
    }
    return 0;
}

/* Byte offset just past the last sentence end in text[from, to), or from
 * if there is none. */
static size_t sentence_start(const char *text, size_t from, size_t to)
{
    size_t best = from;
    for (size_t i = from; i < to; i++) {
        size_t el = end_at(text, i, to);
        if (el && i + el > best)
            best = i + el;
    }
    return best;
}

/* End of the sentence that starts at from (exclusive), at most to. */
static size_t sentence_end(const char *text, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (end_at(text, i, to))
            return i;
    return to;
}

static int window_has(const char *text, size_t from, size_t to, const char *const *words,
                      size_t nwords)
{
    for (size_t w = 0; w < nwords; w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = from; i + wl <= to; i++)
            if (text[i] == words[w][0] && memcmp(text + i, words[w], wl) == 0)
                return 1;
    }
    return 0;
}

static const char *const CUES[] = {
    "call",    "ring",    "dial",     "phone", "tel",        "text", "sms",  "whatsapp",
    "contact", "hotline", "helpline", "reply", "message us", "拨打", "致电", "来电",
    "回电",    "回拨",    "电话",     "热线",  "联系",       "咨询", "添加", "加我",
    "加微",    "加v",     "加qq",     "微信",  "qq",         "短信", "发送", "回复",
    "客服",    "专线",    "专员",     "同号",
};

static const char *const OPT_OUTS[] = {"stop", "unsubscribe", "opt out", "退订"};

int hb_brands_solicits(const char *text, size_t len, size_t start, size_t end)
{
    if (!text || start > end || end > len)
        return 0;
    size_t from = start > SOLICIT_BEFORE ? start - SOLICIT_BEFORE : 0;
    from = sentence_start(text, from, start);
    size_t to = end + SOLICIT_AFTER < len ? end + SOLICIT_AFTER : len;
    to = sentence_end(text, end, to);
    size_t ncues = sizeof CUES / sizeof *CUES;
    size_t nopt = sizeof OPT_OUTS / sizeof *OPT_OUTS;
    if (window_has(text, from, start, OPT_OUTS, nopt) ||
        window_has(text, end, to, OPT_OUTS, nopt))
        return 0;
    return window_has(text, from, start, CUES, ncues) ||
           window_has(text, end, to, CUES, ncues);
}

/* First occurrence of needle (nl bytes) in hay (hl bytes), or NULL. */
static const char *find_bytes(const char *hay, size_t hl, const char *needle, size_t nl)
{
    if (nl == 0 || nl > hl)
        return NULL;
    for (size_t i = 0; i + nl <= hl; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

/* Where numbers[i] starts in msg->text (*at) and how many bytes it takes
 * there (*nl); 0 if it cannot be placed (see hb_brands_assess). */
static int place_number(const hb_brand_message *msg, size_t i, size_t *at, size_t *nl)
{
    const char *num = msg->numbers[i];
    *nl = strlen(num);
    if (!msg->text)
        return 0;
    if (msg->number_at) {
        *at = msg->number_at[i];
        if (*at >= msg->len)
            return 0;
        if (*nl > msg->len - *at) /* written differently from the text */
            *nl = msg->len - *at;
        return 1;
    }
    const char *p = find_bytes(msg->text, msg->len, num, *nl);
    if (!p)
        return 0;
    *at = (size_t)(p - msg->text);
    return 1;
}

/* Whether the number numbers[i] is one the reader is asked to use. */
static int number_solicited(const hb_brand_message *msg, size_t i)
{
    size_t at, nl;
    return place_number(msg, i, &at, &nl) &&
           hb_brands_solicits(msg->text, msg->len, at, at + nl);
}

/* A delivery notice gives the driver's own mobile ("派送员王师傅，
 * 电话177...", "your driver Sam on 07700..."): a number introduced by one
 * of these words, in its sentence, is the deliverer's, not the company's
 * and not an impersonation of it. */
static const char *const DELIVERERS[] = {
    "派送员",   "派件员", "收派员", "投递员",  "快递员", "配送员", "送货员",
    "快递小哥", "骑手",   "师傅",   "courier", "driver", "rider",
};

/* Brands whose notices may give a deliverer's mobile: couriers, and the
 * shops and food platforms with riders of their own (京东, 美团). */
static int delivers(hb_brand_kind kind)
{
    return kind == HB_BRAND_COURIER || kind == HB_BRAND_PLATFORM;
}

static int deliverer_number(const hb_brand_message *msg, size_t i)
{
    size_t at, nl;
    if (!place_number(msg, i, &at, &nl))
        return 0;
    size_t from = at > SOLICIT_BEFORE ? at - SOLICIT_BEFORE : 0;
    from = sentence_start(msg->text, from, at);
    return window_has(msg->text, from, at, DELIVERERS,
                      sizeof DELIVERERS / sizeof *DELIVERERS);
}

/* number_solicited, remembered in asked[] for the first 64 numbers. */
static int asked_for(const hb_brand_message *msg, size_t i, signed char *asked)
{
    if (i >= 64)
        return number_solicited(msg, i);
    if (asked[i] < 0)
        asked[i] = (signed char)number_solicited(msg, i);
    return asked[i];
}

/* Whether a named brand other than self (among out[0, n)) owns the
 * domain (is_number 0) or number (1). */
static int other_named_owns(const hb_brands *b, const hb_brand_assessment *out, size_t n,
                            uint32_t self, const char *s, int is_number)
{
    for (size_t k = 0; k < n; k++) {
        if (out[k].brand == self)
            continue;
        const hb_brand_info *bi = &b->info[out[k].brand];
        if (is_number ? hb_brand_owns_number(bi, s, strlen(s))
                      : hb_brand_owns_domain(bi, s, strlen(s)))
            return 1;
    }
    return 0;
}

int hb_brands_assess(const hb_brands *b, const hb_brand_message *msg,
                     const hb_brand_hit *hits, size_t nhits, hb_brand_assessment *out,
                     size_t max)
{
    if (!b || !msg || (!hits && nhits) || (!out && max) ||
        (!msg->domains && msg->ndomains) || (!msg->numbers && msg->nnumbers))
        return HB_EINVAL;
    /* Whether the reader is asked to use number i, worked out at most once
     * per number (for the first 64; -1: not yet). */
    signed char asked[64];
    memset(asked, -1, sizeof asked);
    size_t n = 0;
    for (size_t h = 0; h < nhits && n < max; h++) {
        if (hits[h].brand >= b->n)
            return HB_EINVAL;
        size_t k = 0;
        while (k < n && out[k].brand != hits[h].brand)
            k++;
        if (k == n)
            out[n++] = (hb_brand_assessment){.brand = hits[h].brand, .hit = h};
    }
    for (size_t k = 0; k < n; k++) {
        hb_brand_assessment *a = &out[k];
        const hb_brand_info *bi = &b->info[a->brand];
        size_t items = 0, bad_link = SIZE_MAX, bad_number = SIZE_MAX;
        for (size_t i = 0; i < msg->ndomains; i++) {
            const char *d = msg->domains[i];
            if (!d || !*d)
                continue;
            items++;
            if (hb_brand_owns_domain(bi, d, strlen(d)))
                a->own++;
            else if (bad_link == SIZE_MAX && !other_named_owns(b, out, n, a->brand, d, 0))
                bad_link = i;
        }
        for (size_t i = 0; i < msg->nnumbers; i++) {
            const char *num = msg->numbers[i];
            if (!num || !*num)
                continue;
            items++;
            if (hb_brand_owns_number(bi, num, strlen(num)))
                a->own++;
            else if (bad_number == SIZE_MAX && asked_for(msg, i, asked) &&
                     !other_named_owns(b, out, n, a->brand, num, 1) &&
                     !(delivers(bi->kind) && deliverer_number(msg, i)))
                bad_number = i;
        }
        if (bad_link != SIZE_MAX) {
            a->status = HB_BRAND_IMPERSONATION;
            a->cause = HB_BRAND_CAUSE_LINK;
            a->item = bad_link;
        } else if (bad_number != SIZE_MAX) {
            a->status = HB_BRAND_IMPERSONATION;
            a->cause = HB_BRAND_CAUSE_NUMBER;
            a->item = bad_number;
        } else if (items > 0 && a->own == items) {
            a->status = HB_BRAND_OFFICIAL;
        }
    }
    return (int)n;
}
