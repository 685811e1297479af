/*
 * End-to-end fault tests: one private MariaDB, the real lars-dns and
 * lars-reporter, and two lars-agents (callers 10.9.0.1 and 10.9.0.2, as if
 * on two hosts), all on loopback and socket-activated through the harness;
 * routes are changed with larsctl, applications are liblars handles. Each
 * test breaks one part -- MariaDB, lars-dns, lars-reporter, an agent -- or
 * loads the system (1,000 application threads, a flood of malformed input)
 * and checks that service continues and that no reported call is lost:
 * the ServerCallStatus rows must hold exactly what the applications
 * reported, per agent and host. Every test uses its own modid.
 *
 * The agents keep one statistics window for the whole run (idle_timeout
 * 3600) and the tests fail at most 1 call in 10 (a host stays idle, so its
 * counters are never reset): a row's succ_cnt/err_cnt are then the totals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/lars.h"
#include "libreactor/reactor.h"
#include "harness/e2e.h"
#include "harness/harness.h"
#include "harness/mariadb.h"

#define WAIT_MS  30000
#define NAGENTS  2
#define MAXHOSTS 4

static test_mariadb_t db;
static char confdir[64], ctlconf[128];
static harness_t *dns, *rep, *agent[NAGENTS];
static int dns_port, rep_port, base[NAGENTS];

/* What the applications reported to one agent for one pair, per host. */
typedef struct tally {
    int modid, cmdid;
    size_t n;
    struct {
        uint32_t ip;
        int port;
        unsigned succ, err;
    } h[MAXHOSTS];
} tally_t;

/* ------------------------------------------------------------- daemons -- */

static harness_t *start_dns(int port)
{
    char spec[64];
    harness_socket_t s = {spec, NULL};

    snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", port);
    return e2e_start(confdir, "lars-dns", NULL,
                     "threads = 2;\nversion_poll_ms = 100;\nreload_interval_s = 3600;\n", &db, &s,
                     1, WAIT_MS);
}

static harness_t *start_reporter(int port)
{
    char spec[64];
    harness_socket_t s = {spec, NULL};

    snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%d", port);
    return e2e_start(confdir, "lars-reporter", NULL,
                     "threads = 1;\ndb_threads = 2;\nbatch_ms = 50;\n", &db, &s, 1, WAIT_MS);
}

static harness_t *start_agent(int i)
{
    char conf[1024], file[32], specs[3][64];
    harness_socket_t s[3];

    snprintf(conf, sizeof(conf),
             "base_port = %d;\ncaller_ip = \"10.9.0.%d\";\nreport_interval_ms = 200;\n"
             "dns = { servers = [\"127.0.0.1:%d\"]; };\n"
             "reporter = { servers = [\"127.0.0.1:%d\"]; };\n"
             "loadbalance = { idle_timeout = 3600; overload_timeout = 3600; "
             "update_timeout = 3600; };\n",
             base[i], i + 1, dns_port, rep_port);
    for (int k = 0; k < 3; k++) {
        snprintf(specs[k], sizeof(specs[k]), "udp:127.0.0.1:%d", base[i] + k);
        s[k] = (harness_socket_t){specs[k], "shards"};
    }
    snprintf(file, sizeof(file), "agent%d", i);
    return e2e_start(confdir, "lars-agent", file, conf, NULL, s, 3, WAIT_MS);
}

static int group_setup(void **state)
{
    strcpy(confdir, "/tmp/lars-e2e-faults-XXXXXX");
    if (!mkdtemp(confdir) || test_mariadb_start(&db) < 0)
        return -1;
    snprintf(ctlconf, sizeof(ctlconf), "%s/larsctl.conf", confdir);
    if (test_mariadb_write_conf(&db, ctlconf) < 0)
        return -1;
    dns = start_dns(0);
    rep = start_reporter(0);
    if (!dns || !rep)
        return -1;
    dns_port = harness_port(dns, 0);
    rep_port = harness_port(rep, 0);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int i = 0; i < NAGENTS; i++)
        for (int tries = 0; tries < 10 && !agent[i]; tries++) {
            base[i] = 20000 + rand() % 30000;
            agent[i] = start_agent(i);
        }
    return agent[0] && agent[1] ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];

    for (int i = 0; i < NAGENTS; i++)
        harness_free(agent[i]);
    harness_free(rep);
    harness_free(dns);
    test_mariadb_stop(&db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", confdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- helpers -- */

static void larsctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void larsctl(const char *fmt, ...)
{
    char args[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    assert_int_equal(e2e_larsctl(NULL, ctlconf, "%s", args), 0);
}

static lars_client_t *client(int i, int timeout_ms, int tries)
{
    lars_options_t o = {.base_port = base[i], .timeout_ms = timeout_ms, .tries = tries};
    lars_client_t *c = lars_open(&o, NULL);

    assert_non_null(c);
    return c;
}

static void wait_route(int i, int modid, int cmdid, size_t n)
{
    lars_client_t *c = client(i, 200, 3);

    if (!e2e_wait_route(c, modid, cmdid, n, WAIT_MS)) {
        harness_dump_log(agent[i]);
        fail_msg("agent %d: route %d/%d never had %zu hosts", i, modid, cmdid, n);
    }
    lars_close(c);
}

static void tally_add(tally_t *t, const lars_host_t *h, bool ok)
{
    size_t k = 0;

    while (k < t->n && !(t->h[k].ip == h->ip && t->h[k].port == h->port))
        k++;
    assert_true(k < MAXHOSTS);
    if (k == t->n) {
        t->n++;
        t->h[k].ip = h->ip;
        t->h[k].port = h->port;
    }
    if (ok)
        t->h[k].succ++;
    else
        t->h[k].err++;
}

/* n get_host + report on c; every err_every-th call (0: none) fails. All
 * get_host calls must succeed. */
static void drive(lars_client_t *c, tally_t *t, int n, int err_every)
{
    for (int k = 0; k < n; k++) {
        lars_host_t h;
        int r = lars_get_host(c, t->modid, t->cmdid, &h);
        if (r != LARS_SUCC)
            fail_msg("get_host %d/%d: %s", t->modid, t->cmdid, lars_strerror(r));
        bool ok = err_every == 0 || (k + 1) % err_every != 0;
        assert_int_equal(lars_report(c, t->modid, t->cmdid, &h, ok ? LARS_SUCC : LARS_OVERLOAD), 0);
        tally_add(t, &h, ok);
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

/* Waits until agent i's rows for the pair are exactly the tally. */
static void expect_rows(int i, const tally_t *t)
{
    uint64_t until = harness_now_ms() + WAIT_MS;
    bool all;

    do {
        all = rows_where("modid = %d AND cmdid = %d AND caller = INET_ATON('10.9.0.%d')", t->modid,
                         t->cmdid, i + 1) == t->n;
        for (size_t k = 0; all && k < t->n; k++)
            all = rows_where("modid = %d AND cmdid = %d AND caller = INET_ATON('10.9.0.%d') AND "
                             "ip = %u AND port = %d AND succ_cnt = %u AND err_cnt = %u",
                             t->modid, t->cmdid, i + 1, t->h[k].ip, t->h[k].port, t->h[k].succ,
                             t->h[k].err) == 1;
        if (all)
            return;
        usleep(100 * 1000);
    } while (harness_now_ms() < until);
    for (size_t k = 0; k < t->n; k++) {
        char got[64] = "";
        test_mariadb_query_str(&db, got, sizeof(got),
                               "SELECT CONCAT(succ_cnt, '/', err_cnt) FROM ServerCallStatus "
                               "WHERE modid = %d AND cmdid = %d AND caller = "
                               "INET_ATON('10.9.0.%d') AND ip = %u AND port = %d",
                               t->modid, t->cmdid, i + 1, t->h[k].ip, t->h[k].port);
        fprintf(stderr, "agent %d, %d/%d host %u:%d: reported %u/%u, row %s\n", i, t->modid,
                t->cmdid, t->h[k].ip, t->h[k].port, t->h[k].succ, t->h[k].err, got);
    }
    harness_dump_log(rep);
    fail_msg("agent %d: ServerCallStatus rows of %d/%d differ from what was reported", i, t->modid,
             t->cmdid);
}

static void wait_status(harness_t *h, const char *text)
{
    char buf[1024];

    if (!harness_wait_status(h, text, WAIT_MS))
        fail_msg("no STATUS with \"%s\"; last: %s", text, harness_last_status(h, buf, sizeof(buf)));
}

static void assert_all_running(void)
{
    int status;

    assert_non_null(dns);
    assert_non_null(rep);
    assert_non_null(agent[0]);
    assert_non_null(agent[1]);
    assert_false(harness_exited(dns, &status));
    assert_false(harness_exited(rep, &status));
    for (int i = 0; i < NAGENTS; i++)
        assert_false(harness_exited(agent[i], &status));
}

/* A test that failed during the MariaDB outage must not break the next. */
static int setup(void **state)
{
    return !db.pid && test_mariadb_restart(&db) < 0 ? -1 : 0;
}

/* --------------------------------------------------------------- tests -- */

static void e2e_mariadb_restart_keeps_serving_and_loses_no_statistics(void **state)
{
    tally_t t[NAGENTS] = {{300, 1, 0, {{0}}}, {300, 1, 0, {{0}}}};
    tally_t late = {300, 2, 0, {{0}}};
    lars_client_t *c[NAGENTS];
    uint64_t routes = 0;
    int r = LARS_NOEXIST;

    larsctl("route add 300 1 10.0.30.1 80");
    larsctl("route add 300 1 10.0.30.2 80");
    /* Known to lars-dns before the outage, asked by no agent until during it. */
    larsctl("route add 300 2 10.0.30.9 90");
    for (int i = 0; i < NAGENTS; i++) {
        wait_route(i, 300, 1, 2);
        c[i] = client(i, 300, 10);
        drive(c[i], &t[i], 40, 10);
    }
    for (int i = 0; i < NAGENTS; i++)
        expect_rows(i, &t[i]);
    assert_int_equal(test_mariadb_query_u64(&db, &routes, "SELECT COUNT(*) FROM RouteData"), 0);
    assert_true(e2e_wait_counter(dns, "", routes, WAIT_MS));

    assert_int_equal(test_mariadb_kill(&db), 0);
    wait_status(dns, "DB DOWN");
    wait_status(rep, "DB down");
    for (int i = 0; i < NAGENTS; i++)
        drive(c[i], &t[i], 40, 10);
    /* A pair new to the agent comes from lars-dns's last snapshot. */
    for (int k = 0; k < 100 && r != LARS_SUCC; k++)
        r = lars_reg_init(c[1], 300, 2);
    assert_int_equal(r, LARS_SUCC);
    drive(c[1], &late, 5, 0);
    assert_int_equal(late.n, 1);
    assert_int_equal(late.h[0].port, 90);
    sleep(1); /* statistics of the outage wait in lars-reporter */

    assert_int_equal(test_mariadb_restart(&db), 0);
    for (int i = 0; i < NAGENTS; i++)
        expect_rows(i, &t[i]);
    expect_rows(1, &late);
    larsctl("route add 300 1 10.0.30.3 80");
    for (int i = 0; i < NAGENTS; i++) {
        wait_route(i, 300, 1, 3);
        lars_close(c[i]);
    }
    wait_status(dns, "DB up");
    assert_all_running();
}

static void e2e_dns_restart_two_agents_serve_cache_and_resubscribe(void **state)
{
    larsctl("route add 301 1 10.0.31.1 80");
    for (int i = 0; i < NAGENTS; i++)
        wait_route(i, 301, 1, 1);
    harness_free(dns);
    dns = NULL;
    for (int i = 0; i < NAGENTS; i++)
        wait_status(agent[i], "lars-dns disconnected");
    for (int i = 0; i < NAGENTS; i++) {
        lars_client_t *c = client(i, 300, 10);
        for (int k = 0; k < 20; k++) {
            lars_host_t h;
            assert_int_equal(lars_get_host(c, 301, 1, &h), LARS_SUCC);
            assert_string_equal(h.ip_str, "10.0.31.1");
        }
        lars_close(c);
    }
    dns = start_dns(dns_port);
    assert_non_null(dns);
    for (int i = 0; i < NAGENTS; i++)
        wait_status(agent[i], "lars-dns connected");
    /* Only a subscription made on the new connections gets this push. */
    larsctl("route add 301 1 10.0.31.2 80");
    for (int i = 0; i < NAGENTS; i++)
        wait_route(i, 301, 1, 2);
    assert_all_running();
}

static void e2e_reporter_down_10s_agents_deliver_newest_counts(void **state)
{
    tally_t t[NAGENTS] = {{302, 1, 0, {{0}}}, {302, 1, 0, {{0}}}};
    lars_client_t *c[NAGENTS];

    larsctl("route add 302 1 10.0.32.1 80");
    larsctl("route add 302 1 10.0.32.2 81");
    for (int i = 0; i < NAGENTS; i++) {
        wait_route(i, 302, 1, 2);
        c[i] = client(i, 300, 10);
    }
    harness_free(rep);
    rep = NULL;
    for (int i = 0; i < NAGENTS; i++)
        wait_status(agent[i], "lars-reporter disconnected");
    /* 10 s of traffic: 20 rounds, 500 ms apart. */
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < NAGENTS; i++)
            drive(c[i], &t[i], 3 + i, round % 2 ? 0 : 3 + i);
        usleep(500 * 1000);
    }
    rep = start_reporter(rep_port);
    assert_non_null(rep);
    for (int i = 0; i < NAGENTS; i++) {
        expect_rows(i, &t[i]);
        lars_close(c[i]);
    }
    assert_all_running();
}

static void e2e_agent_restart_times_out_apps_then_serves_after_reg_init(void **state)
{
    lars_client_t *c = client(1, 50, 3);
    lars_host_t h;
    int r = LARS_NOEXIST;

    larsctl("route add 303 1 10.0.33.1 80");
    wait_route(1, 303, 1, 1);
    assert_int_equal(lars_get_host(c, 303, 1, &h), LARS_SUCC);
    harness_free(agent[1]);
    agent[1] = NULL;
    for (int k = 0; k < 3; k++)
        assert_int_equal(lars_get_host(c, 303, 1, &h), LARS_TIMEOUT);
    agent[1] = start_agent(1);
    assert_non_null(agent[1]);
    /* The same handle: a fresh agent knows no route until asked. */
    assert_int_equal(lars_get_host(c, 303, 1, &h), LARS_NOEXIST);
    for (int k = 0; k < 100 && r != LARS_SUCC; k++)
        r = lars_reg_init(c, 303, 1);
    assert_int_equal(r, LARS_SUCC);
    assert_int_equal(lars_get_host(c, 303, 1, &h), LARS_SUCC);
    assert_string_equal(h.ip_str, "10.0.33.1");
    lars_close(c);
    assert_all_running();
}

/* ------------------------------------------------ 1,000 application threads -- */

enum { APP_THREADS = 1000, APP_CALLS = 4, APP_PAIRS = 3, APP_HOSTS = 2 };

static pthread_barrier_t app_barrier;
static atomic_uint app_succ[APP_PAIRS][APP_HOSTS];
static atomic_uint app_timeouts, app_other, app_open_failed;

static void *app_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    /* Up to 10 s per call: a burst of 1,000 threads on two busy CPUs may
     * keep the agent's shards from reading for a while, but not that long. */
    lars_options_t o = {.base_port = base[0], .timeout_ms = 1000, .tries = 10};
    lars_client_t *c = lars_open(&o, NULL);

    pthread_barrier_wait(&app_barrier);
    if (!c) {
        atomic_fetch_add(&app_open_failed, 1);
        return NULL;
    }
    for (unsigned k = 0; k < APP_CALLS; k++) {
        unsigned pair = (id + k) % APP_PAIRS;
        lars_host_t h;
        int r = lars_get_host(c, 304, (int)pair, &h);
        if (r == LARS_TIMEOUT) {
            atomic_fetch_add(&app_timeouts, 1);
            continue;
        }
        unsigned host = (h.ip & 0xff) - 1;
        if (r != LARS_SUCC || host >= APP_HOSTS) {
            atomic_fetch_add(&app_other, 1);
            continue;
        }
        if (lars_report(c, 304, (int)pair, &h, LARS_SUCC) == 0)
            atomic_fetch_add(&app_succ[pair][host], 1);
    }
    lars_close(c);
    return NULL;
}

static void e2e_thousand_app_threads_all_answered_and_counted(void **state)
{
    static pthread_t tids[APP_THREADS];
    pthread_attr_t attr;
    uint64_t drops0 = 0, drops = 0;
    unsigned total = 0;
    int started = 0;

    for (int p = 0; p < APP_PAIRS; p++) {
        for (int k = 1; k <= APP_HOSTS; k++)
            larsctl("route add 304 %d 10.0.34.%d 80", p, k);
        wait_route(0, 304, p, APP_HOSTS);
    }
    /* As ReceiveBuffer=4M in lars-agent.socket. */
    assert_int_equal(e2e_set_rcvbuf(agent[0], 3, 4 << 20), 0);
    for (int k = 0; k < 3; k++)
        drops0 += e2e_udp_drops(base[0] + k);

    pthread_barrier_init(&app_barrier, NULL, APP_THREADS);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (; started < APP_THREADS; started++)
        if (pthread_create(&tids[started], &attr, app_thread, (void *)(uintptr_t)started) != 0)
            break;
    pthread_attr_destroy(&attr);
    if (started < APP_THREADS) {
        /* Release the threads already waiting before failing. */
        for (int k = started; k < APP_THREADS; k++)
            pthread_barrier_wait(&app_barrier);
    }
    for (int k = 0; k < started; k++)
        pthread_join(tids[k], NULL);
    pthread_barrier_destroy(&app_barrier);
    assert_int_equal(started, APP_THREADS);
    for (int k = 0; k < 3; k++)
        drops += e2e_udp_drops(base[0] + k);
    printf("# 1000 threads: %u timeouts, %u other answers, %llu datagrams dropped by the kernel\n",
           atomic_load(&app_timeouts), atomic_load(&app_other),
           (unsigned long long)(drops - drops0));

    assert_int_equal(atomic_load(&app_open_failed), 0);
    assert_int_equal(atomic_load(&app_timeouts), 0);
    assert_int_equal(atomic_load(&app_other), 0);
    for (int p = 0; p < APP_PAIRS; p++) {
        tally_t t = {304, p, APP_HOSTS, {{0}}};
        for (int k = 0; k < APP_HOSTS; k++) {
            char ip[16];
            snprintf(ip, sizeof(ip), "10.0.34.%d", k + 1);
            assert_int_equal(lars_ip_from_str(ip, &t.h[k].ip), 0);
            t.h[k].port = 80;
            t.h[k].succ = atomic_load(&app_succ[p][k]);
            total += t.h[k].succ;
        }
        expect_rows(0, &t);
    }
    assert_int_equal(total, APP_THREADS * APP_CALLS);
    assert_all_running();
}

/* ------------------------------------------------------ malformed flood -- */

enum { FLOOD_MS = 3000, FLOOD_UDP_MAX = 6000, FLOOD_TCP_MAX = 150 };

typedef struct flood {
    atomic_bool done;
    /* Sent, by the counter the receiver should bump. */
    unsigned udp_malformed, udp_unknown;
    unsigned tcp_bad_frames[2], tcp_bad_bodies[2], tcp_unknown[2]; /* [0] dns, [1] reporter */
} flood_t;

static int open_socket(int type, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One bad frame of kind k (0: negative length, 1: undecodable body,
 * 2: unknown msgid) in buf; its length. */
static size_t bad_frame(uint8_t *buf, int k, int32_t msgid)
{
    static const uint8_t garbage[] = {0x0f, 0xff, 0xff, 0xff};

    switch (k) {
    case 0:
        rx_frame_put_header(buf, msgid, (uint32_t)-7);
        return 8;
    case 1:
        rx_frame_put_header(buf, msgid, sizeof(garbage));
        memcpy(buf + 8, garbage, sizeof(garbage));
        return 8 + sizeof(garbage);
    default:
        rx_frame_put_header(buf, 77, 0);
        return 8;
    }
}

static void flood_udp(flood_t *f, int fds[3], unsigned n)
{
    uint8_t buf[64];

    for (int shard = 0; shard < 3; shard++) {
        int k = (int)(n % 4);
        ssize_t r;
        if (k == 3)
            r = send(fds[shard], "abc", 3, 0); /* shorter than a header */
        else {
            size_t len = bad_frame(buf, k, 4);
            r = send(fds[shard], buf, len, 0);
        }
        if (r <= 0)
            continue;
        if (k == 2)
            f->udp_unknown++;
        else
            f->udp_malformed++;
    }
}

static void flood_tcp(flood_t *f, int which, int port, unsigned n)
{
    uint8_t buf[64];
    int k = (int)(n % 3), fd = open_socket(SOCK_STREAM, port);
    size_t len = bad_frame(buf, k, which == 0 ? 1 : 3);

    if (fd < 0)
        return;
    if (send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len) {
        if (k == 0)
            f->tcp_bad_frames[which]++;
        else if (k == 1)
            f->tcp_bad_bodies[which]++;
        else
            f->tcp_unknown[which]++;
    }
    close(fd);
}

static void *flood_thread(void *arg)
{
    flood_t *f = arg;
    uint64_t until = harness_now_ms() + FLOOD_MS;
    int fds[3];

    for (int k = 0; k < 3; k++)
        fds[k] = open_socket(SOCK_DGRAM, base[0] + k);
    for (unsigned n = 0; n < FLOOD_UDP_MAX / 3 && harness_now_ms() < until; n++) {
        flood_udp(f, fds, n);
        if (n % 16 == 0 && n / 16 < FLOOD_TCP_MAX) {
            flood_tcp(f, 0, dns_port, n / 16);
            flood_tcp(f, 1, rep_port, n / 16);
        }
        if (n % 16 == 0)
            usleep(1000);
    }
    for (int k = 0; k < 3; k++)
        if (fds[k] >= 0)
            close(fds[k]);
    atomic_store(&f->done, true);
    return NULL;
}

static void wait_rep_counter(const char *label, unsigned long long want)
{
    uint64_t until = harness_now_ms() + WAIT_MS;
    char buf[1024];

    while (e2e_status_counter_before(rep, label) < want) {
        if (harness_now_ms() > until)
            fail_msg("reporter STATUS%s < %llu: %s", label, want,
                     harness_last_status(rep, buf, sizeof(buf)));
        usleep(100 * 1000);
    }
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static void e2e_malformed_flood_counted_while_real_traffic_succeeds(void **state)
{
    unsigned long long a_mal = e2e_status_counter(agent[0], "malformed "),
                       a_unk = e2e_status_counter(agent[0], "unknown msgid "),
                       d_frames = e2e_status_counter(dns, "bad frames "),
                       d_bodies = e2e_status_counter(dns, "bad bodies "),
                       d_unk = e2e_status_counter(dns, "unknown msgids "),
                       r_frames = e2e_status_counter_before(rep, " bad frames"),
                       r_bodies = e2e_status_counter_before(rep, " bad bodies"),
                       r_unk = e2e_status_counter_before(rep, " unknown msgids");
    tally_t t = {305, 1, 0, {{0}}};
    static flood_t f;
    lars_client_t *c;
    pthread_t tid;
    uint64_t drops0 = 0, drops = 0;
    int calls = 0;

    larsctl("route add 305 1 10.0.35.1 80");
    larsctl("route add 305 1 10.0.35.2 80");
    wait_route(0, 305, 1, 2);
    assert_int_equal(e2e_set_rcvbuf(agent[0], 3, 4 << 20), 0);
    c = client(0, 300, 10);
    for (int k = 0; k < 3; k++)
        drops0 += e2e_udp_drops(base[0] + k);

    assert_int_equal(pthread_create(&tid, NULL, flood_thread, &f), 0);
    while (!atomic_load(&f.done) && calls < 3000) {
        drive(c, &t, 1, 0);
        calls++;
    }
    pthread_join(tid, NULL);
    drive(c, &t, 10, 0);
    printf("# flood: %u+%u datagrams, dns %u/%u/%u, reporter %u/%u/%u frames; %d real calls\n",
           f.udp_malformed, f.udp_unknown, f.tcp_bad_frames[0], f.tcp_bad_bodies[0],
           f.tcp_unknown[0], f.tcp_bad_frames[1], f.tcp_bad_bodies[1], f.tcp_unknown[1], calls);

    /* Real traffic: every call answered (drive asserts), every report counted. */
    expect_rows(0, &t);
    larsctl("route add 305 1 10.0.35.3 80");
    wait_route(0, 305, 1, 3);

    for (int k = 0; k < 3; k++)
        drops += e2e_udp_drops(base[0] + k);
    drops -= drops0;
    /* Every bad datagram the kernel delivered is counted (with a 4 MB
     * buffer none should be lost, but that is the kernel's business). */
    assert_true(f.udp_malformed > 0 && f.udp_unknown > 0 && f.tcp_bad_frames[0] > 0 &&
                f.tcp_unknown[1] > 0);
    assert_true(
        e2e_wait_counter(agent[0], "malformed ", a_mal + sub0(f.udp_malformed, drops), WAIT_MS));
    assert_true(
        e2e_wait_counter(agent[0], "unknown msgid ", a_unk + sub0(f.udp_unknown, drops), WAIT_MS));
    assert_true(e2e_wait_counter(dns, "bad frames ", d_frames + f.tcp_bad_frames[0], WAIT_MS));
    assert_true(e2e_wait_counter(dns, "bad bodies ", d_bodies + f.tcp_bad_bodies[0], WAIT_MS));
    assert_true(e2e_wait_counter(dns, "unknown msgids ", d_unk + f.tcp_unknown[0], WAIT_MS));
    wait_rep_counter(" bad frames", r_frames + f.tcp_bad_frames[1]);
    wait_rep_counter(" bad bodies", r_bodies + f.tcp_bad_bodies[1]);
    wait_rep_counter(" unknown msgids", r_unk + f.tcp_unknown[1]);
    lars_close(c);
    assert_all_running();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(e2e_mariadb_restart_keeps_serving_and_loses_no_statistics, setup),
        cmocka_unit_test_setup(e2e_dns_restart_two_agents_serve_cache_and_resubscribe, setup),
        cmocka_unit_test_setup(e2e_reporter_down_10s_agents_deliver_newest_counts, setup),
        cmocka_unit_test_setup(e2e_agent_restart_times_out_apps_then_serves_after_reg_init, setup),
        cmocka_unit_test_setup(e2e_thousand_app_threads_all_answered_and_counted, setup),
        cmocka_unit_test_setup(e2e_malformed_flood_counted_while_real_traffic_succeeds, setup),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
