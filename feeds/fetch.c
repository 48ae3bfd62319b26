/*
 * fetch.c - download, validate and atomically install one feed (fetch.h).
 *
 * The idea
 * --------
 * A blocklist is only as good as its worst update: an error page, a
 * download cut off half way or a feed that grew a thousandfold must never
 * replace the copy Hubao is using.  So the body is held in memory (capped),
 * checked by libcurl for completeness and by hb_feedparse for sense, and
 * only then written beside the old copy and renamed over it.
 *
 * Transport policy
 * ----------------
 *   - https only, redirects included, unless opts->allow_http; TLS
 *     certificates are always verified (libcurl's default).
 *   - Conditional GET: the ETag and Last-Modified of the response that
 *     produced the copy are sent back as If-None-Match and
 *     If-Modified-Since, but only while the copy exists, looks intact and
 *     came from the same URL and format - otherwise a 304 would keep a
 *     damaged copy or a copy of something else.
 *   - Per-try connect and total timeouts; the total covers a server that
 *     trickles bytes forever.
 *   - Tries: connection failures, timeouts, cut-short transfers and HTTP
 *     408, 429 and 5xx are retried after backoff_ms, doubling (1 s, 2 s by
 *     default).  Everything else - 404, an oversized body, a refused
 *     protocol, a certificate error, a download that fails validation - is
 *     final: trying again would get the same answer.
 *   - The size cap applies to the decoded body (gzip is accepted), so a
 *     small compressed bomb is stopped too; a Content-Length over the cap
 *     is refused before the body is read.
 */
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blocklist.h"
#include "feedparse.h"

#define HB_FETCH_MAX_REDIRS 5L
#define HB_FETCH_MAX_BACKOFF_MS (5L * 60 * 1000)

void hb_fetch_opts_default(hb_fetch_opts *opts)
{
    opts->connect_timeout_ms = 10L * 1000;
    opts->timeout_ms = 300L * 1000;
    opts->tries = 3;
    opts->backoff_ms = 1000;
    opts->max_bytes = (size_t)64 << 20;
    opts->allow_http = 0;
}

/* What we remember about a feed between updates (NAME.meta). */
typedef struct meta {
    char url[HB_FEED_URL_MAX];
    char format[8];
    char etag[512];
    char last_modified[128];
    size_t entries;
    long long checked, changed;
} meta;

/* The response of one try. */
typedef struct response {
    char *data;
    size_t len, cap, max;
    int over; /* the body went past max */
    char etag[512];
    char last_modified[128];
} response;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    response *r = ctx;
    size_t add = size * n;
    if (add > r->max - r->len) {
        r->over = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (r->len + add > r->cap) {
        size_t c = r->cap ? r->cap : (size_t)64 * 1024;
        while (c < r->len + add)
            c *= 2;
        if (c > r->max)
            c = r->max;
        char *q = realloc(r->data, c);
        if (!q)
            return 0;
        r->data = q;
        r->cap = c;
    }
    memcpy(r->data + r->len, p, add);
    r->len += add;
    return add;
}

/* Copy a header value into dst if it is printable ASCII and fits;
 * otherwise leave dst empty (we simply will not validate with it). */
static void keep_value(char *dst, size_t cap, const char *v, size_t n)
{
    dst[0] = '\0';
    while (n > 0 && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n > 0 &&
           (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= cap)
        return;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    response *r = ctx;
    size_t len = size * n;
    /* A status line starts a new response (a redirect, 100 Continue): only
     * the validators of the last one count. */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        r->etag[0] = r->last_modified[0] = '\0';
    } else if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        keep_value(r->etag, sizeof r->etag, p + 5, len - 5);
    } else if (len > 14 && strncasecmp(p, "Last-Modified:", 14) == 0) {
        keep_value(r->last_modified, sizeof r->last_modified, p + 14, len - 14);
    }
    return len;
}

static void copy_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    dst[0] = '\0';
    if (s && n < cap)
        memcpy(dst, s, n + 1); /* with its NUL */
}

/* Read path into *m; 0, or -1 if missing or unreadable (no validators). */
static int meta_load(const char *path, meta *m)
{
    memset(m, 0, sizeof *m);
    json_t *root = json_load_file(path, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    copy_str(m->url, sizeof m->url, json_object_get(root, "url"));
    copy_str(m->format, sizeof m->format, json_object_get(root, "format"));
    copy_str(m->etag, sizeof m->etag, json_object_get(root, "etag"));
    copy_str(m->last_modified, sizeof m->last_modified,
             json_object_get(root, "last_modified"));
    json_int_t e = json_integer_value(json_object_get(root, "entries"));
    m->entries = e > 0 ? (size_t)e : 0;
    m->checked = json_integer_value(json_object_get(root, "checked"));
    m->changed = json_integer_value(json_object_get(root, "changed"));
    json_decref(root);
    return 0;
}

/* fsync the directory dir, so a rename in it survives a crash. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

typedef int fill_fn(FILE *f, const void *ctx);

/* Write dir/name.suffix atomically: fill a temporary file in dir, fsync
 * it, rename it over the target and fsync dir.  Returns 0 or HB_EIO. */
static int write_atomic(const char *dir, const char *name, const char *suffix,
                        fill_fn *fill, const void *ctx, hb_error *err)
{
    char tmp[4096], dst[4096];
    snprintf(dst, sizeof dst, "%s/%s%s", dir, name, suffix);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp.XXXXXX", dir, name);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return hb_error_set(err, HB_EIO, "%s: cannot create a temporary file: %s", dir,
                            strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return hb_error_set(err, HB_EIO, "%s: %s", tmp, strerror(errno));
    }
    int ok =
        fchmod(fd, 0644) == 0 && fill(f, ctx) == 0 && fflush(f) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, dst) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return hb_error_set(err, HB_EIO, "%s: cannot write: %s", dst, strerror(saved));
    }
    if (sync_dir(dir) != 0)
        return hb_error_set(err, HB_EIO, "%s: cannot sync the directory: %s", dir,
                            strerror(errno));
    return 0;
}

static int fill_copy(FILE *f, const void *ctx)
{
    return hb_feed_entries_write(ctx, f);
}

static int fill_meta(FILE *f, const void *ctx)
{
    const meta *m = ctx;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "url", m->url, "format",
                          m->format, "etag", m->etag, "last_modified", m->last_modified,
                          "entries", (json_int_t)m->entries, "checked",
                          (json_int_t)m->checked, "changed", (json_int_t)m->changed);
    if (!o)
        return -1;
    int rc = json_dumpf(o, f, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    return rc == 0 && fputc('\n', f) != EOF ? 0 : -1;
}

/* mkdir -p */
static int make_dirs(const char *dir, hb_error *err)
{
    char p[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p)
        return hb_error_set(err, HB_EINVAL,
                            "feeds directory \"%s\" is not a "
                            "usable path",
                            dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return hb_error_set(err, HB_EIO, "%s: cannot create directory: %s", p,
                                strerror(errno));
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return hb_error_set(err, HB_EIO, "%s: not a directory", dir);
    return 0;
}

int hb_fetch_lock_dir(const char *dir, hb_error *err)
{
    char path[4096];
    int rc = make_dirs(dir, err);
    if (rc != 0)
        return rc;
    snprintf(path, sizeof path, "%s/.update.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return hb_error_set(err, HB_EIO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return hb_error_set(err, e == EWOULDBLOCK ? HB_ELIMIT : HB_EIO, "%s: %s", path,
                            e == EWOULDBLOCK ? "another feed update is running "
                                               "on this directory"
                                             : strerror(e));
    }
    return fd;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int transient_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR: return 1;
    default: return 0;
    }
}

static int transient_status(long status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* Describe a failed transfer in err; returns the hb_err code. */
static int transfer_error(const hb_feed_source *feed, CURLcode cc, const response *r,
                          const char *detail, const hb_fetch_opts *o, hb_error *err)
{
    const char *why = detail[0] ? detail : curl_easy_strerror(cc);
    if (r->over || cc == CURLE_FILESIZE_EXCEEDED)
        return hb_error_set(err, HB_ETOOBIG,
                            "feed %s: download is over the %zu-byte limit", feed->name,
                            o->max_bytes);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return hb_error_set(err, HB_ELIMIT, "feed %s: timed out (%s)", feed->name, why);
    if (cc == CURLE_PARTIAL_FILE)
        return hb_error_set(err, HB_EIO, "feed %s: download cut short (%s)", feed->name,
                            why);
    return hb_error_set(err, HB_EIO, "feed %s: %s", feed->name, why);
}

/* 1 if the copy at path starts with the magic line and ends with the end
 * line for the entries its sidecar recorded - cheap evidence that it is the
 * copy the validators describe, so a 304 may keep it.  A copy damaged since
 * (cut, edited) gets no validators and is replaced by a full download. */
static int copy_looks_whole(const char *path, size_t entries)
{
    char head[sizeof HB_FEED_COPY_MAGIC], tail[64], want[64];
    int n = snprintf(want, sizeof want, "\n%s%zu\n", HB_FEED_COPY_END, entries);
    size_t hl = sizeof head - 1, wl = (size_t)n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    int ok = fstat(fd, &st) == 0 && (size_t)st.st_size >= hl + wl &&
             pread(fd, head, hl, 0) == (ssize_t)hl &&
             memcmp(head, HB_FEED_COPY_MAGIC, hl) == 0 &&
             pread(fd, tail, wl, st.st_size - (off_t)wl) == (ssize_t)wl &&
             memcmp(tail, want, wl) == 0;
    close(fd);
    return ok;
}

/* Fill in what we know of the copy in place (after a failure or 304). */
static void describe_copy(const char *list, const meta *m, int have_meta,
                          hb_fetch_report *rep)
{
    struct stat st;
    if (stat(list, &st) == 0) {
        rep->copy_time = st.st_mtime;
        rep->entries = have_meta ? m->entries : 0;
    }
}

int hb_fetch_feed(const hb_feed_source *feed, const char *dir, const hb_fetch_opts *opts,
                  hb_fetch_report *rep, hb_error *err)
{
    hb_fetch_opts defaults;
    if (!opts) {
        hb_fetch_opts_default(&defaults);
        opts = &defaults;
    }
    memset(rep, 0, sizeof *rep);
    if (!feed || !dir || !hb_blocklist_feed_name_ok(feed->name))
        return hb_error_set(err, HB_EINVAL, "fetch: bad feed or directory");

    char list[4096], metap[4096];
    snprintf(list, sizeof list, "%s/%s.list", dir, feed->name);
    snprintf(metap, sizeof metap, "%s/%s.meta", dir, feed->name);
    meta old;
    int have_meta = meta_load(metap, &old) == 0;
    describe_copy(list, &old, have_meta, rep);

    int https = strncasecmp(feed->url, "https://", 8) == 0;
    if (!https && !opts->allow_http)
        return hb_error_set(err, HB_EINVAL,
                            "feed %s: refusing plain http:// (%s); use https:// "
                            "or allow http explicitly (--allow-http)",
                            feed->name, feed->url);
    int rc = make_dirs(dir, err);
    if (rc != 0)
        return rc;

    /* Validators only make sense against the copy they produced, intact. */
    int conditional =
        have_meta && rep->copy_time != 0 && strcmp(old.url, feed->url) == 0 &&
        strcmp(old.format, hb_feed_format_name(feed->format)) == 0 &&
        (old.etag[0] || old.last_modified[0]) && copy_looks_whole(list, old.entries);

    CURL *h = curl_easy_init();
    if (!h)
        return hb_error_set(err, HB_ENOMEM, "feed %s: cannot start libcurl", feed->name);
    struct curl_slist *hdrs = NULL;
    char line[700];
    if (conditional && old.etag[0]) {
        snprintf(line, sizeof line, "If-None-Match: %s", old.etag);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (conditional && old.last_modified[0]) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", old.last_modified);
        hdrs = curl_slist_append(hdrs, line);
    }
    const char *protocols = opts->allow_http ? "http,https" : "https";
    char detail[CURL_ERROR_SIZE];
    response r = {.max = opts->max_bytes};
    curl_easy_setopt(h, CURLOPT_URL, feed->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, HB_FETCH_MAX_REDIRS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hubao-feeds/1");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts->max_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

    int tries = opts->tries > 0 ? opts->tries : 1;
    long status = 0;
    rc = HB_EIO;
    for (int attempt = 1; attempt <= tries; attempt++) {
        if (attempt > 1) {
            long wait = opts->backoff_ms;
            for (int i = 2; i < attempt && wait < HB_FETCH_MAX_BACKOFF_MS; i++)
                wait *= 2;
            sleep_ms(wait < HB_FETCH_MAX_BACKOFF_MS ? wait : HB_FETCH_MAX_BACKOFF_MS);
        }
        r.len = 0;
        r.over = 0;
        r.etag[0] = r.last_modified[0] = '\0';
        detail[0] = '\0';
        CURLcode cc = curl_easy_perform(h);
        status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        rep->tries = attempt;
        rep->http_status = status;
        rep->bytes = r.len;
        if (cc != CURLE_OK) {
            rc = transfer_error(feed, cc, &r, detail, opts, err);
            if (!r.over && transient_curl(cc))
                continue;
            break;
        }
        if (status == 200 || status == 304) {
            rc = 0;
            break;
        }
        rc = hb_error_set(err, HB_EIO, "feed %s: HTTP status %ld", feed->name, status);
        if (!transient_status(status))
            break;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);

    meta now = {0};
    snprintf(now.url, sizeof now.url, "%s", feed->url);
    snprintf(now.format, sizeof now.format, "%s", hb_feed_format_name(feed->format));
    now.checked = (long long)time(NULL);

    if (rc == 0 && status == 304) {
        if (!conditional) {
            rc = hb_error_set(err, HB_EIO,
                              "feed %s: 304 Not Modified to a request that "
                              "was not conditional",
                              feed->name);
        } else if (utimensat(AT_FDCWD, list, NULL, 0) != 0) {
            rc = hb_error_set(err, HB_EIO, "%s: cannot refresh its time: %s", list,
                              strerror(errno));
        } else {
            /* a 304 may carry fresh validators; keep the old ones if not */
            snprintf(now.etag, sizeof now.etag, "%s", r.etag[0] ? r.etag : old.etag);
            snprintf(now.last_modified, sizeof now.last_modified, "%s",
                     r.last_modified[0] ? r.last_modified : old.last_modified);
            now.entries = old.entries;
            now.changed = old.changed;
            rc = write_atomic(dir, feed->name, ".meta", fill_meta, &now, err);
            if (rc == 0)
                rep->outcome = HB_FETCH_UNCHANGED;
        }
    } else if (rc == 0) {
        hb_error perr;
        hb_feed_entries *e = hb_feedparse(r.data, r.len, feed->format, &perr);
        if (!e) {
            rc =
                hb_error_set(err, perr.code, "feed %s: download of %zu bytes refused: %s",
                             feed->name, r.len, perr.message);
        } else {
            rep->rejected = e->rejected;
            rc = write_atomic(dir, feed->name, ".list", fill_copy, e, err);
            if (rc == 0) {
                snprintf(now.etag, sizeof now.etag, "%s", r.etag);
                snprintf(now.last_modified, sizeof now.last_modified, "%s",
                         r.last_modified);
                now.entries = e->count;
                now.changed = now.checked;
                /* The copy is in place; a sidecar that cannot be written
                 * only costs the next conditional GET, but still says the
                 * directory is in trouble. */
                rc = write_atomic(dir, feed->name, ".meta", fill_meta, &now, err);
                if (rc != 0)
                    unlink(metap);
                rep->outcome = HB_FETCH_UPDATED;
                rep->entries = e->count;
                old = now;
                have_meta = 1;
            }
            hb_feed_entries_free(e);
        }
    }
    free(r.data);
    describe_copy(list, &old, have_meta, rep);
    if (rc != 0 && rep->outcome != HB_FETCH_UPDATED)
        rep->outcome = HB_FETCH_FAILED;
    return rc;
}
