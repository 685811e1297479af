/*
 * Tests of libreactor/frame.c against docs/protocol.md, Frames: little-endian
 * header, several frames per buffer, frames split anywhere across reads, length checks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

static size_t put_frame(uint8_t *p, int32_t msgid, const char *body)
{
    size_t len = strlen(body);

    rx_frame_put_header(p, msgid, (uint32_t)len);
    memcpy(p + RX_FRAME_HDR, body, len);
    return RX_FRAME_HDR + len;
}

static void frame_header_is_little_endian(void **state)
{
    static const uint8_t want[8] = {0x04, 0x03, 0x02, 0x01, 0x10, 0x00, 0x00, 0x00};
    static const uint8_t neg[8] = {0xfe, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00};
    uint8_t buf[8 + 16] = {0};
    rx_frame_t f;

    rx_frame_put_header(buf, 0x01020304, 16);
    assert_memory_equal(buf, want, 8);
    assert_int_equal(rx_frame_parse(buf, sizeof(buf), RX_FRAME_MAX_DEFAULT, &f), 24);
    assert_int_equal(f.msgid, 0x01020304);
    assert_int_equal(f.len, 16);
    assert_ptr_equal(f.body, buf + 8);

    rx_frame_put_header(buf, -2, 256);
    assert_memory_equal(buf, neg, 8);
}

static void frame_parses_several_frames_in_one_buffer(void **state)
{
    uint8_t buf[256];
    size_t n = 0, off = 0;
    rx_frame_t f;
    ssize_t r;

    n += put_frame(buf + n, 1, "hello");
    n += put_frame(buf + n, 2, "");
    n += put_frame(buf + n, 3, "world!");

    r = rx_frame_parse(buf + off, n - off, RX_FRAME_MAX_DEFAULT, &f);
    assert_int_equal(r, 13);
    assert_int_equal(f.msgid, 1);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.body, "hello", 5);
    off += (size_t)r;
    r = rx_frame_parse(buf + off, n - off, RX_FRAME_MAX_DEFAULT, &f);
    assert_int_equal(r, 8);
    assert_int_equal(f.msgid, 2);
    assert_int_equal(f.len, 0);
    off += (size_t)r;
    r = rx_frame_parse(buf + off, n - off, RX_FRAME_MAX_DEFAULT, &f);
    assert_int_equal(r, 14);
    assert_int_equal(f.msgid, 3);
    assert_memory_equal(f.body, "world!", 6);
    off += (size_t)r;
    assert_int_equal(off, n);
    assert_int_equal(rx_frame_parse(buf + off, 0, RX_FRAME_MAX_DEFAULT, &f), 0);
}

/* Feeds `stream` to a reassembly buffer in two reads split at every point,
 * and also one byte at a time, and checks the frames that come out. */
struct collected {
    int32_t ids[8];
    char bodies[8][16];
    int n;
};

static void feed(uint8_t *acc, size_t *nacc, const uint8_t *p, size_t n, struct collected *c)
{
    size_t off = 0;
    rx_frame_t f;
    ssize_t r;

    memcpy(acc + *nacc, p, n);
    *nacc += n;
    while ((r = rx_frame_parse(acc + off, *nacc - off, RX_FRAME_MAX_DEFAULT, &f)) > 0) {
        assert_true(c->n < 8);
        c->ids[c->n] = f.msgid;
        memcpy(c->bodies[c->n], f.body, f.len);
        c->bodies[c->n][f.len] = '\0';
        c->n++;
        off += (size_t)r;
    }
    assert_int_equal(r, 0);
    memmove(acc, acc + off, *nacc - off);
    *nacc -= off;
}

static void check_collected(const struct collected *c)
{
    assert_int_equal(c->n, 3);
    assert_int_equal(c->ids[0], 7);
    assert_string_equal(c->bodies[0], "abc");
    assert_int_equal(c->ids[1], -1);
    assert_string_equal(c->bodies[1], "");
    assert_int_equal(c->ids[2], 100000);
    assert_string_equal(c->bodies[2], "0123456789");
}

static void frame_split_at_every_point_reassembles(void **state)
{
    uint8_t stream[128], acc[128];
    size_t n = 0;

    n += put_frame(stream + n, 7, "abc");
    n += put_frame(stream + n, -1, "");
    n += put_frame(stream + n, 100000, "0123456789");

    for (size_t split = 0; split <= n; split++) {
        struct collected c = {0};
        size_t nacc = 0;
        feed(acc, &nacc, stream, split, &c);
        feed(acc, &nacc, stream + split, n - split, &c);
        assert_int_equal(nacc, 0);
        check_collected(&c);
    }

    struct collected c = {0};
    size_t nacc = 0;
    for (size_t i = 0; i < n; i++)
        feed(acc, &nacc, stream + i, 1, &c);
    assert_int_equal(nacc, 0);
    check_collected(&c);
}

static void frame_rejects_negative_length(void **state)
{
    uint8_t buf[8];
    rx_frame_t f;

    rx_frame_put_header(buf, 1, 0x80000000u);
    assert_int_equal(rx_frame_parse(buf, 8, RX_FRAME_MAX_DEFAULT, &f), -EBADMSG);
    rx_frame_put_header(buf, 1, 0xffffffffu);
    assert_int_equal(rx_frame_parse(buf, 8, UINT32_MAX, &f), -EBADMSG);
}

static void frame_rejects_length_above_limit_before_body_arrives(void **state)
{
    uint8_t buf[8];
    rx_frame_t f;

    rx_frame_put_header(buf, 1, RX_FRAME_MAX_DEFAULT + 1);
    assert_int_equal(rx_frame_parse(buf, 8, RX_FRAME_MAX_DEFAULT, &f), -EMSGSIZE);
    rx_frame_put_header(buf, 1, 101);
    assert_int_equal(rx_frame_parse(buf, 8, 100, &f), -EMSGSIZE);
}

static void frame_accepts_length_exactly_at_limit(void **state)
{
    static uint8_t buf[RX_FRAME_HDR + RX_FRAME_MAX_DEFAULT];
    rx_frame_t f;

    rx_frame_put_header(buf, 9, RX_FRAME_MAX_DEFAULT);
    assert_int_equal(rx_frame_parse(buf, sizeof(buf) - 1, RX_FRAME_MAX_DEFAULT, &f), 0);
    assert_int_equal(rx_frame_parse(buf, sizeof(buf), RX_FRAME_MAX_DEFAULT, &f), sizeof(buf));
    assert_int_equal(f.len, RX_FRAME_MAX_DEFAULT);
}

static void frame_zero_length_body_is_valid(void **state)
{
    uint8_t buf[8];
    rx_frame_t f = {.len = 99};

    rx_frame_put_header(buf, 1, 0);
    assert_int_equal(rx_frame_parse(buf, 7, RX_FRAME_MAX_DEFAULT, &f), 0);
    assert_int_equal(rx_frame_parse(buf, 8, RX_FRAME_MAX_DEFAULT, &f), 8);
    assert_int_equal(f.msgid, 1);
    assert_int_equal(f.len, 0);
    /* Even with a zero body limit. */
    assert_int_equal(rx_frame_parse(buf, 8, 0, &f), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_header_is_little_endian),
        cmocka_unit_test(frame_parses_several_frames_in_one_buffer),
        cmocka_unit_test(frame_split_at_every_point_reassembles),
        cmocka_unit_test(frame_rejects_negative_length),
        cmocka_unit_test(frame_rejects_length_above_limit_before_body_arrives),
        cmocka_unit_test(frame_accepts_length_exactly_at_limit),
        cmocka_unit_test(frame_zero_length_body_is_valid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
