/*
 * test_service_runas.c - hubaod --user: who is switched to and when, the
 * errors that name the user, and (as root only) that the switch leaves
 * no way back to root.
 *
 * The service's modules are not part of libhubao.a, so the source is
 * compiled in here.  "nobody" is the other user: every Debian system
 * has it.
 */
#define _GNU_SOURCE /* runas.c's setresuid, before any header */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/wait.h>

#include "service/runas.c"

/* nobody's uid and gid; skips the test when there is no such user */
static void nobody(uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        skip();
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
}

static void test_no_user_means_no_switch(void **state)
{
    (void)state;
    hb_runas r;
    hb_error err;
    assert_int_equal(hb_runas_plan(NULL, 1000, &r, &err), 0);
    assert_false(r.switching);
    assert_int_equal(r.uid, 1000);
    assert_string_equal(r.name, "");
    assert_int_equal(hb_runas_plan("", 0, &r, &err), 0);
    assert_false(r.switching);
    assert_int_equal(hb_runas_switch(&r, &err), 0); /* nothing to do */
}

static void test_root_switches_to_another_user(void **state)
{
    (void)state;
    uid_t uid;
    gid_t gid;
    nobody(&uid, &gid);
    hb_runas r;
    hb_error err;
    assert_int_equal(hb_runas_plan("nobody", 0, &r, &err), 0);
    assert_true(r.switching);
    assert_int_equal(r.uid, uid);
    assert_int_equal(r.gid, gid);
    assert_string_equal(r.name, "nobody");
}

static void test_naming_yourself_changes_nothing(void **state)
{
    (void)state;
    uid_t uid;
    gid_t gid;
    nobody(&uid, &gid);
    hb_runas r;
    hb_error err;
    assert_int_equal(hb_runas_plan("root", 0, &r, &err), 0);
    assert_false(r.switching);
    assert_int_equal(hb_runas_plan("nobody", uid, &r, &err), 0);
    assert_false(r.switching);
    assert_int_equal(r.uid, uid);
}

static void test_only_root_switches(void **state)
{
    (void)state;
    uid_t uid;
    gid_t gid;
    nobody(&uid, &gid);
    hb_runas r;
    hb_error err;
    assert_int_equal(hb_runas_plan("root", uid, &r, &err), HB_EINVAL);
    assert_non_null(strstr(err.message, "only root"));
    assert_non_null(strstr(err.message, "--user root"));
}

static void test_unknown_user_is_named(void **state)
{
    (void)state;
    hb_runas r;
    hb_error err;
    assert_int_equal(hb_runas_plan("hubao-no-such-user", 0, &r, &err), HB_ENOTFOUND);
    assert_non_null(strstr(err.message, "hubao-no-such-user"));
    assert_non_null(strstr(err.message, "no such user"));
    assert_false(r.switching);
    char huge[HB_RUNAS_NAME + 10];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(hb_runas_plan(huge, 0, &r, &err), HB_EINVAL);
}

/* What the child of test_switch_is_for_good found wrong: its exit code. */
enum { SWITCH_FAILED = 1, IDS_WRONG, GROUP_ROOT, ROOT_AGAIN, READS_ROOT_FILE };

static int switched_child(void)
{
    hb_runas r;
    hb_error err;
    if (hb_runas_plan("nobody", geteuid(), &r, &err) != 0 ||
        hb_runas_switch(&r, &err) != 0)
        return SWITCH_FAILED;
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != r.uid ||
        eu != r.uid || su != r.uid || rg != r.gid || eg != r.gid || sg != r.gid)
        return IDS_WRONG;
    gid_t groups[64];
    int n = getgroups(64, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == 0)
            return GROUP_ROOT; /* root's supplementary groups were kept */
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
        return ROOT_AGAIN;
    int fd = open("/etc/shadow", O_RDONLY); /* root and group shadow only */
    if (fd >= 0) {
        close(fd);
        return READS_ROOT_FILE;
    }
    return 0;
}

static void test_switch_is_for_good(void **state)
{
    (void)state;
    uid_t uid;
    gid_t gid;
    nobody(&uid, &gid);
    if (geteuid() != 0) {
        print_message("      (not root: the switch itself is not tested)\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(switched_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_user_means_no_switch),
        cmocka_unit_test(test_root_switches_to_another_user),
        cmocka_unit_test(test_naming_yourself_changes_nothing),
        cmocka_unit_test(test_only_root_switches),
        cmocka_unit_test(test_unknown_user_is_named),
        cmocka_unit_test(test_switch_is_for_good),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
