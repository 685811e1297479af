/*
 * Tests for daemons/common/sd.c and daemon.c through a real program on the
 * shared life cycle (tests/progs/sd_probe) started by the harness: socket
 * activation by name, port and type; READY/STATUS/RELOADING/STOPPING; SIGHUP
 * reload; the watchdog withholding pings while a worker loop is stuck.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/harness.h"

static harness_t *h;
static char probe[512];
static char tmpdir[] = "/tmp/lars-test-sd-XXXXXX";
static char conf_path[300];

static void write_conf(const char *text)
{
    char tmp[320];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", conf_path);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, conf_path), 0);
}

static harness_t *start_probe(const harness_socket_t *socks, size_t n, const char *const *env,
                              uint64_t watchdog_usec)
{
    const char *argv[] = {probe, "-c", conf_path, NULL};
    harness_opts_t o = {
        .argv = argv, .env = env, .sockets = socks, .nsockets = n, .watchdog_usec = watchdog_usec};
    harness_t *r = harness_start(&o);

    assert_non_null(r);
    if (!harness_wait_notify(r, "READY=1", 30000)) {
        int status = 0;
        bool exited = harness_exited(r, &status);

        harness_dump_log(r);
        h = r; /* freed by teardown */
        fail_msg("probe did not get ready (%s, status 0x%x)", exited ? "exited" : "running",
                 status);
    }
    return r;
}

/* Index of the first datagram holding `line`, or -1. */
static int find_notify(const char *line, size_t from)
{
    char buf[1024];

    for (size_t i = from; i < harness_notify_count(h); i++) {
        harness_notify_get(h, i, buf, sizeof(buf));
        for (char *p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
            if (strcmp(p, line) == 0)
                return (int)i;
    }
    return -1;
}

static int free_port(int type)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, type, 0), port;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void sd_probe_describes_passed_sockets_by_name_type_and_port(void **state)
{
    const harness_socket_t socks[] = {
        {"tcp:127.0.0.1:0", "alpha"}, {"udp:127.0.0.1:0", "shard1"}, {"udp:127.0.0.1:0", NULL}};
    char want[256];

    h = start_probe(socks, 3, NULL, 0);
    snprintf(want, sizeof(want), "STATUS=fds=3 alpha/tcp/%d shard1/udp/%d unknown/udp/%d",
             harness_port(h, 0), harness_port(h, 1), harness_port(h, 2));
    assert_true(find_notify(want, 0) >= 0);
}

static void sd_take_finds_sockets_by_name_port_and_type(void **state)
{
    int p0 = free_port(SOCK_STREAM), p1 = free_port(SOCK_DGRAM), p2 = free_port(SOCK_DGRAM);
    char s0[64], s1[64], s2[64], take[256], want[512];
    harness_socket_t socks[3] = {{s0, "web"}, {s1, "shard0"}, {s2, "shard1"}};
    const char *env[] = {take, NULL};

    snprintf(s0, sizeof(s0), "tcp:127.0.0.1:%d", p0);
    snprintf(s1, sizeof(s1), "udp:127.0.0.1:%d", p1);
    snprintf(s2, sizeof(s2), "udp:127.0.0.1:%d", p2);
    /* shard1 by name first, then a UDP port that is not shard1's is found,
     * a taken fd is never given twice, a wrong name or type finds nothing. */
    snprintf(take, sizeof(take),
             "PROBE_TAKE=name:shard1,port:udp:%d,port:tcp:%d,port:udp:%d,name:nosuch,type:udp,"
             "type:tcp",
             p1, p1, p2);
    h = start_probe(socks, 3, env, 0);
    snprintf(want, sizeof(want),
             "STATUS=take name:shard1->5 port:udp:%d->4 port:tcp:%d->-2 port:udp:%d->-2 "
             "name:nosuch->-2 type:udp->-2 type:tcp->3 left=0",
             p1, p1, p2);
    if (find_notify(want, 0) < 0) {
        char buf[512];

        fail_msg("want %s, last status %s", want, harness_last_status(h, buf, sizeof(buf)));
    }
}

static void sd_probe_without_sockets_sees_none(void **state)
{
    h = start_probe(NULL, 0, NULL, 0);
    assert_true(find_notify("STATUS=fds=0", 0) >= 0);
}

static void sd_ready_then_stopping_and_clean_exit_on_sigterm(void **state)
{
    int ready, stopping, status;

    h = start_probe(NULL, 0, NULL, 0);
    assert_true(harness_wait_status(h, "one reloads=0", 1000));
    status = harness_stop(h, 10000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    ready = find_notify("READY=1", 0);
    stopping = find_notify("STOPPING=1", 0);
    assert_true(ready >= 0);
    assert_true(stopping > ready);
    assert_true(harness_log_contains(h, "notice: stopping\n"));
    assert_true(harness_log_contains(h, "info: stopped\n"));
}

static void sd_sighup_reloads_between_reloading_and_ready(void **state)
{
    char buf[256];
    int first_ready, reloading, second_ready;

    h = start_probe(NULL, 0, NULL, 0);
    harness_signal(h, SIGUSR2);
    assert_true(harness_wait_log(h, "info: probe info line\n", 10000));
    assert_false(harness_log_contains(h, "probe debug line"));

    write_conf("status_text = \"two\";\nlog_level = \"debug\";\n");
    assert_int_equal(harness_signal(h, SIGHUP), 0);
    assert_true(harness_wait_count(h, "READY=1", 2, 10000));
    assert_string_equal(harness_last_status(h, buf, sizeof(buf)), "two reloads=1");
    first_ready = find_notify("READY=1", 0);
    reloading = find_notify("RELOADING=1", 0);
    second_ready = find_notify("READY=1", (size_t)first_ready + 1);
    assert_true(first_ready < reloading && reloading < second_ready);
    harness_notify_get(h, (size_t)reloading, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\nMONOTONIC_USEC="));

    harness_signal(h, SIGUSR2);
    assert_true(harness_wait_log(h, "debug: probe debug line\n", 10000));
    assert_true(
        harness_wait_log(h, "warning: probe warning line  LARS_MODID=1 LARS_CMDID=2\n", 10000));
}

static void sd_sighup_with_broken_config_keeps_old_settings(void **state)
{
    char buf[256], want[400];

    h = start_probe(NULL, 0, NULL, 0);
    write_conf("status_text = \"three\";\nthreads = \"x\";\n");
    harness_signal(h, SIGHUP);
    assert_true(harness_wait_count(h, "READY=1", 2, 10000));
    assert_string_equal(harness_last_status(h, buf, sizeof(buf)), "one reloads=0");
    snprintf(want, sizeof(want),
             "error: %s:2: threads: expected an integer; keeping the previous settings\n",
             conf_path);
    assert_true(harness_wait_log(h, want, 5000));
    assert_true(harness_exited(h, NULL) == false);
}

static void sd_no_watchdog_pings_without_watchdog_usec(void **state)
{
    h = start_probe(NULL, 0, NULL, 0);
    usleep(1200 * 1000);
    assert_int_equal(harness_count(h, "WATCHDOG=1"), 0);
}

/* WATCHDOG_USEC=1 s: pings every ~333 ms while healthy; the threshold is
 * 2 s (4 x RX_LOOP_MAX_SLEEP_MS). The stuck worker sleeps 12 s, so a 2.5 s
 * window right after the probe reports the stuck loop lies well inside it. */
static void sd_watchdog_pings_stop_while_a_loop_is_stuck(void **state)
{
    unsigned before;
    uint64_t t1, t2;

    write_conf("status_text = \"one\";\nstuck_ms = 12000;\nthreads = 2;\n");
    h = start_probe(NULL, 0, NULL, 1000000);
    assert_true(harness_wait_count(h, "WATCHDOG=1", 3, 15000));

    assert_int_equal(harness_signal(h, SIGUSR1), 0);
    assert_true(harness_wait_log(h, "worker 1 stuck for 12000 ms", 10000));
    if (!harness_wait_log(h, "watchdog: loop worker-1 has not run for", 10000)) {
        harness_dump_log(h);
        fail_msg("the stuck loop was not reported");
    }
    t1 = harness_now_ms();
    usleep(2500 * 1000);
    t2 = harness_now_ms();
    assert_false(harness_log_contains(h, "worker recovered"));
    /* A ping already in flight when the check failed may land just after. */
    assert_int_equal(harness_count_between(h, "WATCHDOG=1", t1 + 400, t2), 0);
    assert_false(harness_log_contains(h, "loop worker-0"));

    before = harness_count(h, "WATCHDOG=1");
    assert_true(harness_wait_log(h, "watchdog: loop worker-1 runs again", 20000));
    assert_true(harness_wait_count(h, "WATCHDOG=1", before + 3, 10000));
    assert_true(harness_log_contains(h, "worker recovered"));
}

static int setup_group(void **state)
{
    const char *build = getenv("LARS_BUILD");

    snprintf(probe, sizeof(probe), "%s/tests/progs/sd_probe", build ? build : "build");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(conf_path, sizeof(conf_path), "%s/probe.conf", tmpdir);
    return 0;
}

static int teardown_group(void **state)
{
    char cmd[400];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    write_conf("status_text = \"one\";\n");
    return 0;
}

static int teardown(void **state)
{
    harness_free(h);
    h = NULL;
    return 0;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(sd_probe_describes_passed_sockets_by_name_type_and_port),
        T(sd_take_finds_sockets_by_name_port_and_type),
        T(sd_probe_without_sockets_sees_none),
        T(sd_ready_then_stopping_and_clean_exit_on_sigterm),
        T(sd_sighup_reloads_between_reloading_and_ready),
        T(sd_sighup_with_broken_config_keeps_old_settings),
        T(sd_no_watchdog_pings_without_watchdog_usec),
        T(sd_watchdog_pings_stop_while_a_loop_is_stuck),
    };

    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
