/*
 * GetRouteRequest decoding and GetRouteResponse encoding (see proto.h).
 * The encoder follows the protobuf wire format for proto3: zero-valued
 * scalars are omitted; int32 is a varint of its sign-extended 64-bit value,
 * so a negative ip (>= 128.0.0.0) takes 10 bytes, exactly as protobuf-c and
 * the original C++ encode it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "daemons/dns/proto.h"
#include "proto/lars.pb-c.h"

#define TAG_VARINT(field) ((uint8_t)((field) << 3 | 0))
#define TAG_LEN(field)    ((uint8_t)((field) << 3 | 2))

/* protobuf-c allocator serving small allocations from a caller's buffer
 * and anything larger (unknown fields of a newer peer) from malloc. */
typedef struct arena {
    uint8_t *buf;
    size_t used, size;
} arena_t;

static void *arena_alloc(void *data, size_t size)
{
    arena_t *a = data;
    size_t off = (a->used + 15) & ~(size_t)15;

    if (off + size <= a->size) {
        a->used = off + size;
        return a->buf + off;
    }
    return malloc(size);
}

static void arena_free(void *data, void *p)
{
    arena_t *a = data;

    if ((uint8_t *)p >= a->buf && (uint8_t *)p < a->buf + a->size)
        return;
    free(p);
}

int dns_route_request_decode(const uint8_t *body, size_t len, int32_t *ret_modid,
                             int32_t *ret_cmdid)
{
    _Alignas(16) uint8_t buf[256];
    arena_t a = {buf, 0, sizeof(buf)};
    ProtobufCAllocator alloc = {arena_alloc, arena_free, &a};
    Lars__GetRouteRequest *req;

    req = lars__get_route_request__unpack(&alloc, len, body);
    if (!req)
        return -EBADMSG;
    *ret_modid = req->modid;
    *ret_cmdid = req->cmdid;
    lars__get_route_request__free_unpacked(req, &alloc);
    return 0;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t int32_size(int32_t v)
{
    return varint_size((uint64_t)(int64_t)v);
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *put_int32_field(uint8_t *p, unsigned field, int32_t v)
{
    if (v == 0)
        return p;
    *p++ = TAG_VARINT(field);
    return put_varint(p, (uint64_t)(int64_t)v);
}

static size_t int32_field_size(int32_t v)
{
    return v == 0 ? 0 : 1 + int32_size(v);
}

static size_t host_size(const route_host_t *h)
{
    return int32_field_size(h->ip) + int32_field_size(h->port);
}

size_t dns_route_response_size(int32_t modid, int32_t cmdid, const route_host_t *hosts, size_t n)
{
    size_t size = int32_field_size(modid) + int32_field_size(cmdid);

    for (size_t i = 0; i < n; i++) {
        size_t hs = host_size(&hosts[i]);
        size += 1 + varint_size(hs) + hs;
    }
    return size;
}

size_t dns_route_response_write(uint8_t *p, int32_t modid, int32_t cmdid, const route_host_t *hosts,
                                size_t n)
{
    uint8_t *start = p;

    p = put_int32_field(p, 1, modid);
    p = put_int32_field(p, 2, cmdid);
    for (size_t i = 0; i < n; i++) {
        *p++ = TAG_LEN(3);
        p = put_varint(p, host_size(&hosts[i]));
        p = put_int32_field(p, 1, hosts[i].ip);
        p = put_int32_field(p, 2, hosts[i].port);
    }
    return (size_t)(p - start);
}
