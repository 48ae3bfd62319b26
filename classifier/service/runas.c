/*
 * runas.c - look up --user and switch to it (see runas.h).
 *
 * The ids are set with setresgid and setresuid rather than setgid and
 * setuid: those leave the saved id alone in some cases, and a saved uid
 * of 0 is a way back to root.  glibc applies them to every thread of the
 * process (the broker switches while ZeroMQ's I/O threads run).  Groups
 * go first and the user last: once the uid is not root, nothing else can
 * be changed.
 */
#define _GNU_SOURCE /* setresuid, getresuid and their gid twins */

#include "runas.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* getpwnam_r's buffer: glibc's _SC_GETPW_R_SIZE_MAX is 1024; an entry
 * from a directory service may be larger. */
enum { PW_BUF = 16384 };

int hb_runas_plan(const char *name, uid_t euid, hb_runas *out, hb_error *err)
{
    memset(out, 0, sizeof *out);
    out->uid = euid;
    out->gid = getegid();
    if (!name || !*name)
        return 0;
    if (strlen(name) >= sizeof out->name)
        return hb_error_set(err, HB_EINVAL, "--user: the name is too long");
    struct passwd pw, *found = NULL;
    char buf[PW_BUF];
    int rc = getpwnam_r(name, &pw, buf, sizeof buf, &found);
    /* POSIX lets "no such user" come back as any of these */
    if (!found && (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM))
        return hb_error_set(err, HB_ENOTFOUND,
                            "--user %.200s: there is no such user on this system; "
                            "create it (adduser --system %.200s) or name another",
                            name, name);
    if (!found)
        return hb_error_set(err, HB_EIO, "--user %.200s: cannot look the user up: %s",
                            name, strerror(rc));
    snprintf(out->name, sizeof out->name, "%s", name);
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
    if (pw.pw_uid == euid) {
        out->gid = getegid(); /* already that user: keep the groups as they are */
        return 0;
    }
    if (euid != 0)
        return hb_error_set(err, HB_EINVAL,
                            "--user %.200s: hubaod runs as uid %lu, and only root can "
                            "switch to another user; start it as root, or as %.200s, "
                            "or leave --user out",
                            name, (unsigned long)euid, name);
    out->switching = 1;
    return 0;
}

int hb_runas_switch(const hb_runas *r, hb_error *err)
{
    if (!r->switching)
        return 0;
    if (initgroups(r->name, r->gid) != 0)
        return hb_error_set(err, HB_EIO, "cannot take the groups of user %s: %s", r->name,
                            strerror(errno));
    if (setresgid(r->gid, r->gid, r->gid) != 0)
        return hb_error_set(err, HB_EIO, "cannot switch to group %lu of user %s: %s",
                            (unsigned long)r->gid, r->name, strerror(errno));
    if (setresuid(r->uid, r->uid, r->uid) != 0)
        return hb_error_set(err, HB_EIO, "cannot switch to user %s (uid %lu): %s",
                            r->name, (unsigned long)r->uid, strerror(errno));
    uid_t ru = 0, eu = 0, su = 0;
    gid_t rg = 0, eg = 0, sg = 0;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != r->uid ||
        eu != r->uid || su != r->uid || rg != r->gid || eg != r->gid || sg != r->gid)
        return hb_error_set(err, HB_EIO,
                            "switched to user %s, but the process's ids are not all "
                            "its own (uid %lu/%lu/%lu, gid %lu/%lu/%lu)",
                            r->name, (unsigned long)ru, (unsigned long)eu,
                            (unsigned long)su, (unsigned long)rg, (unsigned long)eg,
                            (unsigned long)sg);
    /* the point of it all: there must be no way back */
    if (r->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return hb_error_set(err, HB_EIO,
                            "switched to user %s, but could become root again: "
                            "refusing to run",
                            r->name);
    return 0;
}
