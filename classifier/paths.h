/*
 * paths.h - where every program finds its models, rules and blocklist
 * copies: the one place their defaults and the environment variables
 * that override them are written down, so that hubaod, the `hubao`
 * commands and any other front end always load the same files.
 *
 * Every resolver takes what the program was told (a flag or a config file
 * setting; NULL when it was told nothing) and answers by one precedence:
 * what was given, even "", else the environment variable when it is set
 * and not empty, else the default:
 *
 *   models       $HUBAO_MODELS     models
 *   rules        $HUBAO_RULES      MODELS/rules, MODELS as resolved
 *   feeds        $HUBAO_FEEDS_DIR  feeds/data if it is a directory, else none
 *   feeds store  $HUBAO_FEEDS_DIR  feeds/data (where `hubao feeds update`
 *                                  writes the copies, made if missing)
 *   feeds conf   $HUBAO_FEEDS_CONF feeds/feeds.conf
 *
 * and, with no environment variable, `hubao web`'s page (tools/web) and
 * feedback database (feedback.db).
 *
 * Relative paths are the working directory's: that is the source tree's
 * layout, which `make run` and the tests use.  An installed build (the
 * Debian package's debian/rules runs `make build HB_DATADIR=/usr/share/hubao
 * HB_CONFDIR=/etc/hubao HB_STATEDIR=/var/lib/hubao`) defines all three
 * directories, and the defaults become absolute paths in them (the macros
 * below), so that the installed programs find the shipped models from any
 * working directory.  The help texts quote the same macros, so they say
 * what this build does.  This is the only module
 * of the library that reads the environment (and, for the feeds default,
 * the file system): the defaults are configuration every program shares,
 * and one reader of them is the point.
 *
 * Returned strings are borrowed: the argument given, the environment's
 * value (valid until the variable changes), a constant, or the caller's
 * buffer.
 */
#ifndef HB_PATHS_H
#define HB_PATHS_H

#include <stddef.h>

#ifdef HB_DATADIR
#if !defined(HB_CONFDIR) || !defined(HB_STATEDIR)
#error "an installed build defines HB_DATADIR, HB_CONFDIR and HB_STATEDIR together"
#endif
#define HB_PATHS_MODELS HB_DATADIR "/models"
#define HB_PATHS_WEB HB_DATADIR "/web"
#define HB_PATHS_FEEDS_CONF HB_CONFDIR "/feeds.conf"
#define HB_PATHS_FEEDS_STORE HB_STATEDIR "/feeds"
#define HB_PATHS_FEEDBACK_DB HB_STATEDIR "/feedback.db"
#else
#define HB_PATHS_MODELS "models"
#define HB_PATHS_WEB "tools/web"
#define HB_PATHS_FEEDS_CONF "feeds/feeds.conf"
#define HB_PATHS_FEEDS_STORE "feeds/data"
#define HB_PATHS_FEEDBACK_DB "feedback.db"
#endif

/* The model bundles directory. */
const char *hb_paths_models(const char *given);

/* The rule files directory.  Its default is written into buf (cap bytes)
 * from models, the resolved models directory (NULL: hb_paths_models(NULL));
 * "" when it does not fit, which then fails to load. */
const char *hb_paths_rules(const char *given, const char *models, char *buf, size_t cap);

/* The blocklist copies to load, or NULL for none. */
const char *hb_paths_feeds(const char *given);

/* The directory `hubao feeds update` writes blocklist copies into. */
const char *hb_paths_feeds_store(const char *given);

/* The feed configuration file `hubao feeds update` reads. */
const char *hb_paths_feeds_conf(const char *given);

#endif
