/*
 * TCP message transports: a server that accepts on one loop and serves each
 * connection on a worker loop, and a client that keeps one connection to
 * one of its servers, reconnecting with backoff.
 */
#ifndef LIBREACTOR_TCP_H
#define LIBREACTOR_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libreactor/addr.h"
#include "libreactor/frame.h"
#include "libreactor/loop.h"
#include "libreactor/pool.h"
#include "libreactor/router.h"
#include "libreactor/stats.h"

/* ------------------------------------------------------------- server -- */

typedef struct rx_tcp_server rx_tcp_server_t;

typedef struct rx_tcp_server_config {
    /* A listening socket to use (from socket activation), or -1 to create
     * one bound to listen_addr ("ip:port" or "[ip6]:port"). The server owns
     * the fd. */
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
    /* A connection that has not had one complete frame dispatched to a
     * handler (a known msgid, within max_frame) this long after it was
     * accepted is closed and counted in conns_first_frame_closed; 0: off. */
    uint32_t first_frame_timeout_ms;
    /* Open connections per source address (the host part; an IPv4-mapped
     * peer counts as its IPv4 address); above it a connection is accepted
     * and closed at once, counted in conns_source_refused. 0: no limit. */
    unsigned max_conns_per_source;
    /* TCP keepalive on every accepted connection: first probe after
     * keepalive_idle_s idle seconds, then every keepalive_interval_s, the
     * connection dropped after keepalive_count unanswered probes.
     * keepalive_idle_s 0: the socket's own settings stay (with systemd's
     * KeepAlive= on an activated socket, the accepted ones inherit it). */
    uint32_t keepalive_idle_s;
    uint32_t keepalive_interval_s;
    uint32_t keepalive_count;
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
/* The peer's address (as accepted: an IPv4 peer of a dual-stack socket is
 * IPv4-mapped; rx_addr_format prints it as IPv4). */
const rx_addr_t *rx_conn_peer(const rx_conn_t *conn);
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

/* ------------------------------------------------------------- client -- */

typedef struct rx_tcp_client_config {
    rx_loop_t *loop;
    /* "ip:port" or "[ip6]:port" addresses tried in turn, one per connect
     * attempt. */
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
     * failure up to backoff_max_ms (0: 5000), +-20% jitter; resets once a
     * connection has proved alive: it delivered a frame, or stayed up for
     * alive_after_ms (0: 3000). A server that accepts and closes at once
     * (one at its max_conns) therefore sees attempts back off. */
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    uint32_t alive_after_ms;
    uint32_t connect_timeout_ms; /* 0: 2000 */
    /* A peer that stopped answering (host down, path or NAT entry gone) is
     * given up after this long (plus at most a sixth of it) and the next
     * server is tried: TCP keepalive probes an idle connection and
     * TCP_USER_TIMEOUT bounds how long anything sent may stay
     * unacknowledged. 0: the kernel's defaults (hours). */
    uint32_t dead_peer_timeout_ms;
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

#endif
