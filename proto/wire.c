/*
 * The Lars protobuf codec (see wire.h): the varint and field primitives,
 * then the decoders and the encoders of every message.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

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

/*
 * Every message is described once, as a table of its known fields: number,
 * kind and where the value goes in the decoded struct. One decoder walks
 * any body with any table, so the protobuf rules (unknown fields skipped,
 * last value wins, a known field of the wrong wire type is an error) are
 * written once. Tables are at most five entries: a linear search is as fast
 * as a switch here.
 */
typedef enum field_kind {
    K_INT32,    /* int32 (the negative-varint rule) */
    K_UINT32,   /* uint32 */
    K_BOOL,     /* bool */
    K_MSG,      /* embedded message merged into `off`; bool at `aux` set */
    K_REPEATED, /* embedded message checked, not kept; size_t at `aux` counted */
} field_kind_t;

typedef struct msg_desc msg_desc_t;

typedef struct field_desc {
    uint32_t num;
    field_kind_t kind;
    uint16_t off, aux;
    const msg_desc_t *sub; /* K_MSG, K_REPEATED */
} field_desc_t;

struct msg_desc {
    const field_desc_t *fields;
    size_t nfields;
    size_t size; /* of the decoded struct, for K_REPEATED's scratch */
};

#define FIELDS(a)        (a), sizeof(a) / sizeof((a)[0])
#define AT(type, member) (uint16_t) offsetof(type, member)

static int decode(const uint8_t *p, size_t n, const msg_desc_t *d, void *m);

static int decode_field(const field_t *f, const field_desc_t *fd, uint8_t *m)
{
    uint8_t scratch[sizeof(wire_call_result_t)];

    if (f->wt != (fd->kind >= K_MSG ? WT_LEN : WT_VARINT))
        return -EBADMSG;
    switch (fd->kind) {
    case K_INT32:
        *(int32_t *)(m + fd->off) = int32_from_varint(f->v);
        return 0;
    case K_UINT32:
        *(uint32_t *)(m + fd->off) = (uint32_t)f->v;
        return 0;
    case K_BOOL:
        *(bool *)(m + fd->off) = f->v != 0;
        return 0;
    case K_MSG:
        *(bool *)(m + fd->aux) = true;
        return decode(f->data, (size_t)f->v, fd->sub, m + fd->off);
    case K_REPEATED:
        (*(size_t *)(m + fd->aux))++;
        memset(scratch, 0, sizeof(scratch));
        return decode(f->data, (size_t)f->v, fd->sub, scratch);
    }
    return -EBADMSG;
}

/* Every field of [p, p + n) into m by the table d. */
static int decode(const uint8_t *p, size_t n, const msg_desc_t *d, void *m)
{
    const uint8_t *end = p + n;
    field_t f;
    int r;

    while ((r = next_field(&p, end, &f)) > 0) {
        for (size_t i = 0; i < d->nfields; i++) {
            if (d->fields[i].num != f.num)
                continue;
            if (decode_field(&f, &d->fields[i], m) < 0)
                return -EBADMSG;
            break;
        }
    }
    return r;
}

/* A whole message into the scratch m (zeroed or preset by the caller),
 * copied to ret only when every field decoded: on -EBADMSG ret is untouched. */
static inline int decode_msg(const uint8_t *p, size_t n, const msg_desc_t *d, void *m, void *ret)
{
    if (decode(p, n, d, m) < 0)
        return -EBADMSG;
    memcpy(ret, m, d->size);
    return 0;
}

static const field_desc_t host_fields[] = {
    {1, K_INT32, AT(wire_host_t, ip), 0, NULL},
    {2, K_INT32, AT(wire_host_t, port), 0, NULL},
};
static const msg_desc_t host_desc = {FIELDS(host_fields), sizeof(wire_host_t)};

static const field_desc_t call_result_fields[] = {
    {1, K_INT32, AT(wire_call_result_t, ip), 0, NULL},
    {2, K_INT32, AT(wire_call_result_t, port), 0, NULL},
    {3, K_UINT32, AT(wire_call_result_t, succ), 0, NULL},
    {4, K_UINT32, AT(wire_call_result_t, err), 0, NULL},
    {5, K_BOOL, AT(wire_call_result_t, overload), 0, NULL},
};
static const msg_desc_t call_result_desc = {FIELDS(call_result_fields), sizeof(wire_call_result_t)};

static const field_desc_t get_route_req_fields[] = {
    {1, K_INT32, AT(wire_get_route_req_t, modid), 0, NULL},
    {2, K_INT32, AT(wire_get_route_req_t, cmdid), 0, NULL},
};
static const msg_desc_t get_route_req_desc = {FIELDS(get_route_req_fields),
                                              sizeof(wire_get_route_req_t)};

static const field_desc_t get_host_req_fields[] = {
    {1, K_UINT32, AT(wire_get_host_req_t, seq), 0, NULL},
    {2, K_INT32, AT(wire_get_host_req_t, modid), 0, NULL},
    {3, K_INT32, AT(wire_get_host_req_t, cmdid), 0, NULL},
};
static const msg_desc_t get_host_req_desc = {FIELDS(get_host_req_fields),
                                             sizeof(wire_get_host_req_t)};

static const field_desc_t get_host_resp_fields[] = {
    {1, K_UINT32, AT(wire_get_host_resp_t, seq), 0, NULL},
    {2, K_INT32, AT(wire_get_host_resp_t, modid), 0, NULL},
    {3, K_INT32, AT(wire_get_host_resp_t, cmdid), 0, NULL},
    {4, K_INT32, AT(wire_get_host_resp_t, retcode), 0, NULL},
    {5, K_MSG, AT(wire_get_host_resp_t, host), AT(wire_get_host_resp_t, has_host), &host_desc},
};
static const msg_desc_t get_host_resp_desc = {FIELDS(get_host_resp_fields),
                                              sizeof(wire_get_host_resp_t)};

static const field_desc_t report_req_fields[] = {
    {1, K_INT32, AT(wire_report_req_t, modid), 0, NULL},
    {2, K_INT32, AT(wire_report_req_t, cmdid), 0, NULL},
    {3, K_MSG, AT(wire_report_req_t, host), AT(wire_report_req_t, has_host), &host_desc},
    {4, K_INT32, AT(wire_report_req_t, retcode), 0, NULL},
    {5, K_UINT32, AT(wire_report_req_t, timecost_ms), 0, NULL},
};
static const msg_desc_t report_req_desc = {FIELDS(report_req_fields), sizeof(wire_report_req_t)};

static const field_desc_t get_route_resp_fields[] = {
    {1, K_INT32, AT(wire_get_route_resp_t, modid), 0, NULL},
    {2, K_INT32, AT(wire_get_route_resp_t, cmdid), 0, NULL},
    {3, K_REPEATED, 0, AT(wire_get_route_resp_t, nhosts), &host_desc},
};
static const msg_desc_t get_route_resp_desc = {FIELDS(get_route_resp_fields),
                                               sizeof(wire_get_route_resp_t)};

static const field_desc_t report_status_fields[] = {
    {1, K_INT32, AT(wire_report_status_t, modid), 0, NULL},
    {2, K_INT32, AT(wire_report_status_t, cmdid), 0, NULL},
    {3, K_INT32, AT(wire_report_status_t, caller), 0, NULL},
    {4, K_REPEATED, 0, AT(wire_report_status_t, nresults), &call_result_desc},
    {5, K_UINT32, AT(wire_report_status_t, ts), 0, NULL},
};
static const msg_desc_t report_status_desc = {FIELDS(report_status_fields),
                                              sizeof(wire_report_status_t)};

int wire_decode_get_route_req(const uint8_t *p, size_t n, wire_get_route_req_t *ret)
{
    wire_get_route_req_t m = {0};

    return decode_msg(p, n, &get_route_req_desc, &m, ret);
}

int wire_decode_get_host_req(const uint8_t *p, size_t n, wire_get_host_req_t *ret)
{
    wire_get_host_req_t m = {0};

    return decode_msg(p, n, &get_host_req_desc, &m, ret);
}

int wire_decode_get_host_resp(const uint8_t *p, size_t n, wire_get_host_resp_t *ret)
{
    wire_get_host_resp_t m = {0};

    return decode_msg(p, n, &get_host_resp_desc, &m, ret);
}

int wire_decode_report_req(const uint8_t *p, size_t n, wire_report_req_t *ret)
{
    wire_report_req_t m = {0};

    return decode_msg(p, n, &report_req_desc, &m, ret);
}

int wire_decode_get_route_resp(const uint8_t *p, size_t n, wire_get_route_resp_t *ret)
{
    wire_get_route_resp_t m = {.cur = p, .end = p + n};

    return decode_msg(p, n, &get_route_resp_desc, &m, ret);
}

int wire_decode_report_status(const uint8_t *p, size_t n, wire_report_status_t *ret)
{
    wire_report_status_t m = {.cur = p, .end = p + n};

    return decode_msg(p, n, &report_status_desc, &m, ret);
}

/* Moves *cur to the next occurrence of the repeated field `num` of a body
 * checked whole by its decoder, and decodes it into ret (zeroed first): no
 * error can come up. False at the end. */
static bool next_of(const uint8_t **cur, const uint8_t *end, uint32_t num, const msg_desc_t *d,
                    void *ret)
{
    field_t f;

    while (next_field(cur, end, &f) > 0) {
        if (f.num != num)
            continue;
        memset(ret, 0, d->size);
        (void)decode(f.data, (size_t)f.v, d, ret);
        return true;
    }
    *cur = end;
    return false;
}

bool wire_get_route_resp_next(wire_get_route_resp_t *m, wire_host_t *ret)
{
    return next_of(&m->cur, m->end, 3, &host_desc, ret);
}

bool wire_report_status_next(wire_report_status_t *m, wire_call_result_t *ret)
{
    return next_of(&m->cur, m->end, 4, &call_result_desc, ret);
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
