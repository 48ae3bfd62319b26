/*
 * testutil.h - small helpers shared by the cmocka unit tests.
 */
#ifndef HB_TESTUTIL_H
#define HB_TESTUTIL_H

#include <stddef.h>

#include "rules.h"
#include "verdict.h"

/* Path of a file under tests/fixtures (static buffer, overwritten by the
 * next call).  Tests run from the repository root. */
const char *tu_fixture(const char *name);

/* Create a fresh empty directory under build/tmp and return its path
 * (static buffer per call site is the caller's job: copy it). */
const char *tu_tmpdir(const char *tag);

/* Write len bytes to path, replacing it; aborts the test on failure. */
void tu_write_file(const char *path, const char *data, size_t len);

/* Train a small model for task ("fraud", "spam", ...) on
 * tests/fixtures/train_small.tsv with the fixture rules
 * (TU_RULES) into models_dir/task; aborts the test on failure. */
#define TU_RULES "tests/fixtures/engine/rules"
void tu_train_fixture_model(const char *task, const char *models_dir);

/* The result of task name in v; aborts the test when v has no such task. */
const hb_task_result *tu_task(const hb_verdict *v, const char *name);

/* Match all of text (NUL-terminated) against r with scratch s into hits
 * (room for hb_rules_count(r) of them) and return how many there are;
 * *limited (may be NULL) gets the number of rules abandoned at a limit.
 * Fails the test if hb_rules_match does. */
size_t tu_rules_run(const hb_rules *r, hb_rules_scratch *s, const char *text,
                    hb_rule_hit *hits, size_t *limited);

/* Match len bytes of text against r twice, with the prefilter and
 * without, and fail the test unless the hits (rules and spans) are the
 * same and the prefilter abandoned no more rules than PCRE2 alone.
 * Returns the number of hits. */
size_t tu_rules_same_with_prefilter(const hb_rules *r, const char *text, size_t len);

#endif
