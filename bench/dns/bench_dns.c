/*
 * lars-dns benchmark (make bench-dns): loads 1,000,000 routes (100,000
 * pairs x 10 hosts) into a private MariaDB, starts the real daemon through
 * the test harness and prints: start to READY, the full reload time next to
 * the time of the bare SELECT it streams (baseline, same run), the daemon's
 * RSS, the get_route rate over 16 connections next to a bare-epoll server
 * answering from pre-encoded frames (bench/dns/baseline_dns.c, same run,
 * alternating rounds), and push latency from a committed route change to
 * the subscribed client. Prints, asserts nothing. BENCH_ROUNDS and
 * BENCH_SECONDS change the rate phase's 5 rounds of 2 s (run-all.sh sets
 * them for BENCH_QUICK=1).
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/dns/baseline_dns.h"
#include "harness/harness.h"
#include "harness/mariadb.h"
#include "harness/dns_client.h"

#define PAIRS           100000
#define HOSTS           10
#define ROWS_PER_INSERT 5000
#define CONNS           16
#define MAX_ROUNDS      15
#define DNS_THREADS     4   /* lars-dns' worker loops, and the baseline's threads */
#define POLL_MS         100 /* version_poll_ms, the push latency's baseline */
#define PUSH_SAMPLES    20
#define PUSH_BUDGET_MS  120000
#define FULL_RELOADS    5

static test_mariadb_t db;
static int rate_rounds = 5, rate_seconds = 2; /* BENCH_ROUNDS, BENCH_SECONDS */

static int env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    int n = v && *v ? atoi(v) : def;

    return n < lo ? lo : n > hi ? hi : n;
}

static int load_routes(void)
{
    size_t cap = (size_t)ROWS_PER_INSERT * 48 + 256;
    char *sql = malloc(cap);
    size_t len;
    long row = 0;

    if (!sql)
        return -1;
    if (test_mariadb_exec(&db, "SET unique_checks = 0; START TRANSACTION") < 0)
        goto out_fail;
    while (row < (long)PAIRS * HOSTS) {
        len = (size_t)snprintf(
            sql, cap, "INSERT INTO RouteData (modid, cmdid, serverip, serverport) VALUES ");
        for (int i = 0; i < ROWS_PER_INSERT && row < (long)PAIRS * HOSTS; i++, row++) {
            long pair = row / HOSTS, host = row % HOSTS;
            len += (size_t)snprintf(sql + len, cap - len, "%s(%ld,%ld,%ld,%ld)", i ? "," : "",
                                    pair / 1000 + 1, pair % 1000,
                                    167772160L + host * 65536 + pair % 65536, 9000 + host);
        }
        if (test_mariadb_exec(&db, "%s", sql) < 0)
            goto out_fail;
    }
    free(sql);
    return test_mariadb_exec(&db, "UPDATE RouteVersion SET version = UNIX_TIMESTAMP() WHERE id = 1;"
                                  " COMMIT; SET unique_checks = 1");
out_fail:
    free(sql);
    return -1;
}

/* Baseline: the daemon's query streamed by a bare client, rows discarded. */
static uint64_t bare_select_ms(void)
{
    lars_db_error_t e;
    MYSQL *conn;
    MYSQL_RES *res;
    uint64_t t0, n = 0;

    if (lars_db_connect(&db.settings, &conn, &e) < 0)
        return 0;
    t0 = dns_client_now_ms();
    if (mysql_query(conn, "SELECT modid, cmdid, serverip, serverport FROM RouteData "
                          "ORDER BY modid, cmdid, serverip, serverport") == 0 &&
        (res = mysql_use_result(conn))) {
        while (mysql_fetch_row(res))
            n++;
        mysql_free_result(res);
    }
    t0 = dns_client_now_ms() - t0;
    lars_db_free(conn);
    return n ? t0 : 0;
}

static long status_number(harness_t *h, const char *key)
{
    char buf[1024];
    const char *p = strstr(harness_last_status(h, buf, sizeof(buf)), key);

    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

typedef struct rate_arg {
    int port;
    unsigned seed;
    uint64_t until;
    uint64_t done;
} rate_arg_t;

static void *rate_thread(void *p)
{
    rate_arg_t *a = p;
    int fd = dns_client_connect(a->port);
    dns_route_t r;

    if (fd < 0)
        return NULL;
    while (dns_client_now_ms() < a->until) {
        long pair = rand_r(&a->seed) % PAIRS;
        if (dns_client_get_route(fd, (int32_t)(pair / 1000 + 1), (int32_t)(pair % 1000)) < 0 ||
            dns_client_recv_route(fd, 5000, &r) < 0)
            break;
        a->done++;
    }
    close(fd);
    return NULL;
}

/* get_route requests per second over CONNS connections to port. */
static double rate_of(int port)
{
    pthread_t t[CONNS];
    rate_arg_t a[CONNS];
    uint64_t total = 0, t0 = dns_client_now_ms(), until = t0 + (uint64_t)rate_seconds * 1000;

    for (int i = 0; i < CONNS; i++) {
        a[i] = (rate_arg_t){port, (unsigned)i * 7919u + 1, until, 0};
        pthread_create(&t[i], NULL, rate_thread, &a[i]);
    }
    for (int i = 0; i < CONNS; i++) {
        pthread_join(t[i], NULL);
        total += a[i].done;
    }
    return total * 1000.0 / (double)(dns_client_now_ms() - t0);
}

/* The baseline's table, read pair by pair from the daemon's own SELECT. */
typedef struct route_reader {
    MYSQL_RES *res;
    MYSQL_ROW row; /* read ahead: the first row of the next pair */
} route_reader_t;

static size_t next_route(void *ctx, int32_t *ret_modid, int32_t *ret_cmdid, int32_t *ret_ips,
                         int32_t *ret_ports)
{
    route_reader_t *r = ctx;
    size_t n = 0;

    if (!r->row)
        r->row = mysql_fetch_row(r->res);
    if (!r->row)
        return 0;
    *ret_modid = (int32_t)strtol(r->row[0], NULL, 10);
    *ret_cmdid = (int32_t)strtol(r->row[1], NULL, 10);
    do {
        if (n < BASELINE_DNS_MAX_HOSTS) {
            ret_ips[n] = (int32_t)strtoul(r->row[2], NULL, 10);
            ret_ports[n] = (int32_t)strtol(r->row[3], NULL, 10);
            n++;
        }
        r->row = mysql_fetch_row(r->res);
    } while (r->row && (int32_t)strtol(r->row[0], NULL, 10) == *ret_modid &&
             (int32_t)strtol(r->row[1], NULL, 10) == *ret_cmdid);
    return n;
}

static baseline_dns_t *baseline_start(void)
{
    route_reader_t r = {0};
    baseline_dns_t *b = NULL;
    lars_db_error_t e;
    MYSQL *conn;

    if (lars_db_connect(&db.settings, &conn, &e) < 0)
        return NULL;
    if (mysql_query(conn, "SELECT modid, cmdid, serverip, serverport FROM RouteData "
                          "ORDER BY modid, cmdid") == 0 &&
        (r.res = mysql_use_result(conn))) {
        if (baseline_dns_new(next_route, &r, PAIRS / 1000 + 1, 1000, DNS_THREADS, &b) < 0)
            b = NULL;
        while (mysql_fetch_row(r.res))
            ;
        mysql_free_result(r.res);
    }
    lars_db_free(conn);
    return b;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void bench_rate(harness_t *h)
{
    double dns[MAX_ROUNDS], base[MAX_ROUNDS], ratio[MAX_ROUNDS];
    baseline_dns_t *b = baseline_start();

    if (!b) {
        printf("dns: get_route baseline server did not start\n");
        return;
    }
    for (int i = 0; i < rate_rounds; i++) {
        /* Alternate who goes first: both share the machine's moment. */
        if (i % 2 == 0) {
            dns[i] = rate_of(harness_port(h, 0));
            base[i] = rate_of(baseline_dns_port(b));
        } else {
            base[i] = rate_of(baseline_dns_port(b));
            dns[i] = rate_of(harness_port(h, 0));
        }
        ratio[i] = base[i] > 0 ? dns[i] / base[i] : 0;
        printf("dns: get_route round %d: lars-dns %.0f req/s, baseline %.0f req/s, ratio %.2f\n",
               i + 1, dns[i], base[i], ratio[i]);
    }
    baseline_dns_free(b);
    qsort(dns, (size_t)rate_rounds, sizeof(double), cmp_double);
    qsort(base, (size_t)rate_rounds, sizeof(double), cmp_double);
    qsort(ratio, (size_t)rate_rounds, sizeof(double), cmp_double);
    printf("dns: get_route, %d connections, one request in flight each: %.0f req/s; baseline, "
           "a bare-epoll server with %d threads answering pre-encoded frames: %.0f req/s; ratio "
           "%.3f (medians of %d rounds of %d s; ratio = median of per-round ratios)\n",
           CONNS, dns[rate_rounds / 2], DNS_THREADS, base[rate_rounds / 2], ratio[rate_rounds / 2],
           rate_rounds, rate_seconds);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static void bench_push(harness_t *h)
{
    uint64_t lat[PUSH_SAMPLES], deadline = dns_client_now_ms() + PUSH_BUDGET_MS;
    int fd = dns_client_connect(harness_port(h, 0)), n = 0;
    dns_route_t r;

    if (fd < 0 || dns_client_get_route(fd, 1, 5) < 0 || dns_client_recv_route(fd, 5000, &r) < 0) {
        printf("dns: push latency: cannot subscribe\n");
        return;
    }
    for (; n < PUSH_SAMPLES && dns_client_now_ms() < deadline; n++) {
        const char *op = n % 2 == 0 ? "INSERT INTO RouteData (modid, cmdid, serverip, serverport) "
                                      "VALUES (1, 5, 1, 1)"
                                    : "DELETE FROM RouteData WHERE modid = 1 AND cmdid = 5 AND "
                                      "serverip = 1 AND serverport = 1";
        uint64_t t0;
        if (test_mariadb_exec(&db,
                              "START TRANSACTION; %s; UPDATE RouteVersion SET version = "
                              "GREATEST(version + 1, UNIX_TIMESTAMP()) WHERE id = 1; INSERT INTO "
                              "RouteChange (modid, cmdid, version) SELECT 1, 5, version FROM "
                              "RouteVersion WHERE id = 1; COMMIT",
                              op) < 0)
            break;
        t0 = dns_client_now_ms();
        if (dns_client_recv_route(fd, 30000, &r) < 0)
            break;
        lat[n] = dns_client_now_ms() - t0;
    }
    close(fd);
    if (n == 0) {
        printf("dns: push latency: no samples\n");
        return;
    }
    qsort(lat, (size_t)n, sizeof(lat[0]), cmp_u64);
    printf("dns: push latency, commit to subscriber (version_poll_ms %d, incremental reload "
           "of the changed pair): p50 %" PRIu64 " ms, p99 %" PRIu64 " ms (%d samples)\n",
           POLL_MS, lat[n / 2], lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], n);
}

/* SIGHUP forces a full reload; each is awaited through its STATUS line. */
static void full_reloads(harness_t *h, long first_ms)
{
    for (int i = 0; i < FULL_RELOADS; i++) {
        harness_signal(h, SIGHUP);
        harness_wait_count(h, "READY=1", 3 + i, 30000);
        sleep(3 + (unsigned)(first_ms > 0 ? 2 * first_ms / 1000 : 0));
    }
}

int main(void)
{
    const char *build = getenv("LARS_BUILD");
    char bin[256], conf[256];
    harness_t *h = NULL;
    uint64_t t0;
    long first_ms;
    FILE *f;

    rate_rounds = env_int("BENCH_ROUNDS", rate_rounds, 1, MAX_ROUNDS);
    rate_seconds = env_int("BENCH_SECONDS", rate_seconds, 1, 60);
    if (test_mariadb_start(&db) < 0)
        return 1;
    t0 = dns_client_now_ms();
    if (load_routes() < 0) {
        test_mariadb_stop(&db);
        return 1;
    }
    printf("dns: loaded %d routes into MariaDB in %.1f s\n", PAIRS * HOSTS,
           (dns_client_now_ms() - t0) / 1000.0);

    snprintf(bin, sizeof(bin), "%s/bin/lars-dns", build ? build : "build");
    snprintf(conf, sizeof(conf), "%s/lars-dns.conf", db.dir);
    f = fopen(conf, "w");
    if (!f) {
        printf("dns: cannot write %s\n", conf);
        goto out;
    }
    fprintf(f,
            "threads = %d;\nversion_poll_ms = %d;\nreload_interval_s = 3600;\n"
            "log_level = \"notice\";\n",
            DNS_THREADS, POLL_MS);
    test_mariadb_conf_snippet(&db, f);
    fclose(f);

    const char *argv[] = {bin, "-c", conf, NULL};
    const harness_socket_t sock = {"tcp:127.0.0.1:0", NULL};
    harness_opts_t o = {.argv = argv, .sockets = &sock, .nsockets = 1};
    t0 = dns_client_now_ms();
    h = harness_start(&o);
    if (!h || !harness_wait_notify(h, "READY=1", 120000)) {
        printf("dns: the daemon did not get ready\n");
        goto out;
    }
    printf("dns: start to READY (first load of 1,000,000 routes included): %" PRIu64 " ms\n",
           dns_client_now_ms() - t0);
    printf("dns: first load: %ld ms; RSS after it: %ld KiB (target <= 98304)\n",
           status_number(h, "last reload "), harness_rss_kib(harness_pid(h)));

    first_ms = status_number(h, "last reload ");
    harness_signal(h, SIGHUP);
    harness_wait_count(h, "READY=1", 2, 30000);
    /* the forced reload runs on the DB loop after READY; STATUS is
     * refreshed every 2 s */
    sleep(3 + (unsigned)(first_ms > 0 ? 2 * first_ms / 1000 : 0));
    printf("dns: full reload + diff: %ld ms; baseline, the same SELECT streamed by a bare "
           "client: %" PRIu64 " ms\n",
           status_number(h, "last reload "), bare_select_ms());
    printf("dns: RSS after a reload: %ld KiB\n", harness_rss_kib(harness_pid(h)));

    bench_rate(h);
    bench_push(h);
    printf("dns: RSS after the pushes: %ld KiB; reloads %ld full, %ld incremental\n",
           harness_rss_kib(harness_pid(h)), status_number(h, "reloads "),
           status_number(h, " full, "));
    full_reloads(h, first_ms);
    printf("dns: RSS at the end, after %d more full reloads: %ld KiB\n", FULL_RELOADS,
           harness_rss_kib(harness_pid(h)));
out:
    if (h)
        harness_stop(h, 10000);
    harness_free(h);
    test_mariadb_stop(&db);
    return 0;
}
