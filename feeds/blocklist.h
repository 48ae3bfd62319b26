/*
 * blocklist.h - the URL blocklists Hubao checks every link against.
 *
 * A blocklist is built from the validated feed copies that `hubao feeds
 * update` writes into a feeds directory (feeds/fetch.h); it is immutable
 * once loaded and shared by all threads, and reloading means loading a new
 * one and swapping the pointer.  Lookups match, in this order of
 * precedence, the exact normalised URL, the host, and the registrable
 * domain (urls.h), and say which feed listed it.
 */
#ifndef HB_BLOCKLIST_H
#define HB_BLOCKLIST_H

#include <stddef.h>
#include <time.h>

#include "error.h"
#include "urls.h"

typedef struct hb_blocklist hb_blocklist;

typedef enum hb_block_match {
    HB_BLOCK_NONE = 0,
    HB_BLOCK_URL,     /* the exact normalised URL is listed */
    HB_BLOCK_HOST,    /* the host is listed */
    HB_BLOCK_DOMAIN,  /* the registrable domain is listed */
} hb_block_match;

typedef struct hb_feed_info {
    const char *name;     /* feed name from feeds.conf */
    size_t entries;       /* URLs, hosts and domains it lists */
    time_t updated;       /* when its copy was last replaced */
} hb_feed_info;

/* Load every feed copy in dir.  A missing or empty dir gives an empty
 * blocklist (Hubao works offline with whatever copies it has); a copy that
 * fails validation is an error naming the file. */
hb_blocklist *hb_blocklist_load_dir(const char *dir, hb_error *err);
void hb_blocklist_free(hb_blocklist *list);

/* Look u up.  Returns the strongest match kind and sets *feed (borrowed,
 * may be NULL when nothing matched) to the name of the feed that listed
 * it.  No allocation. */
hb_block_match hb_blocklist_lookup(const hb_blocklist *list, const hb_url *u,
                                   const char **feed);

size_t hb_blocklist_feed_count(const hb_blocklist *list);
const hb_feed_info *hb_blocklist_feed(const hb_blocklist *list, size_t i);

/* "url", "host", "domain" or "none". */
const char *hb_block_match_name(hb_block_match m);

#endif
