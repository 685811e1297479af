/*
 * Tests for libreactor/tcp_server.c over real sockets on 127.0.0.1 (and a
 * dual-stack [::] listener): the server runs an accept loop and a worker
 * pool in threads; the test thread plays the clients with plain sockets.
 * The drain test peeks at the loops' task queues (internal.h) to know when
 * its tasks are queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libreactor/internal.h"

#define MSG_ECHO   1
#define MSG_HELLO  2 /* records the connection's ref under the body's token */
#define MSG_CLOSE  3 /* handler closes the connection */
#define MSG_FLOOD  4 /* handler answers with a big frame */
#define MSG_PUSH   7
#define MSG_COUNT  8 /* body: stream tag, then a 32-bit sequence number */
#define MSG_PEER   9 /* answers "<rx_conn_peer>|<msg->from.addr>" as text */
#define COUNT_MAX  2000
#define WAIT_MS    10000
#define MAX_TOKENS 8

typedef struct fixture {
    rx_loop_t *accept_loop;
    pthread_t accept_thread;
    rx_pool_t *pool;
    rx_router_t *router;
    rx_tcp_server_t *srv;
    int port;
    atomic_int opens;
    atomic_int closes;
    atomic_int close_handler_calls;
    atomic_int send_after_close;
    pthread_mutex_t lock;
    rx_conn_ref_t refs[MAX_TOKENS];
    bool have_ref[MAX_TOKENS];
    uint64_t ids[512];
    unsigned nids;
    atomic_int counted[2][COUNT_MAX]; /* MSG_COUNT frames seen per tag, seq */
    atomic_int count_bad;
} fixture_t;

/* ------------------------------------------------------------ handlers -- */

static void on_echo(const rx_msg_t *msg, void *arg)
{
    rx_conn_send(msg->from.conn, msg->msgid, msg->body, msg->len);
}

static void on_hello(const rx_msg_t *msg, void *arg)
{
    fixture_t *f = arg;
    unsigned token = msg->len ? msg->body[0] % MAX_TOKENS : 0;

    pthread_mutex_lock(&f->lock);
    f->refs[token] = rx_conn_ref(msg->from.conn);
    f->have_ref[token] = true;
    pthread_mutex_unlock(&f->lock);
    rx_conn_send(msg->from.conn, MSG_HELLO, msg->body, msg->len);
}

static void on_close_request(const rx_msg_t *msg, void *arg)
{
    fixture_t *f = arg;

    atomic_fetch_add(&f->close_handler_calls, 1);
    rx_conn_close(msg->from.conn);
    if (rx_conn_send(msg->from.conn, MSG_ECHO, "late", 4) == -ENOTCONN)
        atomic_fetch_add(&f->send_after_close, 1);
}

static void on_flood(const rx_msg_t *msg, void *arg)
{
    static uint8_t big[60000];

    rx_conn_send(msg->from.conn, MSG_FLOOD, big, sizeof(big));
}

static void on_count(const rx_msg_t *msg, void *arg)
{
    fixture_t *f = arg;
    uint32_t seq;

    if (msg->len != 5 || msg->body[0] > 1) {
        atomic_fetch_add(&f->count_bad, 1);
        return;
    }
    memcpy(&seq, msg->body + 1, 4);
    if (seq >= COUNT_MAX) {
        atomic_fetch_add(&f->count_bad, 1);
        return;
    }
    atomic_fetch_add(&f->counted[msg->body[0]][seq], 1);
}

static void on_peer(const rx_msg_t *msg, void *arg)
{
    char a[RX_ADDR_STRLEN], b[RX_ADDR_STRLEN], out[2 * RX_ADDR_STRLEN];
    int n = snprintf(out, sizeof(out), "%s|%s",
                     rx_addr_format(rx_conn_peer(msg->from.conn), a, sizeof(a)),
                     rx_addr_format(msg->from.addr, b, sizeof(b)));

    rx_conn_send(msg->from.conn, MSG_PEER, out, (uint32_t)n);
}

static void on_open(rx_conn_t *conn, void *arg)
{
    fixture_t *f = arg;

    pthread_mutex_lock(&f->lock);
    if (f->nids < sizeof(f->ids) / sizeof(f->ids[0]))
        f->ids[f->nids++] = rx_conn_id(conn);
    pthread_mutex_unlock(&f->lock);
    rx_conn_set_data(conn, f);
    atomic_fetch_add(&f->opens, 1);
}

static void on_close(rx_conn_t *conn, void *arg)
{
    fixture_t *f = arg;

    /* No cmocka assertion here: this runs on a worker thread. */
    if (rx_conn_data(conn) == f)
        atomic_fetch_add(&f->closes, 1);
}

/* ------------------------------------------------------------- fixture -- */

static void *accept_main(void *arg)
{
    rx_loop_run(arg);
    rx_buf_pool_trim();
    return NULL;
}

/* The server runs its loops but does not accept yet. */
static fixture_t *fixture_new(rx_tcp_server_config_t cfg)
{
    fixture_t *f = calloc(1, sizeof(*f));
    int err = 0;

    assert_non_null(f);
    pthread_mutex_init(&f->lock, NULL);
    f->accept_loop = rx_loop_new();
    f->pool = rx_pool_new(3, "test-w");
    f->router = rx_router_new();
    assert_non_null(f->accept_loop);
    assert_non_null(f->pool);
    assert_non_null(f->router);
    rx_router_add(f->router, MSG_ECHO, on_echo, f);
    rx_router_add(f->router, MSG_HELLO, on_hello, f);
    rx_router_add(f->router, MSG_CLOSE, on_close_request, f);
    rx_router_add(f->router, MSG_FLOOD, on_flood, f);
    rx_router_add(f->router, MSG_COUNT, on_count, f);
    rx_router_add(f->router, MSG_PEER, on_peer, f);
    if (cfg.listen_fd == 0)
        cfg.listen_fd = -1;
    if (cfg.listen_fd < 0 && !cfg.listen_addr)
        cfg.listen_addr = "127.0.0.1:0";
    cfg.accept_loop = f->accept_loop;
    cfg.workers = f->pool;
    cfg.router = f->router;
    cfg.on_open = on_open;
    cfg.on_close = on_close;
    cfg.arg = f;
    f->srv = rx_tcp_server_new(&cfg, &err);
    assert_int_equal(err, 0);
    assert_non_null(f->srv);
    f->port = rx_tcp_server_port(f->srv);
    assert_true(f->port > 0);
    assert_int_equal(rx_pool_start(f->pool), 0);
    assert_int_equal(pthread_create(&f->accept_thread, NULL, accept_main, f->accept_loop), 0);
    return f;
}

static fixture_t *fixture_start(rx_tcp_server_config_t cfg)
{
    fixture_t *f = fixture_new(cfg);

    assert_int_equal(rx_tcp_server_start(f->srv), 0);
    return f;
}

static void fixture_stop(fixture_t *f)
{
    rx_tcp_server_shutdown(f->srv);
    rx_loop_stop(f->accept_loop);
    pthread_join(f->accept_thread, NULL);
    rx_pool_free(f->pool);
    rx_tcp_server_free(f->srv);
    rx_loop_free(f->accept_loop);
    rx_router_free(f->router);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static rx_stats_snapshot_t stats_of(const fixture_t *f)
{
    rx_stats_snapshot_t s;

    rx_stats_read(rx_tcp_server_stats(f->srv), &s);
    return s;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Polls cond(f) every 5 ms for up to WAIT_MS. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        uint64_t t0_ = rx_time_ms();                                                               \
        while (!(cond) && rx_time_ms() - t0_ < WAIT_MS)                                            \
            sleep_ms(5);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

/* ----------------------------------------------------- blocking client -- */

static int client_connect(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {WAIT_MS / 1000, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    assert_true(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        p = (const uint8_t *)p + w;
        n -= (size_t)w;
    }
}

static void send_raw_header(int fd, int32_t msgid, int32_t len)
{
    uint8_t hdr[RX_FRAME_HDR];

    rx_frame_put_header(hdr, msgid, (uint32_t)len);
    send_all(fd, hdr, sizeof(hdr));
}

static void send_frame(int fd, int32_t msgid, const void *body, uint32_t len)
{
    send_raw_header(fd, msgid, (int32_t)len);
    if (len)
        send_all(fd, body, len);
}

static bool recv_all(int fd, void *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p = (uint8_t *)p + r;
        n -= (size_t)r;
    }
    return true;
}

/* Receives one frame into body (cap bytes); returns its length or -1. */
static int recv_frame(int fd, int32_t *ret_msgid, void *body, size_t cap)
{
    uint8_t hdr[RX_FRAME_HDR];
    rx_frame_t fr;

    if (!recv_all(fd, hdr, sizeof(hdr)))
        return -1;
    /* Header only: parse with the body counted as present. */
    memcpy(&fr.len, hdr + 4, 4);
    memcpy(ret_msgid, hdr, 4);
    if (fr.len > cap || !recv_all(fd, body, fr.len))
        return -1;
    return (int)fr.len;
}

/* True when the server closed fd: EOF or reset within WAIT_MS. */
static bool peer_closed(int fd)
{
    uint8_t b[4096];

    for (;;) {
        ssize_t r = recv(fd, b, sizeof(b), 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
        if (r < 0)
            return false; /* timeout */
    }
}

static void echo_roundtrip(int fd, const char *text)
{
    char buf[256];
    int32_t id;
    int n;

    send_frame(fd, MSG_ECHO, text, (uint32_t)strlen(text));
    n = recv_frame(fd, &id, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(text));
    assert_int_equal(id, MSG_ECHO);
    assert_memory_equal(buf, text, (size_t)n);
}

/* ------------------------------------------------- many-client echo run -- */

#define ECHO_CLIENTS 160
#define DRIBBLERS    24

typedef struct echo_client {
    int fd;
    uint8_t *out;
    size_t out_len, out_pos;
    uint8_t *in;
    size_t in_pos;
    bool dribble;
} echo_client_t;

/* A script of frames of varying sizes; a few big ones near the limit. */
static void echo_client_build(echo_client_t *c, unsigned idx, unsigned seed)
{
    unsigned nframes = c->dribble ? 6 : 40;
    size_t cap = 0;

    c->out = NULL;
    c->out_len = 0;
    for (unsigned i = 0; i < nframes; i++) {
        uint32_t len;
        seed = seed * 1103515245 + 12345;
        if (c->dribble)
            len = seed % 48;
        else if (i % 13 == 5 && idx % 8 == 0)
            len = 60000 + seed % 5000;
        else
            len = (seed >> 8) % 3000;
        if (c->out_len + RX_FRAME_HDR + len > cap) {
            cap = (c->out_len + RX_FRAME_HDR + len) * 2;
            c->out = realloc(c->out, cap);
            assert_non_null(c->out);
        }
        rx_frame_put_header(c->out + c->out_len, MSG_ECHO, len);
        for (uint32_t k = 0; k < len; k++)
            c->out[c->out_len + RX_FRAME_HDR + k] = (uint8_t)(idx + i + k * 7);
        c->out_len += RX_FRAME_HDR + len;
    }
    c->in = malloc(c->out_len);
    assert_non_null(c->in);
    c->in_pos = 0;
    c->out_pos = 0;
}

static void echo_client_step(echo_client_t *c, short revents)
{
    if ((revents & POLLOUT) && c->out_pos < c->out_len) {
        size_t n = c->dribble ? 1 : c->out_len - c->out_pos;
        ssize_t w = send(c->fd, c->out + c->out_pos, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        assert_true(w > 0 || errno == EAGAIN);
        if (w > 0)
            c->out_pos += (size_t)w;
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = recv(c->fd, c->in + c->in_pos, c->out_len - c->in_pos, MSG_DONTWAIT);
        assert_true(r > 0 || (r < 0 && errno == EAGAIN));
        if (r > 0)
            c->in_pos += (size_t)r;
    }
}

static void tcp_echoes_many_clients_with_varied_and_dribbled_frames(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){.max_frame = 70000});
    echo_client_t *cl = calloc(ECHO_CLIENTS, sizeof(*cl));
    struct pollfd *pfd = calloc(ECHO_CLIENTS, sizeof(*pfd));
    uint64_t t0 = rx_time_ms();
    unsigned done = 0;

    for (unsigned i = 0; i < ECHO_CLIENTS; i++) {
        cl[i].dribble = i < DRIBBLERS;
        echo_client_build(&cl[i], i, i * 7919 + 1);
        cl[i].fd = client_connect(f->port);
        fcntl(cl[i].fd, F_SETFL, O_NONBLOCK);
    }
    while (done < ECHO_CLIENTS && rx_time_ms() - t0 < 60000) {
        for (unsigned i = 0; i < ECHO_CLIENTS; i++) {
            pfd[i].fd = cl[i].in_pos == cl[i].out_len ? -1 : cl[i].fd;
            pfd[i].events = POLLIN | (cl[i].out_pos < cl[i].out_len ? POLLOUT : 0);
        }
        assert_true(poll(pfd, ECHO_CLIENTS, 1000) >= 0);
        done = 0;
        for (unsigned i = 0; i < ECHO_CLIENTS; i++) {
            if (pfd[i].fd >= 0 && pfd[i].revents)
                echo_client_step(&cl[i], pfd[i].revents);
            done += cl[i].in_pos == cl[i].out_len;
        }
    }
    assert_int_equal(done, ECHO_CLIENTS);
    for (unsigned i = 0; i < ECHO_CLIENTS; i++) {
        assert_memory_equal(cl[i].in, cl[i].out, cl[i].out_len);
        close(cl[i].fd);
        free(cl[i].in);
        free(cl[i].out);
    }
    WAIT_FOR(atomic_load(&f->closes) == ECHO_CLIENTS);
    assert_int_equal(atomic_load(&f->opens), ECHO_CLIENTS);
    assert_int_equal(stats_of(f).frames_bad, 0);
    assert_int_equal(stats_of(f).conns_accepted, ECHO_CLIENTS);
    /* Connection ids are unique. */
    for (unsigned i = 0; i < f->nids; i++)
        for (unsigned j = i + 1; j < f->nids; j++)
            assert_true(f->ids[i] != f->ids[j]);
    free(pfd);
    free(cl);
    fixture_stop(f);
}

/* ---------------------------------------------------------- the others -- */

static void tcp_refuses_connection_over_max_conns(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){.max_conns = 4});
    int fds[4], extra;

    for (int i = 0; i < 4; i++) {
        fds[i] = client_connect(f->port);
        echo_roundtrip(fds[i], "in");
    }
    extra = client_connect(f->port);
    assert_true(peer_closed(extra));
    close(extra);
    WAIT_FOR(stats_of(f).conns_refused == 1);
    for (int i = 0; i < 4; i++) {
        echo_roundtrip(fds[i], "still here");
        close(fds[i]);
    }
    WAIT_FOR(rx_tcp_server_conn_count(f->srv) == 0);
    /* A slot freed by a close can be taken again. */
    extra = client_connect(f->port);
    echo_roundtrip(extra, "room again");
    close(extra);
    assert_int_equal(stats_of(f).conns_accepted, 5);
    fixture_stop(f);
}

static void tcp_closes_idle_connection_keeps_active_one(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){.idle_timeout_ms = 300});
    int idle = client_connect(f->port), active = client_connect(f->port);
    uint64_t t0 = rx_time_ms();

    echo_roundtrip(idle, "once");
    /* Keep one busy for several timeouts while the other says nothing. */
    while (rx_time_ms() - t0 < 1500)
        echo_roundtrip(active, "ping");
    WAIT_FOR(stats_of(f).conns_idle_closed == 1);
    assert_true(peer_closed(idle));
    assert_true(rx_time_ms() - t0 >= 150);
    echo_roundtrip(active, "still alive");
    assert_int_equal(stats_of(f).conns_idle_closed, 1);
    close(idle);
    close(active);
    fixture_stop(f);
}

static void tcp_bad_length_closes_only_that_connection(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){.max_frame = 1000});
    int good = client_connect(f->port), neg = client_connect(f->port);
    int big = client_connect(f->port);

    echo_roundtrip(good, "before");
    send_raw_header(neg, MSG_ECHO, -1);
    assert_true(peer_closed(neg));
    WAIT_FOR(stats_of(f).frames_bad == 1);
    send_raw_header(big, MSG_ECHO, 1001);
    assert_true(peer_closed(big));
    WAIT_FOR(stats_of(f).frames_bad == 2);
    echo_roundtrip(good, "after");
    /* The limit itself is fine. */
    {
        static char body[1000];
        char back[1000];
        int32_t id;
        send_frame(good, MSG_ECHO, body, sizeof(body));
        assert_int_equal(recv_frame(good, &id, back, sizeof(back)), 1000);
    }
    close(good);
    close(neg);
    close(big);
    fixture_stop(f);
}

static void tcp_unknown_msgid_counted_connection_stays(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    int fd = client_connect(f->port);

    send_frame(fd, 99, "??", 2);
    send_frame(fd, -5, NULL, 0);
    echo_roundtrip(fd, "after unknown");
    assert_int_equal(stats_of(f).frames_unknown, 2);
    assert_int_equal(stats_of(f).frames_bad, 0);
    close(fd);
    fixture_stop(f);
}

static void tcp_zero_length_and_back_to_back_frames(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    int fd = client_connect(f->port);
    uint8_t burst[3 * RX_FRAME_HDR + 3];
    char buf[16];
    int32_t id;

    /* Three frames in one write: empty, "a", "bc". */
    rx_frame_put_header(burst, MSG_ECHO, 0);
    rx_frame_put_header(burst + 8, MSG_ECHO, 1);
    burst[16] = 'a';
    rx_frame_put_header(burst + 17, MSG_ECHO, 2);
    memcpy(burst + 25, "bc", 2);
    send_all(fd, burst, sizeof(burst));
    assert_int_equal(recv_frame(fd, &id, buf, sizeof(buf)), 0);
    assert_int_equal(recv_frame(fd, &id, buf, sizeof(buf)), 1);
    assert_int_equal(recv_frame(fd, &id, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "bc", 2);
    close(fd);
    fixture_stop(f);
}

static rx_conn_ref_t wait_ref(fixture_t *f, unsigned token)
{
    rx_conn_ref_t ref;

    WAIT_FOR(({
        pthread_mutex_lock(&f->lock);
        bool have_ = f->have_ref[token];
        ref = f->refs[token];
        pthread_mutex_unlock(&f->lock);
        have_;
    }));
    return ref;
}

static void tcp_send_ref_from_other_thread_reaches_client(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    int a = client_connect(f->port), b = client_connect(f->port);
    uint8_t ta = 1, tb = 2;
    char buf[64];
    int32_t id;

    send_frame(a, MSG_HELLO, &ta, 1);
    send_frame(b, MSG_HELLO, &tb, 1);
    assert_int_equal(recv_frame(a, &id, buf, sizeof(buf)), 1);
    assert_int_equal(recv_frame(b, &id, buf, sizeof(buf)), 1);
    rx_conn_ref_t ra = wait_ref(f, 1), rb = wait_ref(f, 2);

    for (int i = 0; i < 100; i++)
        assert_int_equal(rx_conn_send_ref(f->srv, rb, MSG_PUSH, "to-b", 4), 0);
    assert_int_equal(rx_conn_send_ref(f->srv, ra, MSG_PUSH, "to-a", 4), 0);
    assert_int_equal(recv_frame(a, &id, buf, sizeof(buf)), 4);
    assert_int_equal(id, MSG_PUSH);
    assert_memory_equal(buf, "to-a", 4);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(recv_frame(b, &id, buf, sizeof(buf)), 4);
        assert_memory_equal(buf, "to-b", 4);
    }
    close(a);
    close(b);
    fixture_stop(f);
}

static void tcp_send_ref_to_closed_connection_dropped_and_counted(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    int a = client_connect(f->port);
    uint8_t t = 3;
    char buf[8];
    int32_t id;

    send_frame(a, MSG_HELLO, &t, 1);
    assert_int_equal(recv_frame(a, &id, buf, sizeof(buf)), 1);
    rx_conn_ref_t ref = wait_ref(f, 3);
    close(a);
    WAIT_FOR(atomic_load(&f->closes) == 1);
    assert_int_equal(rx_conn_send_ref(f->srv, ref, MSG_PUSH, "gone", 4), 0);
    WAIT_FOR(stats_of(f).sends_refused == 1);
    /* A reference of a loop that is not the server's is refused at once. */
    rx_conn_ref_t bogus = {.loop = (rx_loop_t *)&bogus, .id = ref.id};
    assert_int_equal(rx_conn_send_ref(f->srv, bogus, MSG_PUSH, "x", 1), -EINVAL);
    fixture_stop(f);
}

static void tcp_slow_reader_over_max_output_closed_and_counted(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){.max_output = 256 * 1024});
    int rcvbuf = 4096, slow, fast;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};

    /* A small receive window, and never read: the server's kernel buffers
     * fill, then its own output grows past max_output. */
    slow = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(slow, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(slow, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fast = client_connect(f->port);
    for (int i = 0; i < 4000 && stats_of(f).conns_slow_closed == 0; i++) {
        uint8_t hdr[RX_FRAME_HDR];
        rx_frame_put_header(hdr, MSG_FLOOD, 0);
        if (send(slow, hdr, sizeof(hdr), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            break;
        if (i % 16 == 15)
            sleep_ms(2);
    }
    WAIT_FOR(stats_of(f).conns_slow_closed == 1);
    assert_true(stats_of(f).sends_refused >= 1);
    echo_roundtrip(fast, "unaffected");
    close(slow);
    close(fast);
    fixture_stop(f);
}

static void tcp_close_inside_handler_is_safe(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    int fd = client_connect(f->port);
    uint8_t two[2 * RX_FRAME_HDR];

    /* Two close requests in one write: the second is never dispatched. */
    rx_frame_put_header(two, MSG_CLOSE, 0);
    rx_frame_put_header(two + RX_FRAME_HDR, MSG_CLOSE, 0);
    send_all(fd, two, sizeof(two));
    assert_true(peer_closed(fd));
    WAIT_FOR(atomic_load(&f->closes) == 1);
    assert_int_equal(atomic_load(&f->close_handler_calls), 1);
    assert_int_equal(atomic_load(&f->send_after_close), 1);
    close(fd);
    fixture_stop(f);
}

static void tcp_shutdown_closes_every_connection(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    int fds[10];

    for (int i = 0; i < 10; i++) {
        fds[i] = client_connect(f->port);
        echo_roundtrip(fds[i], "hi");
    }
    rx_tcp_server_shutdown(f->srv);
    assert_int_equal(atomic_load(&f->closes), 10);
    assert_int_equal(rx_tcp_server_conn_count(f->srv), 0);
    for (int i = 0; i < 10; i++) {
        assert_true(peer_closed(fds[i]));
        close(fds[i]);
    }
    fixture_stop(f); /* a second shutdown is a no-op */
}

static void tcp_serves_a_given_listening_socket(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fd;
    fixture_t *f;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    f = fixture_start((rx_tcp_server_config_t){.listen_fd = lfd});
    assert_int_equal(f->port, ntohs(sa.sin_port));
    fd = client_connect(f->port);
    echo_roundtrip(fd, "activated");
    close(fd);
    fixture_stop(f);
}

/* What the server reports as the peer of fd (see on_peer), and what it
 * should be: fd's own address. */
static void peer_as_seen_by_server(int fd, char *ret_seen, size_t size, char *ret_want)
{
    char own[RX_ADDR_STRLEN];
    rx_addr_t local;
    int32_t id;
    int n;

    assert_int_equal(rx_addr_of_socket(fd, &local), 0);
    assert_non_null(rx_addr_format(&local, own, sizeof(own)));
    snprintf(ret_want, size, "%s|%s", own, own);
    send_frame(fd, MSG_PEER, NULL, 0);
    n = recv_frame(fd, &id, ret_seen, size - 1);
    assert_true(n > 0);
    assert_int_equal(id, MSG_PEER);
    ret_seen[n] = '\0';
}

/* systemd's ListenStream=7778 hands over a dual-stack IPv6 socket: an IPv4
 * client shows as ::ffff:127.0.0.1 there, and must be reported (logged) as
 * 127.0.0.1, not as 0.0.0.0 nor as ::ffff:127.0.0.1. */
static void tcp_dual_stack_listener_reports_ipv4_peer_as_ipv4(void **state)
{
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0, fd;
    char seen[256], want[256];
    fixture_t *f;

    if (lfd < 0)
        skip(); /* no IPv6 in this kernel */
    assert_int_equal(setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa6, sizeof(sa6)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    f = fixture_start((rx_tcp_server_config_t){.listen_fd = lfd});

    fd = client_connect(f->port);
    peer_as_seen_by_server(fd, seen, sizeof(seen), want);
    assert_string_equal(seen, want);
    assert_int_equal(strncmp(seen, "127.0.0.1:", 10), 0);
    close(fd);

    /* An IPv6 peer, where the host has ::1. */
    fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    lo6.sin6_port = htons((uint16_t)f->port);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&lo6, sizeof(lo6)) == 0) {
        peer_as_seen_by_server(fd, seen, sizeof(seen), want);
        assert_string_equal(seen, want);
        assert_int_equal(strncmp(seen, "[::1]:", 6), 0);
    }
    if (fd >= 0)
        close(fd);
    fixture_stop(f);
}

/* Lowest fd number not in use. */
static int lowest_free_fd(void)
{
    int fd = dup(0), ret = fd;

    close(fd);
    return ret;
}

static void tcp_sheds_connections_when_out_of_fds(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    struct rlimit old, low;
    int status, fd;
    pid_t child;

    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = (rlim_t)lowest_free_fd();
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Three clients in a process of their own; exit status: how many
         * of them the server closed. */
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
        struct timeval tv = {5, 0};
        int closed = 0;
        /* No cmocka assertion in the child: it would unwind into main. */
        setrlimit(RLIMIT_NOFILE, &old);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (int i = 0; i < 3; i++) {
            int c = socket(AF_INET, SOCK_STREAM, 0);
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                _exit(100);
            closed += peer_closed(c);
        }
        _exit(closed);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    /* Before any assertion: a failure here must not leave the tests that
     * follow without fds. */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    /* The server counts a refusal just after closing it, so the client may
     * have seen the close (and exited) before the count. */
    WAIT_FOR(stats_of(f).conns_refused == 3);
    assert_int_equal(stats_of(f).conns_accepted, 0);
    /* With fds back, the server accepts again. */
    fd = client_connect(f->port);
    echo_roundtrip(fd, "fds again");
    close(fd);
    fixture_stop(f);
}

/* ---------------------------------------------------------------- drain -- */

/* Holds a loop inside a task until opened; counts the loops that entered. */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_int entered;
    bool open;
} gate_t;

static void gate_init(gate_t *g, bool open)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    atomic_init(&g->entered, 0);
    g->open = open;
}

static void gate_task(rx_loop_t *loop, void *arg)
{
    gate_t *g = arg;

    pthread_mutex_lock(&g->lock);
    atomic_fetch_add(&g->entered, 1);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(gate_t *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void gate_destroy(gate_t *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

/* Tasks queued on the loop and not yet taken by it. */
static size_t loop_queued(rx_loop_t *loop)
{
    size_t n;

    pthread_mutex_lock(&loop->post_lock);
    n = loop->posted.count;
    pthread_mutex_unlock(&loop->post_lock);
    return n;
}

static void *drain_main(void *arg)
{
    rx_tcp_server_drain(arg);
    return NULL;
}

/* n MSG_COUNT frames of stream `tag`, then `partial` bytes of one more. */
static uint8_t *count_frames(uint8_t tag, unsigned n, size_t partial, size_t *ret_len)
{
    size_t len = (size_t)n * (RX_FRAME_HDR + 5) + partial;
    uint8_t *buf = calloc(1, len + RX_FRAME_HDR + 5), *p = buf;

    assert_non_null(buf);
    for (uint32_t seq = 0; seq <= n; seq++, p += RX_FRAME_HDR + 5) {
        rx_frame_put_header(p, MSG_COUNT, 5);
        p[RX_FRAME_HDR] = tag;
        memcpy(p + RX_FRAME_HDR + 1, &seq, 4);
    }
    *ret_len = len;
    return buf;
}

static bool port_refuses(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool refused;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    refused = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == ECONNREFUSED;
    close(fd);
    return refused;
}

/* Every loop is held while the clients write: connection a is attached but
 * unread, b is still in the listen backlog when the drain begins. */
static void tcp_drain_dispatches_unread_and_backlogged_frames_exactly_once(void **state)
{
    enum { NA = COUNT_MAX, NB = 300 };
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    gate_t accept_gate, worker_gate, marker;
    uint8_t *fa, *fb;
    size_t la, lb;
    pthread_t drainer;
    int a, b;

    gate_init(&accept_gate, false);
    gate_init(&worker_gate, false);
    gate_init(&marker, true);
    a = client_connect(f->port);
    echo_roundtrip(a, "attached");
    assert_int_equal(rx_loop_post(f->accept_loop, gate_task, &accept_gate), 0);
    for (unsigned i = 0; i < rx_pool_size(f->pool); i++)
        assert_int_equal(rx_loop_post(rx_pool_loop(f->pool, i), gate_task, &worker_gate), 0);
    WAIT_FOR(atomic_load(&accept_gate.entered) == 1 &&
             atomic_load(&worker_gate.entered) == (int)rx_pool_size(f->pool));

    fa = count_frames(0, NA, 7, &la); /* and a partial frame at the end */
    fb = count_frames(1, NB, 0, &lb);
    send_all(a, fa, la);
    b = client_connect(f->port);
    send_all(b, fb, lb);

    assert_int_equal(pthread_create(&drainer, NULL, drain_main, f->srv), 0);
    WAIT_FOR(loop_queued(f->accept_loop) == 1);
    gate_open(&accept_gate);
    /* Behind the drain's accept task: once it runs, b was handed over. */
    assert_int_equal(rx_loop_post(f->accept_loop, gate_task, &marker), 0);
    WAIT_FOR(atomic_load(&marker.entered) == 1);
    assert_int_equal(rx_tcp_server_conn_count(f->srv), 2);
    assert_int_equal(stats_of(f).frames_in, 1); /* the echo: nothing read yet */
    assert_true(port_refuses(f->port));
    gate_open(&worker_gate);
    assert_int_equal(pthread_join(drainer, NULL), 0);

    for (unsigned i = 0; i < NA; i++)
        assert_int_equal(atomic_load(&f->counted[0][i]), 1);
    for (unsigned i = 0; i < NB; i++)
        assert_int_equal(atomic_load(&f->counted[1][i]), 1);
    assert_int_equal(atomic_load(&f->counted[1][NB]), 0);
    assert_int_equal(atomic_load(&f->count_bad), 0);
    assert_int_equal(stats_of(f).frames_in, 1 + NA + NB);
    assert_int_equal(stats_of(f).frames_truncated, 1);
    assert_int_equal(stats_of(f).frames_bad, 0);
    assert_int_equal(atomic_load(&f->opens), 2);
    assert_int_equal(atomic_load(&f->closes), 2);
    assert_int_equal(rx_tcp_server_conn_count(f->srv), 0);
    assert_true(peer_closed(a));
    assert_true(peer_closed(b));
    assert_int_equal(
        rx_conn_send_ref(f->srv, (rx_conn_ref_t){rx_pool_loop(f->pool, 0), 1}, MSG_PUSH, "x", 1),
        -ESHUTDOWN);
    close(a);
    close(b);
    free(fa);
    free(fb);
    gate_destroy(&accept_gate);
    gate_destroy(&worker_gate);
    gate_destroy(&marker);
    fixture_stop(f); /* shutdown after a drain is a no-op */
}

/* Replies queued by handlers during a drain are written before the close;
 * connections with nothing to read are simply closed; a second drain and
 * the drain of a server never started return at once. */
static void tcp_drain_writes_replies_then_closes(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){0});
    rx_tcp_server_config_t cfg = {.listen_addr = "127.0.0.1:0",
                                  .accept_loop = f->accept_loop,
                                  .router = f->router,
                                  .listen_fd = -1};
    unsigned nloops = rx_pool_size(f->pool);
    rx_tcp_server_t *unstarted;
    gate_t gate;
    pthread_t drainer;
    int fds[6], err = 0;
    char buf[16];
    int32_t id;

    gate_init(&gate, false);
    for (int i = 0; i < 6; i++) {
        fds[i] = client_connect(f->port);
        echo_roundtrip(fds[i], "hi");
    }
    for (unsigned i = 0; i < nloops; i++)
        assert_int_equal(rx_loop_post(rx_pool_loop(f->pool, i), gate_task, &gate), 0);
    WAIT_FOR(atomic_load(&gate.entered) == (int)nloops);
    send_frame(fds[0], MSG_ECHO, "last", 4);
    assert_int_equal(pthread_create(&drainer, NULL, drain_main, f->srv), 0);
    for (unsigned i = 0; i < nloops; i++)
        WAIT_FOR(loop_queued(rx_pool_loop(f->pool, i)) == 1);
    assert_int_equal(stats_of(f).frames_in, 6);
    gate_open(&gate);
    assert_int_equal(pthread_join(drainer, NULL), 0);

    assert_int_equal(atomic_load(&f->closes), 6);
    assert_int_equal(stats_of(f).frames_in, 7);
    assert_int_equal(stats_of(f).frames_truncated, 0);
    assert_int_equal(recv_frame(fds[0], &id, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "last", 4);
    for (int i = 0; i < 6; i++) {
        assert_true(peer_closed(fds[i]));
        close(fds[i]);
    }
    rx_tcp_server_drain(f->srv);

    unstarted = rx_tcp_server_new(&cfg, &err);
    assert_non_null(unstarted);
    rx_tcp_server_drain(unstarted);
    rx_tcp_server_free(unstarted);
    gate_destroy(&gate);
    fixture_stop(f);
}

/* --------------------------------------------------------- frame size -- */

#define BIG_BODY 4194304u

static uint8_t *big_body(void)
{
    uint8_t *p = malloc(BIG_BODY);

    assert_non_null(p);
    for (size_t i = 0; i < BIG_BODY; i++)
        p[i] = (uint8_t)(i * 131 + (i >> 13));
    return p;
}

static void tcp_4mib_body_passes_and_one_byte_more_is_rejected(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){.max_frame = BIG_BODY});
    uint8_t *body = big_body(), *back = malloc(BIG_BODY);
    int fd = client_connect(f->port), over = client_connect(f->port);
    int32_t id;

    assert_non_null(back);
    send_frame(fd, MSG_ECHO, body, BIG_BODY);
    assert_int_equal(recv_frame(fd, &id, back, BIG_BODY), (int)BIG_BODY);
    assert_int_equal(id, MSG_ECHO);
    assert_memory_equal(back, body, BIG_BODY);
    assert_int_equal(stats_of(f).frames_bad, 0);

    send_raw_header(over, MSG_ECHO, (int32_t)BIG_BODY + 1);
    assert_true(peer_closed(over));
    WAIT_FOR(stats_of(f).frames_bad == 1);
    echo_roundtrip(fd, "still fine");
    close(over);
    close(fd);
    free(back);
    free(body);
    fixture_stop(f);
}

typedef struct big_client {
    const uint8_t *body;
    int echoes;
    bool intact;
} big_client_t;

static void big_on_connect(rx_tcp_client_t *cli, void *arg)
{
    big_client_t *bc = arg;

    rx_tcp_client_send(cli, MSG_ECHO, bc->body, BIG_BODY);
}

static void big_on_echo(const rx_msg_t *msg, void *arg)
{
    big_client_t *bc = arg;

    bc->echoes++;
    bc->intact = msg->len == BIG_BODY && memcmp(msg->body, bc->body, BIG_BODY) == 0;
    rx_loop_stop(msg->loop);
}

static void stop_on_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    rx_loop_stop(loop);
}

/* The client side of the same limit: rx_tcp_client sends and receives a
 * 4194304-byte body with max_frame = 4194304. */
static void tcp_client_and_server_carry_a_4mib_body(void **state)
{
    fixture_t *f = fixture_start((rx_tcp_server_config_t){.max_frame = BIG_BODY});
    big_client_t bc = {.body = big_body()};
    rx_loop_t *loop = rx_loop_new();
    rx_router_t *router = rx_router_new();
    char addr[32];
    const char *servers[] = {addr};
    rx_tcp_client_t *cli;
    rx_timer_t *guard;
    int err = 0;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
    rx_router_add(router, MSG_ECHO, big_on_echo, &bc);
    cli = rx_tcp_client_new(&(rx_tcp_client_config_t){.loop = loop,
                                                      .servers = servers,
                                                      .nservers = 1,
                                                      .router = router,
                                                      .max_frame = BIG_BODY,
                                                      .max_pending = RX_BUF_MAX,
                                                      .on_connect = big_on_connect,
                                                      .arg = &bc},
                            &err);
    assert_non_null(cli);
    assert_int_equal(rx_tcp_client_start(cli), 0);
    guard = rx_timer_add(loop, 30000, 0, stop_on_timer, NULL);
    assert_int_equal(rx_loop_run(loop), 0);
    assert_int_equal(bc.echoes, 1);
    assert_true(bc.intact);
    rx_timer_free(guard);
    rx_tcp_client_free(cli);
    rx_router_free(router);
    rx_loop_free(loop);
    free((void *)bc.body);
    fixture_stop(f);
}

/* -------------------------------------------------------------- start -- */

typedef struct io_task {
    int fd;
    bool add;
    atomic_int done;
} io_task_t;

static void quiet_cb(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
}

static void io_task(rx_loop_t *loop, void *arg)
{
    io_task_t *t = arg;

    if (t->add)
        rx_io_add(loop, t->fd, 0, quiet_cb, NULL);
    else
        rx_io_del(loop, t->fd);
    atomic_store(&t->done, 1);
}

/* The listening fd is already taken on the accept loop (-EEXIST) when the
 * start task runs: the server keeps trying and serves once it is free. */
static void tcp_start_retries_registering_the_listening_fd(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fd;
    io_task_t add = {.add = true}, del = {.add = false};
    struct pollfd pfd;
    fixture_t *f;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 16), 0);
    f = fixture_new((rx_tcp_server_config_t){.listen_fd = lfd});
    add.fd = del.fd = lfd;
    assert_int_equal(rx_loop_post(f->accept_loop, io_task, &add), 0);
    WAIT_FOR(atomic_load(&add.done));
    assert_int_equal(rx_tcp_server_start(f->srv), 0);
    assert_int_equal(rx_tcp_server_start(f->srv), -EALREADY);

    fd = client_connect(f->port);
    send_frame(fd, MSG_ECHO, "wait", 4);
    pfd = (struct pollfd){.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 300), 0); /* nobody accepts */
    assert_int_equal(stats_of(f).conns_accepted, 0);
    assert_int_equal(rx_loop_post(f->accept_loop, io_task, &del), 0);
    {
        char buf[8];
        int32_t id;
        assert_int_equal(recv_frame(fd, &id, buf, sizeof(buf)), 4);
        assert_memory_equal(buf, "wait", 4);
    }
    close(fd);
    fixture_stop(f);
}

static void tcp_new_rejects_max_frame_over_limit_and_a_socket_not_listening(void **state)
{
    rx_loop_t *loop = rx_loop_new();
    rx_router_t *router = rx_router_new();
    rx_tcp_server_config_t cfg = {
        .listen_fd = -1, .listen_addr = "127.0.0.1:0", .accept_loop = loop, .router = router};
    const char *servers[] = {"127.0.0.1:1"};
    rx_tcp_client_config_t ccfg = {
        .loop = loop, .servers = servers, .nservers = 1, .router = router};
    struct sockaddr_in sa = {.sin_family = AF_INET};
    rx_tcp_server_t *srv;
    int err = 0, fd;

    cfg.max_frame = RX_FRAME_MAX + 1;
    assert_null(rx_tcp_server_new(&cfg, &err));
    assert_int_equal(err, -EINVAL);
    ccfg.max_frame = RX_FRAME_MAX + 1;
    assert_null(rx_tcp_client_new(&ccfg, &err));
    assert_int_equal(err, -EINVAL);
    cfg.max_frame = RX_FRAME_MAX;
    srv = rx_tcp_server_new(&cfg, &err);
    assert_non_null(srv);
    rx_tcp_server_free(srv);

    /* Bound but not listening: refused, and the fd is closed. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cfg.listen_fd = fd;
    err = 0;
    assert_null(rx_tcp_server_new(&cfg, &err));
    assert_int_equal(err, -EINVAL);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
    rx_router_free(router);
    rx_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp_echoes_many_clients_with_varied_and_dribbled_frames),
        cmocka_unit_test(tcp_refuses_connection_over_max_conns),
        cmocka_unit_test(tcp_closes_idle_connection_keeps_active_one),
        cmocka_unit_test(tcp_bad_length_closes_only_that_connection),
        cmocka_unit_test(tcp_unknown_msgid_counted_connection_stays),
        cmocka_unit_test(tcp_zero_length_and_back_to_back_frames),
        cmocka_unit_test(tcp_send_ref_from_other_thread_reaches_client),
        cmocka_unit_test(tcp_send_ref_to_closed_connection_dropped_and_counted),
        cmocka_unit_test(tcp_slow_reader_over_max_output_closed_and_counted),
        cmocka_unit_test(tcp_close_inside_handler_is_safe),
        cmocka_unit_test(tcp_shutdown_closes_every_connection),
        cmocka_unit_test(tcp_serves_a_given_listening_socket),
        cmocka_unit_test(tcp_dual_stack_listener_reports_ipv4_peer_as_ipv4),
        cmocka_unit_test(tcp_sheds_connections_when_out_of_fds),
        cmocka_unit_test(tcp_drain_dispatches_unread_and_backlogged_frames_exactly_once),
        cmocka_unit_test(tcp_drain_writes_replies_then_closes),
        cmocka_unit_test(tcp_4mib_body_passes_and_one_byte_more_is_rejected),
        cmocka_unit_test(tcp_client_and_server_carry_a_4mib_body),
        cmocka_unit_test(tcp_new_rejects_max_frame_over_limit_and_a_socket_not_listening),
        cmocka_unit_test(tcp_start_retries_registering_the_listening_fd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
