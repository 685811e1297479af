/*
 * The event loop: fd handlers, deferred and cross-thread tasks, the loop's
 * clock. Timers are in timer.h, loops on threads in pool.h.
 *
 * Threading model. An rx_loop_t is owned by the one thread that runs
 * rx_loop_run(); every function on a loop, its timers, its fds and the
 * connections it serves must be called from that thread, except those marked
 * "any thread" (rx_loop_post, rx_loop_stop, rx_loop_last_tick_ms and the
 * *_send_ref / *_post helpers). Other threads hand work to a loop through its
 * task queue (rx_loop_post), which an eventfd wakes. An rx_pool_t runs N loops
 * on N threads; a TCP server accepts on one loop and hands each connection to
 * a pool loop (round-robin), where it stays until it closes.
 *
 * fd events are level-triggered: a handler may read less than is available
 * and is called again.
 *
 * Errors are returned as negative errno values. The library does not log.
 */
#ifndef LIBREACTOR_LOOP_H
#define LIBREACTOR_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

typedef struct rx_loop rx_loop_t;

enum {
    RX_READ = EPOLLIN,
    RX_WRITE = EPOLLOUT,
    /* Reported to handlers, never requested. */
    RX_ERROR = EPOLLERR,
    RX_HUP = EPOLLHUP | EPOLLRDHUP,
};

typedef void (*rx_io_cb)(rx_loop_t *loop, int fd, uint32_t events, void *arg);
typedef void (*rx_task_cb)(rx_loop_t *loop, void *arg);

/* The loop wakes at least this often, so that its tick (below) advances even
 * when it has nothing to do; a tick older than a few of these means the
 * loop's thread is stuck in a handler. */
#define RX_LOOP_MAX_SLEEP_MS 500

rx_loop_t *rx_loop_new(void);
/* Frees the loop, its timers and pending tasks (without running them). fds
 * registered on it are not closed. Accepts NULL. */
void rx_loop_free(rx_loop_t *loop);
/* Runs until rx_loop_stop(); returns 0, or -errno if epoll fails. Tasks
 * posted before the stop are run before it returns. */
int rx_loop_run(rx_loop_t *loop);
/* Any thread. */
void rx_loop_stop(rx_loop_t *loop);
/* True on the thread that runs (or last ran) the loop; before the loop first
 * runs, on the thread that created it. Pool loops belong to their threads as
 * soon as rx_pool_start returns. */
bool rx_loop_in_thread(const rx_loop_t *loop);
/* Monotonic milliseconds, cached at the start of the current iteration. */
uint64_t rx_loop_now(const rx_loop_t *loop);
/* Any thread: monotonic ms of the loop's last iteration (0 before the first). */
uint64_t rx_loop_last_tick_ms(const rx_loop_t *loop);
/* Any thread: CLOCK_MONOTONIC in milliseconds. */
uint64_t rx_time_ms(void);

void rx_loop_set_data(rx_loop_t *loop, void *data);
void *rx_loop_data(const rx_loop_t *loop);
/* Index of the loop inside its pool (0 for a loop outside any pool). */
unsigned rx_loop_index(const rx_loop_t *loop);

/* fd handlers; at most one handler per fd (-EEXIST), events RX_READ |
 * RX_WRITE (0: registered but quiet); mod and del of an fd without a handler
 * give -ENOENT. */
int rx_io_add(rx_loop_t *loop, int fd, uint32_t events, rx_io_cb cb, void *arg);
int rx_io_mod(rx_loop_t *loop, int fd, uint32_t events);
/* Safe to call from any handler, including for an fd whose events are still
 * pending in the current batch (they are not delivered). */
int rx_io_del(rx_loop_t *loop, int fd);

/* Runs cb on the owning thread after the current batch of events. */
int rx_loop_defer(rx_loop_t *loop, rx_task_cb cb, void *arg);
/* Any thread: queues cb to run on the loop's thread and wakes it; tasks of
 * one producer run in the order posted. The queue grows as needed
 * (amortised, no allocation per task at steady state); returns -ENOMEM if it
 * cannot, -ESHUTDOWN once rx_loop_run has returned (until it runs again):
 * a post either runs exactly once or fails. */
int rx_loop_post(rx_loop_t *loop, rx_task_cb cb, void *arg);
/* rx_loop_post, but -EAGAIN (never waiting) when max_queued tasks are
 * already waiting to run: producers that a peer can make fast cannot grow
 * the queue without bound. */
int rx_loop_post_bounded(rx_loop_t *loop, rx_task_cb cb, void *arg, size_t max_queued);

#endif
