/*
 * Frame parsing (docs/protocol.md, Frames): int32 msgid, int32 msglen, both
 * little-endian, then msglen body bytes. Hot path: no allocation, no copy; the frame's body
 * points into the caller's buffer.
 */
#include <errno.h>

#include "libreactor/frame.h"

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ssize_t rx_frame_parse(const uint8_t *p, size_t n, uint32_t max_body, rx_frame_t *ret)
{
    uint32_t len;

    if (n < RX_FRAME_HDR)
        return 0;
    len = load_le32(p + 4);
    /* A bad length is reported as soon as the header is there, without
     * waiting for a body that may never come. */
    if (len > INT32_MAX)
        return -EBADMSG;
    if (len > max_body)
        return -EMSGSIZE;
    if (n - RX_FRAME_HDR < len)
        return 0;
    *ret = (rx_frame_t){
        .msgid = (int32_t)load_le32(p),
        .len = len,
        .body = p + RX_FRAME_HDR,
    };
    return (ssize_t)(RX_FRAME_HDR + len);
}
