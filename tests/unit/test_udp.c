/*
 * Tests for libreactor/udp.c over real sockets on 127.0.0.1 (and a
 * dual-stack [::] socket): an echo server on one loop thread,
 * rx_udp_clients on another, and plain sockets for malformed datagrams.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

#define MSG_ECHO   1
#define MSG_PUSH   5
#define WAIT_MS    10000
#define NCLIENTS   120
#define PER_CLIENT 30
#define MAX_FRAME  512
/* Longer than any wait below: a lingering server that slept it out would
 * fail the test instead of passing slowly. */
#define LONG_LINGER_US (60u * 1000 * 1000)

/* linger_us of the next fixture's server (0: off), and the socket it is
 * given (-1: it binds 127.0.0.1:0). */
static unsigned fixture_linger_us;
static int fixture_server_fd = -1;

typedef struct loop_thread {
    rx_loop_t *loop;
    pthread_t thread;
} loop_thread_t;

typedef struct peer {
    rx_udp_client_t *cli;
    uint32_t next; /* seq expected back */
    uint64_t sent_ms;
} peer_t;

typedef struct fixture {
    loop_thread_t server_lt;
    loop_thread_t client_lt;
    rx_router_t *server_router;
    rx_router_t *client_router;
    rx_udp_server_t *srv;
    peer_t peers[NCLIENTS];
    rx_timer_t *resend_timer;
    atomic_int finished;
    atomic_int errors;
    atomic_int resends;
} fixture_t;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        uint64_t t0_ = rx_time_ms();                                                               \
        while (!(cond) && rx_time_ms() - t0_ < WAIT_MS)                                            \
            sleep_ms(5);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

static void *loop_main(void *arg)
{
    rx_loop_run(arg);
    rx_buf_pool_trim();
    return NULL;
}

static void loop_thread_start(loop_thread_t *lt)
{
    lt->loop = rx_loop_new();
    assert_non_null(lt->loop);
    assert_int_equal(pthread_create(&lt->thread, NULL, loop_main, lt->loop), 0);
}

static void loop_thread_stop(loop_thread_t *lt)
{
    rx_loop_stop(lt->loop);
    pthread_join(lt->thread, NULL);
    rx_loop_free(lt->loop);
}

typedef struct call {
    void (*fn)(fixture_t *f);
    fixture_t *f;
    sem_t done;
} call_t;

static void call_task(rx_loop_t *loop, void *arg)
{
    call_t *c = arg;

    c->fn(c->f);
    sem_post(&c->done);
}

static void run_on(rx_loop_t *loop, fixture_t *f, void (*fn)(fixture_t *))
{
    call_t c = {.fn = fn, .f = f};

    sem_init(&c.done, 0, 0);
    assert_int_equal(rx_loop_post(loop, call_task, &c), 0);
    while (sem_wait(&c.done) < 0 && errno == EINTR)
        ;
    sem_destroy(&c.done);
}

/* -------------------------------------------------------------- server -- */

static void server_echo(const rx_msg_t *msg, void *arg)
{
    rx_udp_reply(msg, msg->msgid, msg->body, msg->len);
}

static void server_start_task(fixture_t *f)
{
    rx_udp_server_config_t cfg = {
        .loop = f->server_lt.loop,
        .fd = fixture_server_fd,
        .bind_addr = "127.0.0.1:0",
        .router = f->server_router,
        .max_frame = MAX_FRAME,
        .batch = 16,
        .linger_us = fixture_linger_us,
    };
    int err = 0;

    f->srv = rx_udp_server_new(&cfg, &err);
    if (f->srv)
        rx_udp_server_start(f->srv);
}

static void server_free_task(fixture_t *f)
{
    rx_udp_server_free(f->srv);
    f->srv = NULL;
}

static rx_stats_snapshot_t server_stats(const fixture_t *f)
{
    rx_stats_snapshot_t s;

    rx_stats_read(rx_udp_server_stats(f->srv), &s);
    return s;
}

/* ------------------------------------------------------------- clients -- */

static void peer_send(peer_t *p, unsigned idx, rx_loop_t *loop)
{
    uint8_t body[300];
    uint32_t len = 8 + (p->next * 31 + idx) % 250;

    memcpy(body, &p->next, 4);
    memcpy(body + 4, &idx, 4);
    for (uint32_t k = 8; k < len; k++)
        body[k] = (uint8_t)(idx ^ k ^ p->next);
    rx_udp_client_send(p->cli, MSG_ECHO, body, len);
    p->sent_ms = rx_loop_now(loop);
}

static void client_echo(const rx_msg_t *msg, void *arg)
{
    fixture_t *f = arg;
    uint32_t seq, idx;
    peer_t *p;

    if (msg->len < 8) {
        atomic_fetch_add(&f->errors, 1);
        return;
    }
    memcpy(&seq, msg->body, 4);
    memcpy(&idx, msg->body + 4, 4);
    if (idx >= NCLIENTS || f->peers[idx].cli != rx_msg_udp_client(msg)) {
        atomic_fetch_add(&f->errors, 1);
        return;
    }
    p = &f->peers[idx];
    if (seq < p->next)
        return; /* the echo of a resend we no longer wait for */
    if (seq > p->next || msg->len != 8 + (seq * 31 + idx) % 250) {
        atomic_fetch_add(&f->errors, 1);
        return;
    }
    for (uint32_t k = 8; k < msg->len; k++)
        if (msg->body[k] != (uint8_t)(idx ^ k ^ seq))
            atomic_fetch_add(&f->errors, 1);
    p->next++;
    if (p->next == PER_CLIENT)
        atomic_fetch_add(&f->finished, 1);
    else
        peer_send(p, idx, msg->loop);
}

/* UDP may drop; a request unanswered for 300 ms is sent again. */
static void resend_tick(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    fixture_t *f = arg;

    for (unsigned i = 0; i < NCLIENTS; i++) {
        peer_t *p = &f->peers[i];
        if (p->next < PER_CLIENT && rx_loop_now(loop) - p->sent_ms >= 300) {
            atomic_fetch_add(&f->resends, 1);
            peer_send(p, i, loop);
        }
    }
}

static void clients_start_task(fixture_t *f)
{
    char addr[32];
    int err = 0;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", rx_udp_server_port(f->srv));
    for (unsigned i = 0; i < NCLIENTS; i++) {
        rx_udp_client_config_t cfg = {
            .loop = f->client_lt.loop,
            .server_addr = addr,
            .router = f->client_router,
        };
        f->peers[i].cli = rx_udp_client_new(&cfg, &err);
        if (!f->peers[i].cli || rx_udp_client_start(f->peers[i].cli) < 0) {
            atomic_fetch_add(&f->errors, 1);
            return;
        }
    }
    for (unsigned i = 0; i < NCLIENTS; i++)
        peer_send(&f->peers[i], i, f->client_lt.loop);
    f->resend_timer = rx_timer_add(f->client_lt.loop, 100, 100, resend_tick, f);
}

static void clients_free_task(fixture_t *f)
{
    rx_timer_free(f->resend_timer);
    f->resend_timer = NULL;
    for (unsigned i = 0; i < NCLIENTS; i++) {
        rx_udp_client_free(f->peers[i].cli);
        f->peers[i].cli = NULL;
    }
}

static fixture_t *fixture_new(void)
{
    fixture_t *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    loop_thread_start(&f->server_lt);
    loop_thread_start(&f->client_lt);
    f->server_router = rx_router_new();
    f->client_router = rx_router_new();
    rx_router_add(f->server_router, MSG_ECHO, server_echo, f);
    rx_router_add(f->client_router, MSG_ECHO, client_echo, f);
    run_on(f->server_lt.loop, f, server_start_task);
    assert_non_null(f->srv);
    return f;
}

static void fixture_free(fixture_t *f)
{
    run_on(f->client_lt.loop, f, clients_free_task);
    run_on(f->server_lt.loop, f, server_free_task);
    loop_thread_stop(&f->client_lt);
    loop_thread_stop(&f->server_lt);
    rx_router_free(f->server_router);
    rx_router_free(f->client_router);
    free(f);
    fixture_linger_us = 0;
    fixture_server_fd = -1;
}

/* ---------------------------------------------------------- raw socket -- */

static int raw_socket(struct sockaddr_in *ret_addr)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    struct timeval tv = {0, 500 * 1000};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(fd, (struct sockaddr *)&sa, &slen);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (ret_addr)
        *ret_addr = sa;
    return fd;
}

static void raw_send(int fd, int port, const void *p, size_t n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(fd, p, n, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)n);
}

/* A datagram with the header (msgid, hdr_len) followed by body_len bytes. */
static void raw_send_frame(int fd, int port, int32_t msgid, int32_t hdr_len, size_t body_len)
{
    static uint8_t buf[RX_FRAME_HDR + 2000];

    rx_frame_put_header(buf, msgid, (uint32_t)hdr_len);
    memset(buf + RX_FRAME_HDR, 'x', body_len);
    raw_send(fd, port, buf, RX_FRAME_HDR + body_len);
}

/* --------------------------------------------------------------- tests -- */

static void udp_echoes_many_clients(void **state)
{
    fixture_t *f = fixture_new();

    run_on(f->client_lt.loop, f, clients_start_task);
    WAIT_FOR(atomic_load(&f->finished) == NCLIENTS || atomic_load(&f->errors) > 0);
    assert_int_equal(atomic_load(&f->errors), 0);
    assert_int_equal(atomic_load(&f->finished), NCLIENTS);
    assert_true(server_stats(f).frames_in >= NCLIENTS * PER_CLIENT);
    assert_int_equal(server_stats(f).frames_bad, 0);
    assert_int_equal(server_stats(f).dgrams_out, server_stats(f).frames_in);
    fixture_free(f);
}

static void udp_drops_and_counts_malformed_datagrams(void **state)
{
    fixture_t *f = fixture_new();
    int port = rx_udp_server_port(f->srv), fd = raw_socket(NULL);
    uint8_t buf[2048];
    ssize_t n;

    raw_send(fd, port, "\x01\x00\x00\x00", 4);             /* shorter than a header */
    raw_send_frame(fd, port, MSG_ECHO, -1, 0);             /* negative length */
    raw_send_frame(fd, port, MSG_ECHO, MAX_FRAME + 1, 10); /* length over the limit */
    raw_send_frame(fd, port, MSG_ECHO, MAX_FRAME + 100, MAX_FRAME + 100); /* too big */
    raw_send_frame(fd, port, MSG_ECHO, 10, 5);                /* says more than it has */
    raw_send_frame(fd, port, MSG_ECHO, 10, 20);               /* says less than it has */
    raw_send_frame(fd, port, 77, 3, 3);                       /* unknown msgid */
    raw_send_frame(fd, port, MSG_ECHO, MAX_FRAME, MAX_FRAME); /* the limit is fine */
    raw_send_frame(fd, port, MSG_ECHO, 0, 0);                 /* so is empty */

    n = recv(fd, buf, sizeof(buf), 0);
    assert_int_equal(n, RX_FRAME_HDR + MAX_FRAME);
    n = recv(fd, buf, sizeof(buf), 0);
    assert_int_equal(n, RX_FRAME_HDR);
    assert_true(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0);
    WAIT_FOR(server_stats(f).frames_bad == 6);
    assert_int_equal(server_stats(f).frames_unknown, 1);
    assert_int_equal(server_stats(f).frames_in, 2);
    assert_int_equal(server_stats(f).dgrams_in, 9);
    close(fd);
    fixture_free(f);
}

static void udp_replies_to_a_burst_of_datagrams(void **state)
{
    fixture_t *f = fixture_new();
    int port = rx_udp_server_port(f->srv), fd = raw_socket(NULL);
    uint8_t buf[64];
    int got = 0;

    for (int i = 0; i < 100; i++)
        raw_send_frame(fd, port, MSG_ECHO, 4, 4);
    while (recv(fd, buf, sizeof(buf), 0) == RX_FRAME_HDR + 4)
        got++;
    /* Loopback drops nothing at this volume; allow for it all the same. */
    assert_true(got >= 90);
    assert_int_equal(server_stats(f).dgrams_out, (uint64_t)got);
    close(fd);
    fixture_free(f);
}

/* Holds the server's loop in a task until released. */
typedef struct gate {
    sem_t entered, release;
} gate_t;

static void gate_task(rx_loop_t *loop, void *arg)
{
    gate_t *g = arg;

    sem_post(&g->entered);
    while (sem_wait(&g->release) < 0 && errno == EINTR)
        ;
}

/* A queue several batches deep is read over full batches in one go; every
 * reply comes back whole and in the order sent. */
static void udp_answers_a_queue_deeper_than_a_batch_in_order(void **state)
{
    fixture_t *f = fixture_new();
    int port = rx_udp_server_port(f->srv), fd = raw_socket(NULL);
    uint8_t buf[64], frame[RX_FRAME_HDR + 4];
    gate_t g;
    rx_frame_t fr;

    sem_init(&g.entered, 0, 0);
    sem_init(&g.release, 0, 0);
    assert_int_equal(rx_loop_post(f->server_lt.loop, gate_task, &g), 0);
    while (sem_wait(&g.entered) < 0 && errno == EINTR)
        ;
    for (uint32_t i = 0; i < 70; i++) { /* 16 per batch: 4 full batches and a short one */
        rx_frame_put_header(frame, MSG_ECHO, 4);
        memcpy(frame + RX_FRAME_HDR, &i, 4);
        raw_send(fd, port, frame, sizeof(frame));
    }
    sem_post(&g.release);
    for (uint32_t i = 0; i < 70; i++) {
        uint32_t seq;
        assert_int_equal(recv(fd, buf, sizeof(buf), 0), RX_FRAME_HDR + 4);
        assert_int_equal(rx_frame_parse(buf, RX_FRAME_HDR + 4, MAX_FRAME, &fr), RX_FRAME_HDR + 4);
        assert_int_equal(fr.msgid, MSG_ECHO);
        memcpy(&seq, fr.body, 4);
        assert_int_equal(seq, i);
    }
    /* Then a lone datagram (the one-reply path) comes back whole. */
    rx_frame_put_header(frame, MSG_ECHO, 4);
    memcpy(frame + RX_FRAME_HDR, "solo", 4);
    raw_send(fd, port, frame, sizeof(frame));
    assert_int_equal(recv(fd, buf, sizeof(buf), 0), RX_FRAME_HDR + 4);
    assert_memory_equal(buf, frame, sizeof(frame));
    WAIT_FOR(server_stats(f).dgrams_out == 71);
    assert_int_equal(server_stats(f).dgrams_in, 71);
    assert_int_equal(server_stats(f).dgrams_send_failed, 0);
    sem_destroy(&g.entered);
    sem_destroy(&g.release);
    close(fd);
    fixture_free(f);
}

static void udp_sendto_from_another_thread_reaches_peer(void **state)
{
    fixture_t *f = fixture_new();
    rx_addr_t addr;
    int fd = raw_socket(NULL);
    uint8_t buf[64];
    rx_frame_t fr;

    assert_int_equal(rx_addr_of_socket(fd, &addr), 0);
    assert_int_equal(rx_udp_sendto(rx_udp_server_fd(f->srv), &addr, MSG_PUSH, "pushed", 6), 0);
    assert_int_equal(recv(fd, buf, sizeof(buf), 0), RX_FRAME_HDR + 6);
    assert_int_equal(rx_frame_parse(buf, RX_FRAME_HDR + 6, MAX_FRAME, &fr), RX_FRAME_HDR + 6);
    assert_int_equal(fr.msgid, MSG_PUSH);
    assert_memory_equal(fr.body, "pushed", 6);
    close(fd);
    fixture_free(f);
}

/* ------------------------------------------------------------ linger -- */

static void udp_lingering_server_echoes_many_clients(void **state)
{
    fixture_linger_us = 1000;
    udp_echoes_many_clients(state);
}

static void udp_lingering_server_drops_and_counts_malformed_datagrams(void **state)
{
    fixture_linger_us = 1000;
    udp_drops_and_counts_malformed_datagrams(state);
}

static void udp_lingering_server_answers_a_deep_queue_in_order(void **state)
{
    fixture_linger_us = LONG_LINGER_US;
    udp_answers_a_queue_deeper_than_a_batch_in_order(state);
}

/* One request answered: the server now waits in its blocking receive. */
static void echo_once(int fd, int port)
{
    uint8_t frame[RX_FRAME_HDR + 4], buf[64];

    rx_frame_put_header(frame, MSG_ECHO, 4);
    memcpy(frame + RX_FRAME_HDR, "ping", 4);
    raw_send(fd, port, frame, sizeof(frame));
    assert_int_equal(recv(fd, buf, sizeof(buf), 0), RX_FRAME_HDR + 4);
    sleep_ms(50);
}

static void noop(fixture_t *f)
{
}

/* A post must not wait for the receive timeout: the loop kicks the receive
 * awake, and the kick datagrams are neither answered nor counted. */
static void udp_lingering_server_runs_posted_tasks_at_once(void **state)
{
    fixture_t *f;
    int fd = raw_socket(NULL), port;
    uint64_t t0;

    fixture_linger_us = LONG_LINGER_US;
    f = fixture_new();
    port = rx_udp_server_port(f->srv);
    for (int i = 0; i < 20; i++) {
        echo_once(fd, port);
        t0 = rx_time_ms();
        run_on(f->server_lt.loop, f, noop);
        assert_true(rx_time_ms() - t0 < WAIT_MS);
    }
    assert_int_equal(server_stats(f).dgrams_in, 20);
    assert_int_equal(server_stats(f).frames_in, 20);
    assert_int_equal(server_stats(f).dgrams_out, 20);
    assert_int_equal(server_stats(f).frames_bad, 0);
    close(fd);
    fixture_free(f);
}

/* An empty datagram from anyone but the kick socket is still malformed. */
static void udp_lingering_server_counts_foreign_empty_datagrams(void **state)
{
    fixture_t *f;
    int fd = raw_socket(NULL), port;

    fixture_linger_us = 1000;
    f = fixture_new();
    port = rx_udp_server_port(f->srv);
    raw_send(fd, port, "", 0);
    echo_once(fd, port);
    WAIT_FOR(server_stats(f).frames_bad == 1);
    assert_int_equal(server_stats(f).dgrams_in, 2);
    close(fd);
    fixture_free(f);
}

/* As systemd's ListenDatagram=[::]:port makes it: IPv4 senders show as
 * IPv4-mapped. The kick socket of a lingering server must work there too,
 * or the posts below would wait for the receive timeout. */
static void udp_lingering_server_on_dual_stack_socket_answers_ipv4_and_ipv6(void **state)
{
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), off = 0, fd = raw_socket(NULL), port;
    uint8_t frame[RX_FRAME_HDR + 4], buf[64];
    struct timeval tv = {WAIT_MS / 1000, 0};
    unsigned answered = 0;
    fixture_t *f;
    uint64_t t0;

    if (fd6 < 0)
        skip(); /* no IPv6 in this kernel */
    assert_int_equal(setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), 0);
    assert_int_equal(bind(fd6, (struct sockaddr *)&sa6, sizeof(sa6)), 0);
    fixture_server_fd = fd6;
    fixture_linger_us = LONG_LINGER_US;
    f = fixture_new();
    port = rx_udp_server_port(f->srv);
    assert_true(port > 0);
    for (int i = 0; i < 5; i++) {
        echo_once(fd, port);
        answered++;
        t0 = rx_time_ms();
        run_on(f->server_lt.loop, f, noop);
        assert_true(rx_time_ms() - t0 < WAIT_MS);
    }
    fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    lo6.sin6_port = htons((uint16_t)port);
    setsockopt(fd6, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    rx_frame_put_header(frame, MSG_ECHO, 4);
    memcpy(frame + RX_FRAME_HDR, "six!", 4);
    if (fd6 >= 0 && sendto(fd6, frame, sizeof(frame), 0, (struct sockaddr *)&lo6, sizeof(lo6)) ==
                        (ssize_t)sizeof(frame)) {
        assert_int_equal(recv(fd6, buf, sizeof(buf), 0), sizeof(frame));
        assert_memory_equal(buf, frame, sizeof(frame));
        answered++;
    }
    WAIT_FOR(server_stats(f).dgrams_out == answered);
    assert_int_equal(server_stats(f).dgrams_in, answered);
    assert_int_equal(server_stats(f).frames_bad, 0);
    if (fd6 >= 0)
        close(fd6);
    close(fd);
    fixture_free(f);
}

typedef struct timer_probe {
    fixture_t *f;
    atomic_int fired;
} timer_probe_t;

static timer_probe_t probe;

static void probe_fire(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    atomic_fetch_add(&probe.fired, 1);
}

static void add_probe_timer(fixture_t *f)
{
    assert_non_null(rx_timer_add(f->server_lt.loop, 300, 0, probe_fire, NULL));
}

/* The receive timeout follows the next timer, so a timer is not held up
 * by a server waiting for datagrams. */
static void udp_lingering_server_fires_timers_on_time(void **state)
{
    fixture_t *f;
    int fd = raw_socket(NULL), port;

    fixture_linger_us = LONG_LINGER_US;
    f = fixture_new();
    port = rx_udp_server_port(f->srv);
    atomic_store(&probe.fired, 0);
    run_on(f->server_lt.loop, f, add_probe_timer);
    echo_once(fd, port); /* now lingering, with the timer 300 ms away */
    WAIT_FOR(atomic_load(&probe.fired) == 1);
    close(fd);
    fixture_free(f);
}

static void udp_lingering_server_stops_while_waiting(void **state)
{
    fixture_t *f;
    int fd = raw_socket(NULL);
    uint64_t t0;

    fixture_linger_us = LONG_LINGER_US;
    f = fixture_new();
    echo_once(fd, rx_udp_server_port(f->srv));
    t0 = rx_time_ms();
    rx_loop_stop(f->server_lt.loop);
    pthread_join(f->server_lt.thread, NULL);
    assert_true(rx_time_ms() - t0 < WAIT_MS);
    /* The loop thread is gone; free the server and loop from here. */
    rx_udp_server_free(f->srv);
    rx_loop_free(f->server_lt.loop);
    loop_thread_stop(&f->client_lt);
    rx_router_free(f->server_router);
    rx_router_free(f->client_router);
    free(f);
    fixture_linger_us = 0;
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(udp_echoes_many_clients),
        cmocka_unit_test(udp_drops_and_counts_malformed_datagrams),
        cmocka_unit_test(udp_replies_to_a_burst_of_datagrams),
        cmocka_unit_test(udp_answers_a_queue_deeper_than_a_batch_in_order),
        cmocka_unit_test(udp_sendto_from_another_thread_reaches_peer),
        cmocka_unit_test(udp_lingering_server_echoes_many_clients),
        cmocka_unit_test(udp_lingering_server_drops_and_counts_malformed_datagrams),
        cmocka_unit_test(udp_lingering_server_answers_a_deep_queue_in_order),
        cmocka_unit_test(udp_lingering_server_runs_posted_tasks_at_once),
        cmocka_unit_test(udp_lingering_server_counts_foreign_empty_datagrams),
        cmocka_unit_test(udp_lingering_server_on_dual_stack_socket_answers_ipv4_and_ipv6),
        cmocka_unit_test(udp_lingering_server_fires_timers_on_time),
        cmocka_unit_test(udp_lingering_server_stops_while_waiting),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
