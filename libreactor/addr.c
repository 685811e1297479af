/*
 * IPv4 "a.b.c.d:port" text addresses, as used in every config file and log
 * line of the project.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libreactor/addr.h"

int rx_addr_parse(const char *s, struct sockaddr_in *ret)
{
    char host[INET_ADDRSTRLEN];
    const char *colon, *p;
    unsigned long port = 0;
    struct in_addr ip;

    if (!s)
        return -EINVAL;
    colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host) || colon[1] == '\0')
        return -EINVAL;
    for (p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || p - colon > 5)
            return -EINVAL;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port > 65535)
        return -EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (inet_pton(AF_INET, host, &ip) != 1)
        return -EINVAL;
    *ret = (struct sockaddr_in){
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)port),
        .sin_addr = ip,
    };
    return 0;
}

const char *rx_addr_format(const struct sockaddr_in *a, char *buf, size_t size)
{
    char host[INET_ADDRSTRLEN];
    int n;

    if (!inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host)))
        return NULL;
    n = snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(a->sin_port));
    if (n < 0 || (size_t)n >= size)
        return NULL;
    return buf;
}
