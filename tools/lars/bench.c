/*
 * `lars bench`: the original QPS tool on liblars. N threads, each with its
 * own handle (handles are not shared between threads), loop get_host +
 * report over a range of pairs for a fixed time; prints calls per second per
 * thread and in total, and the get_host latency percentiles.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tools/lars/tool.h"

/* Latency samples kept over all threads; later calls are counted, not timed. */
#define BENCH_MAX_SAMPLES (1u << 22)
/* Pairs warmed up (reg_init) before the clock starts. */
#define BENCH_MAX_WARMUP 1000

typedef struct bench_thread {
    pthread_t tid;
    const tool_opts_t *o;
    uint64_t deadline_us;
    long long n_pairs;
    long calls, succ, overload, noexist, timeout, other;
    uint32_t *lat_us;
    size_t n_lat, cap_lat;
    double seconds;
    int open_err;
} bench_thread_t;

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void pair_at(const tool_opts_t *o, long long i, int *ret_modid, int *ret_cmdid)
{
    long long ncmd = (long long)o->cmdid_hi - o->cmdid_lo + 1;

    *ret_modid = (int)(o->modid_lo + i / ncmd);
    *ret_cmdid = (int)(o->cmdid_lo + i % ncmd);
}

static void bench_count(bench_thread_t *t, int r)
{
    t->calls++;
    t->succ += r == LARS_SUCC;
    t->overload += r == LARS_OVERLOAD;
    t->noexist += r == LARS_NOEXIST;
    t->timeout += r == LARS_TIMEOUT;
    t->other += r != LARS_SUCC && r != LARS_OVERLOAD && r != LARS_NOEXIST && r != LARS_TIMEOUT;
}

static void *bench_thread_run(void *arg)
{
    bench_thread_t *t = arg;
    uint64_t start, t0, t1 = 0;
    lars_client_t *c;
    long long i = 0;

    c = lars_open(&t->o->lars, &t->open_err);
    if (!c)
        return NULL;
    start = now_us();
    for (t1 = start; t1 < t->deadline_us; i = (i + 1) % t->n_pairs) {
        lars_host_t h;
        int modid, cmdid, r;

        pair_at(t->o, i, &modid, &cmdid);
        t0 = now_us();
        r = lars_get_host(c, modid, cmdid, &h);
        t1 = now_us();
        bench_count(t, r);
        if (t->n_lat < t->cap_lat)
            t->lat_us[t->n_lat++] = (uint32_t)(t1 - t0 > UINT32_MAX ? UINT32_MAX : t1 - t0);
        if (r == LARS_SUCC)
            lars_report(c, modid, cmdid, &h, LARS_SUCC);
    }
    t->seconds = (double)(t1 - start) / 1e6;
    lars_close(c);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* Registers the pairs with the agent. Returns LARS_TIMEOUT when the agent
 * does not answer at all, else 0. */
static int bench_warmup(const tool_opts_t *o, long long n_pairs)
{
    lars_client_t *c;
    int modid, cmdid, r;
    size_t n;

    c = lars_open(&o->lars, &r);
    if (!c)
        return r;
    for (long long i = 1; i < n_pairs && i < BENCH_MAX_WARMUP; i++) {
        pair_at(o, i, &modid, &cmdid);
        lars_get_route(c, modid, cmdid, NULL, 0, &n);
    }
    pair_at(o, 0, &modid, &cmdid);
    r = lars_reg_init(c, modid, cmdid);
    lars_close(c);
    return r == LARS_TIMEOUT || r < 0 ? r : 0;
}

static void bench_report(bench_thread_t *ts, int n)
{
    double total_qps = 0;
    uint32_t *all = NULL;
    size_t n_all = 0;
    long calls = 0;

    for (int i = 0; i < n; i++) {
        bench_thread_t *t = &ts[i];
        double qps = t->seconds > 0 ? (double)t->calls / t->seconds : 0;

        total_qps += qps;
        calls += t->calls;
        printf("thread %3d: %9ld calls %10.1f qps  (ok %ld, overload %ld, noexist %ld, "
               "timeout %ld, other %ld)\n",
               i, t->calls, qps, t->succ, t->overload, t->noexist, t->timeout, t->other);
        n_all += t->n_lat;
    }
    printf("total:      %9ld calls %10.1f qps\n", calls, total_qps);

    all = malloc((n_all ? n_all : 1) * sizeof(*all));
    if (!all || n_all == 0) {
        free(all);
        return;
    }
    n_all = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < ts[i].n_lat; k++)
            all[n_all++] = ts[i].lat_us[k];
    qsort(all, n_all, sizeof(*all), cmp_u32);
    printf("get_host latency: p50 %u us, p99 %u us (%zu samples)\n", all[n_all / 2],
           all[n_all * 99 / 100], n_all);
    free(all);
}

int tool_bench(const tool_opts_t *o)
{
    int n = o->threads ? o->threads : 1;
    int seconds = o->seconds ? o->seconds : 5;
    bench_thread_t *ts;
    long long n_pairs;
    int r = 0, started = 0;

    n_pairs =
        ((long long)o->modid_hi - o->modid_lo + 1) * ((long long)o->cmdid_hi - o->cmdid_lo + 1);

    r = bench_warmup(o, n_pairs);
    if (r < 0)
        return tool_exit_for(r, "bench");

    ts = calloc((size_t)n, sizeof(*ts));
    if (!ts)
        return tool_exit_for(-ENOMEM, "bench");
    printf("bench: %d threads, %d s, %lld pairs\n", n, seconds, n_pairs);
    for (int i = 0; i < n; i++) {
        ts[i].o = o;
        ts[i].n_pairs = n_pairs;
        ts[i].deadline_us = now_us() + (uint64_t)seconds * 1000000;
        ts[i].cap_lat = BENCH_MAX_SAMPLES / (unsigned)n;
        ts[i].lat_us = malloc(ts[i].cap_lat * sizeof(uint32_t));
        if (!ts[i].lat_us || pthread_create(&ts[i].tid, NULL, bench_thread_run, &ts[i]) != 0) {
            r = -ENOMEM;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(ts[i].tid, NULL);
        if (ts[i].open_err < 0)
            r = ts[i].open_err;
    }
    if (r == 0)
        bench_report(ts, n);
    for (int i = 0; i < n; i++)
        free(ts[i].lat_us);
    free(ts);
    return tool_exit_for(r, "bench");
}
