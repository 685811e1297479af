/*
 * Unit tests of lars-dns's pure parts: route snapshots (build, lookup,
 * diff) and the per-loop subscription maps; pairs chosen to collide under the
 * mixers these tables used before keep probe runs and chains short
 * (structural figures, not times). (Its bodies are proto/wire.c's, tested in
 * test_wire.c.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemons/dns/route_table.h"
#include "daemons/dns/subs.h"
#include "harness/colliding_keys.h"

typedef struct row {
    int32_t modid, cmdid, ip, port;
} row_t;

static route_table_t *build(const row_t *rows, size_t n, uint64_t version)
{
    route_builder_t *b = route_builder_new();
    route_table_t *t = NULL;

    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            route_builder_add(b, rows[i].modid, rows[i].cmdid, rows[i].ip, rows[i].port), 0);
    assert_int_equal(route_builder_finish(b, version, &t), 0);
    return t;
}

static void route_lookup_finds_hosts_of_sorted_input(void **state)
{
    const row_t rows[] = {{1, 1, 10, 80}, {1, 1, 11, 80}, {1, 2, 12, 81}, {2, 1, 13, 82}};
    route_table_t *t = build(rows, 4, 7);
    const route_pair_t *p;

    assert_int_equal(t->npairs, 3);
    assert_int_equal(t->nhosts, 4);
    assert_int_equal(t->version, 7);
    p = route_table_lookup(t, 1, 1);
    assert_non_null(p);
    assert_int_equal(p->count, 2);
    assert_int_equal(route_pair_hosts(t, p)[0].ip, 10);
    assert_int_equal(route_pair_hosts(t, p)[1].ip, 11);
    p = route_table_lookup(t, 2, 1);
    assert_non_null(p);
    assert_int_equal(p->count, 1);
    assert_int_equal(route_pair_hosts(t, p)[0].port, 82);
    assert_null(route_table_lookup(t, 2, 2));
    assert_null(route_table_lookup(t, 0, 0));
    route_table_free(t);
}

static void route_builder_sorts_unsorted_input_and_drops_duplicates(void **state)
{
    const row_t rows[] = {{5, 5, 3, 1}, {1, 1, 2, 1},   {5, 5, 1, 1},
                          {1, 1, 2, 1}, {-1, 3, -7, 9}, {5, 5, 3, 1}};
    route_table_t *t = build(rows, 6, 1);
    const route_pair_t *p;

    assert_int_equal(t->npairs, 3);
    assert_int_equal(t->nhosts, 4);
    /* unsigned order: modid 0xffffffff sorts last */
    assert_int_equal(t->pairs[0].modid, 1);
    assert_int_equal(t->pairs[1].modid, 5);
    assert_int_equal(t->pairs[2].modid, -1);
    p = route_table_lookup(t, 5, 5);
    assert_non_null(p);
    assert_int_equal(p->count, 2);
    assert_int_equal(route_pair_hosts(t, p)[0].ip, 1);
    assert_int_equal(route_pair_hosts(t, p)[1].ip, 3);
    p = route_table_lookup(t, -1, 3);
    assert_non_null(p);
    assert_int_equal(route_pair_hosts(t, p)[0].ip, -7);
    route_table_free(t);
}

static void route_lookup_in_empty_table_finds_nothing(void **state)
{
    route_table_t *t = route_table_new_empty();

    assert_non_null(t);
    assert_int_equal(t->npairs, 0);
    assert_null(route_table_lookup(t, 1, 1));
    route_table_free(t);
    route_table_free(NULL);
}

static void route_lookup_finds_every_pair_of_a_large_table(void **state)
{
    route_builder_t *b = route_builder_new();
    route_table_t *t = NULL;

    for (int32_t m = 0; m < 200; m++)
        for (int32_t c = 0; c < 50; c++)
            for (int32_t h = 0; h < 3; h++)
                assert_int_equal(route_builder_add(b, m, c, h * 1000 + m, 9000 + c), 0);
    assert_int_equal(route_builder_finish(b, 1, &t), 0);
    assert_int_equal(t->npairs, 10000);
    assert_int_equal(t->nhosts, 30000);
    for (int32_t m = 0; m < 200; m++)
        for (int32_t c = 0; c < 50; c++) {
            const route_pair_t *p = route_table_lookup(t, m, c);
            assert_non_null(p);
            assert_int_equal(p->count, 3);
            assert_int_equal(route_pair_hosts(t, p)[2].ip, 2000 + m);
            assert_int_equal(route_pair_hosts(t, p)[2].port, 9000 + c);
        }
    assert_null(route_table_lookup(t, 200, 0));
    route_table_free(t);
}

/* The index's old hash, splitmix64's finaliser, inverted: x ^= x >> s is
 * undone by x ^ x >> s ^ x >> 2s ^ ... */
static uint64_t unxorshift(uint64_t y, int s)
{
    uint64_t x = y;

    for (int k = s; k < 64; k += s)
        x ^= y >> k;
    return x;
}

static uint64_t old_splitmix_unmix(uint64_t h)
{
    h = unxorshift(h, 31);
    h *= inverse_odd(0x94d049bb133111ebULL);
    h = unxorshift(h, 27);
    h *= inverse_odd(0xbf58476d1ce4e5b9ULL);
    return unxorshift(h, 30);
}

/* 80,000 pairs whose old hashes share 18 low bits: one probe run through
 * the whole index on main (its 262,144 slots). */
static void route_index_of_chosen_pairs_keeps_probes_short(void **state)
{
    enum { N = 80000 };
    route_builder_t *b = route_builder_new();
    route_table_t *t = NULL;

    assert_non_null(b);
    for (uint64_t i = 0; i < N; i++) {
        uint64_t k = old_splitmix_unmix((i + 1) << 18);
        assert_int_equal(route_builder_add(b, (int32_t)(k >> 32), (int32_t)k, 1, 80), 0);
    }
    assert_int_equal(route_builder_finish(b, 1, &t), 0);
    assert_int_equal(t->npairs, N);
    printf("# %d chosen pairs: longest probe %zu in %zu slots\n", N, route_table_longest_probe(t),
           t->index_mask + 1);
    assert_true(route_table_longest_probe(t) <= 64);
    for (size_t i = 0; i < N; i += 89)
        assert_ptr_equal(route_table_lookup(t, t->pairs[i].modid, t->pairs[i].cmdid), &t->pairs[i]);
    route_table_free(t);
}

typedef struct diff_out {
    int32_t modid[16], cmdid[16];
    size_t n;
} diff_out_t;

static void collect(int32_t modid, int32_t cmdid, void *arg)
{
    diff_out_t *d = arg;

    assert_true(d->n < 16);
    d->modid[d->n] = modid;
    d->cmdid[d->n] = cmdid;
    d->n++;
}

static void route_diff_reports_added_removed_and_changed_pairs(void **state)
{
    const row_t a[] = {
        {1, 1, 10, 80}, {1, 2, 10, 80}, {1, 3, 10, 80}, {1, 3, 11, 80}, {2, 1, 10, 80}};
    const row_t b[] = {{1, 1, 10, 80},  /* same */
                       {1, 3, 10, 80},  /* lost a host */
                       {2, 1, 10, 81},  /* port changed */
                       {3, 1, 10, 80}}; /* added; (1,2) removed */
    route_table_t *ta = build(a, 5, 1), *tb = build(b, 4, 2);
    diff_out_t d = {0};

    assert_int_equal(route_table_diff(ta, tb, collect, &d), 4);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.modid[0], 1);
    assert_int_equal(d.cmdid[0], 2);
    assert_int_equal(d.modid[1], 1);
    assert_int_equal(d.cmdid[1], 3);
    assert_int_equal(d.modid[2], 2);
    assert_int_equal(d.cmdid[2], 1);
    assert_int_equal(d.modid[3], 3);
    assert_int_equal(d.cmdid[3], 1);
    route_table_free(ta);
    route_table_free(tb);
}

static void route_diff_of_equal_tables_is_empty(void **state)
{
    const row_t a[] = {{1, 1, 10, 80}, {1, 1, 11, 80}, {4, 4, -5, 1}};
    const row_t b[] = {{4, 4, -5, 1}, {1, 1, 11, 80}, {1, 1, 10, 80}};
    route_table_t *ta = build(a, 3, 1), *tb = build(b, 3, 2);
    diff_out_t d = {0};

    assert_int_equal(route_table_diff(ta, tb, collect, &d), 0);
    assert_int_equal(d.n, 0);
    /* against nothing, every pair changed */
    assert_int_equal(route_table_diff(NULL, tb, collect, &d), 2);
    assert_int_equal(route_table_diff(ta, NULL, collect, &d), 2);
    route_table_free(ta);
    route_table_free(tb);
}

static void route_patch_equals_a_full_build_of_the_new_rows(void **state)
{
    const row_t base[] = {{1, 1, 10, 80}, {1, 2, 10, 80}, {1, 3, 10, 80},
                          {1, 3, 11, 80}, {2, 1, 10, 80}, {-1, 7, 10, 80}};
    /* the changed pairs' rows now: (1,3) lost a host, (2,1) changed port,
     * (1,2) is gone, (3,1) and (-2,1) (unsigned order: after 3) are new,
     * (1,1) was listed but is the same */
    const row_t delta[] = {
        {1, 1, 10, 80}, {1, 3, 11, 80}, {2, 1, 10, 81}, {3, 1, 12, 80}, {-2, 1, 13, 80}};
    const row_t want[] = {{1, 1, 10, 80}, {1, 3, 11, 80},  {2, 1, 10, 81},
                          {3, 1, 12, 80}, {-2, 1, 13, 80}, {-1, 7, 10, 80}};
    route_key_t keys[] = {{3, 1}, {1, 2}, {-2, 1}, {1, 3}, {2, 1}, {1, 1}, {2, 1}};
    route_table_t *tb = build(base, 6, 1), *td = build(delta, 5, 2), *tw = build(want, 6, 2);
    route_table_t *tp = NULL;
    diff_out_t d = {0};
    size_t nkeys = route_keys_sort_unique(keys, 7);

    assert_int_equal(nkeys, 6);
    assert_int_equal(keys[0].cmdid, 1); /* (1,1) first, (-2,1) last */
    assert_int_equal(keys[5].modid, -2);
    assert_int_equal(route_table_patch(tb, td, keys, nkeys, 2, &tp), 0);
    assert_int_equal(tp->version, 2);
    assert_int_equal(tp->npairs, tw->npairs);
    assert_int_equal(tp->nhosts, tw->nhosts);
    assert_memory_equal(tp->pairs, tw->pairs, tw->npairs * sizeof(route_pair_t));
    assert_memory_equal(tp->hosts, tw->hosts, tw->nhosts * sizeof(route_host_t));
    assert_non_null(route_table_lookup(tp, -1, 7));
    assert_null(route_table_lookup(tp, 1, 2));
    /* the base is untouched */
    assert_int_equal(route_table_lookup(tb, 1, 3)->count, 2);
    assert_int_equal(route_table_diff_keys(tb, tp, keys, nkeys, collect, &d), 5);
    assert_int_equal(d.n, 5);
    assert_int_equal(d.modid[0], 1);
    assert_int_equal(d.cmdid[0], 2);
    assert_int_equal(d.modid[4], -2);
    assert_int_equal(route_table_diff(tb, tp, collect, &(diff_out_t){0}), 5);
    route_table_free(tb);
    route_table_free(td);
    route_table_free(tw);
    route_table_free(tp);
}

static void route_patch_can_empty_and_refill_a_table(void **state)
{
    const row_t one[] = {{5, 5, 1, 1}};
    route_key_t key = {5, 5};
    route_table_t *t1 = build(one, 1, 1), *none = route_table_new_empty(), *t0 = NULL, *t2 = NULL;

    assert_int_equal(route_table_patch(t1, none, &key, 1, 2, &t0), 0);
    assert_int_equal(t0->npairs, 0);
    assert_null(route_table_lookup(t0, 5, 5));
    assert_int_equal(route_table_patch(t0, t1, &key, 1, 3, &t2), 0);
    assert_int_equal(route_table_lookup(t2, 5, 5)->count, 1);
    route_table_free(t1);
    route_table_free(none);
    route_table_free(t0);
    route_table_free(t2);
}

typedef struct seen {
    void *owners[8];
    size_t n;
} seen_t;

static void record(void *owner, void *arg)
{
    seen_t *s = arg;

    s->owners[s->n++] = owner;
}

static void subs_deliver_to_each_subscriber_once(void **state)
{
    dns_subs_t *s = dns_subs_new();
    dns_subconn_t a = {.owner = (void *)"a"}, b = {.owner = (void *)"b"};
    seen_t seen = {0};

    assert_int_equal(dns_subs_add(s, &a, 1, 1), 1);
    assert_int_equal(dns_subs_add(s, &a, 1, 1), 0);
    assert_int_equal(dns_subs_add(s, &b, 1, 1), 1);
    assert_int_equal(dns_subs_add(s, &b, 2, 2), 1);
    assert_int_equal(dns_subs_count(s), 3);
    assert_int_equal(dns_subs_npairs(s), 2);
    assert_int_equal(dns_subs_foreach(s, 1, 1, record, &seen), 2);
    assert_int_equal(seen.n, 2);
    assert_ptr_not_equal(seen.owners[0], seen.owners[1]);
    seen.n = 0;
    assert_int_equal(dns_subs_foreach(s, 3, 3, record, &seen), 0);
    assert_int_equal(seen.n, 0);

    dns_subs_remove_conn(s, &b);
    assert_int_equal(b.count, 0);
    assert_int_equal(dns_subs_count(s), 1);
    assert_int_equal(dns_subs_npairs(s), 1);
    assert_int_equal(dns_subs_foreach(s, 1, 1, record, &seen), 1);
    assert_ptr_equal(seen.owners[0], a.owner);
    dns_subs_remove_conn(s, &a);
    assert_int_equal(dns_subs_npairs(s), 0);
    dns_subs_free(s);
}

typedef struct closing {
    dns_subs_t *subs;
    dns_subconn_t *conns;
    size_t calls;
} closing_t;

static void close_it(void *owner, void *arg)
{
    closing_t *c = arg;

    c->calls++;
    dns_subs_remove_conn(c->subs, &c->conns[(uintptr_t)owner]);
}

static void subs_survive_unsubscribe_inside_delivery(void **state)
{
    dns_subs_t *s = dns_subs_new();
    dns_subconn_t conns[3000];
    closing_t c = {s, conns, 0};

    memset(conns, 0, sizeof(conns));
    /* enough to make both tables grow */
    for (uintptr_t i = 0; i < 3000; i++) {
        conns[i].owner = (void *)i;
        assert_int_equal(dns_subs_add(s, &conns[i], 7, 7), 1);
        assert_int_equal(dns_subs_add(s, &conns[i], (int32_t)i, 1), 1);
    }
    assert_int_equal(dns_subs_count(s), 6000);
    assert_int_equal(dns_subs_foreach(s, 7, 7, close_it, &c), 3000);
    assert_int_equal(c.calls, 3000);
    assert_int_equal(dns_subs_count(s), 0);
    assert_int_equal(dns_subs_npairs(s), 0);
    dns_subs_free(s);
}

static void subs_chosen_pairs_keep_chains_short(void **state)
{
    enum { N = 80000 };
    dns_subs_t *s = dns_subs_new();
    dns_subconn_t a = {.owner = (void *)"a"}, b = {.owner = (void *)"b"};
    rx_map_stats_t pairs, subs;
    seen_t seen;

    for (uint64_t i = 0; i < N; i++) {
        assert_int_equal(dns_subs_add(s, &a, colliding_modid(i), colliding_cmdid(i)), 1);
        if (i % 4 == 0)
            assert_int_equal(dns_subs_add(s, &b, colliding_modid(i), colliding_cmdid(i)), 1);
    }
    assert_int_equal(dns_subs_npairs(s), N);
    assert_int_equal(dns_subs_count(s), N + N / 4);
    dns_subs_map_stats(s, &pairs, &subs);
    printf("# %d chosen pairs: longest chain %zu (pairs), %zu (subscriptions)\n", N,
           pairs.longest_chain, subs.longest_chain);
    assert_true(pairs.longest_chain <= 12);
    assert_true(subs.longest_chain <= 12);
    for (uint64_t i = 0; i < N; i += 97) {
        seen.n = 0;
        assert_int_equal(dns_subs_foreach(s, colliding_modid(i), colliding_cmdid(i), record, &seen),
                         i % 4 == 0 ? 2 : 1);
    }
    dns_subs_remove_conn(s, &a);
    assert_int_equal(dns_subs_npairs(s), N / 4);
    dns_subs_remove_conn(s, &b);
    assert_int_equal(dns_subs_npairs(s), 0);
    dns_subs_free(s);
}

static void subs_free_releases_live_subscriptions(void **state)
{
    dns_subs_t *s = dns_subs_new();
    dns_subconn_t a = {0};

    for (int32_t i = 0; i < 100; i++)
        assert_int_equal(dns_subs_add(s, &a, i, i), 1);
    dns_subs_free(s); /* ASan reports a leak if not */
    dns_subs_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(route_lookup_finds_hosts_of_sorted_input),
        cmocka_unit_test(route_builder_sorts_unsorted_input_and_drops_duplicates),
        cmocka_unit_test(route_lookup_in_empty_table_finds_nothing),
        cmocka_unit_test(route_lookup_finds_every_pair_of_a_large_table),
        cmocka_unit_test(route_index_of_chosen_pairs_keeps_probes_short),
        cmocka_unit_test(route_diff_reports_added_removed_and_changed_pairs),
        cmocka_unit_test(route_diff_of_equal_tables_is_empty),
        cmocka_unit_test(route_patch_equals_a_full_build_of_the_new_rows),
        cmocka_unit_test(route_patch_can_empty_and_refill_a_table),
        cmocka_unit_test(subs_deliver_to_each_subscriber_once),
        cmocka_unit_test(subs_survive_unsubscribe_inside_delivery),
        cmocka_unit_test(subs_free_releases_live_subscriptions),
        cmocka_unit_test(subs_chosen_pairs_keep_chains_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
