/*
 * Consistent hash ring that maps a (modid, cmdid) pair to one of N writers.
 *
 * Each writer owns `vnodes` points on a 32-bit ring (murmur3 of the writer
 * index and the point number); a pair belongs to the first point at or after
 * its own hash, found by binary search. The same pair always gives the same
 * writer, and adding a writer moves only about 1/N of the pairs.
 */
#ifndef LARS_REPORTER_RING_H
#define LARS_REPORTER_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct rp_ring rp_ring_t;

/* MurmurHash3, x86 32-bit variant. */
uint32_t rp_murmur3_32(const void *key, size_t len, uint32_t seed);

/* nodes >= 1, vnodes >= 1. Returns 0 or -EINVAL / -ENOMEM. */
int rp_ring_new(unsigned nodes, unsigned vnodes, rp_ring_t **ret_ring);
void rp_ring_free(rp_ring_t *ring);
unsigned rp_ring_nodes(const rp_ring_t *ring);
/* Any thread (the ring is immutable). */
unsigned rp_ring_lookup(const rp_ring_t *ring, int32_t modid, int32_t cmdid);

#endif
