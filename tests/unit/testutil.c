/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include "trainer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

const char *tu_fixture(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "tests/fixtures/%s", name);
    return path;
}

const char *tu_tmpdir(const char *tag)
{
    static char path[1024];
    char cmd[2200];
    snprintf(path, sizeof path, "build/tmp/%s.%ld", tag, (long)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", path, path);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create %s\n", path);
        abort();
    }
    return path;
}

void tu_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
}

void tu_train_fixture_model(const char *task, const char *models_dir)
{
    hb_error err;
    hb_engine *e = hb_engine_open(TU_RULES, NULL, &err);
    hb_dataset ds;
    hb_dataset_init(&ds);
    hb_label_map map;
    char dir[1200];
    hb_train_result res;
    hb_train_options o = hb_train_defaults(task);
    o.features.hash_bits = 14;
    snprintf(dir, sizeof dir, "%s/%s", models_dir, task);
    if (!e || hb_dataset_load(&ds, tu_fixture("train_small.tsv"), &err) != 0 ||
        hb_label_map_default(task, &map, &err) != 0 ||
        hb_train_text(e, &ds, &map, &o, dir, NULL, &res, &err) != 0) {
        fprintf(stderr, "cannot train the %s fixture model: %s\n", task, err.message);
        abort();
    }
    hb_dataset_release(&ds);
    hb_engine_free(e);
}

const hb_task_result *tu_task(const hb_verdict *v, const char *name)
{
    for (size_t i = 0; i < v->ntasks; i++)
        if (strcmp(v->tasks[i].task, name) == 0)
            return &v->tasks[i];
    fprintf(stderr, "no task %s in the verdict\n", name);
    abort();
}

size_t tu_rules_run(const hb_rules *r, hb_rules_scratch *s, const char *text,
                    hb_rule_hit *hits, size_t *limited)
{
    size_t n = 0, lim = 0;
    assert_int_equal(
        hb_rules_match(r, s, text, strlen(text), hits, hb_rules_count(r), &n, &lim), 0);
    if (limited)
        *limited = lim;
    return n;
}

size_t tu_rules_same_with_prefilter(const hb_rules *r, const char *text, size_t len)
{
    size_t count = hb_rules_count(r);
    hb_rule_hit *a = calloc(count, sizeof *a);
    hb_rule_hit *b = calloc(count, sizeof *b);
    hb_rules_scratch *pre = hb_rules_scratch_new();
    hb_rules_scratch *all = hb_rules_scratch_new();
    assert_true(a && b && pre && all);
    hb_rules_scratch_set_prefilter(all, 0);
    size_t na = 0, nb = 0, la = 0, lb = 0;
    assert_int_equal(hb_rules_match(r, pre, text, len, a, count, &na, &la), 0);
    assert_int_equal(hb_rules_match(r, all, text, len, b, count, &nb, &lb), 0);
    if (na != nb)
        fail_msg("%zu hits with the prefilter, %zu without, on \"%.*s\"", na, nb,
                 (int)(len > 80 ? 80 : len), text);
    for (size_t i = 0; i < na; i++)
        if (a[i].rule != b[i].rule || a[i].start != b[i].start || a[i].end != b[i].end)
            fail_msg("hit %zu: rule %s %u-%u with the prefilter, rule %s "
                     "%u-%u without, on \"%.*s\"",
                     i, hb_rules_info(r, a[i].rule)->id, a[i].start, a[i].end,
                     hb_rules_info(r, b[i].rule)->id, b[i].start, b[i].end,
                     (int)(len > 80 ? 80 : len), text);
    assert_true(la <= lb);
    hb_rules_scratch_free(pre);
    hb_rules_scratch_free(all);
    free(a);
    free(b);
    return na;
}
