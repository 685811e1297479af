/*
 * SipHash-1-3 with a random per-process key: the hash of every table whose
 * keys a peer may choose (rx_map, and anything that spreads such keys over
 * buckets or threads). Without the key nobody can compute which keys share
 * a bucket, so chosen keys cannot turn lookups into list walks.
 *
 * The process key is 128 bits from getrandom(), drawn once on first use.
 * Tests may fix it with rx_siphash_set_process_key() before creating maps.
 */
#ifndef LIBREACTOR_SIPHASH_H
#define LIBREACTOR_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct rx_siphash_key {
    uint64_t k0, k1;
} rx_siphash_key_t;

/* The process key. Any thread. */
void rx_siphash_process_key(rx_siphash_key_t *ret_key);

/* Replaces the process key; tables built before keep the key they copied.
 * For tests (reproducible layouts), before any other thread uses it. */
void rx_siphash_set_process_key(const rx_siphash_key_t *key);

/* SipHash-1-3 of len bytes under key (the reference algorithm: the key as
 * two little-endian 64-bit words k0 = bytes 0..7, k1 = bytes 8..15). */
uint64_t rx_siphash(const rx_siphash_key_t *key, const void *data, size_t len);

/* The rounds, shared with siphash.c; inline below for the hot paths. */
#define RX_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define RX_SIPROUND(v0, v1, v2, v3)                                                                \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = RX_SIP_ROTL(v1, 13);                                                                  \
        v1 ^= v0;                                                                                  \
        v0 = RX_SIP_ROTL(v0, 32);                                                                  \
        v2 += v3;                                                                                  \
        v3 = RX_SIP_ROTL(v3, 16);                                                                  \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = RX_SIP_ROTL(v3, 21);                                                                  \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = RX_SIP_ROTL(v1, 17);                                                                  \
        v1 ^= v2;                                                                                  \
        v2 = RX_SIP_ROTL(v2, 32);                                                                  \
    } while (0)

/* The same as rx_siphash() of one 64-bit word's 8 little-endian bytes,
 * inline: for hot paths keyed by a packed integer (a get_host). */
__attribute__((always_inline)) static inline uint64_t rx_siphash_u64(const rx_siphash_key_t *key,
                                                                     uint64_t word)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0, v1 = 0x646f72616e646f6dULL ^ key->k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0, v3 = 0x7465646279746573ULL ^ key->k1;
    const uint64_t last = (uint64_t)8 << 56;

    v3 ^= word;
    RX_SIPROUND(v0, v1, v2, v3);
    v0 ^= word;
    v3 ^= last;
    RX_SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    RX_SIPROUND(v0, v1, v2, v3);
    RX_SIPROUND(v0, v1, v2, v3);
    RX_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

#endif
