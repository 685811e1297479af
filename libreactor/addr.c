/*
 * rx_addr_t: parsing and printing "a.b.c.d:port" and "[v6]:port", and the
 * comparisons that must see through IPv4-mapped IPv6 addresses (what a
 * dual-stack socket, e.g. systemd's "ListenStream=7778", reports for an
 * IPv4 peer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libreactor/addr.h"

static int parse_port(const char *p, uint16_t *ret)
{
    unsigned long port = 0;
    size_t n = 0;

    for (; *p; p++, n++) {
        if (*p < '0' || *p > '9' || n == 5)
            return -EINVAL;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (n == 0 || port > 65535)
        return -EINVAL;
    *ret = (uint16_t)port;
    return 0;
}

/* "v6" or "v6%scope" (an interface name or index). */
static int parse_ipv6(const char *s, size_t n, struct sockaddr_in6 *ret)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
    char *pct;

    if (n == 0 || n >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, n);
    host[n] = '\0';
    pct = strchr(host, '%');
    if (pct) {
        char *end;
        unsigned long idx;
        *pct++ = '\0';
        if (*pct == '\0')
            return -EINVAL;
        idx = strtoul(pct, &end, 10);
        if (*end != '\0')
            idx = if_nametoindex(pct);
        if (idx == 0 || idx > UINT32_MAX)
            return -EINVAL;
        ret->sin6_scope_id = (uint32_t)idx;
    }
    return inet_pton(AF_INET6, host, &ret->sin6_addr) == 1 ? 0 : -EINVAL;
}

static int addr_set(rx_addr_t *ret, const void *sa, socklen_t len)
{
    *ret = (rx_addr_t){.len = len};
    memcpy(&ret->ss, sa, len);
    return 0;
}

/* "[v6]:port" */
static int parse_bracketed(const char *s, rx_addr_t *ret)
{
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
    const char *end = strchr(s, ']');
    uint16_t port;
    int err;

    if (!end || end[1] != ':')
        return -EINVAL;
    err = parse_port(end + 2, &port);
    if (err == 0)
        err = parse_ipv6(s + 1, (size_t)(end - s - 1), &sa6);
    if (err < 0)
        return err;
    sa6.sin6_port = htons(port);
    return addr_set(ret, &sa6, sizeof(sa6));
}

/* "a.b.c.d:port" */
static int parse_ipv4(const char *s, rx_addr_t *ret)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char host[INET_ADDRSTRLEN];
    const char *colon = strrchr(s, ':');
    uint16_t port;
    int err;

    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
        return -EINVAL;
    err = parse_port(colon + 1, &port);
    if (err < 0)
        return err;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    sa.sin_port = htons(port);
    return addr_set(ret, &sa, sizeof(sa));
}

int rx_addr_parse(const char *s, rx_addr_t *ret)
{
    if (!s)
        return -EINVAL;
    return s[0] == '[' ? parse_bracketed(s, ret) : parse_ipv4(s, ret);
}

/* An IPv4 address, or the IPv4 address inside an IPv4-mapped IPv6 one. */
static bool addr_v4(const rx_addr_t *a, struct in_addr *ret_ip, uint16_t *ret_port)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sa = (const struct sockaddr_in *)&a->ss;
        *ret_ip = sa->sin_addr;
        *ret_port = sa->sin_port;
        return true;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sa6 = (const struct sockaddr_in6 *)&a->ss;
        if (!IN6_IS_ADDR_V4MAPPED(&sa6->sin6_addr))
            return false;
        memcpy(&ret_ip->s_addr, &sa6->sin6_addr.s6_addr[12], 4);
        *ret_port = sa6->sin6_port;
        return true;
    }
    return false;
}

const char *rx_addr_format(const rx_addr_t *a, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN];
    struct in_addr ip;
    uint16_t port;
    int n;

    if (addr_v4(a, &ip, &port)) {
        if (!inet_ntop(AF_INET, &ip, host, sizeof(host)))
            return NULL;
        n = snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(port));
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sa6 = (const struct sockaddr_in6 *)&a->ss;
        if (!inet_ntop(AF_INET6, &sa6->sin6_addr, host, sizeof(host)))
            return NULL;
        if (sa6->sin6_scope_id)
            n = snprintf(buf, size, "[%s%%%u]:%u", host, (unsigned)sa6->sin6_scope_id,
                         (unsigned)ntohs(sa6->sin6_port));
        else
            n = snprintf(buf, size, "[%s]:%u", host, (unsigned)ntohs(sa6->sin6_port));
    } else {
        n = snprintf(buf, size, "?");
    }
    if (n < 0 || (size_t)n >= size)
        return NULL;
    return buf;
}

int rx_addr_port(const rx_addr_t *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

bool rx_addr_equal(const rx_addr_t *a, const rx_addr_t *b)
{
    const struct sockaddr_in6 *x, *y;
    struct in_addr ia, ib;
    uint16_t pa, pb;
    bool va = addr_v4(a, &ia, &pa), vb = addr_v4(b, &ib, &pb);

    if (va || vb)
        return va && vb && ia.s_addr == ib.s_addr && pa == pb;
    if (a->ss.ss_family != AF_INET6 || b->ss.ss_family != AF_INET6)
        return false;
    x = (const struct sockaddr_in6 *)&a->ss;
    y = (const struct sockaddr_in6 *)&b->ss;
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

int rx_addr_ipv4(const rx_addr_t *a, uint32_t *ret_ip)
{
    struct in_addr ip;
    uint16_t port;

    if (!addr_v4(a, &ip, &port))
        return -EAFNOSUPPORT;
    *ret_ip = ntohl(ip.s_addr);
    return 0;
}

int rx_addr_of_socket(int fd, rx_addr_t *ret)
{
    rx_addr_t a = {.len = sizeof(a.ss)};

    if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0)
        return -errno;
    *ret = a;
    return 0;
}
