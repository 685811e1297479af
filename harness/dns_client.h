/*
 * A blocking lars-dns client for tests and the benchmark: frames over a
 * plain TCP socket, GetRouteRequest/Response through proto/wire.h.
 */
#ifndef LARS_HARNESS_DNS_CLIENT_H
#define LARS_HARNESS_DNS_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/wire.h"

#define DNS_CLIENT_MAX_HOSTS 64

typedef struct dns_route {
    int32_t modid, cmdid;
    size_t n;
    int32_t ip[DNS_CLIENT_MAX_HOSTS], port[DNS_CLIENT_MAX_HOSTS];
} dns_route_t;

static inline uint64_t dns_client_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline int dns_client_connect(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -errno;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static inline int dns_client_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;

    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static inline int dns_client_send_frame(int fd, int32_t msgid, int32_t len, const void *body,
                                        size_t n)
{
    uint8_t buf[8 + 256];
    uint32_t id = (uint32_t)msgid, l = (uint32_t)len;

    if (n > 256)
        return -EINVAL;
    for (int i = 0; i < 4; i++) {
        buf[i] = (uint8_t)(id >> (8 * i));
        buf[4 + i] = (uint8_t)(l >> (8 * i));
    }
    if (n)
        memcpy(buf + 8, body, n);
    return dns_client_write_all(fd, buf, 8 + n);
}

static inline int dns_client_get_route(int fd, int32_t modid, int32_t cmdid)
{
    uint8_t body[WIRE_SMALL_MAX];
    size_t n = wire_encode_get_route_req(body, &(wire_get_route_req_t){modid, cmdid});

    return dns_client_send_frame(fd, WIRE_ID_GET_ROUTE_REQUEST, (int32_t)n, body, n);
}

/* Reads exactly n bytes before the deadline: 0, -ETIMEDOUT, -ECONNRESET (EOF). */
static inline int dns_client_read_all(int fd, void *p, size_t n, uint64_t deadline)
{
    uint8_t *b = p;

    while (n > 0) {
        uint64_t now = dns_client_now_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;

        if (now >= deadline)
            return -ETIMEDOUT;
        if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
            continue;
        r = recv(fd, b, n, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ECONNRESET;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One GetRouteResponse: 0, -ETIMEDOUT, -ECONNRESET, -EBADMSG. */
static inline int dns_client_recv_route(int fd, int timeout_ms, dns_route_t *ret)
{
    uint64_t deadline = dns_client_now_ms() + (uint64_t)timeout_ms;
    uint8_t hdr[8], *body;
    uint32_t id, len;
    wire_get_route_resp_t resp;
    wire_host_t h;
    int err;

    err = dns_client_read_all(fd, hdr, 8, deadline);
    if (err < 0)
        return err;
    id = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    len = hdr[4] | hdr[5] << 8 | hdr[6] << 16 | (uint32_t)hdr[7] << 24;
    if (id != WIRE_ID_GET_ROUTE_RESPONSE || len > (4u << 20))
        return -EBADMSG;
    body = malloc(len + 1);
    if (!body)
        return -ENOMEM;
    err = dns_client_read_all(fd, body, len, deadline + 5000);
    if (err < 0) {
        free(body);
        return err;
    }
    err = wire_decode_get_route_resp(body, len, &resp);
    if (err < 0) {
        free(body);
        return err;
    }
    ret->modid = resp.modid;
    ret->cmdid = resp.cmdid;
    ret->n = 0;
    while (ret->n < DNS_CLIENT_MAX_HOSTS && wire_get_route_resp_next(&resp, &h)) {
        ret->ip[ret->n] = h.ip;
        ret->port[ret->n] = h.port;
        ret->n++;
    }
    free(body);
    return 0;
}

/* Whether the peer closed the connection within timeout_ms (bytes before
 * the close are skipped). */
static inline bool dns_client_wait_closed(int fd, int timeout_ms)
{
    uint64_t deadline = dns_client_now_ms() + (uint64_t)timeout_ms;
    uint8_t buf[512];

    for (;;) {
        uint64_t now = dns_client_now_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;

        if (now >= deadline)
            return false;
        if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
            continue;
        r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
    }
}

#endif
