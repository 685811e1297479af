/*
 * Frame decoder (libreactor/frame.c) as the TCP transports use it: the
 * stream arrives in chunks whose sizes the input decides, is appended to an
 * rx_buf_t and parsed frame by frame (tcp_server.c conn_dispatch_frames).
 * The frames found, and where decoding stops (need more bytes, -EBADMSG,
 * -EMSGSIZE), must be the same as a one-pass reference decode of the whole
 * stream, every frame must re-encode to its original bytes, and a frame cut
 * to its exact size must be accepted alone (one UDP datagram).
 *
 * Input: u8 limit selector, u32 chunking seed, then the stream.
 */
#include <errno.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "libreactor/reactor.h"

#define MAX_REF_FRAMES 4096

typedef struct ref_frame {
    size_t off; /* of the header in the stream */
    int32_t msgid;
    uint32_t len;
} ref_frame_t;

typedef struct ref_result {
    ref_frame_t frames[MAX_REF_FRAMES];
    size_t n;
    size_t rest; /* bytes left undecoded at the end */
    int err;     /* 0, -EBADMSG or -EMSGSIZE */
} ref_result_t;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t max_body_of(uint8_t sel)
{
    static const uint32_t fixed[] = {RX_FRAME_MAX_DEFAULT, 4194304, INT32_MAX, UINT32_MAX};

    return sel < 4 ? fixed[sel] : (uint32_t)(sel - 4);
}

/* The whole stream in one pass, written from docs/protocol.md (Frames)
 * independently of rx_frame_parse; at each frame start rx_frame_parse also sees the stream up
 * to the real end of its allocation, so a read past it trips ASan. */
static void decode_reference(const uint8_t *p, size_t n, uint32_t max_body, ref_result_t *ret)
{
    size_t off = 0;

    ret->n = 0;
    ret->err = 0;
    for (;;) {
        size_t left = n - off;
        rx_frame_t f;
        ssize_t got = rx_frame_parse(p + off, left, max_body, &f);
        uint32_t len;
        ssize_t want;

        if (left < RX_FRAME_HDR) {
            want = 0;
        } else {
            len = le32(p + off + 4);
            if (len > INT32_MAX)
                want = -EBADMSG;
            else if (len > max_body)
                want = -EMSGSIZE;
            else if (left - RX_FRAME_HDR < len)
                want = 0;
            else
                want = (ssize_t)(RX_FRAME_HDR + len);
        }
        FUZZ_CHECK(got == want);
        if (want <= 0 || ret->n == MAX_REF_FRAMES) {
            ret->err = want < 0 ? (int)want : 0;
            ret->rest = left;
            return;
        }
        FUZZ_CHECK(f.msgid == (int32_t)le32(p + off));
        FUZZ_CHECK(f.len == len && f.body == p + off + RX_FRAME_HDR);
        ret->frames[ret->n++] = (ref_frame_t){off, f.msgid, f.len};
        off += (size_t)want;
    }
}

/* A frame alone, cut to its exact size, is one whole frame; one byte less
 * needs more. */
static void check_datagram(const uint8_t *frame, uint32_t body_len, uint32_t max_body)
{
    size_t size = RX_FRAME_HDR + body_len;
    uint8_t *copy = malloc(size);
    rx_frame_t f;

    FUZZ_CHECK(copy);
    memcpy(copy, frame, size);
    FUZZ_CHECK(rx_frame_parse(copy, size, max_body, &f) == (ssize_t)size);
    FUZZ_CHECK(rx_frame_parse(copy, size - 1, max_body, &f) == 0);
    free(copy);
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static size_t chunk_size(uint32_t *seed)
{
    uint32_t r = next_rand(seed);

    switch (r & 3) {
    case 0:
        return 1;
    case 1:
        return 1 + (r >> 2) % 8;
    case 2:
        return 1 + (r >> 2) % 64;
    default:
        return 1 + (r >> 2) % 4096;
    }
}

/* Parses what the buffer holds, as a connection does after each read;
 * returns 0 to go on, or the error that closes the connection. */
static int drain(rx_buf_t *b, uint32_t max_body, const uint8_t *stream, const ref_result_t *ref,
                 size_t *next)
{
    for (;;) {
        rx_frame_t f;
        uint8_t hdr[RX_FRAME_HDR];
        ssize_t n = rx_frame_parse(rx_buf_peek(b), rx_buf_len(b), max_body, &f);
        const ref_frame_t *want;

        if (n <= 0)
            return (int)n;
        FUZZ_CHECK(*next < ref->n);
        want = &ref->frames[(*next)++];
        FUZZ_CHECK(f.msgid == want->msgid && f.len == want->len);
        FUZZ_CHECK(f.body == rx_buf_peek(b) + RX_FRAME_HDR);
        FUZZ_CHECK(memcmp(f.body, stream + want->off + RX_FRAME_HDR, f.len) == 0);
        rx_frame_put_header(hdr, f.msgid, f.len);
        FUZZ_CHECK(memcmp(hdr, rx_buf_peek(b), RX_FRAME_HDR) == 0);
        rx_buf_consume(b, (size_t)n);
    }
}

int fuzz_frame(const uint8_t *data, size_t size)
{
    static ref_result_t ref;
    fuzz_input_t in = {data, size};
    uint32_t max_body = max_body_of(fuzz_u8(&in));
    uint32_t seed = fuzz_u32(&in) | 1;
    const uint8_t *stream = in.p;
    size_t n = in.n, fed = 0, next = 0;
    rx_buf_t b = {0};
    int err = 0;

    /* Every frame has at least a header: the reference never fills up. */
    if (n > RX_FRAME_HDR * MAX_REF_FRAMES)
        n = RX_FRAME_HDR * MAX_REF_FRAMES;
    decode_reference(stream, n, max_body, &ref);
    for (size_t i = 0; i < ref.n; i++)
        check_datagram(stream + ref.frames[i].off, ref.frames[i].len, max_body);

    while (fed < n && err == 0) {
        size_t k = chunk_size(&seed);

        if (k > n - fed)
            k = n - fed;
        FUZZ_CHECK(rx_buf_append(&b, stream + fed, k) == 0);
        fed += k;
        err = drain(&b, max_body, stream, &ref, &next);
    }
    FUZZ_CHECK(next == ref.n);
    FUZZ_CHECK(err == ref.err);
    if (err == 0)
        FUZZ_CHECK(rx_buf_len(&b) == ref.rest);
    rx_buf_release(&b);
    return 0;
}
