/*
 * test_service_loader.c - the engine a worker serves with: a reload that
 * fails keeps the old engine, and a loader made while the bundle is broken
 * falls back to the snapshot of the last set that loaded, until a reload
 * of the configured directories succeeds.  Models are trained by the test
 * itself.
 *
 * The service's modules are not part of libhubao.a, so the loader's
 * source (and the snapshot's, which it uses) is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handler.h"
#include "service/loader.c"
#include "service/snapshot.c"
#include "testutil.h"

#define RULES TU_RULES

static char models[1100];

static int setup(void **state)
{
    (void)state;
    snprintf(models, sizeof models, "%s", tu_tmpdir("service_loader"));
    tu_train_fixture_model("fraud", models);
    tu_train_fixture_model("spam", models);
    return 0;
}

static void corrupt_spam(void)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/spam/model.svm", models);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
}

/* The verdict of text from engine e (a handler on it), or fail. */
static void assert_answers(const hb_engine *e, const char *body)
{
    hb_handler_options o = hb_handler_defaults();
    hb_handler *h = hb_handler_new(e, &o, NULL);
    assert_non_null(h);
    size_t n = 0;
    const char *out = hb_handler_handle(h, body, strlen(body), &n);
    assert_non_null(out);
    json_t *r = json_loadb(out, n, 0, NULL);
    assert_non_null(json_object_get(r, "verdict"));
    json_decref(r);
    hb_handler_free(h);
}

static void test_failed_reload_keeps_serving(void **state)
{
    (void)state;
    hb_loader_config cfg = {.models_dir = models, .rules_dir = RULES, .max_text = 1000};
    hb_error err;
    hb_loader *l = hb_loader_new(&cfg, &err);
    assert_non_null(l);
    assert_null(hb_loader_fallback(l));
    const hb_engine *before = hb_loader_engine(l);
    corrupt_spam();
    assert_null(hb_loader_load(l, &err));
    assert_non_null(strstr(err.message, "checksum"));
    assert_ptr_equal(hb_loader_engine(l), before);
    assert_answers(hb_loader_engine(l), "{\"text\": \"still here\"}");
    tu_train_fixture_model("spam",
                           models); /* a good bundle again: the reload goes through */
    hb_engine *e = hb_loader_load(l, &err);
    assert_non_null(e);
    hb_loader_swap(l, e);
    assert_ptr_equal(hb_loader_engine(l), e);
    assert_answers(hb_loader_engine(l), "{\"text\": \"still here\"}");
    hb_loader_free(l);
}

static void test_start_falls_back_to_the_snapshot(void **state)
{
    (void)state;
    char snap[1200];
    snprintf(snap, sizeof snap, "%s.snapshot", models);
    hb_engine_paths from = {RULES, models, NULL};
    hb_error err;
    assert_int_equal(hb_snapshot_take(snap, &from, &err), 0);
    corrupt_spam();
    hb_loader_config cfg = {.models_dir = models, .rules_dir = RULES, .max_text = 1000};
    assert_null(hb_loader_new(&cfg, &err)); /* no snapshot: no worker */
    assert_non_null(strstr(err.message, "checksum"));
    cfg.snapshot_dir = snap;
    hb_loader *l = hb_loader_new(&cfg, &err);
    assert_non_null(l);
    assert_non_null(hb_loader_fallback(l));
    assert_non_null(strstr(hb_loader_fallback(l), "spam/model.svm: checksum"));
    assert_answers(hb_loader_engine(l), "{\"text\": \"served from the snapshot\"}");
    assert_null(hb_loader_load(l, &err)); /* still broken */
    assert_non_null(hb_loader_fallback(l));
    tu_train_fixture_model("spam", models);
    hb_engine *e = hb_loader_load(l, &err);
    assert_non_null(e);
    hb_loader_swap(l, e);
    assert_null(hb_loader_fallback(l)); /* the configured models serve again */
    hb_loader_free(l);
    hb_snapshot_remove(snap);
    corrupt_spam();
    cfg.snapshot_dir = snap; /* gone: the configured error is the one reported */
    assert_null(hb_loader_new(&cfg, &err));
    assert_non_null(strstr(err.message, "checksum"));
    tu_train_fixture_model("spam", models);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_reload_keeps_serving),
        cmocka_unit_test(test_start_falls_back_to_the_snapshot),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
