/*
 * loader.h - the engine a worker serves with: loaded from the configured
 * models, rules and feeds, replaced on reload, and, when they are broken
 * as the worker starts, taken from the snapshot of the last set that
 * loaded (snapshot.h).  The worker's request handler (handler.h) borrows
 * the engine; the loader owns it.
 *
 * Reloading builds a new engine beside the old one and swaps only if the
 * new one loaded completely: a broken bundle never replaces a working
 * one.  Loading and swapping are separate steps so that a worker can load
 * on another thread while it keeps serving with the old engine.
 *
 * A loader given a snapshot directory that cannot load the configured
 * directories when it is made falls back to the snapshot's current set
 * and says so (hb_loader_fallback); reloads still read the configured
 * directories, and the first that loads ends the fallback.
 */
#ifndef HB_SERVICE_LOADER_H
#define HB_SERVICE_LOADER_H

#include <stddef.h>

#include "error.h"
#include "verdict.h"

typedef struct hb_loader hb_loader;

typedef struct hb_loader_config {
    const char *models_dir;   /* copied */
    const char *rules_dir;    /* copied */
    const char *feeds_dir;    /* copied; NULL or "" for none */
    const char *snapshot_dir; /* copied; NULL or "" for none: no fallback */
    size_t max_text;          /* bytes of one text (hb_engine_set_max_text) */
} hb_loader_config;

/* Load the engine from the configured directories or, if they fail and
 * there is a snapshot, from its current set.  Returns an owned loader, or
 * NULL with err saying why the models or rules could not be loaded (and,
 * if it was tried, why the snapshot could not either). */
hb_loader *hb_loader_new(const hb_loader_config *cfg, hb_error *err);

/* Free the loader and its engine; NULL is fine. */
void hb_loader_free(hb_loader *l);

/* The engine serving now (owned by the loader; valid until the next
 * hb_loader_swap or hb_loader_free). */
const hb_engine *hb_loader_engine(const hb_loader *l);

/* Load a new engine from the configured directories.  Reads only
 * settings that never change, so another thread may call it while the
 * engine serves.  Returns an owned engine, or NULL with err saying what
 * failed to load. */
hb_engine *hb_loader_load(const hb_loader *l, hb_error *err);

/* Put an engine from hb_loader_load in service (the loader takes it),
 * free the one it replaces and end any fallback.  Whoever borrowed the
 * old engine must have moved to the new one first. */
void hb_loader_swap(hb_loader *l, hb_engine *e);

/* NULL while the engine came from the configured directories; while it
 * came from the snapshot, why the configured directories did not load
 * (borrowed; valid until the next swap, which clears it). */
const char *hb_loader_fallback(const hb_loader *l);

#endif
