/*
 * Tests of libreactor/loop.c: fd handlers (add/mod/del, del of an fd with
 * events pending in the same batch), the defer queue, stop from another
 * thread, the idle tick, and the cross-thread task queue under load.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

#define GUARD_MS 20000

static void guard_fired(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    *(bool *)arg = true;
    rx_loop_stop(loop);
}

/* Runs the loop on this thread; fails the test if it needs more than
 * GUARD_MS to stop by itself. */
static void run_guarded(rx_loop_t *loop)
{
    bool timed_out = false;
    rx_timer_t *guard = rx_timer_add(loop, GUARD_MS, 0, guard_fired, &timed_out);

    assert_non_null(guard);
    assert_int_equal(rx_loop_run(loop), 0);
    assert_false(timed_out);
    rx_timer_free(guard);
}

static void stop_task(rx_loop_t *loop, void *arg)
{
    rx_loop_stop(loop);
}

static void stop_timer(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    rx_loop_stop(loop);
}

static void join_or_fail(pthread_t th)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += GUARD_MS / 1000;
    assert_int_equal(pthread_timedjoin_np(th, NULL, &ts), 0);
}

static void *run_thread(void *arg)
{
    rx_loop_run(arg);
    return NULL;
}

/* ------------------------------------------------------------- fd events -- */

struct pipe_rec {
    rx_loop_t *loop;
    int fds[2];
    int reads;
    uint32_t last_events;
    char log[64];
    size_t nlog;
};

static void log_char(struct pipe_rec *r, char c)
{
    if (r->nlog < sizeof(r->log) - 1)
        r->log[r->nlog++] = c;
}

static void on_readable_drain(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    struct pipe_rec *r = arg;
    char buf[64];

    r->reads++;
    r->last_events = events;
    assert_true(read(fd, buf, sizeof(buf)) > 0);
    rx_loop_stop(loop);
}

static void loop_io_add_mod_del_with_pipe(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    struct pipe_rec r = {.loop = loop};

    assert_non_null(loop);
    assert_int_equal(pipe(r.fds), 0);
    assert_int_equal(rx_io_add(loop, r.fds[0], RX_READ, on_readable_drain, &r), 0);
    assert_int_equal(rx_io_add(loop, r.fds[0], RX_READ, on_readable_drain, &r), -EEXIST);
    assert_int_equal(rx_io_mod(loop, r.fds[1], RX_READ), -ENOENT);
    assert_int_equal(rx_io_del(loop, r.fds[1]), -ENOENT);

    assert_int_equal(write(r.fds[1], "x", 1), 1);
    run_guarded(loop);
    assert_int_equal(r.reads, 1);
    assert_true(r.last_events & RX_READ);

    /* Not interested in reading: a pending byte is not reported. */
    assert_int_equal(rx_io_mod(loop, r.fds[0], 0), 0);
    assert_int_equal(write(r.fds[1], "y", 1), 1);
    rx_timer_add(loop, 50, 0, stop_timer, NULL);
    run_guarded(loop);
    assert_int_equal(r.reads, 1);

    assert_int_equal(rx_io_mod(loop, r.fds[0], RX_READ), 0);
    run_guarded(loop);
    assert_int_equal(r.reads, 2);

    assert_int_equal(rx_io_del(loop, r.fds[0]), 0);
    assert_int_equal(rx_io_del(loop, r.fds[0]), -ENOENT);
    assert_int_equal(write(r.fds[1], "z", 1), 1);
    rx_timer_add(loop, 50, 0, stop_timer, NULL);
    run_guarded(loop);
    assert_int_equal(r.reads, 2);

    /* After del the fd may be registered again. */
    assert_int_equal(rx_io_add(loop, r.fds[0], RX_READ, on_readable_drain, &r), 0);
    run_guarded(loop);
    assert_int_equal(r.reads, 3);
    assert_int_equal(rx_io_del(loop, r.fds[0]), 0);

    close(r.fds[0]);
    close(r.fds[1]);
    rx_loop_free(loop);
}

static void on_writable(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    struct pipe_rec *r = arg;

    r->last_events = events;
    r->reads++;
    rx_io_del(loop, fd);
    rx_loop_stop(loop);
}

static void loop_reports_writable_fd(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    struct pipe_rec r = {.loop = loop};

    assert_int_equal(pipe(r.fds), 0);
    assert_int_equal(rx_io_add(loop, r.fds[1], RX_WRITE, on_writable, &r), 0);
    run_guarded(loop);
    assert_int_equal(r.reads, 1);
    assert_int_equal(r.last_events, RX_WRITE);
    close(r.fds[0]);
    close(r.fds[1]);
    rx_loop_free(loop);
}

/* Two pipes readable at once, so both events come in one batch. Whichever
 * handler runs first deletes and closes the other pipe, then opens a new
 * pipe (which reuses the fd numbers) and registers it: the stale event of the
 * old fd must reach neither the old nor the new handler. */
struct del_rec {
    int a[2], b[2], c[2];
    int calls_a, calls_b, calls_c;
};

static void del_on_c(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    ((struct del_rec *)arg)->calls_c++;
}

static void del_other(rx_loop_t *loop, int *other, struct del_rec *d)
{
    assert_int_equal(rx_io_del(loop, other[0]), 0);
    close(other[0]);
    close(other[1]);
    assert_int_equal(pipe(d->c), 0);
    assert_int_equal(rx_io_add(loop, d->c[0], RX_READ, del_on_c, d), 0);
    assert_int_equal(rx_loop_defer(loop, stop_task, NULL), 0);
}

static void del_on_a(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    struct del_rec *d = arg;

    if (d->calls_a++ == 0 && d->calls_b == 0)
        del_other(loop, d->b, d);
}

static void del_on_b(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    struct del_rec *d = arg;

    if (d->calls_b++ == 0 && d->calls_a == 0)
        del_other(loop, d->a, d);
}

static void loop_io_del_drops_events_pending_in_batch(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    struct del_rec d = {0};

    assert_int_equal(pipe(d.a), 0);
    assert_int_equal(pipe(d.b), 0);
    assert_int_equal(write(d.a[1], "a", 1), 1);
    assert_int_equal(write(d.b[1], "b", 1), 1);
    assert_int_equal(rx_io_add(loop, d.a[0], RX_READ, del_on_a, &d), 0);
    assert_int_equal(rx_io_add(loop, d.b[0], RX_READ, del_on_b, &d), 0);
    run_guarded(loop);

    assert_int_equal(d.calls_a + d.calls_b, 1);
    assert_int_equal(d.calls_c, 0);
    rx_io_del(loop, d.c[0]);
    rx_io_del(loop, d.calls_a ? d.a[0] : d.b[0]);
    close(d.c[0]);
    close(d.c[1]);
    if (d.calls_a) {
        close(d.a[0]);
        close(d.a[1]);
    } else {
        close(d.b[0]);
        close(d.b[1]);
    }
    rx_loop_free(loop);
}

/* ---------------------------------------------------------------- defer -- */

static void defer_log_task(rx_loop_t *loop, void *arg)
{
    log_char(arg, 'D');
    rx_loop_stop(loop);
}

static void defer_on_readable(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    struct pipe_rec *r = arg;
    char c;

    assert_int_equal(read(fd, &c, 1), 1);
    if (r->nlog == 0)
        assert_int_equal(rx_loop_defer(loop, defer_log_task, r), 0);
    log_char(r, c);
}

static void loop_defer_runs_after_the_batch(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    struct pipe_rec r = {.loop = loop};
    int p2[2];

    assert_int_equal(pipe(r.fds), 0);
    assert_int_equal(pipe(p2), 0);
    assert_int_equal(write(r.fds[1], "x", 1), 1);
    assert_int_equal(write(p2[1], "x", 1), 1);
    assert_int_equal(rx_io_add(loop, r.fds[0], RX_READ, defer_on_readable, &r), 0);
    assert_int_equal(rx_io_add(loop, p2[0], RX_READ, defer_on_readable, &r), 0);
    run_guarded(loop);
    r.log[r.nlog] = '\0';
    assert_string_equal(r.log, "xxD");

    rx_io_del(loop, r.fds[0]);
    rx_io_del(loop, p2[0]);
    close(r.fds[0]);
    close(r.fds[1]);
    close(p2[0]);
    close(p2[1]);
    rx_loop_free(loop);
}

static void defer_again_task(rx_loop_t *loop, void *arg)
{
    int *n = arg;

    if (++*n < 1000)
        assert_int_equal(rx_loop_defer(loop, defer_again_task, n), 0);
    else
        rx_loop_stop(loop);
}

static void loop_defer_from_defer_runs_later(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;

    assert_int_equal(rx_loop_defer(loop, defer_again_task, &n), 0);
    run_guarded(loop);
    assert_int_equal(n, 1000);
    rx_loop_free(loop);
}

/* ----------------------------------------------------------- stop, tick -- */

static void loop_stop_from_another_thread(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    pthread_t th;

    assert_int_equal(pthread_create(&th, NULL, run_thread, loop), 0);
    /* Wait until the loop runs and has done an iteration, then stop it. */
    for (int i = 0; i < GUARD_MS && rx_loop_last_tick_ms(loop) == 0; i++)
        usleep(1000);
    assert_int_not_equal(rx_loop_last_tick_ms(loop), 0);
    rx_loop_stop(loop);
    join_or_fail(th);
    rx_loop_free(loop);
}

static void loop_stop_before_run_returns_at_once(void **state)
{
    rx_loop_t *loop = rx_loop_new();

    rx_loop_stop(loop);
    assert_int_equal(rx_loop_run(loop), 0);
    rx_loop_free(loop);
}

static void loop_last_tick_advances_while_idle(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    uint64_t first, deadline;
    pthread_t th;

    assert_int_equal(rx_loop_last_tick_ms(loop), 0);
    assert_int_equal(pthread_create(&th, NULL, run_thread, loop), 0);
    deadline = rx_time_ms() + GUARD_MS;
    while ((first = rx_loop_last_tick_ms(loop)) == 0 && rx_time_ms() < deadline)
        usleep(1000);
    assert_int_not_equal(first, 0);
    while (rx_loop_last_tick_ms(loop) == first && rx_time_ms() < deadline)
        usleep(10000);
    assert_true(rx_loop_last_tick_ms(loop) > first);
    rx_loop_stop(loop);
    join_or_fail(th);
    rx_loop_free(loop);
}

static void loop_in_thread_reports_owner(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    pthread_t th;

    assert_true(rx_loop_in_thread(loop)); /* creator, before run */
    assert_int_equal(pthread_create(&th, NULL, run_thread, loop), 0);
    for (int i = 0; i < GUARD_MS && rx_loop_in_thread(loop); i++)
        usleep(1000);
    assert_false(rx_loop_in_thread(loop));
    rx_loop_stop(loop);
    join_or_fail(th);
    rx_loop_free(loop);
}

/* ------------------------------------------------------------ task queue -- */

#define PRODUCERS          4
#define POSTS_PER_PRODUCER 100000

struct post_state {
    rx_loop_t *loop;
    uint32_t next_seq[PRODUCERS]; /* loop thread only */
    uint32_t accepted[PRODUCERS];
    _Atomic unsigned total_accepted;
    _Atomic unsigned order_errors;
    bool in_thread_errors;
    atomic_bool go;
};

struct producer {
    struct post_state *ps;
    unsigned id;
    unsigned limit;
};

static struct post_state *g_ps;

static void count_task(rx_loop_t *loop, void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    unsigned id = (unsigned)(v >> 24), seq = (unsigned)(v & 0xffffff);

    if (!rx_loop_in_thread(loop))
        g_ps->in_thread_errors = true;
    if (g_ps->next_seq[id] != seq)
        atomic_fetch_add(&g_ps->order_errors, 1);
    g_ps->next_seq[id] = seq + 1;
}

static void *producer_main(void *arg)
{
    struct producer *p = arg;

    while (!atomic_load(&p->ps->go))
        ;
    for (unsigned i = 0; i < p->limit; i++) {
        uintptr_t v = (uintptr_t)p->id << 24 | i;
        int err = rx_loop_post(p->ps->loop, count_task, (void *)v);
        if (err == -ESHUTDOWN)
            break;
        assert_int_equal(err, 0);
        p->ps->accepted[p->id]++;
        atomic_fetch_add(&p->ps->total_accepted, 1);
    }
    return NULL;
}

static void start_producers(struct post_state *ps, struct producer *pr, pthread_t *th,
                            unsigned limit)
{
    for (unsigned i = 0; i < PRODUCERS; i++) {
        pr[i] = (struct producer){ps, i, limit};
        assert_int_equal(pthread_create(&th[i], NULL, producer_main, &pr[i]), 0);
    }
    atomic_store(&ps->go, true);
}

static void loop_post_from_many_threads_runs_each_task_once_in_order(void **state)
{
    struct post_state ps = {.loop = rx_loop_new()};
    struct producer pr[PRODUCERS];
    pthread_t th[PRODUCERS], loop_th;

    g_ps = &ps;
    assert_int_equal(pthread_create(&loop_th, NULL, run_thread, ps.loop), 0);
    start_producers(&ps, pr, th, POSTS_PER_PRODUCER);
    for (unsigned i = 0; i < PRODUCERS; i++)
        join_or_fail(th[i]);
    /* Tasks accepted before the stop still run before rx_loop_run returns. */
    rx_loop_stop(ps.loop);
    join_or_fail(loop_th);

    for (unsigned i = 0; i < PRODUCERS; i++) {
        assert_int_equal(ps.accepted[i], POSTS_PER_PRODUCER);
        assert_int_equal(ps.next_seq[i], POSTS_PER_PRODUCER);
    }
    assert_int_equal(atomic_load(&ps.order_errors), 0);
    assert_false(ps.in_thread_errors);
    rx_loop_free(ps.loop);
}

static void loop_post_while_stopping_loses_and_repeats_nothing(void **state)
{
    struct post_state ps = {.loop = rx_loop_new()};
    struct producer pr[PRODUCERS];
    pthread_t th[PRODUCERS], loop_th;
    unsigned total = 0;

    g_ps = &ps;
    assert_int_equal(pthread_create(&loop_th, NULL, run_thread, ps.loop), 0);
    start_producers(&ps, pr, th, POSTS_PER_PRODUCER);
    while (atomic_load(&ps.total_accepted) < 1000)
        usleep(100);
    rx_loop_stop(ps.loop);
    join_or_fail(loop_th);
    for (unsigned i = 0; i < PRODUCERS; i++)
        join_or_fail(th[i]);

    /* Every accepted task ran exactly once, in order (next_seq counts them
     * and order_errors would catch a gap or a repeat); the rest were refused. */
    for (unsigned i = 0; i < PRODUCERS; i++) {
        assert_int_equal(ps.next_seq[i], ps.accepted[i]);
        total += ps.accepted[i];
    }
    assert_true(total > 0);
    assert_int_equal(atomic_load(&ps.order_errors), 0);
    assert_int_equal(rx_loop_post(ps.loop, count_task, NULL), -ESHUTDOWN);
    rx_loop_free(ps.loop);
}

static void post_before_run_task(rx_loop_t *loop, void *arg)
{
    ++*(int *)arg;
    rx_loop_stop(loop);
}

static void loop_post_before_run_is_run(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;

    assert_int_equal(rx_loop_post(loop, post_before_run_task, &n), 0);
    run_guarded(loop);
    assert_int_equal(n, 1);
    rx_loop_free(loop);
}

static void bounded_count_task(rx_loop_t *loop, void *arg)
{
    ++*(int *)arg;
}

/* A full queue refuses at once (-EAGAIN); rx_loop_post has no bound. */
static void loop_post_bounded_refuses_past_its_bound(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;

    for (int i = 0; i < 3; i++)
        assert_int_equal(rx_loop_post_bounded(loop, bounded_count_task, &n, 3), 0);
    assert_int_equal(rx_loop_post_bounded(loop, bounded_count_task, &n, 3), -EAGAIN);
    assert_int_equal(rx_loop_post(loop, post_before_run_task, &n), 0); /* unbounded */
    run_guarded(loop);
    assert_int_equal(n, 4);
    rx_loop_free(loop);
}

static void loop_free_drops_pending_tasks(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int n = 0;

    assert_int_equal(rx_loop_post(loop, post_before_run_task, &n), 0);
    assert_int_equal(rx_loop_defer(loop, post_before_run_task, &n), 0);
    rx_loop_free(loop);
    assert_int_equal(n, 0);
}

static void loop_data_and_index_accessors(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    int x;

    assert_null(rx_loop_data(loop));
    rx_loop_set_data(loop, &x);
    assert_ptr_equal(rx_loop_data(loop), &x);
    assert_int_equal(rx_loop_index(loop), 0);
    assert_true(rx_loop_now(loop) <= rx_time_ms());
    rx_loop_free(loop);
    rx_loop_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_io_add_mod_del_with_pipe),
        cmocka_unit_test(loop_reports_writable_fd),
        cmocka_unit_test(loop_io_del_drops_events_pending_in_batch),
        cmocka_unit_test(loop_defer_runs_after_the_batch),
        cmocka_unit_test(loop_defer_from_defer_runs_later),
        cmocka_unit_test(loop_stop_from_another_thread),
        cmocka_unit_test(loop_stop_before_run_returns_at_once),
        cmocka_unit_test(loop_last_tick_advances_while_idle),
        cmocka_unit_test(loop_in_thread_reports_owner),
        cmocka_unit_test(loop_post_from_many_threads_runs_each_task_once_in_order),
        cmocka_unit_test(loop_post_while_stopping_loses_and_repeats_nothing),
        cmocka_unit_test(loop_post_before_run_is_run),
        cmocka_unit_test(loop_post_bounded_refuses_past_its_bound),
        cmocka_unit_test(loop_free_drops_pending_tasks),
        cmocka_unit_test(loop_data_and_index_accessors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
