/*
 * Unit tests of the reporter's coalescing queue (daemons/reporter/pending.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemons/reporter/pending.h"

static rp_row_t row(int32_t modid, int32_t ip, uint32_t succ)
{
    return (rp_row_t){.modid = modid,
                      .cmdid = 2,
                      .ip = ip,
                      .port = 80,
                      .caller = 9,
                      .succ = succ,
                      .err = 1,
                      .ts = 100};
}

static void pending_same_key_newest_wins(void **state)
{
    rp_pending_t *q = rp_pending_new(100);
    rp_row_t out[4];
    rp_row_t r = row(1, 10, 5);

    assert_int_equal(rp_pending_put(q, &r), 0);
    r.succ = 7;
    r.overload = true;
    assert_int_equal(rp_pending_put(q, &r), 0);
    assert_int_equal(rp_pending_count(q), 1);

    assert_int_equal(rp_pending_take(q, out, 4), 1);
    assert_int_equal(out[0].succ, 7);
    assert_true(out[0].overload);

    rp_pending_stats_t st;
    rp_pending_stats(q, &st);
    assert_int_equal(st.puts, 2);
    assert_int_equal(st.coalesced, 1);
    assert_int_equal(st.drops, 0);
    rp_pending_free(q);
}

static void pending_distinct_key_fields_are_distinct_rows(void **state)
{
    rp_pending_t *q = rp_pending_new(100);
    rp_row_t base = row(1, 10, 5), r;

    assert_int_equal(rp_pending_put(q, &base), 0);
    r = base, r.modid++;
    rp_pending_put(q, &r);
    r = base, r.cmdid++;
    rp_pending_put(q, &r);
    r = base, r.ip++;
    rp_pending_put(q, &r);
    r = base, r.port++;
    rp_pending_put(q, &r);
    r = base, r.caller++;
    rp_pending_put(q, &r);
    r = base, r.succ++, r.err++, r.ts++, r.overload = true; /* same key */
    rp_pending_put(q, &r);
    assert_int_equal(rp_pending_count(q), 6);
    rp_pending_free(q);
}

static void pending_full_drops_oldest_key_and_counts(void **state)
{
    rp_pending_t *q = rp_pending_new(3);
    rp_row_t out[8];

    for (int i = 0; i < 3; i++) {
        rp_row_t r = row(i, 1, i);
        assert_int_equal(rp_pending_put(q, &r), 0);
    }
    /* Key 0 updated: key 1 is now the oldest update. */
    rp_row_t r0 = row(0, 1, 50);
    assert_int_equal(rp_pending_put(q, &r0), 0);

    rp_row_t r3 = row(3, 1, 3);
    assert_int_equal(rp_pending_put(q, &r3), 1);
    assert_int_equal(rp_pending_count(q), 3);

    rp_pending_stats_t st;
    rp_pending_stats(q, &st);
    assert_int_equal(st.drops, 1);

    assert_int_equal(rp_pending_take(q, out, 8), 3);
    assert_int_equal(out[0].modid, 2);
    assert_int_equal(out[1].modid, 0);
    assert_int_equal(out[1].succ, 50);
    assert_int_equal(out[2].modid, 3);
    rp_pending_free(q);
}

static void pending_take_is_oldest_first_and_bounded(void **state)
{
    rp_pending_t *q = rp_pending_new(1000);
    rp_row_t out[10];

    for (int i = 0; i < 25; i++) {
        rp_row_t r = row(i, i, i);
        rp_pending_put(q, &r);
    }
    assert_int_equal(rp_pending_take(q, out, 10), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i].modid, i);
    assert_int_equal(rp_pending_waiting(q), 15);
    assert_int_equal(rp_pending_count(q), 25); /* in flight still held */
    rp_pending_done(q, out, 10, true);
    assert_int_equal(rp_pending_count(q), 15);
    assert_int_equal(rp_pending_take(q, out, 10), 10);
    assert_int_equal(out[0].modid, 10);
    rp_pending_free(q);
}

static void pending_failed_flush_keeps_rows_in_order(void **state)
{
    rp_pending_t *q = rp_pending_new(100);
    rp_row_t out[8], again[8];

    for (int i = 0; i < 5; i++) {
        rp_row_t r = row(i, 1, i);
        rp_pending_put(q, &r);
    }
    assert_int_equal(rp_pending_take(q, out, 3), 3);
    rp_row_t late = row(7, 1, 7);
    rp_pending_put(q, &late);
    rp_pending_done(q, out, 3, false);

    assert_int_equal(rp_pending_count(q), 6);
    assert_int_equal(rp_pending_take(q, again, 8), 6);
    int want[6] = {0, 1, 2, 3, 4, 7};
    for (int i = 0; i < 6; i++)
        assert_int_equal(again[i].modid, want[i]);
    rp_pending_free(q);
}

static void pending_update_during_flush_survives_success(void **state)
{
    rp_pending_t *q = rp_pending_new(100);
    rp_row_t out[4];
    rp_row_t r = row(1, 1, 1);

    rp_pending_put(q, &r);
    assert_int_equal(rp_pending_take(q, out, 4), 1);
    r.succ = 2; /* arrives while the statement runs */
    rp_pending_put(q, &r);
    rp_pending_done(q, out, 1, true);

    assert_int_equal(rp_pending_count(q), 1);
    assert_int_equal(rp_pending_take(q, out, 4), 1);
    assert_int_equal(out[0].succ, 2);
    rp_pending_done(q, out, 1, true);
    assert_int_equal(rp_pending_count(q), 0);
    rp_pending_free(q);
}

static void pending_update_during_failed_flush_keeps_newest(void **state)
{
    rp_pending_t *q = rp_pending_new(100);
    rp_row_t out[4];
    rp_row_t r = row(1, 1, 1);

    rp_pending_put(q, &r);
    rp_pending_take(q, out, 4);
    r.succ = 2;
    rp_pending_put(q, &r);
    rp_pending_done(q, out, 1, false);

    assert_int_equal(rp_pending_take(q, out, 4), 1);
    assert_int_equal(out[0].succ, 2);
    rp_pending_free(q);
}

static void pending_full_of_in_flight_drops_new_key(void **state)
{
    rp_pending_t *q = rp_pending_new(2);
    rp_row_t out[4];

    for (int i = 0; i < 2; i++) {
        rp_row_t r = row(i, 1, i);
        rp_pending_put(q, &r);
    }
    assert_int_equal(rp_pending_take(q, out, 4), 2);
    rp_row_t r = row(9, 1, 9);
    assert_int_equal(rp_pending_put(q, &r), 1);
    assert_int_equal(rp_pending_count(q), 2);
    rp_pending_done(q, out, 2, false); /* both still there */
    assert_int_equal(rp_pending_waiting(q), 2);

    rp_pending_stats_t st;
    rp_pending_stats(q, &st);
    assert_int_equal(st.drops, 1);
    rp_pending_free(q);
}

/* Many keys, growth and slot reuse: the count always matches a reference. */
static void pending_many_keys_grow_and_reuse(void **state)
{
    enum { N = 20000 };
    rp_pending_t *q = rp_pending_new(N);
    rp_row_t *out = malloc(N * sizeof(*out));

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            rp_row_t r = row(i % 97, i, (uint32_t)(i + round));
            assert_int_equal(rp_pending_put(q, &r), 0);
        }
        for (int i = 0; i < N; i += 2) { /* updates: still N keys */
            rp_row_t r = row(i % 97, i, (uint32_t)(i + round + 1000));
            assert_int_equal(rp_pending_put(q, &r), 0);
        }
        assert_int_equal(rp_pending_count(q), N);
        size_t n = rp_pending_take(q, out, N);
        assert_int_equal(n, N);
        /* odd keys were not updated: they come first, in insertion order */
        assert_int_equal(out[0].ip, 1);
        assert_int_equal(out[N - 1].ip, N - 2);
        assert_int_equal(out[N - 1].succ, N - 2 + round + 1000);
        rp_pending_done(q, out, n, true);
        assert_int_equal(rp_pending_count(q), 0);
    }
    rp_pending_free(q);
    free(out);
}

static void pending_free_accepts_null(void **state)
{
    rp_pending_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pending_same_key_newest_wins),
        cmocka_unit_test(pending_distinct_key_fields_are_distinct_rows),
        cmocka_unit_test(pending_full_drops_oldest_key_and_counts),
        cmocka_unit_test(pending_take_is_oldest_first_and_bounded),
        cmocka_unit_test(pending_failed_flush_keeps_rows_in_order),
        cmocka_unit_test(pending_update_during_flush_survives_success),
        cmocka_unit_test(pending_update_during_failed_flush_keeps_newest),
        cmocka_unit_test(pending_full_of_in_flight_drops_new_key),
        cmocka_unit_test(pending_many_keys_grow_and_reuse),
        cmocka_unit_test(pending_free_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
