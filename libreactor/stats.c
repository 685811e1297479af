/*
 * Transport counters: writers bump them with relaxed atomics on their own
 * loop; any thread may take a snapshot. The fields of one snapshot are read
 * one by one, so they need not be mutually consistent.
 */
#include "libreactor/internal.h"

#define LOAD(f) atomic_load_explicit(&((rx_stats_t *)s)->f, memory_order_relaxed)

void rx_stats_read(const rx_stats_t *s, rx_stats_snapshot_t *ret)
{
    *ret = (rx_stats_snapshot_t){
        .frames_in = LOAD(frames_in),
        .frames_out = LOAD(frames_out),
        .frames_bad = LOAD(frames_bad),
        .frames_unknown = LOAD(frames_unknown),
        .conns_accepted = LOAD(conns_accepted),
        .conns_refused = LOAD(conns_refused),
        .conns_closed = LOAD(conns_closed),
        .conns_idle_closed = LOAD(conns_idle_closed),
        .conns_slow_closed = LOAD(conns_slow_closed),
        .sends_refused = LOAD(sends_refused),
        .connects = LOAD(connects),
        .connect_failures = LOAD(connect_failures),
        .dgrams_in = LOAD(dgrams_in),
        .dgrams_out = LOAD(dgrams_out),
        .dgrams_send_failed = LOAD(dgrams_send_failed),
        .frames_truncated = LOAD(frames_truncated),
        .conns_first_frame_closed = LOAD(conns_first_frame_closed),
        .conns_source_refused = LOAD(conns_source_refused),
    };
}
