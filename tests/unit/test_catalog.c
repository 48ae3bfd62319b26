/*
 * test_catalog.c - the catalogue's tasks.tsv: the shipped headline order
 * and wording load as the verdicts need them, and a malformed row is
 * refused with its file:line (a typo in wording data must never reach a
 * hotline worker as a broken sentence).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "testutil.h"

static const char HEADER[] =
    "task\theads_from\tlikely_en\tlikely_zh\tpossible_en\tpossible_zh\n";

static void test_shipped_tasks_in_headline_order(void **state)
{
    (void)state;
    hb_error err;
    hb_catalog *c = hb_catalog_open("models/rules", &err);
    if (!c)
        fail_msg("%s", err.message);
    static const char *const ORDER[] = {"fraud", "rumour", "spam", "clean"};
    assert_int_equal(hb_catalog_ntasks(c), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(hb_catalog_task_at(c, i)->task, ORDER[i]);
    const hb_task_info *fraud = hb_catalog_task(c, "fraud");
    assert_true(fraud->heads_from_possible);
    assert_non_null(strstr(fraud->possible_en, "verify before acting"));
    assert_false(hb_catalog_task(c, "spam")->heads_from_possible);
    assert_null(hb_catalog_task(c, "spam")->possible_en);
    assert_null(hb_catalog_task(c, "no_such_task"));
    assert_non_null(hb_catalog_find(c, "authority")); /* types.tsv too */
    hb_catalog_free(c);
}

/* The catalogue of a directory holding only a tasks.tsv of tasks_rows
 * under the header, or NULL with err. */
static hb_catalog *open_with(const char *tasks_rows, hb_error *err)
{
    char dir[1024], path[1100], text[2048];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("catalog"));
    snprintf(path, sizeof path, "%s/tasks.tsv", dir);
    snprintf(text, sizeof text, "%s%s\n", HEADER, tasks_rows);
    tu_write_file(path, text, strlen(text));
    return hb_catalog_open(dir, err);
}

static void expect_refused_at(const char *row, int line, const char *says)
{
    hb_error err;
    hb_catalog *c = open_with(row, &err);
    if (c)
        fail_msg("accepted: %s", row);
    assert_int_equal(err.code, HB_EFORMAT);
    char where[32];
    snprintf(where, sizeof where, "tasks.tsv:%d:", line);
    if (!strstr(err.message, where) || !strstr(err.message, says))
        fail_msg("\"%s\" does not name %s and \"%s\"", err.message, where, says);
}

static void expect_refused(const char *row, const char *says)
{
    expect_refused_at(row, 2, says);
}

static void test_malformed_rows_refused_with_file_and_line(void **state)
{
    (void)state;
    expect_refused("fraud\tsometimes\ta\tb\t-\t-", "heads_from");
    expect_refused("fraud\tlikely\tLikely: {type} ({pct}%)\tb\t-\t-", "{type} outside");
    expect_refused("fraud\tlikely\t{percent}\tb\t-\t-", "placeholder");
    expect_refused("fraud\tlikely\t[a [b]]\tb\t-\t-", "inside");
    expect_refused("fraud\tlikely\ta]\tb\t-\t-", "without its [");
    expect_refused("fraud\tlikely\t[a\tb\t-\t-", "without its ]");
    expect_refused("fraud\tlikely\t-\tb\t-\t-", "column 3 is empty");
    expect_refused("fraud\tpossible\ta\tb\t-\t-", "no possible sentence");
    expect_refused("fraud\tlikely\ta\tb", "6 tab-separated columns");
    expect_refused_at("fraud\tlikely\ta\tb\t-\t-\nfraud\tlikely\ta\tb\t-\t-", 3, "twice");
}

static void test_a_directory_without_files_is_an_empty_catalogue(void **state)
{
    (void)state;
    hb_error err;
    hb_catalog *c = hb_catalog_open(tu_tmpdir("catalog_empty"), &err);
    assert_non_null(c);
    assert_int_equal(hb_catalog_ntasks(c), 0);
    assert_null(hb_catalog_find(c, "authority"));
    hb_catalog_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_tasks_in_headline_order),
        cmocka_unit_test(test_malformed_rows_refused_with_file_and_line),
        cmocka_unit_test(test_a_directory_without_files_is_an_empty_catalogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
