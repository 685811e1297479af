/*
 * libreactor: a small epoll reactor for message servers and clients.
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
 * and is called again. Timers live in a binary min-heap per loop (O(log n)
 * insert and cancel) with millisecond resolution on CLOCK_MONOTONIC.
 *
 * Errors are returned as negative errno values. The library does not log.
 *
 * Framing (all transports): an 8-byte header, int32 msgid and int32 msglen,
 * both little-endian, followed by msglen body bytes.
 */
#ifndef LIBREACTOR_REACTOR_H
#define LIBREACTOR_REACTOR_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

/* ---------------------------------------------------------------- loop -- */

typedef struct rx_loop rx_loop_t;
typedef struct rx_timer rx_timer_t;

enum {
    RX_READ = EPOLLIN,
    RX_WRITE = EPOLLOUT,
    /* Reported to handlers, never requested. */
    RX_ERROR = EPOLLERR,
    RX_HUP = EPOLLHUP | EPOLLRDHUP,
};

typedef void (*rx_io_cb)(rx_loop_t *loop, int fd, uint32_t events, void *arg);
typedef void (*rx_task_cb)(rx_loop_t *loop, void *arg);
typedef void (*rx_timer_cb)(rx_loop_t *loop, rx_timer_t *timer, void *arg);

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

/* ------------------------------------------------------------- timers -- */

/* First fires after delay_ms (from rx_loop_now); then every period_ms if
 * period_ms > 0 (periods missed during a stall are skipped, not caught up),
 * else once (a one-shot timer is freed after its callback returns). Timers
 * with the same deadline fire in the order they were armed (added, reset or
 * re-armed); a timer armed by a callback fires in a later pass at the
 * earliest. Returns NULL on allocation failure. */
rx_timer_t *rx_timer_add(rx_loop_t *loop, uint64_t delay_ms, uint64_t period_ms, rx_timer_cb cb,
                         void *arg);
/* Cancels and frees a pending timer; safe inside the timer's own callback.
 * Accepts NULL. Never call it on a one-shot timer that has already fired. */
void rx_timer_cancel(rx_loop_t *loop, rx_timer_t *timer);
/* Moves the next expiry to now + delay_ms (keeps the period). Inside the
 * callback of a one-shot timer it re-arms it (the timer is then not freed);
 * on a timer cancelled in its own callback it does nothing. */
void rx_timer_reset(rx_loop_t *loop, rx_timer_t *timer, uint64_t delay_ms);
/* Timers not yet freed (pending, or firing right now). */
size_t rx_timer_count(const rx_loop_t *loop);

/* --------------------------------------------------------------- pool -- */

typedef struct rx_pool rx_pool_t;

/* n loops, each run by its own thread named "<name>-<i>" once started. */
rx_pool_t *rx_pool_new(unsigned n, const char *name);
/* Returns once every thread runs its loop; -EALREADY if called twice. A pool
 * is started at most once. */
int rx_pool_start(rx_pool_t *pool);
unsigned rx_pool_size(const rx_pool_t *pool);
rx_loop_t *rx_pool_loop(const rx_pool_t *pool, unsigned i);
/* Any thread: round-robin. */
rx_loop_t *rx_pool_next(rx_pool_t *pool);
/* Any thread: the same key always gives the same loop. */
rx_loop_t *rx_pool_hash(const rx_pool_t *pool, uint64_t key);
/* Stops every loop and joins its thread. Idempotent. */
void rx_pool_stop(rx_pool_t *pool);
/* Stops if needed, then frees the loops. Accepts NULL. */
void rx_pool_free(rx_pool_t *pool);

/* ------------------------------------------------------------ buffers -- */

/* A contiguous byte buffer: data[head, tail) holds the bytes. Storage comes
 * from a per-thread size-class pool (4 KiB .. 4 MiB in powers of 4, then
 * RX_BUF_MAX) and goes back to it when the buffer is released, so a
 * connection's steady traffic allocates nothing. A zeroed rx_buf_t is an
 * empty buffer. */
typedef struct rx_buf {
    uint8_t *data;
    size_t head;
    size_t tail;
    size_t cap;
} rx_buf_t;

/* Big enough for one frame of a 4 MiB body (SPEC: max_frame = 4194304) with
 * its header, which a 4 MiB buffer is not. */
#define RX_BUF_MAX (8u << 20)

static inline size_t rx_buf_len(const rx_buf_t *b)
{
    return b->tail - b->head;
}
static inline uint8_t *rx_buf_peek(const rx_buf_t *b)
{
    return b->data + b->head;
}
/* Ensures room for n more bytes at the tail (compacting or moving to a larger
 * class); -ENOBUFS past RX_BUF_MAX, -ENOMEM. Returns the write position. */
uint8_t *rx_buf_reserve(rx_buf_t *b, size_t n, int *ret_err);
static inline void rx_buf_commit(rx_buf_t *b, size_t n)
{
    b->tail += n;
}
int rx_buf_append(rx_buf_t *b, const void *p, size_t n);
/* Drops n bytes from the head; an emptied buffer rewinds to offset 0. */
void rx_buf_consume(rx_buf_t *b, size_t n);
/* Returns the storage to the pool and empties the buffer. */
void rx_buf_release(rx_buf_t *b);
/* One read(2) into the tail (at least `hint` bytes of room); returns bytes
 * read, 0 at EOF, -EAGAIN, -errno. */
ssize_t rx_buf_read_fd(rx_buf_t *b, int fd, size_t hint);
/* One write(2) from the head; consumes what was written. */
ssize_t rx_buf_write_fd(rx_buf_t *b, int fd);
/* Drops this thread's cached storage. Storage returns to the cache of the
 * thread that releases it; a thread's cache is also emptied when it exits. */
void rx_buf_pool_trim(void);

/* ------------------------------------------------------------ framing -- */

#define RX_FRAME_HDR 8
/* The original Lars body limit. */
#define RX_FRAME_MAX_DEFAULT 65527u
/* The largest max_frame a TCP server or client accepts (a frame must fit in
 * one rx_buf); above it, rx_tcp_server_new / rx_tcp_client_new fail with
 * -EINVAL. */
#define RX_FRAME_MAX (RX_BUF_MAX - RX_FRAME_HDR)

typedef struct rx_frame {
    int32_t msgid;
    uint32_t len;
    const uint8_t *body;
} rx_frame_t;

static inline void rx_frame_put_header(uint8_t *p, int32_t msgid, uint32_t len)
{
    uint32_t id = (uint32_t)msgid;
    p[0] = id;
    p[1] = id >> 8;
    p[2] = id >> 16;
    p[3] = id >> 24;
    p[4] = len;
    p[5] = len >> 8;
    p[6] = len >> 16;
    p[7] = len >> 24;
}

/* Looks for one frame at p[0, n). Returns its total size (header + body) and
 * fills *ret when a whole frame is there; 0 when more bytes are needed;
 * -EBADMSG for a negative length; -EMSGSIZE for a length above max_body. */
ssize_t rx_frame_parse(const uint8_t *p, size_t n, uint32_t max_body, rx_frame_t *ret);

/* ------------------------------------------------------------- router -- */

typedef struct rx_conn rx_conn_t;
typedef struct rx_tcp_client rx_tcp_client_t;
typedef struct rx_udp_server rx_udp_server_t;
typedef struct rx_udp_client rx_udp_client_t;

/* One received message. Exactly one of conn / client / udp_server /
 * udp_client is set, telling where it came from; for UDP, `from` is the
 * sender. body is valid only during the handler call. */
typedef struct rx_msg {
    int32_t msgid;
    uint32_t len;
    const uint8_t *body;
    rx_loop_t *loop;
    rx_conn_t *conn;
    rx_tcp_client_t *client;
    rx_udp_server_t *udp_server;
    rx_udp_client_t *udp_client;
    const struct sockaddr_in *from;
} rx_msg_t;

typedef void (*rx_msg_cb)(const rx_msg_t *msg, void *arg);

typedef struct rx_router rx_router_t;

rx_router_t *rx_router_new(void);
void rx_router_free(rx_router_t *r);
/* Registers (or replaces) the handler of msgid; not thread-safe: set up the
 * router before the transports using it start. */
int rx_router_add(rx_router_t *r, int32_t msgid, rx_msg_cb cb, void *arg);
/* Calls the handler; -ENOENT (and nothing called) for an unknown msgid. */
int rx_router_dispatch(const rx_router_t *r, const rx_msg_t *msg);

/* ------------------------------------------------------------ counters -- */

/* Counters of a transport (server or client), updated with relaxed atomics
 * and readable from any thread with rx_stats_read(). */
typedef struct rx_stats {
    _Atomic uint64_t frames_in;      /* frames dispatched to a handler */
    _Atomic uint64_t frames_out;     /* frames queued for sending */
    _Atomic uint64_t frames_bad;     /* negative/oversized length, short datagram */
    _Atomic uint64_t frames_unknown; /* msgid with no handler */
    _Atomic uint64_t conns_accepted;
    _Atomic uint64_t conns_refused; /* over max_conns: accepted and closed */
    _Atomic uint64_t conns_closed;
    _Atomic uint64_t conns_idle_closed;
    _Atomic uint64_t conns_slow_closed; /* output over max_output */
    _Atomic uint64_t sends_refused;     /* send on a closed/full connection */
    _Atomic uint64_t connects;          /* client: successful connects */
    _Atomic uint64_t connect_failures;
    _Atomic uint64_t dgrams_in;
    _Atomic uint64_t dgrams_out;
    _Atomic uint64_t dgrams_send_failed;
    _Atomic uint64_t frames_truncated; /* partial frame left at a drain's close */
} rx_stats_t;

typedef struct rx_stats_snapshot {
    uint64_t frames_in, frames_out, frames_bad, frames_unknown;
    uint64_t conns_accepted, conns_refused, conns_closed, conns_idle_closed, conns_slow_closed;
    uint64_t sends_refused, connects, connect_failures;
    uint64_t dgrams_in, dgrams_out, dgrams_send_failed;
    uint64_t frames_truncated;
} rx_stats_snapshot_t;

void rx_stats_read(const rx_stats_t *s, rx_stats_snapshot_t *ret);

/* --------------------------------------------------------- TCP server -- */

typedef struct rx_tcp_server rx_tcp_server_t;

typedef struct rx_tcp_server_config {
    /* A listening socket to use (from socket activation), or -1 to create
     * one bound to listen_addr ("ip:port"). The server owns the fd. */
    int listen_fd;
    const char *listen_addr;
    /* Loop that accepts; connections are handed round-robin to the loops of
     * `workers`, or served on accept_loop itself when workers is NULL. */
    rx_loop_t *accept_loop;
    rx_pool_t *workers;
    rx_router_t *router;
    unsigned max_conns; /* 0: no limit; above it: accepted and closed */
    /* Body limit, at most RX_FRAME_MAX; 0: RX_FRAME_MAX_DEFAULT. A frame
     * over it is counted in frames_bad and closes its connection. */
    uint32_t max_frame;
    uint32_t idle_timeout_ms; /* 0: never close idle connections */
    /* Per-connection unsent bytes (header included: a reply of n body bytes
     * needs n + RX_FRAME_HDR); 0 or above RX_BUF_MAX: RX_BUF_MAX. */
    size_t max_output;
    /* Called on the connection's loop. */
    void (*on_open)(rx_conn_t *conn, void *arg);
    void (*on_close)(rx_conn_t *conn, void *arg);
    void *arg;
} rx_tcp_server_config_t;

/* Binds listen_addr, or checks that listen_fd is a listening socket; fails
 * with -EINVAL for a listen_fd that does not listen or a max_frame above
 * RX_FRAME_MAX. A given listen_fd is closed on any failure. */
rx_tcp_server_t *rx_tcp_server_new(const rx_tcp_server_config_t *cfg, int *ret_err);
/* Starts accepting (any thread; the work runs on accept_loop, so its errors
 * cannot be returned: registering the listening fd there is retried every
 * 100 ms until it succeeds). Returns -EALREADY on a second call, or the
 * error of rx_loop_post. */
int rx_tcp_server_start(rx_tcp_server_t *srv);
/* Stops accepting and closes every connection on its own loop (on_close runs
 * for each) without reading what it holds; waits until done. Call from a
 * thread that is none of the server's loops, while they still run. */
void rx_tcp_server_shutdown(rx_tcp_server_t *srv);
/* A shutdown that loses nothing a client had sent when it began:
 * 1. the accept loop accepts every connection still in the listen backlog
 *    (until EAGAIN) and hands them to the workers as usual (on_open runs),
 *    then stops listening and closes the listening socket;
 * 2. every worker loop, after the tasks queued before it (the hand-overs of
 *    step 1 among them), reads each connection until EAGAIN or EOF (at most
 *    64 MiB per connection, so a client that keeps sending cannot hold the
 *    shutdown), dispatches every complete frame through the router, counts
 *    a partial frame left at the end in frames_truncated, writes what the
 *    handlers queued as far as the socket takes it without waiting, and
 *    closes the connection (on_close runs);
 * 3. returns once every loop has done so.
 * From the start, rx_conn_send_ref fails with -ESHUTDOWN. Same calling rules
 * as rx_tcp_server_shutdown; after either, the other does nothing. */
void rx_tcp_server_drain(rx_tcp_server_t *srv);
/* After shutdown or drain (or before start). Accepts NULL. */
void rx_tcp_server_free(rx_tcp_server_t *srv);
const rx_stats_t *rx_tcp_server_stats(const rx_tcp_server_t *srv);
unsigned rx_tcp_server_conn_count(const rx_tcp_server_t *srv);
/* The bound port (useful with "127.0.0.1:0"). */
int rx_tcp_server_port(const rx_tcp_server_t *srv);

/* Connections: every call on the connection's own loop. */
rx_loop_t *rx_conn_loop(const rx_conn_t *conn);
uint64_t rx_conn_id(const rx_conn_t *conn); /* unique per server, never reused */
const struct sockaddr_in *rx_conn_peer(const rx_conn_t *conn);
void rx_conn_set_data(rx_conn_t *conn, void *data);
void *rx_conn_data(const rx_conn_t *conn);
/* Queues one frame; 0, or -ENOBUFS when the connection's unsent output would
 * exceed max_output (the connection is then closed as a slow reader), or
 * -ENOTCONN after close. */
int rx_conn_send(rx_conn_t *conn, int32_t msgid, const void *body, uint32_t len);
/* Zero-copy variant: returns where to write len body bytes (NULL on error,
 * with *ret_err); the frame is sent by rx_conn_frame_commit(). */
uint8_t *rx_conn_frame_begin(rx_conn_t *conn, int32_t msgid, uint32_t len, int *ret_err);
void rx_conn_frame_commit(rx_conn_t *conn);
/* Closes after the current handler returns (unsent output is dropped). */
void rx_conn_close(rx_conn_t *conn);

/* A handle other threads may keep. */
typedef struct rx_conn_ref {
    rx_loop_t *loop;
    uint64_t id;
} rx_conn_ref_t;
rx_conn_ref_t rx_conn_ref(const rx_conn_t *conn);
/* Any thread: copies the body and sends it on the connection's loop; a
 * connection that closed meanwhile drops it (counted in sends_refused). */
int rx_conn_send_ref(rx_tcp_server_t *srv, rx_conn_ref_t ref, int32_t msgid, const void *body,
                     uint32_t len);

/* --------------------------------------------------------- TCP client -- */

typedef struct rx_tcp_client_config {
    rx_loop_t *loop;
    /* "ip:port" addresses tried in turn, one per connect attempt. */
    const char *const *servers;
    unsigned nservers;
    rx_router_t *router;
    uint32_t max_frame; /* at most RX_FRAME_MAX; 0: RX_FRAME_MAX_DEFAULT */
    /* Frames queued while disconnected (and unsent ones of a lost
     * connection, except a partially written frame, which is dropped) are
     * kept up to max_pending bytes (0: 1 MiB; above RX_BUF_MAX:
     * RX_BUF_MAX; the bound covers unsent output while connected too, frame
     * headers included) and sent after on_connect returns; beyond that,
     * sends fail with -ENOBUFS. */
    size_t max_pending;
    /* Reconnect backoff: starts at backoff_min_ms (0: 100), doubles on each
     * failure up to backoff_max_ms (0: 5000), +-20% jitter; resets after a
     * successful connect. */
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    uint32_t connect_timeout_ms; /* 0: 2000 */
    void (*on_connect)(rx_tcp_client_t *cli, void *arg);
    void (*on_close)(rx_tcp_client_t *cli, void *arg);
    void *arg;
} rx_tcp_client_config_t;

rx_tcp_client_t *rx_tcp_client_new(const rx_tcp_client_config_t *cfg, int *ret_err);
/* Starts connecting (on the loop's thread). */
int rx_tcp_client_start(rx_tcp_client_t *cli);
/* Owner loop: queue a frame (see max_pending). */
int rx_tcp_client_send(rx_tcp_client_t *cli, int32_t msgid, const void *body, uint32_t len);
uint8_t *rx_tcp_client_frame_begin(rx_tcp_client_t *cli, int32_t msgid, uint32_t len, int *ret_err);
void rx_tcp_client_frame_commit(rx_tcp_client_t *cli);
bool rx_tcp_client_connected(const rx_tcp_client_t *cli);
/* Index in servers of the current (or last tried) server. */
unsigned rx_tcp_client_server_index(const rx_tcp_client_t *cli);
const rx_stats_t *rx_tcp_client_stats(const rx_tcp_client_t *cli);
/* Owner loop, or after the loop stopped; not from inside the client's own
 * callbacks. Accepts NULL. */
void rx_tcp_client_free(rx_tcp_client_t *cli);

/* ---------------------------------------------------------------- UDP -- */

typedef struct rx_udp_server_config {
    rx_loop_t *loop;
    int fd;                /* a bound datagram socket to use, or -1 to bind */
    const char *bind_addr; /* "ip:port" */
    rx_router_t *router;
    uint32_t max_frame; /* 0: RX_FRAME_MAX_DEFAULT */
    unsigned batch;     /* datagrams per recvmmsg; 0: 32 */
    /* 0: off. Else, once the socket is drained, the server waits up to
     * linger_us (rounded up to the kernel's tick, and cut short by the
     * loop's next timer) in a blocking recvmmsg for the next datagram
     * before it gives the thread back to the loop, and keeps the thread at
     * most a few milliseconds per wakeup. Posts and stops wake it at once.
     * Under steady request/reply traffic this saves an epoll_wait per
     * datagram. Meant for a loop that serves this one socket: the loop's
     * other fds wait while it lingers. */
    unsigned linger_us;
    void *arg;
} rx_udp_server_config_t;

rx_udp_server_t *rx_udp_server_new(const rx_udp_server_config_t *cfg, int *ret_err);
/* Owner loop, or before the loop runs. */
int rx_udp_server_start(rx_udp_server_t *srv);
/* Owner loop, or after the loop stopped. Closes the fd. Accepts NULL. */
void rx_udp_server_free(rx_udp_server_t *srv);
int rx_udp_server_fd(const rx_udp_server_t *srv);
int rx_udp_server_port(const rx_udp_server_t *srv);
const rx_stats_t *rx_udp_server_stats(const rx_udp_server_t *srv);
/* Inside a handler: answers msg->from. Replies are batched (sendmmsg) and
 * flushed when the current receive batch is done. */
int rx_udp_reply(const rx_msg_t *msg, int32_t msgid, const void *body, uint32_t len);
/* Any thread: one framed datagram on fd to `to` (sendto is thread-safe). */
int rx_udp_sendto(int fd, const struct sockaddr_in *to, int32_t msgid, const void *body,
                  uint32_t len);

typedef struct rx_udp_client_config {
    rx_loop_t *loop;
    const char *server_addr; /* "ip:port"; the socket is connected to it */
    rx_router_t *router;
    uint32_t max_frame;
    void *arg;
} rx_udp_client_config_t;

rx_udp_client_t *rx_udp_client_new(const rx_udp_client_config_t *cfg, int *ret_err);
/* Owner loop, or before the loop runs. */
int rx_udp_client_start(rx_udp_client_t *cli);
int rx_udp_client_send(rx_udp_client_t *cli, int32_t msgid, const void *body, uint32_t len);
const rx_stats_t *rx_udp_client_stats(const rx_udp_client_t *cli);
void rx_udp_client_free(rx_udp_client_t *cli);

/* ------------------------------------------------------------ backoff -- */

/* Reconnect delays (SPEC section 12): the base starts at min_ms, doubles after
 * each failure up to max_ms; every delay is the base +-20 % (uniform jitter),
 * so a fleet that lost the same server does not come back in lockstep. A
 * zeroed rx_backoff_t is valid: 100 ms .. 5000 ms. Not thread-safe. */
typedef struct rx_backoff {
    uint32_t min_ms;  /* 0: 100 */
    uint32_t max_ms;  /* 0: 5000 */
    uint32_t base_ms; /* next base; 0: min_ms */
    uint64_t rng;     /* jitter state; 0: seeded on first use */
} rx_backoff_t;

void rx_backoff_init(rx_backoff_t *b, uint32_t min_ms, uint32_t max_ms);
/* The delay before the next attempt; advances the sequence. */
uint32_t rx_backoff_next_ms(rx_backoff_t *b);
/* After a success: the next delay is min_ms again (with jitter). */
void rx_backoff_reset(rx_backoff_t *b);

/* ------------------------------------------------------------ address -- */

/* Parses "a.b.c.d:port" (port 0..65535). */
int rx_addr_parse(const char *s, struct sockaddr_in *ret);
/* "a.b.c.d:port" into buf (at least 22 bytes). */
const char *rx_addr_format(const struct sockaddr_in *a, char *buf, size_t size);

#endif
