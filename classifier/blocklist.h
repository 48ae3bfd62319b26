/*
 * blocklist.h - the URL blocklists Hubao checks every link against.
 *
 * A blocklist is built from the validated feed copies that `hubao feeds
 * update` writes into a feeds directory (feeds/fetch.h); it is immutable
 * once loaded and shared by all threads, and reloading means loading a new
 * one and swapping the pointer.  Lookups match, in this order of
 * precedence, the exact normalised URL, the host, and the registrable
 * domain (urls.h), and say which feed listed it.
 *
 * This header also owns what the copies look like (the feed copy format,
 * the entry kinds, the feed-name rule): the reader is the contract the
 * writer in feeds/ (feedparse.h, fetch.h) follows, so the library never
 * needs feeds/.
 *
 * What each entry kind catches (feedparse.h decides the kind of a feed
 * line; docs/feeds.md has the full story):
 *   url     the same normalised URL, ignoring its scheme and fragment
 *           ("https://x.com/p" catches "x.com/p" and "http://x.com/p#a"),
 *           never another path, query, port or host - so a phishing page
 *           on docs.google.com blocks that page, not Google;
 *   host    any URL on exactly that host (not its subdomains);
 *   domain  any URL whose registrable domain it is.
 */
#ifndef HB_BLOCKLIST_H
#define HB_BLOCKLIST_H

#include <stddef.h>
#include <time.h>

#include "error.h"
#include "urls.h"

/* Entry kinds; the values are the tags used in feed copies. */
typedef enum hb_feed_kind {
    HB_FEED_URL = 'u',
    HB_FEED_HOST = 'h',
    HB_FEED_DOMAIN = 'd',
} hb_feed_kind;

/*
 * Feed copies.  `hubao feeds update` stores each validated feed as
 * DIR/NAME.list (hb_feed_entries_write, feedparse.h), which
 * hb_blocklist_load_dir reads:
 *
 *   # hubao feed copy v1
 *   d evil.com
 *   h login.evil.org
 *   u https://pages.example.net/phish/index.html
 *   # end 3
 *
 * The first line is HB_FEED_COPY_MAGIC; then one entry a line, its kind
 * tag, one space and its value (no blanks or control characters); then
 * "# end N" with the number of entries, so a cut copy is detected.
 */
#define HB_FEED_COPY_MAGIC "# hubao feed copy v1"
#define HB_FEED_COPY_END "# end "

/* A feed NAME names its copy (DIR/NAME.list), its line in feeds.conf and
 * the verdicts that cite it: 1 to HB_FEED_NAME_MAX of [A-Za-z0-9._-],
 * starting with a letter or digit. */
#define HB_FEED_NAME_MAX 64

/* 1 if name is a valid feed name (see above), else 0; NULL is not. */
int hb_blocklist_feed_name_ok(const char *name);

typedef struct hb_blocklist hb_blocklist;

typedef enum hb_block_match {
    HB_BLOCK_NONE = 0,
    HB_BLOCK_URL,    /* the exact normalised URL is listed */
    HB_BLOCK_HOST,   /* the host is listed */
    HB_BLOCK_DOMAIN, /* the registrable domain is listed */
} hb_block_match;

typedef struct hb_feed_info {
    const char *name; /* feed name from feeds.conf */
    size_t entries;   /* URLs, hosts and domains it lists */
    time_t updated;   /* when its copy was last known current: replaced,
                       * or confirmed by a 304 (the copy's mtime) */
} hb_feed_info;

/* Load every feed copy (DIR/NAME.list) in dir, in name order; other files
 * (NAME.meta sidecars, temporaries, dot files) are ignored.  An empty dir
 * gives an empty blocklist (Hubao works offline with whatever copies it
 * has); a dir that does not exist is HB_ENOTFOUND, so that a reload never
 * drops every list because the directory went away.  dir NULL: no feeds,
 * an empty blocklist.  Returns an owned blocklist, or NULL with err: HB_EFORMAT
 * naming file:line for a copy that fails validation (a damaged copy is
 * refused whole, never half-loaded), HB_EIO, HB_ETOOBIG, HB_ELIMIT (over
 * 1024 copies), HB_ENOMEM. */
hb_blocklist *hb_blocklist_load_dir(const char *dir, hb_error *err);

/* Free list and everything it owns (feed names included); NULL is fine. */
void hb_blocklist_free(hb_blocklist *list);

/* Look u up.  Returns the strongest match kind and sets *feed (if feed is
 * not NULL; borrowed from list, NULL when nothing matched) to the name of
 * the feed that listed it; when several feeds list the same key, the first
 * by name.  A NULL list or u matches nothing.  No allocation, no locking:
 * safe from any number of threads. */
hb_block_match hb_blocklist_lookup(const hb_blocklist *list, const hb_url *u,
                                   const char **feed);

/* The loaded feeds, in name order: count, and the i-th (borrowed from
 * list; NULL when i is out of range). */
size_t hb_blocklist_feed_count(const hb_blocklist *list);
const hb_feed_info *hb_blocklist_feed(const hb_blocklist *list, size_t i);

/* "url", "host", "domain" or "none". */
const char *hb_block_match_name(hb_block_match m);

#endif
