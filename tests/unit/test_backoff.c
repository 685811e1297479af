/*
 * Tests for libreactor/backoff.c: the reconnect delay sequence
 * (100 ms doubling to 5 s, +-20 % jitter, reset).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

static void assert_jittered(uint32_t delay, uint32_t base)
{
    assert_in_range(delay, base - base / 5, base + base / 5);
}

static void backoff_doubles_up_to_the_cap(void **state)
{
    static const uint32_t bases[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
    rx_backoff_t b;

    rx_backoff_init(&b, 100, 5000);
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
        assert_jittered(rx_backoff_next_ms(&b), bases[i]);
}

static void backoff_zeroed_struct_uses_spec_defaults(void **state)
{
    rx_backoff_t b = {0};
    uint32_t d = 0;

    assert_jittered(rx_backoff_next_ms(&b), 100);
    for (int i = 0; i < 20; i++)
        d = rx_backoff_next_ms(&b);
    assert_jittered(d, 5000);
}

static void backoff_jitter_stays_within_20_percent_and_varies(void **state)
{
    rx_backoff_t b;
    uint32_t lo = UINT32_MAX, hi = 0;

    rx_backoff_init(&b, 1000, 1000);
    for (int i = 0; i < 2000; i++) {
        uint32_t d = rx_backoff_next_ms(&b);
        assert_jittered(d, 1000);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    /* 2000 uniform draws over [800, 1200] cover most of it. */
    assert_true(lo < 850);
    assert_true(hi > 1150);
}

static void backoff_reset_starts_again_at_min(void **state)
{
    rx_backoff_t b;

    rx_backoff_init(&b, 50, 400);
    for (int i = 0; i < 6; i++)
        rx_backoff_next_ms(&b);
    assert_jittered(rx_backoff_next_ms(&b), 400);
    rx_backoff_reset(&b);
    assert_jittered(rx_backoff_next_ms(&b), 50);
    assert_jittered(rx_backoff_next_ms(&b), 100);
}

static void backoff_max_below_min_is_raised_to_min(void **state)
{
    rx_backoff_t b;

    rx_backoff_init(&b, 300, 100);
    assert_jittered(rx_backoff_next_ms(&b), 300);
    assert_jittered(rx_backoff_next_ms(&b), 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_up_to_the_cap),
        cmocka_unit_test(backoff_zeroed_struct_uses_spec_defaults),
        cmocka_unit_test(backoff_jitter_stays_within_20_percent_and_varies),
        cmocka_unit_test(backoff_reset_starts_again_at_min),
        cmocka_unit_test(backoff_max_below_min_is_raised_to_min),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
