/*
 * test_paths.c - where programs find models, rules and feeds: what was
 * given, even "", wins; then the environment when set and not empty; then
 * the defaults, rules following the models directory, and feeds/data only
 * when it exists.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"
#include "testutil.h"

static const char *const VARS[] = {"HUBAO_MODELS", "HUBAO_RULES", "HUBAO_FEEDS_DIR",
                                   "HUBAO_FEEDS_CONF"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        unsetenv(VARS[i]);
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(hb_paths_models(NULL), "models");
    assert_string_equal(hb_paths_rules(NULL, "m", buf, sizeof buf), "m/rules");
    assert_string_equal(hb_paths_rules(NULL, NULL, buf, sizeof buf), "models/rules");
    assert_string_equal(hb_paths_feeds_store(NULL), "feeds/data");
    assert_string_equal(hb_paths_feeds_conf(NULL), "feeds/feeds.conf");
}

static void test_environment_over_defaults(void **state)
{
    (void)state;
    char buf[64];
    setenv("HUBAO_MODELS", "/srv/m", 1);
    assert_string_equal(hb_paths_models(NULL), "/srv/m");
    /* the rules follow the models directory the environment named */
    assert_string_equal(hb_paths_rules(NULL, NULL, buf, sizeof buf), "/srv/m/rules");
    setenv("HUBAO_RULES", "/srv/r", 1);
    assert_string_equal(hb_paths_rules(NULL, "m", buf, sizeof buf), "/srv/r");
    setenv("HUBAO_FEEDS_DIR", "/srv/f", 1);
    assert_string_equal(hb_paths_feeds(NULL), "/srv/f");
    assert_string_equal(hb_paths_feeds_store(NULL), "/srv/f");
    setenv("HUBAO_FEEDS_CONF", "/srv/f.conf", 1);
    assert_string_equal(hb_paths_feeds_conf(NULL), "/srv/f.conf");
    /* set but empty is not set */
    setenv("HUBAO_MODELS", "", 1);
    assert_string_equal(hb_paths_models(NULL), "models");
}

static void test_given_over_environment(void **state)
{
    (void)state;
    char buf[64];
    setenv("HUBAO_MODELS", "/srv/m", 1);
    setenv("HUBAO_RULES", "/srv/r", 1);
    setenv("HUBAO_FEEDS_DIR", "/srv/f", 1);
    setenv("HUBAO_FEEDS_CONF", "/srv/f.conf", 1);
    assert_string_equal(hb_paths_models("a"), "a");
    assert_string_equal(hb_paths_rules("b", "a", buf, sizeof buf), "b");
    assert_string_equal(hb_paths_feeds("c"), "c");
    assert_string_equal(hb_paths_feeds_store("d"), "d");
    assert_string_equal(hb_paths_feeds_conf("e"), "e");
    assert_string_equal(hb_paths_models(""), ""); /* given, even empty */
}

/* feeds/data is the default only once `hubao feeds update` has made it. */
static void test_feeds_default_only_when_present(void **state)
{
    (void)state;
    char cwd[4096], dir[1200];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("paths"));
    assert_int_equal(chdir(dir), 0);
    assert_null(hb_paths_feeds(NULL));
    assert_int_equal(mkdir("feeds", 0755), 0);
    assert_int_equal(mkdir("feeds/data", 0755), 0);
    assert_string_equal(hb_paths_feeds(NULL), "feeds/data");
    assert_int_equal(chdir(cwd), 0);
}

/* A rules path that does not fit is "", never a cut one naming another
 * directory. */
static void test_rules_that_do_not_fit(void **state)
{
    (void)state;
    char buf[8];
    assert_string_equal(hb_paths_rules(NULL, "m", buf, sizeof buf), "m/rules");
    assert_string_equal(hb_paths_rules(NULL, "mm", buf, sizeof buf), "");
    assert_string_equal(hb_paths_rules(NULL, "m", buf, 0), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_environment_over_defaults, clear_env),
        cmocka_unit_test_setup(test_given_over_environment, clear_env),
        cmocka_unit_test_setup(test_feeds_default_only_when_present, clear_env),
        cmocka_unit_test_setup(test_rules_that_do_not_fit, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
