/*
 * runas.h - `hubaod --user NAME`: a hubaod started as root gives up root
 * for NAME's user and groups once it has bound its endpoints, before it
 * loads any model or starts any worker.
 *
 * Root is needed, if at all, to bind: a port below 1024, a unix socket in
 * a directory only root may write.  Nothing after that needs it, and the
 * models, rules and feeds are files from outside, read by code that
 * parses them: that must not run as root.  So the broker binds as root,
 * then switches for good (hb_runas_switch); the short-lived process that
 * checks the models at start-up (main.c) switches before it loads them,
 * and the workers, forked after the switch, never had root.
 *
 * The switch cannot be undone: the real, effective and saved ids all
 * become NAME's, the supplementary groups NAME's (initgroups), and the
 * switch checks that setuid(0) then fails.  A process that was not root
 * cannot become another user: naming one is an error, naming itself is
 * allowed and changes nothing (so one config file serves both ways of
 * starting hubaod).
 *
 * Under systemd, User= does the same before hubaod starts, and --user is
 * not needed (tools/systemd/hubaod.service).
 */
#ifndef HB_SERVICE_RUNAS_H
#define HB_SERVICE_RUNAS_H

#include <sys/types.h>

#include "error.h"

enum { HB_RUNAS_NAME = 256 };

/* Whom a hubaod runs as, decided once at start-up (hb_runas_plan). */
typedef struct hb_runas {
    int switching;            /* 1: started as root for another user: switch */
    char name[HB_RUNAS_NAME]; /* the user named, "" when none was */
    uid_t uid;                /* that user's; with no name, the process's own */
    gid_t gid;                /* its primary group (ditto) */
} hb_runas;

/* Decide, for a process whose effective user id is euid, what --user name
 * (NULL or "": not given) asks:
 *   - not given, or the user euid already is: nothing to switch
 *     (out->switching 0; uid and gid are the process's own);
 *   - another user, and euid is root: switch to it (out->switching 1,
 *     with its uid and primary gid);
 *   - another user, and euid is not root: HB_EINVAL, saying that only
 *     root can run hubaod as another user.
 * A name that is no user (getpwnam) is HB_ENOTFOUND; a name too long,
 * HB_EINVAL.  Only a name is taken, not a number.  Returns 0 or the code
 * with err. */
int hb_runas_plan(const char *name, uid_t euid, hb_runas *out, hb_error *err);

/* Become r's user for good, as the top of this file says; does nothing
 * unless r->switching.  Call it in the process that is to switch (it
 * affects every thread of it).  Returns 0, or HB_EIO with err saying
 * which step failed: the caller must then exit rather than go on as root
 * (or half switched). */
int hb_runas_switch(const hb_runas *r, hb_error *err);

#endif
