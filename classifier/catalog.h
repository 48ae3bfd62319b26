/*
 * catalog.h - what each verdict type means to a person: its name and the
 * advice a hotline worker gives the caller, in Chinese and English.
 *
 * Loaded from a TSV file next to the rules (models/rules/types.tsv) with a
 * header line `type name_zh name_en advice_zh advice_en`, so the wording is
 * data that researchers and hotline leads can edit without touching code.
 */
#ifndef HB_CATALOG_H
#define HB_CATALOG_H

#include "error.h"

typedef struct hb_catalog hb_catalog;

typedef struct hb_type_info {
    const char *type;
    const char *name_zh, *name_en;
    const char *advice_zh, *advice_en;
} hb_type_info;

/* Load a catalog.  NULL with err (file:line) on a malformed file. */
hb_catalog *hb_catalog_load(const char *path, hb_error *err);
void hb_catalog_free(hb_catalog *catalog);

/* The entry for type, or NULL if the catalog (may be NULL) lacks it. */
const hb_type_info *hb_catalog_find(const hb_catalog *catalog, const char *type);

#endif
