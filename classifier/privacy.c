/*
 * privacy.c - personal data out of text that is kept (see privacy.h).
 */
#include "privacy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "entities.h"
#include "normalize.h"

struct hb_scrubber {
    hb_entities *ents;
    hb_entities_scratch *scratch;
    hb_text text;
};

hb_scrubber *hb_scrubber_new(hb_error *err)
{
    hb_scrubber *sc = calloc(1, sizeof *sc);
    if (!sc) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    hb_text_init(&sc->text);
    if (!(sc->ents = hb_entities_new(err)))
        goto fail;
    if (!(sc->scratch = hb_entities_scratch_new())) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        goto fail;
    }
    return sc;
fail:
    hb_scrubber_free(sc);
    return NULL;
}

void hb_scrubber_free(hb_scrubber *sc)
{
    if (!sc)
        return;
    hb_entities_scratch_free(sc->scratch);
    hb_entities_free(sc->ents);
    hb_text_release(&sc->text);
    free(sc);
}

/* Append n bytes to a growing buffer; 0 or -1 when out of memory. */
static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Bytes of the digit at s[i..n) - an ASCII digit (1) or a Chinese numeral
 * (3: 〇零一二三四五六七八九两, as phone numbers are spelt out to dodge
 * filters) - or 0. */
static size_t digit_at(const char *s, size_t i, size_t n)
{
    static const char *const NUMERALS[] = {"〇", "零", "一", "二", "三", "四",
                                           "五", "六", "七", "八", "九", "两"};
    if (isdigit((unsigned char)s[i]))
        return 1;
    for (size_t k = 0; k < sizeof NUMERALS / sizeof *NUMERALS; k++)
        if (i + 3 <= n && memcmp(s + i, NUMERALS[k], 3) == 0)
            return 3;
    return 0;
}

static int email_char(unsigned char c, int domain)
{
    return isalnum(c) || c == '.' || c == '-' || (!domain && (c == '_' || c == '+'));
}

/* Length of an e-mail address whose '@' is at s[at], starting at *start
 * (set here), or 0: a local part and a dotted domain around the '@'. */
static size_t email_at(const char *s, size_t n, size_t at, size_t *start)
{
    size_t b = at, e = at + 1, dot = 0;
    while (b > 0 && email_char((unsigned char)s[b - 1], 0))
        b--;
    while (e < n && email_char((unsigned char)s[e], 1))
        dot |= s[e++] == '.';
    while (e > at + 1 && s[e - 1] == '.') /* a sentence's full stop */
        e--;
    if (b == at || !dot || e == at + 1)
        return 0;
    *start = b;
    return e - b;
}

/* Copy s (n bytes) replacing runs of 7+ digits (ASCII or Chinese
 * numerals, mixed) with <NUMBER> and e-mail addresses with <EMAIL>, and
 * tabs and line breaks with spaces (the export is one record per line). */
static int put_scrubbed(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    size_t i = 0, done = 0; /* s[done..i) is plain text not yet copied */
    while (i < n) {
        size_t j = i, digits = 0, d;
        while (j < n && (d = digit_at(s, j, n)) > 0) {
            j += d;
            digits++;
        }
        size_t start = 0, mail = s[i] == '@' ? email_at(s, n, i, &start) : 0;
        if (digits >= 7 || (mail && start >= done)) {
            size_t from = mail ? start : i, to = mail ? start + mail : j;
            for (size_t k = done; k < from; k++) {
                char c = s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ? ' ' : s[k];
                if (put(buf, len, cap, &c, 1))
                    return -1;
            }
            if (put(buf, len, cap, mail ? "<EMAIL>" : "<NUMBER>", mail ? 7 : 8))
                return -1;
            i = done = to;
        } else {
            i = j > i ? j : i + 1;
        }
    }
    for (size_t k = done; k < n; k++) {
        char c = s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ? ' ' : s[k];
        if (put(buf, len, cap, &c, 1))
            return -1;
    }
    return 0;
}

char *hb_scrub_text(hb_scrubber *sc, const char *text, size_t len)
{
    hb_error e;
    if (hb_normalize(text, len, &sc->text, &e) != 0)
        return NULL;
    hb_entity ents[128];
    size_t n = 0;
    if (hb_entities_find(sc->ents, sc->scratch, sc->text.utf8, sc->text.len, ents,
                         sizeof ents / sizeof ents[0], &n) != 0)
        n = 0;
    char *out = NULL;
    size_t olen = 0, cap = 0;
    size_t at = 0;
    if (put(&out, &olen, &cap, "", 0))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *ph = ents[i].kind == HB_ENTITY_PHONE     ? "<PHONE>"
                         : ents[i].kind == HB_ENTITY_ACCOUNT ? "<ACCOUNT>"
                         : ents[i].kind == HB_ENTITY_HANDLE  ? "<HANDLE>"
                                                             : NULL;
        if (!ph || ents[i].start < at)
            continue;
        if (put_scrubbed(&out, &olen, &cap, sc->text.utf8 + at, ents[i].start - at) ||
            put(&out, &olen, &cap, ph, strlen(ph))) {
            free(out);
            return NULL;
        }
        at = ents[i].end;
    }
    if (put_scrubbed(&out, &olen, &cap, sc->text.utf8 + at, sc->text.len - at)) {
        free(out);
        return NULL;
    }
    return out;
}

char *hb_scrub_plain(const char *text, size_t len)
{
    char *out = NULL;
    size_t olen = 0, cap = 0;
    if (put(&out, &olen, &cap, "", 0) || put_scrubbed(&out, &olen, &cap, text, len)) {
        free(out);
        return NULL;
    }
    return out;
}
