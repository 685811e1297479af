/*
 * The event loop: level-triggered epoll, an fd handler table indexed by fd,
 * a defer queue run after each batch of events, and a cross-thread task
 * queue woken by an eventfd. One iteration: wait (bounded by the next timer
 * and RX_LOOP_MAX_SLEEP_MS), cache the time, dispatch the batch, run the
 * deferred tasks, fire the due timers, run what they deferred.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libreactor/internal.h"

uint64_t rx_time_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int rx_fd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

/* ------------------------------------------------------------ task rings -- */

static int task_ring_grow(rx_task_ring_t *r)
{
    size_t ncap = r->cap ? r->cap * 2 : 64;
    rx_task_t *items = malloc(ncap * sizeof(*items));

    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < r->count; i++)
        items[i] = r->items[(r->head + i) & (r->cap - 1)];
    free(r->items);
    r->items = items;
    r->cap = ncap;
    r->head = 0;
    return 0;
}

int rx_task_ring_push(rx_task_ring_t *r, rx_task_cb cb, void *arg)
{
    if (r->count == r->cap) {
        int err = task_ring_grow(r);
        if (err < 0)
            return err;
    }
    r->items[(r->head + r->count) & (r->cap - 1)] = (rx_task_t){cb, arg};
    r->count++;
    return 0;
}

void rx_task_ring_free(rx_task_ring_t *r)
{
    free(r->items);
    *r = (rx_task_ring_t){0};
}

static void task_ring_swap(rx_task_ring_t *a, rx_task_ring_t *b)
{
    rx_task_ring_t t = *a;

    *a = *b;
    *b = t;
}

/* Runs every task of r in order and leaves it empty. Tasks may queue new
 * work into other rings, never into r (the caller swapped it out). */
static void task_ring_run(rx_loop_t *loop, rx_task_ring_t *r)
{
    while (r->count > 0) {
        rx_task_t t = r->items[r->head];
        r->head = (r->head + 1) & (r->cap - 1);
        r->count--;
        t.cb(loop, t.arg);
    }
    r->head = 0;
}

/* ------------------------------------------------------------------ loop -- */

static void loop_wake(rx_loop_t *loop)
{
    uint64_t one = 1;
    int kick;

    /* Sequentially consistent with rx_loop_set_kick + rx_loop_wants_thread:
     * either the blocking handler sees wake_pending, or we see its kick fd. */
    atomic_store(&loop->wake_pending, true);
    kick = atomic_load(&loop->kick_fd);
    if (kick >= 0)
        (void)send(kick, NULL, 0, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (write(loop->wakefd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

rx_loop_t *rx_loop_new(void)
{
    rx_loop_t *loop = calloc(1, sizeof(*loop));
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};

    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto out_free;
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wakefd < 0)
        goto out_close_ep;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0)
        goto out_close_wake;
    pthread_mutex_init(&loop->post_lock, NULL);
    atomic_init(&loop->stop, false);
    atomic_init(&loop->wake_pending, false);
    atomic_init(&loop->kick_fd, -1);
    atomic_init(&loop->last_tick, 0);
    atomic_init(&loop->owner, pthread_self());
    loop->now = rx_time_ms();
    return loop;

out_close_wake:
    close(loop->wakefd);
out_close_ep:
    close(loop->epfd);
out_free:
    free(loop);
    return NULL;
}

void rx_loop_free(rx_loop_t *loop)
{
    if (!loop)
        return;
    pthread_mutex_lock(&loop->post_lock);
    loop->post_closed = true;
    pthread_mutex_unlock(&loop->post_lock);

    rx_timer_free_all(loop);
    rx_task_ring_free(&loop->posted);
    rx_task_ring_free(&loop->draining);
    rx_task_ring_free(&loop->defers);
    rx_task_ring_free(&loop->defers_running);
    pthread_mutex_destroy(&loop->post_lock);
    close(loop->wakefd);
    close(loop->epfd);
    free(loop->ios);
    free(loop);
}

/* Runs the tasks posted so far; returns how many. */
static size_t loop_drain_posted(rx_loop_t *loop, bool close_if_empty)
{
    size_t n;

    pthread_mutex_lock(&loop->post_lock);
    task_ring_swap(&loop->posted, &loop->draining);
    n = loop->draining.count;
    if (n == 0 && close_if_empty)
        loop->post_closed = true;
    pthread_mutex_unlock(&loop->post_lock);
    task_ring_run(loop, &loop->draining);
    return n;
}

static void loop_on_wake(rx_loop_t *loop)
{
    uint64_t v;

    /* Read before draining: a post that lands after the drain finds the
     * queue empty and writes again. */
    atomic_store_explicit(&loop->wake_pending, false, memory_order_relaxed);
    while (read(loop->wakefd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
    loop_drain_posted(loop, false);
}

static void loop_run_defers(rx_loop_t *loop)
{
    /* Deferred tasks that defer again run in the next round, so a task that
     * keeps re-deferring itself cannot starve the loop. */
    while (loop->defers.count > 0) {
        task_ring_swap(&loop->defers, &loop->defers_running);
        task_ring_run(loop, &loop->defers_running);
        if (atomic_load_explicit(&loop->stop, memory_order_relaxed))
            break;
    }
}

static void loop_dispatch(rx_loop_t *loop, int n)
{
    /* Hot path: table lookups only, no allocation, no lock. */
    for (int i = 0; i < n; i++) {
        uint64_t data = loop->events[i].data.u64;
        uint32_t fd = (uint32_t)data, gen = (uint32_t)(data >> 32);
        rx_io_t *io;
        uint32_t ev;

        if (data == UINT64_MAX) {
            loop_on_wake(loop);
            continue;
        }
        if (fd >= loop->nios)
            continue;
        io = &loop->ios[fd];
        if (!io->cb || io->gen != gen)
            continue; /* deleted (and maybe reused) earlier in this batch */
        ev = loop->events[i].events & (io->events | RX_ERROR | RX_HUP);
        if (ev)
            io->cb(loop, (int)fd, ev, io->arg);
    }
}

static int loop_iterate(rx_loop_t *loop)
{
    int timeout = loop->defers.count ? 0 : rx_timer_next_timeout(loop, RX_LOOP_MAX_SLEEP_MS);
    int n = epoll_wait(loop->epfd, loop->events, RX_LOOP_BATCH, timeout);

    if (n < 0 && errno != EINTR)
        return -errno;
    loop->now = rx_time_ms();
    atomic_store_explicit(&loop->last_tick, loop->now, memory_order_relaxed);
    loop_dispatch(loop, n < 0 ? 0 : n);
    loop_run_defers(loop);
    rx_timer_run_due(loop);
    loop_run_defers(loop);
    return 0;
}

/* After a stop: run what was accepted until nothing is left, then refuse
 * further posts (atomically with seeing the queue empty), so that a post
 * either runs exactly once or fails with -ESHUTDOWN. */
static void loop_finish(rx_loop_t *loop)
{
    for (;;) {
        loop_run_defers(loop);
        if (loop_drain_posted(loop, true) == 0 && loop->defers.count == 0)
            break;
    }
}

int rx_loop_run(rx_loop_t *loop)
{
    int err = 0;

    rx_loop_claim(loop);
    pthread_mutex_lock(&loop->post_lock);
    loop->post_closed = false;
    pthread_mutex_unlock(&loop->post_lock);

    while (!atomic_load(&loop->stop)) {
        err = loop_iterate(loop);
        if (err < 0)
            break;
    }
    loop_finish(loop);
    atomic_store(&loop->stop, false);
    return err;
}

void rx_loop_stop(rx_loop_t *loop)
{
    atomic_store(&loop->stop, true);
    loop_wake(loop);
}

void rx_loop_claim(rx_loop_t *loop)
{
    atomic_store(&loop->owner, pthread_self());
}

bool rx_loop_in_thread(const rx_loop_t *loop)
{
    return pthread_equal(atomic_load(&((rx_loop_t *)loop)->owner), pthread_self());
}

bool rx_loop_wants_thread(rx_loop_t *loop)
{
    return loop->defers.count > 0 || atomic_load(&loop->wake_pending) ||
           atomic_load_explicit(&loop->stop, memory_order_relaxed) ||
           rx_timer_next_timeout(loop, 1) == 0;
}

void rx_loop_set_kick(rx_loop_t *loop, int kick_fd)
{
    atomic_store(&loop->kick_fd, kick_fd);
}

void rx_loop_touch(rx_loop_t *loop)
{
    loop->now = rx_time_ms();
    atomic_store_explicit(&loop->last_tick, loop->now, memory_order_relaxed);
}

uint64_t rx_loop_now(const rx_loop_t *loop)
{
    return loop->now;
}

uint64_t rx_loop_last_tick_ms(const rx_loop_t *loop)
{
    return atomic_load_explicit(&((rx_loop_t *)loop)->last_tick, memory_order_relaxed);
}

void rx_loop_set_data(rx_loop_t *loop, void *data)
{
    loop->data = data;
}

void *rx_loop_data(const rx_loop_t *loop)
{
    return loop->data;
}

unsigned rx_loop_index(const rx_loop_t *loop)
{
    return loop->index;
}

void rx_loop_set_index(rx_loop_t *loop, unsigned index)
{
    loop->index = index;
}

int rx_loop_defer(rx_loop_t *loop, rx_task_cb cb, void *arg)
{
    return rx_task_ring_push(&loop->defers, cb, arg);
}

int rx_loop_post(rx_loop_t *loop, rx_task_cb cb, void *arg)
{
    return rx_loop_post_bounded(loop, cb, arg, SIZE_MAX);
}

int rx_loop_post_bounded(rx_loop_t *loop, rx_task_cb cb, void *arg, size_t max_queued)
{
    int err;
    bool was_empty;

    pthread_mutex_lock(&loop->post_lock);
    if (loop->post_closed) {
        pthread_mutex_unlock(&loop->post_lock);
        return -ESHUTDOWN;
    }
    if (loop->posted.count >= max_queued) {
        pthread_mutex_unlock(&loop->post_lock);
        return -EAGAIN;
    }
    was_empty = loop->posted.count == 0;
    err = rx_task_ring_push(&loop->posted, cb, arg);
    pthread_mutex_unlock(&loop->post_lock);
    /* Only the post that makes the queue non-empty wakes the loop: the
     * drain that takes it takes everything queued behind it. */
    if (err == 0 && was_empty)
        loop_wake(loop);
    return err;
}

/* -------------------------------------------------------------- fd table -- */

static int io_table_fit(rx_loop_t *loop, int fd)
{
    size_t n = loop->nios ? loop->nios : 64;
    rx_io_t *ios;

    while (n <= (size_t)fd)
        n *= 2;
    ios = realloc(loop->ios, n * sizeof(*ios));
    if (!ios)
        return -ENOMEM;
    memset(ios + loop->nios, 0, (n - loop->nios) * sizeof(*ios));
    loop->ios = ios;
    loop->nios = n;
    return 0;
}

static struct epoll_event io_event(int fd, const rx_io_t *io)
{
    return (struct epoll_event){
        .events = io->events,
        .data.u64 = (uint64_t)io->gen << 32 | (uint32_t)fd,
    };
}

int rx_io_add(rx_loop_t *loop, int fd, uint32_t events, rx_io_cb cb, void *arg)
{
    struct epoll_event ev;
    rx_io_t *io;

    if (fd < 0 || !cb)
        return -EINVAL;
    if ((size_t)fd >= loop->nios) {
        int err = io_table_fit(loop, fd);
        if (err < 0)
            return err;
    }
    io = &loop->ios[fd];
    if (io->cb)
        return -EEXIST;
    *io = (rx_io_t){cb, arg, events & (RX_READ | RX_WRITE), ++loop->io_gen};
    ev = io_event(fd, io);
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int err = -errno;
        io->cb = NULL;
        return err;
    }
    return 0;
}

int rx_io_mod(rx_loop_t *loop, int fd, uint32_t events)
{
    struct epoll_event ev;
    rx_io_t *io;

    if (fd < 0 || (size_t)fd >= loop->nios || !loop->ios[fd].cb)
        return -ENOENT;
    io = &loop->ios[fd];
    events &= RX_READ | RX_WRITE;
    if (io->events == events)
        return 0;
    io->events = events;
    ev = io_event(fd, io);
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
        return -errno;
    return 0;
}

int rx_io_del(rx_loop_t *loop, int fd)
{
    if (fd < 0 || (size_t)fd >= loop->nios || !loop->ios[fd].cb)
        return -ENOENT;
    loop->ios[fd].cb = NULL;
    /* The fd may already be closed (then the kernel dropped it itself). */
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
        return -errno;
    return 0;
}
