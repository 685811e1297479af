/*
 * Integration tests of lars-agent: a private MariaDB, the real lars-dns and
 * lars-reporter (socket-activated, TCP) and lars-agent (three UDP sockets
 * matched by port), driven through liblars and, for bad input, raw
 * datagrams. The daemons are started once per program; every test uses its
 * own modids.
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include "libreactor/reactor.h"
#include "harness/harness.h"
#include "harness/mariadb.h"

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
    char tmpl[] = "/tmp/lars-agent-test-XXXXXX";

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

/* Polls get_route until the route has n hosts. */
static void wait_route_size(lars_client_t *c, int modid, int cmdid, size_t n)
{
    lars_host_t buf[16];
    size_t got = 0;

    for (int i = 0; i < WAIT_MS / 50; i++) {
        lars_get_route(c, modid, cmdid, buf, 16, &got);
        if (got == n)
            return;
        usleep(50 * 1000);
    }
    harness_dump_log(agent);
    fail_msg("route %d/%d: %zu hosts, want %zu", modid, cmdid, got, n);
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

static void agent_answers_noexist_then_succ_after_reg_init(void **state)
{
    lars_client_t *c = client();
    lars_host_t h;
    int r = -1;

    route_change("add", 100, 1, "10.0.0.1", 1000);
    assert_int_equal(lars_get_host(c, 100, 1, &h), LARS_NOEXIST);
    for (int i = 0; i < 100 && r != LARS_SUCC; i++)
        r = lars_reg_init(c, 100, 1);
    assert_int_equal(r, LARS_SUCC);
    assert_int_equal(lars_get_host(c, 100, 1, &h), LARS_SUCC);
    assert_string_equal(h.ip_str, "10.0.0.1");
    assert_int_equal(h.port, 1000);
    /* A pair nobody has routes for stays NOEXIST. */
    assert_int_equal(lars_get_host(c, 100, 2, &h), LARS_NOEXIST);
    lars_close(c);
}

static void agent_round_robin_spreads_over_three_hosts(void **state)
{
    lars_client_t *c = client();
    int count[3] = {0};

    for (int i = 0; i < 3; i++) {
        char ip[16];
        snprintf(ip, sizeof(ip), "10.0.1.%d", i + 1);
        route_change("add", 101, 7, ip, 2000);
    }
    wait_route_size(c, 101, 7, 3);
    for (int i = 0; i < 30; i++) {
        lars_host_t h;
        assert_int_equal(lars_get_host(c, 101, 7, &h), LARS_SUCC);
        assert_true((h.ip & 0xff) >= 1 && (h.ip & 0xff) <= 3);
        count[(h.ip & 0xff) - 1]++;
        lars_report(c, 101, 7, &h, LARS_SUCC);
    }
    assert_int_equal(count[0], 10);
    assert_int_equal(count[1], 10);
    assert_int_equal(count[2], 10);
    lars_close(c);
}

/* Picks of 10.0.2.1 among n calls; it fails every other call (or every
 * call when always_fail); the others always succeed. */
static int picks_of_bad_host(lars_client_t *c, int n, bool always_fail, int *flip)
{
    int picks = 0;

    for (int i = 0; i < n; i++) {
        lars_host_t h;
        int r = lars_get_host(c, 102, 5, &h);
        assert_int_equal(r, LARS_SUCC);
        if ((h.ip & 0xff) == 1) {
            picks++;
            bool fail = always_fail || (*flip ^= 1);
            lars_report(c, 102, 5, &h, fail ? LARS_OVERLOAD : LARS_SUCC);
        } else {
            lars_report(c, 102, 5, &h, LARS_SUCC);
        }
    }
    return picks;
}

static void agent_overloads_failing_host_probes_it_and_recovers(void **state)
{
    lars_client_t *c = client();
    int flip = 0, picks = 0;
    bool recovered = false;

    for (int i = 0; i < 3; i++) {
        char ip[16];
        snprintf(ip, sizeof(ip), "10.0.2.%d", i + 1);
        route_change("add", 102, 5, ip, 3000);
    }
    wait_route_size(c, 102, 5, 3);
    /* 50 % failures: about 45 picks of the host make verr/(vsucc+verr) > 0.1. */
    picks_of_bad_host(c, 300, false, &flip);
    /* Overloaded now: only every probe_num + 1 = 11th pick probes it. */
    picks = picks_of_bad_host(c, 110, true, &flip);
    assert_in_range(picks, 9, 11);
    assert_true(harness_wait_log(agent, "10.0.2.1:3000 overloaded", WAIT_MS));
    /* overload_timeout (2 s) later the shard timer makes it idle again. */
    for (int i = 0; i < 100 && !recovered; i++) {
        usleep(100 * 1000);
        recovered = picks_of_bad_host(c, 3, false, &flip) == 1 &&
                    harness_log_contains(agent, "10.0.2.1:3000 idle again (overload timeout)");
    }
    assert_true(recovered);
    picks = picks_of_bad_host(c, 30, false, &flip);
    assert_int_equal(picks, 10);
    lars_close(c);
}

static void agent_gets_route_changes_by_push(void **state)
{
    lars_client_t *c = client();
    lars_host_t buf[4];
    size_t n;

    route_change("add", 103, 1, "10.0.3.1", 4000);
    wait_route_size(c, 103, 1, 1);
    route_change("add", 103, 1, "10.0.3.2", 4000);
    wait_route_size(c, 103, 1, 2);
    route_change("del", 103, 1, "10.0.3.1", 4000);
    wait_route_size(c, 103, 1, 1);
    assert_int_equal(lars_get_route(c, 103, 1, buf, 4, &n), LARS_SUCC);
    assert_int_equal(n, 1);
    assert_string_equal(buf[0].ip_str, "10.0.3.2");
    lars_close(c);
}

static void agent_serves_cache_without_dns_and_resubscribes(void **state)
{
    lars_client_t *c = client();
    lars_host_t h;

    route_change("add", 104, 2, "10.0.4.1", 5000);
    wait_route_size(c, 104, 2, 1);
    harness_free(dns);
    dns = NULL;
    assert_true(harness_wait_status(agent, "lars-dns disconnected", WAIT_MS));
    for (int i = 0; i < 10; i++) {
        assert_int_equal(lars_get_host(c, 104, 2, &h), LARS_SUCC);
        assert_string_equal(h.ip_str, "10.0.4.1");
    }
    dns = start_dns(dns_port);
    assert_non_null(dns);
    assert_true(harness_wait_status(agent, "lars-dns connected", WAIT_MS));
    /* Only a pair the new connection subscribed to gets this push. */
    route_change("add", 104, 2, "10.0.4.2", 5000);
    wait_route_size(c, 104, 2, 2);
    lars_close(c);
}

static int raw_socket(int shard)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(base_port + shard)};
    struct timeval tv = {.tv_sec = 2};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_frame(int fd, int32_t msgid, int32_t len, const void *body, size_t n)
{
    uint8_t buf[256];

    rx_frame_put_header(buf, msgid, (uint32_t)len);
    memcpy(buf + 8, body, n);
    assert_int_equal(send(fd, buf, 8 + n, 0), (ssize_t)(8 + n));
}

static void agent_counts_bad_datagrams_and_answers_wrong_shard(void **state)
{
    unsigned long long mal0 = status_counter(agent, "malformed "),
                       unk0 = status_counter(agent, "unknown msgid "),
                       mis0 = status_counter(agent, "misrouted "),
                       rep0 = status_counter(agent, "unknown host reports ");
    /* GetHostRequest{seq=77, modid=105, cmdid=1}: shard (105 + 1) % 3 = 1. */
    const uint8_t get_host[] = {0x08, 77, 0x10, 105, 0x18, 1};
    const uint8_t garbage[] = {0x0f, 0xff, 0xff};
    /* ReportRequest{modid=101, cmdid=7, host={ip=1, port=2}, retcode=0}. */
    const uint8_t report[] = {0x08, 101, 0x10, 7, 0x1a, 0x04, 0x08, 0x01, 0x10, 0x02};
    uint8_t reply[512];
    int fd = raw_socket(0);
    ssize_t n;

    assert_int_equal(send(fd, "abc", 3, 0), 3);                      /* shorter than a header */
    send_frame(fd, 4, -5, get_host, sizeof(get_host));               /* negative length */
    send_frame(fd, 4, sizeof(garbage), garbage, sizeof(garbage));    /* bad protobuf */
    send_frame(fd, 99, 0, "", 0);                                    /* unknown msgid */
    send_frame(fd, 6, sizeof(report), report, sizeof(report));       /* host not in the route */
    send_frame(fd, 4, sizeof(get_host), get_host, sizeof(get_host)); /* shard 1's pair */
    n = recv(fd, reply, sizeof(reply), 0);
    assert_true(n >= 8 + 4);
    assert_int_equal(reply[0], 5); /* ID_GetHostResponse */
    assert_int_equal(reply[8], 0x08);
    assert_int_equal(reply[9], 77); /* same seq */
    close(fd);

    wait_counter_at_least("malformed ", mal0 + 3);
    wait_counter_at_least("unknown msgid ", unk0 + 1);
    wait_counter_at_least("misrouted ", mis0 + 1);
    wait_counter_at_least("unknown host reports ", rep0 + 1);
    /* Still serving. */
    lars_client_t *c = client();
    lars_host_t h;
    assert_int_equal(lars_get_host(c, 101, 7, &h), LARS_SUCC);
    lars_close(c);
}

static void agent_statistics_reach_call_status_with_caller_ip(void **state)
{
    lars_client_t *c = client();
    uint64_t rows = 0, succ = 0;

    route_change("add", 106, 3, "10.0.6.1", 6000);
    wait_route_size(c, 106, 3, 1);
    for (int i = 0; i < 20; i++) {
        lars_host_t h;
        assert_int_equal(lars_get_host(c, 106, 3, &h), LARS_SUCC);
        lars_report(c, 106, 3, &h, i < 15 ? LARS_SUCC : LARS_OVERLOAD);
    }
    for (int i = 0; i < WAIT_MS / 100 && succ < 15; i++) {
        usleep(100 * 1000);
        test_mariadb_query_u64(&db, &rows,
                               "SELECT COUNT(*) FROM ServerCallStatus WHERE modid = 106 AND "
                               "cmdid = 3 AND caller = INET_ATON('" CALLER "')");
        if (rows)
            test_mariadb_query_u64(&db, &succ,
                                   "SELECT succ_cnt FROM ServerCallStatus WHERE modid = 106 AND "
                                   "cmdid = 3 AND ip = INET_ATON('10.0.6.1') AND port = 6000");
    }
    assert_int_equal(rows, 1);
    assert_int_equal(succ, 15);
    lars_close(c);
}

static unsigned log_count(const harness_t *h, const char *text)
{
    char *log = harness_log(h);
    unsigned n = 0;

    for (const char *p = log; p && (p = strstr(p, text)); p += strlen(text))
        n++;
    free(log);
    return n;
}

/* Runs `lars ARGS` against the test agent; its output in out. Exit status. */
static int run_lars(const char *args, char *out, size_t size)
{
    char cmd[512];
    size_t n = 0;
    FILE *p;
    int st;

    snprintf(cmd, sizeof(cmd), "%s --port %d --timeout 200 %s 2>&1", bin("lars"), base_port, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (n + 1 < size && fgets(out + n, (int)(size - n), p))
        n += strlen(out + n);
    out[n] = '\0';
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Sums simulate's final table: lines "IP:PORT  SUCC  FAIL  ...". */
static int sim_table(const char *out, long *ret_succ, long *ret_fail)
{
    const char *p = strstr(out, "chosen at the end");
    int rows = 0;

    *ret_succ = *ret_fail = 0;
    assert_non_null(p);
    for (p = strchr(p, '\n'); p && p[1] && p[1] != '\n'; p = strchr(p + 1, '\n')) {
        char addr[64];
        long succ, fail;
        if (sscanf(p + 1, "%63s %ld %ld", addr, &succ, &fail) != 3 || !strchr(addr, ':'))
            break;
        *ret_succ += succ;
        *ret_fail += fail;
        rows++;
    }
    return rows;
}

static void tool_simulate_reports_per_host_counts_and_overloads(void **state)
{
    char out[16384];
    long succ, fail;
    lars_client_t *c = client();

    route_change("add", 108, 1, "10.0.8.1", 8001);
    route_change("add", 108, 1, "10.0.8.2", 8002);
    route_change("add", 108, 1, "10.0.8.3", 8003);
    wait_route_size(c, 108, 1, 3);
    lars_close(c);

    /* Every call fails: all three hosts get overloaded and leave the
     * rotation; most answers are then RET_OVERLOAD. */
    assert_int_equal(
        run_lars("simulate 108 1 --err-rate 1 --count 300 --interval 0", out, sizeof(out)), 0);
    print_message("%s", out);
    assert_int_equal(sim_table(out, &succ, &fail), 3);
    assert_int_equal(succ, 0);
    assert_true(fail > 0);
    assert_non_null(strstr(out, "stops being chosen"));
    assert_non_null(strstr(out, "overload answers"));
    assert_true(harness_wait_log(agent, "108/1 host 10.0.8.1:8001 overloaded", WAIT_MS));

    /* Healthy again after overload_timeout (2 s here); no failures now. */
    sleep(3);
    assert_int_equal(
        run_lars("simulate 108 1 --err-rate 0 --count 90 --interval 0", out, sizeof(out)), 0);
    assert_int_equal(sim_table(out, &succ, &fail), 3);
    assert_int_equal(fail, 0);
    assert_int_equal(succ, 90);

    /* Half the calls fail: the counts add up to N, near half of them failures. */
    sleep(3);
    assert_int_equal(
        run_lars("simulate 108 1 --err-rate 0.5 --count 400 --interval 0", out, sizeof(out)), 0);
    sim_table(out, &succ, &fail);
    long overload = 0, noexist = 0, timeouts = 0, other = 0;
    const char *tail = strstr(out, " calls: ");
    assert_non_null(tail);
    assert_int_equal(sscanf(tail, " calls: %ld overload answers, %ld no host, %ld timeouts, %ld",
                            &overload, &noexist, &timeouts, &other),
                     4);
    assert_int_equal(succ + fail + overload + noexist + timeouts + other, 400);
    assert_int_equal(timeouts, 0);
    assert_true(fail > (succ + fail) / 4 && fail < (succ + fail) * 3 / 4);
}

static void tool_bench_prints_calls_per_thread_and_total(void **state)
{
    char out[8192];
    long total = 0, sum = 0, calls;
    int threads = 0;
    const char *p;

    assert_int_equal(
        run_lars("bench --threads 2 --seconds 1 --modid 108 --cmdid 1", out, sizeof(out)), 0);
    print_message("%s", out);
    for (p = out; (p = strstr(p, "thread ")); p++) {
        int idx;
        if (sscanf(p, "thread %d: %ld calls", &idx, &calls) == 2) {
            assert_true(calls > 0);
            sum += calls;
            threads++;
        }
    }
    assert_int_equal(threads, 2);
    p = strstr(out, "total:");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "total: %ld calls", &total), 1);
    assert_int_equal(total, sum);
    assert_non_null(strstr(out, "get_host latency: p50 "));
}

/* docs/protocol.md, Body limits: a route too large for one datagram is
 * answered with the hosts that fit; the truncation is counted and logged once per pair. */
static void agent_truncates_oversized_route_replies_and_logs_once(void **state)
{
    enum { HOSTS = 8000 };
    static lars_host_t buf[HOSTS];
    unsigned long long trunc0 = status_counter(agent, "truncated ");
    lars_client_t *c = client();
    size_t n = 0, n2 = 0;
    int r = LARS_NOEXIST;

    assert_int_equal(test_mariadb_exec(&db,
                                       "INSERT INTO RouteData (modid, cmdid, serverip, serverport) "
                                       "SELECT 109, 1, 167772160 + seq, 9000 + seq %% 1000 FROM "
                                       "seq_1_to_%d; UPDATE RouteVersion SET version = version + 1",
                                       HOSTS),
                     0);
    /* lars-dns knows the route only once its next poll has reloaded 8000
     * rows, which may take longer than one reg_init on a busy machine. */
    for (int i = 0; i < 100 && r != LARS_SUCC; i++)
        r = lars_reg_init(c, 109, 1);
    assert_int_equal(r, LARS_SUCC);
    for (int i = 0; i < WAIT_MS / 100; i++) {
        assert_int_equal(lars_get_route(c, 109, 1, buf, HOSTS, &n), LARS_SUCC);
        if (n > 1000)
            break;
        usleep(100 * 1000);
    }
    assert_true(n > 1000 && n < HOSTS);
    for (size_t i = 0; i < n; i++) {
        assert_true(buf[i].ip > 167772160u && buf[i].ip <= 167772160u + HOSTS);
        assert_int_equal(buf[i].port, 9000 + (int)((buf[i].ip - 167772160u) % 1000));
        if (i > 0)
            assert_true(buf[i].ip != buf[i - 1].ip);
    }
    assert_int_equal(lars_get_route(c, 109, 1, buf, HOSTS, &n2), LARS_SUCC);
    assert_int_equal(n2, n);
    wait_counter_at_least("truncated ", trunc0 + 2);
    assert_true(harness_wait_log(agent, "route of 109/1 has 8000 hosts", WAIT_MS));
    assert_int_equal(log_count(agent, "route of 109/1 has 8000 hosts"), 1);
    lars_close(c);
}

static void agent_reloads_on_sighup_and_logs_counters_on_sigusr1(void **state)
{
    unsigned ready = harness_count(agent, "READY=1");
    unsigned pings = harness_count(agent, "WATCHDOG=1");

    /* Every loop (three shards, dns and reporter clients) keeps ticking. */
    assert_true(harness_wait_count(agent, "WATCHDOG=1", pings + 2, WAIT_MS));
    assert_int_equal(harness_signal(agent, SIGHUP), 0);
    assert_true(harness_wait_notify(agent, "RELOADING=1", WAIT_MS));
    assert_true(harness_wait_count(agent, "READY=1", ready + 1, WAIT_MS));
    assert_true(harness_wait_log(agent, "loadbalance settings applied", WAIT_MS));
    assert_int_equal(harness_signal(agent, SIGUSR1), 0);
    assert_true(harness_wait_log(agent, "shard 2 (port", WAIT_MS));
    assert_true(harness_wait_log(agent, "lars-reporter: connected", WAIT_MS));
}

static void agent_stops_cleanly_and_liblars_times_out(void **state)
{
    lars_options_t o = {.base_port = base_port, .timeout_ms = 50, .tries = 3};
    lars_client_t *c;
    lars_host_t h;
    uint64_t t0;
    int status;

    status = harness_stop(agent, WAIT_MS);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        harness_dump_log(agent);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(harness_wait_notify(agent, "STOPPING=1", WAIT_MS));
    harness_free(agent);
    agent = NULL;
    c = lars_open(&o, NULL);
    assert_non_null(c);
    t0 = harness_now_ms();
    assert_int_equal(lars_get_host(c, 101, 7, &h), LARS_TIMEOUT);
    /* A bound, not a measurement: 150 ms of budget must not become "forever",
     * even on a loaded machine. */
    assert_true(harness_now_ms() - t0 < 10000);
    lars_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agent_answers_noexist_then_succ_after_reg_init),
        cmocka_unit_test(agent_round_robin_spreads_over_three_hosts),
        cmocka_unit_test(agent_overloads_failing_host_probes_it_and_recovers),
        cmocka_unit_test(agent_gets_route_changes_by_push),
        cmocka_unit_test(agent_counts_bad_datagrams_and_answers_wrong_shard),
        cmocka_unit_test(agent_statistics_reach_call_status_with_caller_ip),
        cmocka_unit_test(agent_serves_cache_without_dns_and_resubscribes),
        cmocka_unit_test(tool_simulate_reports_per_host_counts_and_overloads),
        cmocka_unit_test(tool_bench_prints_calls_per_thread_and_total),
        cmocka_unit_test(agent_truncates_oversized_route_replies_and_logs_once),
        cmocka_unit_test(agent_reloads_on_sighup_and_logs_counters_on_sigusr1),
        cmocka_unit_test(agent_stops_cleanly_and_liblars_times_out),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
