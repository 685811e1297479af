/*
 * Hand-written protobuf encoding of the agent's messages (see wire.h).
 */
#include <errno.h>
#include <string.h>

#include "daemons/agent/wire.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* ------------------------------------------------------------ decoding -- */

typedef struct field {
    uint32_t num;
    unsigned wt;
    uint64_t v;         /* WT_VARINT */
    const uint8_t *ptr; /* WT_LEN */
    size_t len;
} field_t;

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return -EBADMSG;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
        if (!(b & 0x80)) {
            *ret = v;
            return 0;
        }
    }
    return -EBADMSG;
}

/* Reads the next field; 1 when one was read, 0 at the end, -EBADMSG. */
static int next_field(const uint8_t **p, const uint8_t *end, field_t *f)
{
    uint64_t key;

    if (*p >= end)
        return 0;
    if (get_varint(p, end, &key) < 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return -EBADMSG;
    f->num = (uint32_t)(key >> 3);
    f->wt = key & 7;
    switch (f->wt) {
    case WT_VARINT:
        return get_varint(p, end, &f->v) < 0 ? -EBADMSG : 1;
    case WT_I64:
    case WT_I32: {
        size_t k = f->wt == WT_I64 ? 8 : 4;
        if ((size_t)(end - *p) < k)
            return -EBADMSG;
        *p += k;
        return 1;
    }
    case WT_LEN:
        if (get_varint(p, end, &f->v) < 0 || f->v > (uint64_t)(end - *p))
            return -EBADMSG;
        f->ptr = *p;
        f->len = (size_t)f->v;
        *p += f->len;
        return 1;
    default:
        return -EBADMSG; /* groups and reserved wire types */
    }
}

/* A known scalar field must be a varint. */
static int want_varint(const field_t *f, uint64_t *dst)
{
    if (f->wt != WT_VARINT)
        return -EBADMSG;
    *dst = f->v;
    return 0;
}

/* Decodes varint fields 1..nvals into vals (unknown fields skipped). */
static int decode_flat(const uint8_t *p, size_t n, uint64_t *vals, uint32_t nvals)
{
    const uint8_t *end = p + n;
    field_t f;
    int r;

    while ((r = next_field(&p, end, &f)) > 0)
        if (f.num <= nvals && want_varint(&f, &vals[f.num - 1]) < 0)
            return -EBADMSG;
    return r;
}

int wire_decode_get_host_req(const uint8_t *p, size_t n, wire_get_host_req_t *ret)
{
    uint64_t v[3] = {0};

    if (decode_flat(p, n, v, 3) < 0)
        return -EBADMSG;
    *ret = (wire_get_host_req_t){(uint32_t)v[0], (int32_t)v[1], (int32_t)v[2]};
    return 0;
}

int wire_decode_get_route_req(const uint8_t *p, size_t n, wire_pair_t *ret)
{
    uint64_t v[2] = {0};

    if (decode_flat(p, n, v, 2) < 0)
        return -EBADMSG;
    *ret = (wire_pair_t){(int32_t)v[0], (int32_t)v[1]};
    return 0;
}

int wire_decode_report_req(const uint8_t *p, size_t n, wire_report_req_t *ret)
{
    const uint8_t *end = p + n;
    uint64_t v[5] = {0}, host[2] = {0};
    field_t f;
    int r;

    while ((r = next_field(&p, end, &f)) > 0) {
        if (f.num == 3) {
            /* Repeated occurrences of a submessage merge field by field. */
            if (f.wt != WT_LEN || decode_flat(f.ptr, f.len, host, 2) < 0)
                return -EBADMSG;
        } else if (f.num <= 5 && want_varint(&f, &v[f.num - 1]) < 0) {
            return -EBADMSG;
        }
    }
    if (r < 0)
        return r;
    *ret = (wire_report_req_t){
        .modid = (int32_t)v[0],
        .cmdid = (int32_t)v[1],
        .ip = (int32_t)host[0],
        .port = (int32_t)host[1],
        .retcode = (int32_t)v[3],
        .timecost_ms = (uint32_t)v[4],
    };
    return 0;
}

/* ------------------------------------------------------------ encoding -- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* proto3: a zero scalar is not written. */
static size_t put_int32(uint8_t *p, uint32_t num, int32_t v)
{
    if (v == 0)
        return 0;
    p[0] = (uint8_t)(num << 3 | WT_VARINT);
    return 1 + put_varint(p + 1, (uint64_t)(int64_t)v);
}

static size_t put_uint32(uint8_t *p, uint32_t num, uint32_t v)
{
    if (v == 0)
        return 0;
    p[0] = (uint8_t)(num << 3 | WT_VARINT);
    return 1 + put_varint(p + 1, v);
}

static size_t int32_len(uint32_t num, int32_t v)
{
    return v == 0 ? 0 : 1 + varint_len((uint64_t)(int64_t)v);
}

/* A submessage field whose body is at most 127 bytes (one length byte). */
static size_t put_host(uint8_t *p, uint32_t num, int32_t ip, int32_t port)
{
    size_t n = 2;

    n += put_int32(p + n, 1, ip);
    n += put_int32(p + n, 2, port);
    p[0] = (uint8_t)(num << 3 | WT_LEN);
    p[1] = (uint8_t)(n - 2);
    return n;
}

static size_t host_len(int32_t ip, int32_t port)
{
    return 2 + int32_len(1, ip) + int32_len(2, port);
}

size_t wire_encode_get_host_resp(uint8_t out[WIRE_SMALL_MAX], uint32_t seq, int32_t modid,
                                 int32_t cmdid, int32_t retcode, const lb_host_t *host)
{
    size_t n = 0;

    n += put_uint32(out + n, 1, seq);
    n += put_int32(out + n, 2, modid);
    n += put_int32(out + n, 3, cmdid);
    n += put_int32(out + n, 4, retcode);
    if (host)
        n += put_host(out + n, 5, host->ip, host->port);
    return n;
}

size_t wire_encode_get_route_req(uint8_t out[WIRE_SMALL_MAX], int32_t modid, int32_t cmdid)
{
    size_t n = 0;

    n += put_int32(out + n, 1, modid);
    n += put_int32(out + n, 2, cmdid);
    return n;
}

size_t wire_encode_get_route_resp(uint8_t *out, size_t cap, int32_t modid, int32_t cmdid,
                                  const lb_host_t *hosts, size_t n, size_t *ret_written)
{
    size_t len = int32_len(1, modid) + int32_len(2, cmdid), i;

    if (len > cap) {
        *ret_written = 0;
        return 0;
    }
    len = put_int32(out, 1, modid);
    len += put_int32(out + len, 2, cmdid);
    for (i = 0; i < n; i++) {
        if (host_len(hosts[i].ip, hosts[i].port) > cap - len)
            break;
        len += put_host(out + len, 3, hosts[i].ip, hosts[i].port);
    }
    *ret_written = i;
    return len;
}

/* HostCallResult: tag + length + ip, port (11 each), succ, err (6 each),
 * overload (2). */
#define RESULT_MAX 40

size_t wire_report_status_size(size_t n)
{
    return 3 * 11 + 6 + n * RESULT_MAX;
}

size_t wire_encode_report_status(uint8_t *out, int32_t modid, int32_t cmdid, int32_t caller,
                                 const lb_call_result_t *results, size_t n, uint32_t ts)
{
    size_t len = 0;

    len += put_int32(out + len, 1, modid);
    len += put_int32(out + len, 2, cmdid);
    len += put_int32(out + len, 3, caller);
    for (size_t i = 0; i < n; i++) {
        const lb_call_result_t *r = &results[i];
        uint8_t *p = out + len;
        size_t k = 2;

        k += put_int32(p + k, 1, r->ip);
        k += put_int32(p + k, 2, r->port);
        k += put_uint32(p + k, 3, r->succ);
        k += put_uint32(p + k, 4, r->err);
        if (r->overload) {
            p[k++] = 5 << 3 | WT_VARINT;
            p[k++] = 1;
        }
        p[0] = 4 << 3 | WT_LEN;
        p[1] = (uint8_t)(k - 2);
        len += k;
    }
    len += put_uint32(out + len, 5, ts);
    return len;
}
