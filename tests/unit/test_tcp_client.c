/*
 * Tests for libreactor/tcp_client.c over real sockets on 127.0.0.1. The
 * client runs on a loop thread (the test thread hands it work through
 * rx_loop_post); the peers are rx_tcp_servers on another loop thread, or
 * plain sockets where the test needs to misbehave on purpose.
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

#define MSG_ECHO 1
#define MSG_BAD  9 /* the server answers with a frame of negative length */
#define WAIT_MS  10000

typedef struct loop_thread {
    rx_loop_t *loop;
    pthread_t thread;
} loop_thread_t;

typedef struct fixture {
    loop_thread_t server_lt;
    loop_thread_t client_lt;
    rx_router_t *server_router;
    rx_router_t *client_router;
    rx_tcp_server_t *srv;
    rx_tcp_client_t *cli;
    atomic_int connects;
    atomic_int closes;
    atomic_int echoes;
    atomic_int echo_errors;
    atomic_uint next_seq; /* the seq the next echo must carry */
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

/* ---------------------------------------------------------- loop helpers -- */

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
    void (*fn)(fixture_t *f, void *arg);
    fixture_t *f;
    void *arg;
    sem_t done;
} call_t;

static void call_task(rx_loop_t *loop, void *arg)
{
    call_t *c = arg;

    c->fn(c->f, c->arg);
    sem_post(&c->done);
}

/* Runs fn on the client's loop and waits for it. */
static void on_client_loop(fixture_t *f, void (*fn)(fixture_t *, void *), void *arg)
{
    call_t c = {.fn = fn, .f = f, .arg = arg};

    sem_init(&c.done, 0, 0);
    assert_int_equal(rx_loop_post(f->client_lt.loop, call_task, &c), 0);
    while (sem_wait(&c.done) < 0 && errno == EINTR)
        ;
    sem_destroy(&c.done);
}

/* -------------------------------------------------------------- server -- */

static void server_echo(const rx_msg_t *msg, void *arg)
{
    rx_conn_send(msg->from.conn, msg->msgid, msg->body, msg->len);
}

static void server_bad(const rx_msg_t *msg, void *arg)
{
    uint8_t *p = rx_conn_frame_begin(msg->from.conn, MSG_ECHO, 0, NULL);

    /* Overwrite the length with -1. */
    if (p)
        memset(p - 4, 0xff, 4);
    rx_conn_frame_commit(msg->from.conn);
}

static void server_start(fixture_t *f, const char *addr)
{
    int err = 0;
    rx_tcp_server_config_t cfg = {
        .listen_fd = -1,
        .listen_addr = addr,
        .accept_loop = f->server_lt.loop,
        .router = f->server_router,
    };

    f->srv = rx_tcp_server_new(&cfg, &err);
    assert_int_equal(err, 0);
    assert_int_equal(rx_tcp_server_start(f->srv), 0);
}

static void server_stop(fixture_t *f)
{
    rx_tcp_server_shutdown(f->srv);
    rx_tcp_server_free(f->srv);
    f->srv = NULL;
}

/* -------------------------------------------------------------- client -- */

static void client_on_echo(const rx_msg_t *msg, void *arg)
{
    fixture_t *f = arg;
    uint32_t seq;

    if (msg->len < 4) {
        atomic_fetch_add(&f->echo_errors, 1);
        return;
    }
    memcpy(&seq, msg->body, 4);
    if (seq != atomic_load(&f->next_seq))
        atomic_fetch_add(&f->echo_errors, 1);
    for (uint32_t i = 4; i < msg->len; i++)
        if (msg->body[i] != (uint8_t)(seq + i))
            atomic_fetch_add(&f->echo_errors, 1);
    atomic_store(&f->next_seq, seq + 1);
    atomic_fetch_add(&f->echoes, 1);
}

static void client_on_connect(rx_tcp_client_t *cli, void *arg)
{
    fixture_t *f = arg;

    atomic_fetch_add(&f->connects, 1);
}

static void client_on_close(rx_tcp_client_t *cli, void *arg)
{
    fixture_t *f = arg;

    atomic_fetch_add(&f->closes, 1);
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
    rx_router_add(f->server_router, MSG_BAD, server_bad, f);
    rx_router_add(f->client_router, MSG_ECHO, client_on_echo, f);
    return f;
}

static void client_new_task(fixture_t *f, void *arg)
{
    rx_tcp_client_config_t *cfg = arg;
    int err = 0;

    cfg->loop = f->client_lt.loop;
    cfg->router = f->client_router;
    cfg->on_connect = client_on_connect;
    cfg->on_close = client_on_close;
    cfg->arg = f;
    f->cli = rx_tcp_client_new(cfg, &err);
    if (f->cli)
        rx_tcp_client_start(f->cli);
}

static void client_start(fixture_t *f, rx_tcp_client_config_t cfg)
{
    on_client_loop(f, client_new_task, &cfg);
    assert_non_null(f->cli);
}

static void client_free_task(fixture_t *f, void *arg)
{
    rx_tcp_client_free(f->cli);
    f->cli = NULL;
}

static void fixture_free(fixture_t *f)
{
    on_client_loop(f, client_free_task, NULL);
    if (f->srv)
        server_stop(f);
    loop_thread_stop(&f->client_lt);
    loop_thread_stop(&f->server_lt);
    rx_router_free(f->server_router);
    rx_router_free(f->client_router);
    free(f);
}

typedef struct send_args {
    uint32_t first_seq;
    unsigned count;
    uint32_t len;
    int ok;
    int last_err;
} send_args_t;

/* On the client loop: frames first_seq.. with a checkable body. */
static void send_task(fixture_t *f, void *arg)
{
    send_args_t *a = arg;
    uint8_t body[4096];

    a->ok = 0;
    a->last_err = 0;
    for (unsigned i = 0; i < a->count; i++) {
        uint32_t seq = a->first_seq + i, len = a->len ? a->len : 4 + (seq * 37) % 3000;
        memcpy(body, &seq, 4);
        for (uint32_t k = 4; k < len; k++)
            body[k] = (uint8_t)(seq + k);
        a->last_err = rx_tcp_client_send(f->cli, MSG_ECHO, body, len);
        if (a->last_err < 0)
            return;
        a->ok++;
    }
}

static void send_frames(fixture_t *f, uint32_t first_seq, unsigned count)
{
    send_args_t a = {.first_seq = first_seq, .count = count};

    on_client_loop(f, send_task, &a);
    assert_int_equal(a.ok, (int)count);
}

static rx_stats_snapshot_t client_stats(const fixture_t *f)
{
    rx_stats_snapshot_t s;

    rx_stats_read(rx_tcp_client_stats(f->cli), &s);
    return s;
}

/* A port where nothing listens: bound (so nobody else takes it), not listening. */
static int dead_port(int *ret_fd)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(fd, (struct sockaddr *)&sa, &slen);
    *ret_fd = fd;
    return ntohs(sa.sin_port);
}

static void addr_of(char *buf, size_t size, int port)
{
    snprintf(buf, size, "127.0.0.1:%d", port);
}

/* --------------------------------------------------------------- tests -- */

static void client_connects_and_exchanges_frames(void **state)
{
    fixture_t *f = fixture_new();
    char addr[32];
    const char *servers[] = {addr};

    server_start(f, "127.0.0.1:0");
    addr_of(addr, sizeof(addr), rx_tcp_server_port(f->srv));
    client_start(f, (rx_tcp_client_config_t){.servers = servers, .nservers = 1});
    WAIT_FOR(atomic_load(&f->connects) == 1);
    send_frames(f, 0, 300);
    WAIT_FOR(atomic_load(&f->echoes) == 300);
    assert_int_equal(atomic_load(&f->echo_errors), 0);
    assert_int_equal(client_stats(f).frames_in, 300);
    assert_int_equal(client_stats(f).frames_out, 300);
    assert_int_equal(client_stats(f).connects, 1);
    assert_int_equal(rx_tcp_client_server_index(f->cli), 0);
    fixture_free(f);
}

static void client_reconnects_after_server_restart_and_delivers_queued(void **state)
{
    fixture_t *f = fixture_new();
    char addr[32];
    const char *servers[] = {addr};
    int port;

    server_start(f, "127.0.0.1:0");
    port = rx_tcp_server_port(f->srv);
    addr_of(addr, sizeof(addr), port);
    client_start(f, (rx_tcp_client_config_t){
                        .servers = servers,
                        .nservers = 1,
                        .backoff_min_ms = 20,
                        .backoff_max_ms = 200,
                    });
    WAIT_FOR(atomic_load(&f->connects) == 1);
    send_frames(f, 0, 10);
    WAIT_FOR(atomic_load(&f->echoes) == 10);

    server_stop(f);
    WAIT_FOR(atomic_load(&f->closes) == 1);
    assert_false(rx_tcp_client_connected(f->cli));
    /* Queued while down, delivered after the reconnect. */
    send_frames(f, 10, 25);
    sleep_ms(300); /* a few failed attempts */
    assert_true(client_stats(f).connect_failures >= 1);

    server_start(f, addr);
    WAIT_FOR(atomic_load(&f->connects) == 2);
    WAIT_FOR(atomic_load(&f->echoes) == 35);
    assert_int_equal(atomic_load(&f->echo_errors), 0);
    send_frames(f, 35, 5);
    WAIT_FOR(atomic_load(&f->echoes) == 40);
    fixture_free(f);
}

static void max_pending_task(fixture_t *f, void *arg)
{
    send_args_t *a = arg;
    int err = 0;

    send_task(f, a);
    assert_null(rx_tcp_client_frame_begin(f->cli, MSG_ECHO, 100, &err));
    a->last_err = err;
}

static void client_refuses_frames_past_max_pending(void **state)
{
    fixture_t *f = fixture_new();
    char addr[32];
    const char *servers[] = {addr};
    int hold, port = dead_port(&hold);
    send_args_t a = {.count = 20, .len = 100};

    addr_of(addr, sizeof(addr), port);
    client_start(f,
                 (rx_tcp_client_config_t){.servers = servers, .nservers = 1, .max_pending = 1000});
    /* 108-byte frames: 9 fit in 1000 bytes, the 10th does not. */
    on_client_loop(f, send_task, &a);
    assert_int_equal(a.ok, 9);
    assert_int_equal(a.last_err, -ENOBUFS);
    on_client_loop(f, max_pending_task, &(send_args_t){.count = 0});
    assert_int_equal(client_stats(f).sends_refused, 2);
    assert_false(rx_tcp_client_connected(f->cli));
    fixture_free(f);
    close(hold);
}

static void client_tries_next_server_when_first_is_down(void **state)
{
    fixture_t *f = fixture_new();
    char dead[32], live[32];
    const char *servers[] = {dead, live};
    int hold;

    addr_of(dead, sizeof(dead), dead_port(&hold));
    server_start(f, "127.0.0.1:0");
    addr_of(live, sizeof(live), rx_tcp_server_port(f->srv));
    client_start(f, (rx_tcp_client_config_t){.servers = servers, .nservers = 2});
    WAIT_FOR(atomic_load(&f->connects) == 1);
    assert_int_equal(rx_tcp_client_server_index(f->cli), 1);
    assert_true(client_stats(f).connect_failures >= 1);
    send_frames(f, 0, 3);
    WAIT_FOR(atomic_load(&f->echoes) == 3);
    fixture_free(f);
    close(hold);
}

static void bad_task(fixture_t *f, void *arg)
{
    rx_tcp_client_send(f->cli, MSG_BAD, NULL, 0);
}

static void client_closes_on_bad_frame_and_reconnects(void **state)
{
    fixture_t *f = fixture_new();
    char addr[32];
    const char *servers[] = {addr};

    server_start(f, "127.0.0.1:0");
    addr_of(addr, sizeof(addr), rx_tcp_server_port(f->srv));
    client_start(f,
                 (rx_tcp_client_config_t){.servers = servers, .nservers = 1, .backoff_min_ms = 20});
    WAIT_FOR(atomic_load(&f->connects) == 1);
    on_client_loop(f, bad_task, NULL);
    WAIT_FOR(client_stats(f).frames_bad == 1);
    WAIT_FOR(atomic_load(&f->connects) == 2);
    assert_int_equal(atomic_load(&f->closes), 1);
    send_frames(f, 0, 3);
    WAIT_FOR(atomic_load(&f->echoes) == 3);
    fixture_free(f);
}

static void client_times_out_a_connect_that_hangs(void **state)
{
    fixture_t *f = fixture_new();
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    char addr[32];
    const char *servers[] = {addr};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fill[4];

    /* A listener whose accept queue is full drops further SYNs. */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 0), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    sleep_ms(50);
    addr_of(addr, sizeof(addr), ntohs(sa.sin_port));
    client_start(
        f, (rx_tcp_client_config_t){.servers = servers, .nservers = 1, .connect_timeout_ms = 100});
    WAIT_FOR(client_stats(f).connect_failures >= 2);
    assert_int_equal(atomic_load(&f->connects), 0);
    fixture_free(f);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

/* ---------------------------------------------- partial frame on a loss -- */

#define PF_LEN    1000
#define PF_FRAMES 8000

static int raw_accept(int lfd)
{
    struct timeval tv = {WAIT_MS / 1000, 0};
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void client_drops_partial_frame_of_lost_connection_keeps_the_rest(void **state)
{
    fixture_t *f = fixture_new();
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    char addr[32];
    const char *servers[] = {addr};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rcvbuf = 4096, a, b;
    struct linger lg = {1, 0};
    send_args_t sa1 = {.first_seq = 0, .count = PF_FRAMES, .len = PF_LEN};
    uint8_t frame[RX_FRAME_HDR + PF_LEN];
    uint32_t seq, prev = 0, last;
    bool first = true;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    addr_of(addr, sizeof(addr), ntohs(sa.sin_port));
    client_start(
        f, (rx_tcp_client_config_t){
               .servers = servers, .nservers = 1, .max_pending = RX_BUF_MAX, .backoff_min_ms = 20});
    a = raw_accept(lfd);
    WAIT_FOR(atomic_load(&f->connects) == 1);
    /* Up to 8 MB into a peer that does not read: the kernel takes a part
     * (cut anywhere inside a frame), the client keeps the rest up to
     * max_pending and refuses the remainder. */
    on_client_loop(f, send_task, &sa1);
    assert_true(sa1.ok > 1000);
    assert_true(sa1.ok == PF_FRAMES || sa1.last_err == -ENOBUFS);
    last = (uint32_t)sa1.ok - 1;
    sleep_ms(200);
    setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(a); /* reset: what the kernel held is lost */
    WAIT_FOR(atomic_load(&f->closes) == 1);

    b = raw_accept(lfd);
    /* The new stream starts at a frame boundary and every frame is whole. */
    do {
        assert_true(read_full(b, frame, sizeof(frame)));
        assert_int_equal(frame[0], MSG_ECHO);
        assert_int_equal(frame[4] | frame[5] << 8, PF_LEN);
        memcpy(&seq, frame + RX_FRAME_HDR, 4);
        assert_true(first || seq == prev + 1);
        for (uint32_t k = 4; k < PF_LEN; k++)
            assert_int_equal(frame[RX_FRAME_HDR + k], (uint8_t)(seq + k));
        first = false;
        prev = seq;
    } while (seq != last);
    close(b);
    fixture_free(f);
    close(lfd);
}

/* A peer that accepts and closes at once (a server at its max_conns): the
 * connections never prove alive, so the backoff keeps growing instead of
 * restarting at backoff_min_ms after every connect. */
typedef struct closer {
    int lfd;
    atomic_bool stop;
    atomic_int accepted;
    pthread_t thread;
} closer_t;

static void *closer_main(void *arg)
{
    closer_t *c = arg;

    while (!atomic_load(&c->stop)) {
        int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            atomic_fetch_add(&c->accepted, 1);
            close(fd);
        } else {
            sleep_ms(2);
        }
    }
    return NULL;
}

static void client_backs_off_from_a_server_that_accepts_and_closes(void **state)
{
    fixture_t *f = fixture_new();
    closer_t c = {0};
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    char addr[32];
    const char *servers[] = {addr};
    int accepted;

    c.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(c.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(c.lfd, 16), 0);
    getsockname(c.lfd, (struct sockaddr *)&sa, &slen);
    assert_int_equal(pthread_create(&c.thread, NULL, closer_main, &c), 0);
    addr_of(addr, sizeof(addr), ntohs(sa.sin_port));
    client_start(f, (rx_tcp_client_config_t){.servers = servers, .nservers = 1});
    sleep_ms(3000);
    accepted = atomic_load(&c.accepted);
    /* 100, 200, 400, 800, 1600 ms (+-20%): about 6 in 3 s; ~30 when every
     * connect reset the backoff. */
    assert_true(accepted >= 2);
    assert_true(accepted <= 8);
    fixture_free(f);
    atomic_store(&c.stop, true);
    pthread_join(c.thread, NULL);
    close(c.lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(client_connects_and_exchanges_frames),
        cmocka_unit_test(client_reconnects_after_server_restart_and_delivers_queued),
        cmocka_unit_test(client_refuses_frames_past_max_pending),
        cmocka_unit_test(client_tries_next_server_when_first_is_down),
        cmocka_unit_test(client_closes_on_bad_frame_and_reconnects),
        cmocka_unit_test(client_times_out_a_connect_that_hangs),
        cmocka_unit_test(client_backs_off_from_a_server_that_accepts_and_closes),
        cmocka_unit_test(client_drops_partial_frame_of_lost_connection_keeps_the_rest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
