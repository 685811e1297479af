/*
 * UDP message transports: a datagram carries exactly one frame. A server
 * answers its senders; a client talks to one server over a connected
 * socket.
 */
#ifndef LIBREACTOR_UDP_H
#define LIBREACTOR_UDP_H

#include <stdint.h>

#include "libreactor/addr.h"
#include "libreactor/frame.h"
#include "libreactor/loop.h"
#include "libreactor/router.h"
#include "libreactor/stats.h"

typedef struct rx_udp_server_config {
    rx_loop_t *loop;
    int fd;                /* a bound datagram socket to use, or -1 to bind */
    const char *bind_addr; /* "ip:port" or "[ip6]:port" */
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
/* Inside a handler: answers msg->from (the sender of a datagram to a
 * server; a client's server). Replies are batched (sendmmsg) and flushed
 * when the current receive batch is done. */
int rx_udp_reply(const rx_msg_t *msg, int32_t msgid, const void *body, uint32_t len);
/* Any thread: one framed datagram on fd to `to` (sendto is thread-safe). */
int rx_udp_sendto(int fd, const rx_addr_t *to, int32_t msgid, const void *body, uint32_t len);

typedef struct rx_udp_client_config {
    rx_loop_t *loop;
    const char *server_addr; /* "ip:port" or "[ip6]:port"; the socket is connected to it */
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

#endif
