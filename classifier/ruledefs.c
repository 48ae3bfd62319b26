/*
 * ruledefs.c - define and expand the named pattern pieces of a rules file
 * (see ruledefs.h).
 *
 * Expansion is textual, so the scan must find `(?&` only where PCRE2
 * would read it as syntax: it steps over escapes (\( is a literal), \Q..\E
 * quotes, (?#..) comments and bracket classes ([(?&x)] is four
 * characters), the same way PCRE2's own parser does.  Anything else it
 * copies unchanged; whether the result is a valid pattern is PCRE2's to
 * say, when the caller compiles it.
 */
#include "ruledefs.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

void hb_ruledefs_init(hb_ruledefs *defs)
{
    memset(defs, 0, sizeof *defs);
}

void hb_ruledefs_release(hb_ruledefs *defs)
{
    if (!defs)
        return;
    for (size_t i = 0; i < defs->count; i++) {
        free(defs->items[i].name);
        free(defs->items[i].body);
    }
    free(defs->items);
    hb_ruledefs_init(defs);
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(s[i]))
            return 0;
    return 1;
}

static const hb_ruledef *find(const hb_ruledefs *defs, const char *name, size_t nn)
{
    for (size_t i = 0; i < defs->count; i++) {
        const hb_ruledef *d = &defs->items[i];
        if (strlen(d->name) == nn && memcmp(d->name, name, nn) == 0)
            return d;
    }
    return NULL;
}

/* Index of the first "ab" in p[from, n), or n. */
static size_t find_pair(const char *p, size_t from, size_t n, char a, char b)
{
    for (size_t j = from; j + 1 < n; j++)
        if (p[j] == a && p[j + 1] == b)
            return j;
    return n;
}

/* Bytes from p[i] to the end of the bracket class that starts there (PCRE2:
 * a ']' right after '[' or '[^' is a literal, escapes and [:posix:] names
 * inside do not end it).  An unclosed class runs to the end. */
static size_t class_length(const char *p, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j < n && p[j] == '^')
        j++;
    if (j < n && p[j] == ']')
        j++;
    while (j < n) {
        if (p[j] == '\\') {
            j += 2;
        } else if (p[j] == '[' && j + 1 < n && p[j + 1] == ':') {
            size_t end = find_pair(p, j + 2, n, ':', ']');
            j = end < n ? end + 2 : j + 1;
        } else if (p[j] == ']') {
            return j + 1 - i;
        } else {
            j++;
        }
    }
    return n - i;
}

/* Bytes of the element at p[i] that is copied whole because `(?&` inside
 * it is not a reference: an escape, a \Q..\E quote, a (?#..) comment or a
 * class.  0 if p[i] starts none of them. */
static size_t opaque_length(const char *p, size_t n, size_t i)
{
    if (p[i] == '\\') {
        if (i + 1 < n && p[i + 1] == 'Q') {
            size_t end = find_pair(p, i + 2, n, '\\', 'E');
            return end < n ? end + 2 - i : n - i;
        }
        return i + 1 < n ? 2 : 1;
    }
    if (p[i] == '(' && i + 2 < n && p[i + 1] == '?' && p[i + 2] == '#') {
        const char *end = memchr(p + i, ')', n - i);
        return end ? (size_t)(end - p) + 1 - i : n - i;
    }
    if (p[i] == '[')
        return class_length(p, n, i);
    return 0;
}

typedef struct buffer {
    char *s;
    size_t len, cap;
} buffer;

static int put(buffer *b, const char *s, size_t n)
{
    if (b->len + n > HB_RULEDEFS_MAX_EXPANDED)
        return HB_ETOOBIG;
    if (hb_grow((void **)&b->s, &b->cap, b->len + n + 1, 1))
        return HB_ENOMEM;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int hb_ruledefs_expand(const hb_ruledefs *defs, const char *pattern, size_t n, char **out,
                       size_t *outn, const char *file, size_t line, hb_error *err)
{
    buffer b = {NULL, 0, 0};
    int rc = put(&b, "", 0);
    size_t i = 0;
    while (rc == 0 && i < n) {
        size_t k = opaque_length(pattern, n, i);
        if (k) {
            rc = put(&b, pattern + i, k);
            i += k;
            continue;
        }
        if (n - i < 3 || memcmp(pattern + i, "(?&", 3) != 0) {
            rc = put(&b, pattern + i, 1);
            i++;
            continue;
        }
        const char *name = pattern + i + 3;
        size_t nn = 0;
        while (i + 3 + nn < n && is_name_char(name[nn]))
            nn++;
        if (nn == 0 || i + 3 + nn >= n || name[nn] != ')') {
            free(b.s);
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: '(?&' must start a reference such as "
                                "(?&name), the name in a-z 0-9 _",
                                file, line);
        }
        const hb_ruledef *d = find(defs, name, nn);
        if (!d) {
            free(b.s);
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: unknown name '%.*s' in (?&%.*s) (define it "
                                "above: define %.*s = ...)",
                                file, line, (int)nn, name, (int)nn, name, (int)nn, name);
        }
        rc = put(&b, "(?:", 3);
        if (rc == 0)
            rc = put(&b, d->body, strlen(d->body));
        if (rc == 0)
            rc = put(&b, ")", 1);
        i += 3 + nn + 1;
    }
    if (rc) {
        free(b.s);
        if (rc == HB_ETOOBIG)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: pattern over %zu bytes once its (?&name) "
                                "references are expanded",
                                file, line, HB_RULEDEFS_MAX_EXPANDED);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    *out = b.s;
    *outn = b.len;
    return 0;
}

int hb_ruledefs_add(hb_ruledefs *defs, const char *name, size_t nn, const char *body,
                    size_t bn, const char *file, size_t line, hb_error *err)
{
    if (!is_name(name, nn))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: bad define name '%.*s' (use a-z 0-9 _)", file, line,
                            (int)(nn > 60 ? 60 : nn), name);
    const hb_ruledef *d = find(defs, name, nn);
    if (d)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: '%s' is already defined (line %zu)",
                            file, line, d->name, d->line);
    char *expanded = NULL;
    size_t en = 0;
    int rc = hb_ruledefs_expand(defs, body, bn, &expanded, &en, file, line, err);
    if (rc)
        return rc;
    char *copy = malloc(nn + 1);
    if (!copy || hb_grow((void **)&defs->items, &defs->cap, defs->count + 1,
                         sizeof *defs->items)) {
        free(copy);
        free(expanded);
        return hb_error_set(err, HB_ENOMEM, "out of memory");
    }
    memcpy(copy, name, nn);
    copy[nn] = '\0';
    hb_ruledef *added = &defs->items[defs->count++];
    added->name = copy;
    added->body = expanded;
    added->line = line;
    return 0;
}
