/*
 * fuzz_manifest.c - libFuzzer target for model bundle loading
 * (hb_model_load): the input is written as the manifest.json of a bundle
 * whose model.svm and idf.bin are the small valid ones under
 * tests/fuzz/bundle (trained on tests/fixtures/train_small.tsv with
 * --hash-bits 10), and the
 * loader either refuses it with an error naming the bundle, or gives a
 * model whose thresholds are probabilities, possible threshold at most
 * the likely one, and whose probability of any decision is in [0, 1].
 * Aborts on the first violation.
 *
 * Built and run by `make fuzz` (and for a few seconds by `make test`),
 * from the repository root.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    if (!in || !out)
        abort();
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/hubao-fuzz-manifest.%ld", (long)getpid());
        char cmd[128], path[128];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        if (system(cmd) != 0)
            abort();
        snprintf(path, sizeof path, "%s/model.svm", dir);
        copy_file("tests/fuzz/bundle/model.svm", path);
        snprintf(path, sizeof path, "%s/idf.bin", dir);
        copy_file("tests/fuzz/bundle/idf.bin", path);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    hb_error err;
    hb_error_clear(&err);
    hb_model *m = hb_model_load(dir, &err);
    if (!m) {
        if (err.code == 0 || !strstr(err.message, dir))
            abort();
        return 0;
    }
    for (int script = 0; script < 2; script++) {
        double t = hb_model_threshold_in(m, script),
               p = hb_model_possible_threshold_in(m, script);
        if (!(t >= 0 && t <= 1 && p >= 0 && p <= t))
            abort();
        double q = hb_model_probability_in(m, 0.5, script);
        if (!(q >= 0 && q <= 1))
            abort();
    }
    hb_model_free(m);
    return 0;
}
