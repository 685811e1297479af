/*
 * bench-reporter: rows/s that lars-reporter upserts into MariaDB for 10,000
 * distinct keys, with batching (batch_rows=500) and, as the baseline in the
 * same run, the same daemon with batch_rows=1, both fed by the same load
 * generator; plus the end-to-end lag (send to row visible) of a marker row
 * sent once a second during the load. Uses a private MariaDB and starts the
 * daemon through the test harness (socket activation).
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
#include "proto/lars.pb-c.h"
#include "tests/lib/harness.h"
#include "tests/lib/mariadb.h"

#define PAIRS 100
#define HOSTS 100 /* PAIRS x HOSTS = 10,000 keys */
#define LOAD_MS 6000
#define ROUND_MS 100
#define MARKER_MODID 999999

static test_mariadb_t db;
static char confdir[64];

typedef struct side {
    const char *name;
    size_t batch_rows;
    double rows_per_s;
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
    Lars__ReportStatusRequest req = LARS__REPORT_STATUS_REQUEST__INIT;
    Lars__HostCallResult items[HOSTS], *ptrs[HOSTS];

    for (int i = 0; i < nhosts; i++) {
        lars__host_call_result__init(&items[i]);
        items[i].ip = 167772160 + i;
        items[i].port = 8000;
        items[i].succ = v;
        items[i].err = v % 7;
        items[i].overload = v % 2;
        ptrs[i] = &items[i];
    }
    req.modid = modid;
    req.cmdid = 1;
    req.caller = 1;
    req.ts = v;
    req.n_results = (size_t)nhosts;
    req.results = ptrs;
    size_t len = lars__report_status_request__pack(&req, buf + RX_FRAME_HDR);
    rx_frame_put_header(buf, LARS__MESSAGE_ID__ID_ReportStatusRequest, (uint32_t)len);
    return RX_FRAME_HDR + len;
}

/* The upserted-row total of the newest STATUS line that differs from prev. */
static uint64_t wait_status_upserted(harness_t *h, const char *prev, char *buf, size_t size,
                                     uint64_t *ret_ms)
{
    for (int i = 0; i < 1000; i++) {
        harness_last_status(h, buf, size);
        if (strcmp(buf, prev) != 0)
            break;
        usleep(5000);
    }
    *ret_ms = harness_now_ms();
    const char *p = strstr(buf, " reports, ");
    return p ? strtoull(p + 10, NULL, 10) : 0;
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

    static uint8_t frames[PAIRS][RX_FRAME_HDR + HOSTS * 24 + 32];
    size_t flen[PAIRS];
    int fd = connect_port(harness_port(h, 0));
    marker_t m = {.port = harness_port(h, 0), .side = side};
    pthread_t marker;
    uint64_t t_start = 0, t_end = 0, up_start = 0, up_end = 0;
    uint64_t load_end = harness_now_ms() + LOAD_MS;
    bool measuring = false;

    pthread_create(&marker, NULL, marker_main, &m);
    for (uint32_t round = 1; harness_now_ms() < load_end; round++) {
        uint64_t t0 = harness_now_ms();
        for (int p = 0; p < PAIRS; p++)
            flen[p] = build_report(frames[p], p + 1, HOSTS, round);
        for (int p = 0; p < PAIRS; p++)
            send_all(fd, frames[p], flen[p]);
        uint64_t spent = harness_now_ms() - t0;
        if (spent < ROUND_MS)
            usleep((useconds_t)(ROUND_MS - spent) * 1000);
        /* After a second of warm-up, the rate is taken between two STATUS lines. */
        if (!measuring && harness_now_ms() > load_end - LOAD_MS + 1000) {
            char now_status[1024];
            harness_last_status(h, now_status, sizeof(now_status));
            up_start = wait_status_upserted(h, now_status, before, sizeof(before), &t_start);
            measuring = true;
        }
    }
    up_end = wait_status_upserted(h, before, after, sizeof(after), &t_end);
    atomic_store(&m.stop, true);
    pthread_join(marker, NULL);
    side->rows_per_s = t_end > t_start ? (double)(up_end - up_start) * 1000.0 / (t_end - t_start) : 0;
    close(fd);
    harness_stop(h, 15000);
    harness_free(h);
    return 0;
}

static void print_side(const side_t *s)
{
    uint64_t lag[16];

    memcpy(lag, s->lag_ms, sizeof(lag));
    qsort(lag, s->nlag, sizeof(lag[0]), cmp_u64);
    printf("  %-22s %10.0f rows/s upserted   marker lag median %4llu ms (n=%u, max %llu ms)\n",
           s->name, s->rows_per_s, s->nlag ? (unsigned long long)lag[s->nlag / 2] : 0ULL,
           s->nlag, s->nlag ? (unsigned long long)lag[s->nlag - 1] : 0ULL);
}

int main(void)
{
    side_t batched = {.name = "batch_rows=500", .batch_rows = 500};
    side_t single = {.name = "batch_rows=1 (baseline)", .batch_rows = 1};
    double load[3] = {0};

    strcpy(confdir, "/tmp/lars-bench-reporter-XXXXXX");
    if (!mkdtemp(confdir) || test_mariadb_start(&db) < 0) {
        fprintf(stderr, "bench-reporter: cannot start MariaDB\n");
        return 1;
    }
    int r = run_side(&batched);
    if (r == 0)
        r = run_side(&single);
    test_mariadb_stop(&db);
    char conf[128];
    snprintf(conf, sizeof(conf), "%s/reporter.conf", confdir);
    unlink(conf);
    rmdir(confdir);
    if (r < 0)
        return 1;

    getloadavg(load, 3);
    printf("bench-reporter: %d distinct keys (%d pairs x %d hosts), every key re-sent every %d ms "
           "for %d ms per side; loadavg %.2f %.2f %.2f\n",
           PAIRS * HOSTS, PAIRS, HOSTS, ROUND_MS, LOAD_MS, load[0], load[1], load[2]);
    print_side(&batched);
    print_side(&single);
    printf("  ratio batched / baseline: %.1fx (target >= 10x)\n",
           single.rows_per_s > 0 ? batched.rows_per_s / single.rows_per_s : 0.0);
    return 0;
}
