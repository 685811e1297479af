/*
 * Network edge benchmark (make bench-edge): a well-behaved client's
 * get_route rate and p99 against lars-dns, and lars-dns's VmRSS, while each
 * attack of tests/integration/test_dns_edge.c runs (an idle-connection
 * flood, a subscription flood, a trickling client, clients that never read,
 * keys colliding under the old mixer), next to the same client with no
 * attack: rounds alternate attack and no attack so noise hits both, and
 * the figures are medians of BENCH_ROUNDS rounds of BENCH_SECONDS (3 of
 * 2 s; run-all.sh sets 1 of 1 for BENCH_QUICK=1). Every attack is bounded
 * in connections and rate, runs on loopback only and only while its round
 * does. Prints one line per attack and the RESULT lines bench/collect.sh
 * reads; a figure that could not be measured is FAILED.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "harness/colliding_keys.h"
#include "harness/dns_client.h"
#include "harness/harness.h"
#include "harness/mariadb.h"

#define MODIDS      10
#define CMDIDS      100 /* known pairs: MODIDS x CMDIDS, HOSTS hosts each */
#define HOSTS       3
#define CONNS       4 /* the well-behaved client's connections */
#define DNS_THREADS 2
#define MAX_ROUNDS  15
#define MAX_SAMPLES (1 << 20) /* latencies kept per connection and round */
#define WARMUP_MS   500       /* attack running before the client measures */
#define SETTLE_MS   300       /* after an attack stops */
#define FIRST_FRAME 1000      /* first_frame_timeout_ms (the default is 10 s) */
#define FLOOD       2000      /* idle connections held from 127.0.0.2 */
#define FLOOD_RATE  1000      /* reconnections of refused ones per second, at most */
#define TRICKLERS   200       /* from 127.0.0.4, one byte per TRICKLE_MS each */
#define TRICKLE_MS  100
#define NON_READERS 4    /* from 127.0.0.5 */
#define BATCH       2000 /* requests per write of the subscribing attacks */
#define SUB_PAIRS   1000000
#define COLLIDING   80000

static test_mariadb_t db;
static int rounds = 3, seconds = 2; /* BENCH_ROUNDS, BENCH_SECONDS */
static int port;

static int env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    int n = v && *v ? atoi(v) : def;

    return n < lo ? lo : n > hi ? hi : n;
}

/* A field of /proc/PID/status in KiB ("VmRSS:", "VmHWM:"), or -1. */
static long proc_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, strlen(field)) == 0) {
            v = strtol(line + strlen(field), NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* ------------------------------------------------- well-behaved client -- */

typedef struct client_arg {
    unsigned seed;
    uint64_t until;
    uint64_t done;
    size_t n;
    uint32_t *lat_us;
    bool failed;
} client_arg_t;

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void *client_thread(void *p)
{
    client_arg_t *a = p;
    int fd = dns_client_connect(port);
    dns_route_t r;

    if (fd < 0) {
        a->failed = true;
        return NULL;
    }
    while (dns_client_now_ms() < a->until) {
        int pair = rand_r(&a->seed) % (MODIDS * CMDIDS);
        uint64_t t0 = now_us();
        if (dns_client_get_route(fd, pair / CMDIDS + 1, pair % CMDIDS) < 0 ||
            dns_client_recv_route(fd, 5000, &r) < 0 || r.n != HOSTS) {
            a->failed = true;
            break;
        }
        if (a->n < MAX_SAMPLES)
            a->lat_us[a->n++] = (uint32_t)(now_us() - t0);
        a->done++;
    }
    close(fd);
    return NULL;
}

typedef struct sample {
    double rate;  /* get_route/s; 0: failed */
    double p99;   /* us */
    long rss_kib; /* lars-dns VmRSS at the end of the window */
} sample_t;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* CONNS connections, one request in flight each, for `seconds`. */
static sample_t measure(harness_t *h)
{
    static uint32_t lat[CONNS][MAX_SAMPLES], all[(size_t)CONNS * MAX_SAMPLES];
    pthread_t t[CONNS];
    client_arg_t a[CONNS];
    uint64_t t0 = dns_client_now_ms(), total = 0;
    size_t n = 0;
    bool failed = false;
    sample_t s = {0};

    for (int i = 0; i < CONNS; i++) {
        a[i] = (client_arg_t){.seed = (unsigned)(t0 + (uint64_t)i * 7919u),
                              .until = t0 + (uint64_t)seconds * 1000,
                              .lat_us = lat[i]};
        pthread_create(&t[i], NULL, client_thread, &a[i]);
    }
    for (int i = 0; i < CONNS; i++) {
        pthread_join(t[i], NULL);
        failed |= a[i].failed;
        total += a[i].done;
        memcpy(all + n, a[i].lat_us, a[i].n * sizeof(uint32_t));
        n += a[i].n;
    }
    s.rss_kib = proc_kib(harness_pid(h), "VmRSS:");
    if (failed || n == 0)
        return s;
    qsort(all, n, sizeof(all[0]), cmp_u32);
    s.rate = total * 1000.0 / (double)(dns_client_now_ms() - t0);
    s.p99 = all[n * 99 / 100];
    return s;
}

/* ------------------------------------------------------------ attacks -- */

typedef struct attack {
    const char *name, *what, *steps; /* steps: what `requests` counts */
    void (*run)(struct attack *a);
    atomic_bool stop;
    uint64_t conns, requests; /* what the attacker did, for the report */
} attack_t;

/* A loopback connection from src to lars-dns; non-blocking unless asked. */
static int connect_from(const char *src, bool nonblock, int rcvbuf)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in me = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    int one = 1;

    if (fd < 0)
        return -errno;
    /* The port is chosen at connect(), so the flood's reconnections do not
     * run out of ports. */
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    inet_pton(AF_INET, src, &me.sin_addr);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
        (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
        int err = -errno;
        close(fd);
        return err;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Whether fd's peer has closed (reads and drops what came). */
static bool peer_closed(int fd)
{
    uint8_t buf[4096];
    ssize_t r;

    while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        ;
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

/* FLOOD idle connections from 127.0.0.2; those lars-dns refuses (above
 * max_conns_per_source) or closes are opened again, FLOOD_RATE a second at
 * most. */
static void attack_idle_flood(attack_t *a)
{
    static int fds[FLOOD];
    static struct pollfd pfd[FLOOD];

    for (int i = 0; i < FLOOD; i++)
        fds[i] = -1;
    while (!atomic_load(&a->stop)) {
        int budget = FLOOD_RATE / 50;
        for (int i = 0; i < FLOOD && budget > 0; i++)
            if (fds[i] < 0) {
                fds[i] = connect_from("127.0.0.2", true, 0);
                budget--;
                if (fds[i] >= 0)
                    a->conns++;
            }
        for (int i = 0; i < FLOOD; i++)
            pfd[i] = (struct pollfd){fds[i], POLLIN, 0};
        poll(pfd, FLOOD, 20);
        for (int i = 0; i < FLOOD; i++)
            if (fds[i] >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                peer_closed(fds[i])) {
                close(fds[i]);
                fds[i] = -1;
            }
    }
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static size_t put_get_route(uint8_t *out, int32_t modid, int32_t cmdid)
{
    uint32_t blen = (uint32_t)wire_encode_get_route_req(
        out + 8, &(wire_get_route_req_t){.modid = modid, .cmdid = cmdid});

    for (int b = 0; b < 4; b++) {
        out[b] = (uint8_t)((uint32_t)WIRE_ID_GET_ROUTE_REQUEST >> (8 * b));
        out[4 + b] = (uint8_t)(blen >> (8 * b));
    }
    return 8 + blen;
}

/* Writes BATCH requests for pair(i) .. and reads their replies back.
 * False when the connection failed or the attack was stopped. */
static bool ask_batch(attack_t *a, int fd, uint64_t *i,
                      void (*pair)(uint64_t, int32_t *, int32_t *))
{
    static uint8_t out[BATCH * (8 + WIRE_SMALL_MAX)], in[1 << 16];
    size_t len = 0, have = 0, got = 0;

    for (int k = 0; k < BATCH; k++, (*i)++) {
        int32_t modid, cmdid;
        pair(*i, &modid, &cmdid);
        len += put_get_route(out + len, modid, cmdid);
    }
    if (dns_client_write_all(fd, out, len) < 0)
        return false;
    a->requests += BATCH;
    while (got < BATCH) {
        struct pollfd pfd = {fd, POLLIN, 0};
        size_t off = 0;
        ssize_t r;
        if (atomic_load(&a->stop) || poll(&pfd, 1, 5000) <= 0)
            return false;
        r = recv(fd, in + have, sizeof(in) - have, 0);
        if (r <= 0)
            return false;
        have += (size_t)r;
        while (have - off >= 8) {
            uint32_t flen =
                in[off + 4] | in[off + 5] << 8 | in[off + 6] << 16 | (uint32_t)in[off + 7] << 24;
            if (have - off < 8 + (size_t)flen)
                break;
            off += 8 + flen;
            got++;
        }
        memmove(in, in + off, have - off);
        have -= off;
    }
    return true;
}

static void unknown_pair(uint64_t i, int32_t *modid, int32_t *cmdid)
{
    *modid = 5000000 + (int32_t)((i % SUB_PAIRS) / 1000);
    *cmdid = (int32_t)(i % 1000);
}

static void colliding_pair(uint64_t i, int32_t *modid, int32_t *cmdid)
{
    uint64_t k = colliding_key(i % COLLIDING);

    *modid = (int32_t)(k >> 32);
    *cmdid = (int32_t)k;
}

/* One connection from `src` asking for pair(0), pair(1), ..., BATCH at a
 * time, reconnecting (its subscriptions dropped) every `per_conn` pairs. */
static void ask_pairs(attack_t *a, const char *src, uint64_t per_conn,
                      void (*pair)(uint64_t, int32_t *, int32_t *))
{
    uint64_t i = 0;

    while (!atomic_load(&a->stop)) {
        int fd = connect_from(src, false, 0);
        if (fd < 0)
            return;
        a->conns++;
        for (uint64_t end = i + per_conn; i < end;)
            if (!ask_batch(a, fd, &i, pair))
                break;
        close(fd);
    }
}

/* 1,000,000 distinct unknown pairs on one connection, ten times
 * max_subs_per_conn (100,000), then again on a new one. */
static void attack_sub_flood(attack_t *a)
{
    ask_pairs(a, "127.0.0.3", SUB_PAIRS, unknown_pair);
}

/* 80,000 pairs that shared one bucket under the old mixer, then again on a
 * new connection. */
static void attack_colliding(attack_t *a)
{
    ask_pairs(a, "127.0.0.6", COLLIDING, colliding_pair);
}

/* TRICKLERS connections from 127.0.0.4 each sending the header of a
 * 40-byte frame, then one byte every TRICKLE_MS: never a whole frame
 * before first_frame_timeout_ms. Those closed connect again. */
static void attack_trickle(attack_t *a)
{
    static const uint8_t hdr[8] = {WIRE_ID_GET_ROUTE_REQUEST, 0, 0, 0, 40, 0, 0, 0};
    int fds[TRICKLERS];

    for (int i = 0; i < TRICKLERS; i++)
        fds[i] = -1;
    while (!atomic_load(&a->stop)) {
        for (int i = 0; i < TRICKLERS; i++) {
            uint8_t b = 0;
            if (fds[i] >= 0 && (peer_closed(fds[i]) || send(fds[i], &b, 1, MSG_NOSIGNAL) != 1)) {
                close(fds[i]);
                fds[i] = -1;
            }
            if (fds[i] < 0 && (fds[i] = connect_from("127.0.0.4", false, 0)) >= 0) {
                a->conns++;
                if (dns_client_write_all(fds[i], hdr, sizeof(hdr)) < 0) {
                    close(fds[i]);
                    fds[i] = -1;
                }
            }
        }
        a->requests++;
        usleep(TRICKLE_MS * 1000);
    }
    for (int i = 0; i < TRICKLERS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* NON_READERS connections from 127.0.0.5 with a 4 KiB receive buffer
 * writing get_route requests as fast as lars-dns takes them and reading
 * nothing; lars-dns closes them past max_output_bytes and they connect
 * again. */
static void attack_non_reader(attack_t *a)
{
    static uint8_t out[1000 * (8 + WIRE_SMALL_MAX)];
    size_t len = 0, off[NON_READERS] = {0};
    int fds[NON_READERS];

    for (int k = 0; k < 1000; k++)
        len += put_get_route(out + len, 1 + k % MODIDS, k % CMDIDS);
    for (int i = 0; i < NON_READERS; i++)
        fds[i] = -1;
    while (!atomic_load(&a->stop)) {
        struct pollfd pfd[NON_READERS];
        for (int i = 0; i < NON_READERS; i++) {
            if (fds[i] < 0 && (fds[i] = connect_from("127.0.0.5", true, 4096)) >= 0)
                a->conns++;
            pfd[i] = (struct pollfd){fds[i], POLLOUT, 0};
        }
        poll(pfd, NON_READERS, 10);
        for (int i = 0; i < NON_READERS; i++) {
            ssize_t w;
            if (fds[i] < 0 || !(pfd[i].revents & (POLLOUT | POLLHUP | POLLERR)))
                continue;
            w = send(fds[i], out + off[i], len - off[i], MSG_NOSIGNAL);
            if (w > 0) {
                a->requests += (uint64_t)w / (len / 1000);
                off[i] = (off[i] + (size_t)w) % len;
            } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                close(fds[i]);
                fds[i] = -1;
                off[i] = 0;
            }
        }
    }
    for (int i = 0; i < NON_READERS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void *attack_thread(void *p)
{
    attack_t *a = p;

    a->run(a);
    return NULL;
}

/* ---------------------------------------------------------------- main -- */

static void result(const char *metric, double v, double base, double ratio, bool ok,
                   const char *unit, const char *note)
{
    if (ok)
        printf("RESULT bench=edge metric=%s value=%.0f baseline=%.0f ratio=%.2f target=- "
               "unit=%s note=\"%s\"\n",
               metric, v, base, ratio, unit, note);
    else
        printf("RESULT bench=edge metric=%s value=FAILED baseline=- ratio=- target=- unit=%s "
               "note=\"%s\"\n",
               metric, unit, note);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

/* Alternating rounds of the attack and of none; one line and the RESULT
 * lines. Returns false when a figure is missing. */
static bool bench_attack(harness_t *h, attack_t *a)
{
    double rate[2][MAX_ROUNDS], p99[2][MAX_ROUNDS], rss[MAX_ROUNDS], rss_before[MAX_ROUNDS];
    double rate_r[MAX_ROUNDS], p99_r[MAX_ROUNDS];
    char metric[64], note[512], status[1024];
    bool ok = true;
    long hwm;

    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 2; k++) {
            bool attacked = (k == 0) == (r % 2 == 0); /* attack first in even rounds */
            pthread_t t;
            sample_t s;
            if (attacked) {
                rss_before[r] = (double)proc_kib(harness_pid(h), "VmRSS:");
                atomic_store(&a->stop, false);
                if (pthread_create(&t, NULL, attack_thread, a) != 0) {
                    ok = false;
                    attacked = false;
                }
                usleep(WARMUP_MS * 1000);
            }
            s = measure(h);
            if (attacked) {
                atomic_store(&a->stop, true);
                pthread_join(t, NULL);
                usleep(SETTLE_MS * 1000);
            }
            rate[attacked][r] = s.rate;
            p99[attacked][r] = s.p99;
            if (attacked)
                rss[r] = (double)s.rss_kib;
            ok &= s.rate > 0 && s.rss_kib > 0 && (!attacked || rss_before[r] > 0);
        }
    for (int r = 0; r < rounds; r++) {
        printf("edge: %s: round %d: %.0f req/s, p99 %.0f us, lars-dns VmRSS %.0f KiB (%.0f "
               "before the attack); no attack: %.0f req/s, p99 %.0f us\n",
               a->name, r + 1, rate[1][r], p99[1][r], rss[r], rss_before[r], rate[0][r], p99[0][r]);
        rate_r[r] = rate[0][r] > 0 ? rate[1][r] / rate[0][r] : 0;
        p99_r[r] = p99[0][r] > 0 ? p99[1][r] / p99[0][r] : 0;
    }
    hwm = proc_kib(harness_pid(h), "VmHWM:");
    double ra = median(rate[1], rounds), rb = median(rate[0], rounds);
    double pa = median(p99[1], rounds), pb = median(p99[0], rounds);
    double sa = median(rss, rounds), sb = median(rss_before, rounds);
    double rr = median(rate_r, rounds), pr = median(p99_r, rounds);
    printf("edge: %s (%s; %" PRIu64 " connections, %" PRIu64 " %s): get_route "
           "%.0f req/s (no attack %.0f, ratio %.2f), p99 %.0f us (no attack %.0f, ratio %.2f), "
           "lars-dns VmRSS %.0f KiB (%.0f before the attack), VmHWM so far %ld KiB%s\n",
           a->name, a->what, a->conns, a->requests, a->steps, ra, rb, rr, pa, pb, pr, sa, sb, hwm,
           ok ? "" : "; FAILED: a round did not measure");
    printf("edge: %s: lars-dns STATUS after it: %s\n", a->name,
           harness_last_status(h, status, sizeof(status)));

    snprintf(note, sizeof(note),
             "%s; %d connections one request in flight each, medians of %d alternating rounds "
             "of %d s; baseline: the same client with no attack; ratio = median of per-round "
             "ratios",
             a->what, CONNS, rounds, seconds);
    snprintf(metric, sizeof(metric), "get_route_per_s_%s", a->name);
    result(metric, ra, rb, rr, ok, "req/s", note);
    snprintf(metric, sizeof(metric), "get_route_p99_us_%s", a->name);
    result(metric, pa, pb, pr, ok, "us", note);
    snprintf(metric, sizeof(metric), "rss_kib_%s", a->name);
    snprintf(note, sizeof(note),
             "lars-dns VmRSS at the end of a round with the attack running; baseline: just "
             "before the attack started (medians; what earlier attacks left to malloc counts in "
             "both)");
    result(metric, sa, sb, sb > 0 ? sa / sb : 0, ok, "KiB", note);
    return ok;
}

static attack_t attacks[] = {
    {.name = "idle_flood",
     .what = "2000 idle connections from 127.0.0.2, those closed reopened, max_conns_per_source "
             "512, first_frame_timeout_ms 1000",
     .steps = "requests",
     .run = attack_idle_flood},
    {.name = "sub_flood",
     .what = "one connection asking 1,000,000 distinct pairs 2000 at a time, max_subs_per_conn "
             "100000",
     .steps = "requests",
     .run = attack_sub_flood},
    {.name = "trickle",
     .what = "200 connections trickling a frame at one byte per 100 ms, first_frame_timeout_ms "
             "1000",
     .steps = "rounds of one byte to each",
     .run = attack_trickle},
    {.name = "non_reader",
     .what = "4 connections writing requests and never reading, max_output_bytes 4259840",
     .steps = "requests written",
     .run = attack_non_reader},
    {.name = "colliding",
     .what = "one connection subscribing 80,000 pairs colliding under the old mixer",
     .steps = "requests",
     .run = attack_colliding},
};
#define NATTACKS (sizeof(attacks) / sizeof(attacks[0]))

static int load_routes(void)
{
    char sql[MODIDS * CMDIDS * HOSTS * 48 + 128];
    size_t len = (size_t)snprintf(
        sql, sizeof(sql), "INSERT INTO RouteData (modid, cmdid, serverip, serverport) VALUES ");
    const char *sep = "";

    for (int m = 1; m <= MODIDS; m++)
        for (int c = 0; c < CMDIDS; c++)
            for (int k = 0; k < HOSTS; k++) {
                len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s(%d,%d,%d,%d)", sep, m, c,
                                        167772160 + m * 65536 + c, 9000 + k);
                sep = ",";
            }
    if (test_mariadb_exec(&db, "%s", sql) < 0)
        return -1;
    return test_mariadb_exec(&db,
                             "UPDATE RouteVersion SET version = UNIX_TIMESTAMP() WHERE id = 1");
}

int main(void)
{
    const char *build = getenv("LARS_BUILD");
    char bin[256], conf[256];
    harness_t *h = NULL;
    struct rlimit rl;
    bool ok = false, started = false;
    long hwm0 = -1, hwm;
    FILE *f;

    setvbuf(stdout, NULL, _IOLBF, 0);
    rounds = env_int("BENCH_ROUNDS", rounds, 1, MAX_ROUNDS);
    seconds = env_int("BENCH_SECONDS", seconds, 1, 60);
    /* The flood holds FLOOD sockets; lars-dns inherits the limit. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < FLOOD + 256)
        printf("edge: fd limit %lu is below %d: the idle flood will fall short\n",
               (unsigned long)rl.rlim_cur, FLOOD + 256);
    if (test_mariadb_start(&db) < 0 || load_routes() < 0) {
        printf("edge: FAILED: no private MariaDB with routes\n");
        goto out;
    }
    snprintf(bin, sizeof(bin), "%s/bin/lars-dns", build ? build : "build");
    snprintf(conf, sizeof(conf), "%s/lars-dns.conf", db.dir);
    f = fopen(conf, "w");
    if (!f)
        goto out;
    fprintf(f,
            "threads = %d;\nversion_poll_ms = 100;\nreload_interval_s = 3600;\n"
            "log_level = \"notice\";\nfirst_frame_timeout_ms = %d;\n",
            DNS_THREADS, FIRST_FRAME);
    test_mariadb_conf_snippet(&db, f);
    fclose(f);

    const char *argv[] = {bin, "-c", conf, NULL};
    const harness_socket_t sock = {"tcp:127.0.0.1:0", NULL};
    harness_opts_t o = {.argv = argv, .sockets = &sock, .nsockets = 1};
    h = harness_start(&o);
    if (!h || !harness_wait_notify(h, "READY=1", 60000) ||
        !harness_wait_status(h, "DB up", 30000)) {
        printf("edge: FAILED: lars-dns did not get ready\n");
        goto out;
    }
    port = harness_port(h, 0);
    printf("edge: lars-dns with %d worker loops, %d pairs x %d hosts, shipped edge limits but "
           "first_frame_timeout_ms %d; the well-behaved client: %d connections from 127.0.0.1\n",
           DNS_THREADS, MODIDS * CMDIDS, HOSTS, FIRST_FRAME, CONNS);
    hwm0 = proc_kib(harness_pid(h), "VmHWM:");
    ok = started = true;
    for (size_t i = 0; i < NATTACKS; i++)
        ok &= bench_attack(h, &attacks[i]);
    hwm = proc_kib(harness_pid(h), "VmHWM:");
    if (harness_exited(h, NULL)) {
        printf("edge: FAILED: lars-dns exited during the attacks\n");
        ok = false;
    }
    printf("edge: lars-dns VmHWM %ld KiB after all attacks, %ld KiB before the first\n", hwm, hwm0);
    result("hwm_kib_end", (double)hwm, (double)hwm0, hwm0 > 0 ? (double)hwm / (double)hwm0 : 0,
           hwm > 0 && hwm0 > 0, "KiB",
           "lars-dns VmHWM (peak RSS) after every attack; baseline: before the first");
out:
    if (!started) {
        for (size_t i = 0; i < NATTACKS; i++) {
            char metric[64];
            snprintf(metric, sizeof(metric), "get_route_per_s_%s", attacks[i].name);
            result(metric, 0, 0, 0, false, "req/s", "lars-dns or MariaDB did not start");
        }
    }
    if (h)
        harness_stop(h, 10000);
    harness_free(h);
    test_mariadb_stop(&db);
    return ok ? 0 : 1;
}
