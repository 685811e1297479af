/*
 * ReportStatusRequest decoder (see report.h).
 */
#include "daemons/reporter/report.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* Reads a varint of at most 10 bytes; NULL when truncated or too long. */
static const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *ret)
{
    uint64_t v = 0;

    for (int shift = 0; shift < 70 && p < end; shift += 7) {
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return p;
        }
    }
    return NULL;
}

/* Reads one field header and its value. For WT_LEN, *ret_val is the length
 * and *ret_data the payload; for the others *ret_val is the value. */
static const uint8_t *get_field(const uint8_t *p, const uint8_t *end, uint32_t *ret_num,
                                unsigned *ret_wt, uint64_t *ret_val, const uint8_t **ret_data)
{
    uint64_t tag, v = 0;

    p = get_varint(p, end, &tag);
    if (!p || (tag >> 3) == 0)
        return NULL;
    /* A field number beyond protobuf's 2^29-1 can name no field of ours:
     * skip it as unknown, as protobuf-c does, instead of truncating it into
     * a known one. */
    *ret_num = (tag >> 3) > 0x1fffffff ? UINT32_MAX : (uint32_t)(tag >> 3);
    *ret_wt = tag & 7;
    switch (*ret_wt) {
    case WT_VARINT:
        p = get_varint(p, end, &v);
        break;
    case WT_I64:
        if (end - p < 8)
            return NULL;
        v = 0;
        memcpy(&v, p, 8);
        p += 8;
        break;
    case WT_I32:
        if (end - p < 4)
            return NULL;
        v = 0;
        memcpy(&v, p, 4);
        p += 4;
        break;
    case WT_LEN:
        p = get_varint(p, end, &v);
        if (!p || v > (uint64_t)(end - p))
            return NULL;
        *ret_data = p;
        p += v;
        break;
    default: /* groups: not proto3 */
        return NULL;
    }
    *ret_val = v;
    return p;
}

/* Decodes a HostCallResult; false when malformed. */
static bool decode_result(const uint8_t *p, const uint8_t *end, rp_row_t *row)
{
    row->ip = row->port = 0;
    row->succ = row->err = 0;
    row->overload = false;
    while (p < end) {
        uint32_t num;
        unsigned wt;
        uint64_t v;
        const uint8_t *data;

        p = get_field(p, end, &num, &wt, &v, &data);
        if (!p)
            return false;
        if (num >= 1 && num <= 5 && wt != WT_VARINT)
            return false;
        switch (num) {
        case 1:
            row->ip = (int32_t)(uint32_t)v;
            break;
        case 2:
            row->port = (int32_t)(uint32_t)v;
            break;
        case 3:
            row->succ = (uint32_t)v;
            break;
        case 4:
            row->err = (uint32_t)v;
            break;
        case 5:
            row->overload = v != 0;
            break;
        default:
            break;
        }
    }
    return true;
}

int rp_report_parse(const uint8_t *body, size_t len, rp_report_t *ret)
{
    const uint8_t *p = body, *end = body + len;
    rp_report_t r = {.cur = body, .end = end};

    while (p < end) {
        uint32_t num;
        unsigned wt;
        uint64_t v;
        const uint8_t *data;
        rp_row_t row;

        p = get_field(p, end, &num, &wt, &v, &data);
        if (!p)
            return -EBADMSG;
        if (num == 4) {
            if (wt != WT_LEN || !decode_result(data, data + v, &row))
                return -EBADMSG;
            r.nresults++;
            continue;
        }
        if (num <= 5 && wt != WT_VARINT)
            return -EBADMSG;
        switch (num) {
        case 1:
            r.modid = (int32_t)(uint32_t)v;
            break;
        case 2:
            r.cmdid = (int32_t)(uint32_t)v;
            break;
        case 3:
            r.caller = (int32_t)(uint32_t)v;
            break;
        case 5:
            r.ts = (uint32_t)v;
            break;
        default:
            break;
        }
    }
    *ret = r;
    return 0;
}

int rp_report_next(rp_report_t *rep, rp_row_t *ret_row)
{
    while (rep->cur < rep->end) {
        uint32_t num;
        unsigned wt;
        uint64_t v;
        const uint8_t *data = NULL;

        /* Validated by rp_report_parse(). */
        rep->cur = get_field(rep->cur, rep->end, &num, &wt, &v, &data);
        if (!rep->cur) {
            rep->cur = rep->end;
            return 0;
        }
        if (num != 4)
            continue;
        decode_result(data, data + v, ret_row);
        ret_row->modid = rep->modid;
        ret_row->cmdid = rep->cmdid;
        ret_row->caller = rep->caller;
        ret_row->ts = rep->ts;
        return 1;
    }
    return 0;
}
