/*
 * fuzz_feedparse.c - libFuzzer target for the feed parsers (feedparse.h)
 * and the feed configuration parser (feedconf.h).
 *
 * Feeds are downloaded from third parties and feeds.conf is edited by
 * hand, so neither parser may crash, overrun or leak on any input.  The
 * first byte picks the parser (text, csv, json, feeds.conf); the rest is
 * the input.  Beyond "no sanitizer report" this checks what the copy
 * writer and the blocklist rely on:
 *   - failure means NULL with a known error code and a message;
 *   - success means at least one entry, no more than half the records
 *     rejected, entries sorted and unique, every value non-empty with no
 *     blank or control byte (the copy format splits on blanks);
 *   - classifying a value again gives the same kind and value (what the
 *     copy stores is already canonical);
 *   - the copy written for the entries has one line per entry between
 *     the magic line and "# end N".
 *
 * Built and run by `make fuzz` on tests/fuzz/corpus/feedparse (and for a few
 * seconds by `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "blocklist.h"
#include "feedconf.h"
#include "feedparse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
    return 0;
}

static void check_conf(const char *text, size_t len)
{
    hb_error err;
    hb_error_clear(&err);
    hb_feedconf *c = hb_feedconf_parse(text, len, "fuzz.conf", &err);
    if (!c) {
        if (err.code != HB_EFORMAT && err.code != HB_ENOMEM)
            abort();
        if (!memchr(err.message, '\0', sizeof err.message) || !err.message[0])
            abort();
        return;
    }
    for (size_t i = 0; i < c->count; i++) {
        if (!hb_blocklist_feed_name_ok(c->feeds[i].name) || !c->feeds[i].url[0])
            abort();
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->feeds[i].name, c->feeds[j].name) == 0)
                abort();
        }
    }
    hb_feedconf_free(c);
}

static void check_copy(const hb_feed_entries *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    if (hb_feed_entries_write(e, f) != 0)
        abort();
    fclose(f);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    char end[64];
    snprintf(end, sizeof end, "%s%zu\n", HB_FEED_COPY_END, e->count);
    size_t el = strlen(end), ml = strlen(HB_FEED_COPY_MAGIC);
    if (lines != e->count + 2 || len < el + ml ||
        memcmp(buf, HB_FEED_COPY_MAGIC "\n", ml + 1) != 0 ||
        memcmp(buf + len - el, end, el) != 0)
        abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int which = data[0] % 4;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (which == 3) {
        check_conf(text, len);
        return 0;
    }
    hb_error err;
    hb_error_clear(&err);
    hb_feed_entries *e = hb_feedparse(text, len, (hb_feed_format)which, &err);
    if (!e) {
        if (err.code != HB_EEMPTY && err.code != HB_EFORMAT && err.code != HB_ENOMEM)
            abort();
        if (!err.message[0])
            abort();
        return 0;
    }
    if (e->count == 0 || e->rejected * 2 > e->records ||
        e->count > e->records - e->rejected)
        abort();
    for (size_t i = 0; i < e->count; i++) {
        const hb_feed_entry *x = &e->items[i];
        size_t vl = strlen(x->value);
        if (vl == 0)
            abort();
        for (size_t k = 0; k < vl; k++) {
            if ((unsigned char)x->value[k] <= 0x20 || x->value[k] == 0x7f)
                abort();
        }
        if (i > 0) {
            const hb_feed_entry *p = &e->items[i - 1];
            if (p->kind > x->kind ||
                (p->kind == x->kind && strcmp(p->value, x->value) >= 0))
                abort();
        }
        hb_feed_kind kind;
        hb_url u;
        if (vl <= 2000 && hb_feedparse_entry(x->value, vl, &kind, &u, &err) == 0) {
            const char *again = kind == HB_FEED_URL    ? u.url
                                : kind == HB_FEED_HOST ? u.host
                                                       : u.domain;
            if (kind != x->kind || strcmp(again, x->value) != 0)
                abort();
        } else if (vl <= 2000) {
            abort();
        }
    }
    check_copy(e);
    hb_feed_entries_free(e);
    return 0;
}
