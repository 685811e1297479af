/*
 * Tests of libreactor/timer.c: firing order (deadline, then arming order),
 * stop and free anywhere in the heap and from callbacks, periodic timers,
 * re-arming, and the lifetime of a handle (a one-shot timer that fired is
 * idle, not freed: stopping or freeing it afterwards is safe, which ASan
 * checks in the sanitizer build). Timers added before rx_loop_run share the
 * loop's cached time, so their deadlines are exactly now + delay and the
 * expected order is exact.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

#define GUARD_MS 20000

struct rec {
    int *order;
    size_t n;
    size_t want; /* stop the loop after this many firings */
    rx_timer_t **timers;
};

static void guard_fired(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    *(bool *)arg = true;
    rx_loop_stop(loop);
}

static void run_guarded(rx_loop_t *loop)
{
    bool timed_out = false;
    rx_timer_t *guard = rx_timer_add(loop, GUARD_MS, 0, guard_fired, &timed_out);

    assert_non_null(guard);
    assert_int_equal(rx_loop_run(loop), 0);
    assert_false(timed_out);
    rx_timer_free(guard);
}

static void stop_timer(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    rx_loop_stop(loop);
}

/* Each recording timer gets its id through the arg: &ids[id]. */
static struct rec *g_rec;
static int ids[10000];

static void record_fire(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    g_rec->order[g_rec->n++] = *(int *)arg;
    if (g_rec->n == g_rec->want)
        rx_loop_stop(loop);
}

static void init_ids(void)
{
    for (int i = 0; i < 10000; i++)
        ids[i] = i;
}

static void timer_fires_by_deadline_then_insertion_order(void **state)
{
    static const uint64_t delays[] = {30, 10, 20, 10, 0, 20, 10, 0};
    static const int expect[] = {4, 7, 1, 3, 6, 2, 5, 0};
    int order[8];
    struct rec r = {.order = order, .want = 8};
    rx_timer_t *t[8];
    rx_loop_t *loop = rx_loop_new();

    init_ids();
    g_rec = &r;
    for (int i = 0; i < 8; i++)
        assert_non_null(t[i] = rx_timer_add(loop, delays[i], 0, record_fire, &ids[i]));
    assert_int_equal(rx_timer_count(loop), 8);
    run_guarded(loop);
    assert_int_equal(r.n, 8);
    assert_memory_equal(order, expect, sizeof(expect));
    /* Fired one-shots are idle, and stay until freed. */
    assert_int_equal(rx_timer_count(loop), 8);
    for (int i = 0; i < 8; i++) {
        assert_false(rx_timer_armed(t[i]));
        rx_timer_free(t[i]);
    }
    assert_int_equal(rx_timer_count(loop), 0);
    rx_loop_free(loop);
}

static void timer_stop_of_root_and_middle_elements(void **state)
{
    int order[16];
    struct rec r = {.order = order, .want = 4};
    rx_timer_t *t[8];
    rx_loop_t *loop = rx_loop_new();

    init_ids();
    g_rec = &r;
    for (int i = 0; i < 8; i++)
        t[i] = rx_timer_add(loop, (uint64_t)(i + 1) * 3, 0, record_fire, &ids[i]);
    rx_timer_stop(t[0]); /* the heap root */
    rx_timer_free(t[3]);
    rx_timer_stop(t[4]);
    rx_timer_free(t[7]); /* the last element */
    rx_timer_stop(NULL);
    rx_timer_free(NULL);
    assert_false(rx_timer_armed(t[0]));
    assert_true(rx_timer_armed(t[1]));
    assert_int_equal(rx_timer_count(loop), 6);
    run_guarded(loop);
    assert_int_equal(r.n, 4);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 5);
    assert_int_equal(order[3], 6);
    rx_loop_free(loop);
}

static int cmp_by_delay_then_id(const void *a, const void *b, void *delays)
{
    int x = *(const int *)a, y = *(const int *)b;
    uint64_t dx = ((uint64_t *)delays)[x], dy = ((uint64_t *)delays)[y];

    if (dx != dy)
        return dx < dy ? -1 : 1;
    return x - y;
}

static void timer_random_insert_and_stop_fires_exactly_the_rest(void **state)
{
    enum { N = 10000 };
    static uint64_t delays[N];
    static rx_timer_t *timers[N];
    static int live[N], expect[N], order[N];
    size_t nlive = 0, nexpect = 0, nfreed = 0;
    struct rec r = {.order = order};
    rx_loop_t *loop = rx_loop_new();
    unsigned seed = 12345;

    init_ids();
    g_rec = &r;
    for (int i = 0; i < N; i++) {
        delays[i] = (uint64_t)(rand_r(&seed) % 60);
        timers[i] = rx_timer_add(loop, delays[i], 0, record_fire, &ids[i]);
        assert_non_null(timers[i]);
        live[nlive++] = i;
        /* Stop or free a random live timer about every other step. */
        if (rand_r(&seed) % 2 == 0) {
            size_t k = (size_t)rand_r(&seed) % nlive;
            if (rand_r(&seed) % 2) {
                rx_timer_free(timers[live[k]]);
                timers[live[k]] = NULL;
                nfreed++;
            } else {
                rx_timer_stop(timers[live[k]]);
            }
            live[k] = live[--nlive];
        }
    }
    assert_int_equal(rx_timer_count(loop), N - nfreed);
    for (size_t i = 0; i < nlive; i++)
        expect[nexpect++] = live[i];
    qsort_r(expect, nexpect, sizeof(int), cmp_by_delay_then_id, delays);

    r.want = nexpect;
    rx_timer_add(loop, 1000, 0, stop_timer, NULL); /* well after the last one */
    run_guarded(loop);
    assert_int_equal(r.n, nexpect);
    assert_memory_equal(order, expect, nexpect * sizeof(int));
    rx_loop_free(loop);
}

struct self_cancel {
    int fired;
    int stop_after;
    rx_timer_t *other;
    int other_fired;
};

static void free_self_on_third(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    struct self_cancel *s = arg;

    if (++s->fired == 3) {
        rx_timer_free(t);
        /* Arming a timer freed inside its callback is ignored. */
        rx_timer_arm(t, 1, 1);
        rx_timer_add(loop, 50, 0, stop_timer, NULL);
    }
}

static void timer_free_inside_own_callback(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    struct self_cancel s = {0};

    assert_non_null(rx_timer_add(loop, 1, 1, free_self_on_third, &s));
    run_guarded(loop);
    assert_int_equal(s.fired, 3);
    assert_int_equal(rx_timer_count(loop), 1); /* stop_timer's, idle */
    rx_loop_free(loop);
}

static void stop_self_on_third(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    struct self_cancel *s = arg;

    if (++s->fired == 3) {
        assert_true(rx_timer_armed(t));
        rx_timer_stop(t);
        assert_false(rx_timer_armed(t));
        rx_timer_add(loop, 50, 0, stop_timer, NULL);
    }
}

static void timer_stop_inside_own_callback_keeps_a_periodic_one_idle(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    struct self_cancel s = {0};
    rx_timer_t *t = rx_timer_add(loop, 1, 1, stop_self_on_third, &s);

    assert_non_null(t);
    run_guarded(loop);
    assert_int_equal(s.fired, 3);
    assert_false(rx_timer_armed(t));
    /* Still ours: armed again, it fires again. */
    rx_timer_arm(t, 1, 0);
    rx_timer_add(loop, 50, 0, stop_timer, NULL);
    run_guarded(loop);
    assert_int_equal(s.fired, 4);
    rx_timer_free(t);
    rx_loop_free(loop);
}

static void count_fire(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    ++*(int *)arg;
}

static void free_other(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    struct self_cancel *s = arg;

    s->fired++;
    rx_timer_free(s->other);
}

static void stop_other(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    struct self_cancel *s = arg;

    s->fired++;
    rx_timer_stop(s->other);
}

static void timer_stop_or_free_of_another_timer_due_in_same_pass(void **state)
{
    rx_timer_cb cbs[] = {free_other, stop_other};

    for (int i = 0; i < 2; i++) {
        rx_loop_t *loop = rx_loop_new();
        struct self_cancel s = {0};

        /* Same deadline, armed after: due in the same pass, yet must not fire. */
        assert_non_null(rx_timer_add(loop, 5, 0, cbs[i], &s));
        s.other = rx_timer_add(loop, 5, 0, count_fire, &s.other_fired);
        rx_timer_add(loop, 60, 0, stop_timer, NULL);
        run_guarded(loop);
        assert_int_equal(s.fired, 1);
        assert_int_equal(s.other_fired, 0);
        assert_int_equal(rx_timer_count(loop), i == 0 ? 2 : 3);
        rx_loop_free(loop);
    }
}

struct periodic {
    rx_timer_t *timer;
    int fired;
    int fired_at_cancel;
};

static void periodic_tick(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    ((struct periodic *)arg)->fired++;
}

static void periodic_cancel(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    struct periodic *p = arg;

    if (p->fired < 5)
        return;
    p->fired_at_cancel = p->fired;
    rx_timer_free(p->timer);
    rx_timer_free(t);
    rx_timer_add(loop, 50, 0, stop_timer, NULL);
}

static void timer_periodic_fires_repeatedly_until_freed(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    struct periodic p = {0};

    p.timer = rx_timer_add(loop, 2, 2, periodic_tick, &p);
    assert_non_null(p.timer);
    assert_non_null(rx_timer_add(loop, 1, 1, periodic_cancel, &p));
    run_guarded(loop);
    assert_true(p.fired >= 5);
    assert_int_equal(p.fired, p.fired_at_cancel);
    assert_int_equal(rx_timer_count(loop), 1); /* stop_timer's, idle */
    rx_loop_free(loop);
}

static void timer_arm_moves_the_deadline(void **state)
{
    int order[4];
    struct rec r = {.order = order, .want = 3};
    rx_loop_t *loop = rx_loop_new();
    rx_timer_t *a;

    init_ids();
    g_rec = &r;
    a = rx_timer_add(loop, 10, 0, record_fire, &ids[0]);
    rx_timer_add(loop, 20, 0, record_fire, &ids[1]);
    rx_timer_add(loop, 30, 0, record_fire, &ids[2]);
    rx_timer_arm(a, 25, 0);
    assert_int_equal(rx_timer_count(loop), 3);
    run_guarded(loop);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 0);
    assert_int_equal(order[2], 2);
    rx_loop_free(loop);
}

static void rearm_once(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    int *n = arg;

    if (++*n == 1)
        rx_timer_arm(t, 5, 0); /* a one-shot re-armed from its callback */
    else
        rx_loop_stop(loop);
}

static void timer_arm_inside_callback_rearms_one_shot(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;
    rx_timer_t *t = rx_timer_add(loop, 1, 0, rearm_once, &n);

    assert_non_null(t);
    run_guarded(loop);
    assert_int_equal(n, 2);
    assert_false(rx_timer_armed(t));
    rx_timer_free(t);
    assert_int_equal(rx_timer_count(loop), 0);
    rx_loop_free(loop);
}

/* The hazard of self-freeing one-shots: an owner that kept the handle and
 * cancelled it after it fired freed it twice. Now the handle stays valid. */
static void timer_stop_and_free_after_a_one_shot_fired_are_safe(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;
    rx_timer_t *t = rx_timer_add(loop, 1, 0, count_fire, &n);

    assert_non_null(t);
    rx_timer_add(loop, 20, 0, stop_timer, NULL);
    run_guarded(loop);
    assert_int_equal(n, 1);
    assert_false(rx_timer_armed(t));
    rx_timer_stop(t);
    rx_timer_stop(t);
    /* Re-armed after firing, it fires again. */
    rx_timer_arm(t, 1, 0);
    assert_true(rx_timer_armed(t));
    rx_timer_add(loop, 20, 0, stop_timer, NULL);
    run_guarded(loop);
    assert_int_equal(n, 2);
    rx_timer_free(t);
    assert_int_equal(rx_timer_count(loop), 2); /* the stop_timers, idle */
    rx_loop_free(loop);
}

static void timer_one_made_idle_is_armed_later(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;
    rx_timer_t *t = rx_timer_new(loop, count_fire, &n);

    assert_non_null(t);
    assert_false(rx_timer_armed(t));
    assert_int_equal(rx_timer_count(loop), 1);
    rx_timer_add(loop, 20, 0, stop_timer, NULL);
    run_guarded(loop);
    assert_int_equal(n, 0);
    rx_timer_arm(t, 1, 0);
    rx_timer_add(loop, 20, 0, stop_timer, NULL);
    run_guarded(loop);
    assert_int_equal(n, 1);
    rx_timer_free(t);
    rx_loop_free(loop);
}

static void add_zero_delay_again(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    int *n = arg;

    if (++*n < 100)
        rx_timer_add(loop, 0, 0, add_zero_delay_again, n);
    else
        rx_loop_stop(loop);
}

static void timer_added_from_callback_fires_in_a_later_pass(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;

    rx_timer_add(loop, 0, 0, add_zero_delay_again, &n);
    run_guarded(loop);
    assert_int_equal(n, 100);
    rx_loop_free(loop);
}

static void timer_pending_and_idle_ones_are_freed_with_the_loop(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;

    for (int i = 0; i < 100; i++)
        rx_timer_add(loop, 100000 + (uint64_t)i, i % 2 ? 10 : 0, count_fire, &n);
    for (int i = 0; i < 10; i++)
        rx_timer_new(loop, count_fire, &n);
    rx_timer_stop(rx_timer_add(loop, 1, 0, count_fire, &n));
    assert_int_equal(rx_timer_count(loop), 111);
    rx_loop_free(loop);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timer_fires_by_deadline_then_insertion_order),
        cmocka_unit_test(timer_stop_of_root_and_middle_elements),
        cmocka_unit_test(timer_random_insert_and_stop_fires_exactly_the_rest),
        cmocka_unit_test(timer_free_inside_own_callback),
        cmocka_unit_test(timer_stop_inside_own_callback_keeps_a_periodic_one_idle),
        cmocka_unit_test(timer_stop_or_free_of_another_timer_due_in_same_pass),
        cmocka_unit_test(timer_periodic_fires_repeatedly_until_freed),
        cmocka_unit_test(timer_arm_moves_the_deadline),
        cmocka_unit_test(timer_arm_inside_callback_rearms_one_shot),
        cmocka_unit_test(timer_stop_and_free_after_a_one_shot_fired_are_safe),
        cmocka_unit_test(timer_one_made_idle_is_armed_later),
        cmocka_unit_test(timer_added_from_callback_fires_in_a_later_pass),
        cmocka_unit_test(timer_pending_and_idle_ones_are_freed_with_the_loop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
