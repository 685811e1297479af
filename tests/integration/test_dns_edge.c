/*
 * lars-dns against misbehaving clients (SPEC 13, network edge): a client
 * that trickles a frame, a flood of idle connections from one address, one
 * connection subscribing to a million pairs, and pairs chosen to collide
 * under the old hash. The real daemon runs through the harness with a
 * private MariaDB, as in test_dns_daemon.c.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/colliding_keys.h"
#include "harness/dns_client.h"
#include "harness/harness.h"
#include "harness/mariadb.h"

#define WAIT_MS      10000
#define POLL_MS      100
#define PUSH_WAIT_MS (POLL_MS + 4900)
/* lars-dns's RSS after test (d); AddressSanitizer's shadow memory and
 * quarantine take a multiple of it. */
#ifdef __SANITIZE_ADDRESS__
#define RSS_BOUND_KIB (256 * 1024)
#else
#define RSS_BOUND_KIB (64 * 1024)
#endif
/* Requests written at once before their replies are read back. */
#define BATCH 2000

static test_mariadb_t db;
static char confdir[64];

static int group_setup(void **state)
{
    struct rlimit rl;

    /* Test (a) holds 5,000 sockets; the daemon inherits the limit. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(confdir, sizeof(confdir), "/tmp/test_dns_edge.XXXXXX");
    if (!mkdtemp(confdir))
        return -1;
    return test_mariadb_start(&db) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];

    test_mariadb_stop(&db);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", confdir);
    return system(cmd) == 0 ? 0 : -1;
}

static harness_t *start_dns(const char *name, const char *conf, uint64_t watchdog_usec)
{
    static char path[256], bin[256];
    const char *build = getenv("LARS_BUILD");
    FILE *f;
    harness_t *h;

    snprintf(path, sizeof(path), "%s/%s.conf", confdir, name);
    snprintf(bin, sizeof(bin), "%s/bin/lars-dns", build ? build : "build");
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%sversion_poll_ms = %d;\nreload_interval_s = 3600;\n%s\n",
            conf && strstr(conf, "threads") ? "" : "threads = 2;\n", POLL_MS, conf ? conf : "");
    test_mariadb_conf_snippet(&db, f);
    fclose(f);

    const char *argv[] = {bin, "-c", path, NULL};
    const harness_socket_t sock = {"tcp:127.0.0.1:0", NULL};
    harness_opts_t o = {
        .argv = argv, .sockets = &sock, .nsockets = 1, .watchdog_usec = watchdog_usec};
    h = harness_start(&o);
    assert_non_null(h);
    if (!harness_wait_notify(h, "READY=1", WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("%s: no READY=1", name);
    }
    return h;
}

static void stop_dns(harness_t *h)
{
    int status = harness_stop(h, WAIT_MS);

    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        harness_dump_log(h);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    harness_free(h);
}

static void wait_status(harness_t *h, const char *text)
{
    char buf[1024];

    if (!harness_wait_status(h, text, WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no STATUS with \"%s\"; last: %s", text, harness_last_status(h, buf, sizeof(buf)));
    }
}

static void route_add(int32_t modid, int32_t cmdid, uint32_t ip, int port)
{
    assert_int_equal(test_mariadb_exec(&db,
                                       "START TRANSACTION; INSERT INTO RouteData (modid, cmdid,"
                                       " serverip, serverport) VALUES (%d, %d, %u, %d); UPDATE"
                                       " RouteVersion SET version = GREATEST(version + 1,"
                                       " UNIX_TIMESTAMP()) WHERE id = 1; INSERT INTO RouteChange"
                                       " (modid, cmdid, version) SELECT %d, %d, version FROM"
                                       " RouteVersion WHERE id = 1; COMMIT",
                                       modid, cmdid, ip, port, modid, cmdid),
                     0);
}

/* A connection to the daemon from source address src (any of 127.0.0.0/8
 * on loopback). */
static int connect_from(harness_t *h, const char *src)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)harness_port(h, 0))};
    struct sockaddr_in me = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void ask(int fd, int32_t modid, int32_t cmdid, size_t nhosts)
{
    dns_route_t r;

    assert_int_equal(dns_client_get_route(fd, modid, cmdid), 0);
    assert_int_equal(dns_client_recv_route(fd, WAIT_MS, &r), 0);
    assert_int_equal(r.modid, modid);
    assert_int_equal(r.cmdid, cmdid);
    assert_int_equal(r.n, nhosts);
}

/* How many complete frames the n bytes at p hold; *ret_used: their size. */
static size_t count_frames(const uint8_t *p, size_t n, size_t *ret_used)
{
    size_t off = 0, frames = 0;

    while (n - off >= 8) {
        uint32_t len = p[off + 4] | p[off + 5] << 8 | p[off + 6] << 16 | (uint32_t)p[off + 7] << 24;
        if (n - off < 8 + (size_t)len)
            break;
        off += 8 + len;
        frames++;
    }
    *ret_used = off;
    return frames;
}

/* Asks for n pairs, BATCH requests per write, reading each batch's replies
 * before the next. Returns false when the connection failed. */
static bool ask_many(int fd, size_t n, void (*pair)(size_t i, int32_t *modid, int32_t *cmdid),
                     void (*between)(void *arg), void *arg)
{
    static uint8_t out[BATCH * (8 + WIRE_SMALL_MAX)], in[1 << 16];
    size_t have = 0;

    for (size_t i = 0; i < n;) {
        size_t len = 0, k, got = 0;
        for (k = 0; k < BATCH && i < n; k++, i++) {
            wire_get_route_req_t req;
            uint32_t blen;
            pair(i, &req.modid, &req.cmdid);
            blen = (uint32_t)wire_encode_get_route_req(out + len + 8, &req);
            for (int b = 0; b < 4; b++) {
                out[len + b] = (uint8_t)((uint32_t)WIRE_ID_GET_ROUTE_REQUEST >> (8 * b));
                out[len + 4 + b] = (uint8_t)(blen >> (8 * b));
            }
            len += 8 + blen;
        }
        if (dns_client_write_all(fd, out, len) < 0)
            return false;
        while (got < k) {
            struct pollfd pfd = {fd, POLLIN, 0};
            size_t used;
            ssize_t r;
            if (poll(&pfd, 1, WAIT_MS) <= 0)
                return false;
            r = recv(fd, in + have, sizeof(in) - have, 0);
            if (r <= 0)
                return false;
            have += (size_t)r;
            got += count_frames(in, have, &used);
            memmove(in, in + used, have - used);
            have -= used;
        }
        if (between)
            between(arg);
    }
    return true;
}

/* Whether the peer closed within timeout_ms; reads and drops what comes. */
static bool closed_within(int fd, int timeout_ms)
{
    return dns_client_wait_closed(fd, timeout_ms);
}

/* (e) A client that trickles one frame a byte at a time is closed once
 * first_frame_timeout_ms have passed since it connected; one that sent a
 * valid frame and then says nothing stays. */
static void dns_closes_a_client_without_a_first_frame(void **state)
{
    harness_t *h = start_dns("first_frame", "first_frame_timeout_ms = 1000;", 0);
    static const uint8_t hdr[8] = {WIRE_ID_GET_ROUTE_REQUEST, 0, 0, 0, 40, 0, 0, 0};
    uint64_t t0, closed_at = 0;
    int quiet, trickle, silent;

    quiet = connect_from(h, "127.0.0.1");
    ask(quiet, 4001, 1, 0);
    silent = connect_from(h, "127.0.0.1");
    trickle = connect_from(h, "127.0.0.1");
    t0 = dns_client_now_ms();
    assert_int_equal(dns_client_write_all(trickle, hdr, sizeof(hdr)), 0);
    /* 40 body bytes at one per 100 ms: complete after 4 s, if ever. */
    for (int i = 0; i < 40 && !closed_at; i++) {
        uint8_t b = 0;
        if (send(trickle, &b, 1, MSG_NOSIGNAL) != 1 || closed_within(trickle, 100))
            closed_at = dns_client_now_ms();
    }
    assert_true(closed_at != 0);
    assert_true(closed_at - t0 >= 900 && closed_at - t0 < 3500);
    assert_true(closed_within(silent, 2000));
    /* More than the timeout since it connected: still served. */
    assert_false(closed_within(quiet, 500));
    ask(quiet, 4001, 2, 0);
    wait_status(h, "first-frame timeouts 2,");
    close(quiet);
    close(trickle);
    close(silent);
    stop_dns(h);
}

/* (a) 5,000 idle connections from 127.0.0.2 take at most
 * max_conns_per_source (512) slots: an agent from 127.0.0.1 still gets its
 * route and the push after a change. Without the cap they would fill
 * max_conns and the agent would be refused. */
#define FLOOD 5000
static void dns_caps_connections_per_source(void **state)
{
    harness_t *h;
    static int fds[FLOOD];
    dns_route_t r;
    int agent;

    route_add(4101, 1, 167772161u, 9000);
    h = start_dns("per_source", "max_conns = 4000; first_frame_timeout_ms = 0;", 0);
    wait_status(h, "DB up");
    for (int i = 0; i < FLOOD; i++)
        fds[i] = connect_from(h, "127.0.0.2");
    wait_status(h, "refused per source 4488,");
    wait_status(h, " 512 conns,");
    agent = connect_from(h, "127.0.0.1");
    ask(agent, 4101, 1, 1);
    route_add(4101, 1, 167772162u, 9000);
    assert_int_equal(dns_client_recv_route(agent, PUSH_WAIT_MS, &r), 0);
    assert_int_equal(r.modid, 4101);
    assert_int_equal(r.n, 2);
    wait_status(h, ", refused 0, refused per source 4488,");
    close(agent);
    for (int i = 0; i < FLOOD; i++)
        close(fds[i]);
    wait_status(h, " 0 conns,");
    stop_dns(h);
}

static void unknown_pair(size_t i, int32_t *modid, int32_t *cmdid)
{
    *modid = 5000000 + (int32_t)(i / 1000);
    *cmdid = (int32_t)(i % 1000);
}

/* (d) One connection asking for 1,000,000 distinct pairs is answered for
 * each, subscribed to max_subs_per_conn of them (default 100,000), counted
 * and logged once; lars-dns's memory stays small. */
static void dns_caps_subscriptions_per_connection(void **state)
{
    harness_t *h = start_dns("subs_cap", NULL, 0);
    char *log;
    int fd;
    long rss;

    wait_status(h, "DB up");
    fd = connect_from(h, "127.0.0.1");
    assert_true(ask_many(fd, 1000000, unknown_pair, NULL, NULL));
    wait_status(h, " 100000 subscriptions;");
    wait_status(h, "subscriptions refused 900000,");
    rss = harness_rss_kib(harness_pid(h));
    assert_true(rss > 0 && rss < RSS_BOUND_KIB);
    log = harness_log(h);
    assert_non_null(log);
    assert_non_null(strstr(log, "max_subs_per_conn"));
    assert_null(strstr(strstr(log, "max_subs_per_conn") + 1, "max_subs_per_conn"));
    free(log);
    /* Still answered. */
    ask(fd, 4201, 1, 0);
    close(fd);
    wait_status(h, " 0 subscriptions;");
    stop_dns(h);
}

/* (4) A client that asks and never reads: once its unsent replies would
 * pass max_output_bytes it is closed and counted. 500,000 replies of about
 * 14 bytes are 7 MB: more than the socket buffers (tcp_wmem allows 4 MiB,
 * the client's receive buffer is tiny) plus 64 KiB, less than with the old
 * 8 MiB bound. */
static void dns_closes_a_client_that_does_not_read(void **state)
{
    harness_t *h = start_dns("slow_reader", "max_frame = 65527; max_output_bytes = 65536;", 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)harness_port(h, 0))};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;
    static uint8_t out[1000 * (8 + WIRE_SMALL_MAX)];
    size_t len = 0;

    wait_status(h, "DB up");
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    for (int k = 0; k < 1000; k++) {
        uint32_t blen = (uint32_t)wire_encode_get_route_req(
            out + len + 8, &(wire_get_route_req_t){.modid = 4401, .cmdid = 1});
        for (int b = 0; b < 4; b++) {
            out[len + b] = (uint8_t)((uint32_t)WIRE_ID_GET_ROUTE_REQUEST >> (8 * b));
            out[len + 4 + b] = (uint8_t)(blen >> (8 * b));
        }
        len += 8 + blen;
    }
    for (int i = 0; i < 500; i++)
        if (dns_client_write_all(fd, out, len) < 0)
            break; /* closed already */
    wait_status(h, "slow readers closed 1,");
    assert_true(dns_client_wait_closed(fd, WAIT_MS));
    close(fd);
    /* Others are served as before. */
    fd = connect_from(h, "127.0.0.1");
    ask(fd, 4401, 2, 0);
    close(fd);
    stop_dns(h);
}

static void colliding_pair(size_t i, int32_t *modid, int32_t *cmdid)
{
    uint64_t k = colliding_key(i);

    *modid = (int32_t)(k >> 32);
    *cmdid = (int32_t)k;
}

typedef struct bystander {
    int fd;
    uint64_t worst_ms;
} bystander_t;

static void bystander_asks(void *arg)
{
    bystander_t *b = arg;
    uint64_t t0 = dns_client_now_ms(), dt;

    ask(b->fd, 4301, 1, 1);
    dt = dns_client_now_ms() - t0;
    if (dt > b->worst_ms)
        b->worst_ms = dt;
}

/* (c) 80,000 pairs that all shared one bucket under the old mixer: lars-dns
 * subscribes them in no time, its watchdog keeps being fed and another
 * client of the same (only) worker loop keeps being served. Under the old
 * mixer every insert walked one chain of up to 80,000 entries. */
#define COLLIDING 80000
static void dns_survives_colliding_subscriptions(void **state)
{
    harness_t *h;
    bystander_t b = {.fd = -1};
    unsigned pings;
    uint64_t t0;
    int fd;

    route_add(4301, 1, 167772161u, 9000);
    h = start_dns("colliding", "threads = 1;", 2000000);
    wait_status(h, "DB up");
    pings = harness_count(h, "WATCHDOG=1");
    fd = connect_from(h, "127.0.0.1");
    b.fd = connect_from(h, "127.0.0.2");
    t0 = dns_client_now_ms();
    assert_true(ask_many(fd, COLLIDING, colliding_pair, bystander_asks, &b));
    wait_status(h, " 80001 subscriptions;"); /* and the bystander's */
    print_message(
        "80000 colliding subscriptions in %llu ms; the bystander waited %llu ms at most\n",
        (unsigned long long)(dns_client_now_ms() - t0), (unsigned long long)b.worst_ms);
    assert_true(dns_client_now_ms() - t0 < 5000);
    assert_true(b.worst_ms < 500);
    /* Pinged all along (every loop alive), and still. */
    assert_true(harness_count(h, "WATCHDOG=1") > pings);
    assert_true(harness_wait_count(h, "WATCHDOG=1", harness_count(h, "WATCHDOG=1") + 2, WAIT_MS));
    close(fd);
    close(b.fd);
    stop_dns(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dns_closes_a_client_without_a_first_frame),
        cmocka_unit_test(dns_caps_connections_per_source),
        cmocka_unit_test(dns_caps_subscriptions_per_connection),
        cmocka_unit_test(dns_closes_a_client_that_does_not_read),
        cmocka_unit_test(dns_survives_colliding_subscriptions),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
