/*
 * Reconnect delays: the base starts at min_ms, doubles after
 * each failure up to max_ms; every delay is the base +-20 % (uniform jitter),
 * so a fleet that lost the same server does not come back in lockstep.
 */
#ifndef LIBREACTOR_BACKOFF_H
#define LIBREACTOR_BACKOFF_H

#include <stdint.h>

/* A zeroed rx_backoff_t is valid: 100 ms .. 5000 ms. Not thread-safe. */
typedef struct rx_backoff {
    uint32_t min_ms;  /* 0: 100 */
    uint32_t max_ms;  /* 0: 5000 */
    uint32_t base_ms; /* next base; 0: min_ms */
    uint64_t rng;     /* jitter state; 0: seeded on first use */
} rx_backoff_t;

void rx_backoff_init(rx_backoff_t *b, uint32_t min_ms, uint32_t max_ms);
/* The delay before the next attempt; advances the sequence. */
uint32_t rx_backoff_next_ms(rx_backoff_t *b);
/* After a success: the next delay is min_ms again (with jitter). */
void rx_backoff_reset(rx_backoff_t *b);

#endif
