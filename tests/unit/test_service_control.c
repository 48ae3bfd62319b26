/*
 * test_service_control.c - the control endpoint is made private before it
 * is bound: its default directory is created 0700, one that others can
 * enter or that is not ours is refused, a live socket is never taken
 * over, and the socket file is made for its owner only whatever the
 * umask.
 *
 * The service's modules are not part of libhubao.a, so the source is
 * compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "service/control.c"
#include "testutil.h"

static char root[200];
static void *zctx;

static int setup(void **state)
{
    (void)state;
    /* absolute, as hubaod's default is: the socket path must be short */
    char cwd[100];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    snprintf(root, sizeof root, "%s/%.80s", cwd, tu_tmpdir("svc_control"));
    zctx = zmq_ctx_new();
    return zctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    zmq_ctx_term(zctx);
    return 0;
}

static void *router(void)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    return s;
}

/* path: root/leaf; ep: ipc://path */
static void socket_at(const char *leaf, char path[320], char ep[400])
{
    snprintf(path, 320, "%s/%s", root, leaf);
    snprintf(ep, 400, "ipc://%s", path);
}

static void test_default_dir_made_private(void **state)
{
    (void)state;
    char dir[256], ep[400], path[320];
    snprintf(dir, sizeof dir, "%s/fresh", root);
    snprintf(path, sizeof path, "%s/control", dir);
    snprintf(ep, sizeof ep, "ipc://%s", path);
    mode_t old = umask(0); /* the socket must be private all the same */
    void *s = router();
    hb_error err;
    int rc = hb_control_bind(s, ep, dir, NULL, &err);
    umask(old);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(lstat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 077, 0);
    zmq_close(s);
    hb_control_unbind(ep);
    assert_int_not_equal(lstat(path, &st), 0);
}

static void test_open_or_foreign_dir_refused(void **state)
{
    (void)state;
    char dir[256], ep[400];
    snprintf(dir, sizeof dir, "%s/open", root);
    snprintf(ep, sizeof ep, "ipc://%s/control", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chmod(dir, 0750), 0);
    void *s = router();
    hb_error err;
    assert_int_equal(hb_control_bind(s, ep, dir, NULL, &err), HB_EIO);
    assert_non_null(strstr(err.message, "open to group or others (mode 0750)"));
    assert_non_null(strstr(err.message, "chmod 700"));

    char link[256];
    snprintf(link, sizeof link, "%s/link", root);
    assert_int_equal(symlink(dir, link), 0);
    assert_int_equal(chmod(dir, 0700), 0);
    snprintf(ep, sizeof ep, "ipc://%s/control", link);
    assert_int_equal(hb_control_bind(s, ep, link, NULL, &err), HB_EIO);
    assert_non_null(strstr(err.message, "not a directory"));

    if (geteuid() == 0) { /* only root can give a directory away */
        assert_int_equal(chown(dir, 65534, 65534), 0);
        snprintf(ep, sizeof ep, "ipc://%s/control", dir);
        assert_int_equal(hb_control_bind(s, ep, dir, NULL, &err), HB_EIO);
        assert_non_null(strstr(err.message, "belongs to uid 65534"));
    }
    zmq_close(s);
}

static void test_live_socket_not_taken_over(void **state)
{
    (void)state;
    char ep[400], path[320];
    socket_at("live.ctl", path, ep);
    void *first = router(), *second = router();
    hb_error err;
    assert_int_equal(hb_control_bind(first, ep, NULL, NULL, &err), 0);
    assert_int_equal(hb_control_bind(second, ep, NULL, NULL, &err), HB_EIO);
    assert_non_null(strstr(err.message, "another process"));
    zmq_close(first);
    /* a socket file nobody listens on (a hubaod killed outright) is fine */
    socket_at("stale.ctl", path, ep);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    assert_int_equal(hb_control_bind(second, ep, NULL, NULL, &err), 0);
    zmq_close(second);
    hb_control_unbind(ep);
}

static void test_file_not_replaced(void **state)
{
    (void)state;
    char ep[400], path[320];
    socket_at("precious", path, ep);
    tu_write_file(path, "keep", 4);
    void *s = router();
    hb_error err;
    assert_int_equal(hb_control_bind(s, ep, NULL, NULL, &err), HB_EIO);
    assert_non_null(strstr(err.message, "not a socket"));
    hb_control_unbind(ep);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    zmq_close(s);
}

/* Started as root for another user (hubaod --user): the directory and the
 * socket are that user's once bound, and its directory, left by an earlier
 * run, is taken again; another user's is still refused. */
static void test_given_to_the_user_switched_to(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("      (not root: no other user to give the files to)\n");
        skip();
    }
    hb_runas owner = {.switching = 1, .name = "nobody", .uid = 65534, .gid = 65534};
    char dir[256], ep[400], path[320];
    snprintf(dir, sizeof dir, "%s/for-nobody", root);
    snprintf(path, sizeof path, "%s/control", dir);
    snprintf(ep, sizeof ep, "ipc://%s", path);
    hb_error err;
    for (int run = 0; run < 2; run++) { /* the second finds the directory there */
        void *s = router();
        assert_int_equal(hb_control_bind(s, ep, dir, &owner, &err), 0);
        struct stat st;
        assert_int_equal(lstat(dir, &st), 0);
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_gid, 65534);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_mode & 077, 0);
        zmq_close(s);
        hb_control_unbind(ep);
    }
    assert_int_equal(chown(dir, 12345, 12345), 0);
    void *s = router();
    assert_int_equal(hb_control_bind(s, ep, dir, &owner, &err), HB_EIO);
    assert_non_null(strstr(err.message, "belongs to uid 12345"));
    assert_non_null(strstr(err.message, "runs as (uid 65534)"));
    zmq_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_dir_made_private),
        cmocka_unit_test(test_open_or_foreign_dir_refused),
        cmocka_unit_test(test_live_socket_not_taken_over),
        cmocka_unit_test(test_file_not_replaced),
        cmocka_unit_test(test_given_to_the_user_switched_to),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
