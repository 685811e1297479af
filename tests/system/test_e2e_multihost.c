/*
 * End-to-end test over three "hosts": network namespaces created for this
 * run. The server namespace runs MariaDB, lars-dns and lars-reporter; hosts
 * A and B each run a lars-agent (with caller_ip not configured, so that the
 * agent detects its address) and applications (liblars handles and the
 * `lars` tool created inside the namespace). Links are veth pairs with
 * private addresses that exist only inside the namespaces:
 *
 *     A eth0 10.250.1.2/24 <-> va 10.250.1.1/24  server  vb 10.250.2.1/24 <-> B eth0 10.250.2.2/24
 *
 * Without the right to create namespaces every test is reported skipped
 * (`ok N # SKIP reason`). The namespaces are deleted at exit, also on failure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/lars.h"
#include "harness/e2e.h"
#include "harness/harness.h"
#include "harness/mariadb.h"
#include "harness/netns.h"

#define WAIT_MS 30000
#define NHOSTS  2

static const char *const host_ip[NHOSTS] = {"10.250.1.2", "10.250.2.2"};
static const char *const server_ip[NHOSTS] = {"10.250.1.1", "10.250.2.1"};

static char ns_server[NETNS_NAME_MAX], ns_host[NHOSTS][NETNS_NAME_MAX];
static test_mariadb_t db;
static char confdir[64], ctlconf[128];
static harness_t *dns, *rep, *agent[NHOSTS];
static lars_client_t *app[NHOSTS]; /* created inside the host's namespace */

/* ---------------------------------------------------------------- setup -- */

static int wire_hosts(void)
{
    static const char *const link[NHOSTS] = {"va", "vb"};

    if (netns_create("srv", ns_server) < 0 || netns_create("a", ns_host[0]) < 0 ||
        netns_create("b", ns_host[1]) < 0)
        return -1;
    for (int i = 0; i < NHOSTS; i++) {
        if (netns_ip("-n %s link add %s type veth peer name eth0 netns %s", ns_server, link[i],
                     ns_host[i]) < 0 ||
            netns_ip("-n %s addr add %s/24 dev %s", ns_server, server_ip[i], link[i]) < 0 ||
            netns_ip("-n %s link set %s up", ns_server, link[i]) < 0 ||
            netns_ip("-n %s addr add %s/24 dev eth0", ns_host[i], host_ip[i]) < 0 ||
            netns_ip("-n %s link set eth0 up", ns_host[i]) < 0)
            return -1;
    }
    return 0;
}

static int start_servers(void)
{
    const harness_socket_t any = {"tcp:0.0.0.0:0", NULL};

    if (netns_enter(ns_server) < 0 || test_mariadb_start(&db) < 0)
        return -1;
    snprintf(ctlconf, sizeof(ctlconf), "%s/larsctl.conf", confdir);
    if (test_mariadb_write_conf(&db, ctlconf) < 0)
        return -1;
    dns = e2e_start(confdir, "lars-dns", NULL,
                    "threads = 2;\nversion_poll_ms = 100;\nreload_interval_s = 3600;\n", &db, &any,
                    1, WAIT_MS);
    rep = e2e_start(confdir, "lars-reporter", NULL,
                    "threads = 1;\ndb_threads = 2;\nbatch_ms = 50;\n", &db, &any, 1, WAIT_MS);
    return dns && rep ? 0 : -1;
}

/* Agent i with the default ports (its host is private) and no caller_ip. */
static int start_agent(int i)
{
    const harness_socket_t s[3] = {{"udp:127.0.0.1:8888", "shards"},
                                   {"udp:127.0.0.1:8889", "shards"},
                                   {"udp:127.0.0.1:8890", "shards"}};
    lars_options_t o = {.timeout_ms = 300, .tries = 10};
    char conf[512], file[32];

    snprintf(conf, sizeof(conf),
             "report_interval_ms = 200;\ndns = { servers = [\"%s:%d\"]; };\n"
             "reporter = { servers = [\"%s:%d\"]; };\n"
             "loadbalance = { idle_timeout = 3600; update_timeout = 3600; };\n",
             server_ip[i], harness_port(dns, 0), server_ip[i], harness_port(rep, 0));
    snprintf(file, sizeof(file), "agent-%c", 'a' + i);
    if (netns_enter(ns_host[i]) < 0)
        return -1;
    agent[i] = e2e_start(confdir, "lars-agent", file, conf, NULL, s, 3, WAIT_MS);
    app[i] = lars_open(&o, NULL);
    return agent[i] && app[i] ? 0 : -1;
}

static int group_setup(void **state)
{
    int r = -1;

    strcpy(confdir, "/tmp/lars-e2e-multihost-XXXXXX");
    if (mkdtemp(confdir) && wire_hosts() == 0 && start_servers() == 0 && start_agent(0) == 0 &&
        start_agent(1) == 0)
        r = 0;
    netns_leave();
    return r;
}

static int group_teardown(void **state)
{
    char cmd[128];

    for (int i = 0; i < NHOSTS; i++) {
        lars_close(app[i]);
        harness_free(agent[i]);
    }
    harness_free(rep);
    harness_free(dns);
    test_mariadb_stop(&db);
    netns_cleanup();
    if (!confdir[0])
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", confdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* -------------------------------------------------------------- helpers -- */

static void larsctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void larsctl(const char *fmt, ...)
{
    char args[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    /* MariaDB listens on the server's loopback. */
    assert_int_equal(e2e_larsctl(ns_server, ctlconf, "%s", args), 0);
}

static void wait_route(int i, int modid, int cmdid, size_t n)
{
    if (!e2e_wait_route(app[i], modid, cmdid, n, WAIT_MS)) {
        harness_dump_log(agent[i]);
        fail_msg("host %c: route %d/%d never had %zu hosts", 'A' + i, modid, cmdid, n);
    }
}

static uint64_t rows_where(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static uint64_t rows_where(const char *fmt, ...)
{
    char where[512];
    uint64_t n = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(where, sizeof(where), fmt, ap);
    va_end(ap);
    if (test_mariadb_query_u64(&db, &n, "SELECT COUNT(*) FROM ServerCallStatus WHERE %s", where) <
        0)
        return 0;
    return n;
}

/* ---------------------------------------------------------------- tests -- */

static void e2e_agents_on_two_hosts_report_with_their_own_caller_ip(void **state)
{
    /* [host][route host]: successes and failures the applications report. */
    unsigned succ[NHOSTS][2] = {{0}}, err[NHOSTS][2] = {{0}};
    const int calls[NHOSTS] = {30, 50};
    char out[256];

    larsctl("route add 400 1 10.0.40.1 80");
    larsctl("route add 400 1 10.0.40.2 80");
    for (int i = 0; i < NHOSTS; i++) {
        char want[64];
        snprintf(want, sizeof(want), "caller ip %s", host_ip[i]);
        assert_true(harness_log_contains(agent[i], want));
        wait_route(i, 400, 1, 2);
        for (int k = 0; k < calls[i]; k++) {
            lars_host_t h;
            assert_int_equal(lars_get_host(app[i], 400, 1, &h), LARS_SUCC);
            unsigned idx = (h.ip & 0xff) - 1;
            assert_true(idx < 2);
            bool ok = (k + 1) % 10 != 0;
            assert_int_equal(lars_report(app[i], 400, 1, &h, ok ? LARS_SUCC : LARS_OVERLOAD), 0);
            ok ? succ[i][idx]++ : err[i][idx]++;
        }
        /* The command-line tool, run on that host, reaches its agent too. */
        const char *argv[] = {e2e_bin("lars"), "get-host", "400", "1", NULL};
        assert_int_equal(netns_run(ns_host[i], argv, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "10.0.40."));
    }

    uint64_t until = harness_now_ms() + WAIT_MS;
    bool all;
    do {
        all = rows_where("modid = 400") == 4;
        for (int i = 0; all && i < NHOSTS; i++)
            for (int k = 0; all && k < 2; k++)
                all = rows_where("modid = 400 AND cmdid = 1 AND caller = INET_ATON('%s') AND "
                                 "ip = INET_ATON('10.0.40.%d') AND port = 80 AND succ_cnt = %u "
                                 "AND err_cnt = %u",
                                 host_ip[i], k + 1, succ[i][k], err[i][k]) == 1;
        if (!all)
            usleep(100 * 1000);
    } while (!all && harness_now_ms() < until);
    if (!all) {
        harness_dump_log(rep);
        fail_msg("ServerCallStatus does not hold each host's calls under its own caller IP");
    }
}

static void e2e_larsctl_route_change_is_pushed_to_agents_on_both_hosts(void **state)
{
    lars_host_t buf[4];
    size_t n;

    larsctl("route add 401 2 10.0.41.1 81");
    for (int i = 0; i < NHOSTS; i++)
        wait_route(i, 401, 2, 1);
    larsctl("route add 401 2 10.0.41.2 81");
    for (int i = 0; i < NHOSTS; i++)
        wait_route(i, 401, 2, 2);
    larsctl("route del 401 2 10.0.41.1 81");
    for (int i = 0; i < NHOSTS; i++) {
        wait_route(i, 401, 2, 1);
        assert_int_equal(lars_get_route(app[i], 401, 2, buf, 4, &n), LARS_SUCC);
        assert_int_equal(n, 1);
        assert_string_equal(buf[0].ip_str, "10.0.41.2");
    }
    /* Both agents were subscribed over their own links. */
    assert_true(harness_wait_status(dns, "2 conns", WAIT_MS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(e2e_agents_on_two_hosts_report_with_their_own_caller_ip),
        cmocka_unit_test(e2e_larsctl_route_change_is_pushed_to_agents_on_both_hosts),
    };
    const size_t n = sizeof(tests) / sizeof(tests[0]);
    char why[128];

    /* cmocka 1.1 reports a skipped test as "not ok": write the TAP here. */
    if (!netns_supported(why, sizeof(why))) {
        printf("1..%zu\n", n);
        for (size_t i = 0; i < n; i++)
            printf("ok %zu # SKIP %s (%s)\n", i + 1, why, tests[i].name);
        return 0;
    }

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
