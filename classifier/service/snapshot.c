/*
 * snapshot.c - copy, check and switch the last set that loaded (see
 * snapshot.h).
 *
 * The copy is plain read/write of regular files (symlinks in the
 * configured directories are followed: a bundle may be a link to a
 * release directory); the check is hb_engine_open_paths on the copy,
 * exactly what a worker does, so a set that becomes current is one a
 * worker can load.
 */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { COPY_BUF = 65536, LINK_MAX_LEN = 64 };

static const char CURRENT[] = "current";

/* Copy the regular file src to the new file dst. */
static int copy_file(const char *src, const char *dst, hb_error *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return hb_error_set(err, HB_EIO, "%s: cannot read: %s", src, strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int e = errno;
        close(in);
        return hb_error_set(err, HB_EIO, "%s: cannot create: %s", dst, strerror(e));
    }
    char buf[COPY_BUF];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hb_error_set(err, HB_EIO, "%s: cannot read: %s", src, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n && rc == 0;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno != EINTR)
                rc = hb_error_set(err, HB_EIO, "%s: cannot write: %s", dst,
                                  strerror(errno));
            else if (w > 0)
                done += w;
        }
        if (rc)
            break;
    }
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = hb_error_set(err, HB_EIO, "%s: cannot write: %s", dst, strerror(errno));
    return rc;
}

/* Copy the directory src to the new directory dst: regular files, and
 * subdirectories while depth > 1. */
static int copy_tree(const char *src, const char *dst, int depth, hb_error *err)
{
    DIR *d = opendir(src);
    if (!d)
        return hb_error_set(err, HB_EIO, "%s: cannot read the directory: %s", src,
                            strerror(errno));
    int rc = 0;
    if (mkdir(dst, 0700) != 0)
        rc = hb_error_set(err, HB_EIO, "%s: cannot create: %s", dst, strerror(errno));
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char from[4096], to[4096];
        struct stat st;
        if (snprintf(from, sizeof from, "%s/%s", src, de->d_name) >= (int)sizeof from ||
            snprintf(to, sizeof to, "%s/%s", dst, de->d_name) >= (int)sizeof to) {
            rc = hb_error_set(err, HB_EIO, "%s/%s: path too long", src, de->d_name);
        } else if (stat(from, &st) != 0) {
            continue; /* a dangling link: nothing a loader could read either */
        } else if (S_ISREG(st.st_mode)) {
            rc = copy_file(from, to, err);
        } else if (S_ISDIR(st.st_mode) && depth > 1) {
            rc = copy_tree(from, to, depth - 1, err);
        }
    }
    closedir(d);
    return rc;
}

void hb_snapshot_remove(const char *path)
{
    struct stat st;
    if (!path || !*path || lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char child[4096];
        if (snprintf(child, sizeof child, "%s/%s", path, de->d_name) < (int)sizeof child)
            hb_snapshot_remove(child);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

/* N of the current set "set.N", or 0 when there is none. */
static unsigned long current_number(const char *dir)
{
    char link[4096], target[LINK_MAX_LEN];
    snprintf(link, sizeof link, "%s/%s", dir, CURRENT);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 4)
        return 0;
    target[n] = '\0';
    return strncmp(target, "set.", 4) == 0 ? strtoul(target + 4, NULL, 10) : 0;
}

/* The directories of set n under dir. */
static int set_paths(const char *dir, unsigned long n, int feeds, hb_snapshot_paths *out,
                     hb_error *err)
{
    memset(out, 0, sizeof *out);
    int a = snprintf(out->models, sizeof out->models, "%s/set.%lu/models", dir, n);
    int b = snprintf(out->rules, sizeof out->rules, "%s/set.%lu/rules", dir, n);
    int c =
        feeds ? snprintf(out->feeds, sizeof out->feeds, "%s/set.%lu/feeds", dir, n) : 0;
    if (!feeds)
        out->feeds[0] = '\0';
    if (a >= (int)sizeof out->models || b >= (int)sizeof out->rules ||
        c >= (int)sizeof out->feeds)
        return hb_error_set(err, HB_EIO, "%s: snapshot directory path too long", dir);
    return 0;
}

/* Remove the sets numbered below keep. */
static void prune(const char *dir, unsigned long keep)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, "set.", 4) != 0)
            continue;
        unsigned long n = strtoul(de->d_name + 4, &end, 10);
        char path[4096];
        if (*end == '\0' && n < keep &&
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
            hb_snapshot_remove(path);
    }
    if (d)
        closedir(d);
}

/* Point dir/current at set n: a new link renamed over the old one. */
static int make_current(const char *dir, unsigned long n, hb_error *err)
{
    char target[LINK_MAX_LEN], tmp[4096], link[4096];
    snprintf(target, sizeof target, "set.%lu", n);
    snprintf(tmp, sizeof tmp, "%s/%s.new", dir, CURRENT);
    snprintf(link, sizeof link, "%s/%s", dir, CURRENT);
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0)
        return hb_error_set(err, HB_EIO, "%s: cannot switch the snapshot: %s", link,
                            strerror(errno));
    return 0;
}

int hb_snapshot_take(const char *dir, const hb_engine_paths *from, hb_error *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return hb_error_set(err, HB_EIO, "%s: cannot create: %s", dir, strerror(errno));
    unsigned long n = current_number(dir) + 1;
    hb_snapshot_paths p;
    char set[4096];
    if (set_paths(dir, n, from->feeds != NULL, &p, err) != 0)
        return HB_EIO;
    snprintf(set, sizeof set, "%s/set.%lu", dir, n);
    hb_snapshot_remove(set); /* left behind by an attempt that failed */
    int rc = 0;
    if (mkdir(set, 0700) != 0)
        rc = hb_error_set(err, HB_EIO, "%s: cannot create: %s", set, strerror(errno));
    if (rc == 0)
        rc = copy_tree(from->models, p.models, 2, err);
    if (rc == 0)
        rc = copy_tree(from->rules, p.rules, 1, err);
    if (rc == 0 && from->feeds)
        rc = copy_tree(from->feeds, p.feeds, 1, err);
    if (rc == 0) {
        hb_engine_paths copy = {p.rules, p.models, from->feeds ? p.feeds : NULL};
        hb_engine *e = hb_engine_open_paths(&copy, err);
        if (!e)
            rc = err && err->code ? err->code : HB_EFORMAT;
        hb_engine_free(e);
    }
    if (rc == 0)
        rc = make_current(dir, n, err);
    if (rc != 0) {
        hb_snapshot_remove(set);
        return rc;
    }
    prune(dir, n - 1);
    return 0;
}

int hb_snapshot_current(const char *dir, hb_snapshot_paths *out, hb_error *err)
{
    unsigned long n = current_number(dir);
    if (n == 0)
        return hb_error_set(err, HB_ENOTFOUND, "%s: no snapshot has been taken", dir);
    if (set_paths(dir, n, 1, out, err) != 0)
        return HB_EIO;
    struct stat st;
    if (stat(out->feeds, &st) != 0)
        out->feeds[0] = '\0';
    return 0;
}

/* Remove the directories hb_snapshot_mkdir made in tmp for processes of
 * this user that are gone (killed before they could remove them). */
static void sweep_dead(const char *tmp)
{
    DIR *d = opendir(tmp);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *end, path[4096];
        struct stat st;
        if (strncmp(de->d_name, "hubaod-", 7) != 0)
            continue;
        long pid = strtol(de->d_name + 7, &end, 10);
        if (end == de->d_name + 7 || *end != '-' || pid <= 0 || pid == (long)getpid() ||
            snprintf(path, sizeof path, "%s/%s", tmp, de->d_name) >= (int)sizeof path ||
            lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
            continue;
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            hb_snapshot_remove(path);
    }
    if (d)
        closedir(d);
}

int hb_snapshot_mkdir(char *out, size_t cap, hb_error *err)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    sweep_dead(tmp);
    if (snprintf(out, cap, "%s/hubaod-%ld-XXXXXX", tmp, (long)getpid()) >= (int)cap)
        return hb_error_set(err, HB_EIO, "TMPDIR %s: path too long", tmp);
    if (!mkdtemp(out))
        return hb_error_set(err, HB_EIO, "%s: cannot make a private directory: %s", tmp,
                            strerror(errno));
    return 0;
}
