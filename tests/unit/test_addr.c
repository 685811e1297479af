/*
 * Tests of libreactor/addr.c: "a.b.c.d:port" and "[v6]:port" parsing and
 * printing, IPv4-mapped IPv6 addresses printed and compared as the IPv4
 * address they carry.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

static const char *roundtrip(const char *in, char *buf)
{
    rx_addr_t a;

    assert_int_equal(rx_addr_parse(in, &a), 0);
    return rx_addr_format(&a, buf, RX_ADDR_STRLEN);
}

static void addr_parses_ipv4(void **state)
{
    rx_addr_t a;
    const struct sockaddr_in *sa = (const struct sockaddr_in *)&a.ss;
    char buf[RX_ADDR_STRLEN];

    assert_int_equal(rx_addr_parse("10.1.2.3:7778", &a), 0);
    assert_int_equal(a.ss.ss_family, AF_INET);
    assert_int_equal(a.len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohl(sa->sin_addr.s_addr), 0x0a010203);
    assert_int_equal(rx_addr_port(&a), 7778);
    assert_string_equal(roundtrip("0.0.0.0:0", buf), "0.0.0.0:0");
    assert_string_equal(roundtrip("255.255.255.255:65535", buf), "255.255.255.255:65535");
}

static void addr_parses_bracketed_ipv6(void **state)
{
    rx_addr_t a;
    const struct sockaddr_in6 *sa6 = (const struct sockaddr_in6 *)&a.ss;
    char buf[RX_ADDR_STRLEN];

    assert_int_equal(rx_addr_parse("[::1]:5000", &a), 0);
    assert_int_equal(a.ss.ss_family, AF_INET6);
    assert_int_equal(a.len, sizeof(struct sockaddr_in6));
    assert_true(IN6_IS_ADDR_LOOPBACK(&sa6->sin6_addr));
    assert_int_equal(rx_addr_port(&a), 5000);
    assert_string_equal(rx_addr_format(&a, buf, sizeof(buf)), "[::1]:5000");
    assert_string_equal(roundtrip("[::]:7778", buf), "[::]:7778");
    assert_string_equal(roundtrip("[2001:db8::a:b]:1", buf), "[2001:db8::a:b]:1");
    assert_string_equal(roundtrip("[fe80::1%3]:80", buf), "[fe80::1%3]:80");
}

static void addr_rejects_what_is_not_ip_and_port(void **state)
{
    static const char *const bad[] = {
        "",
        ":80",
        "1.2.3.4",
        "1.2.3.4:",
        "1.2.3.4:65536",
        "1.2.3.4:123456",
        "1.2.3.4:8a",
        "1.2.3:80",
        "localhost:80",
        "::1:80",
        "[::1]",
        "[::1]80",
        "[::1]:",
        "[]:80",
        "[1.2.3.4]:80",
        "[::1%]:80",
        "[fe80::1%no-such-if0]:80",
    };
    rx_addr_t a;

    assert_int_equal(rx_addr_parse(NULL, &a), -EINVAL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (rx_addr_parse(bad[i], &a) != -EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
}

static rx_addr_t mapped(const char *v4, int port)
{
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    char text[64];
    rx_addr_t a = {.len = sizeof(sa6)};

    snprintf(text, sizeof(text), "::ffff:%s", v4);
    assert_int_equal(inet_pton(AF_INET6, text, &sa6.sin6_addr), 1);
    memcpy(&a.ss, &sa6, sizeof(sa6));
    return a;
}

/* What a dual-stack socket (systemd's ListenStream=7778) reports for an
 * IPv4 peer. */
static void addr_formats_ipv4_mapped_as_ipv4(void **state)
{
    rx_addr_t m = mapped("127.0.0.1", 5000), v4;
    char buf[RX_ADDR_STRLEN];
    uint32_t ip = 0;

    assert_string_equal(rx_addr_format(&m, buf, sizeof(buf)), "127.0.0.1:5000");
    assert_int_equal(rx_addr_parse("[::ffff:127.0.0.1]:5000", &v4), 0);
    assert_string_equal(rx_addr_format(&v4, buf, sizeof(buf)), "127.0.0.1:5000");
    assert_int_equal(rx_addr_ipv4(&m, &ip), 0);
    assert_int_equal(ip, 0x7f000001);
    assert_int_equal(rx_addr_parse("127.0.0.1:5000", &v4), 0);
    assert_true(rx_addr_equal(&m, &v4));
    assert_true(rx_addr_equal(&v4, &m));
}

static void addr_equal_compares_address_and_port(void **state)
{
    rx_addr_t a, b;

    assert_int_equal(rx_addr_parse("[::1]:80", &a), 0);
    assert_int_equal(rx_addr_parse("[::1]:80", &b), 0);
    assert_true(rx_addr_equal(&a, &b));
    assert_int_equal(rx_addr_parse("[::1]:81", &b), 0);
    assert_false(rx_addr_equal(&a, &b));
    assert_int_equal(rx_addr_parse("127.0.0.1:80", &b), 0);
    assert_false(rx_addr_equal(&a, &b));
    assert_int_equal(rx_addr_parse("127.0.0.1:80", &a), 0);
    assert_true(rx_addr_equal(&a, &b));
    assert_int_equal(rx_addr_parse("127.0.0.2:80", &b), 0);
    assert_false(rx_addr_equal(&a, &b));
}

static void addr_ipv4_refuses_plain_ipv6(void **state)
{
    rx_addr_t a;
    uint32_t ip;

    assert_int_equal(rx_addr_parse("[2001:db8::1]:80", &a), 0);
    assert_int_equal(rx_addr_ipv4(&a, &ip), -EAFNOSUPPORT);
    assert_int_equal(rx_addr_parse("10.0.0.1:80", &a), 0);
    assert_int_equal(rx_addr_ipv4(&a, &ip), 0);
    assert_int_equal(ip, 0x0a000001);
}

static void addr_format_needs_room_and_knows_only_ip(void **state)
{
    rx_addr_t a = {0};
    char buf[RX_ADDR_STRLEN];

    assert_int_equal(
        rx_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535", &a), 0);
    assert_non_null(rx_addr_format(&a, buf, sizeof(buf)));
    assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
    assert_null(rx_addr_format(&a, buf, 10));
    assert_int_equal(rx_addr_parse("1.2.3.4:5", &a), 0);
    assert_null(rx_addr_format(&a, buf, 9));
    assert_string_equal(rx_addr_format(&a, buf, 10), "1.2.3.4:5");
    a = (rx_addr_t){0};
    a.ss.ss_family = AF_UNIX;
    assert_string_equal(rx_addr_format(&a, buf, sizeof(buf)), "?");
    assert_int_equal(rx_addr_port(&a), 0);
}

static void addr_of_socket_gives_the_bound_address(void **state)
{
    rx_addr_t a, b;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char buf[RX_ADDR_STRLEN], want[RX_ADDR_STRLEN];

    assert_true(fd >= 0);
    assert_int_equal(rx_addr_parse("127.0.0.1:0", &a), 0);
    assert_int_equal(bind(fd, rx_addr_sa(&a), a.len), 0);
    assert_int_equal(rx_addr_of_socket(fd, &b), 0);
    assert_true(rx_addr_port(&b) > 0);
    snprintf(want, sizeof(want), "127.0.0.1:%d", rx_addr_port(&b));
    assert_string_equal(rx_addr_format(&b, buf, sizeof(buf)), want);
    close(fd);
    assert_int_equal(rx_addr_of_socket(fd, &b), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addr_parses_ipv4),
        cmocka_unit_test(addr_parses_bracketed_ipv6),
        cmocka_unit_test(addr_rejects_what_is_not_ip_and_port),
        cmocka_unit_test(addr_formats_ipv4_mapped_as_ipv4),
        cmocka_unit_test(addr_equal_compares_address_and_port),
        cmocka_unit_test(addr_ipv4_refuses_plain_ipv6),
        cmocka_unit_test(addr_format_needs_room_and_knows_only_ip),
        cmocka_unit_test(addr_of_socket_gives_the_bound_address),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
