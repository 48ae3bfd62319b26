/*
 * snapshot.h - the last set of model bundles, rules and feeds that loaded,
 * kept in a private directory, so that a worker restarted while the
 * configured files are broken (a corrupt bundle, a half-written copy, a
 * feeds directory gone) comes back on what served before instead of
 * exiting, which left the pool with no worker at all.
 *
 * A snapshot directory holds sets, each a copy of the three directories:
 *
 *     DIR/set.N/models/    the bundles (files two levels deep)
 *     DIR/set.N/rules/     *.rules, types.tsv and tasks.tsv
 *     DIR/set.N/feeds/     the blocklist copies (only if feeds are used)
 *     DIR/current          symlink to set.N: the newest set that loaded
 *
 * Taking a snapshot copies the configured directories into a new set and
 * loads that copy with the same code a worker uses (manifests, checksums,
 * rules, feeds); only a set that loads becomes current, by renaming a new
 * symlink over the old one, so a reader sees the old set or the new one,
 * never half of either.  The set before the current one is kept too, for
 * a worker that resolved the link just before the switch; older sets are
 * removed.
 *
 * hubaod takes a snapshot before starting its workers and again, in a
 * helper process, after every reload that some worker accepted.  Copying
 * (rather than hard-linking) is what makes the set safe from a bundle
 * edited in place.  Files whose names start with '.' are not copied: the
 * loaders skip them too.
 */
#ifndef HB_SERVICE_SNAPSHOT_H
#define HB_SERVICE_SNAPSHOT_H

#include <stddef.h>

#include "config.h"
#include "error.h"
#include "verdict.h"

/* The directories of one set; feeds is "" when the set has none. */
typedef struct hb_snapshot_paths {
    char models[HB_CONFIG_PATH];
    char rules[HB_CONFIG_PATH];
    char feeds[HB_CONFIG_PATH];
} hb_snapshot_paths;

/* Make a new private snapshot directory (mode 0700) under $TMPDIR, or
 * /tmp, named hubaod-PID-XXXXXX, and write its path to out (cap bytes).
 * Directories so named of this user's processes that are gone (a hubaod
 * killed with SIGKILL cannot remove its own) are removed first.  Returns 0
 * or HB_EIO with err. */
int hb_snapshot_mkdir(char *out, size_t cap, hb_error *err);

/* Copy from (from->feeds may be NULL) into a new set under dir (created
 * if missing), load the copy, and make it current.  Returns 0, or with err
 * HB_EIO when the copy could not be made (the configured files unreadable,
 * the disk full) or the load's code when the copy does not load; the
 * current set is then unchanged and the new one removed. */
int hb_snapshot_take(const char *dir, const hb_engine_paths *from, hb_error *err);

/* The directories of dir's current set.  Returns 0, or HB_ENOTFOUND with
 * err when no snapshot has been taken there. */
int hb_snapshot_current(const char *dir, hb_snapshot_paths *out, hb_error *err);

/* Remove dir and everything in it (symlinks are removed, never followed);
 * for the directory hb_snapshot_mkdir made.  NULL or "" does nothing. */
void hb_snapshot_remove(const char *dir);

#endif
