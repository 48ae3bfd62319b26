/*
 * test_service_snapshot.c - the last set that loaded: a snapshot is a copy
 * that loads, survives the configured bundle being edited in place, is
 * switched only to a set that loads, keeps one set before the current,
 * and carries the feeds when there are some.
 *
 * The service's modules are not part of libhubao.a, so the snapshot's
 * source is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <sys/wait.h>

#include "service/snapshot.c"
#include "testutil.h"

static char root[1100], models[1200], feeds[1200], snap[1200];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s", tu_tmpdir("service_snapshot"));
    snprintf(models, sizeof models, "%s/models", root);
    snprintf(feeds, sizeof feeds, "%s/feeds", root);
    snprintf(snap, sizeof snap, "%s/snap", root);
    mkdir(models, 0700);
    mkdir(feeds, 0700);
    tu_train_fixture_model("fraud", models);
    tu_train_fixture_model("spam", models);
    static const char FEED[] = "# hubao feed copy v1\nd evil-bank.top\n# end 1\n";
    char path[1300];
    snprintf(path, sizeof path, "%s/testfeed.list", feeds);
    tu_write_file(path, FEED, sizeof FEED - 1);
    snprintf(path, sizeof path, "%s/.hidden", models);
    tu_write_file(path, "x", 1);
    return 0;
}

static int exists(const char *dir, const char *name)
{
    char path[1400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void append_garbage(const char *dir, const char *file)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
}

/* Load the snapshot's current set; 0 when it loads. */
static int load_current(hb_snapshot_paths *p)
{
    hb_error err;
    assert_int_equal(hb_snapshot_current(snap, p, &err), 0);
    hb_engine_paths paths = {p->rules, p->models, *p->feeds ? p->feeds : NULL};
    hb_engine *e = hb_engine_open_paths(&paths, &err);
    if (!e)
        fprintf(stderr, "%s\n", err.message);
    hb_engine_free(e);
    return e ? 0 : -1;
}

static void test_no_snapshot_yet(void **state)
{
    (void)state;
    hb_snapshot_paths p;
    hb_error err;
    assert_int_equal(hb_snapshot_current(snap, &p, &err), HB_ENOTFOUND);
}

static void test_take_copies_what_loads(void **state)
{
    (void)state;
    hb_engine_paths from = {TU_RULES, models, feeds};
    hb_error err;
    assert_int_equal(hb_snapshot_take(snap, &from, &err), 0);
    hb_snapshot_paths p;
    assert_int_equal(load_current(&p), 0);
    assert_non_null(strstr(p.models, "/set.1/models"));
    assert_true(exists(p.feeds, "testfeed.list"));
    assert_true(exists(p.models, "spam/model.svm"));
    assert_false(exists(p.models, ".hidden"));
}

static void test_copy_survives_an_edit_in_place(void **state)
{
    (void)state;
    append_garbage(models, "spam/model.svm");
    hb_snapshot_paths p;
    assert_int_equal(load_current(&p), 0);
}

static void test_a_set_that_does_not_load_is_refused(void **state)
{
    (void)state;
    hb_engine_paths from = {TU_RULES, models, feeds};
    hb_error err;
    assert_int_not_equal(hb_snapshot_take(snap, &from, &err), 0);
    assert_non_null(strstr(err.message, "checksum"));
    hb_snapshot_paths p;
    assert_int_equal(load_current(&p), 0);
    assert_non_null(strstr(p.models, "/set.1/models")); /* still the good one */
    assert_false(exists(snap, "set.2"));                /* the failed copy is gone */
}

static void test_one_set_before_the_current_is_kept(void **state)
{
    (void)state;
    tu_train_fixture_model("spam", models); /* good again */
    hb_engine_paths from = {TU_RULES, models, NULL};
    hb_error err;
    assert_int_equal(hb_snapshot_take(snap, &from, &err), 0);
    assert_int_equal(hb_snapshot_take(snap, &from, &err), 0);
    assert_false(exists(snap, "set.1"));
    assert_true(exists(snap, "set.2"));
    hb_snapshot_paths p;
    assert_int_equal(load_current(&p), 0);
    assert_non_null(strstr(p.models, "/set.3/models"));
    assert_string_equal(p.feeds, ""); /* taken without feeds */
}

static void test_remove(void **state)
{
    (void)state;
    hb_snapshot_remove(snap);
    assert_false(exists(snap, ""));
    assert_true(exists(models, "spam/model.svm")); /* copies, never links */
    hb_snapshot_remove(NULL);
    hb_snapshot_remove("");
}

static void test_mkdir_is_private(void **state)
{
    (void)state;
    char dir[1300], dead[1300], alive[1300];
    hb_error err;
    pid_t gone = fork(); /* a pid nobody has once it is reaped */
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    snprintf(dead, sizeof dead, "%s/hubaod-%ld-abcdef", root, (long)gone);
    snprintf(alive, sizeof alive, "%s/hubaod-%ld-abcdef", root, (long)getppid());
    mkdir(dead, 0700);
    mkdir(alive, 0700);
    setenv("TMPDIR", root, 1);
    assert_int_equal(hb_snapshot_mkdir(dir, sizeof dir, &err), 0);
    unsetenv("TMPDIR");
    assert_false(exists(dead, "")); /* left by a process that is gone */
    assert_true(exists(alive, "")); /* its process still runs */
    hb_snapshot_remove(alive);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(strncmp(dir, root, strlen(root)), 0);
    hb_snapshot_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_snapshot_yet),
        cmocka_unit_test(test_take_copies_what_loads),
        cmocka_unit_test(test_copy_survives_an_edit_in_place),
        cmocka_unit_test(test_a_set_that_does_not_load_is_refused),
        cmocka_unit_test(test_one_set_before_the_current_is_kept),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_mkdir_is_private),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
