/*
 * paths.c - default paths and their environment overrides (paths.h).
 */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* given, else $env when set and not empty, else fallback. */
static const char *pick(const char *given, const char *env, const char *fallback)
{
    if (given)
        return given;
    const char *v = getenv(env);
    return v && *v ? v : fallback;
}

const char *hb_paths_models(const char *given)
{
    return pick(given, "HUBAO_MODELS", HB_PATHS_MODELS);
}

const char *hb_paths_rules(const char *given, const char *models, char *buf, size_t cap)
{
    const char *p = pick(given, "HUBAO_RULES", NULL);
    if (p)
        return p;
    if (cap == 0)
        return "";
    int n = snprintf(buf, cap, "%s/rules", models ? models : hb_paths_models(NULL));
    if (n < 0 || (size_t)n >= cap)
        buf[0] = '\0'; /* a cut path would name another directory */
    return buf;
}

/* The feeds store is only a default when `hubao feeds update` has made it:
 * a checkout that never fetched a feed runs without blocklists. */
const char *hb_paths_feeds(const char *given)
{
    struct stat st;
    const char *p = pick(given, "HUBAO_FEEDS_DIR", NULL);
    if (p)
        return p;
    return stat(HB_PATHS_FEEDS_STORE, &st) == 0 && S_ISDIR(st.st_mode)
               ? HB_PATHS_FEEDS_STORE
               : NULL;
}

const char *hb_paths_feeds_store(const char *given)
{
    return pick(given, "HUBAO_FEEDS_DIR", HB_PATHS_FEEDS_STORE);
}

const char *hb_paths_feeds_conf(const char *given)
{
    return pick(given, "HUBAO_FEEDS_CONF", HB_PATHS_FEEDS_CONF);
}
