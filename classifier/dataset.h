/*
 * dataset.h - labelled training and evaluation data: `label<TAB>text` TSV
 * files, and the mapping of their label names onto a task's positive and
 * negative classes.
 *
 * Loading is strict: a malformed line (no tab, empty label or text, invalid
 * UTF-8, a label the task does not know) is an error naming file:line, never
 * a silently dropped row, because a model quietly trained on less data than
 * its card says is worse than no model.
 */
#ifndef HB_DATASET_H
#define HB_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct hb_example {
    const char *label; /* as written in the file */
    const char *text;
    size_t text_len;
    const char *file; /* file it came from */
    int line;
} hb_example;

typedef struct hb_dataset {
    hb_example *rows;
    size_t n, cap;
    char **buffers; /* file contents the rows point into */
    size_t nbuffers;
} hb_dataset;

void hb_dataset_init(hb_dataset *ds);
void hb_dataset_release(hb_dataset *ds);

/* Append every line of a TSV file.  Blank lines are an error too (they are
 * how truncated or mangled files usually show).  On error nothing from the
 * file is kept. */
int hb_dataset_load(hb_dataset *ds, const char *path, hb_error *err);

/* Remove from ds every row whose text also occurs in other, compared
 * after normalisation with digits read as 0 (so near-duplicates that differ
 * in spacing, case, full-width forms or masked digits count as the same
 * text).  This keeps test texts out of training data when corpora overlap.
 * *removed gets the count.  Returns 0 or HB_ENOMEM. */
int hb_dataset_exclude(hb_dataset *ds, const hb_dataset *other, size_t *removed,
                       hb_error *err);

/* keys[i] = a hash of row i's text as hb_dataset_exclude compares it
 * (normalised, digits as 0), so equal keys mean the same text.  Keys are
 * odd; 0 marks a row whose text does not normalise.  keys holds ds->n
 * entries. */
void hb_dataset_text_keys(const hb_dataset *ds, uint64_t *keys);

/* Which labels count as positive for a task. */
typedef struct hb_label_map {
    char task[32];
    const char *positive[32]; /* names; "prefix*" matches by prefix */
    size_t npositive;
    const char *negative[32]; /* known negative names (for checking) */
    size_t nnegative;
    int all_but_negative; /* url: every label except the negatives */
    char storage[1024];   /* backing store for names given by the user */
} hb_label_map;

/* The documented default mapping for task "fraud", "spam", "rumour" or
 * "url" (docs/training.md).  HB_ENOTFOUND for another task. */
int hb_label_map_default(const char *task, hb_label_map *map, hb_error *err);

/* Replace the positive labels by a comma-separated list (--positive);
 * every other label is then negative. */
int hb_label_map_set_positive(hb_label_map *map, const char *csv, hb_error *err);

/* 1 positive, 0 negative, -1 unknown to the map. */
int hb_label_map_classify(const hb_label_map *map, const char *label);

/* Check every row's label is known; error names the first unknown label's
 * file:line and how to fix it. */
int hb_label_map_check(const hb_label_map *map, const hb_dataset *ds, hb_error *err);

/* Remove every negative row whose text (compared as hb_dataset_exclude
 * does) also occurs with a positive label: training --conflicts positive.
 * Data sets that label the same message differently (en-sms-uci's "spam"
 * is en-smishing's "smishing" for many texts) would otherwise teach the
 * model both answers; the positive label is the more specific claim.
 * *removed gets the count.  Returns 0 or HB_ENOMEM. */
int hb_dataset_drop_conflicts(hb_dataset *ds, const hb_label_map *map, size_t *removed,
                              hb_error *err);

#endif
