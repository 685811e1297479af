/*
 * Tests of libreactor/buf.c: append/consume/compaction, growth through the
 * size classes (up to the 8 MiB top class), the RX_BUF_MAX limit, storage
 * reuse through the per-thread pool, and fd I/O with a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

static void fill_pattern(uint8_t *p, size_t n, size_t start)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((start + i) * 31 + 7);
}

static void check_pattern(const uint8_t *p, size_t n, size_t start)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (uint8_t)((start + i) * 31 + 7))
            fail_msg("byte %zu differs", start + i);
    }
}

static void buf_append_consume_and_rewind(void **state)
{
    rx_buf_t b = {0};

    assert_int_equal(rx_buf_len(&b), 0);
    assert_int_equal(rx_buf_append(&b, "hello world", 11), 0);
    assert_int_equal(rx_buf_len(&b), 11);
    assert_int_equal(b.cap, 4096);
    rx_buf_consume(&b, 6);
    assert_int_equal(rx_buf_len(&b), 5);
    assert_memory_equal(rx_buf_peek(&b), "world", 5);
    rx_buf_consume(&b, 5);
    assert_int_equal(b.head, 0);
    assert_int_equal(b.tail, 0);
    rx_buf_consume(&b, 100); /* more than there is: empties */
    assert_int_equal(rx_buf_len(&b), 0);
    rx_buf_release(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

static void buf_reserve_compacts_before_growing(void **state)
{
    uint8_t chunk[4000];
    rx_buf_t b = {0};
    uint8_t *data, *w;
    int err = 0;

    fill_pattern(chunk, sizeof(chunk), 0);
    assert_int_equal(rx_buf_append(&b, chunk, 4000), 0);
    data = b.data;
    rx_buf_consume(&b, 3000);
    w = rx_buf_reserve(&b, 2000, &err);
    assert_non_null(w);
    assert_ptr_equal(b.data, data); /* same storage, moved to the front */
    assert_int_equal(b.cap, 4096);
    assert_int_equal(b.head, 0);
    assert_ptr_equal(w, data + 1000);
    check_pattern(rx_buf_peek(&b), 1000, 3000);
    rx_buf_commit(&b, 2000);
    assert_int_equal(rx_buf_len(&b), 3000);
    rx_buf_release(&b);
}

static void buf_grows_across_classes_keeping_data(void **state)
{
    static const size_t caps[] = {4096, 16384, 65536, 262144, 1048576, 4194304, 8388608};
    uint8_t *chunk = malloc(65536);
    rx_buf_t b = {0};
    size_t len = 0, seen = 0;

    fill_pattern(chunk, 65536, 0);
    while (len < RX_BUF_MAX) {
        size_t n = len < 8192 ? 1000 : 65536;
        if (n > RX_BUF_MAX - len)
            n = RX_BUF_MAX - len;
        fill_pattern(chunk, n, len);
        assert_int_equal(rx_buf_append(&b, chunk, n), 0);
        len += n;
        while (seen < 7 && b.cap >= caps[seen])
            seen++;
        assert_true(b.cap >= len);
    }
    assert_int_equal(seen, 7);
    assert_int_equal(b.cap, RX_BUF_MAX);
    assert_int_equal(rx_buf_len(&b), RX_BUF_MAX);
    check_pattern(rx_buf_peek(&b), RX_BUF_MAX, 0);
    rx_buf_release(&b);
    free(chunk);
}

static void buf_past_max_is_enobufs(void **state)
{
    rx_buf_t b = {0};
    int err = 0;

    assert_null(rx_buf_reserve(&b, RX_BUF_MAX + 1, &err));
    assert_int_equal(err, -ENOBUFS);
    assert_non_null(rx_buf_reserve(&b, RX_BUF_MAX, &err));
    rx_buf_commit(&b, RX_BUF_MAX - 10);
    assert_int_equal(rx_buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(rx_buf_append(&b, "x", 1), -ENOBUFS);
    assert_int_equal(rx_buf_len(&b), RX_BUF_MAX);
    /* Consumed room counts again. */
    rx_buf_consume(&b, 1);
    assert_int_equal(rx_buf_append(&b, "x", 1), 0);
    assert_int_equal(rx_buf_peek(&b)[RX_BUF_MAX - 1], 'x');
    assert_null(rx_buf_reserve(&b, 1, NULL));
    rx_buf_release(&b);
}

/* The 4 MiB limit of docs/protocol.md (Body limits) is a body: its frame
 * needs the header on top. */
static void buf_holds_a_frame_of_a_4mib_body(void **state)
{
    size_t frame = RX_FRAME_HDR + ((size_t)4 << 20);
    rx_buf_t b = {0};
    int err = 0;

    assert_true(RX_FRAME_MAX >= (4u << 20));
    assert_non_null(rx_buf_reserve(&b, frame, &err));
    rx_buf_commit(&b, frame);
    assert_int_equal(rx_buf_len(&b), frame);
    assert_int_equal(b.cap, RX_BUF_MAX);
    rx_buf_release(&b);
}

static void buf_release_returns_storage_for_reuse(void **state)
{
    rx_buf_t a = {0}, b = {0};
    uint8_t big[20000] = {0};
    uint8_t *small_p, *big_p;

    rx_buf_pool_trim();
    assert_int_equal(rx_buf_append(&a, "x", 1), 0);
    small_p = a.data;
    rx_buf_release(&a);
    assert_int_equal(rx_buf_append(&b, "y", 1), 0);
    assert_ptr_equal(b.data, small_p);

    /* Growing hands the old block back too: the next small buffer gets it. */
    assert_int_equal(rx_buf_append(&b, big, sizeof(big)), 0);
    assert_int_equal(b.cap, 65536);
    big_p = b.data;
    assert_int_equal(rx_buf_append(&a, "z", 1), 0);
    assert_ptr_equal(a.data, small_p);
    rx_buf_release(&b);
    assert_int_equal(rx_buf_append(&b, big, sizeof(big)), 0);
    assert_int_equal(b.cap, 65536);
    assert_ptr_equal(b.data, big_p);
    rx_buf_release(&a);
    rx_buf_release(&b);
    rx_buf_pool_trim();
}

static void *release_on_thread(void *arg)
{
    rx_buf_t *b = arg;
    rx_buf_t own = {0};

    rx_buf_release(b);
    assert_int_equal(rx_buf_append(&own, "t", 1), 0);
    rx_buf_release(&own);
    return NULL; /* the thread's cached blocks are freed as it exits */
}

static void buf_release_on_another_thread_is_freed_at_its_exit(void **state)
{
    rx_buf_t b = {0};
    pthread_t th;

    assert_int_equal(rx_buf_append(&b, "x", 1), 0);
    assert_int_equal(pthread_create(&th, NULL, release_on_thread, &b), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_null(b.data);
}

static void buf_read_fd_and_write_fd_with_pipe(void **state)
{
    rx_buf_t out = {0}, in = {0};
    uint8_t *chunk = malloc(100000);
    int fds[2];
    ssize_t n;
    size_t got = 0;

    assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
    fill_pattern(chunk, 100000, 0);
    assert_int_equal(rx_buf_append(&out, chunk, 100000), 0);

    assert_int_equal(rx_buf_read_fd(&in, fds[0], 4096), -EAGAIN);
    while (rx_buf_len(&out) > 0 || got < 100000) {
        n = rx_buf_write_fd(&out, fds[1]);
        assert_true(n > 0 || n == -EAGAIN || (n == 0 && rx_buf_len(&out) == 0));
        while ((n = rx_buf_read_fd(&in, fds[0], 4096)) > 0)
            got += (size_t)n;
        assert_int_equal(n, -EAGAIN);
    }
    assert_int_equal(rx_buf_len(&in), 100000);
    check_pattern(rx_buf_peek(&in), 100000, 0);
    assert_int_equal(rx_buf_write_fd(&out, fds[1]), 0); /* nothing to write */

    close(fds[1]);
    assert_int_equal(rx_buf_read_fd(&in, fds[0], 4096), 0); /* EOF */
    close(fds[0]);
    assert_int_equal(rx_buf_read_fd(&in, fds[0], 4096), -EBADF);
    rx_buf_release(&in);
    rx_buf_release(&out);
    free(chunk);
}

static void buf_write_fd_to_closed_socket_is_epipe_not_signal(void **state)
{
    rx_buf_t out = {0};
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    assert_int_equal(rx_buf_append(&out, "abc", 3), 0);
    assert_int_equal(rx_buf_write_fd(&out, sv[0]), -EPIPE);
    assert_int_equal(rx_buf_len(&out), 3);
    close(sv[0]);
    rx_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_append_consume_and_rewind),
        cmocka_unit_test(buf_reserve_compacts_before_growing),
        cmocka_unit_test(buf_grows_across_classes_keeping_data),
        cmocka_unit_test(buf_past_max_is_enobufs),
        cmocka_unit_test(buf_holds_a_frame_of_a_4mib_body),
        cmocka_unit_test(buf_release_returns_storage_for_reuse),
        cmocka_unit_test(buf_release_on_another_thread_is_freed_at_its_exit),
        cmocka_unit_test(buf_read_fd_and_write_fd_with_pipe),
        cmocka_unit_test(buf_write_fd_to_closed_socket_is_epipe_not_signal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
