/*
 * loader.c - load, reload and fall back to the snapshot (see loader.h).
 */
#include "loader.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

struct hb_loader {
    char *models_dir, *rules_dir, *feeds_dir, *snapshot_dir;
    size_t max_text;
    hb_engine *engine;
    char *fallback; /* why the engine is the snapshot's, or NULL */
};

/* Load an engine from paths, set up as every worker's is. */
static hb_engine *load_from(const hb_loader *l, const hb_engine_paths *paths,
                            hb_error *err)
{
    hb_engine *e = hb_engine_open_paths(paths, err);
    if (!e)
        return NULL;
#ifdef __GLIBC__
    /* parsing the model files leaves megabytes of freed heap behind; hand
     * them back so every worker's resident size is what it really uses */
    malloc_trim(0);
#endif
    hb_engine_set_max_text(e, l->max_text);
    return e;
}

hb_engine *hb_loader_load(const hb_loader *l, hb_error *err)
{
    hb_engine_paths paths = {l->rules_dir, l->models_dir,
                             *l->feeds_dir ? l->feeds_dir : NULL};
    return load_from(l, &paths, err);
}

/* The configured directories failed with err: load the snapshot's current
 * set instead, remembering why in l->fallback.  NULL (err then says why
 * both failed) when there is no snapshot or it does not load either. */
static hb_engine *load_snapshot(hb_loader *l, hb_error *err)
{
    hb_snapshot_paths p;
    hb_error serr;
    if (hb_snapshot_current(l->snapshot_dir, &p, &serr) != 0)
        return NULL; /* nothing to fall back to: the first error is the one */
    hb_engine_paths paths = {p.rules, p.models, *p.feeds ? p.feeds : NULL};
    hb_engine *e = load_from(l, &paths, &serr);
    if (!e) {
        hb_error first = *err; /* not formatted into itself */
        hb_error_set(err, first.code,
                     "%.250s; the last models that loaded failed too: %.200s",
                     first.message, serr.message);
        return NULL;
    }
    if (!(l->fallback = strdup(err->message))) {
        hb_engine_free(e);
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    return e;
}

void hb_loader_swap(hb_loader *l, hb_engine *e)
{
    hb_engine_free(l->engine);
    free(l->fallback);
    l->engine = e;
    l->fallback = NULL;
}

hb_loader *hb_loader_new(const hb_loader_config *cfg, hb_error *err)
{
    hb_loader *l = calloc(1, sizeof *l);
    if (!l) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    l->models_dir = strdup(cfg->models_dir);
    l->rules_dir = strdup(cfg->rules_dir);
    l->feeds_dir = strdup(cfg->feeds_dir ? cfg->feeds_dir : "");
    l->snapshot_dir = strdup(cfg->snapshot_dir ? cfg->snapshot_dir : "");
    l->max_text = cfg->max_text;
    if (!l->models_dir || !l->rules_dir || !l->feeds_dir || !l->snapshot_dir) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        hb_loader_free(l);
        return NULL;
    }
    hb_error first;
    l->engine = hb_loader_load(l, &first);
    if (!l->engine && *l->snapshot_dir)
        l->engine = load_snapshot(l, &first);
    if (!l->engine) {
        if (err)
            *err = first;
        hb_loader_free(l);
        return NULL;
    }
    return l;
}

void hb_loader_free(hb_loader *l)
{
    if (!l)
        return;
    hb_engine_free(l->engine);
    free(l->models_dir);
    free(l->rules_dir);
    free(l->feeds_dir);
    free(l->snapshot_dir);
    free(l->fallback);
    free(l);
}

const hb_engine *hb_loader_engine(const hb_loader *l)
{
    return l->engine;
}

const char *hb_loader_fallback(const hb_loader *l)
{
    return l->fallback;
}
