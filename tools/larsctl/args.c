/*
 * larsctl argument parsing: ids, ports and IPv4 addresses as the database
 * stores them (INET_ATON numbers), with messages that name the bad value.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tools/larsctl/larsctl.h"

void larsctl_err(const char *fmt, ...)
{
    va_list ap;

    fputs("larsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Decimal digits only: strtoul would accept "-1", " 7" and "0x10". */
static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;

    if (!s[0])
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -ERANGE;
    }
    *ret = v;
    return 0;
}

int larsctl_parse_id(const char *s, const char *what, uint32_t *ret, char *msg, size_t size)
{
    uint64_t v = 0;
    int r = parse_u64(s, INT32_MAX, &v);

    if (r == -EINVAL) {
        snprintf(msg, size, "%s '%s' is not a number", what, s);
        return r;
    }
    if (r == -ERANGE) {
        snprintf(msg, size, "%s '%s' out of range (0..%d)", what, s, INT32_MAX);
        return -EINVAL;
    }
    *ret = (uint32_t)v;
    return 0;
}

int larsctl_parse_port(const char *s, uint32_t *ret, char *msg, size_t size)
{
    uint64_t v = 0;
    int r = parse_u64(s, 65535, &v);

    if (r == -EINVAL) {
        snprintf(msg, size, "port '%s' is not a number", s);
        return r;
    }
    if (r == -ERANGE || v == 0) {
        snprintf(msg, size, "port '%s' out of range (1..65535)", s);
        return -EINVAL;
    }
    *ret = (uint32_t)v;
    return 0;
}

static bool looks_numeric(const char *s)
{
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != '.')
            return false;
    return true;
}

int larsctl_parse_ip(const char *s, uint32_t *ret, char *msg, size_t size)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    struct in_addr addr;
    int r;

    if (inet_pton(AF_INET, s, &addr) == 1) {
        *ret = ntohl(addr.s_addr);
        return 0;
    }
    /* Digits and dots that are no address ("1.2.3", "256.1.1.1") are typos,
     * not names worth a DNS round trip. */
    if (!s[0] || looks_numeric(s)) {
        snprintf(msg, size, "'%s' is not an IPv4 address (a.b.c.d)", s);
        return -EINVAL;
    }
    r = getaddrinfo(s, NULL, &hints, &res);
    if (r != 0 || !res) {
        snprintf(msg, size, "cannot resolve host '%s': %s", s,
                 r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
        return -EINVAL;
    }
    *ret = ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
    freeaddrinfo(res);
    return 0;
}

int larsctl_parse_route(char *const argv[4], larsctl_route_t *ret, char *msg, size_t size)
{
    int r;

    if ((r = larsctl_parse_id(argv[0], "modid", &ret->modid, msg, size)) < 0 ||
        (r = larsctl_parse_id(argv[1], "cmdid", &ret->cmdid, msg, size)) < 0 ||
        (r = larsctl_parse_ip(argv[2], &ret->ip, msg, size)) < 0 ||
        (r = larsctl_parse_port(argv[3], &ret->port, msg, size)) < 0)
        return r;
    return 0;
}

int larsctl_parse_filter(int argc, char **argv, int *ret_n, uint32_t *ret_modid,
                         uint32_t *ret_cmdid)
{
    char msg[256];

    if (argc > 2) {
        larsctl_err("too many arguments (expected [MODID [CMDID]])");
        return -EINVAL;
    }
    if ((argc >= 1 && larsctl_parse_id(argv[0], "modid", ret_modid, msg, sizeof(msg)) < 0) ||
        (argc >= 2 && larsctl_parse_id(argv[1], "cmdid", ret_cmdid, msg, sizeof(msg)) < 0)) {
        larsctl_err("%s", msg);
        return -EINVAL;
    }
    *ret_n = argc;
    return 0;
}

char *larsctl_ip_str(uint32_t ip, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
    return buf;
}

uint32_t larsctl_col_u32(MYSQL_ROW row, unsigned int i)
{
    return row[i] ? (uint32_t)strtoul(row[i], NULL, 10) : 0;
}

const char *larsctl_col(MYSQL_ROW row, unsigned int i)
{
    return row[i] ? row[i] : "-";
}

int larsctl_db_fail(int r, const lars_db_error_t *err)
{
    larsctl_err("%s", err->msg);
    if (r == -ENOTCONN)
        return LARSCTL_EX_UNAVAILABLE;
    return LARSCTL_EX_SOFTWARE;
}
