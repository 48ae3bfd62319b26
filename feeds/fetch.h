/*
 * fetch.h - download one configured feed with libcurl, validate it, and
 * atomically replace its copy in the feeds directory.
 *
 * For a feed NAME, the directory holds:
 *   NAME.list   the validated, normalised copy (feedparse.h describes the
 *               format; blocklist.h loads it).  Its mtime is when the
 *               feed was last known current: replaced, or confirmed by a
 *               304 Not Modified.
 *   NAME.meta   JSON sidecar: the source URL and format the copy came
 *               from, the ETag and Last-Modified validators for the next
 *               conditional GET, the entry count, and the times of the
 *               last check and the last change.
 *
 * A copy is replaced only by a download that arrived whole (libcurl
 * checks Content-Length and chunked framing), stayed under the size cap
 * and the time limit, had HTTP status 200 and passed hb_feedparse.  The
 * replacement is written to NAME.tmp.XXXXXX, fsynced, renamed over
 * NAME.list, and the directory fsynced, so readers see the old copy or the
 * new one, never a mix, even across a crash.  The .meta is replaced after
 * the .list: a crash in between leaves old validators beside a new copy,
 * which costs one full download, never a 304 that keeps a wrong copy.
 *
 * Precondition: curl_global_init() has been called by the process.
 * Nothing here prints: outcomes and errors are returned.
 */
#ifndef HB_FETCH_H
#define HB_FETCH_H

#include <stddef.h>
#include <time.h>

#include "error.h"
#include "feedconf.h"

typedef struct hb_fetch_opts {
    long connect_timeout_ms; /* per try, to establish the connection */
    long timeout_ms;         /* per try, for the whole transfer */
    int tries;               /* attempts for transient failures, >= 1 */
    long backoff_ms;         /* wait before the 2nd try; doubles each try */
    size_t max_bytes;        /* largest body accepted (after decoding) */
    int allow_http;          /* fetch http:// URLs; otherwise only https */
} hb_fetch_opts;

/* Defaults: 10 s to connect, 300 s per transfer, 3 tries, 1 s backoff
 * (then 2 s), 64 MiB, https only. */
void hb_fetch_opts_default(hb_fetch_opts *opts);

typedef enum hb_fetch_outcome {
    HB_FETCH_FAILED = 0, /* the copy in place (if any) was kept */
    HB_FETCH_UPDATED,    /* a new validated copy replaced the old one */
    HB_FETCH_UNCHANGED,  /* 304 Not Modified: copy kept, its time refreshed */
} hb_fetch_outcome;

typedef struct hb_fetch_report {
    hb_fetch_outcome outcome;
    long http_status; /* of the last try; 0 if no response */
    int tries;        /* attempts made */
    size_t bytes;     /* body bytes of the last try */
    size_t entries;   /* entries of the copy now in place; 0 if none */
    size_t rejected;  /* records of the new download skipped as garbage */
    time_t copy_time; /* when the copy now in place was last current; 0 if
                       * there is none */
} hb_fetch_report;

/* Update the copy of feed in dir (created if missing).  Fills *rep (every
 * field, whatever the outcome).  Returns 0 when the copy is now current
 * (HB_FETCH_UPDATED or HB_FETCH_UNCHANGED), or a negative hb_err code with
 * err saying what went wrong: HB_EINVAL for a refused URL (plain http
 * without allow_http), HB_EIO for network, HTTP and file errors, HB_ETOOBIG
 * over max_bytes, HB_ELIMIT over the time limit, and hb_feedparse's codes
 * for a download that failed validation.  One case returns an error with
 * rep->outcome HB_FETCH_UPDATED: the new copy is in place but its sidecar
 * could not be written (it is removed, so the next update downloads in
 * full). */
int hb_fetch_feed(const hb_feed_source *feed, const char *dir, const hb_fetch_opts *opts,
                  hb_fetch_report *rep, hb_error *err);

/* Take an exclusive lock on dir (created if missing) so that two updates
 * do not interleave their copies and sidecars.  Returns a descriptor to
 * close when done, or a negative hb_err code: HB_ELIMIT when another
 * update holds the lock, HB_EIO otherwise. */
int hb_fetch_lock_dir(const char *dir, hb_error *err);

#endif
