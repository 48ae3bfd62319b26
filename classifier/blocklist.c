/*
 * blocklist.c - the loaded feed copies and the per-link lookup
 * (blocklist.h).
 *
 * The idea
 * --------
 * Every link of every message is looked up, so lookups must be cheap and
 * allocation-free, while loading can take its time.  All entries of all
 * feeds go into one open-addressing hash table keyed by (kind, key): a
 * slot holds the key's XXH3 hash, a pointer to the key inside the copy's
 * bytes (kept in memory, newlines turned into NULs) and the index of the
 * feed that listed it.  The table is at most half full, so a lookup is
 * three hashes and a few probes, all in memory the blocklist owns.
 *
 * Keys
 * ----
 * Host and domain entries are keyed by the value itself.  URL entries are
 * keyed by the normalised URL without its scheme and fragment, on both
 * sides of the lookup: a feed listing "https://evil.com/login" catches
 * the SMS link "evil.com/login" (normalised with http://), and the
 * fragment never reaches the server, so "#step2" does not make a new
 * page.  Nothing else is loosened: a URL entry never matches another path,
 * query, port or host.
 *
 * When two feeds list the same key, the one whose copy sorts first by
 * name is reported; copies are loaded in name order so that this is
 * stable from one load to the next.
 */
#include "blocklist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* Limits that keep a stray file from exhausting memory: copies are
 * written by `hubao feeds update` from downloads capped well below this. */
#define HB_BLOCKLIST_MAX_COPY_BYTES ((size_t)1 << 30)
#define HB_BLOCKLIST_MAX_FEEDS 1024

typedef struct slot {
    uint64_t hash;
    const char *key; /* NULL: empty slot */
    uint32_t len;
    uint16_t feed;
    uint8_t kind;
} slot;

typedef struct copy {
    hb_feed_info info;
    char *name;  /* owned; info.name points here */
    char *bytes; /* the copy, NUL-terminated lines; keys point into it */
    size_t size;
} copy;

struct hb_blocklist {
    copy *feeds;
    size_t nfeeds;
    slot *slots;
    size_t mask; /* slot count - 1; the count is a power of two */
};

const char *hb_block_match_name(hb_block_match m)
{
    switch (m) {
    case HB_BLOCK_URL: return "url";
    case HB_BLOCK_HOST: return "host";
    case HB_BLOCK_DOMAIN: return "domain";
    case HB_BLOCK_NONE: break;
    }
    return "none";
}

int hb_blocklist_feed_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > HB_FEED_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return 0;
    }
    return 1;
}

/* The lookup key of a normalised URL: after "scheme://", before '#'. */
static const char *url_key(const char *url, size_t *len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    *len = strcspn(p, "#");
    return p;
}

static uint64_t key_hash(uint8_t kind, const char *key, size_t len)
{
    return XXH3_64bits_withSeed(key, len, kind);
}

/* The slot holding (kind, key), or the empty slot where it would go. */
static slot *find(const hb_blocklist *b, uint8_t kind, const char *key, size_t len,
                  uint64_t h)
{
    for (size_t i = (size_t)h & b->mask;; i = (i + 1) & b->mask) {
        slot *s = &b->slots[i];
        if (!s->key || (s->hash == h && s->kind == kind && s->len == len &&
                        memcmp(s->key, key, len) == 0))
            return s;
    }
}

/* Read the whole file at path into a NUL-terminated buffer; *mtime is
 * when it was last written or touched. */
static int read_copy(const char *path, char **out, size_t *size, time_t *mtime,
                     hb_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hb_error_set(err, HB_EIO, "%s: cannot open feed copy: %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hb_error_set(err, HB_EIO, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > HB_BLOCKLIST_MAX_COPY_BYTES) {
        close(fd);
        return hb_error_set(err, HB_ETOOBIG,
                            "%s: feed copy of %lld bytes is over the %zu-byte "
                            "limit",
                            path, (long long)st.st_size, HB_BLOCKLIST_MAX_COPY_BYTES);
    }
    size_t cap = (size_t)st.st_size, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        return hb_error_set(err, HB_ENOMEM, "%s: out of memory", path);
    }
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n != cap) {
        free(buf);
        return hb_error_set(err, HB_EIO, "%s: short read", path);
    }
    buf[n] = '\0';
    *out = buf;
    *size = n;
    *mtime = st.st_mtime;
    return 0;
}

/* Check the copy f->bytes line by line, turning newlines into NULs, and
 * count its entries.  Returns 0 or HB_EFORMAT naming path:line. */
static int validate_copy(copy *f, const char *path, hb_error *err)
{
    if (!f->bytes)
        return hb_error_set(err, HB_EIO, "%s: not read", path);
    char *p = f->bytes, *end = f->bytes + f->size;
    size_t line = 0, entries = 0;
    int ended = 0;
    if (memchr(f->bytes, '\0', f->size))
        return hb_error_set(err, HB_EFORMAT, "%s: contains a NUL byte (not a feed copy)",
                            path);
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: last line has no newline (copy cut "
                                "short?)",
                                path, line + 1);
        *nl = '\0';
        line++;
        size_t n = (size_t)(nl - p);
        if (ended)
            return hb_error_set(err, HB_EFORMAT,
                                "%s:%zu: text after the end "
                                "line",
                                path, line);
        if (line == 1) {
            if (strcmp(p, HB_FEED_COPY_MAGIC) != 0)
                return hb_error_set(err, HB_EFORMAT,
                                    "%s:1: not a feed copy (expected \"%s\"); "
                                    "remove it or run `hubao feeds update`",
                                    path, HB_FEED_COPY_MAGIC);
        } else if (strncmp(p, HB_FEED_COPY_END, strlen(HB_FEED_COPY_END)) == 0) {
            char *e;
            errno = 0;
            unsigned long long count = strtoull(p + strlen(HB_FEED_COPY_END), &e, 10);
            if (*e || errno || count != entries)
                return hb_error_set(err, HB_EFORMAT,
                                    "%s:%zu: end line says \"%s\" but the "
                                    "copy holds %zu entries",
                                    path, line, p, entries);
            ended = 1;
        } else {
            int kind_ok =
                n > 2 &&
                (p[0] == HB_FEED_URL || p[0] == HB_FEED_HOST || p[0] == HB_FEED_DOMAIN) &&
                p[1] == ' ';
            for (size_t i = 2; kind_ok && i < n; i++)
                kind_ok = (unsigned char)p[i] > 0x20 && p[i] != 0x7f;
            if (!kind_ok)
                return hb_error_set(err, HB_EFORMAT, "%s:%zu: expected \"u|h|d VALUE\"",
                                    path, line);
            if (n - 2 > UINT32_MAX)
                return hb_error_set(err, HB_EFORMAT, "%s:%zu: value too long", path,
                                    line);
            entries++;
        }
        p = nl + 1;
    }
    if (!ended)
        return hb_error_set(err, HB_EFORMAT, "%s: no \"%s\" line (copy cut short?)", path,
                            HB_FEED_COPY_END "N");
    f->info.entries = entries;
    return 0;
}

/* Put every entry of feed fi into the table (which has room). */
static void index_copy(hb_blocklist *b, size_t fi)
{
    const copy *f = &b->feeds[fi];
    if (!f->bytes)
        return;
    const char *p = f->bytes, *end = f->bytes + f->size;
    p += strlen(p) + 1; /* the magic line */
    while (p < end) {
        size_t n = strlen(p);
        if (n > 2 && p[1] == ' ') {
            uint8_t kind = (uint8_t)p[0];
            size_t len;
            const char *key = p + 2;
            if (kind == HB_FEED_URL)
                key = url_key(key, &len);
            else
                len = n - 2;
            uint64_t h = key_hash(kind, key, len);
            slot *s = find(b, kind, key, len, h);
            if (!s->key)
                *s = (slot){h, key, (uint32_t)len, (uint16_t)fi, kind};
        }
        p += n + 1;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the *.list files in d, sorted; *n set. */
static char **list_copies(DIR *d, size_t *n, hb_error *err, const char *dir)
{
    char **names = NULL;
    size_t cap = 0;
    struct dirent *de;
    *n = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".list") != 0 ||
            de->d_name[0] == '.')
            continue;
        if (*n == HB_BLOCKLIST_MAX_FEEDS) {
            hb_error_set(err, HB_ELIMIT, "%s: more than %d feed copies", dir,
                         HB_BLOCKLIST_MAX_FEEDS);
            goto fail;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(names, cap * sizeof *p);
            if (!p)
                goto oom;
            names = p;
        }
        if (!(names[*n] = strdup(de->d_name)))
            goto oom;
        (*n)++;
    }
    if (*n > 1)
        qsort(names, *n, sizeof *names, by_name);
    return names ? names : calloc(1, sizeof *names);
oom:
    hb_error_set(err, HB_ENOMEM, "%s: out of memory", dir);
fail:
    for (size_t i = 0; i < *n; i++)
        free(names[i]);
    free(names);
    return NULL;
}

hb_blocklist *hb_blocklist_load_dir(const char *dir, hb_error *err)
{
    hb_blocklist *b = calloc(1, sizeof *b);
    if (!b) {
        hb_error_set(err, HB_ENOMEM, "out of memory loading feeds");
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, total = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d && dir && errno == ENOENT) {
        /* a directory that was configured and is gone (moved, unmounted)
         * must not quietly switch every blocklist off */
        hb_error_set(err, HB_ENOTFOUND,
                     "%s: feeds directory does not exist (create it, or run "
                     "`hubao feeds update --dir %s`)",
                     dir, dir);
        goto fail;
    }
    if (!d && dir) {
        hb_error_set(err, HB_EIO, "%s: cannot read feeds directory: %s", dir,
                     strerror(errno));
        goto fail;
    }
    if (d) {
        names = list_copies(d, &n, err, dir);
        closedir(d);
        if (!names)
            goto fail;
    }
    b->feeds = calloc(n ? n : 1, sizeof *b->feeds);
    if (!b->feeds) {
        hb_error_set(err, HB_ENOMEM, "out of memory loading feeds");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        copy *f = &b->feeds[b->nfeeds];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        names[i][strlen(names[i]) - 5] = '\0';
        if (!hb_blocklist_feed_name_ok(names[i])) {
            hb_error_set(err, HB_EFORMAT,
                         "%s: \"%s\" is not a valid feed name; remove or "
                         "rename the file",
                         path, names[i]);
            goto fail;
        }
        f->name = names[i];
        names[i] = NULL;
        f->info.name = f->name;
        b->nfeeds++;
        if (read_copy(path, &f->bytes, &f->size, &f->info.updated, err) != 0 ||
            validate_copy(f, path, err) != 0)
            goto fail;
        total += f->info.entries;
    }
    size_t cap = 16;
    while (cap < total * 2 + 16)
        cap *= 2;
    b->slots = calloc(cap, sizeof *b->slots);
    if (!b->slots) {
        hb_error_set(err, HB_ENOMEM, "out of memory indexing %zu feed entries", total);
        goto fail;
    }
    b->mask = cap - 1;
    for (size_t i = 0; i < b->nfeeds; i++)
        index_copy(b, i);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return b;
fail:
    for (size_t i = 0; i < n; i++)
        free(names ? names[i] : NULL);
    free(names);
    hb_blocklist_free(b);
    return NULL;
}

void hb_blocklist_free(hb_blocklist *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->nfeeds; i++) {
        free(list->feeds[i].name);
        free(list->feeds[i].bytes);
    }
    free(list->feeds);
    free(list->slots);
    free(list);
}

/* The feed listing (kind, key), or -1. */
static int probe(const hb_blocklist *b, uint8_t kind, const char *key, size_t len)
{
    if (len == 0)
        return -1;
    const slot *s = find(b, kind, key, len, key_hash(kind, key, len));
    return s->key ? s->feed : -1;
}

hb_block_match hb_blocklist_lookup(const hb_blocklist *list, const hb_url *u,
                                   const char **feed)
{
    if (feed)
        *feed = NULL;
    if (!list || !u || !list->slots)
        return HB_BLOCK_NONE;
    size_t len;
    const char *key = url_key(u->url, &len);
    int fi = probe(list, HB_FEED_URL, key, len);
    hb_block_match m = HB_BLOCK_URL;
    if (fi < 0) {
        fi = probe(list, HB_FEED_HOST, u->host, strlen(u->host));
        m = HB_BLOCK_HOST;
    }
    if (fi < 0) {
        fi = probe(list, HB_FEED_DOMAIN, u->domain, strlen(u->domain));
        m = HB_BLOCK_DOMAIN;
    }
    if (fi < 0)
        return HB_BLOCK_NONE;
    if (feed)
        *feed = list->feeds[fi].info.name;
    return m;
}

size_t hb_blocklist_feed_count(const hb_blocklist *list)
{
    return list ? list->nfeeds : 0;
}

const hb_feed_info *hb_blocklist_feed(const hb_blocklist *list, size_t i)
{
    return list && i < list->nfeeds ? &list->feeds[i].info : NULL;
}
