/*
 * feedparse.c - parse and validate a downloaded feed into blocklist
 * entries (feedparse.h).
 *
 * The idea
 * --------
 * A feed comes from outside and replaces what Hubao blocks, so a download
 * is judged as a whole before any of it is used: one that is empty, cut
 * short, or mostly not URLs is refused and the previous copy stays.  A
 * record that is merely odd (a stray word in a text list, a CSV row with
 * the wrong number of fields) is skipped and counted, since real feeds
 * carry the occasional bad line and refusing the whole feed for one would
 * leave users on a stale copy.
 *
 * Formats
 * -------
 *   text  one value a line; blank lines and lines starting with '#' are
 *         skipped, and so is a " # comment" after the value.  A line with
 *         two words is rejected: hosts files ("0.0.0.0 evil.com") are not
 *         this format.
 *   csv   RFC 4180 records: fields split at commas, double-quoted fields
 *         may hold commas, newlines and "" for a quote.  Lines starting
 *         with '#' are comments.  The URL column is the one named "url"
 *         in the header, which is either the first record or, as URLhaus
 *         writes it, a comment ("# id,dateadded,url,...").  Without one,
 *         it is the first field of the first data record that holds a
 *         "scheme://" URL.  Every record must have the header's (or the
 *         first record's) number of fields; a last record without a
 *         newline that falls short, or a quote still open at the end, is
 *         a truncated download.
 *   json  an array whose items are strings, or objects with a string
 *         "url" member; other items are rejected records.  A document
 *         that does not parse is truncated or malformed.
 * Text has no way to tell a cut-short last line from a complete one; the
 * transport catches that (fetch.c checks Content-Length and chunking).
 *
 * Values become url, host or domain entries as feedparse.h describes;
 * the decision is made on the raw value (does it name a page, or only a
 * host?), the value itself comes from hb_url_parse.
 */
#include "feedparse.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Values longer than this are not links (urls.c has the same limit). */
#define HB_FEED_MAX_VALUE 2000

/* Entries of one download while it is parsed: values in one growing
 * arena, entries as offsets into it until the arena stops moving. */
typedef struct pending {
    char kind;
    size_t off;
} pending;

typedef struct builder {
    char *arena;
    size_t alen, acap;
    pending *items;
    size_t n, cap;
    hb_feed_entries *out;
    int oom;
} builder;

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

int hb_feed_format_from_name(const char *name, hb_feed_format *out)
{
    static const char *const names[] = {"text", "csv", "json"};
    for (int i = 0; name && i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (hb_feed_format)i;
            return 0;
        }
    }
    return HB_EINVAL;
}

const char *hb_feed_format_name(hb_feed_format f)
{
    switch (f) {
    case HB_FEED_TEXT: return "text";
    case HB_FEED_CSV: return "csv";
    case HB_FEED_JSON: return "json";
    }
    return "unknown";
}

/* True if s (len bytes) holds "://". */
static int has_scheme_sep(const char *s, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++) {
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/')
            return 1;
    }
    return 0;
}

/* True if raw names only a host: no scheme, path, query, fragment,
 * userinfo or port (a ':' inside an IPv6 "[...]" is part of the host). */
static int is_bare_host(const char *raw, size_t len)
{
    int bracket = 0;
    if (has_scheme_sep(raw, len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = raw[i];
        if (c == '[')
            bracket = 1;
        else if (c == ']')
            bracket = 0;
        else if (c == '/' || c == '?' || c == '#' || c == '@' || c == '\\' ||
                 (c == ':' && !bracket))
            return 0;
    }
    return 1;
}

int hb_feedparse_entry(const char *raw, size_t len, hb_feed_kind *kind, hb_url *u,
                       hb_error *err)
{
    if (!raw || len == 0)
        return hb_error_set(err, HB_EINVAL, "empty value");
    if (len > HB_FEED_MAX_VALUE)
        return hb_error_set(err, HB_EINVAL,
                            "value of %zu bytes is over the %d-byte limit", len,
                            HB_FEED_MAX_VALUE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c <= 0x20 || c == 0x7f)
            return hb_error_set(err, HB_EINVAL,
                                "value contains a blank or control character "
                                "at byte %zu",
                                i + 1);
    }
    int rc = hb_url_parse(raw, len, u, err);
    if (rc != 0)
        return rc;
    if (!u->host_is_ip && !strchr(u->host, '.'))
        return hb_error_set(err, HB_EINVAL,
                            "host \"%s\" has no dot and is not an IP address", u->host);
    if (!is_bare_host(raw, len))
        *kind = HB_FEED_URL;
    else if (u->host_is_ip || strcmp(u->host, u->domain) != 0)
        *kind = HB_FEED_HOST;
    else
        *kind = HB_FEED_DOMAIN;
    return 0;
}

/* Record that the record at line was rejected (the first reason kept). */
static void reject(builder *b, size_t line, const char *why)
{
    hb_feed_entries *e = b->out;
    e->rejected++;
    if (e->rejected > 1)
        return;
    /* keep the reason whole characters long, so the message stays UTF-8 */
    int cut = (int)strlen(why);
    if (cut > 200) {
        cut = 200;
        while (cut > 0 && ((unsigned char)why[cut] & 0xc0) == 0x80)
            cut--;
    }
    snprintf(e->first_rejected, sizeof e->first_rejected, "line %zu: %.*s", line, cut,
             why);
}

/* Classify one value of the record at line and keep its entry. */
static void add_value(builder *b, const char *raw, size_t len, size_t line)
{
    hb_url u;
    hb_error err;
    hb_feed_kind kind = HB_FEED_URL;
    u.url[0] = u.host[0] = u.domain[0] = '\0';
    while (len > 0 && (raw[0] == ' ' || raw[0] == '\t'))
        raw++, len--;
    while (len > 0 && (raw[len - 1] == ' ' || raw[len - 1] == '\t'))
        len--;
    if (hb_feedparse_entry(raw, len, &kind, &u, &err) != 0) {
        reject(b, line, err.message);
        return;
    }
    const char *v = kind == HB_FEED_URL    ? u.url
                    : kind == HB_FEED_HOST ? u.host
                                           : u.domain;
    size_t vlen = strlen(v);
    /* The copy format separates by blanks; hb_url_parse percent-encodes
     * them, but the format must not depend on that. */
    for (size_t i = 0; i < vlen; i++) {
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f) {
            reject(b, line, "normalised value contains a blank");
            return;
        }
    }
    /* The copy is read back by the classifier (classifier/blocklist.c),
     * which refuses the whole copy if an entry does not come out as
     * itself: a value that normalises to something else again (a
     * byte-order mark inside a host name) is rejected here, as one bad
     * record. */
    hb_feed_kind again_kind = HB_FEED_URL;
    hb_url again;
    if (hb_feedparse_entry(v, vlen, &again_kind, &again, &err) != 0 ||
        again_kind != kind ||
        strcmp(kind == HB_FEED_URL    ? again.url
               : kind == HB_FEED_HOST ? again.host
                                      : again.domain,
               v) != 0) {
        reject(b, line, "value does not read back as itself once normalised");
        return;
    }
    if (grow((void **)&b->arena, &b->acap, b->alen + vlen + 1, 1) < 0 ||
        grow((void **)&b->items, &b->cap, b->n + 1, sizeof *b->items) < 0) {
        b->oom = 1;
        return;
    }
    b->items[b->n++] = (pending){(char)kind, b->alen};
    memcpy(b->arena + b->alen, v, vlen + 1);
    b->alen += vlen + 1;
}

/* Strip blanks and a trailing '\r' from both ends of s (n bytes). */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t' || **s == '\r'))
        (*s)++, (*n)--;
    while (*n > 0 &&
           ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static void parse_text(builder *b, const char *d, size_t len)
{
    size_t pos = 0, line = 0;
    while (pos < len && !b->oom) {
        const char *nl = memchr(d + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - d) : len;
        const char *s = d + pos;
        size_t n = end - pos;
        pos = nl ? end + 1 : len;
        line++;
        trim(&s, &n);
        if (n == 0 || s[0] == '#')
            continue;
        b->out->records++;
        size_t word = 0; /* s is not NUL-terminated: no strcspn */
        while (word < n && s[word] != ' ' && s[word] != '\t')
            word++;
        if (word < n) {
            const char *rest = s + word;
            size_t rn = n - word;
            trim(&rest, &rn);
            if (rn > 0 && rest[0] != '#') {
                reject(b, line, "more than one word on the line");
                continue;
            }
            n = word;
        }
        add_value(b, s, n, line);
    }
}

/* One CSV record: field values (unquoted) stored NUL-terminated in buf,
 * field i starting at buf + offs[i]. */
typedef struct csv_rec {
    char *buf;
    size_t len, cap;
    size_t *offs;
    size_t nf, fcap;
} csv_rec;

enum { CSV_EOF = 0, CSV_OK = 1, CSV_OPEN_QUOTE = -1, CSV_NOMEM = -2 };

static int csv_put(csv_rec *r, char c)
{
    if (grow((void **)&r->buf, &r->cap, r->len + 1, 1) < 0)
        return -1;
    r->buf[r->len++] = c;
    return 0;
}

static int csv_start_field(csv_rec *r)
{
    if (grow((void **)&r->offs, &r->fcap, r->nf + 1, sizeof *r->offs) < 0)
        return -1;
    r->offs[r->nf++] = r->len;
    return 0;
}

/* Read the record at d[*pos..len) into r, advancing *pos past it and
 * *line by the newlines it spans.  *newline says whether it ended with
 * one.  Returns CSV_OK, CSV_EOF when nothing is left, CSV_OPEN_QUOTE when
 * the data ends inside a quoted field, or CSV_NOMEM. */
static int csv_read(const char *d, size_t len, size_t *pos, size_t *line, csv_rec *r,
                    int *newline)
{
    size_t p = *pos;
    r->len = r->nf = 0;
    *newline = 0;
    if (p >= len)
        return CSV_EOF;
    if (csv_start_field(r) < 0)
        return CSV_NOMEM;
    int quoted = 0, at_start = 1;
    while (p < len) {
        char c = d[p];
        if (quoted) {
            if (c == '"' && p + 1 < len && d[p + 1] == '"') {
                if (csv_put(r, '"') < 0)
                    return CSV_NOMEM;
                p += 2;
                continue;
            }
            if (c == '"') {
                quoted = 0;
                p++;
                continue;
            }
            if (c == '\n')
                (*line)++;
            if (csv_put(r, c) < 0)
                return CSV_NOMEM;
            p++;
            continue;
        }
        if (c == '"' && at_start) {
            quoted = 1;
            at_start = 0;
            p++;
            continue;
        }
        if (c == ',' || c == '\n') {
            /* a '\r' before the newline belongs to the line ending */
            if (c == '\n' && r->len > r->offs[r->nf - 1] && r->buf[r->len - 1] == '\r')
                r->len--;
            if (csv_put(r, '\0') < 0)
                return CSV_NOMEM;
            p++;
            if (c == '\n') {
                (*line)++;
                *newline = 1;
                *pos = p;
                return CSV_OK;
            }
            if (csv_start_field(r) < 0)
                return CSV_NOMEM;
            at_start = 1;
            continue;
        }
        at_start = 0;
        if (csv_put(r, c) < 0)
            return CSV_NOMEM;
        p++;
    }
    *pos = p;
    if (quoted)
        return CSV_OPEN_QUOTE;
    if (r->len > r->offs[r->nf - 1] && r->buf[r->len - 1] == '\r')
        r->len--;
    return csv_put(r, '\0') < 0 ? CSV_NOMEM : CSV_OK;
}

/* Field i of r and its length (a field may hold NUL bytes). */
static const char *csv_field(const csv_rec *r, size_t i, size_t *len)
{
    size_t end = i + 1 < r->nf ? r->offs[i + 1] : r->len;
    *len = end - 1 - r->offs[i]; /* minus its terminating NUL */
    return r->buf + r->offs[i];
}

/* Index of the field named "url" (blanks ignored, any case), or -1. */
static long csv_url_column(const csv_rec *r)
{
    for (size_t i = 0; i < r->nf; i++) {
        size_t n;
        const char *s = csv_field(r, i, &n);
        trim(&s, &n);
        if (n == 3 && strncasecmp(s, "url", 3) == 0)
            return (long)i;
    }
    return -1;
}

/* Parse CSV; returns 0 or an hb_err code with err set. */
static int parse_csv(builder *b, const char *d, size_t len, hb_error *err)
{
    csv_rec r = {0};
    size_t pos = 0, line = 0, expected = 0;
    long col = -1;  /* URL column, from the header or the first record */
    int header = 0; /* a header has been seen */
    int rc = 0;
    while (pos < len && !b->oom) {
        size_t start = line + 1;
        /* comment or blank line */
        size_t q = pos;
        while (q < len && (d[q] == ' ' || d[q] == '\t' || d[q] == '\r'))
            q++;
        if (q >= len || d[q] == '\n' || d[q] == '#') {
            const char *nl = memchr(d + q, '\n', len - q);
            size_t end = nl ? (size_t)(nl - d) : len;
            if (q < len && d[q] == '#' && !header && b->out->records == 0) {
                /* URLhaus writes its header as a comment */
                size_t hp = q + 1, hl = 0;
                int nlf;
                while (hp < end && (d[hp] == ' ' || d[hp] == '\t'))
                    hp++;
                int hr = csv_read(d, end, &hp, &hl, &r, &nlf);
                if (hr == CSV_NOMEM) {
                    b->oom = 1;
                    break;
                }
                if (hr == CSV_OK && (col = csv_url_column(&r)) >= 0) {
                    header = 1;
                    expected = r.nf;
                }
            }
            pos = nl ? end + 1 : len;
            line++;
            continue;
        }
        int newline;
        int got = csv_read(d, len, &pos, &line, &r, &newline);
        if (got == CSV_NOMEM) {
            b->oom = 1;
            break;
        }
        if (got == CSV_OPEN_QUOTE) {
            rc = hb_error_set(err, HB_EFORMAT,
                              "line %zu: a quoted field is never closed "
                              "(truncated download?)",
                              start);
            break;
        }
        if (!newline)
            line++;
        if (!header && b->out->records == 0 && (col = csv_url_column(&r)) >= 0) {
            header = 1;
            expected = r.nf;
            continue;
        }
        b->out->records++;
        if (expected == 0)
            expected = r.nf;
        if (r.nf != expected) {
            if (!newline) {
                rc = hb_error_set(err, HB_EFORMAT,
                                  "line %zu: the last record has %zu fields, "
                                  "not %zu, and no newline (truncated "
                                  "download?)",
                                  start, r.nf, expected);
                break;
            }
            char why[96];
            snprintf(why, sizeof why, "%zu fields, expected %zu", r.nf, expected);
            reject(b, start, why);
            continue;
        }
        if (col < 0) {
            /* no header: the first field holding a scheme:// URL */
            for (size_t i = 0; i < r.nf && col < 0; i++) {
                size_t n;
                const char *s = csv_field(&r, i, &n);
                if (has_scheme_sep(s, n))
                    col = (long)i;
            }
            if (col < 0) {
                reject(b, start,
                       "no column named \"url\" and no field "
                       "holding a scheme:// URL");
                continue;
            }
        }
        size_t vlen;
        const char *v = csv_field(&r, (size_t)col, &vlen);
        add_value(b, v, vlen, start);
    }
    free(r.buf);
    free(r.offs);
    return rc;
}

static int parse_json(builder *b, const char *d, size_t len, hb_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(d, len, 0, &jerr);
    if (!root)
        return hb_error_set(err, HB_EFORMAT,
                            "line %d column %d: JSON does not parse "
                            "(truncated download?): %s",
                            jerr.line, jerr.column, jerr.text);
    if (!json_is_array(root)) {
        json_decref(root);
        return hb_error_set(err, HB_EFORMAT,
                            "JSON feed must be an array of URL strings or of "
                            "objects with a \"url\" member");
    }
    size_t i;
    json_t *item;
    json_array_foreach(root, i, item)
    {
        if (b->oom)
            break;
        b->out->records++;
        if (json_is_object(item))
            item = json_object_get(item, "url");
        if (!json_is_string(item)) {
            reject(b, i + 1,
                   "item is neither a string nor an object with "
                   "a string \"url\"");
            continue;
        }
        /* "line" is the item number for JSON */
        add_value(b, json_string_value(item), json_string_length(item), i + 1);
    }
    json_decref(root);
    return 0;
}

static int by_kind_value(const void *a, const void *c)
{
    const hb_feed_entry *x = a, *y = c;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return strcmp(x->value, y->value);
}

/* Turn the pending offsets into sorted, unique entries. */
static int finish(builder *b)
{
    hb_feed_entries *e = b->out;
    e->items = malloc((b->n ? b->n : 1) * sizeof *e->items);
    if (!e->items)
        return -1;
    e->arena_ = b->arena;
    b->arena = NULL;
    for (size_t i = 0; i < b->n; i++)
        e->items[i] =
            (hb_feed_entry){(hb_feed_kind)b->items[i].kind, e->arena_ + b->items[i].off};
    qsort(e->items, b->n, sizeof *e->items, by_kind_value);
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (w > 0 && by_kind_value(&e->items[w - 1], &e->items[i]) == 0)
            continue;
        e->items[w++] = e->items[i];
    }
    e->count = w;
    return 0;
}

hb_feed_entries *hb_feedparse(const char *data, size_t len, hb_feed_format fmt,
                              hb_error *err)
{
    if (!data || len == 0) {
        hb_error_set(err, HB_EEMPTY, "the download is empty");
        return NULL;
    }
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        data += 3, len -= 3;
    hb_feed_entries *e = calloc(1, sizeof *e);
    if (!e) {
        hb_error_set(err, HB_ENOMEM, "out of memory parsing a feed");
        return NULL;
    }
    builder b = {.out = e};
    int rc = 0;
    if (fmt == HB_FEED_TEXT)
        parse_text(&b, data, len);
    else if (fmt == HB_FEED_CSV)
        rc = parse_csv(&b, data, len, err);
    else if (fmt == HB_FEED_JSON)
        rc = parse_json(&b, data, len, err);
    else
        rc = hb_error_set(err, HB_EINVAL, "unknown feed format %d", (int)fmt);

    if (rc == 0 && b.oom)
        rc = hb_error_set(err, HB_ENOMEM, "out of memory parsing a feed");
    if (rc == 0 && e->records == 0)
        rc = hb_error_set(err, HB_EEMPTY,
                          "the download holds no entries (only comments, "
                          "blank lines or a header)");
    if (rc == 0 && b.n == 0)
        rc =
            hb_error_set(err, HB_EFORMAT, "none of the %zu records is a URL or host (%s)",
                         e->records, e->first_rejected);
    if (rc == 0 && e->rejected * 2 > e->records)
        rc = hb_error_set(err, HB_EFORMAT,
                          "%zu of the %zu records are not URLs or hosts - "
                          "not a %s feed? (%s)",
                          e->rejected, e->records, hb_feed_format_name(fmt),
                          e->first_rejected);
    if (rc == 0 && finish(&b) < 0)
        rc = hb_error_set(err, HB_ENOMEM, "out of memory parsing a feed");
    free(b.arena);
    free(b.items);
    if (rc != 0) {
        hb_feed_entries_free(e);
        return NULL;
    }
    return e;
}

void hb_feed_entries_free(hb_feed_entries *e)
{
    if (!e)
        return;
    free(e->items);
    free(e->arena_);
    free(e);
}

int hb_feed_entries_write(const hb_feed_entries *e, FILE *f)
{
    if (fprintf(f, "%s\n", HB_FEED_COPY_MAGIC) < 0)
        return HB_EIO;
    for (size_t i = 0; i < e->count; i++) {
        if (fprintf(f, "%c %s\n", (char)e->items[i].kind, e->items[i].value) < 0)
            return HB_EIO;
    }
    if (fprintf(f, "%s%zu\n", HB_FEED_COPY_END, e->count) < 0)
        return HB_EIO;
    return 0;
}
