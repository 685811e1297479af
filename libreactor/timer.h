/*
 * Timers of a loop: a binary min-heap per loop (O(log n) arm and stop)
 * with millisecond resolution on CLOCK_MONOTONIC.
 *
 * A timer is an object its owner creates once (rx_timer_new, or
 * rx_timer_add, which also arms it) and frees once (rx_timer_free). In
 * between it is armed or idle; firing never frees it: a one-shot timer that
 * fired is idle, and may be armed again, stopped (a no-op) or freed. Why:
 * when a one-shot freed itself after firing, every owner had to forget its
 * handle inside the callback and test the handle before cancelling, and a
 * cancel that came after the firing was a double free. Now a handle stays
 * valid from new to free whatever fired, so stop and free are always safe,
 * and an owner that arms the same deadline over and over (a retry, a
 * reconnect) reuses one timer instead of allocating one per arming. The
 * price: a timer nobody frees lives until its loop is freed.
 *
 * All calls on the loop's thread; every timer of a loop is freed with it
 * (rx_loop_free), so rx_timer_free must come before that.
 */
#ifndef LIBREACTOR_TIMER_H
#define LIBREACTOR_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libreactor/loop.h"

typedef struct rx_timer rx_timer_t;

typedef void (*rx_timer_cb)(rx_loop_t *loop, rx_timer_t *timer, void *arg);

/* An idle timer of loop that calls cb(loop, timer, arg) when it fires;
 * NULL on allocation failure. Arming it later cannot fail. */
rx_timer_t *rx_timer_new(rx_loop_t *loop, rx_timer_cb cb, void *arg);
/* rx_timer_new, then rx_timer_arm. */
rx_timer_t *rx_timer_add(rx_loop_t *loop, uint64_t delay_ms, uint64_t period_ms, rx_timer_cb cb,
                         void *arg);
/* Fires first after delay_ms (from rx_loop_now); then every period_ms if
 * period_ms > 0 (periods missed during a stall are skipped, not caught up),
 * else once, after which the timer is idle. Arming an armed timer moves it.
 * Timers with the same deadline fire in the order they were armed (or
 * re-armed by their period); a timer armed by a callback fires in a later
 * pass at the earliest. */
void rx_timer_arm(rx_timer_t *timer, uint64_t delay_ms, uint64_t period_ms);
/* Makes the timer idle: it does not fire until armed again. Safe inside its
 * own callback, and on an idle timer. Accepts NULL. */
void rx_timer_stop(rx_timer_t *timer);
/* True while the timer will fire unless stopped (a periodic timer inside
 * its own callback included); false for NULL. */
bool rx_timer_armed(const rx_timer_t *timer);
/* Stops and frees the timer; safe inside its own callback (the memory goes
 * when the callback returns). Accepts NULL. */
void rx_timer_free(rx_timer_t *timer);
/* Timers of the loop not yet freed, armed or idle. */
size_t rx_timer_count(const rx_loop_t *loop);

#endif
