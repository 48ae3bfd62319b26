/*
 * engine.c - load everything the pipeline needs once, and share it (see
 * engine.h).
 */
#include "engine.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "normalize.h"

struct hb_engine {
    hb_rules *rules;
    hb_catalog *catalog;
    hb_entities *entities;
    hb_model *models[HB_MAX_TASKS];
    size_t nmodels;
    /* text models scored in one pass (hb_models_fuse): fused[k] is
     * models[fused_at[k]] */
    hb_model *fused[HB_FUSE_MAX];
    size_t fused_at[HB_FUSE_MAX], nfused;
    hb_model *url_model;     /* kind "url", or NULL */
    hb_blocklist *blocklist; /* or NULL */
    hb_brands *brands;       /* or NULL */
    size_t max_text;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every bundle (subdirectory with a manifest.json of kind "text") of
 * models_dir, in name order. */
static int load_models(hb_engine *e, const char *models_dir, hb_error *err)
{
    char single[4096];
    struct stat sst;
    snprintf(single, sizeof single, "%s/manifest.json", models_dir);
    if (stat(single, &sst) == 0) {
        /* models_dir is itself one bundle */
        hb_model *m = hb_model_load(models_dir, err);
        if (!m)
            return err ? err->code : HB_EFORMAT;
        if (strcmp(hb_model_kind(m), "url") == 0)
            e->url_model = m;
        else
            e->models[e->nmodels++] = m;
        return 0;
    }
    DIR *d = opendir(models_dir);
    if (!d)
        return hb_error_set(err, HB_ENOTFOUND, "%s: cannot open the models directory",
                            models_dir);
    char *names[256] = {NULL};
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/manifest.json", models_dir, de->d_name);
        if (stat(path, &st) == 0 && (names[n] = strdup(de->d_name)))
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", models_dir, names[i]);
        hb_model *m = hb_model_load(path, err);
        if (!m) {
            rc = err ? err->code : HB_EFORMAT;
        } else if (strcmp(hb_model_kind(m), "url") == 0) {
            if (e->url_model) {
                rc = hb_error_set(err, HB_EFORMAT, "%s and %s are both URL models",
                                  hb_model_dir(e->url_model), path);
                hb_model_free(m);
            } else {
                e->url_model = m;
            }
        } else if (e->nmodels == HB_MAX_TASKS) {
            hb_model_free(m);
            rc = hb_error_set(err, HB_ELIMIT, "%s: more than %d text models", models_dir,
                              HB_MAX_TASKS);
        } else {
            for (size_t j = 0; j < e->nmodels; j++)
                if (strcmp(hb_model_task(e->models[j]), hb_model_task(m)) == 0)
                    rc = hb_error_set(err, HB_EFORMAT,
                                      "%s and %s are both models for task "
                                      "\"%s\"",
                                      hb_model_dir(e->models[j]), path, hb_model_task(m));
            e->models[e->nmodels++] = m;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    if (rc == 0 && e->nmodels == 0 && !e->url_model)
        rc = hb_error_set(err, HB_ENOTFOUND,
                          "%s holds no text model bundle (a directory with a "
                          "manifest.json); train one with `hubao train` or "
                          "`make models`",
                          models_dir);
    return rc;
}

hb_engine *hb_engine_open(const char *rules_dir, const char *models_dir, hb_error *err)
{
    hb_engine_paths p = {rules_dir, models_dir, NULL};
    return hb_engine_open_paths(&p, err);
}

/* Fuse the text models that share the first model's feature
 * configuration, when there are several and they are all linear (a kernel
 * model among them leaves every model scoring alone). */
static int fuse_models(hb_engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->nmodels && n < HB_FUSE_MAX; i++)
        if (hb_model_same_features(e->models[i], e->models[0])) {
            e->fused[n] = e->models[i];
            e->fused_at[n++] = i;
        }
    if (n < 2)
        return 0;
    int rc = hb_models_fuse(e->fused, n);
    if (rc == 0)
        e->nfused = n;
    return rc;
}

/* Every type a type model names must be in the catalog (types.tsv), which
 * gives it a name and advice: a verdict never carries a type it cannot
 * explain. */
static int check_types(const hb_engine *e, hb_error *err)
{
    for (size_t i = 0; i < e->nmodels; i++) {
        const hb_type_model *t = hb_model_types(e->models[i]);
        for (size_t k = 0; t && k < hb_type_model_nclasses(t); k++)
            if (!hb_catalog_find(e->catalog, hb_type_model_class(t, k)))
                return hb_error_set(err, HB_EFORMAT,
                                    "%s/manifest.json: the type model's type \"%s\" is "
                                    "not in types.tsv",
                                    hb_model_dir(e->models[i]),
                                    hb_type_model_class(t, k));
    }
    return 0;
}

hb_engine *hb_engine_open_paths(const hb_engine_paths *paths, hb_error *err)
{
    const char *rules_dir = paths->rules, *models_dir = paths->models;
    hb_engine *e = calloc(1, sizeof *e);
    if (!e) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        return NULL;
    }
    e->max_text = HB_DEFAULT_MAX_TEXT;
    /* OpenCC's configuration: a worker without it must fail at start,
     * not on its first message */
    if (hb_normalize_init(err) != 0)
        goto fail;
    if (!(e->rules = hb_rules_load_dir(rules_dir, err)))
        goto fail;
    if (!(e->catalog = hb_catalog_open(rules_dir, err)))
        goto fail;
    if (!(e->entities = hb_entities_new(err)))
        goto fail;
    if (models_dir && load_models(e, models_dir, err) != 0)
        goto fail;
    if (check_types(e, err) != 0)
        goto fail;
    if (fuse_models(e) == HB_ENOMEM) {
        hb_error_set(err, HB_ENOMEM, "out of memory");
        goto fail;
    }
    if (paths->feeds && !(e->blocklist = hb_blocklist_load_dir(paths->feeds, err)))
        goto fail;
    if (models_dir) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/brands.tsv", models_dir);
        if (stat(path, &st) == 0 && !(e->brands = hb_brands_load(path, err)))
            goto fail;
    }
    return e;
fail:
    hb_engine_free(e);
    return NULL;
}

void hb_engine_free(hb_engine *e)
{
    if (!e)
        return;
    hb_rules_free(e->rules);
    hb_catalog_free(e->catalog);
    hb_entities_free(e->entities);
    for (size_t i = 0; i < e->nmodels; i++)
        hb_model_free(e->models[i]);
    hb_model_free(e->url_model);
    hb_blocklist_free(e->blocklist);
    hb_brands_free(e->brands);
    free(e);
}

const hb_rules *hb_engine_rules(const hb_engine *e)
{
    return e->rules;
}
const hb_catalog *hb_engine_catalog(const hb_engine *e)
{
    return e->catalog;
}
size_t hb_engine_ntasks(const hb_engine *e)
{
    return e->nmodels;
}
const hb_model *hb_engine_model(const hb_engine *e, size_t i)
{
    return e->models[i];
}
const hb_model *hb_engine_url_model(const hb_engine *e)
{
    return e->url_model;
}
const hb_blocklist *hb_engine_blocklist(const hb_engine *e)
{
    return e->blocklist;
}
const hb_brands *hb_engine_brands(const hb_engine *e)
{
    return e->brands;
}
void hb_engine_set_max_text(hb_engine *e, size_t bytes)
{
    e->max_text = bytes;
}
size_t hb_engine_max_text(const hb_engine *e)
{
    return e->max_text;
}
const hb_entities *hb_engine_entities(const hb_engine *e)
{
    return e->entities;
}
hb_model *const *hb_engine_fused(const hb_engine *e, size_t *n)
{
    *n = e->nfused;
    return e->fused;
}
size_t hb_engine_fused_slot(const hb_engine *e, size_t task)
{
    size_t k = 0;
    while (k < e->nfused && e->fused_at[k] != task)
        k++;
    return k;
}
