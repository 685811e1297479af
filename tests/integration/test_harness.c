/*
 * Tests for harness/harness.c itself: the environment and fds a started
 * program sees, notifications, exit status, stopping a program that ignores
 * SIGTERM.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/harness.h"

static harness_t *h;
static char probe[512];

static int teardown(void **state)
{
    harness_free(h);
    h = NULL;
    return 0;
}

static void harness_passes_sockets_and_env_like_systemd(void **state)
{
    const char *argv[] = {"/bin/sh", "-c",
                          "echo \"pid=$$ fds=$LISTEN_FDS lpid=$LISTEN_PID names=$LISTEN_FDNAMES"
                          " wd=$WATCHDOG_USEC wpid=$WATCHDOG_PID foo=$FOO log=$LARS_LOG_STDERR"
                          " notify=$NOTIFY_SOCKET\";"
                          " for f in 3 4; do echo fd$f=$(readlink /proc/$$/fd/$f); done;"
                          " echo done; exec sleep 30",
                          NULL};
    const harness_socket_t socks[] = {{"tcp:127.0.0.1:0", "web"}, {"udp:127.0.0.1:0", NULL}};
    const char *env[] = {"FOO=bar", NULL};
    harness_opts_t o = {
        .argv = argv, .env = env, .sockets = socks, .nsockets = 2, .watchdog_usec = 3000000};
    char want[256];

    h = harness_start(&o);
    assert_non_null(h);
    assert_true(harness_port(h, 0) > 0);
    assert_true(harness_port(h, 1) > 0);
    assert_int_equal(harness_port(h, 2), -1);
    assert_true(harness_wait_log(h, "done\n", 10000));
    snprintf(want, sizeof(want),
             "pid=%d fds=2 lpid=%d names=web:unknown wd=3000000 wpid=%d foo=bar log=1 notify=%s/",
             harness_pid(h), harness_pid(h), harness_pid(h), harness_dir(h));
    if (!harness_log_contains(h, want))
        harness_dump_log(h);
    assert_true(harness_log_contains(h, want));
    assert_true(harness_log_contains(h, "fd3=socket:"));
    assert_true(harness_log_contains(h, "fd4=socket:"));
}

static void harness_without_sockets_sets_no_listen_env(void **state)
{
    const char *argv[] = {"/bin/sh", "-c", "echo \"fds=[$LISTEN_FDS] wd=[$WATCHDOG_USEC]\"", NULL};
    harness_opts_t o = {.argv = argv};
    int status;

    setenv("LISTEN_FDS", "7", 1); /* inherited values must not leak through */
    h = harness_start(&o);
    unsetenv("LISTEN_FDS");
    assert_non_null(h);
    assert_true(harness_wait_exit(h, 10000, &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(harness_log_contains(h, "fds=[] wd=[]\n"));
}

static void harness_reports_exit_status(void **state)
{
    const char *argv[] = {"/bin/sh", "-c", "echo to-stderr >&2; exit 3", NULL};
    harness_opts_t o = {.argv = argv};
    int status;

    h = harness_start(&o);
    assert_non_null(h);
    assert_true(harness_wait_exit(h, 10000, &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_true(harness_log_contains(h, "to-stderr\n"));
    assert_int_equal(harness_stop(h, 1000), status);
}

static void harness_stop_kills_a_program_ignoring_sigterm(void **state)
{
    const char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo trapped; while :; do sleep 1; done",
                          NULL};
    harness_opts_t o = {.argv = argv};
    pid_t pid;

    h = harness_start(&o);
    assert_non_null(h);
    pid = harness_pid(h);
    assert_true(harness_wait_log(h, "trapped", 10000));
    assert_int_equal(harness_stop(h, 300), -1);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    /* Its sleep is killed too (reaped by init, so allow a moment). */
    for (int i = 0; i < 500 && kill(-pid, 0) == 0; i++)
        usleep(10 * 1000);
    assert_int_equal(kill(-pid, 0), -1);
}

static void harness_records_notifications_in_order(void **state)
{
    const char *argv[] = {probe, NULL};
    harness_opts_t o = {.argv = argv};
    char buf[256];
    size_t n;
    int status;

    h = harness_start(&o);
    assert_non_null(h);
    assert_true(harness_wait_notify(h, "READY=1", 10000));
    assert_false(harness_wait_notify(h, "NOSUCH=1", 50));
    assert_int_equal(harness_count(h, "READY=1"), 1);
    assert_true(harness_wait_status(h, "reloads=0", 1000));
    assert_string_equal(harness_last_status(h, buf, sizeof(buf)), "probe reloads=0");
    n = harness_notify_count(h);
    assert_true(n >= 2);
    assert_string_equal(harness_notify_get(h, 0, buf, sizeof(buf)), "STATUS=fds=0");
    assert_string_equal(harness_notify_get(h, n - 1, buf, sizeof(buf)),
                        "READY=1\nSTATUS=probe reloads=0");
    status = harness_stop(h, 10000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(harness_wait_notify(h, "STOPPING=1", 1000));
}

static void harness_wait_ends_early_when_the_child_exits(void **state)
{
    const char *argv[] = {"/nonexistent/program", NULL};
    harness_opts_t o = {.argv = argv};
    uint64_t t0;
    int status;

    h = harness_start(&o);
    assert_non_null(h);
    t0 = harness_now_ms();
    assert_false(harness_wait_notify(h, "READY=1", 60000));
    assert_true(harness_now_ms() - t0 < 30000);
    assert_true(harness_exited(h, &status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 127);
    assert_true(harness_log_contains(h, "harness: cannot execute /nonexistent/program: errno 2\n"));
}

int main(void)
{
    const char *build = getenv("LARS_BUILD");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(harness_passes_sockets_and_env_like_systemd, teardown),
        cmocka_unit_test_teardown(harness_without_sockets_sets_no_listen_env, teardown),
        cmocka_unit_test_teardown(harness_reports_exit_status, teardown),
        cmocka_unit_test_teardown(harness_stop_kills_a_program_ignoring_sigterm, teardown),
        cmocka_unit_test_teardown(harness_records_notifications_in_order, teardown),
        cmocka_unit_test_teardown(harness_wait_ends_early_when_the_child_exits, teardown),
    };

    snprintf(probe, sizeof(probe), "%s/tests/progs/sd_probe", build ? build : "build");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
