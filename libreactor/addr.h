/*
 * Socket addresses of IPv4 and IPv6 peers, and their text form as used in
 * every config file and log line of the project: "a.b.c.d:port" and
 * "[v6]:port". Every address in libreactor (accepted and connected peers,
 * datagram senders, reply targets) is an rx_addr_t.
 */
#ifndef LIBREACTOR_ADDR_H
#define LIBREACTOR_ADDR_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct rx_addr {
    struct sockaddr_storage ss;
    socklen_t len; /* of the address in ss; 0: none */
} rx_addr_t;

/* Room for the longest text rx_addr_format writes, NUL included:
 * "[" IPv6 "%" scope "]:" port. */
#define RX_ADDR_STRLEN (INET6_ADDRSTRLEN + IF_NAMESIZE + 9)

static inline const struct sockaddr *rx_addr_sa(const rx_addr_t *a)
{
    return (const struct sockaddr *)&a->ss;
}

/* Parses "a.b.c.d:port" or "[v6]:port" (a scope as "[fe80::1%eth0]:port"
 * or "%2"; port 0..65535); no host names. -EINVAL otherwise. */
int rx_addr_parse(const char *s, rx_addr_t *ret);
/* The text form into buf (RX_ADDR_STRLEN bytes always suffice); an
 * IPv4-mapped IPv6 address, as a dual-stack socket reports an IPv4 peer,
 * is written as the IPv4 address it is ("127.0.0.1:5000"), IPv6 as
 * "[::1]:5000" (a scope as its number), any other family as "?". NULL when
 * buf is too small. */
const char *rx_addr_format(const rx_addr_t *a, char *buf, size_t size);
/* The port, 0 for a family without one. */
int rx_addr_port(const rx_addr_t *a);
/* Same address and port; an IPv4-mapped IPv6 address equals its IPv4 one. */
bool rx_addr_equal(const rx_addr_t *a, const rx_addr_t *b);
/* The IPv4 address (host byte order) of an IPv4 or IPv4-mapped IPv6
 * address; -EAFNOSUPPORT for any other. */
int rx_addr_ipv4(const rx_addr_t *a, uint32_t *ret_ip);
/* The address a socket is bound to (getsockname); 0 or -errno. */
int rx_addr_of_socket(int fd, rx_addr_t *ret);

#endif
