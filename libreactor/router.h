/*
 * Received messages and the msgid -> handler table every transport
 * dispatches them through.
 */
#ifndef LIBREACTOR_ROUTER_H
#define LIBREACTOR_ROUTER_H

#include <stdint.h>

#include "libreactor/addr.h"
#include "libreactor/loop.h"

typedef struct rx_conn rx_conn_t;
typedef struct rx_tcp_client rx_tcp_client_t;
typedef struct rx_udp_server rx_udp_server_t;
typedef struct rx_udp_client rx_udp_client_t;

/* Which transport a message came in on. */
typedef enum rx_peer_type {
    RX_PEER_NONE,       /* made up, e.g. by a test */
    RX_PEER_CONN,       /* a connection of an rx_tcp_server */
    RX_PEER_TCP_CLIENT, /* an rx_tcp_client's connection */
    RX_PEER_UDP_SERVER, /* a datagram to an rx_udp_server */
    RX_PEER_UDP_CLIENT, /* a datagram to an rx_udp_client */
} rx_peer_type_t;

/* Where a message came from: the transport that received it (the member of
 * the union that `type` names) and the address of the other end (the
 * connection's peer, the datagram's sender, the client's server). Read the
 * transport with rx_msg_conn() and friends, which give NULL for another
 * type. */
typedef struct rx_peer {
    rx_peer_type_t type;
    union {
        rx_conn_t *conn;
        rx_tcp_client_t *tcp_client;
        rx_udp_server_t *udp_server;
        rx_udp_client_t *udp_client;
    };
    const rx_addr_t *addr;
} rx_peer_t;

/* One received message; body and from.addr are valid only during the
 * handler call. */
typedef struct rx_msg {
    int32_t msgid;
    uint32_t len;
    const uint8_t *body;
    rx_loop_t *loop;
    rx_peer_t from;
} rx_msg_t;

static inline rx_conn_t *rx_msg_conn(const rx_msg_t *msg)
{
    return msg->from.type == RX_PEER_CONN ? msg->from.conn : NULL;
}
static inline rx_tcp_client_t *rx_msg_tcp_client(const rx_msg_t *msg)
{
    return msg->from.type == RX_PEER_TCP_CLIENT ? msg->from.tcp_client : NULL;
}
static inline rx_udp_server_t *rx_msg_udp_server(const rx_msg_t *msg)
{
    return msg->from.type == RX_PEER_UDP_SERVER ? msg->from.udp_server : NULL;
}
static inline rx_udp_client_t *rx_msg_udp_client(const rx_msg_t *msg)
{
    return msg->from.type == RX_PEER_UDP_CLIENT ? msg->from.udp_client : NULL;
}

typedef void (*rx_msg_cb)(const rx_msg_t *msg, void *arg);

typedef struct rx_router rx_router_t;

rx_router_t *rx_router_new(void);
void rx_router_free(rx_router_t *r);
/* Registers (or replaces) the handler of msgid; not thread-safe: set up the
 * router before the transports using it start. */
int rx_router_add(rx_router_t *r, int32_t msgid, rx_msg_cb cb, void *arg);
/* Calls the handler; -ENOENT (and nothing called) for an unknown msgid. */
int rx_router_dispatch(const rx_router_t *r, const rx_msg_t *msg);

#endif
