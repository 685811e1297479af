/*
 * Integration tests of lars-dns: a private MariaDB on loopback, the real
 * daemon started through the harness with a socket passed as systemd would
 * (LISTEN_FDS) and a private NOTIFY_SOCKET, and blocking protocol clients.
 * Route changes are written the way larsctl writes them: RouteData,
 * RouteChange and the RouteVersion bump in one transaction. Every test uses
 * its own modids, so they share one database.
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

#include "libreactor/reactor.h"
#include "harness/harness.h"
#include "harness/mariadb.h"
#include "harness/dns_client.h"

#define WAIT_MS 10000
/* version_poll_ms in the tests' config */
#define POLL_MS      100
#define PUSH_WAIT_MS (POLL_MS + 4900)

static test_mariadb_t db;
static char confdir[64];

static int group_setup(void **state)
{
    snprintf(confdir, sizeof(confdir), "/tmp/test_dns.XXXXXX");
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

/* conf: extra settings; with_db false: a db group pointing at a closed port */
static harness_t *start_dns(const char *name, const char *conf, bool with_db,
                            uint64_t watchdog_usec)
{
    static char path[256], bin[256];
    const char *build = getenv("LARS_BUILD");
    FILE *f;
    harness_t *h;

    snprintf(path, sizeof(path), "%s/%s.conf", confdir, name);
    snprintf(bin, sizeof(bin), "%s/bin/lars-dns", build ? build : "build");
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "threads = 2;\nversion_poll_ms = %d;\n%s\n%s\n", POLL_MS,
            conf && strstr(conf, "reload_interval_s") ? "" : "reload_interval_s = 3600;",
            conf ? conf : "");
    if (with_db)
        test_mariadb_conf_snippet(&db, f);
    else
        fprintf(f, "db = { host = \"127.0.0.1\"; port = 1; };\n");
    fclose(f);

    const char *argv[] = {bin, "-c", path, NULL};
    const harness_socket_t sock = {"tcp:127.0.0.1:0", NULL};
    harness_opts_t o = {
        .argv = argv, .sockets = &sock, .nsockets = 1, .watchdog_usec = watchdog_usec};
    h = harness_start(&o);
    assert_non_null(h);
    if (!harness_wait_notify(h, "READY=1", WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("%s: no READY=1", name);
    }
    return h;
}

static void stop_dns(harness_t *h)
{
    int status = harness_stop(h, WAIT_MS);

    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        harness_dump_log(h);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(harness_wait_notify(h, "STOPPING=1", WAIT_MS));
    harness_free(h);
}

static void wait_status(harness_t *h, const char *text)
{
    char buf[1024];

    if (!harness_wait_status(h, text, WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no STATUS with \"%s\"; last: %s", text, harness_last_status(h, buf, sizeof(buf)));
    }
}

static void route_change(const char *what, int32_t modid, int32_t cmdid, uint32_t ip, int port)
{
    const char *bump = "UPDATE RouteVersion SET version = GREATEST(version + 1, UNIX_TIMESTAMP()) "
                       "WHERE id = 1";
    int err;

    if (strcmp(what, "add") == 0)
        err = test_mariadb_exec(&db,
                                "START TRANSACTION; INSERT INTO RouteData (modid, cmdid, serverip,"
                                " serverport) VALUES (%d, %d, %u, %d); %s; INSERT INTO RouteChange"
                                " (modid, cmdid, version) SELECT %d, %d, version FROM RouteVersion"
                                " WHERE id = 1; COMMIT",
                                modid, cmdid, ip, port, bump, modid, cmdid);
    else
        err = test_mariadb_exec(&db,
                                "START TRANSACTION; DELETE FROM RouteData WHERE modid = %d AND"
                                " cmdid = %d AND serverip = %u AND serverport = %d; %s; INSERT INTO"
                                " RouteChange (modid, cmdid, version) SELECT %d, %d, version FROM"
                                " RouteVersion WHERE id = 1; COMMIT",
                                modid, cmdid, ip, port, bump, modid, cmdid);
    assert_int_equal(err, 0);
}

static int connect_to(harness_t *h)
{
    int fd = dns_client_connect(harness_port(h, 0));

    assert_true(fd >= 0);
    return fd;
}

static void expect_route(int fd, int32_t modid, int32_t cmdid, size_t nhosts, int timeout_ms,
                         dns_route_t *ret)
{
    dns_route_t r;

    assert_int_equal(dns_client_recv_route(fd, timeout_ms, &r), 0);
    assert_int_equal(r.modid, modid);
    assert_int_equal(r.cmdid, cmdid);
    assert_int_equal(r.n, nhosts);
    if (ret)
        *ret = r;
}

static void ask(int fd, int32_t modid, int32_t cmdid, size_t nhosts, dns_route_t *ret)
{
    assert_int_equal(dns_client_get_route(fd, modid, cmdid), 0);
    expect_route(fd, modid, cmdid, nhosts, WAIT_MS, ret);
}

static void dns_answers_known_and_unknown_pairs(void **state)
{
    harness_t *h;
    dns_route_t r;
    uint64_t old = 1, recent = 0;
    int fd;

    route_change("add", 1001, 1, 3232235953u, 8080); /* 192.168.1.177 */
    route_change("add", 1001, 1, 167772161u, 9090);  /* 10.0.0.1 */
    /* a change older than change_retention_s (default one day) */
    assert_int_equal(test_mariadb_exec(&db, "INSERT INTO RouteChange (modid, cmdid, version) "
                                            "VALUES (1001, 9, UNIX_TIMESTAMP() - 200000)"),
                     0);
    h = start_dns("known", NULL, true, 0);
    wait_status(h, "DB up");
    fd = connect_to(h);
    ask(fd, 1001, 1, 2, &r);
    /* sorted by the unsigned address: 10.0.0.1 first */
    assert_int_equal(r.ip[0], 167772161);
    assert_int_equal(r.port[0], 9090);
    assert_int_equal(r.ip[1], (int32_t)3232235953u);
    assert_int_equal(r.port[1], 8080);
    ask(fd, 1001, 2, 0, NULL);
    /* msglen 0: modid 0, cmdid 0 */
    assert_int_equal(dns_client_send_frame(fd, WIRE_ID_GET_ROUTE_REQUEST, 0, NULL, 0), 0);
    expect_route(fd, 0, 0, 0, WAIT_MS, NULL);
    close(fd);
    /* pruned at the first DB step, which came before READY */
    assert_int_equal(
        test_mariadb_query_u64(&db, &old, "SELECT COUNT(*) FROM RouteChange WHERE cmdid = 9"), 0);
    assert_int_equal(old, 0);
    assert_int_equal(
        test_mariadb_query_u64(&db, &recent, "SELECT COUNT(*) FROM RouteChange WHERE modid = 1001"),
        0);
    assert_int_equal(recent, 2);
    stop_dns(h);
}

static void dns_pushes_added_and_deleted_routes_to_subscribers(void **state)
{
    harness_t *h = start_dns("push", NULL, true, 0);
    int a, b;
    dns_route_t r;

    wait_status(h, "DB up");
    a = connect_to(h);
    b = connect_to(h);
    ask(a, 1002, 1, 0, NULL);
    ask(b, 1002, 2, 0, NULL);

    route_change("add", 1002, 1, 167772162u, 7000);
    expect_route(a, 1002, 1, 1, PUSH_WAIT_MS, &r);
    assert_int_equal(r.ip[0], 167772162);
    assert_int_equal(r.port[0], 7000);

    /* b is subscribed to 1002/2 only: its next frame is that pair's */
    route_change("add", 1002, 2, 167772163u, 7001);
    expect_route(b, 1002, 2, 1, PUSH_WAIT_MS, NULL);

    route_change("del", 1002, 1, 167772162u, 7000);
    expect_route(a, 1002, 1, 0, PUSH_WAIT_MS, NULL);
    wait_status(h, "pushes 3");
    close(a);
    close(b);
    stop_dns(h);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* `larsctl -c CONF route ADD_OR_DEL MODID CMDID IP PORT` must succeed. */
static void larsctl_route(const char *conf, const char *what, int32_t modid, int32_t cmdid,
                          const char *ip, int port)
{
    const char *build = getenv("LARS_BUILD");
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "%s/bin/larsctl -c %s route %s %d %d %s %d >/dev/null",
             build ? build : "build", conf, what, modid, cmdid, ip, port);
    assert_int_equal(system(cmd), 0);
}

/* The operator's path: every larsctl commit reaches the subscriber as a
 * push. The bound, version_poll_ms + 500 ms, is checked on the
 * median of the changes (one stall of a shared machine does not fail it);
 * each single push has the usual generous limit. */
static void dns_pushes_larsctl_changes_within_poll_interval_plus_500ms(void **state)
{
    enum { CHANGES = 6 };
    harness_t *h = start_dns("larsctl", NULL, true, 0);
    char conf[256], ip[32];
    uint64_t lat[CHANGES];
    dns_route_t r;
    FILE *f;
    int fd;

    snprintf(conf, sizeof(conf), "%s/larsctl.conf", confdir);
    f = fopen(conf, "w");
    assert_non_null(f);
    test_mariadb_conf_snippet(&db, f);
    fclose(f);
    wait_status(h, "DB up");
    fd = connect_to(h);
    ask(fd, 1010, 1, 0, NULL);
    for (int i = 0; i < CHANGES; i++) {
        bool add = i % 2 == 0;
        uint64_t t0 = rx_time_ms();

        snprintf(ip, sizeof(ip), "10.1.0.%d", 1 + i / 2);
        larsctl_route(conf, add ? "add" : "del", 1010, 1, ip, 7000);
        expect_route(fd, 1010, 1, add ? 1 : 0, PUSH_WAIT_MS, &r);
        lat[i] = rx_time_ms() - t0;
        if (add)
            assert_int_equal(r.ip[0], (int32_t)(0x0A010000u + 1 + (unsigned)i / 2));
    }
    qsort(lat, CHANGES, sizeof(lat[0]), cmp_u64);
    printf("# larsctl commit to push: median %llu ms, max %llu ms (version_poll_ms %d)\n",
           (unsigned long long)lat[CHANGES / 2], (unsigned long long)lat[CHANGES - 1], POLL_MS);
    assert_true(lat[CHANGES / 2] <= POLL_MS + 500);
    close(fd);
    stop_dns(h);
}

static void dns_two_instances_on_one_database_both_push(void **state)
{
    harness_t *h1 = start_dns("two1", NULL, true, 0);
    harness_t *h2 = start_dns("two2", NULL, true, 0);
    int a, b;

    wait_status(h1, "DB up");
    wait_status(h2, "DB up");
    a = connect_to(h1);
    b = connect_to(h2);
    ask(a, 1003, 1, 0, NULL);
    ask(b, 1003, 1, 0, NULL);
    route_change("add", 1003, 1, 167772164u, 7002);
    expect_route(a, 1003, 1, 1, PUSH_WAIT_MS, NULL);
    expect_route(b, 1003, 1, 1, PUSH_WAIT_MS, NULL);
    close(a);
    close(b);
    stop_dns(h1);
    stop_dns(h2);
}

static void dns_counts_bad_input_and_keeps_serving_others(void **state)
{
    const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    harness_t *h;
    int good, neg, bad_body, unknown, extra[4];

    route_change("add", 1004, 1, 167772165u, 7003);
    h = start_dns("bad", "max_conns = 4;", true, 0);
    wait_status(h, "DB up");
    good = connect_to(h);
    ask(good, 1004, 1, 1, NULL);

    neg = connect_to(h);
    assert_int_equal(dns_client_send_frame(neg, WIRE_ID_GET_ROUTE_REQUEST, -1, NULL, 0), 0);
    assert_true(dns_client_wait_closed(neg, WAIT_MS));
    close(neg);

    bad_body = connect_to(h);
    assert_int_equal(dns_client_send_frame(bad_body, WIRE_ID_GET_ROUTE_REQUEST, sizeof(garbage),
                                           garbage, sizeof(garbage)),
                     0);
    assert_true(dns_client_wait_closed(bad_body, WAIT_MS));
    close(bad_body);

    unknown = connect_to(h);
    assert_int_equal(dns_client_send_frame(unknown, 99, 3, "abc", 3), 0);
    ask(unknown, 1004, 1, 1, NULL); /* still open and served */

    wait_status(h, "bad frames 1, bad bodies 1, unknown msgids 1");
    wait_status(h, "2 conns");
    /* good + unknown + 2 = max_conns: the next two are accepted and closed */
    for (int i = 0; i < 4; i++)
        extra[i] = connect_to(h);
    ask(extra[0], 1004, 1, 1, NULL);
    ask(extra[1], 1004, 1, 1, NULL);
    assert_true(dns_client_wait_closed(extra[2], WAIT_MS));
    assert_true(dns_client_wait_closed(extra[3], WAIT_MS));
    wait_status(h, "refused 2");
    ask(good, 1004, 1, 1, NULL);
    for (int i = 0; i < 4; i++)
        close(extra[i]);
    close(good);
    close(unknown);
    stop_dns(h);
}

static void dns_reloads_config_on_sighup(void **state)
{
    harness_t *h = start_dns("hup", NULL, true, 0);
    char path[256];
    FILE *f;

    wait_status(h, "DB up");
    assert_false(harness_log_contains(h, "debug:"));
    /* raise the log level: the forced reload then logs at debug */
    snprintf(path, sizeof(path), "%s/hup.conf", confdir);
    f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "log_level = \"debug\";\n");
    fclose(f);
    assert_int_equal(harness_signal(h, SIGHUP), 0);
    assert_true(harness_wait_notify(h, "RELOADING=1", WAIT_MS));
    assert_true(harness_wait_count(h, "READY=1", 2, WAIT_MS));
    assert_true(harness_wait_log(h, "debug: loaded", WAIT_MS));
    stop_dns(h);
}

static void dns_sends_watchdog_and_counters(void **state)
{
    harness_t *h = start_dns("wd", NULL, true, 1000000);

    if (!harness_wait_count(h, "WATCHDOG=1", 2, WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no WATCHDOG=1 pings");
    }
    assert_int_equal(harness_signal(h, SIGUSR1), 0);
    assert_true(harness_wait_log(h, "counters: routes=", WAIT_MS));
    stop_dns(h);
}

static void dns_connection_cycles_leave_no_subscriptions(void **state)
{
    harness_t *h = start_dns("cycles", NULL, true, 0);

    wait_status(h, "DB up");
    for (int i = 0; i < 500; i++) {
        int fd = connect_to(h);
        ask(fd, 1005, i % 50, 0, NULL);
        ask(fd, 1005, 1000 + i, 0, NULL);
        close(fd);
    }
    wait_status(h, " 0 conns, 0 subscriptions");
    wait_status(h, "requests 1000");
    stop_dns(h); /* under ASan, a leak fails the exit status */
}

static void dns_pushes_a_change_through_the_incremental_path(void **state)
{
    harness_t *h;
    int a;
    dns_route_t r;

    route_change("add", 1007, 2, 167772170u, 7010);
    h = start_dns("incr", NULL, true, 0);
    wait_status(h, "reloads 1 full, 0 incremental");
    a = connect_to(h);
    ask(a, 1007, 1, 0, NULL);
    ask(a, 1007, 2, 1, NULL);

    route_change("add", 1007, 1, 167772171u, 7011);
    expect_route(a, 1007, 1, 1, PUSH_WAIT_MS, &r);
    assert_int_equal(r.ip[0], 167772171);
    wait_status(h, "reloads 1 full, 1 incremental");
    route_change("del", 1007, 1, 167772171u, 7011);
    expect_route(a, 1007, 1, 0, PUSH_WAIT_MS, NULL);
    wait_status(h, "reloads 1 full, 2 incremental");
    /* the unchanged pair was carried over and never pushed */
    ask(a, 1007, 2, 1, &r);
    assert_int_equal(r.port[0], 7010);
    wait_status(h, "pushes 2");
    close(a);
    stop_dns(h);
}

static void dns_change_without_route_change_row_is_found_by_full_reloads(void **state)
{
    harness_t *h = start_dns("norow", "reload_interval_s = 2;", true, 0);
    int a;

    wait_status(h, "DB up");
    a = connect_to(h);
    ask(a, 1008, 1, 0, NULL);
    /* neither a RouteChange row nor a version bump: the periodic reload */
    assert_int_equal(test_mariadb_exec(&db, "INSERT INTO RouteData (modid, cmdid, serverip, "
                                            "serverport) VALUES (1008, 1, 167772172, 7012)"),
                     0);
    expect_route(a, 1008, 1, 1, PUSH_WAIT_MS + 2000, NULL);
    /* a version bump without rows: the change list cannot be trusted */
    assert_int_equal(test_mariadb_exec(&db,
                                       "START TRANSACTION; INSERT INTO RouteData (modid, cmdid, "
                                       "serverip, serverport) VALUES (1008, 1, 167772173, 7013); "
                                       "UPDATE RouteVersion SET version = GREATEST(version + 1, "
                                       "UNIX_TIMESTAMP()) WHERE id = 1; COMMIT"),
                     0);
    expect_route(a, 1008, 1, 2, PUSH_WAIT_MS, NULL);
    wait_status(h, " 0 incremental");
    close(a);
    stop_dns(h);
}

static void dns_pruned_or_long_change_lists_fall_back_to_full_reloads(void **state)
{
    harness_t *h = start_dns("pruned", NULL, true, 0);
    int a;

    wait_status(h, "reloads 1 full, 0 incremental");
    a = connect_to(h);
    ask(a, 1009, 1, 0, NULL);
    route_change("add", 1009, 1, 167772174u, 7014);
    expect_route(a, 1009, 1, 1, PUSH_WAIT_MS, NULL);
    wait_status(h, "reloads 1 full, 1 incremental");

    /* the last row seen is gone, as if pruned */
    assert_int_equal(test_mariadb_exec(&db, "DELETE FROM RouteChange"), 0);
    route_change("add", 1009, 1, 167772175u, 7015);
    expect_route(a, 1009, 1, 2, PUSH_WAIT_MS, NULL);
    wait_status(h, "reloads 2 full, 1 incremental");
    /* and incremental again from the row that full reload saw */
    route_change("del", 1009, 1, 167772175u, 7015);
    expect_route(a, 1009, 1, 1, PUSH_WAIT_MS, NULL);
    wait_status(h, "reloads 2 full, 2 incremental");

    /* 1001 changed pairs: more than the limit for a small table */
    assert_int_equal(test_mariadb_exec(&db,
                                       "START TRANSACTION; INSERT INTO RouteData (modid, cmdid, "
                                       "serverip, serverport) VALUES (1009, 1, 167772176, 7016); "
                                       "UPDATE RouteVersion SET version = GREATEST(version + 1, "
                                       "UNIX_TIMESTAMP()) WHERE id = 1; INSERT INTO RouteChange "
                                       "(modid, cmdid, version) SELECT 1009, seq, version FROM "
                                       "seq_1_to_1001, RouteVersion WHERE id = 1; COMMIT"),
                     0);
    expect_route(a, 1009, 1, 2, PUSH_WAIT_MS, NULL);
    wait_status(h, "reloads 3 full, 2 incremental");
    close(a);
    stop_dns(h);
}

static void dns_survives_db_outage_and_starts_without_db(void **state)
{
    harness_t *h1, *h2;
    int a, b;
    dns_route_t r;

    route_change("add", 1006, 1, 167772166u, 7004);
    h1 = start_dns("outage", NULL, true, 0);
    wait_status(h1, "DB up");
    a = connect_to(h1);
    ask(a, 1006, 1, 1, NULL);

    assert_int_equal(test_mariadb_kill(&db), 0);
    wait_status(h1, "DB DOWN");
    ask(a, 1006, 1, 1, NULL); /* the last good table */

    /* a second instance started while the DB is down */
    h2 = start_dns("nodb", NULL, true, 0);
    wait_status(h2, "DB DOWN");
    b = connect_to(h2);
    ask(b, 1006, 1, 0, NULL);

    assert_int_equal(test_mariadb_restart(&db), 0);
    wait_status(h1, "DB up");
    wait_status(h2, "DB up");
    /* h2 loads the table after connecting: b's subscription gets it pushed */
    expect_route(b, 1006, 1, 1, PUSH_WAIT_MS, NULL);
    route_change("add", 1006, 1, 167772167u, 7005);
    expect_route(a, 1006, 1, 2, PUSH_WAIT_MS, &r);
    expect_route(b, 1006, 1, 2, PUSH_WAIT_MS, NULL);
    wait_status(h1, "reconnects 1");
    close(a);
    close(b);
    stop_dns(h1);
    stop_dns(h2);
}

static void dns_exits_78_on_bad_config(void **state)
{
    char path[256], cmd[600];
    const char *build = getenv("LARS_BUILD");
    FILE *f;
    int status;

    snprintf(path, sizeof(path), "%s/bad.conf", confdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "threads = \"many\";\n");
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s/bin/lars-dns --check-config -c %s >/dev/null 2>&1",
             build ? build : "build", path);
    status = system(cmd);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 78);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dns_exits_78_on_bad_config),
        cmocka_unit_test(dns_answers_known_and_unknown_pairs),
        cmocka_unit_test(dns_pushes_added_and_deleted_routes_to_subscribers),
        cmocka_unit_test(dns_pushes_larsctl_changes_within_poll_interval_plus_500ms),
        cmocka_unit_test(dns_two_instances_on_one_database_both_push),
        cmocka_unit_test(dns_counts_bad_input_and_keeps_serving_others),
        cmocka_unit_test(dns_reloads_config_on_sighup),
        cmocka_unit_test(dns_sends_watchdog_and_counters),
        cmocka_unit_test(dns_connection_cycles_leave_no_subscriptions),
        cmocka_unit_test(dns_pushes_a_change_through_the_incremental_path),
        cmocka_unit_test(dns_change_without_route_change_row_is_found_by_full_reloads),
        cmocka_unit_test(dns_pruned_or_long_change_lists_fall_back_to_full_reloads),
        /* last: it kills and restarts the database */
        cmocka_unit_test(dns_survives_db_outage_and_starts_without_db),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
