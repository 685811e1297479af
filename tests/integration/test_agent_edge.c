/*
 * lars-agent at the network edge (SPEC §13): a forged report's weight is
 * capped, a flood of unknown pairs is evicted while a real pair keeps
 * working, the lars-dns connection is made only when a pair is pulled, and
 * a lars-dns that accepts and closes at once is not hammered. The real
 * lars-dns and lars-reporter on a private MariaDB, as in test_agent_daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/lars.h"
#include "harness/colliding_keys.h"
#include "harness/harness.h"
#include "harness/mariadb.h"
#include "libreactor/reactor.h"
#include "proto/lars.pb-c.h"

#define WAIT_MS 20000
#define CALLER  "10.1.2.3"

static test_mariadb_t db;
static char confdir[64];
static harness_t *dns, *rep, *agent;
static int dns_port, rep_port, base_port;

static const char *bin(const char *name)
{
    static char buf[4][256];
    static int k;
    const char *build = getenv("LARS_BUILD");

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/bin/%s", build ? build : "build", name);
    return buf[k];
}

static harness_t *start(const char *name, const char *conf_text, const harness_socket_t *socks,
                        size_t nsocks)
{
    static char path[4][256];
    static int k;
    harness_t *h;
    FILE *f;

    k = (k + 1) % 4;
    snprintf(path[k], sizeof(path[k]), "%s/%s.conf", confdir, name);
    f = fopen(path[k], "w");
    if (!f)
        return NULL;
    fputs(conf_text, f);
    if (strcmp(name, "lars-agent") != 0)
        test_mariadb_conf_snippet(&db, f);
    fclose(f);
    const char *argv[] = {bin(name), "-c", path[k], NULL};
    /* With a watchdog, as systemd runs them (WatchdogSec=): pings every ~1 s. */
    harness_opts_t o = {
        .argv = argv, .sockets = socks, .nsockets = nsocks, .watchdog_usec = 3000000};
    h = harness_start(&o);
    if (h && !harness_wait_notify(h, "READY=1", WAIT_MS)) {
        harness_dump_log(h);
        harness_free(h);
        return NULL;
    }
    return h;
}

static harness_t *start_dns(int port)
{
    char spec[64];
    harness_socket_t s = {spec, NULL};

    snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", port);
    return start("lars-dns", "threads = 2;\nversion_poll_ms = 100;\nreload_interval_s = 3600;\n",
                 &s, 1);
}

static harness_t *start_agent(void)
{
    char conf[1024], specs[3][64];
    harness_socket_t s[3];

    snprintf(conf, sizeof(conf),
             "log_level = \"debug\";\nbase_port = %d;\ncaller_ip = \"" CALLER "\";\n"
             "report_interval_ms = 200;\n"
             "negative_ttl_s = 1;\nmax_pairs = 60000;\npull_timeout_ms = 500;\n"
             "dns = { servers = [\"127.0.0.1:%d\"]; };\n"
             "reporter = { servers = [\"127.0.0.1:%d\"]; };\n"
             "loadbalance = { overload_timeout = 2; idle_timeout = 60; update_timeout = 60; };\n",
             base_port, dns_port, rep_port);
    for (int i = 0; i < 3; i++) {
        /* Out of order on purpose: the agent matches them by port. */
        snprintf(specs[i], sizeof(specs[i]), "udp:127.0.0.1:%d", base_port + 2 - i);
        s[i] = (harness_socket_t){specs[i], "shards"};
    }
    return start("lars-agent", conf, s, 3);
}

static int group_setup(void **state)
{
    char tmpl[] = "/tmp/lars-agent-edge-XXXXXX";

    if (!mkdtemp(tmpl))
        return -1;
    snprintf(confdir, sizeof(confdir), "%s", tmpl);
    if (test_mariadb_start(&db) < 0)
        return -1;
    dns = start_dns(0);
    if (!dns)
        return -1;
    dns_port = harness_port(dns, 0);
    harness_socket_t rs = {"tcp:127.0.0.1:0", NULL};
    rep = start("lars-reporter", "threads = 1;\ndb_threads = 1;\nbatch_ms = 50;\n", &rs, 1);
    if (!rep)
        return -1;
    rep_port = harness_port(rep, 0);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int tries = 0; tries < 10 && !agent; tries++) {
        base_port = 20000 + rand() % 30000;
        agent = start_agent();
    }
    return agent ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];

    harness_free(agent);
    harness_free(rep);
    harness_free(dns);
    test_mariadb_stop(&db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", confdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ helpers -- */

static uint32_t ip_of(const char *s)
{
    uint32_t ip;

    assert_int_equal(lars_ip_from_str(s, &ip), 0);
    return ip;
}

static void route_change(const char *what, int modid, int cmdid, const char *ip, int port)
{
    const char *bump = "UPDATE RouteVersion SET version = GREATEST(version + 1, UNIX_TIMESTAMP()) "
                       "WHERE id = 1";
    const char *change = "INSERT INTO RouteChange (modid, cmdid, version) SELECT %d, %d, version "
                         "FROM RouteVersion WHERE id = 1";
    char sql[1024], chg[256];
    int err;

    snprintf(chg, sizeof(chg), change, modid, cmdid);
    if (strcmp(what, "add") == 0)
        snprintf(sql, sizeof(sql),
                 "START TRANSACTION; INSERT INTO RouteData (modid, cmdid, serverip, serverport) "
                 "VALUES (%d, %d, %u, %d); %s; %s; COMMIT",
                 modid, cmdid, ip_of(ip), port, bump, chg);
    else
        snprintf(sql, sizeof(sql),
                 "START TRANSACTION; DELETE FROM RouteData WHERE modid = %d AND cmdid = %d AND "
                 "serverip = %u AND serverport = %d; %s; %s; COMMIT",
                 modid, cmdid, ip_of(ip), port, bump, chg);
    err = test_mariadb_exec(&db, "%s", sql);
    assert_int_equal(err, 0);
}

static lars_client_t *client(void)
{
    lars_options_t o = {.base_port = base_port, .timeout_ms = 200, .tries = 3};
    lars_client_t *c = lars_open(&o, NULL);

    assert_non_null(c);
    return c;
}

/* The number after `label` in the newest STATUS= line. */
static unsigned long long status_counter(harness_t *h, const char *label)
{
    char buf[1024];
    const char *p;

    harness_last_status(h, buf, sizeof(buf));
    p = strstr(buf, label);
    return p ? strtoull(p + strlen(label), NULL, 10) : 0;
}

static void wait_counter_at_least(const char *label, unsigned long long want)
{
    char buf[1024];

    for (int i = 0; i < WAIT_MS / 100; i++) {
        if (status_counter(agent, label) >= want)
            return;
        usleep(100 * 1000);
    }
    fail_msg("STATUS %s < %llu: %s", label, want, harness_last_status(agent, buf, sizeof(buf)));
}

/* ------------------------------------------------------------- tests -- */

static void wait_succ(lars_client_t *c, int modid, int cmdid, lars_host_t *h)
{
    for (int i = 0; i < WAIT_MS / 50; i++) {
        if (lars_get_host(c, modid, cmdid, h) == LARS_SUCC)
            return;
        usleep(50 * 1000);
    }
    harness_dump_log(agent);
    fail_msg("pair %d/%d never answered SUCC", modid, cmdid);
}

/* (f) A ReportRequest claiming timecost_ms = 0xffffffff weighs at most
 * loadbalance.max_err_weight, counted as "capped weights". */
static void forged_timecost_is_capped(void **state)
{
    lars_client_t *c = client();
    lars_host_t h;
    unsigned long long capped0 = status_counter(agent, "capped weights ");

    route_change("add", 300, 1, "10.3.0.1", 3000);
    wait_succ(c, 300, 1, &h);
    assert_int_equal(lars_report_cost(c, 300, 1, &h, LARS_OVERLOAD, 0xffffffffu), 0);
    wait_counter_at_least("capped weights ", capped0 + 1);
    lars_close(c);
}

static void send_get_host(int fd, int32_t seq, int32_t modid, int32_t cmdid)
{
    Lars__GetHostRequest req = LARS__GET_HOST_REQUEST__INIT;
    uint8_t buf[64];
    size_t n;

    req.seq = seq;
    req.modid = modid;
    req.cmdid = cmdid;
    n = lars__get_host_request__pack(&req, buf + 8);
    rx_frame_put_header(buf, LARS__MESSAGE_ID__ID_GetHostRequest, (uint32_t)n);
    (void)send(fd, buf, 8 + n, MSG_DONTWAIT);
}

/* (g) 1,000,000 distinct pairs nobody has routes for: each becomes a
 * negative entry that negative_ttl_s (1 s here) evicts, max_pairs caps the
 * rest, the agent's memory stays bounded, and a real pair answers SUCC
 * throughout. */
static void a_million_unknown_pairs_are_evicted(void **state)
{
    lars_client_t *c = client();
    lars_host_t h;
    int fds[3];
    long rss0, rss;
    char status[1024];

    route_change("add", 301, 1, "10.3.1.1", 3001);
    wait_succ(c, 301, 1, &h);
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(base_port + i)};
        int size = 1 << 20;

        fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(fds[i] >= 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    rss0 = harness_rss_kib(harness_pid(agent));
    for (int32_t i = 0; i < 1000000; i++) {
        int32_t modid = 1000000 + i / 7, cmdid = i % 7;

        send_get_host(fds[((uint32_t)modid + (uint32_t)cmdid) % 3], i, modid, cmdid);
        if (i % 20000 == 19999) {
            int r = LARS_NOEXIST;
            /* The real pair keeps answering (liblars retries a lost datagram). */
            for (int k = 0; k < 20 && r != LARS_SUCC; k++)
                r = lars_get_host(c, 301, 1, &h);
            assert_int_equal(r, LARS_SUCC);
            assert_string_equal(h.ip_str, "10.3.1.1");
            usleep(10 * 1000);
        }
    }
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    /* Eviction: negative entries go within a few ticks. */
    wait_counter_at_least("evicted negative ", 1);
    for (int i = 0; i < WAIT_MS / 100; i++) {
        harness_last_status(agent, status, sizeof(status));
        if (strtoull(status, NULL, 10) < 1000)
            break;
        usleep(100 * 1000);
    }
    harness_last_status(agent, status, sizeof(status));
    printf("# after the flood: %s\n", status);
    assert_true(strtoull(status, NULL, 10) < 1000); /* "N pairs, ..." */
    rss = harness_rss_kib(harness_pid(agent));
    printf("# agent RSS %ld KiB before, %ld KiB after\n", rss0, rss);
    assert_true(rss < rss0 + 200 * 1024);
    assert_int_equal(lars_get_host(c, 301, 1, &h), LARS_SUCC);
    lars_close(c);
}

/* (c) 50,000 pairs that all shared one bucket under the mixer the route
 * cache used before its keyed hash (within max_pairs): the agent keeps
 * feeding its watchdog and answering a real pair while they arrive. Under
 * the old mixer every insert walked one chain of all of them. */
static void colliding_pairs_leave_the_agent_serving(void **state)
{
    lars_client_t *c = client();
    lars_host_t h;
    unsigned pings;
    int fds[3];

    route_change("add", 303, 1, "10.3.3.1", 3003);
    wait_succ(c, 303, 1, &h);
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(base_port + i)};
        int size = 1 << 20;

        fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(fds[i] >= 0);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
    }
    pings = harness_count(agent, "WATCHDOG=1");
    for (int32_t i = 0; i < 50000; i++) {
        uint64_t k = colliding_key((size_t)i);
        int32_t modid = (int32_t)(k >> 32), cmdid = (int32_t)k;

        send_get_host(fds[((uint32_t)modid + (uint32_t)cmdid) % 3], i, modid, cmdid);
        if (i % 5000 == 4999) {
            int r = LARS_NOEXIST;
            for (int t = 0; t < 20 && r != LARS_SUCC; t++)
                r = lars_get_host(c, 303, 1, &h);
            assert_int_equal(r, LARS_SUCC);
            usleep(10 * 1000);
        }
    }
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    /* Still pinged: every shard's loop stays alive. */
    assert_true(harness_wait_count(agent, "WATCHDOG=1", pings + 2, WAIT_MS));
    assert_int_equal(lars_get_host(c, 303, 1, &h), LARS_SUCC);
    lars_close(c);
}

/* A second agent whose lars-dns is a plain listener of the test: nothing
 * connects until a pair is pulled; then a lars-dns that accepts and closes
 * at once (one at its max_conns) sees a few attempts, not one per 100 ms. */
static void dns_connection_is_lazy_and_backs_off(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    char conf[1024], specs[3][64];
    harness_socket_t s[3];
    harness_t *a2 = NULL;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), port2 = 0;
    int accepted = 0, fd;
    uint64_t t0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 64), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    for (int tries = 0; tries < 10 && !a2; tries++) {
        port2 = 20000 + rand() % 30000;
        snprintf(conf, sizeof(conf),
                 "base_port = %d;\ncaller_ip = \"" CALLER "\";\n"
                 "dns = { servers = [\"127.0.0.1:%d\"]; };\n"
                 "reporter = { servers = [\"127.0.0.1:%d\"]; };\n",
                 port2, ntohs(sa.sin_port), rep_port);
        for (int i = 0; i < 3; i++) {
            snprintf(specs[i], sizeof(specs[i]), "udp:127.0.0.1:%d", port2 + i);
            s[i] = (harness_socket_t){specs[i], "shards"};
        }
        a2 = start("lars-agent", conf, s, 3);
    }
    assert_non_null(a2);

    usleep(1500 * 1000);
    fd = accept(lfd, NULL, NULL);
    assert_true(fd < 0); /* idle: no connection */
    /* and STATUS says idle, not "disconnected", which reads as a fault */
    assert_true(harness_wait_status(a2, "lars-dns idle, lars-reporter idle", 5000));

    lars_options_t o = {.base_port = port2, .timeout_ms = 200, .tries = 1};
    lars_client_t *c = lars_open(&o, NULL);
    lars_host_t h;
    assert_non_null(c);
    assert_int_equal(lars_get_host(c, 302, 1, &h), LARS_NOEXIST);
    t0 = harness_now_ms();
    while (harness_now_ms() - t0 < 3000) {
        fd = accept(lfd, NULL, NULL);
        if (fd >= 0) {
            accepted++;
            close(fd);
        } else {
            usleep(5 * 1000);
        }
    }
    printf("# %d connections in 3 s from an agent to a lars-dns that closes at once\n", accepted);
    assert_true(accepted >= 1);
    assert_true(accepted <= 8);
    lars_close(c);
    harness_free(a2);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forged_timecost_is_capped),
        cmocka_unit_test(a_million_unknown_pairs_are_evicted),
        cmocka_unit_test(colliding_pairs_leave_the_agent_serving),
        cmocka_unit_test(dns_connection_is_lazy_and_backs_off),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
