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
    const rx_addr_t *from;
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

#endif
