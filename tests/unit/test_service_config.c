/*
 * test_service_config.c - hubaod settings: defaults, flags, the config
 * file, flags over file, and errors that name the flag or file:line.
 *
 * The service's modules are not part of libhubao.a, so their sources are
 * compiled in here.
 */
#define _GNU_SOURCE /* runas.c's setresuid, before any header */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "service/config.c"
#include "service/log.c"
#include "service/runas.c"
#include "testutil.h"

static int parse(hb_service_config *cfg, hb_error *err, int argc, char **argv)
{
    hb_config_defaults(cfg);
    return hb_config_parse(cfg, argc, argv, err);
}

static void test_defaults(void **state)
{
    (void)state;
    unsetenv("HUBAO_MODELS");
    unsetenv("HUBAO_RULES");
    hb_service_config c;
    hb_error err;
    char *argv[] = {"hubaod"};
    assert_int_equal(parse(&c, &err, 1, argv), 0);
    assert_string_equal(c.bind, "tcp://127.0.0.1:7531");
    assert_string_equal(c.models, "models");
    assert_string_equal(c.rules, "models/rules");
    assert_true(c.workers >= 1);
    assert_int_equal(c.credit, 8);
    assert_int_equal(c.max_batch, 256);
    assert_false(c.worker_mode);
    assert_false(c.brief);                   /* full replies unless asked */
    assert_string_equal(c.snapshot_dir, ""); /* hubaod makes a private one */
    assert_int_equal(c.client_in_flight, c.queue / 2);
    assert_int_equal(c.client_bytes, 16L << 20);
    assert_int_equal(c.buffer_bytes, 128L << 20);
}

static void test_flags(void **state)
{
    (void)state;
    hb_service_config c;
    hb_error err;
    char *argv[] = {"hubaod", "--workers", "3",           "--queue=7", "--models",
                    "m",      "--unmask",  "--log-level", "debug",     "--brief"};
    assert_int_equal(parse(&c, &err, 10, argv), 0);
    assert_true(c.brief);
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.queue, 7);
    assert_string_equal(c.rules, "m/rules");
    assert_true(c.unmask);
    assert_int_equal(c.log_level, HB_LOG_DEBUG);
}

static void test_control_endpoint(void **state)
{
    (void)state;
    hb_service_config c;
    hb_error err;
    char *argv[] = {"hubaod"};
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(parse(&c, &err, 1, argv), 0);
    assert_string_equal(c.control, "ipc:///run/user/1000/hubaod/control");
    assert_string_equal(c.control_dir, "/run/user/1000/hubaod"); /* made private */
    unsetenv("XDG_RUNTIME_DIR");
    assert_int_equal(parse(&c, &err, 1, argv), 0);
    char want[64];
    snprintf(want, sizeof want, "ipc:///tmp/hubaod-%lu/control",
             (unsigned long)geteuid());
    assert_string_equal(c.control, want);
    char *named[] = {"hubaod", "--control", "tcp://127.0.0.1:7532"};
    assert_int_equal(parse(&c, &err, 3, named), 0);
    assert_string_equal(c.control, "tcp://127.0.0.1:7532");
    assert_string_equal(c.control_dir, ""); /* the operator's endpoint */
}

static void test_bad_flags_are_named(void **state)
{
    (void)state;
    hb_service_config c;
    hb_error err;
    char *a1[] = {"hubaod", "--queue", "lots"};
    assert_int_equal(parse(&c, &err, 3, a1), HB_EINVAL);
    assert_non_null(strstr(err.message, "queue"));
    char *a2[] = {"hubaod", "--credit", "0"};
    assert_int_equal(parse(&c, &err, 3, a2), HB_EINVAL);
    char *a3[] = {"hubaod", "--frobnicate"};
    assert_int_equal(parse(&c, &err, 2, a3), HB_EINVAL);
    assert_non_null(strstr(err.message, "frobnicate"));
    char *a4[] = {"hubaod", "--worker"};
    assert_int_equal(parse(&c, &err, 2, a4), HB_EINVAL);
    assert_non_null(strstr(err.message, "--connect"));
    char *a5[] = {"hubaod", "--bind"};
    assert_int_equal(parse(&c, &err, 2, a5), HB_EINVAL);
    char *a6[] = {"hubaod", "--client-bytes", "1000"}; /* under --max-request-bytes */
    assert_int_equal(parse(&c, &err, 3, a6), HB_EINVAL);
    assert_non_null(strstr(err.message, "max-request-bytes"));
    char *a7[] = {"hubaod", "--buffer-bytes", "2000000"}; /* under --client-bytes */
    assert_int_equal(parse(&c, &err, 3, a7), HB_EINVAL);
    char *a8[] = {"hubaod", "--queue", "10", "--client-in-flight", "3"};
    assert_int_equal(parse(&c, &err, 5, a8), 0);
    assert_int_equal(c.client_in_flight, 3);
}

static void test_file_then_flags(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/hubaod.conf", tu_tmpdir("service_config"));
    const char *text =
        "# comment\n\nqueue = 9\nworkers 2\n  deadline-ms=150  \nunmask = 1\n";
    tu_write_file(path, text, strlen(text));
    hb_service_config c;
    hb_error err;
    char *argv[] = {"hubaod", "--workers", "5", "--config", path};
    assert_int_equal(parse(&c, &err, 5, argv), 0);
    assert_int_equal(c.queue, 9);
    assert_int_equal(c.workers, 5); /* the flag wins, wherever it is */
    assert_int_equal(c.deadline_ms, 150);
    assert_true(c.unmask);

    const char *snap = "snapshot-dir = /var/lib/hubao/snapshot\n";
    tu_write_file(path, snap, strlen(snap));
    assert_int_equal(parse(&c, &err, 5, argv), 0);
    assert_string_equal(c.snapshot_dir, "/var/lib/hubao/snapshot");
    const char *control = "control = ipc:///run/hubaod/control\n";
    tu_write_file(path, control, strlen(control));
    assert_int_equal(parse(&c, &err, 5, argv), 0);
    assert_string_equal(c.control, "ipc:///run/hubaod/control");
    assert_string_equal(c.control_dir, "");
    const char *internal = "snapshot = 1\n"; /* a role, never a setting */
    tu_write_file(path, internal, strlen(internal));
    assert_int_equal(parse(&c, &err, 5, argv), HB_EINVAL);

    const char *bad = "queue = 9\nspeed = fast\n";
    tu_write_file(path, bad, strlen(bad));
    assert_int_equal(parse(&c, &err, 5, argv), HB_EINVAL);
    assert_non_null(strstr(err.message, "hubaod.conf:2"));
    char *missing[] = {"hubaod", "--config", "/nonexistent/hubaod.conf"};
    assert_int_equal(parse(&c, &err, 3, missing), HB_EIO);
}

/* --user: looked up at once (an unknown name is an error naming it); as
 * root, another user is switched to and the default control endpoint is
 * that user's, whatever root's XDG_RUNTIME_DIR says. */
static void test_user(void **state)
{
    (void)state;
    hb_service_config c;
    hb_error err;
    char *unknown[] = {"hubaod", "--user", "hubao-no-such-user"};
    assert_int_equal(parse(&c, &err, 3, unknown), HB_ENOTFOUND);
    assert_non_null(strstr(err.message, "hubao-no-such-user"));
    char *none[] = {"hubaod"};
    assert_int_equal(parse(&c, &err, 1, none), 0);
    assert_false(c.runas.switching);
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        skip();
    uid_t nobody = pw->pw_uid;
    char *other[] = {"hubaod", "--user", "nobody"};
    if (geteuid() == nobody) {
        assert_int_equal(parse(&c, &err, 3, other), 0); /* naming yourself */
        assert_false(c.runas.switching);
        return;
    }
    if (geteuid() != 0) {
        assert_int_equal(parse(&c, &err, 3, other), HB_EINVAL);
        assert_non_null(strstr(err.message, "only root"));
        return;
    }
    setenv("XDG_RUNTIME_DIR", "/run/user/0", 1);
    assert_int_equal(parse(&c, &err, 3, other), 0);
    assert_true(c.runas.switching);
    assert_int_equal(c.runas.uid, nobody);
    char want[64];
    snprintf(want, sizeof want, "ipc:///tmp/hubaod-%lu/control", (unsigned long)nobody);
    assert_string_equal(c.control, want);
    char path[1100];
    snprintf(path, sizeof path, "%s/user.conf", tu_tmpdir("service_config_user"));
    tu_write_file(path, "user = nobody\n", 14);
    char *file[] = {"hubaod", "--config", path};
    assert_int_equal(parse(&c, &err, 3, file), 0);
    assert_true(c.runas.switching);
    char *self[] = {"hubaod", "--user", "root"};
    assert_int_equal(parse(&c, &err, 3, self), 0);
    assert_false(c.runas.switching);
    assert_string_equal(c.control, "ipc:///run/user/0/hubaod/control");
    unsetenv("XDG_RUNTIME_DIR");
}

static void test_curve_settings(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/hubaod.conf", tu_tmpdir("service_config_curve"));
    const char *text = "backend = tcp://0.0.0.0:7532\n"
                       "curve-secret-key = /etc/hubao/broker.key\n"
                       "curve-clients = /etc/hubao/clients\n"
                       "curve-workers = /etc/hubao/workers\n";
    tu_write_file(path, text, strlen(text));
    hb_service_config c;
    hb_error err;
    char *file[] = {"hubaod", "--config", path};
    assert_int_equal(parse(&c, &err, 3, file), 0);
    assert_string_equal(c.curve_secret_key, "/etc/hubao/broker.key");
    assert_string_equal(c.curve_clients, "/etc/hubao/clients");
    assert_string_equal(c.curve_workers, "/etc/hubao/workers");
    char *none[] = {"hubaod"};
    assert_int_equal(parse(&c, &err, 1, none), 0);
    assert_string_equal(c.curve_secret_key, ""); /* keyless by default */
    char *worker[] = {
        "hubaod", "--worker",           "--connect", "tcp://b:7532", "--curve-server-key",
        "b.pub",  "--curve-secret-key", "w.key"};
    assert_int_equal(parse(&c, &err, 8, worker), 0);
    assert_string_equal(c.curve_server_key, "b.pub");
    assert_string_equal(c.curve_secret_key, "w.key");
}

static void test_curve_settings_that_do_not_fit(void **state)
{
    (void)state;
    hb_service_config c;
    hb_error err;
    /* keys let in, but no key pair to serve with */
    char *a1[] = {"hubaod", "--curve-clients", "dir"};
    assert_int_equal(parse(&c, &err, 3, a1), HB_EINVAL);
    assert_non_null(strstr(err.message, "need --curve-secret-key"));
    /* a key pair, but no list of keys: CURVE would let in anyone */
    char *a2[] = {"hubaod", "--curve-secret-key", "b.key"};
    assert_int_equal(parse(&c, &err, 3, a2), HB_EINVAL);
    assert_non_null(strstr(err.message, "would let in any key"));
    /* workers' keys with no endpoint for remote workers */
    char *a3[] = {"hubaod", "--curve-secret-key", "b.key", "--curve-workers", "dir"};
    assert_int_equal(parse(&c, &err, 5, a3), HB_EINVAL);
    assert_non_null(strstr(err.message, "--backend"));
    char *a4[] = {"hubaod", "--curve-server-key", "b.pub"};
    assert_int_equal(parse(&c, &err, 3, a4), HB_EINVAL);
    assert_non_null(strstr(err.message, "is for --worker"));
    char *a5[] = {"hubaod",       "--worker",           "--connect",
                  "tcp://b:7532", "--curve-server-key", "b.pub"};
    assert_int_equal(parse(&c, &err, 6, a5), HB_EINVAL);
    assert_non_null(strstr(err.message, "needs both"));
    char *a6[] = {"hubaod",       "--worker",        "--connect",
                  "tcp://b:7532", "--curve-clients", "dir"};
    assert_int_equal(parse(&c, &err, 6, a6), HB_EINVAL);
    assert_non_null(strstr(err.message, "are the broker's"));
}

int main(void)
{
    hb_log_init(HB_LOG_ERROR, "test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_control_endpoint),
        cmocka_unit_test(test_bad_flags_are_named),
        cmocka_unit_test(test_file_then_flags),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_curve_settings_that_do_not_fit),
        cmocka_unit_test(test_curve_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
