/*
 * Keys chosen against the mixer every table used before rx_map (murmur3's
 * fmix64 of modid << 32 | cmdid, with the hash masked to the table size):
 * colliding_key(i) for i = 0, 1, ... are distinct pairs whose old hashes
 * share their low COLLIDING_BITS bits, so they all fell into one bucket (or
 * one probe run) of any table up to 2^COLLIDING_BITS slots. Built by
 * inverting the mixer: its multiplications are by odd constants, invertible
 * modulo 2^64, and x ^= x >> 33 undoes itself.
 */
#ifndef LARS_HARNESS_COLLIDING_KEYS_H
#define LARS_HARNESS_COLLIDING_KEYS_H

#include <stdint.h>

#define COLLIDING_BITS 17

static inline uint64_t old_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t inverse_odd(uint64_t c)
{
    uint64_t x = c; /* right to 3 bits; each Newton step doubles that */

    for (int i = 0; i < 5; i++)
        x *= 2 - c * x;
    return x;
}

static inline uint64_t old_unmix(uint64_t h)
{
    h ^= h >> 33;
    h *= inverse_odd(0xc4ceb9fe1a85ec53ULL);
    h ^= h >> 33;
    h *= inverse_odd(0xff51afd7ed558ccdULL);
    h ^= h >> 33;
    return h;
}

/* The i-th colliding key as modid << 32 | cmdid. */
static inline uint64_t colliding_key(uint64_t i)
{
    return old_unmix((i + 1) << COLLIDING_BITS);
}

static inline int32_t colliding_modid(uint64_t i)
{
    return (int32_t)(uint32_t)(colliding_key(i) >> 32);
}

static inline int32_t colliding_cmdid(uint64_t i)
{
    return (int32_t)(uint32_t)colliding_key(i);
}

#endif
