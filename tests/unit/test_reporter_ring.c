/*
 * Unit tests of the reporter's consistent hash ring (daemons/reporter/ring.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemons/reporter/ring.h"

static void murmur3_matches_reference_vectors(void **state)
{
    const char *fox = "The quick brown fox jumps over the lazy dog";

    assert_int_equal(rp_murmur3_32("", 0, 0), 0);
    assert_int_equal(rp_murmur3_32("", 0, 1), 0x514e28b7);
    assert_int_equal(rp_murmur3_32("", 0, 0xffffffff), 0x81f16f39);
    assert_int_equal(rp_murmur3_32("test", 4, 0), 0xba6bd213);
    assert_int_equal(rp_murmur3_32("Hello, world!", 13, 1234), 0xfaf6cdb3);
    assert_int_equal(rp_murmur3_32(fox, strlen(fox), 0), 0x2e4ff723);
}

static void ring_rejects_zero_nodes(void **state)
{
    rp_ring_t *ring = NULL;

    assert_int_equal(rp_ring_new(0, 160, &ring), -EINVAL);
    assert_int_equal(rp_ring_new(3, 0, &ring), -EINVAL);
}

static void ring_same_pair_same_writer(void **state)
{
    rp_ring_t *a, *b;

    assert_int_equal(rp_ring_new(3, 160, &a), 0);
    assert_int_equal(rp_ring_new(3, 160, &b), 0);
    for (int32_t m = -50; m < 50; m++)
        for (int32_t c = 0; c < 20; c++) {
            unsigned w = rp_ring_lookup(a, m, c);
            assert_true(w < 3);
            assert_int_equal(w, rp_ring_lookup(a, m, c));
            assert_int_equal(w, rp_ring_lookup(b, m, c)); /* independent of the instance */
        }
    rp_ring_free(a);
    rp_ring_free(b);
}

/* max/min writer share over 10,000 pairs */
static double ring_imbalance(unsigned nodes, unsigned vnodes)
{
    rp_ring_t *ring;
    unsigned cnt[16] = {0};

    assert_int_equal(rp_ring_new(nodes, vnodes, &ring), 0);
    for (int32_t m = 0; m < 100; m++)
        for (int32_t c = 0; c < 100; c++)
            cnt[rp_ring_lookup(ring, m, c)]++;
    rp_ring_free(ring);

    unsigned lo = cnt[0], hi = cnt[0];
    for (unsigned i = 1; i < nodes; i++) {
        lo = cnt[i] < lo ? cnt[i] : lo;
        hi = cnt[i] > hi ? cnt[i] : hi;
    }
    assert_true(lo > 0);
    return (double)hi / lo;
}

static void ring_spreads_10k_pairs_evenly(void **state)
{
    /* 160 virtual nodes: every writer within about +-15 % of its share. */
    assert_true(ring_imbalance(3, 160) < 1.35);
    assert_true(ring_imbalance(5, 160) < 1.5);
}

static void ring_more_vnodes_spread_better(void **state)
{
    assert_true(ring_imbalance(3, 160) < ring_imbalance(3, 2));
}

static void ring_new_writer_moves_only_its_share(void **state)
{
    rp_ring_t *r3, *r4;
    unsigned moved = 0, total = 0;

    assert_int_equal(rp_ring_new(3, 160, &r3), 0);
    assert_int_equal(rp_ring_new(4, 160, &r4), 0);
    for (int32_t m = 0; m < 100; m++)
        for (int32_t c = 0; c < 100; c++, total++) {
            unsigned before = rp_ring_lookup(r3, m, c), after = rp_ring_lookup(r4, m, c);
            if (before != after) {
                assert_int_equal(after, 3); /* pairs move only to the new writer */
                moved++;
            }
        }
    /* About a quarter moves; a modulo hash would move three quarters. */
    assert_true(moved > total / 8);
    assert_true(moved < total * 2 / 5);
    rp_ring_free(r3);
    rp_ring_free(r4);
}

static void ring_single_writer_gets_everything(void **state)
{
    rp_ring_t *ring;

    assert_int_equal(rp_ring_new(1, 1, &ring), 0);
    for (int32_t m = 0; m < 1000; m++)
        assert_int_equal(rp_ring_lookup(ring, m, m * 7), 0);
    rp_ring_free(ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(murmur3_matches_reference_vectors),
        cmocka_unit_test(ring_rejects_zero_nodes),
        cmocka_unit_test(ring_same_pair_same_writer),
        cmocka_unit_test(ring_spreads_10k_pairs_evenly),
        cmocka_unit_test(ring_more_vnodes_spread_better),
        cmocka_unit_test(ring_new_writer_moves_only_its_share),
        cmocka_unit_test(ring_single_writer_gets_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
