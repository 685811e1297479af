/*
 * Reconnect backoff: capped exponential delays with +-20 % jitter (100 ms
 * doubling to 5 s for every reconnection of the daemons). Used by the TCP
 * client and by the daemons for MariaDB.
 */
#include <stdint.h>
#include <time.h>

#include "libreactor/backoff.h"

#define BACKOFF_MIN_DEFAULT 100
#define BACKOFF_MAX_DEFAULT 5000

static uint32_t backoff_min(const rx_backoff_t *b)
{
    return b->min_ms ? b->min_ms : BACKOFF_MIN_DEFAULT;
}

static uint32_t backoff_max(const rx_backoff_t *b)
{
    uint32_t max = b->max_ms ? b->max_ms : BACKOFF_MAX_DEFAULT;

    return max < backoff_min(b) ? backoff_min(b) : max;
}

/* xorshift64*: jitter needs spread, not secrecy, and must not share state
 * (or a lock) with other threads the way rand() does. */
static uint64_t backoff_rand(rx_backoff_t *b)
{
    uint64_t x = b->rng;

    if (x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uintptr_t)b;
        x |= 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

void rx_backoff_init(rx_backoff_t *b, uint32_t min_ms, uint32_t max_ms)
{
    *b = (rx_backoff_t){.min_ms = min_ms, .max_ms = max_ms};
}

uint32_t rx_backoff_next_ms(rx_backoff_t *b)
{
    uint64_t base = b->base_ms ? b->base_ms : backoff_min(b);
    uint64_t span = base * 2 / 5; /* the width of [-20 %, +20 %] */
    uint64_t delay = base - base / 5 + (span ? backoff_rand(b) % (span + 1) : 0);
    uint64_t next = base * 2;

    b->base_ms = (uint32_t)(next > backoff_max(b) ? backoff_max(b) : next);
    return (uint32_t)delay;
}

void rx_backoff_reset(rx_backoff_t *b)
{
    b->base_ms = 0;
}
