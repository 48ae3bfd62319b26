/*
 * feedconf.c - read feeds.conf (feedconf.h).
 *
 * Strict, like the rules loader: a mistake stops the load with file:line,
 * so a typo in a feed's name or URL is found when the operator runs
 * `hubao feeds update`, not weeks later as a feed that silently never
 * updates.
 */
#include "feedconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A configuration is a few lines; anything this big is the wrong file. */
#define HB_FEEDCONF_MAX_BYTES (1024 * 1024)

/* Split s (n bytes) into at most cap blank-separated fields, stopping at a
 * field that starts with '#'.  Returns the number of fields found, which
 * may exceed cap (the extra ones are not stored). */
static size_t split(const char *s, size_t n, const char **f, size_t *fl, size_t cap)
{
    size_t i = 0, nf = 0;
    for (;;) {
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
            i++;
        if (i >= n || s[i] == '#')
            return nf;
        size_t start = i;
        while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            i++;
        if (nf < cap) {
            f[nf] = s + start;
            fl[nf] = i - start;
        }
        nf++;
    }
}

static int parse_line(const char *s, size_t n, const char *origin, size_t line,
                      hb_feed_source *out, hb_error *err)
{
    const char *f[3];
    size_t fl[3];
    size_t nf = split(s, n, f, fl, 3);
    if (nf != 3)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: expected \"NAME FORMAT URL\", found %zu "
                            "field%s",
                            origin, line, nf, nf == 1 ? "" : "s");
    memset(out, 0, sizeof *out);
    out->line = line;
    if (fl[0] > HB_FEED_NAME_MAX)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: feed name is over %d characters",
                            origin, line, HB_FEED_NAME_MAX);
    memcpy(out->name, f[0], fl[0]);
    if (!hb_blocklist_feed_name_ok(out->name))
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: feed name \"%s\" must be letters, digits, "
                            "'.', '_' or '-', starting with a letter or digit",
                            origin, line, out->name);
    char fmt[8] = "";
    if (fl[1] < sizeof fmt)
        memcpy(fmt, f[1], fl[1]);
    if (fl[1] >= sizeof fmt || hb_feed_format_from_name(fmt, &out->format) != 0)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: feed %s: format \"%.*s\" is not text, csv "
                            "or json",
                            origin, line, out->name, (int)(fl[1] > 20 ? 20 : fl[1]),
                            f[1]);
    if (fl[2] >= HB_FEED_URL_MAX)
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: feed %s: URL is over %d bytes",
                            origin, line, out->name, HB_FEED_URL_MAX - 1);
    for (size_t i = 0; i < fl[2]; i++) {
        unsigned char c = (unsigned char)f[2][i];
        if (c <= 0x20 || c >= 0x7f)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: feed %s: URL must be printable ASCII "
                                "(percent-encode byte %zu)",
                                origin, line, out->name, i + 1);
    }
    memcpy(out->url, f[2], fl[2]);
    int https = strncasecmp(out->url, "https://", 8) == 0;
    int http = strncasecmp(out->url, "http://", 7) == 0;
    size_t skip = https ? 8 : http ? 7 : 0;
    if (!skip)
        return hb_error_set(err, HB_EFORMAT,
                            "%s:%zu: feed %s: URL \"%s\" must start with "
                            "https:// (or http://)",
                            origin, line, out->name, out->url);
    if (out->url[skip] == '\0' || out->url[skip] == '/')
        return hb_error_set(err, HB_EFORMAT, "%s:%zu: feed %s: URL has no host", origin,
                            line, out->name);
    return 0;
}

hb_feedconf *hb_feedconf_parse(const char *text, size_t len, const char *origin,
                               hb_error *err)
{
    if (!origin)
        origin = "feeds.conf";
    if (!text && len > 0) {
        hb_error_set(err, HB_EINVAL, "%s: no text given", origin);
        return NULL;
    }
    hb_feedconf *c = calloc(1, sizeof *c);
    if (!c) {
        hb_error_set(err, HB_ENOMEM, "%s: out of memory", origin);
        return NULL;
    }
    if (len > 0 && memchr(text, '\0', len)) {
        hb_error_set(err, HB_EFORMAT, "%s: contains a NUL byte (not a text file?)",
                     origin);
        hb_feedconf_free(c);
        return NULL;
    }
    size_t pos = 0, line = 0, cap = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        const char *s = text + pos;
        size_t n = end - pos;
        pos = nl ? end + 1 : len;
        line++;
        if (line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
            s += 3, n -= 3;
        const char *f[1];
        size_t fl[1];
        if (split(s, n, f, fl, 1) == 0)
            continue;
        if (c->count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            hb_feed_source *p = realloc(c->feeds, ncap * sizeof *p);
            if (!p) {
                hb_error_set(err, HB_ENOMEM, "%s: out of memory", origin);
                hb_feedconf_free(c);
                return NULL;
            }
            c->feeds = p;
            cap = ncap;
        }
        hb_feed_source *src = &c->feeds[c->count];
        if (parse_line(s, n, origin, line, src, err) != 0) {
            hb_feedconf_free(c);
            return NULL;
        }
        for (size_t i = 0; i < c->count; i++) {
            if (strcmp(c->feeds[i].name, src->name) == 0) {
                hb_error_set(err, HB_EFORMAT,
                             "%s:%zu: feed %s is already configured on line %zu", origin,
                             line, src->name, c->feeds[i].line);
                hb_feedconf_free(c);
                return NULL;
            }
        }
        c->count++;
    }
    return c;
}

hb_feedconf *hb_feedconf_load(const char *path, hb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        hb_error_set(err, errno == ENOENT ? HB_ENOTFOUND : HB_EIO,
                     "%s: cannot open feed configuration: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(HB_FEEDCONF_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, HB_FEEDCONF_MAX_BYTES + 1, f) : 0;
    int rerr = ferror(f);
    fclose(f);
    hb_feedconf *c = NULL;
    if (!buf)
        hb_error_set(err, HB_ENOMEM, "%s: out of memory", path);
    else if (rerr)
        hb_error_set(err, HB_EIO, "%s: read error", path);
    else if (n > (size_t)HB_FEEDCONF_MAX_BYTES)
        hb_error_set(err, HB_EFORMAT, "%s: over %d bytes: not a feed configuration", path,
                     HB_FEEDCONF_MAX_BYTES);
    else
        c = hb_feedconf_parse(buf, n, path, err);
    free(buf);
    return c;
}

void hb_feedconf_free(hb_feedconf *conf)
{
    if (!conf)
        return;
    free(conf->feeds);
    free(conf);
}
