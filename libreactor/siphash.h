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

/* The same for one 64-bit word (its 8 little-endian bytes), without the
 * generic tail handling: for hot paths keyed by a packed integer. */
uint64_t rx_siphash_u64(const rx_siphash_key_t *key, uint64_t word);

#endif
