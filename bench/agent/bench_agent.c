/*
 * bench-agent: lars-agent as production runs it (private MariaDB, the real
 * lars-dns and lars-reporter behind it, socket-activated), driven by
 * `lars bench` (get_host + report per call) with 1, 2 and 16 client
 * threads over 30 pairs spread on the three shards, next to baseline_udp
 * (three blocking recvfrom/sendto threads answering a fixed host) driven by
 * the same client in the same run. Rounds alternate agent and baseline;
 * medians are printed with the load average, and the ratio as the median
 * of the per-round ratios (a round's two runs are adjacent in time, so
 * they share the machine's load of the moment). Then the agent's RSS with
 * 10,000 pairs x 10 hosts cached. Prints, asserts nothing; one RESULT line
 * per figure for bench/collect.sh. BENCH_ROUNDS, BENCH_SECONDS and
 * BENCH_THREADS change the defaults (9 rounds of 2 s at 1, 2, 16 threads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/lars.h"
#include "harness/harness.h"
#include "harness/mariadb.h"

#define MAX_ROUNDS 15
#define PAIRS      30
#define RSS_PAIRS  10000

static test_mariadb_t db;
static char dir[64];
static const char *build;
/* BENCH_ROUNDS, BENCH_SECONDS, BENCH_THREADS ("1 2 16") override these. */
static int rounds = 9, seconds = 2;

typedef struct sample {
    double qps;
    unsigned p50, p99;
} sample_t;

static int env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    int n = v && *v ? atoi(v) : def;

    return n < lo ? lo : n > hi ? hi : n;
}

static harness_t *start(const char *prog, const char *conf, const harness_socket_t *s, size_t n)
{
    char path[256], binp[256];
    harness_t *h;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.conf", dir, prog);
    snprintf(binp, sizeof(binp), "%s/bin/%s", build, prog);
    f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(conf, f);
    if (strcmp(prog, "lars-agent") != 0)
        test_mariadb_conf_snippet(&db, f);
    fclose(f);
    const char *argv[] = {binp, "-c", path, NULL};
    harness_opts_t o = {.argv = argv, .sockets = s, .nsockets = n};
    h = harness_start(&o);
    if (h && !harness_wait_notify(h, "READY=1", 30000)) {
        harness_dump_log(h);
        harness_free(h);
        return NULL;
    }
    return h;
}

static int run_bench(int port, int threads, sample_t *ret)
{
    char cmd[512], line[512];
    FILE *p;
    int ok = 0;

    snprintf(cmd, sizeof(cmd),
             "%s/bin/lars bench --port %d --threads %d --seconds %d --modid 1 --cmdid 1-%d 2>&1",
             build, port, threads, seconds, PAIRS);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p)) {
        char *s;
        if (strncmp(line, "total:", 6) == 0 && (s = strstr(line, "calls")))
            ok += sscanf(s, "calls %lf", &ret->qps) == 1;
        if ((s = strstr(line, "p50 ")))
            ok += sscanf(s, "p50 %u us, p99 %u us", &ret->p50, &ret->p99) == 2;
    }
    pclose(p);
    return ok == 2 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static sample_t median(const sample_t *s, int n)
{
    double q[MAX_ROUNDS];
    unsigned a[MAX_ROUNDS], b[MAX_ROUNDS];

    for (int i = 0; i < n; i++) {
        q[i] = s[i].qps;
        a[i] = s[i].p50;
        b[i] = s[i].p99;
    }
    qsort(q, (size_t)n, sizeof(q[0]), cmp_double);
    qsort(a, (size_t)n, sizeof(a[0]), cmp_uint);
    qsort(b, (size_t)n, sizeof(b[0]), cmp_uint);
    return (sample_t){q[n / 2], a[n / 2], b[n / 2]};
}

static void bench_rss(harness_t *agent, int base)
{
    lars_options_t o = {.base_port = base, .timeout_ms = 200, .tries = 3};
    lars_client_t *c = lars_open(&o, NULL);
    long before = harness_rss_kib(harness_pid(agent));
    int missing = RSS_PAIRS;
    size_t n;

    if (!c || test_mariadb_exec(&db,
                                "INSERT INTO RouteData (modid, cmdid, serverip, serverport) SELECT "
                                "2, a.seq, 167772160 + b.seq, 8000 FROM seq_1_to_%d a, "
                                "seq_1_to_10 b; UPDATE RouteVersion SET version = version + 1",
                                RSS_PAIRS) < 0) {
        printf("rss: cannot load %d pairs\n", RSS_PAIRS);
        lars_close(c);
        return;
    }
    sleep(2); /* lars-dns polls the version */
    for (int round = 0; round < 60 && missing > 0; round++) {
        missing = 0;
        for (int i = 1; i <= RSS_PAIRS; i++)
            if (lars_get_route(c, 2, i, NULL, 0, &n) != LARS_SUCC || n != 10)
                missing++;
        if (missing)
            sleep(1);
    }
    long after = harness_rss_kib(harness_pid(agent));
    printf("agent RSS: %ld KiB before, %ld KiB with %d pairs x 10 hosts cached (%d pairs "
           "incomplete); target <= 32768 KiB\n",
           before, after, RSS_PAIRS, missing);
    printf("RESULT bench=agent metric=rss_kib_10k_pairs value=%ld baseline=- ratio=- "
           "target=\"<=32768\" unit=KiB note=\"%d pairs x 10 hosts cached, %d incomplete; "
           "%ld KiB at start\"\n",
           missing ? -1 : after, RSS_PAIRS, missing, before);
    lars_close(c);
}

int main(void)
{
    int threads[8] = {1, 2, 16};
    size_t nthreads = 3;
    const char *tl = getenv("BENCH_THREADS");
    harness_t *dns = NULL, *rep = NULL, *agent = NULL, *base_h = NULL;
    char conf[1024], specs[3][64], tmpl[] = "/tmp/lars-bench-agent-XXXXXX", bport[16];
    harness_socket_t s[3], tcp = {"tcp:127.0.0.1:0", NULL};
    int base = 0, status = 1;
    double load[3];

    build = getenv("LARS_BUILD") ? getenv("LARS_BUILD") : "build";
    rounds = env_int("BENCH_ROUNDS", rounds, 1, MAX_ROUNDS);
    seconds = env_int("BENCH_SECONDS", seconds, 1, 60);
    if (tl && *tl) {
        char *end;
        nthreads = 0;
        for (long v = strtol(tl, &end, 10); end != tl && nthreads < 8; v = strtol(tl, &end, 10)) {
            if (v >= 1 && v <= 256)
                threads[nthreads++] = (int)v;
            tl = end;
        }
    }
    if (!mkdtemp(tmpl))
        return 1;
    if (test_mariadb_start(&db) < 0) {
        rmdir(tmpl);
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s", tmpl);
    dns = start("lars-dns", "threads = 2;\nversion_poll_ms = 200;\n", &tcp, 1);
    rep = start("lars-reporter", "threads = 1;\n", &tcp, 1);
    if (!dns || !rep)
        goto out;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int tries = 0; tries < 10 && !agent; tries++) {
        base = 20000 + rand() % 30000;
        snprintf(conf, sizeof(conf),
                 "log_level = \"notice\";\nbase_port = %d;\ncaller_ip = \"10.9.9.9\";\n"
                 "dns = { servers = [\"127.0.0.1:%d\"]; };\n"
                 "reporter = { servers = [\"127.0.0.1:%d\"]; };\n",
                 base, harness_port(dns, 0), harness_port(rep, 0));
        for (int i = 0; i < 3; i++) {
            snprintf(specs[i], sizeof(specs[i]), "udp:127.0.0.1:%d", base + i);
            s[i] = (harness_socket_t){specs[i], "shards"};
        }
        agent = start("lars-agent", conf, s, 3);
    }
    if (!agent)
        goto out;
    if (test_mariadb_exec(&db,
                          "INSERT INTO RouteData (modid, cmdid, serverip, serverport) SELECT 1, "
                          "a.seq, 167772160 + b.seq, 7000 FROM seq_1_to_%d a, seq_1_to_3 b; "
                          "UPDATE RouteVersion SET version = version + 1",
                          PAIRS) < 0)
        goto out;
    snprintf(bport, sizeof(bport), "%d", base + 3);
    {
        char bin_path[256];
        snprintf(bin_path, sizeof(bin_path), "%s/bench/baseline_udp", build);
        const char *argv[] = {bin_path, bport, NULL};
        harness_opts_t o = {.argv = argv};
        base_h = harness_start(&o);
        if (!base_h || !harness_wait_log(base_h, "ready", 10000))
            goto out;
    }
    sleep(1);
    printf("bench-agent: %d pairs, %d s per run, %d rounds, lars bench (get_host + report); "
           "agent pid %d\n",
           PAIRS, seconds, rounds, (int)harness_pid(agent));
    printf("%8s %12s %8s %8s %12s %8s %8s %7s   %s\n", "threads", "agent qps", "p50 us", "p99 us",
           "base qps", "p50 us", "p99 us", "ratio", "per-round ratios");
    for (size_t t = 0; t < nthreads; t++) {
        sample_t a[MAX_ROUNDS], b[MAX_ROUNDS], ma, mb;
        char per[256] = "";
        size_t plen = 0;
        double ratios[MAX_ROUNDS], ratio;
        for (int r = 0; r < rounds; r++) {
            bool agent_first = r % 2 == 0;
            if (run_bench(agent_first ? base : base + 3, threads[t], agent_first ? &a[r] : &b[r]) <
                    0 ||
                run_bench(agent_first ? base + 3 : base, threads[t], agent_first ? &b[r] : &a[r]) <
                    0) {
                printf("lars bench failed (threads %d)\n", threads[t]);
                goto out;
            }
            ratios[r] = b[r].qps > 0 ? a[r].qps / b[r].qps : 0;
            if (plen < sizeof(per))
                plen += (size_t)snprintf(per + plen, sizeof(per) - plen, " %.2f", ratios[r]);
        }
        ma = median(a, rounds);
        mb = median(b, rounds);
        qsort(ratios, (size_t)rounds, sizeof(ratios[0]), cmp_double);
        ratio = ratios[rounds / 2];
        printf("%8d %12.0f %8u %8u %12.0f %8u %8u %7.2f  %s (ratio of medians %.2f)\n", threads[t],
               ma.qps, ma.p50, ma.p99, mb.qps, mb.p50, mb.p99, ratio, per,
               mb.qps > 0 ? ma.qps / mb.qps : 0);
        printf("RESULT bench=agent metric=qps_t%d value=%.0f baseline=%.0f ratio=%.3f "
               "target=\">=%s\" unit=calls/s note=\"get_host+report, %d client thread(s), "
               "medians of %d rounds, ratio = median of per-round ratios; baseline: blocking "
               "recvfrom/sendto UDP server\"\n",
               threads[t], ma.qps, mb.qps, ratio, threads[t] == 1 ? "0.8" : "0.9", threads[t],
               rounds);
        printf("RESULT bench=agent metric=p99_us_t%d value=%u baseline=%u ratio=- target=- "
               "unit=us note=\"get_host latency p99 (median of rounds)\"\n",
               threads[t], ma.p99, mb.p99);
        fflush(stdout);
    }
    if (getloadavg(load, 3) == 3)
        printf("load average: %.2f %.2f %.2f (2 vCPU shared; compare only within this run)\n",
               load[0], load[1], load[2]);
    printf("targets: ratio >= 0.9 at 2 and 16 threads, >= 0.8 at 1 thread\n");
    if (getenv("BENCH_AGENT_NO_RSS")) {
        status = 0;
        goto out;
    }
    bench_rss(agent, base);
    status = 0;
out:
    harness_free(base_h);
    harness_free(agent);
    harness_free(rep);
    harness_free(dns);
    test_mariadb_stop(&db);
    snprintf(conf, sizeof(conf), "rm -rf %s", dir);
    if (system(conf) != 0)
        status = 1;
    return status;
}
