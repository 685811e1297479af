/*
 * bench-reporter: rows/s that lars-reporter upserts into MariaDB for 10,000
 * distinct keys, with batching (batch_rows=500) and, as the baseline in the
 * same run, the same daemon with batch_rows=1 against the same server, both
 * fed by the same load generator; plus the end-to-end lag (send to row
 * visible) of a marker row sent once a second during the load. The offered
 * load (every key re-sent every 50 ms: 200,000 rows/s) is above what either side writes,
 * so the figures are the daemon's write capacity, not the generator's rate.
 * Runs twice, each time on a fresh private MariaDB: with MariaDB's durable
 * defaults as production runs it (a redo log flush per commit) and with
 * the fast test settings; prints the server settings of each. Starts the
 * daemon through the test harness (socket activation). BENCH_QUICK=1
 * shortens the load; BENCH_REPORTER_PROFILES="production test" picks the
 * profiles.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libreactor/reactor.h"
#include "harness/harness.h"
#include "harness/mariadb.h"
#include "proto/wire.h"

#define PAIRS        100
#define HOSTS        100 /* PAIRS x HOSTS = 10,000 keys */
#define VARIANTS     8   /* distinct value sets the load cycles through */
#define MARKER_MODID 999999

static test_mariadb_t db;
static char confdir[64];
static int load_ms = 6000;
static int round_ms = 50; /* BENCH_REPORTER_ROUND_MS */

typedef struct side {
    const char *name;
    size_t batch_rows;
    double rows_per_s;
    double offered_per_s;
    double rows_per_stmt;
    uint64_t dropped;
    uint64_t lag_ms[16];
    unsigned nlag;
} side_t;

static int connect_port(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* One frame: a pair's report with HOSTS results of value v. */
static size_t build_report(uint8_t *buf, int32_t modid, int nhosts, uint32_t v)
{
    wire_call_result_t items[HOSTS];
    size_t len;

    for (int i = 0; i < nhosts; i++)
        items[i] = (wire_call_result_t){167772160 + i, 8000, v, v % 7, v % 2};
    len = wire_encode_report_status(buf + RX_FRAME_HDR, modid, 1, 1, items, (size_t)nhosts, v);
    rx_frame_put_header(buf, WIRE_ID_REPORT_STATUS_REQUEST, (uint32_t)len);
    return RX_FRAME_HDR + len;
}

/* Writer totals of a STATUS line. */
typedef struct status_totals {
    uint64_t rows, statements, dropped;
} status_totals_t;

static uint64_t status_field(const char *buf, const char *after)
{
    const char *p = strstr(buf, after);
    return p ? strtoull(p + strlen(after), NULL, 10) : 0;
}

/* The totals of the newest STATUS line that differs from prev. */
static status_totals_t wait_status(harness_t *h, const char *prev, char *buf, size_t size,
                                   uint64_t *ret_ms)
{
    for (int i = 0; i < 1000; i++) {
        harness_last_status(h, buf, size);
        if (strcmp(buf, prev) != 0)
            break;
        usleep(5000);
    }
    *ret_ms = harness_now_ms();
    return (status_totals_t){
        .rows = status_field(buf, " reports, "),
        .statements = status_field(buf, " rows upserted in "),
        .dropped = status_field(buf, " pending, "),
    };
}

typedef struct marker {
    int port;
    _Atomic bool stop;
    side_t *side;
} marker_t;

static void *marker_main(void *arg)
{
    marker_t *m = arg;
    MYSQL *conn;
    lars_db_error_t err;
    uint8_t buf[256];
    char sql[128];
    int fd = connect_port(m->port);

    if (lars_db_connect(&db.settings, &conn, &err) < 0) {
        fprintf(stderr, "marker: %s\n", err.msg);
        return NULL;
    }
    for (uint32_t seq = 1; !atomic_load(&m->stop) && m->side->nlag < 16; seq++) {
        size_t n = build_report(buf, MARKER_MODID, 1, seq);
        uint64_t t0 = harness_now_ms();
        send_all(fd, buf, n);
        snprintf(sql, sizeof(sql),
                 "SELECT COUNT(*) FROM ServerCallStatus WHERE modid=%d AND succ_cnt=%u",
                 MARKER_MODID, seq);
        uint64_t found = 0;
        while (!atomic_load(&m->stop) && harness_now_ms() - t0 < 10000) {
            if (lars_db_query_u64(conn, sql, &found, &err) == 0 && found)
                break;
            usleep(2000);
        }
        if (found)
            m->side->lag_ms[m->side->nlag++] = harness_now_ms() - t0;
        usleep(1000 * 1000);
    }
    lars_db_free(conn);
    close(fd);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_side(side_t *side)
{
    char conf[128], bin[512], before[1024] = "", after[1024];
    const char *build = getenv("LARS_BUILD");
    FILE *f;

    test_mariadb_exec(&db, "DELETE FROM ServerCallStatus");
    snprintf(conf, sizeof(conf), "%s/reporter.conf", confdir);
    f = fopen(conf, "w");
    test_mariadb_conf_snippet(&db, f);
    fprintf(f, "log_level = \"notice\";\nbatch_rows = %zu;\nbatch_ms = 100;\n", side->batch_rows);
    fclose(f);
    snprintf(bin, sizeof(bin), "%s/bin/lars-reporter", build ? build : "build");
    const char *argv[] = {bin, "-c", conf, NULL};
    const harness_socket_t socks[] = {{"tcp:127.0.0.1:0", NULL}};
    harness_opts_t o = {.argv = argv, .sockets = socks, .nsockets = 1};
    harness_t *h = harness_start(&o);
    if (!h || !harness_wait_status(h, "DB up", 20000)) {
        fprintf(stderr, "%s: daemon did not come up\n", side->name);
        harness_free(h);
        return -1;
    }

    /* Packed once: the generator then costs the machine only its writes.
     * Consecutive rounds carry different values, so every upsert changes
     * its row. */
    static uint8_t frames[VARIANTS][PAIRS][RX_FRAME_HDR + HOSTS * 24 + 32];
    static size_t flen[VARIANTS][PAIRS];
    int fd = connect_port(harness_port(h, 0));
    marker_t m = {.port = harness_port(h, 0), .side = side};
    pthread_t marker;
    uint64_t t_start = 0, t_end = 0, sent_start = 0, sent = 0;
    status_totals_t up_start = {0}, up_end;
    uint64_t load_end = harness_now_ms() + (uint64_t)load_ms;
    bool measuring = false;

    pthread_create(&marker, NULL, marker_main, &m);
    for (uint32_t v = 0; v < VARIANTS; v++)
        for (int p = 0; p < PAIRS; p++)
            if (!flen[v][p])
                flen[v][p] = build_report(frames[v][p], p + 1, HOSTS, v + 1);
    for (uint32_t round = 1; harness_now_ms() < load_end; round++) {
        uint64_t t0 = harness_now_ms();
        for (int p = 0; p < PAIRS; p++)
            send_all(fd, frames[round % VARIANTS][p], flen[round % VARIANTS][p]);
        sent += PAIRS * HOSTS;
        uint64_t spent = harness_now_ms() - t0;
        if (spent < (uint64_t)round_ms)
            usleep((useconds_t)((uint64_t)round_ms - spent) * 1000);
        /* After a second of warm-up, the rate is taken between two STATUS lines. */
        if (!measuring && harness_now_ms() > load_end - (uint64_t)load_ms + 1000) {
            char now_status[1024];
            harness_last_status(h, now_status, sizeof(now_status));
            up_start = wait_status(h, now_status, before, sizeof(before), &t_start);
            sent_start = sent;
            measuring = true;
        }
    }
    uint64_t sent_end = sent, t_sent = harness_now_ms();
    up_end = wait_status(h, before, after, sizeof(after), &t_end);
    atomic_store(&m.stop, true);
    pthread_join(marker, NULL);
    side->rows_per_s =
        t_end > t_start ? (double)(up_end.rows - up_start.rows) * 1000.0 / (t_end - t_start) : 0;
    side->offered_per_s =
        t_sent > t_start ? (double)(sent_end - sent_start) * 1000.0 / (t_sent - t_start) : 0;
    side->rows_per_stmt = up_end.statements > up_start.statements
                              ? (double)(up_end.rows - up_start.rows) /
                                    (double)(up_end.statements - up_start.statements)
                              : 0;
    side->dropped = up_end.dropped;
    close(fd);
    harness_stop(h, 15000);
    harness_free(h);
    return 0;
}

static unsigned long long lag_median(const side_t *s)
{
    uint64_t lag[16];

    if (!s->nlag)
        return 0;
    memcpy(lag, s->lag_ms, sizeof(lag));
    qsort(lag, s->nlag, sizeof(lag[0]), cmp_u64);
    return (unsigned long long)lag[s->nlag / 2];
}

static void print_side(const side_t *s)
{
    uint64_t lag[16];

    memcpy(lag, s->lag_ms, sizeof(lag));
    qsort(lag, s->nlag, sizeof(lag[0]), cmp_u64);
    printf("  %-24s %9.0f rows/s upserted (%.0f offered), %6.1f rows/statement, %llu dropped; "
           "marker lag median %4llu ms (n=%u, max %llu ms)\n",
           s->name, s->rows_per_s, s->offered_per_s, s->rows_per_stmt,
           (unsigned long long)s->dropped, s->nlag ? (unsigned long long)lag[s->nlag / 2] : 0ULL,
           s->nlag, s->nlag ? (unsigned long long)lag[s->nlag - 1] : 0ULL);
}

/* The server variables that decide what a commit costs, as one line. */
static void describe_server(char *buf, size_t size)
{
    static const char *const vars[] = {
        "innodb_flush_log_at_trx_commit",
        "innodb_doublewrite",
        "innodb_flush_method",
        "innodb_buffer_pool_size",
        "innodb_log_file_size",
        "innodb_use_native_aio",
        "log_bin",
        "sync_binlog",
        "version",
    };
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && len < size; i++) {
        char v[128];
        if (test_mariadb_query_str(&db, v, sizeof(v), "SELECT @@%s", vars[i]) < 0)
            snprintf(v, sizeof(v), "?");
        len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", i ? " " : "", vars[i], v);
    }
}

/* One profile: a fresh MariaDB, the batched side, then the baseline. */
static int run_profile(const char *profile)
{
    side_t batched = {.name = "batch_rows=500", .batch_rows = 500};
    side_t single = {.name = "batch_rows=1 (baseline)", .batch_rows = 1};
    bool production = strcmp(profile, "production") == 0;
    char settings[1024];
    double load[3] = {0};
    int r;

    setenv("LARS_TEST_MARIADB_PROFILE", profile, 1);
    if (test_mariadb_start(&db) < 0) {
        fprintf(stderr, "bench-reporter: cannot start MariaDB (%s)\n", profile);
        return -1;
    }
    describe_server(settings, sizeof(settings));
    r = run_side(&batched);
    if (r == 0)
        r = run_side(&single);
    test_mariadb_stop(&db);
    if (r < 0)
        return -1;

    getloadavg(load, 3);
    printf("bench-reporter, MariaDB %s settings: %d distinct keys (%d pairs x %d hosts), every "
           "key re-sent every %d ms for %d ms per side; loadavg %.2f %.2f %.2f\n",
           production ? "production-like (defaults)" : "test (fast)", PAIRS * HOSTS, PAIRS, HOSTS,
           round_ms, load_ms, load[0], load[1], load[2]);
    printf("  server: %s\n", settings);
    print_side(&batched);
    print_side(&single);
    double ratio = single.rows_per_s > 0 ? batched.rows_per_s / single.rows_per_s : 0.0;
    printf("  ratio batched / baseline: %.1fx%s\n", ratio,
           production ? " (target >= 10x)" : " (test settings: for comparison only)");
    printf("RESULT bench=reporter metric=rows_per_s_%s value=%.0f baseline=%.0f ratio=%.2f "
           "target=\"%s\" unit=rows/s note=\"MariaDB %s (innodb_flush_log_at_trx_commit=%s); "
           "batch_rows=500 vs 1, same daemon and server; %.0f rows/statement batched, %.0f "
           "rows/s offered%s\"\n",
           profile, batched.rows_per_s, single.rows_per_s, ratio, production ? ">=10" : "-",
           production ? "defaults as in production" : "fast test settings", production ? "1" : "2",
           batched.rows_per_stmt, batched.offered_per_s,
           production ? "" : "; for comparison only, the target is on the production-like figure");
    printf("RESULT bench=reporter metric=marker_lag_ms_%s value=%llu baseline=%llu ratio=- "
           "target=- unit=ms note=\"send to row visible, median, batched vs batch_rows=1\"\n",
           profile, lag_median(&batched), lag_median(&single));
    fflush(stdout);
    return 0;
}

int main(void)
{
    const char *profiles = getenv("BENCH_REPORTER_PROFILES");
    char list[128], *save = NULL, conf[160];
    int status = 0;

    if (getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0)
        load_ms = 3000;
    if (getenv("BENCH_REPORTER_ROUND_MS") && atoi(getenv("BENCH_REPORTER_ROUND_MS")) > 0)
        round_ms = atoi(getenv("BENCH_REPORTER_ROUND_MS"));
    snprintf(list, sizeof(list), "%s", profiles && *profiles ? profiles : "production test");
    strcpy(confdir, "/tmp/lars-bench-reporter-XXXXXX");
    if (!mkdtemp(confdir)) {
        perror("bench-reporter: mkdtemp");
        return 1;
    }
    for (char *p = strtok_r(list, " ,", &save); p; p = strtok_r(NULL, " ,", &save))
        if (run_profile(p) < 0)
            status = 1;
    snprintf(conf, sizeof(conf), "%s/reporter.conf", confdir);
    unlink(conf);
    rmdir(confdir);
    return status;
}
