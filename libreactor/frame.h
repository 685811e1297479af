/*
 * Framing, the same on every transport: an 8-byte header, int32 msgid and
 * int32 msglen, both little-endian, followed by msglen body bytes.
 */
#ifndef LIBREACTOR_FRAME_H
#define LIBREACTOR_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libreactor/buf.h"

#define RX_FRAME_HDR 8
/* The original Lars body limit. */
#define RX_FRAME_MAX_DEFAULT 65527u
/* The largest max_frame a TCP server or client accepts (a frame must fit in
 * one rx_buf); above it, rx_tcp_server_new / rx_tcp_client_new fail with
 * -EINVAL. */
#define RX_FRAME_MAX (RX_BUF_MAX - RX_FRAME_HDR)

typedef struct rx_frame {
    int32_t msgid;
    uint32_t len;
    const uint8_t *body;
} rx_frame_t;

static inline void rx_frame_put_header(uint8_t *p, int32_t msgid, uint32_t len)
{
    uint32_t id = (uint32_t)msgid;
    p[0] = id;
    p[1] = id >> 8;
    p[2] = id >> 16;
    p[3] = id >> 24;
    p[4] = len;
    p[5] = len >> 8;
    p[6] = len >> 16;
    p[7] = len >> 24;
}

/* Looks for one frame at p[0, n). Returns its total size (header + body) and
 * fills *ret when a whole frame is there; 0 when more bytes are needed;
 * -EBADMSG for a negative length; -EMSGSIZE for a length above max_body. */
ssize_t rx_frame_parse(const uint8_t *p, size_t n, uint32_t max_body, rx_frame_t *ret);

#endif
