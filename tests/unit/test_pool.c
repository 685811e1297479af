/*
 * Tests of libreactor/pool.c: N loops on N named threads, round-robin and
 * hashed selection, orderly and idempotent stop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

#define NLOOPS 4

struct probe {
    char name[16];
    bool in_thread;
    unsigned index;
    pthread_t thread;
    atomic_bool done;
};

static void probe_task(rx_loop_t *loop, void *arg)
{
    struct probe *p = arg;

    pthread_getname_np(pthread_self(), p->name, sizeof(p->name));
    p->in_thread = rx_loop_in_thread(loop);
    p->index = rx_loop_index(loop);
    p->thread = pthread_self();
    atomic_store(&p->done, true);
}

static void wait_done(atomic_bool *done)
{
    for (int i = 0; i < 20000 && !atomic_load(done); i++)
        usleep(1000);
    assert_true(atomic_load(done));
}

static void pool_runs_each_loop_on_its_own_named_thread(void **state)
{
    rx_pool_t *pool = rx_pool_new(NLOOPS, "worker");
    struct probe p[NLOOPS];

    memset(p, 0, sizeof(p));
    assert_non_null(pool);
    assert_int_equal(rx_pool_size(pool), NLOOPS);
    assert_null(rx_pool_loop(pool, NLOOPS));
    assert_int_equal(rx_pool_start(pool), 0);
    assert_int_equal(rx_pool_start(pool), -EALREADY);
    for (unsigned i = 0; i < NLOOPS; i++) {
        rx_loop_t *loop = rx_pool_loop(pool, i);
        assert_false(rx_loop_in_thread(loop));
        assert_int_equal(rx_loop_post(loop, probe_task, &p[i]), 0);
    }
    for (unsigned i = 0; i < NLOOPS; i++) {
        char want[16];
        wait_done(&p[i].done);
        snprintf(want, sizeof(want), "worker-%u", i);
        assert_string_equal(p[i].name, want);
        assert_true(p[i].in_thread);
        assert_int_equal(p[i].index, i);
        for (unsigned j = 0; j < i; j++)
            assert_false(pthread_equal(p[i].thread, p[j].thread));
    }
    rx_pool_free(pool);
}

static void pool_next_spreads_round_robin(void **state)
{
    rx_pool_t *pool = rx_pool_new(NLOOPS, "rr");
    unsigned hits[NLOOPS] = {0}, prev = NLOOPS;

    assert_int_equal(rx_pool_start(pool), 0);
    for (unsigned n = 0; n < NLOOPS * 25; n++) {
        rx_loop_t *loop = rx_pool_next(pool);
        unsigned i = rx_loop_index(loop);
        assert_true(i < NLOOPS);
        assert_ptr_equal(rx_pool_loop(pool, i), loop);
        if (prev < NLOOPS) /* strictly in turn */
            assert_int_equal(i, (prev + 1) % NLOOPS);
        prev = i;
        hits[i]++;
    }
    for (unsigned i = 0; i < NLOOPS; i++)
        assert_int_equal(hits[i], 25);
    rx_pool_free(pool);
}

static void pool_hash_is_stable_and_uses_every_loop(void **state)
{
    rx_pool_t *pool = rx_pool_new(NLOOPS, "hash");
    unsigned hits[NLOOPS] = {0};

    for (uint64_t key = 0; key < 1000; key++) {
        rx_loop_t *loop = rx_pool_hash(pool, key);
        assert_ptr_equal(rx_pool_hash(pool, key), loop);
        hits[rx_loop_index(loop)]++;
    }
    for (unsigned i = 0; i < NLOOPS; i++)
        assert_true(hits[i] > 100); /* 250 expected; a bad mix would starve one */
    rx_pool_free(pool);
}

static void count_task(rx_loop_t *loop, void *arg)
{
    atomic_fetch_add((_Atomic unsigned *)arg, 1);
}

static void pool_stop_joins_threads_after_running_posted_tasks(void **state)
{
    rx_pool_t *pool = rx_pool_new(NLOOPS, "stop");
    _Atomic unsigned ran = 0;

    assert_int_equal(rx_pool_start(pool), 0);
    for (unsigned i = 0; i < 1000; i++)
        assert_int_equal(rx_loop_post(rx_pool_next(pool), count_task, &ran), 0);
    rx_pool_stop(pool);
    assert_int_equal(atomic_load(&ran), 1000);
    /* Every loop has stopped: posts are refused now. */
    for (unsigned i = 0; i < NLOOPS; i++)
        assert_int_equal(rx_loop_post(rx_pool_loop(pool, i), count_task, &ran), -ESHUTDOWN);
    rx_pool_stop(pool);
    rx_pool_free(pool);
    rx_pool_free(NULL);
}

static void pool_free_without_start(void **state)
{
    rx_pool_t *pool = rx_pool_new(2, "a-very-long-pool-name");

    assert_non_null(pool);
    assert_null(rx_pool_new(0, "x"));
    rx_pool_stop(pool);
    rx_pool_free(pool);
}

static void long_name_task(rx_loop_t *loop, void *arg)
{
    probe_task(loop, arg);
}

static void pool_cuts_long_thread_names(void **state)
{
    rx_pool_t *pool = rx_pool_new(1, "a-very-long-pool-name");
    struct probe p;

    memset(&p, 0, sizeof(p));
    assert_int_equal(rx_pool_start(pool), 0);
    assert_int_equal(rx_loop_post(rx_pool_loop(pool, 0), long_name_task, &p), 0);
    wait_done(&p.done);
    assert_string_equal(p.name, "a-very-long-p-0");
    rx_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_runs_each_loop_on_its_own_named_thread),
        cmocka_unit_test(pool_next_spreads_round_robin),
        cmocka_unit_test(pool_hash_is_stable_and_uses_every_loop),
        cmocka_unit_test(pool_stop_joins_threads_after_running_posted_tasks),
        cmocka_unit_test(pool_free_without_start),
        cmocka_unit_test(pool_cuts_long_thread_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
