/*
 * The Lars protobuf codec (see wire.h): the varint and field primitives,
 * then the decoders and the encoders of every message.
 */
#include <errno.h>

#include "proto/wire.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* Field sizes at most: key (1 byte for fields 1..15) + varint. */
#define INT32_FIELD_MAX  (1 + 10)
#define UINT32_FIELD_MAX (1 + 5)
#define BOOL_FIELD_MAX   (1 + 1)
/* The largest HostInfo and HostCallResult bodies: each takes one length
 * byte, which the encoder writes after the body. */
#define HOST_BODY_MAX        (2 * INT32_FIELD_MAX)
#define CALL_RESULT_BODY_MAX (2 * INT32_FIELD_MAX + 2 * UINT32_FIELD_MAX + BOOL_FIELD_MAX)

_Static_assert(HOST_BODY_MAX < 128 && CALL_RESULT_BODY_MAX < 128, "one length byte");
_Static_assert(WIRE_HOST_MAX >= 2 + HOST_BODY_MAX, "HostInfo bound");
_Static_assert(WIRE_CALL_RESULT_MAX >= 2 + CALL_RESULT_BODY_MAX, "HostCallResult bound");
_Static_assert(WIRE_SMALL_MAX >= UINT32_FIELD_MAX + 3 * INT32_FIELD_MAX + WIRE_HOST_MAX,
               "GetHostResponse bound");
_Static_assert(WIRE_SMALL_MAX >= 3 * INT32_FIELD_MAX + WIRE_HOST_MAX + UINT32_FIELD_MAX,
               "ReportRequest bound");

/* ---------------------------------------------------------- int32 rule -- */

/* An int32 travels as the varint of its sign-extended 64-bit value, so a
 * negative one (an ip from 128.0.0.0 up) takes 10 bytes, and a reader keeps
 * the low 32 bits: so protobuf-c and the original C++ write and read it.
 * Every int32 field goes through these two. */
static inline uint64_t int32_to_varint(int32_t v)
{
    return (uint64_t)(int64_t)v;
}

static inline int32_t int32_from_varint(uint64_t v)
{
    return (int32_t)(uint32_t)v;
}

/* ------------------------------------------------------------ decoding -- */

typedef struct field {
    uint32_t num;
    unsigned wt;
    uint64_t v;          /* WT_VARINT: the value; WT_LEN: the length */
    const uint8_t *data; /* WT_LEN: the payload */
} field_t;

/* A varint of at most 10 bytes. Bits past the 64th (a 10th byte above 1)
 * fold into bit 63: no 32-bit field sees them, and a bool with only those
 * bits set reads true, as protobuf-c reads it. */
static inline int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
    const uint8_t *q = *p;
    uint64_t v = 0;
    uint8_t b;

    /* most varints on the wire (tags, lengths, small ids) are one byte */
    if (q < end && *q < 0x80) {
        *ret = *q;
        *p = q + 1;
        return 0;
    }
    for (unsigned shift = 0; shift < 63; shift += 7) {
        if (q >= end)
            return -EBADMSG;
        b = *q++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            goto out;
    }
    if (q >= end || (*q & 0x80))
        return -EBADMSG;
    b = *q++;
    if (b & 0x7f)
        v |= (uint64_t)1 << 63;
out:
    *ret = v;
    *p = q;
    return 0;
}

/* Reads the next field of [*p, end): 1, 0 at the end, or -EBADMSG. */
static int next_field(const uint8_t **p, const uint8_t *end, field_t *f)
{
    uint64_t key;

    if (*p >= end)
        return 0;
    if (get_varint(p, end, &key) < 0 || key >> 3 == 0 || key >> 3 > UINT32_MAX)
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
        f->data = *p;
        *p += f->v;
        return 1;
    default: /* groups (3, 4) and the reserved 6, 7 */
        return -EBADMSG;
    }
}

/* Stores one known field of a message into m: 0 or -EBADMSG. */
typedef int (*field_fn)(const field_t *f, void *m);

/* Every field of [p, p + n) through fn; unknown ones are fn's to skip. */
static int decode(const uint8_t *p, size_t n, field_fn fn, void *m)
{
    const uint8_t *end = p + n;
    field_t f;
    int r;

    while ((r = next_field(&p, end, &f)) > 0)
        if (fn(&f, m) < 0)
            return -EBADMSG;
    return r;
}

static int get_int32(const field_t *f, int32_t *ret)
{
    if (f->wt != WT_VARINT)
        return -EBADMSG;
    *ret = int32_from_varint(f->v);
    return 0;
}

static int get_uint32(const field_t *f, uint32_t *ret)
{
    if (f->wt != WT_VARINT)
        return -EBADMSG;
    *ret = (uint32_t)f->v;
    return 0;
}

static int get_bool(const field_t *f, bool *ret)
{
    if (f->wt != WT_VARINT)
        return -EBADMSG;
    *ret = f->v != 0;
    return 0;
}

static int host_field(const field_t *f, void *m)
{
    wire_host_t *h = m;

    switch (f->num) {
    case 1:
        return get_int32(f, &h->ip);
    case 2:
        return get_int32(f, &h->port);
    default:
        return 0;
    }
}

/* A HostInfo field, merged into *h. */
static int get_host(const field_t *f, wire_host_t *h)
{
    if (f->wt != WT_LEN)
        return -EBADMSG;
    return decode(f->data, (size_t)f->v, host_field, h);
}

static int call_result_field(const field_t *f, void *m)
{
    wire_call_result_t *r = m;

    switch (f->num) {
    case 1:
        return get_int32(f, &r->ip);
    case 2:
        return get_int32(f, &r->port);
    case 3:
        return get_uint32(f, &r->succ);
    case 4:
        return get_uint32(f, &r->err);
    case 5:
        return get_bool(f, &r->overload);
    default:
        return 0;
    }
}

static int get_call_result(const field_t *f, wire_call_result_t *r)
{
    if (f->wt != WT_LEN)
        return -EBADMSG;
    return decode(f->data, (size_t)f->v, call_result_field, r);
}

static int get_route_req_field(const field_t *f, void *m)
{
    wire_get_route_req_t *req = m;

    switch (f->num) {
    case 1:
        return get_int32(f, &req->modid);
    case 2:
        return get_int32(f, &req->cmdid);
    default:
        return 0;
    }
}

int wire_decode_get_route_req(const uint8_t *p, size_t n, wire_get_route_req_t *ret)
{
    wire_get_route_req_t m = {0};

    if (decode(p, n, get_route_req_field, &m) < 0)
        return -EBADMSG;
    *ret = m;
    return 0;
}

static int get_host_req_field(const field_t *f, void *m)
{
    wire_get_host_req_t *req = m;

    switch (f->num) {
    case 1:
        return get_uint32(f, &req->seq);
    case 2:
        return get_int32(f, &req->modid);
    case 3:
        return get_int32(f, &req->cmdid);
    default:
        return 0;
    }
}

int wire_decode_get_host_req(const uint8_t *p, size_t n, wire_get_host_req_t *ret)
{
    wire_get_host_req_t m = {0};

    if (decode(p, n, get_host_req_field, &m) < 0)
        return -EBADMSG;
    *ret = m;
    return 0;
}

static int get_host_resp_field(const field_t *f, void *m)
{
    wire_get_host_resp_t *resp = m;

    switch (f->num) {
    case 1:
        return get_uint32(f, &resp->seq);
    case 2:
        return get_int32(f, &resp->modid);
    case 3:
        return get_int32(f, &resp->cmdid);
    case 4:
        return get_int32(f, &resp->retcode);
    case 5:
        resp->has_host = true;
        return get_host(f, &resp->host);
    default:
        return 0;
    }
}

int wire_decode_get_host_resp(const uint8_t *p, size_t n, wire_get_host_resp_t *ret)
{
    wire_get_host_resp_t m = {0};

    if (decode(p, n, get_host_resp_field, &m) < 0)
        return -EBADMSG;
    *ret = m;
    return 0;
}

static int report_req_field(const field_t *f, void *m)
{
    wire_report_req_t *req = m;

    switch (f->num) {
    case 1:
        return get_int32(f, &req->modid);
    case 2:
        return get_int32(f, &req->cmdid);
    case 3:
        req->has_host = true;
        return get_host(f, &req->host);
    case 4:
        return get_int32(f, &req->retcode);
    case 5:
        return get_uint32(f, &req->timecost_ms);
    default:
        return 0;
    }
}

int wire_decode_report_req(const uint8_t *p, size_t n, wire_report_req_t *ret)
{
    wire_report_req_t m = {0};

    if (decode(p, n, report_req_field, &m) < 0)
        return -EBADMSG;
    *ret = m;
    return 0;
}

static int get_route_resp_field(const field_t *f, void *m)
{
    wire_get_route_resp_t *resp = m;
    wire_host_t h = {0};

    switch (f->num) {
    case 1:
        return get_int32(f, &resp->modid);
    case 2:
        return get_int32(f, &resp->cmdid);
    case 3:
        resp->nhosts++;
        return get_host(f, &h);
    default:
        return 0;
    }
}

int wire_decode_get_route_resp(const uint8_t *p, size_t n, wire_get_route_resp_t *ret)
{
    wire_get_route_resp_t m = {0};

    if (decode(p, n, get_route_resp_field, &m) < 0)
        return -EBADMSG;
    m.cur = p;
    m.end = p + n;
    *ret = m;
    return 0;
}

/* Moves *cur to the next occurrence of field `num` (a body checked whole
 * by decode(), so no error can come up); false at the end. */
static bool next_of(const uint8_t **cur, const uint8_t *end, uint32_t num, field_t *ret)
{
    while (next_field(cur, end, ret) > 0)
        if (ret->num == num)
            return true;
    *cur = end;
    return false;
}

bool wire_get_route_resp_next(wire_get_route_resp_t *m, wire_host_t *ret)
{
    field_t f;

    if (!next_of(&m->cur, m->end, 3, &f))
        return false;
    *ret = (wire_host_t){0};
    (void)get_host(&f, ret);
    return true;
}

static int report_status_field(const field_t *f, void *m)
{
    wire_report_status_t *rs = m;
    wire_call_result_t r = {0};

    switch (f->num) {
    case 1:
        return get_int32(f, &rs->modid);
    case 2:
        return get_int32(f, &rs->cmdid);
    case 3:
        return get_int32(f, &rs->caller);
    case 4:
        rs->nresults++;
        return get_call_result(f, &r);
    case 5:
        return get_uint32(f, &rs->ts);
    default:
        return 0;
    }
}

int wire_decode_report_status(const uint8_t *p, size_t n, wire_report_status_t *ret)
{
    wire_report_status_t m = {0};

    if (decode(p, n, report_status_field, &m) < 0)
        return -EBADMSG;
    m.cur = p;
    m.end = p + n;
    *ret = m;
    return 0;
}

bool wire_report_status_next(wire_report_status_t *m, wire_call_result_t *ret)
{
    field_t f;

    if (!next_of(&m->cur, m->end, 4, &f))
        return false;
    *ret = (wire_call_result_t){0};
    (void)get_call_result(&f, ret);
    return true;
}

/* ------------------------------------------------------------ encoding -- */

static inline size_t varint_len(uint64_t v)
{
    /* 7 bits a byte: ceil(bits / 7) for bits = 1..64 */
    return (size_t)((64 - __builtin_clzll(v | 1)) * 9 + 64) / 64;
}

static inline size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t put_key(uint8_t *p, uint32_t num, unsigned wt)
{
    return put_varint(p, (uint64_t)num << 3 | wt);
}

static inline size_t key_len(uint32_t num)
{
    return varint_len((uint64_t)num << 3);
}

/* proto3 leaves a scalar at its zero value out. */
static inline size_t int32_field_len(uint32_t num, int32_t v)
{
    return v == 0 ? 0 : key_len(num) + varint_len(int32_to_varint(v));
}

static inline size_t put_int32_field(uint8_t *p, uint32_t num, int32_t v)
{
    size_t n;

    if (v == 0)
        return 0;
    n = put_key(p, num, WT_VARINT);
    return n + put_varint(p + n, int32_to_varint(v));
}

static inline size_t put_uint32_field(uint8_t *p, uint32_t num, uint32_t v)
{
    size_t n;

    if (v == 0)
        return 0;
    n = put_key(p, num, WT_VARINT);
    return n + put_varint(p + n, v);
}

static inline size_t put_bool_field(uint8_t *p, uint32_t num, bool v)
{
    size_t n;

    if (!v)
        return 0;
    n = put_key(p, num, WT_VARINT);
    p[n] = 1;
    return n + 1;
}

/* The size of a submessage field of a body of len bytes. */
static inline size_t sub_field_len(uint32_t num, size_t len)
{
    return key_len(num) + varint_len(len) + len;
}

static inline size_t host_len(const wire_host_t *h)
{
    return int32_field_len(1, h->ip) + int32_field_len(2, h->port);
}

/* A HostInfo field; its length byte is written after the body (see
 * HOST_BODY_MAX), so that the body's size is not computed twice. */
static inline size_t put_host(uint8_t *p, uint32_t num, const wire_host_t *h)
{
    size_t n = put_key(p, num, WT_LEN) + 1, start = n;

    n += put_int32_field(p + n, 1, h->ip);
    n += put_int32_field(p + n, 2, h->port);
    p[start - 1] = (uint8_t)(n - start);
    return n;
}

/* A HostCallResult field, the same way (CALL_RESULT_BODY_MAX). */
static inline size_t put_call_result(uint8_t *p, uint32_t num, const wire_call_result_t *r)
{
    size_t n = put_key(p, num, WT_LEN) + 1, start = n;

    n += put_int32_field(p + n, 1, r->ip);
    n += put_int32_field(p + n, 2, r->port);
    n += put_uint32_field(p + n, 3, r->succ);
    n += put_uint32_field(p + n, 4, r->err);
    n += put_bool_field(p + n, 5, r->overload);
    p[start - 1] = (uint8_t)(n - start);
    return n;
}

size_t wire_encode_get_route_req(uint8_t out[WIRE_SMALL_MAX], const wire_get_route_req_t *m)
{
    size_t n = put_int32_field(out, 1, m->modid);

    return n + put_int32_field(out + n, 2, m->cmdid);
}

size_t wire_encode_get_host_req(uint8_t out[WIRE_SMALL_MAX], const wire_get_host_req_t *m)
{
    size_t n = put_uint32_field(out, 1, m->seq);

    n += put_int32_field(out + n, 2, m->modid);
    return n + put_int32_field(out + n, 3, m->cmdid);
}

size_t wire_encode_get_host_resp(uint8_t out[WIRE_SMALL_MAX], const wire_get_host_resp_t *m)
{
    size_t n = put_uint32_field(out, 1, m->seq);

    n += put_int32_field(out + n, 2, m->modid);
    n += put_int32_field(out + n, 3, m->cmdid);
    n += put_int32_field(out + n, 4, m->retcode);
    if (m->has_host)
        n += put_host(out + n, 5, &m->host);
    return n;
}

size_t wire_encode_report_req(uint8_t out[WIRE_SMALL_MAX], const wire_report_req_t *m)
{
    size_t n = put_int32_field(out, 1, m->modid);

    n += put_int32_field(out + n, 2, m->cmdid);
    if (m->has_host)
        n += put_host(out + n, 3, &m->host);
    n += put_int32_field(out + n, 4, m->retcode);
    return n + put_uint32_field(out + n, 5, m->timecost_ms);
}

size_t wire_get_route_resp_size(int32_t modid, int32_t cmdid, const wire_host_t *hosts, size_t n)
{
    size_t size = int32_field_len(1, modid) + int32_field_len(2, cmdid);

    for (size_t i = 0; i < n; i++)
        size += sub_field_len(3, host_len(&hosts[i]));
    return size;
}

size_t wire_encode_get_route_resp(uint8_t *out, size_t cap, int32_t modid, int32_t cmdid,
                                  const wire_host_t *hosts, size_t n, size_t *ret_written)
{
    size_t len = int32_field_len(1, modid) + int32_field_len(2, cmdid), i;

    if (len > cap) {
        *ret_written = 0;
        return 0;
    }
    len = put_int32_field(out, 1, modid);
    len += put_int32_field(out + len, 2, cmdid);
    for (i = 0; i < n; i++) {
        if (sub_field_len(3, host_len(&hosts[i])) > cap - len)
            break;
        len += put_host(out + len, 3, &hosts[i]);
    }
    *ret_written = i;
    return len;
}

size_t wire_report_status_size(size_t n)
{
    return 3 * INT32_FIELD_MAX + UINT32_FIELD_MAX + n * WIRE_CALL_RESULT_MAX;
}

size_t wire_encode_report_status(uint8_t *out, int32_t modid, int32_t cmdid, int32_t caller,
                                 const wire_call_result_t *results, size_t n, uint32_t ts)
{
    size_t len = put_int32_field(out, 1, modid);

    len += put_int32_field(out + len, 2, cmdid);
    len += put_int32_field(out + len, 3, caller);
    for (size_t i = 0; i < n; i++)
        len += put_call_result(out + len, 4, &results[i]);
    return len + put_uint32_field(out + len, 5, ts);
}
