/*
 * Timers of a loop: a binary min-heap per loop (O(log n) insert and cancel)
 * with millisecond resolution on CLOCK_MONOTONIC.
 */
#ifndef LIBREACTOR_TIMER_H
#define LIBREACTOR_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "libreactor/loop.h"

typedef struct rx_timer rx_timer_t;

typedef void (*rx_timer_cb)(rx_loop_t *loop, rx_timer_t *timer, void *arg);

/* First fires after delay_ms (from rx_loop_now); then every period_ms if
 * period_ms > 0 (periods missed during a stall are skipped, not caught up),
 * else once (a one-shot timer is freed after its callback returns). Timers
 * with the same deadline fire in the order they were armed (added, reset or
 * re-armed); a timer armed by a callback fires in a later pass at the
 * earliest. Returns NULL on allocation failure. */
rx_timer_t *rx_timer_add(rx_loop_t *loop, uint64_t delay_ms, uint64_t period_ms, rx_timer_cb cb,
                         void *arg);
/* Cancels and frees a pending timer; safe inside the timer's own callback.
 * Accepts NULL. Never call it on a one-shot timer that has already fired. */
void rx_timer_cancel(rx_loop_t *loop, rx_timer_t *timer);
/* Moves the next expiry to now + delay_ms (keeps the period). Inside the
 * callback of a one-shot timer it re-arms it (the timer is then not freed);
 * on a timer cancelled in its own callback it does nothing. */
void rx_timer_reset(rx_loop_t *loop, rx_timer_t *timer, uint64_t delay_ms);
/* Timers not yet freed (pending, or firing right now). */
size_t rx_timer_count(const rx_loop_t *loop);

#endif
