/*
 * Tests of daemons/dns/subs.c: subscribing twice counts once, a pair's
 * subscribers are pushed to and may close during the push, closing a
 * connection drops its subscriptions and the pairs left without any, and
 * 80,000 pairs an agent chose to collide under the old mixer keep the
 * chains of both maps short (structural, not timed).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "daemons/dns/subs.h"
#include "tests/test_colliding_keys.h"

typedef struct conn {
    dns_subconn_t sub;
    int pushed;
} conn_t;

static conn_t *conn_new(void)
{
    conn_t *c = calloc(1, sizeof(*c));

    assert_non_null(c);
    c->sub.owner = c;
    return c;
}

static void count_push(void *owner, void *arg)
{
    ((conn_t *)owner)->pushed++;
}

static void subs_add_counts_once_and_pushes_every_subscriber(void **state)
{
    dns_subs_t *s = dns_subs_new();
    conn_t *a = conn_new(), *b = conn_new();

    assert_non_null(s);
    assert_int_equal(dns_subs_add(s, &a->sub, 1, 1), 1);
    assert_int_equal(dns_subs_add(s, &a->sub, 1, 1), 0);
    assert_int_equal(dns_subs_add(s, &b->sub, 1, 1), 1);
    assert_int_equal(dns_subs_add(s, &b->sub, 1, 2), 1);
    assert_int_equal(dns_subs_count(s), 3);
    assert_int_equal(dns_subs_npairs(s), 2);
    assert_int_equal(a->sub.count, 1);
    assert_int_equal(b->sub.count, 2);

    assert_int_equal(dns_subs_foreach(s, 1, 1, count_push, NULL), 2);
    assert_int_equal(dns_subs_foreach(s, 9, 9, count_push, NULL), 0);
    assert_int_equal(a->pushed, 1);
    assert_int_equal(b->pushed, 1);

    dns_subs_remove_conn(s, &b->sub);
    assert_int_equal(b->sub.count, 0);
    assert_int_equal(dns_subs_count(s), 1);
    assert_int_equal(dns_subs_npairs(s), 1);
    assert_int_equal(dns_subs_foreach(s, 1, 2, count_push, NULL), 0);
    assert_int_equal(dns_subs_foreach(s, 1, 1, count_push, NULL), 1);
    assert_int_equal(dns_subs_add(s, &b->sub, 1, 2), 1);

    dns_subs_free(s);
    free(a);
    free(b);
}

typedef struct closing {
    dns_subs_t *s;
    int calls;
} closing_t;

static void close_on_push(void *owner, void *arg)
{
    closing_t *x = arg;

    x->calls++;
    dns_subs_remove_conn(x->s, &((conn_t *)owner)->sub);
}

static void subs_subscriber_may_close_during_push(void **state)
{
    enum { N = 50 };
    dns_subs_t *s = dns_subs_new();
    conn_t *c[N];
    closing_t x = {s, 0};

    for (int i = 0; i < N; i++) {
        c[i] = conn_new();
        assert_int_equal(dns_subs_add(s, &c[i]->sub, 3, 4), 1);
        assert_int_equal(dns_subs_add(s, &c[i]->sub, 3, 5 + i), 1);
    }
    assert_int_equal(dns_subs_foreach(s, 3, 4, close_on_push, &x), N);
    assert_int_equal(x.calls, N);
    assert_int_equal(dns_subs_count(s), 0);
    assert_int_equal(dns_subs_npairs(s), 0);
    dns_subs_free(s);
    for (int i = 0; i < N; i++)
        free(c[i]);
}

static void subs_chosen_pairs_keep_chains_short(void **state)
{
    enum { N = 80000 };
    dns_subs_t *s = dns_subs_new();
    conn_t *a = conn_new(), *b = conn_new();
    rx_map_stats_t pairs, subs;

    for (uint64_t i = 0; i < N; i++) {
        assert_int_equal(dns_subs_add(s, &a->sub, colliding_modid(i), colliding_cmdid(i)), 1);
        if (i % 4 == 0)
            assert_int_equal(dns_subs_add(s, &b->sub, colliding_modid(i), colliding_cmdid(i)), 1);
    }
    assert_int_equal(dns_subs_npairs(s), N);
    assert_int_equal(dns_subs_count(s), N + N / 4);
    dns_subs_map_stats(s, &pairs, &subs);
    printf("# %d chosen pairs: longest chain %zu (pairs), %zu (subscriptions)\n", N,
           pairs.longest_chain, subs.longest_chain);
    assert_true(pairs.longest_chain <= 12);
    assert_true(subs.longest_chain <= 12);
    for (uint64_t i = 0; i < N; i += 97)
        assert_int_equal(
            dns_subs_foreach(s, colliding_modid(i), colliding_cmdid(i), count_push, NULL),
            i % 4 == 0 ? 2 : 1);

    dns_subs_remove_conn(s, &a->sub);
    assert_int_equal(dns_subs_npairs(s), N / 4);
    dns_subs_remove_conn(s, &b->sub);
    assert_int_equal(dns_subs_npairs(s), 0);
    assert_int_equal(dns_subs_count(s), 0);
    dns_subs_free(s);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subs_add_counts_once_and_pushes_every_subscriber),
        cmocka_unit_test(subs_subscriber_may_close_during_push),
        cmocka_unit_test(subs_chosen_pairs_keep_chains_short),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
