/*
 * Timers: one binary min-heap per loop, ordered by (deadline, seq). seq is a
 * per-loop counter taken when a timer is armed (arm, periodic re-arm), so
 * timers with the same deadline fire in the order they were armed. Each
 * timer knows its heap index, which makes stop O(log n). Every timer not
 * freed is also on the loop's list, so that rx_loop_free finds the idle
 * ones.
 *
 * A firing timer is out of the heap while its callback runs; a free then
 * only marks it and the loop frees it when the callback returns.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "libreactor/internal.h"

#define NOT_IN_HEAP SIZE_MAX

struct rx_timer {
    rx_loop_t *loop;
    uint64_t deadline;
    uint64_t period;
    uint64_t seq;
    size_t idx;
    rx_timer_cb cb;
    void *arg;
    rx_timer_t *prev, *next; /* the loop's list */
    bool firing;
    bool freed; /* inside its callback: free when it returns */
};

static bool timer_before(const rx_timer_t *a, const rx_timer_t *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(rx_loop_t *loop, size_t i, rx_timer_t *t)
{
    loop->heap[i] = t;
    t->idx = i;
}

static void heap_sift_up(rx_loop_t *loop, size_t i)
{
    rx_timer_t *t = loop->heap[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_sift_down(rx_loop_t *loop, size_t i)
{
    rx_timer_t *t = loop->heap[i];

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= loop->nheap)
            break;
        if (c + 1 < loop->nheap && timer_before(loop->heap[c + 1], loop->heap[c]))
            c++;
        if (!timer_before(loop->heap[c], t))
            break;
        heap_set(loop, i, loop->heap[c]);
        i = c;
    }
    heap_set(loop, i, t);
}

/* The heap always has room for every timer of the loop (rx_timer_new makes
 * it), so arming a timer, even from inside a callback, cannot fail. */
static int heap_reserve(rx_loop_t *loop)
{
    size_t ncap;
    rx_timer_t **h;

    if (loop->ntimers < loop->heap_cap)
        return 0;
    ncap = loop->heap_cap ? loop->heap_cap * 2 : 16;
    h = realloc(loop->heap, ncap * sizeof(*h));
    if (!h)
        return -ENOMEM;
    loop->heap = h;
    loop->heap_cap = ncap;
    return 0;
}

static void heap_push(rx_loop_t *loop, rx_timer_t *t)
{
    heap_set(loop, loop->nheap++, t);
    heap_sift_up(loop, t->idx);
}

static void timer_destroy(rx_loop_t *loop, rx_timer_t *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    loop->ntimers--;
    free(t);
}

static void heap_remove(rx_loop_t *loop, rx_timer_t *t)
{
    size_t i = t->idx;
    rx_timer_t *last = loop->heap[--loop->nheap];

    t->idx = NOT_IN_HEAP;
    if (last == t)
        return;
    heap_set(loop, i, last);
    if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
        heap_sift_up(loop, i);
    else
        heap_sift_down(loop, i);
}

static void timer_arm(rx_loop_t *loop, rx_timer_t *t, uint64_t deadline)
{
    t->deadline = deadline;
    t->seq = loop->timer_seq++;
    heap_push(loop, t);
}

rx_timer_t *rx_timer_new(rx_loop_t *loop, rx_timer_cb cb, void *arg)
{
    rx_timer_t *t;

    if (heap_reserve(loop) < 0)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->loop = loop;
    t->idx = NOT_IN_HEAP;
    t->cb = cb;
    t->arg = arg;
    t->next = loop->timers;
    if (t->next)
        t->next->prev = t;
    loop->timers = t;
    loop->ntimers++;
    return t;
}

rx_timer_t *rx_timer_add(rx_loop_t *loop, uint64_t delay_ms, uint64_t period_ms, rx_timer_cb cb,
                         void *arg)
{
    rx_timer_t *t = rx_timer_new(loop, cb, arg);

    if (t)
        rx_timer_arm(t, delay_ms, period_ms);
    return t;
}

void rx_timer_arm(rx_timer_t *timer, uint64_t delay_ms, uint64_t period_ms)
{
    rx_loop_t *loop = timer->loop;

    if (timer->freed)
        return;
    if (timer->idx != NOT_IN_HEAP)
        heap_remove(loop, timer);
    timer->period = period_ms;
    timer_arm(loop, timer, loop->now + delay_ms);
}

void rx_timer_stop(rx_timer_t *timer)
{
    if (!timer)
        return;
    if (timer->idx != NOT_IN_HEAP)
        heap_remove(timer->loop, timer);
    /* Inside its callback, this keeps a periodic timer from re-arming. */
    timer->period = 0;
}

bool rx_timer_armed(const rx_timer_t *timer)
{
    return timer && (timer->idx != NOT_IN_HEAP || (timer->firing && timer->period > 0));
}

void rx_timer_free(rx_timer_t *timer)
{
    if (!timer)
        return;
    rx_timer_stop(timer);
    if (timer->firing)
        timer->freed = true;
    else
        timer_destroy(timer->loop, timer);
}

size_t rx_timer_count(const rx_loop_t *loop)
{
    return loop->ntimers;
}

int rx_timer_next_timeout(rx_loop_t *loop, int max_ms)
{
    uint64_t now, deadline;

    if (loop->nheap == 0)
        return max_ms;
    deadline = loop->heap[0]->deadline;
    now = rx_time_ms();
    if (deadline <= now)
        return 0;
    return deadline - now < (uint64_t)max_ms ? (int)(deadline - now) : max_ms;
}

static void timer_fire(rx_loop_t *loop, rx_timer_t *t)
{
    heap_remove(loop, t);
    t->firing = true;
    t->cb(loop, t, t->arg);
    t->firing = false;
    if (t->freed) {
        timer_destroy(loop, t);
    } else if (t->idx != NOT_IN_HEAP) {
        /* armed again by its callback */
    } else if (t->period > 0) {
        /* After a stall, skip the missed periods instead of firing a burst. */
        uint64_t next = t->deadline + t->period;
        timer_arm(loop, t, next > loop->now ? next : loop->now + t->period);
    }
}

void rx_timer_run_due(rx_loop_t *loop)
{
    /* Timers armed during this pass (seq >= end) wait for the next one, so a
     * callback that adds a zero-delay timer cannot keep the loop here. */
    uint64_t end = loop->timer_seq;

    while (loop->nheap > 0) {
        rx_timer_t *t = loop->heap[0];
        if (t->deadline > loop->now || t->seq >= end)
            break;
        timer_fire(loop, t);
        if (atomic_load_explicit(&loop->stop, memory_order_relaxed))
            break;
    }
}

void rx_timer_free_all(rx_loop_t *loop)
{
    rx_timer_t *t = loop->timers, *next;

    for (; t; t = next) {
        next = t->next;
        free(t);
    }
    free(loop->heap);
    loop->heap = NULL;
    loop->timers = NULL;
    loop->nheap = loop->heap_cap = loop->ntimers = 0;
}
