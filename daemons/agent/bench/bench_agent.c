/*
 * bench-agent: lars-agent as production runs it (private MariaDB, the real
 * lars-dns and lars-reporter behind it, socket-activated), driven by
 * `lars bench` (get_host + report per call) with 1, 2 and 16 client
 * threads over 30 pairs spread on the three shards, next to baseline_udp
 * (three blocking recvfrom/sendto threads answering a fixed host) driven by
 * the same client in the same run. Rounds alternate agent and baseline;
 * medians are printed with the ratio and the load average. Then the
 * agent's RSS with 10,000 pairs x 10 hosts cached. Prints, asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/lars.h"
#include "tests/lib/harness.h"
#include "tests/lib/mariadb.h"

#define ROUNDS 3
#define SECONDS 3
#define PAIRS 30
#define RSS_PAIRS 10000

static test_mariadb_t db;
static char dir[64];
static const char *build;

typedef struct sample {
    double qps;
    unsigned p50, p99;
} sample_t;

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
             build, port, threads, SECONDS, PAIRS);
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
    double q[ROUNDS];
    unsigned a[ROUNDS], b[ROUNDS];

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

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static void bench_rss(harness_t *agent, int base)
{
    lars_options_t o = {.base_port = base, .timeout_ms = 200, .tries = 3};
    lars_client_t *c = lars_open(&o, NULL);
    long before = rss_kib(harness_pid(agent));
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
    printf("agent RSS: %ld KiB before, %ld KiB with %d pairs x 10 hosts cached (%d pairs "
           "incomplete); target <= 32768 KiB\n",
           before, rss_kib(harness_pid(agent)), RSS_PAIRS, missing);
    lars_close(c);
}

int main(void)
{
    static const int threads[] = {1, 2, 16};
    harness_t *dns = NULL, *rep = NULL, *agent = NULL, *base_h = NULL;
    char conf[1024], specs[3][64], tmpl[] = "/tmp/lars-bench-agent-XXXXXX", bport[16];
    harness_socket_t s[3], tcp = {"tcp:127.0.0.1:0", NULL};
    int base = 0, status = 1;
    double load[3];

    build = getenv("LARS_BUILD") ? getenv("LARS_BUILD") : "build";
    if (!mkdtemp(tmpl) || test_mariadb_start(&db) < 0)
        return 1;
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
    printf("bench-agent: %d pairs, %d s per run, %d rounds, lars bench (get_host + report)\n",
           PAIRS, SECONDS, ROUNDS);
    printf("%8s %12s %8s %8s %12s %8s %8s %7s\n", "threads", "agent qps", "p50 us", "p99 us",
           "base qps", "p50 us", "p99 us", "ratio");
    for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
        sample_t a[ROUNDS], b[ROUNDS], ma, mb;
        for (int r = 0; r < ROUNDS; r++) {
            bool agent_first = r % 2 == 0;
            if (run_bench(agent_first ? base : base + 3, threads[t], agent_first ? &a[r] : &b[r]) <
                    0 ||
                run_bench(agent_first ? base + 3 : base, threads[t], agent_first ? &b[r] : &a[r]) <
                    0) {
                printf("lars bench failed (threads %d)\n", threads[t]);
                goto out;
            }
        }
        ma = median(a, ROUNDS);
        mb = median(b, ROUNDS);
        printf("%8d %12.0f %8u %8u %12.0f %8u %8u %7.2f\n", threads[t], ma.qps, ma.p50, ma.p99,
               mb.qps, mb.p50, mb.p99, mb.qps > 0 ? ma.qps / mb.qps : 0);
        fflush(stdout);
    }
    if (getloadavg(load, 3) == 3)
        printf("load average: %.2f %.2f %.2f (2 vCPU shared; compare only within this run)\n",
               load[0], load[1], load[2]);
    printf("targets: ratio >= 0.9 at 2 and 16 threads, >= 0.8 at 1 thread\n");
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
