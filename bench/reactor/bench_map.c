/*
 * bench-map: lookups in rx_map (SipHash-1-3 under the process key, chained,
 * intrusive) next to its baseline, the table the agent's route cache used
 * before: linear probing over (key, pointer) slots hashed with murmur3's
 * fmix64, grown at 70 % load. Both hold the same N pairs and look up the
 * same pseudo-random sequence of them, reading the entry found (as get_host
 * reads the balancer); rounds alternate the two and the
 * ratio is the median of the per-round ratios (rx_map lookups/s over the
 * baseline's). Then the cost of inserting keys chosen to collide under
 * fmix64, into each. Prints, asserts nothing; RESULT lines for
 * bench/collect.sh. BENCH_ROUNDS (default 7) and BENCH_MAP_PAIRS (default
 * 10000, the agent's RSS figure) change the defaults.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libreactor/map.h"
#include "harness/colliding_keys.h"

#define LOOKUPS    (4u << 20)
#define MAX_ROUNDS 15

/* ------------------------------------------------------------ baseline -- */

typedef struct old_slot {
    uint64_t key;
    void *value; /* NULL: empty */
} old_slot_t;

typedef struct old_table {
    old_slot_t *slots;
    size_t mask, count;
} old_table_t;

static size_t old_slot_of(const old_slot_t *slots, size_t mask, uint64_t key)
{
    size_t s = old_mix(key) & mask;

    while (slots[s].value && slots[s].key != key)
        s = (s + 1) & mask;
    return s;
}

static void *old_find(const old_table_t *t, uint64_t key)
{
    return t->slots[old_slot_of(t->slots, t->mask, key)].value;
}

static void old_insert(old_table_t *t, uint64_t key, void *value)
{
    if ((t->count + 1) * 10 > (t->mask + 1) * 7) {
        size_t len = (t->mask + 1) * 2;
        old_slot_t *slots = calloc(len, sizeof(*slots));
        if (!slots)
            abort();
        for (size_t s = 0; s <= t->mask; s++)
            if (t->slots[s].value)
                slots[old_slot_of(slots, len - 1, t->slots[s].key)] = t->slots[s];
        free(t->slots);
        t->slots = slots;
        t->mask = len - 1;
    }
    t->slots[old_slot_of(t->slots, t->mask, key)] = (old_slot_t){key, value};
    t->count++;
}

static void old_init(old_table_t *t)
{
    *t = (old_table_t){.slots = calloc(64, sizeof(old_slot_t)), .mask = 63};
    if (!t->slots)
        abort();
}

/* -------------------------------------------------------------- rx_map -- */

typedef struct pair_key {
    int32_t modid, cmdid;
} pair_key_t;

typedef struct entry {
    rx_map_node_t node;
    pair_key_t key;
    uint32_t next; /* the pair looked up after this one in chained runs */
} entry_t;

static const rx_map_type_t entry_type = {
    .key_len = sizeof(pair_key_t),
    .key_offset = RX_MAP_KEY_OFFSET(entry_t, key, node),
};

static pair_key_t pair_of(uint64_t k)
{
    return (pair_key_t){(int32_t)(uint32_t)(k >> 32), (int32_t)(uint32_t)k};
}

/* ------------------------------------------------------------- driver -- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    int n = v && *v ? atoi(v) : def;

    return n < lo ? lo : n > hi ? hi : n;
}

static uintptr_t sink;

/* Lookups of seq[] (independent: the CPU may overlap their cache misses),
 * or with seq NULL a chain where each pair is known only once the previous
 * lookup returned (one request at a time, as a get_host server runs). */
static double run_old(const old_table_t *t, const uint64_t *keys, const uint32_t *seq)
{
    double t0 = now_s();
    uint32_t idx = 0;

    for (uint32_t i = 0; i < LOOKUPS; i++) {
        const entry_t *e = old_find(t, keys[seq ? seq[i] : idx]);
        sink += (uintptr_t)e->key.cmdid;
        idx = e->next;
    }
    return LOOKUPS / (now_s() - t0);
}

static double run_map(rx_map_t *m, const uint64_t *keys, const uint32_t *seq)
{
    double t0 = now_s();
    uint32_t idx = 0;

    for (uint32_t i = 0; i < LOOKUPS; i++) {
        pair_key_t k = pair_of(keys[seq ? seq[i] : idx]);
        const entry_t *e = rx_map_entry(rx_map_find(m, &k), entry_t, node);
        sink += (uintptr_t)e->key.cmdid;
        idx = e->next;
    }
    return LOOKUPS / (now_s() - t0);
}

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void bench_lookups(const char *label, const uint64_t *keys, size_t n, bool chained,
                          int rounds)
{
    old_table_t old;
    rx_map_t m;
    entry_t *e = calloc(n, sizeof(*e));
    uint32_t *seq = malloc(LOOKUPS * sizeof(*seq));
    double vo[MAX_ROUNDS], vn[MAX_ROUNDS], ratio[MAX_ROUNDS];
    uint32_t x = 2463534242u;

    if (!e || !seq)
        abort();
    old_init(&old);
    rx_map_init(&m, &entry_type);
    /* One random cycle through every pair (Sattolo). */
    for (size_t i = 0; i < n; i++)
        e[i].next = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = xorshift(&x) % i;
        uint32_t tmp = e[i].next;
        e[i].next = e[j].next;
        e[j].next = tmp;
    }
    for (size_t i = 0; i < n; i++) {
        e[i].key = pair_of(keys[i]);
        old_insert(&old, keys[i], &e[i]);
        if (rx_map_insert(&m, &e[i].node, &e[i].key) < 0)
            abort();
    }
    for (uint32_t i = 0; i < LOOKUPS; i++)
        seq[i] = xorshift(&x) % n;
    run_old(&old, keys, chained ? NULL : seq); /* warm-up */
    run_map(&m, keys, chained ? NULL : seq);
    for (int r = 0; r < rounds; r++) {
        vo[r] = run_old(&old, keys, chained ? NULL : seq);
        vn[r] = run_map(&m, keys, chained ? NULL : seq);
        ratio[r] = vn[r] / vo[r];
    }
    double mo = median(vo, rounds), mn = median(vn, rounds), mr = median(ratio, rounds);
    printf("%-12s %8zu pairs   rx_map %6.1f ns/lookup   baseline %6.1f ns/lookup   ratio %.2f\n",
           label, n, 1e9 / mn, 1e9 / mo, mr);
    printf("RESULT bench=map metric=lookups_per_s_%s value=%.0f baseline=%.0f ratio=%.3f "
           "target=- unit=lookups/s note=\"%zu pairs, random hits%s, median of %d rounds; "
           "baseline: the route cache before rx_map (linear probing, unkeyed fmix64)\"\n",
           label, mn, mo, mr, n, chained ? " one after the other" : "", rounds);
    rx_map_free(&m);
    free(old.slots);
    free(seq);
    free(e);
}

/* Inserting n keys that collide under fmix64: quadratic for the baseline. */
static void bench_colliding(size_t n)
{
    old_table_t old;
    rx_map_t m;
    rx_map_stats_t st;
    entry_t *e = calloc(n, sizeof(*e));
    double t0, t_old, t_map;

    if (!e)
        abort();
    old_init(&old);
    t0 = now_s();
    for (size_t i = 0; i < n; i++)
        old_insert(&old, colliding_key(i), &e[i]);
    t_old = now_s() - t0;

    rx_map_init(&m, &entry_type);
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        e[i].key = pair_of(colliding_key(i));
        if (rx_map_insert(&m, &e[i].node, &e[i].key) < 0)
            abort();
    }
    t_map = now_s() - t0;
    rx_map_stats(&m, &st);
    printf("colliding    %8zu pairs   rx_map %.4f s (longest chain %zu)   baseline %.4f s   "
           "ratio %.0f\n",
           n, t_map, st.longest_chain, t_old, t_old / t_map);
    printf("RESULT bench=map metric=colliding_insert_s value=%.4f baseline=%.4f ratio=%.1f "
           "target=- unit=s note=\"%zu pairs chosen to collide under fmix64, inserted once; "
           "ratio = baseline time / rx_map time\"\n",
           t_map, t_old, t_old / t_map, n);
    rx_map_free(&m);
    free(old.slots);
    free(e);
}

int main(void)
{
    int rounds = env_int("BENCH_ROUNDS", 7, 1, MAX_ROUNDS);
    size_t n = (size_t)env_int("BENCH_MAP_PAIRS", 10000, 16, 1 << 22);
    uint64_t *keys = calloc(n, sizeof(*keys));

    if (!keys)
        return 1;
    printf("bench-map: %u lookups per run, %d rounds\n", LOOKUPS, rounds);
    /* Pairs as the agent's bench and RSS figure make them. */
    for (size_t i = 0; i < n; i++)
        keys[i] = (uint64_t)(i / 100 * 3) << 32 | (uint32_t)(i % 100 * 3);
    bench_lookups("sequential", keys, n, false, rounds);
    for (size_t i = 0; i < n; i++)
        keys[i] = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull; /* distinct, scattered */
    bench_lookups("scattered", keys, n, false, rounds);
    bench_lookups("chained", keys, n, true, rounds);
    bench_colliding(20000);
    free(keys);
    return (int)(sink & 0);
}
