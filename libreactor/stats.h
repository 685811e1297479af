/*
 * Counters of a transport (server or client), updated with relaxed atomics
 * on the transport's loop and readable from any thread with rx_stats_read().
 */
#ifndef LIBREACTOR_STATS_H
#define LIBREACTOR_STATS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct rx_stats {
    _Atomic uint64_t frames_in;      /* frames dispatched to a handler */
    _Atomic uint64_t frames_out;     /* frames queued for sending */
    _Atomic uint64_t frames_bad;     /* negative/oversized length, short datagram */
    _Atomic uint64_t frames_unknown; /* msgid with no handler */
    _Atomic uint64_t conns_accepted;
    _Atomic uint64_t conns_refused; /* over max_conns: accepted and closed */
    _Atomic uint64_t conns_closed;
    _Atomic uint64_t conns_idle_closed;
    _Atomic uint64_t conns_slow_closed; /* output over max_output */
    _Atomic uint64_t sends_refused;     /* send on a closed/full connection */
    _Atomic uint64_t connects;          /* client: successful connects */
    _Atomic uint64_t connect_failures;
    _Atomic uint64_t dgrams_in;
    _Atomic uint64_t dgrams_out;
    _Atomic uint64_t dgrams_send_failed;
    _Atomic uint64_t frames_truncated;         /* partial frame left at a drain's close */
    _Atomic uint64_t conns_first_frame_closed; /* no valid frame within first_frame_timeout */
    _Atomic uint64_t conns_source_refused;     /* over max_conns_per_source: accepted and closed */
} rx_stats_t;

typedef struct rx_stats_snapshot {
    uint64_t frames_in, frames_out, frames_bad, frames_unknown;
    uint64_t conns_accepted, conns_refused, conns_closed, conns_idle_closed, conns_slow_closed;
    uint64_t sends_refused, connects, connect_failures;
    uint64_t dgrams_in, dgrams_out, dgrams_send_failed;
    uint64_t frames_truncated;
    uint64_t conns_first_frame_closed, conns_source_refused;
} rx_stats_snapshot_t;

void rx_stats_read(const rx_stats_t *s, rx_stats_snapshot_t *ret);

#endif
