/*
 * Declarations shared by the files of libreactor and nothing else: the loop's
 * layout (fd table, task queues, timer heap) and small helpers for the net
 * half (counters, fd flags). Not installed, not for users of the library.
 */
#ifndef LIBREACTOR_INTERNAL_H
#define LIBREACTOR_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "libreactor/reactor.h"

/* Events fetched by one epoll_wait. */
#define RX_LOOP_BATCH 256

typedef struct rx_task {
    rx_task_cb cb;
    void *arg;
} rx_task_t;

/* A FIFO of tasks in a growable ring; grows by doubling, never shrinks, so a
 * queue at steady state allocates nothing. */
typedef struct rx_task_ring {
    rx_task_t *items;
    size_t cap; /* 0 or a power of two */
    size_t head;
    size_t count;
} rx_task_ring_t;

/* One slot of the fd table. `gen` changes on every rx_io_add so that events
 * of a deleted (and maybe reused) fd still pending in the current batch are
 * recognised as stale: the epoll data carries fd and gen. */
typedef struct rx_io {
    rx_io_cb cb; /* NULL: slot free */
    void *arg;
    uint32_t events;
    uint32_t gen;
} rx_io_t;

struct rx_loop {
    int epfd;
    int wakefd; /* eventfd: rx_loop_post and rx_loop_stop wake the loop */

    rx_io_t *ios; /* indexed by fd */
    size_t nios;
    uint32_t io_gen;

    /* Loop thread only. */
    rx_task_ring_t defers;
    rx_task_ring_t defers_running;
    uint64_t now;

    /* Cross-thread queue: `posted` is guarded by post_lock; the loop swaps it
     * with `draining` (its own, empty) under the lock and runs the tasks
     * unlocked, so producers wait only for a swap, never for a task. */
    pthread_mutex_t post_lock;
    rx_task_ring_t posted;
    rx_task_ring_t draining;
    bool post_closed; /* guarded by post_lock */

    /* Timers: binary min-heap ordered by (deadline, seq). */
    rx_timer_t **heap;
    size_t nheap;
    size_t heap_cap;
    rx_timer_t *timers; /* every timer not freed, armed or idle (a list) */
    size_t ntimers;
    uint64_t timer_seq;

    atomic_bool stop;
    atomic_bool wake_pending; /* a post or stop since the last drain */
    atomic_int kick_fd;       /* >= 0 while a handler blocks in a receive */
    _Atomic uint64_t last_tick;
    _Atomic(pthread_t) owner;
    void *data;
    unsigned index;

    struct epoll_event events[RX_LOOP_BATCH];
};

/* Timers of a loop (timer.c), called by loop.c. */
int rx_timer_next_timeout(rx_loop_t *loop, int max_ms);
void rx_timer_run_due(rx_loop_t *loop);
void rx_timer_free_all(rx_loop_t *loop);

/* Ring helpers (loop.c). */
int rx_task_ring_push(rx_task_ring_t *r, rx_task_cb cb, void *arg);
void rx_task_ring_free(rx_task_ring_t *r);

/* For handlers that keep the thread for a while (udp.c's linger): true when
 * the loop has posted tasks, a stop or a due timer waiting; and a refresh
 * of the loop's cached time and tick. Loop thread only. */
bool rx_loop_wants_thread(rx_loop_t *loop);
void rx_loop_touch(rx_loop_t *loop);
/* While a handler blocks in a receive on a socket instead of in epoll_wait,
 * wakeups of the loop also send an empty datagram on kick_fd (connected to
 * that socket) so that the receive returns; -1 when it no longer blocks.
 * The caller checks rx_loop_wants_thread() after setting it. */
void rx_loop_set_kick(rx_loop_t *loop, int kick_fd);

/* Makes the calling thread the loop's owner (rx_loop_in_thread). */
void rx_loop_claim(rx_loop_t *loop);
void rx_loop_set_index(rx_loop_t *loop, unsigned index);

static inline void rx_stat_inc(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static inline void rx_stat_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* O_NONBLOCK and FD_CLOEXEC on fd; 0 or -errno. */
int rx_fd_set_nonblock(int fd);

/* Net half: how many bytes to read into a stream's input buffer next: the
 * rest of the partial frame it holds when that is more than dflt (so a big
 * frame arrives in few reads), else dflt. */
static inline size_t rx_frame_read_hint(const rx_buf_t *in, size_t dflt)
{
    const uint8_t *p = rx_buf_peek(in);
    size_t have = rx_buf_len(in), want;

    if (have < RX_FRAME_HDR)
        return dflt;
    want =
        RX_FRAME_HDR + ((size_t)p[4] | (size_t)p[5] << 8 | (size_t)p[6] << 16 | (size_t)p[7] << 24);
    return want > have + dflt ? want - have : dflt;
}

#endif
