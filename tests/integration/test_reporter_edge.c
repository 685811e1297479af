/*
 * lars-reporter's listener against misbehaving clients (SPEC 13, network
 * edge): connections that send no report within first_frame_timeout_ms are
 * closed, connections per source address are capped, both counted in
 * STATUS and the SIGUSR1 dump. The real daemon with a private MariaDB.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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
#include "harness/mariadb.h"
#include "libreactor/reactor.h"
#include "proto/wire.h"

#define WAIT_MS 10000

static test_mariadb_t db;
static char confdir[64];

static int group_setup(void **state)
{
    snprintf(confdir, sizeof(confdir), "/tmp/test_rp_edge.XXXXXX");
    if (!mkdtemp(confdir))
        return -1;
    return test_mariadb_start(&db) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];

    test_mariadb_stop(&db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", confdir);
    return system(cmd) == 0 ? 0 : -1;
}

static harness_t *start_reporter(const char *extra)
{
    char conf[128], bin[512];
    const char *build = getenv("LARS_BUILD");
    harness_t *h;
    FILE *f;

    snprintf(conf, sizeof(conf), "%s/reporter.conf", confdir);
    f = fopen(conf, "w");
    assert_non_null(f);
    test_mariadb_conf_snippet(&db, f);
    fprintf(f, "threads = 2;\ndb_threads = 1;\n%s\n", extra);
    fclose(f);
    snprintf(bin, sizeof(bin), "%s/bin/lars-reporter", build ? build : "build");
    const char *argv[] = {bin, "-c", conf, NULL};
    const harness_socket_t socks[] = {{"tcp:127.0.0.1:0", NULL}};
    harness_opts_t o = {.argv = argv, .sockets = socks, .nsockets = 1};

    h = harness_start(&o);
    assert_non_null(h);
    if (!harness_wait_notify(h, "READY=1", WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no READY=1");
    }
    return h;
}

static int connect_from(harness_t *h, const char *src)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)harness_port(h, 0))};
    struct sockaddr_in me = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_report(int fd)
{
    wire_call_result_t r = {.ip = 167772161, .port = 9000, .succ = 1};
    uint8_t buf[RX_FRAME_HDR + 256];
    size_t n = wire_encode_report_status(buf + RX_FRAME_HDR, 4501, 1, 0, &r, 1, 0);

    rx_frame_put_header(buf, WIRE_ID_REPORT_STATUS_REQUEST, (uint32_t)n);
    assert_int_equal(send(fd, buf, RX_FRAME_HDR + n, MSG_NOSIGNAL), (ssize_t)(RX_FRAME_HDR + n));
}

/* Whether the peer closed fd within ms. */
static bool closed_within(int fd, int ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    char b[64];

    if (poll(&pfd, 1, ms) <= 0)
        return false;
    return recv(fd, b, sizeof(b), 0) <= 0;
}

static void wait_status(harness_t *h, const char *text)
{
    char buf[1024];

    if (!harness_wait_status(h, text, WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no STATUS with \"%s\"; last: %s", text, harness_last_status(h, buf, sizeof(buf)));
    }
}

static void reporter_closes_silent_clients_and_caps_sources(void **state)
{
    harness_t *h = start_reporter("first_frame_timeout_ms = 500; max_conns_per_source = 2;");
    int agent, silent, extra, other;

    agent = connect_from(h, "127.0.0.1");
    send_report(agent);
    silent = connect_from(h, "127.0.0.1");
    /* A third from 127.0.0.1 is one too many; 127.0.0.2 has room. */
    extra = connect_from(h, "127.0.0.1");
    assert_true(closed_within(extra, WAIT_MS));
    other = connect_from(h, "127.0.0.2");
    assert_true(closed_within(silent, WAIT_MS));
    assert_true(closed_within(other, WAIT_MS));
    /* The one that reported stays, well past the timeout. */
    assert_false(closed_within(agent, 1000));
    send_report(agent);
    wait_status(h, " 2 reports,");
    wait_status(h, " 1 refused per source, 2 first-frame timeouts");
    assert_int_equal(harness_signal(h, SIGUSR1), 0);
    assert_true(harness_wait_log(h, "conns_source_refused=1 conns_first_frame_closed=2", WAIT_MS));
    close(agent);
    close(silent);
    close(extra);
    close(other);
    assert_int_equal(harness_stop(h, WAIT_MS), 0);
    harness_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reporter_closes_silent_clients_and_caps_sources),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
