/*
 * Consistent hash ring (see ring.h).
 */
#include "daemons/reporter/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct ring_point {
    uint32_t hash;
    unsigned node;
} ring_point_t;

struct rp_ring {
    unsigned nodes;
    size_t npoints;
    ring_point_t points[];
};

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

uint32_t rp_murmur3_32(const void *key, size_t len, uint32_t seed)
{
    const uint8_t *data = key;
    const size_t nblocks = len / 4;
    const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
    uint32_t h1 = seed, k1;

    for (size_t i = 0; i < nblocks; i++) {
        memcpy(&k1, data + i * 4, 4); /* the reference reads little-endian */
        k1 *= c1;
        k1 = rotl32(k1, 15);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl32(h1, 13);
        h1 = h1 * 5 + 0xe6546b64;
    }

    const uint8_t *tail = data + nblocks * 4;
    k1 = 0;
    switch (len & 3) {
    case 3:
        k1 ^= (uint32_t)tail[2] << 16;
        /* fallthrough */
    case 2:
        k1 ^= (uint32_t)tail[1] << 8;
        /* fallthrough */
    case 1:
        k1 ^= tail[0];
        k1 *= c1;
        k1 = rotl32(k1, 15);
        k1 *= c2;
        h1 ^= k1;
    }

    h1 ^= (uint32_t)len;
    return fmix32(h1);
}

static int point_cmp(const void *a, const void *b)
{
    const ring_point_t *x = a, *y = b;

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

int rp_ring_new(unsigned nodes, unsigned vnodes, rp_ring_t **ret_ring)
{
    if (nodes == 0 || vnodes == 0 || vnodes > 65536 || nodes > 65536)
        return -EINVAL;

    size_t npoints = (size_t)nodes * vnodes;
    rp_ring_t *ring = malloc(sizeof(*ring) + npoints * sizeof(ring_point_t));
    if (!ring)
        return -ENOMEM;
    ring->nodes = nodes;
    ring->npoints = npoints;

    for (unsigned n = 0; n < nodes; n++)
        for (unsigned v = 0; v < vnodes; v++) {
            uint32_t id[2] = {n, v};
            ring_point_t *pt = &ring->points[(size_t)n * vnodes + v];
            pt->hash = rp_murmur3_32(id, sizeof(id), 0x4c617273);
            pt->node = n;
        }
    qsort(ring->points, npoints, sizeof(ring_point_t), point_cmp);
    *ret_ring = ring;
    return 0;
}

void rp_ring_free(rp_ring_t *ring)
{
    free(ring);
}

unsigned rp_ring_nodes(const rp_ring_t *ring)
{
    return ring->nodes;
}

unsigned rp_ring_lookup(const rp_ring_t *ring, int32_t modid, int32_t cmdid)
{
    int32_t key[2] = {modid, cmdid};
    uint32_t h = rp_murmur3_32(key, sizeof(key), 0);
    size_t lo = 0, hi = ring->npoints;

    /* First point whose hash is >= h; past the last point wraps to 0. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring->points[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return ring->points[lo == ring->npoints ? 0 : lo].node;
}
