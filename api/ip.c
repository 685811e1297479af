/*
 * liblars address helpers: the protocol carries an IPv4 address as its
 * host-order number (INET_ATON value, docs/protocol.md, Integers and
 * addresses); applications want text.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "api/lars.h"

char *lars_ip_to_str(uint32_t ip, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    return buf;
}

int lars_ip_from_str(const char *s, uint32_t *ret_ip)
{
    struct in_addr a;

    /* inet_pton, unlike inet_aton, accepts only the four-part dotted form. */
    if (!s || !ret_ip || inet_pton(AF_INET, s, &a) != 1)
        return LARS_EINVAL;
    *ret_ip = ntohl(a.s_addr);
    return 0;
}

int lars_host_set(lars_host_t *ret, const char *ip, int port)
{
    uint32_t n;

    if (!ret || port < 1 || port > 65535 || lars_ip_from_str(ip, &n) < 0)
        return LARS_EINVAL;
    ret->ip = n;
    ret->port = port;
    lars_ip_to_str(n, ret->ip_str);
    return 0;
}
