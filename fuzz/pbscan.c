/*
 * A strict check of protobuf tags for the decoder oracles: protobuf-c takes
 * some tags the protobuf spec forbids (field number 0 written in two bytes,
 * 5-byte tags whose bits exceed 32, field numbers above 2^29 - 1, a bool in
 * a fixed32) which our decoders may rightly refuse, and refuses tags and
 * length prefixes of more than 5 bytes, which ours read. Inputs with such
 * tags or lengths are excluded from the "accept what protobuf-c accepts,
 * and only that" check.
 */
#include <stdbool.h>

#include "fuzz/fuzz.h"

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
    uint64_t v = 0;

    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return true;
        }
    }
    return false;
}

static bool is_sub(uint32_t num, const uint32_t *sub, size_t nsub)
{
    for (size_t i = 0; i < nsub; i++)
        if (sub[i] == num)
            return true;
    return false;
}

bool fuzz_pb_tags_valid(const uint8_t *p, size_t n, uint32_t known, const uint32_t *sub,
                        size_t nsub, uint32_t sub_known, unsigned *ret_nsub)
{
    const uint8_t *end = p + n;

    while (p < end) {
        uint64_t tag, v;
        const uint8_t *start = p;
        uint32_t num;

        if (!get_varint(&p, end, &tag) || p - start > 5 || tag > UINT32_MAX)
            return false;
        num = (uint32_t)(tag >> 3);
        if (num == 0 || num > (1u << 29) - 1)
            return false;
        /* A known field with another wire type than its own. */
        if (num <= known && (tag & 7) != (is_sub(num, sub, nsub) ? 2u : 0u))
            return false;
        switch (tag & 7) {
        case 0:
            if (!get_varint(&p, end, &v))
                return false;
            break;
        case 1:
        case 5:
            if ((size_t)(end - p) < ((tag & 7) == 1 ? 8u : 4u))
                return false;
            p += (tag & 7) == 1 ? 8 : 4;
            break;
        case 2:
            start = p;
            if (!get_varint(&p, end, &v) || p - start > 5 || v > (uint64_t)(end - p))
                return false;
            if (is_sub(num, sub, nsub)) {
                if (!fuzz_pb_tags_valid(p, (size_t)v, sub_known, NULL, 0, 0, NULL))
                    return false;
                if (ret_nsub)
                    ++*ret_nsub;
            }
            p += v;
            break;
        default:
            return false;
        }
    }
    return true;
}
