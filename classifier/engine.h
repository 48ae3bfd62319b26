/*
 * engine.h - everything the pipeline loads from disk, loaded once: the
 * rules and fraud-type catalogue, the entity patterns, the model bundles
 * (text models sharing a feature configuration fused into one weight
 * table), the URL model, the blocklist copies and the brands table.
 *
 * An engine is immutable once built and shared by every thread (each with
 * its own hb_session, verdict.h); reloading means building a new engine
 * and swapping the pointer.  A bad bundle never half-loads: opening fails
 * with a clear error and the caller keeps its previous engine.
 */
#ifndef HB_ENGINE_H
#define HB_ENGINE_H

#include <stddef.h>

#include "blocklist.h"
#include "brands.h"
#include "catalog.h"
#include "entities.h"
#include "error.h"
#include "model.h"
#include "rules.h"

enum {
    HB_MAX_TASKS = 8,
    HB_DEFAULT_MAX_TEXT = 64 * 1024, /* bytes */
};

typedef struct hb_engine hb_engine;

/* Build an engine from rules_dir (every *.rules file, plus the catalogue's
 * types.tsv and tasks.tsv when present, catalog.h) and models_dir (every subdirectory
 * holding a manifest.json of kind "text"), or models_dir is itself one bundle. models_dir
 * NULL builds a rules-only engine (for training: classify then returns no tasks).  Fails
 * with a clear error if models_dir is given but holds no model, or anything fails to
 * load: a bad bundle never half-loads. */
hb_engine *hb_engine_open(const char *rules_dir, const char *models_dir, hb_error *err);

/* Everything an engine can be built from; feeds (may be NULL) is a
 * directory of validated blocklist copies (blocklist.h), read once here. */
typedef struct hb_engine_paths {
    const char *rules;
    const char *models;
    const char *feeds;
} hb_engine_paths;

hb_engine *hb_engine_open_paths(const hb_engine_paths *paths, hb_error *err);

/* The brands table loaded with the engine (models_dir/brands.tsv), or NULL. */
const hb_brands *hb_engine_brands(const hb_engine *engine);

/* The blocklists loaded with the engine, or NULL. */
const hb_blocklist *hb_engine_blocklist(const hb_engine *engine);
void hb_engine_free(hb_engine *engine);

const hb_rules *hb_engine_rules(const hb_engine *engine);
const hb_catalog *hb_engine_catalog(const hb_engine *engine);
size_t hb_engine_ntasks(const hb_engine *engine);
const hb_model *hb_engine_model(const hb_engine *engine, size_t i);

/* Limit on the raw text size; longer messages give HB_ETOOBIG. */
void hb_engine_set_max_text(hb_engine *engine, size_t bytes);

/* The URL model (bundle of kind "url"), or NULL. */
const hb_model *hb_engine_url_model(const hb_engine *engine);

/* The longest raw text accepted (hb_engine_set_max_text). */
size_t hb_engine_max_text(const hb_engine *engine);

/* The entity patterns. */
const hb_entities *hb_engine_entities(const hb_engine *engine);

/* The text models fused into one weight table, in the order they were
 * fused (*n of them, 0 when none are): score them together with
 * hb_models_decision.  hb_engine_fused_slot gives text model i's place in
 * that order, or *n when it scores alone. */
hb_model *const *hb_engine_fused(const hb_engine *engine, size_t *n);
size_t hb_engine_fused_slot(const hb_engine *engine, size_t task);

#endif
