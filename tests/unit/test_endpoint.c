/*
 * test_endpoint.c - where the control endpoint is by default (the same
 * for hubaod and `hubao control`), the file behind an ipc:// endpoint,
 * and which endpoints others can reach.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "endpoint.h"

static void test_default_under_xdg_runtime_dir(void **state)
{
    (void)state;
    char dir[256], ep[300];
    hb_error err;
    assert_int_equal(hb_endpoint_control_default("/run/user/1000", 1000, dir, sizeof dir,
                                                 ep, sizeof ep, &err),
                     0);
    assert_string_equal(dir, "/run/user/1000/hubaod");
    assert_string_equal(ep, "ipc:///run/user/1000/hubaod/control");
}

static void test_default_without_it_is_per_user_in_tmp(void **state)
{
    (void)state;
    char dir[256], ep[300];
    hb_error err;
    /* unset, empty or relative (the XDG spec says to ignore it) */
    const char *unset[] = {NULL, "", "run/user/1000"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(hb_endpoint_control_default(unset[i], 1000, dir, sizeof dir, ep,
                                                     sizeof ep, &err),
                         0);
        assert_string_equal(dir, "/tmp/hubaod-1000");
        assert_string_equal(ep, "ipc:///tmp/hubaod-1000/control");
    }
}

static void test_default_too_long_for_a_socket(void **state)
{
    (void)state;
    char runtime[200], dir[256], ep[300];
    memset(runtime, 'x', sizeof runtime - 1);
    runtime[0] = '/';
    runtime[sizeof runtime - 1] = '\0';
    hb_error err;
    assert_int_equal(
        hb_endpoint_control_default(runtime, 0, dir, sizeof dir, ep, sizeof ep, &err),
        HB_EINVAL);
    assert_non_null(strstr(err.message, "--control"));
}

static void test_ipc_path(void **state)
{
    (void)state;
    assert_string_equal(hb_endpoint_ipc_path("ipc:///tmp/x/control"), "/tmp/x/control");
    assert_string_equal(hb_endpoint_ipc_path("ipc://rel/control"), "rel/control");
    assert_null(hb_endpoint_ipc_path("ipc://@abstract"));
    assert_null(hb_endpoint_ipc_path("tcp://127.0.0.1:7532"));
}

static void test_exposure(void **state)
{
    (void)state;
    const char *private_[] = {"ipc:///run/hubaod/control", "tcp://127.0.0.1:7532",
                              "tcp://127.8.9.10:*",        "tcp://localhost:7532",
                              "tcp://[::1]:7532",          "tcp://lo:7532",
                              "inproc://control"};
    for (size_t i = 0; i < sizeof private_ / sizeof private_[0]; i++)
        assert_null(hb_endpoint_exposure(private_[i]));
    const char *exposed[] = {"tcp://0.0.0.0:7532",
                             "tcp://*:7532",
                             "tcp://192.168.1.5:7532",
                             "tcp://[::]:7532",
                             "tcp://eth0:7532",
                             "tcp://127.0.0.1.example.com:7532",
                             "tcp://127.0.0.1;10.0.0.1:7532",
                             "ipc://@hubaod-control",
                             "ws://127.0.0.1:7532"};
    for (size_t i = 0; i < sizeof exposed / sizeof exposed[0]; i++)
        assert_non_null(hb_endpoint_exposure(exposed[i]));
    assert_non_null(strstr(hb_endpoint_exposure("tcp://0.0.0.0:7532"), "reload"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_under_xdg_runtime_dir),
        cmocka_unit_test(test_default_without_it_is_per_user_in_tmp),
        cmocka_unit_test(test_default_too_long_for_a_socket),
        cmocka_unit_test(test_ipc_path),
        cmocka_unit_test(test_exposure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
