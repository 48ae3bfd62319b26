/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include "trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
