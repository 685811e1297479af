/*
 * Integration tests of lars-reporter: the real daemon, socket-activated
 * through the harness, against a private MariaDB (one per test program),
 * fed ReportStatusRequest frames over TCP.
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
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "libreactor/reactor.h"
#include "proto/lars.pb-c.h"
#include "harness/harness.h"
#include "harness/mariadb.h"

#define EVENTUALLY_MS 20000

static test_mariadb_t db;
static char confdir[64];
static harness_t *h;

typedef struct host_result {
    int32_t ip, port;
    uint32_t succ, err;
    bool overload;
} host_result_t;

/* ------------------------------------------------------------ helpers -- */

static void write_conf(const char *path, const char *extra)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    test_mariadb_conf_snippet(&db, f);
    fprintf(f, "log_level = \"info\";\nthreads = 2;\ndb_threads = 3;\n%s\n", extra ? extra : "");
    fclose(f);
}

static void start_reporter(const char *extra)
{
    char conf[128], bin[512];
    const char *build = getenv("LARS_BUILD");

    snprintf(conf, sizeof(conf), "%s/reporter.conf", confdir);
    write_conf(conf, extra);
    snprintf(bin, sizeof(bin), "%s/bin/lars-reporter", build ? build : "build");
    const char *argv[] = {bin, "-c", conf, NULL};
    const harness_socket_t socks[] = {{"tcp:127.0.0.1:0", NULL}};
    /* With a watchdog, as systemd runs it (WatchdogSec=): pings every ~1 s. */
    harness_opts_t o = {.argv = argv, .sockets = socks, .nsockets = 1, .watchdog_usec = 3000000};

    h = harness_start(&o);
    assert_non_null(h);
    if (!harness_wait_notify(h, "READY=1", EVENTUALLY_MS))
        harness_dump_log(h);
    assert_true(harness_count(h, "READY=1") >= 1);
}

static int connect_reporter(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(harness_port(h, 0))};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t w = write(fd, b, n);
        assert_true(w > 0);
        b += w;
        n -= (size_t)w;
    }
}

static void send_frame(int fd, int32_t msgid, const void *body, uint32_t len)
{
    uint8_t hdr[RX_FRAME_HDR];

    rx_frame_put_header(hdr, msgid, len);
    send_all(fd, hdr, sizeof(hdr));
    if (len)
        send_all(fd, body, len);
}

static void send_report(int fd, int32_t modid, int32_t cmdid, int32_t caller, uint32_t ts,
                        const host_result_t *res, size_t n)
{
    Lars__ReportStatusRequest req = LARS__REPORT_STATUS_REQUEST__INIT;
    Lars__HostCallResult *ptrs[64], items[64];
    uint8_t buf[4096];

    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        lars__host_call_result__init(&items[i]);
        items[i].ip = res[i].ip;
        items[i].port = res[i].port;
        items[i].succ = res[i].succ;
        items[i].err = res[i].err;
        items[i].overload = res[i].overload;
        ptrs[i] = &items[i];
    }
    req.modid = modid;
    req.cmdid = cmdid;
    req.caller = caller;
    req.ts = ts;
    req.n_results = n;
    req.results = ptrs;
    size_t len = lars__report_status_request__get_packed_size(&req);
    assert_true(len <= sizeof(buf));
    lars__report_status_request__pack(&req, buf);
    send_frame(fd, LARS__MESSAGE_ID__ID_ReportStatusRequest, buf, (uint32_t)len);
}

static uint64_t row_count(const char *where)
{
    uint64_t n = 0;

    assert_int_equal(test_mariadb_query_u64(&db, &n, "SELECT COUNT(*) FROM ServerCallStatus%s%s",
                                            where ? " WHERE " : "", where ? where : ""),
                     0);
    return n;
}

static bool wait_rows(const char *where, uint64_t want, int timeout_ms)
{
    uint64_t until = harness_now_ms() + (uint64_t)timeout_ms;

    do {
        if (row_count(where) == want)
            return true;
        usleep(50 * 1000);
    } while (harness_now_ms() < until);
    return false;
}

static void stop_reporter_cleanly(void)
{
    int status = harness_stop(h, 15000);

    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        harness_dump_log(h);
    assert_true(status != -1 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* -------------------------------------------------------------- setup -- */

static int group_setup(void **state)
{
    strcpy(confdir, "/tmp/lars-reporter-test-XXXXXX");
    if (!mkdtemp(confdir))
        return -1;
    return test_mariadb_start(&db) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    char path[128];

    test_mariadb_stop(&db);
    snprintf(path, sizeof(path), "%s/reporter.conf", confdir);
    unlink(path);
    rmdir(confdir);
    return 0;
}

static int setup(void **state)
{
    if (!db.pid && test_mariadb_restart(&db) < 0)
        return -1;
    return test_mariadb_exec(&db, "DELETE FROM ServerCallStatus") < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    harness_free(h);
    h = NULL;
    return 0;
}

/* -------------------------------------------------------------- tests -- */

static void reporter_rows_land_with_values_and_overload_flag(void **state)
{
    const int32_t ip1 = (int32_t)3232235953u; /* 192.168.1.177: negative on the wire */
    host_result_t res[2] = {{ip1, 8080, 120, 3, true}, {167772161, 9090, 50, 0, false}};
    host_result_t res2[1] = {{167772162, 7070, 1, 1, false}};
    char s[64];
    uint64_t v;

    start_reporter(NULL);
    int fd = connect_reporter();
    send_report(fd, 11, 22, (int32_t)3232235777u, 1700000000, res, 2);
    uint64_t before = (uint64_t)time(NULL);
    send_report(fd, 11, 23, 5, 0, res2, 1); /* no ts: receive time */

    assert_true(wait_rows(NULL, 3, EVENTUALLY_MS));
    uint64_t after = (uint64_t)time(NULL);
    assert_int_equal(row_count("modid=11 AND cmdid=22 AND ip=INET_ATON('192.168.1.177') AND "
                               "port=8080 AND caller=INET_ATON('192.168.1.1') AND succ_cnt=120 "
                               "AND err_cnt=3 AND ts=1700000000"),
                     1);
    assert_int_equal(
        test_mariadb_query_str(&db, s, sizeof(s),
                               "SELECT overload FROM ServerCallStatus WHERE port=8080"),
        0);
    assert_string_equal(s, "1");
    assert_int_equal(
        test_mariadb_query_str(&db, s, sizeof(s),
                               "SELECT overload FROM ServerCallStatus WHERE port=9090"),
        0);
    assert_string_equal(s, "0");
    assert_int_equal(row_count("port=9090 AND ip=167772161 AND succ_cnt=50 AND err_cnt=0"), 1);
    assert_int_equal(
        test_mariadb_query_u64(&db, &v, "SELECT ts FROM ServerCallStatus WHERE cmdid=23"), 0);
    assert_true(v >= before && v <= after);
    close(fd);
    stop_reporter_cleanly();
}

static void reporter_same_key_keeps_newest_snapshot(void **state)
{
    start_reporter(NULL);
    int fd = connect_reporter();
    for (uint32_t i = 1; i <= 50; i++) {
        host_result_t r = {1, 80, i, 100 - i, i % 2 == 0};
        send_report(fd, 5, 6, 7, 1000 + i, &r, 1);
    }
    assert_true(
        wait_rows("succ_cnt=50 AND err_cnt=50 AND ts=1050 AND overload='1'", 1, EVENTUALLY_MS));
    /* Later reports of the same key keep winning. */
    host_result_t last = {1, 80, 51, 49, false};
    send_report(fd, 5, 6, 7, 1051, &last, 1);
    assert_true(wait_rows("succ_cnt=51 AND ts=1051 AND overload='0'", 1, EVENTUALLY_MS));
    assert_int_equal(row_count(NULL), 1);
    close(fd);
    stop_reporter_cleanly();
}

static void reporter_mariadb_outage_loses_no_key(void **state)
{
    enum { KEYS = 300, ROUNDS = 20 };
    host_result_t res[30];
    char where[128];

    start_reporter(NULL);
    int fd = connect_reporter();
    assert_int_equal(test_mariadb_kill(&db), 0);
    assert_true(harness_wait_status(h, "DB down", EVENTUALLY_MS));

    /* About 10 s of reports while MariaDB is down: 20 rounds, 500 ms apart. */
    for (uint32_t round = 1; round <= ROUNDS; round++) {
        for (int32_t pair = 0; pair < KEYS / 30; pair++) {
            for (int i = 0; i < 30; i++)
                res[i] = (host_result_t){i, 1000 + i, round, round * 2, round % 2};
            send_report(fd, 100 + pair, 1, 42, round, res, 30);
        }
        usleep(500 * 1000);
    }
    assert_int_equal(test_mariadb_restart(&db), 0);

    snprintf(where, sizeof(where), "succ_cnt=%d AND err_cnt=%d AND ts=%d AND overload='0'", ROUNDS,
             ROUNDS * 2, ROUNDS);
    if (!wait_rows(where, KEYS, 60000))
        harness_dump_log(h);
    assert_int_equal(row_count(NULL), KEYS);
    assert_int_equal(row_count(where), KEYS);
    assert_true(harness_wait_status(h, "DB up", EVENTUALLY_MS));
    assert_true(harness_wait_status(h, " 0 dropped", EVENTUALLY_MS));
    close(fd);
    stop_reporter_cleanly();
}

static void reporter_sigterm_flushes_what_was_sent(void **state)
{
    enum { PAIRS = 40, PER = 25 };
    host_result_t res[PER];

    /* Nothing would be flushed for a minute: only the stop path writes. The
     * reporter is frozen while the reports travel, so they are still unread
     * in its socket when SIGTERM arrives. */
    start_reporter("batch_rows = 100000;\nbatch_ms = 60000;");
    int fd = connect_reporter();
    assert_int_equal(kill(harness_pid(h), SIGSTOP), 0);
    for (int32_t pair = 0; pair < PAIRS; pair++) {
        for (int i = 0; i < PER; i++)
            res[i] = (host_result_t){i, 80, (uint32_t)pair, 1, false};
        send_report(fd, pair, 9, 1, 77, res, PER);
    }
    /* write() returning does not mean the bytes reached the reporter's
     * socket (loopback delivery may be deferred under load); once the peer
     * kernel acknowledged all of them, our send queue is empty. */
    for (int i = 0; i < 500; i++) {
        int unacked = -1;
        assert_int_equal(ioctl(fd, SIOCOUTQ, &unacked), 0);
        if (unacked == 0)
            break;
        usleep(10 * 1000);
    }
    assert_int_equal(harness_signal(h, SIGTERM), 0);
    assert_int_equal(kill(harness_pid(h), SIGCONT), 0);
    assert_true(harness_wait_notify(h, "STOPPING=1", EVENTUALLY_MS));
    stop_reporter_cleanly();
    if (row_count(NULL) != PAIRS * PER)
        harness_dump_log(h);
    assert_int_equal(row_count(NULL), PAIRS * PER);
    assert_int_equal(row_count("ts=77 AND err_cnt=1 AND succ_cnt=modid"), PAIRS * PER);
    close(fd);
}

static bool peer_closed(int fd)
{
    struct timeval tv = {.tv_sec = 10};
    char c;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return read(fd, &c, 1) == 0;
}

static void reporter_counts_malformed_input_and_keeps_serving(void **state)
{
    const uint8_t garbage[] = {0x22, 0x7f, 0x01}; /* result longer than the body */
    uint8_t neg[RX_FRAME_HDR];
    host_result_t ok = {9, 9, 9, 9, true};

    start_reporter(NULL);
    int bad_body = connect_reporter();
    send_frame(bad_body, LARS__MESSAGE_ID__ID_ReportStatusRequest, garbage, sizeof(garbage));
    send_frame(bad_body, 99, "xyz", 3); /* unknown msgid */

    int bad_frame = connect_reporter();
    rx_frame_put_header(neg, LARS__MESSAGE_ID__ID_ReportStatusRequest, (uint32_t)-5);
    send_all(bad_frame, neg, sizeof(neg));
    assert_true(peer_closed(bad_frame));
    close(bad_frame);

    int huge = connect_reporter();
    rx_frame_put_header(neg, LARS__MESSAGE_ID__ID_ReportStatusRequest, 1u << 30);
    send_all(huge, neg, sizeof(neg));
    assert_true(peer_closed(huge));
    close(huge);

    /* The connection with the bad body stays usable, and so do new ones. */
    send_report(bad_body, 3, 4, 5, 6, &ok, 1);
    int good = connect_reporter();
    host_result_t ok2 = {10, 10, 10, 10, false};
    send_report(good, 3, 5, 5, 6, &ok2, 1);
    assert_true(wait_rows("modid=3", 2, EVENTUALLY_MS));

    assert_true(
        harness_wait_status(h, " 2 bad frames, 1 bad bodies, 1 unknown msgids", EVENTUALLY_MS));
    close(bad_body);
    close(good);
    stop_reporter_cleanly();
}

static void reporter_notifies_status_reload_and_counters(void **state)
{
    char status[1024];

    start_reporter(NULL);
    if (!harness_wait_count(h, "WATCHDOG=1", 2, EVENTUALLY_MS)) {
        harness_dump_log(h);
        fail_msg("no WATCHDOG=1 pings");
    }
    assert_true(harness_wait_status(h, "rows/s", EVENTUALLY_MS));
    harness_last_status(h, status, sizeof(status));
    assert_non_null(strstr(status, "pending"));
    assert_non_null(strstr(status, "dropped"));
    assert_true(harness_wait_status(h, "DB up (3/3 writers connected)", EVENTUALLY_MS));

    assert_int_equal(harness_signal(h, SIGHUP), 0);
    assert_true(harness_wait_notify(h, "RELOADING=1", EVENTUALLY_MS));
    assert_true(harness_wait_count(h, "READY=1", 2, EVENTUALLY_MS));
    assert_true(harness_wait_log(h, "configuration reloaded", EVENTUALLY_MS));

    assert_int_equal(harness_signal(h, SIGUSR1), 0);
    assert_true(harness_wait_log(h, "writer 2: connected", EVENTUALLY_MS));
    assert_true(harness_wait_log(h, "network: reports=0", EVENTUALLY_MS));
    stop_reporter_cleanly();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reporter_notifies_status_reload_and_counters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reporter_rows_land_with_values_and_overload_flag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reporter_same_key_keeps_newest_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(reporter_counts_malformed_input_and_keeps_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reporter_sigterm_flushes_what_was_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(reporter_mariadb_outage_loses_no_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
