/*
 * test_dataset.c - TSV loading (strict, with file:line errors) and the
 * per-task label mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dataset.h"
#include "testutil.h"

static void expect_load_error(const char *content, size_t len, const char *needle)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/bad.tsv", tu_tmpdir("dataset_bad"));
    tu_write_file(path, content, len);
    hb_dataset ds;
    hb_dataset_init(&ds);
    hb_error err;
    assert_int_equal(hb_dataset_load(&ds, path, &err), HB_EFORMAT);
    assert_int_equal(ds.n, 0);
    if (!strstr(err.message, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
    hb_dataset_release(&ds);
}

static void test_loads_fixture(void **state)
{
    (void)state;
    hb_dataset ds;
    hb_dataset_init(&ds);
    assert_int_equal(hb_dataset_load(&ds, tu_fixture("train_small.tsv"), NULL), 0);
    assert_int_equal(ds.n, 48);
    assert_string_equal(ds.rows[0].label, "fraud_authority");
    assert_int_equal(ds.rows[47].line, 48);
    assert_int_equal(ds.rows[0].text_len, strlen(ds.rows[0].text));
    hb_dataset_release(&ds);
}

static void test_malformed_lines(void **state)
{
    (void)state;
    expect_load_error("ham\tfine\nno tab here\n", 22, ":2: no TAB");
    expect_load_error("ham\tfine\n\tno label\n", 19, ":2: empty label");
    expect_load_error("ham\t\n", 5, ":1: empty text");
    expect_load_error("ham\tok\n\nham\tok\n", 15, ":2: empty line");
    expect_load_error("ham\ta\tb\n", 8, ":1: more than one TAB");
    expect_load_error("ham\tbad \xff\xfe utf8\n", 16, ":1: not valid UTF-8");
    expect_load_error("ham\tnul\0byte\n", 13, ":1: NUL byte");
}

static void test_crlf_and_missing_final_newline(void **state)
{
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s/crlf.tsv", tu_tmpdir("dataset_crlf"));
    tu_write_file(path, "ham\tone\r\nspam\ttwo", 17);
    hb_dataset ds;
    hb_dataset_init(&ds);
    assert_int_equal(hb_dataset_load(&ds, path, NULL), 0);
    assert_int_equal(ds.n, 2);
    assert_string_equal(ds.rows[0].text, "one");
    assert_string_equal(ds.rows[1].text, "two");
    hb_dataset_release(&ds);
}

static void test_missing_file(void **state)
{
    (void)state;
    hb_dataset ds;
    hb_dataset_init(&ds);
    hb_error err;
    assert_int_equal(hb_dataset_load(&ds, "build/tmp/none.tsv", &err), HB_ENOTFOUND);
    assert_non_null(strstr(err.message, "none.tsv"));
}

static void test_default_label_maps(void **state)
{
    (void)state;
    hb_label_map m;
    assert_int_equal(hb_label_map_default("fraud", &m, NULL), 0);
    assert_int_equal(hb_label_map_classify(&m, "smishing"), 1);
    assert_int_equal(hb_label_map_classify(&m, "fraud_loan"), 1);
    assert_int_equal(hb_label_map_classify(&m, "spam"), 0); /* adverts are not fraud */
    assert_int_equal(hb_label_map_classify(&m, "ham"), 0);
    assert_int_equal(hb_label_map_classify(&m, "rumour"), -1);

    assert_int_equal(hb_label_map_default("spam", &m, NULL), 0);
    assert_int_equal(hb_label_map_classify(&m, "spam"), 1);
    assert_int_equal(hb_label_map_classify(&m, "smishing"), 1);
    assert_int_equal(hb_label_map_classify(&m, "fraud_authority"), 1);
    assert_int_equal(hb_label_map_classify(&m, "ham"), 0);

    assert_int_equal(hb_label_map_default("rumour", &m, NULL), 0);
    for (const char *const *l = (const char *const[]){"rumour", "fake", "false",
                                                      "pants-fire", "barely-true", NULL};
         *l; l++)
        assert_int_equal(hb_label_map_classify(&m, *l), 1);
    for (const char *const *l = (const char *const[]){"nonrumour", "real", "true",
                                                      "half-true", "mostly-true", NULL};
         *l; l++)
        assert_int_equal(hb_label_map_classify(&m, *l), 0);

    assert_int_equal(hb_label_map_default("url", &m, NULL), 0);
    assert_int_equal(hb_label_map_classify(&m, "benign"), 0);
    assert_int_equal(hb_label_map_classify(&m, "phishing"), 1);
    assert_int_equal(hb_label_map_classify(&m, "defacement"), 1);

    hb_error err;
    assert_int_equal(hb_label_map_default("weather", &m, &err), HB_ENOTFOUND);
    assert_non_null(strstr(err.message, "--positive"));
}

static void test_positive_override_and_check(void **state)
{
    (void)state;
    hb_label_map m;
    hb_label_map_default("fraud", &m, NULL);
    assert_int_equal(hb_label_map_set_positive(&m, "spam,fraud_*", NULL), 0);
    assert_int_equal(hb_label_map_classify(&m, "spam"), 1);
    assert_int_equal(hb_label_map_classify(&m, "smishing"), 0);
    assert_int_equal(hb_label_map_classify(&m, "anything"), 0);
    assert_int_equal(hb_label_map_set_positive(&m, ",,", NULL), HB_EINVAL);

    char path[1100];
    snprintf(path, sizeof path, "%s/labels.tsv", tu_tmpdir("dataset_labels"));
    tu_write_file(path, "ham\ta\nsmishing\tb\nweird\tc\n", 25);
    hb_dataset ds;
    hb_dataset_init(&ds);
    assert_int_equal(hb_dataset_load(&ds, path, NULL), 0);
    hb_label_map_default("fraud", &m, NULL);
    hb_error err;
    assert_int_equal(hb_label_map_check(&m, &ds, &err), HB_EFORMAT);
    assert_non_null(strstr(err.message, ":3: label \"weird\""));
    hb_dataset_release(&ds);
}

/* Two sets label the same SMS differently (en-sms-uci "spam", en-smishing
 * "smishing"): for fraud only the positive row stays, matched as
 * --exclude matches (case, spacing and digits do not matter); a negative
 * text with no positive twin and unrelated rows stay. */
static void test_drop_conflicts_keeps_positive(void **state)
{
    (void)state;
    char path[1100];
    snprintf(path, sizeof path, "%s/conflicts.tsv", tu_tmpdir("dataset_conflicts"));
    const char *tsv = "spam\tWINNER! Call 09061701461 to claim your prize\n"
                      "smishing\twinner!  call 09061709999 to CLAIM your prize\n"
                      "spam\tHalf price pizza this Friday, reply STOP to opt out\n"
                      "ham\tsee you at eight\n"
                      "fraud_prize\tsee you at eight\n";
    tu_write_file(path, tsv, strlen(tsv));
    hb_dataset ds;
    hb_dataset_init(&ds);
    assert_int_equal(hb_dataset_load(&ds, path, NULL), 0);
    hb_label_map map;
    assert_int_equal(hb_label_map_default("fraud", &map, NULL), 0);
    size_t removed = 99;
    assert_int_equal(hb_dataset_drop_conflicts(&ds, &map, &removed, NULL), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(ds.n, 3);
    assert_string_equal(ds.rows[0].label, "smishing");
    assert_string_equal(ds.rows[1].label, "spam");
    assert_int_equal(ds.rows[1].line, 3);
    assert_string_equal(ds.rows[2].label, "fraud_prize");
    /* for spam every row of the first pair is positive: nothing to drop */
    hb_dataset_release(&ds);
    hb_dataset_init(&ds);
    assert_int_equal(hb_dataset_load(&ds, path, NULL), 0);
    assert_int_equal(hb_label_map_default("spam", &map, NULL), 0);
    assert_int_equal(hb_dataset_drop_conflicts(&ds, &map, &removed, NULL), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(ds.n, 4);
    hb_dataset_release(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_fixture),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_crlf_and_missing_final_newline),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_default_label_maps),
        cmocka_unit_test(test_positive_override_and_check),
        cmocka_unit_test(test_drop_conflicts_keeps_positive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
