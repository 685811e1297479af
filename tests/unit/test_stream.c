/*
 * Tests of libreactor/stream.c on one thread, over a socketpair: the test
 * plays the peer on one end, the stream has the other. Frames split
 * anywhere, replies flushed once per handler, close inside a handler,
 * output bounds (a slow reader closed, or refused with keep_output),
 * output kept across fds, bad frames, drain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

#define MSG_ECHO  1
#define MSG_CLOSE 2 /* the handler closes the stream, then reads the body */
#define MAX_FRAME 1024

typedef struct fixture {
    rx_loop_t *loop;
    rx_router_t *router;
    rx_stats_t stats;
    rx_stream_config_t cfg;
    rx_stream_t s;
    int peer; /* the test's end */
    int echoes;
    int closes;
    int releases;
    bool released_in_handler;
    size_t stop_after; /* echoes */
} fixture_t;

static void on_echo(const rx_msg_t *msg, void *arg)
{
    fixture_t *f = arg;

    assert_int_equal(rx_stream_send(&f->s, msg->msgid, msg->body, msg->len), 0);
    if (++f->echoes == (int)f->stop_after)
        rx_loop_stop(f->loop);
}

static void on_close_request(const rx_msg_t *msg, void *arg)
{
    fixture_t *f = arg;
    char copy[16];

    rx_stream_close(&f->s);
    assert_false(rx_stream_is_open(&f->s));
    assert_int_equal(rx_stream_send(&f->s, MSG_ECHO, "late", 4), -ENOTCONN);
    /* Held: the message is still there. */
    memcpy(copy, msg->body, msg->len < sizeof(copy) ? msg->len : sizeof(copy));
    f->released_in_handler = f->releases > 0;
    rx_loop_stop(f->loop);
}

static void stream_closed(rx_stream_t *s, void *arg)
{
    ((fixture_t *)arg)->closes++;
}

static void stream_released(rx_stream_t *s, void *arg)
{
    ((fixture_t *)arg)->releases++;
}

static fixture_t *fixture_new(bool keep_output, size_t max_output)
{
    fixture_t *f = calloc(1, sizeof(*f));
    int sv[2];

    assert_non_null(f);
    f->loop = rx_loop_new();
    f->router = rx_router_new();
    rx_router_add(f->router, MSG_ECHO, on_echo, f);
    rx_router_add(f->router, MSG_CLOSE, on_close_request, f);
    f->cfg = (rx_stream_config_t){
        .router = f->router,
        .stats = &f->stats,
        .max_frame = MAX_FRAME,
        .max_output = max_output,
        .keep_output = keep_output,
        .on_close = stream_closed,
        .on_release = stream_released,
    };
    rx_stream_init(&f->s, f->loop, &f->cfg, f);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    f->peer = sv[0];
    assert_int_equal(rx_stream_attach(&f->s, sv[1]), 0);
    return f;
}

static void fixture_free(fixture_t *f)
{
    rx_stream_destroy(&f->s);
    close(f->peer);
    rx_router_free(f->router);
    rx_loop_free(f->loop);
    free(f);
}

static void stop_cb(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    *(bool *)arg = true;
    rx_loop_stop(loop);
}

/* Runs the loop until a handler stops it (or 5 s pass: a failure). */
static void run(fixture_t *f)
{
    bool timed_out = false;
    rx_timer_t *guard = rx_timer_add(f->loop, 5000, 0, stop_cb, &timed_out);

    assert_int_equal(rx_loop_run(f->loop), 0);
    assert_false(timed_out);
    rx_timer_free(guard);
}

static size_t put_frame(uint8_t *p, int32_t msgid, const char *body)
{
    size_t len = strlen(body);

    rx_frame_put_header(p, msgid, (uint32_t)len);
    memcpy(p + RX_FRAME_HDR, body, len);
    return RX_FRAME_HDR + len;
}

/* Reads what the peer end holds (the stream writes without waiting). */
static size_t peer_read(fixture_t *f, uint8_t *buf, size_t cap)
{
    ssize_t n = recv(f->peer, buf, cap, MSG_DONTWAIT);

    return n > 0 ? (size_t)n : 0;
}

static void stream_echoes_frames_split_anywhere(void **state)
{
    fixture_t *f = fixture_new(false, 1 << 16);
    uint8_t in[256], out[256];
    size_t n = 0;

    n += put_frame(in + n, MSG_ECHO, "one");
    n += put_frame(in + n, MSG_ECHO, "");
    n += put_frame(in + n, MSG_ECHO, "three");
    assert_int_equal(rx_stream_watch(&f->s), 0);
    for (size_t i = 0; i < n; i++) /* one byte per read */
        assert_int_equal(send(f->peer, in + i, 1, 0), 1);
    f->stop_after = 3;
    run(f);
    assert_int_equal(peer_read(f, out, sizeof(out)), n);
    assert_memory_equal(out, in, n);
    assert_int_equal(atomic_load(&f->stats.frames_in), 3);
    assert_int_equal(atomic_load(&f->stats.frames_out), 3);
    assert_true(rx_stream_is_open(&f->s));
    fixture_free(f);
}

static void stream_closed_in_handler_is_released_after_it(void **state)
{
    fixture_t *f = fixture_new(false, 1 << 16);
    uint8_t in[64];
    size_t n = put_frame(in, MSG_CLOSE, "bye");

    assert_int_equal(rx_stream_watch(&f->s), 0);
    n += put_frame(in + n, MSG_ECHO, "never");
    assert_int_equal(send(f->peer, in, n, 0), (ssize_t)n);
    run(f);
    assert_false(f->released_in_handler);
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->releases, 1);
    assert_int_equal(f->echoes, 0); /* nothing dispatched after the close */
    assert_int_equal(atomic_load(&f->stats.sends_refused), 1);
    /* Closing again does nothing. */
    rx_stream_close(&f->s);
    assert_int_equal(f->closes, 1);
    fixture_free(f);
}

static void stream_bad_frame_closes_and_counts(void **state)
{
    fixture_t *f = fixture_new(false, 1 << 16);
    uint8_t hdr[RX_FRAME_HDR];
    bool timed_out = false;
    rx_timer_t *t;

    rx_frame_put_header(hdr, MSG_ECHO, MAX_FRAME + 1);
    assert_int_equal(rx_stream_watch(&f->s), 0);
    assert_int_equal(send(f->peer, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
    t = rx_timer_add(f->loop, 100, 0, stop_cb, &timed_out);
    assert_int_equal(rx_loop_run(f->loop), 0);
    rx_timer_free(t);
    assert_int_equal(atomic_load(&f->stats.frames_bad), 1);
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->releases, 1);
    assert_false(rx_stream_is_open(&f->s));
    fixture_free(f);
}

static void stream_over_max_output_closes_a_slow_reader(void **state)
{
    fixture_t *f = fixture_new(false, 64);
    char body[40] = {0};

    assert_int_equal(rx_stream_watch(&f->s), 0);
    rx_stream_hold(&f->s); /* as inside a handler: nothing written yet */
    assert_int_equal(rx_stream_send(&f->s, MSG_ECHO, body, sizeof(body)), 0);
    assert_int_equal(rx_stream_send(&f->s, MSG_ECHO, body, sizeof(body)), -ENOBUFS);
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->releases, 0);
    rx_stream_unhold(&f->s);
    assert_int_equal(f->releases, 1);
    assert_int_equal(atomic_load(&f->stats.conns_slow_closed), 1);
    assert_int_equal(atomic_load(&f->stats.sends_refused), 1);
    fixture_free(f);
}

static void stream_keep_output_queues_without_fd_and_refuses_over_bound(void **state)
{
    fixture_t *f = fixture_new(true, 64);
    char body[40] = {0};
    uint8_t out[256];
    int fd = dup(f->s.fd);

    /* Lose the fd: what was queued stays for the next one. */
    rx_stream_close(&f->s);
    assert_int_equal(f->closes, 1);
    assert_int_equal(rx_stream_send(&f->s, MSG_ECHO, body, sizeof(body)), 0);
    assert_int_equal(rx_stream_send(&f->s, MSG_ECHO, body, sizeof(body)), -ENOBUFS);
    assert_int_equal(atomic_load(&f->stats.conns_slow_closed), 0);
    assert_int_equal(rx_stream_attach(&f->s, fd), 0);
    assert_int_equal(rx_stream_watch(&f->s), 0);
    /* EPOLLOUT writes it on the next pass. */
    {
        bool t = false;
        rx_timer_t *stop = rx_timer_add(f->loop, 50, 0, stop_cb, &t);
        assert_int_equal(rx_loop_run(f->loop), 0);
        rx_timer_free(stop);
    }
    assert_int_equal(peer_read(f, out, sizeof(out)), RX_FRAME_HDR + sizeof(body));
    fixture_free(f);
}

static void stream_drain_dispatches_what_is_left_then_closes(void **state)
{
    fixture_t *f = fixture_new(false, 1 << 16);
    uint8_t in[256], out[256];
    size_t n = 0, whole;

    n += put_frame(in + n, MSG_ECHO, "a");
    n += put_frame(in + n, MSG_ECHO, "bb");
    whole = n;
    n += put_frame(in + n, MSG_ECHO, "partial") - 3;
    assert_int_equal(rx_stream_watch(&f->s), 0);
    assert_int_equal(send(f->peer, in, n, 0), (ssize_t)n);
    rx_stream_drain(&f->s, 1 << 20);
    assert_int_equal(f->echoes, 2);
    assert_int_equal(atomic_load(&f->stats.frames_truncated), 1);
    assert_int_equal(f->closes, 1);
    assert_int_equal(f->releases, 1);
    assert_int_equal(peer_read(f, out, sizeof(out)), whole);
    assert_memory_equal(out, in, whole);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_echoes_frames_split_anywhere),
        cmocka_unit_test(stream_closed_in_handler_is_released_after_it),
        cmocka_unit_test(stream_bad_frame_closes_and_counts),
        cmocka_unit_test(stream_over_max_output_closes_a_slow_reader),
        cmocka_unit_test(stream_keep_output_queues_without_fd_and_refuses_over_bound),
        cmocka_unit_test(stream_drain_dispatches_what_is_left_then_closes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
