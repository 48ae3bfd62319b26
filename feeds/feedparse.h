/*
 * feedparse.h - turn a downloaded feed (text, CSV or JSON) into validated,
 * normalised blocklist entries, and write them as a feed copy.
 *
 * A feed line becomes one of three kinds of entry, chosen so that listing
 * one page never blocks a whole site (a phishing page on docs.google.com
 * must not block google.com):
 *
 *   url     the line names a page (it has a scheme, a path, a query, a
 *           port or userinfo): only that normalised URL is listed;
 *   host    the line is a bare host name or IP address that is not itself
 *           a registrable domain ("login.evil.com", "203.0.113.9"): that
 *           host is listed, not its other subdomains nor its domain;
 *   domain  the line is a bare registrable domain ("evil.com"): every host
 *           whose registrable domain it is is listed.
 *
 * Values are normalised with hb_url_parse (urls.h), whose precondition -
 * curl_global_init() called by the process - applies here too.
 *
 * The parse checks the whole download, because a feed is only replaced by
 * a download that passed: see hb_feedparse for what is rejected.
 */
#ifndef HB_FEEDPARSE_H
#define HB_FEEDPARSE_H

#include <stddef.h>
#include <stdio.h>

#include "blocklist.h"
#include "error.h"
#include "urls.h"

typedef enum hb_feed_format {
    HB_FEED_TEXT = 0, /* one URL or host a line, '#' comments (OpenPhish) */
    HB_FEED_CSV,      /* header with a "url" column, '#' comments (URLhaus) */
    HB_FEED_JSON,     /* array of strings, or of objects with "url" */
} hb_feed_format;

typedef struct hb_feed_entry {
    hb_feed_kind kind; /* blocklist.h */
    const char *value; /* normalised URL, host or domain; owned by the set */
} hb_feed_entry;

/* The entries of one download, sorted by kind then value, without
 * duplicates, and what the parse saw on the way. */
typedef struct hb_feed_entries {
    hb_feed_entry *items;
    size_t count;
    size_t records;           /* data records (not comments, blank lines or
                               * the CSV header) */
    size_t rejected;          /* records that gave no entry */
    char first_rejected[256]; /* "line N: why" for the first of them, or "" */
    char *arena_;             /* private: storage for the values */
} hb_feed_entries;

/* "text", "csv", "json" -> *out.  Returns 0, or HB_EINVAL for any other
 * name. */
int hb_feed_format_from_name(const char *name, hb_feed_format *out);
const char *hb_feed_format_name(hb_feed_format f);

/* Classify one feed value (raw, len bytes, already stripped of blanks and
 * CSV quoting) into *kind and *u, the normalised form; the entry's value
 * is u->url, u->host or u->domain by kind.  Returns 0, or HB_EINVAL with
 * err saying why it is not a URL or host: control characters or blanks
 * inside, unparsable, or a host with no dot that is not an IP address
 * ("localhost", "12345" as a word). */
int hb_feedparse_entry(const char *raw, size_t len, hb_feed_kind *kind, hb_url *u,
                       hb_error *err);

/* Parse and validate a whole download of len bytes in format fmt.  Returns
 * an owned set (free with hb_feed_entries_free), or NULL with err:
 *   HB_EEMPTY   no bytes, or no data records (only comments and blanks);
 *   HB_EFORMAT  truncated (JSON that does not parse, a CSV quote left open,
 *               a last CSV record cut short), not the shape the format
 *               requires (JSON that is not an array, CSV without a URL
 *               column), no valid entry, or more than half of the records
 *               rejected - an error page or the wrong file, not a feed;
 *   HB_ENOMEM.
 * A few bad records among good ones are skipped and counted. */
hb_feed_entries *hb_feedparse(const char *data, size_t len, hb_feed_format fmt,
                              hb_error *err);

void hb_feed_entries_free(hb_feed_entries *e);

/* Write e as a feed copy (the format is in blocklist.h, which reads it) to
 * f.  Returns 0, or HB_EIO (errno kept) when a write fails. */
int hb_feed_entries_write(const hb_feed_entries *e, FILE *f);

#endif
