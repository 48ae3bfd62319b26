/*
 * feedconf.h - the feed configuration file (feeds/feeds.conf).
 *
 * One feed a line, three fields separated by blanks:
 *
 *   NAME FORMAT URL
 *
 * NAME names the feed's copy (DIR/NAME.list) and the verdicts that cite
 * it: 1 to 64 of [A-Za-z0-9._-], starting with a letter or digit
 * (hb_blocklist_feed_name_ok, blocklist.h), unique in the file.  FORMAT
 * is text, csv or json (feedparse.h).  URL is an http:// or https:// URL
 * of printable ASCII; whether plain http is fetched is the updater's
 * decision (fetch.h), not the file's.  '#' at the start of a line or of a
 * field starts a comment that runs to the end of the line; blank lines
 * are ignored.  Every mistake is reported as
 * "FILE:LINE: what is wrong".
 */
#ifndef HB_FEEDCONF_H
#define HB_FEEDCONF_H

#include <stddef.h>

#include "blocklist.h"
#include "error.h"
#include "feedparse.h"

#define HB_FEED_URL_MAX 2048

typedef struct hb_feed_source {
    char name[HB_FEED_NAME_MAX + 1];
    hb_feed_format format;
    char url[HB_FEED_URL_MAX];
    size_t line; /* where it was configured */
} hb_feed_source;

typedef struct hb_feedconf {
    hb_feed_source *feeds; /* in file order */
    size_t count;
} hb_feedconf;

/* Read the configuration at path.  Returns an owned hb_feedconf (free with
 * hb_feedconf_free; it may list no feeds), or NULL with err: HB_ENOTFOUND
 * or HB_EIO when the file cannot be read, HB_EFORMAT naming file:line. */
hb_feedconf *hb_feedconf_load(const char *path, hb_error *err);

/* The same for len bytes of text; origin names it in errors. */
hb_feedconf *hb_feedconf_parse(const char *text, size_t len, const char *origin,
                               hb_error *err);

void hb_feedconf_free(hb_feedconf *conf);

#endif
