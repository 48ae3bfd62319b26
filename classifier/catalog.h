/*
 * catalog.h - what a verdict means to a person, as data that researchers
 * and hotline leads edit without touching code (files next to the rules):
 *
 *   types.tsv  each fraud type's name and the advice a hotline worker
 *              gives the caller, in Chinese and English (header `type
 *              name_zh name_en advice_zh advice_en`);
 *   tasks.tsv  which task heads a reply and the sentence it reads (header
 *              `task heads_from likely_en likely_zh possible_en
 *              possible_zh`).  Rows are in headline order: the first task
 *              at or above its heads_from tier (possible or likely) heads
 *              the reply; the row "clean" is what a message no task
 *              flags reads.  Sentences are templates: {pct} is the
 *              probability in percent, and a part in [...] is kept only
 *              when the fraud type has a name, which {type} stands for
 *              there; "-" for no possible sentence.  A task not listed
 *              heads after the listed ones, at the likely tier.
 *
 * Both are checked at load: a malformed row is an error naming file:line.
 */
#ifndef HB_CATALOG_H
#define HB_CATALOG_H

#include <stddef.h>

#include "error.h"

typedef struct hb_catalog hb_catalog;

typedef struct hb_type_info {
    const char *type;
    const char *name_zh, *name_en;
    const char *advice_zh, *advice_en;
} hb_type_info;

typedef struct hb_task_info {
    const char *task;
    int heads_from_possible;               /* 1: possible tier, 0: likely */
    const char *likely_en, *likely_zh;     /* templates, see above */
    const char *possible_en, *possible_zh; /* NULL: none ("-") */
} hb_task_info;

/* The catalog of directory dir: its types.tsv and tasks.tsv, each when
 * present (an empty catalog when neither is).  NULL with err (file:line)
 * on a malformed file. */
hb_catalog *hb_catalog_open(const char *dir, hb_error *err);

/* A catalog of types only, from one types.tsv. */
hb_catalog *hb_catalog_load(const char *path, hb_error *err);
void hb_catalog_free(hb_catalog *catalog);

/* The entry for type, or NULL if the catalog (may be NULL) lacks it. */
const hb_type_info *hb_catalog_find(const hb_catalog *catalog, const char *type);

/* The types.tsv rows, in file order; catalog may be NULL. */
size_t hb_catalog_ntypes(const hb_catalog *catalog);
const hb_type_info *hb_catalog_type_at(const hb_catalog *catalog, size_t i);

/* The tasks.tsv rows, in headline order ("clean" among them), and the row
 * of one task (NULL if not listed); catalog may be NULL. */
size_t hb_catalog_ntasks(const hb_catalog *catalog);
const hb_task_info *hb_catalog_task_at(const hb_catalog *catalog, size_t i);
const hb_task_info *hb_catalog_task(const hb_catalog *catalog, const char *task);

#endif
