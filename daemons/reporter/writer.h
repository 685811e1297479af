/*
 * A writer: one thread that owns one MariaDB connection and upserts the rows
 * of the pairs the ring gives it into ServerCallStatus.
 *
 * Network loops hand rows over with rp_writer_put(), which only takes the
 * writer's mutex for the few map operations (it never waits for the
 * database). The thread flushes up to batch_rows rows per statement when
 * that many wait or batch_ms passed since the last flush. While MariaDB is
 * down rows keep coalescing (bounded by the limit), the thread reconnects
 * with backoff, and the rows of a failed statement stay pending.
 *
 * Ownership: the rp_writer_t belongs to the thread that created it; the
 * pending queue and counters are shared under `lock`; the MYSQL handle and
 * SQL buffer belong to the writer thread.
 */
#ifndef LARS_REPORTER_WRITER_H
#define LARS_REPORTER_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemons/common/db.h"
#include "daemons/reporter/pending.h"

typedef struct rp_writer rp_writer_t;

typedef struct rp_writer_config {
    unsigned index;
    const lars_db_settings_t *db; /* copied */
    size_t batch_rows;            /* >= 1 */
    uint32_t batch_ms;
    size_t limit; /* distinct pending keys, >= 1 */
} rp_writer_config_t;

typedef struct rp_writer_stats {
    uint64_t rows_upserted; /* rows sent in successful statements */
    uint64_t statements;    /* successful statements */
    uint64_t db_errors;     /* failed statements and connection attempts */
    uint64_t reconnects;    /* successful connects after the first */
    uint64_t drops;         /* pending keys dropped at the limit */
    uint64_t rows_in;       /* rows handed over */
    uint64_t coalesced;     /* rows that replaced a pending one */
    uint64_t pending;       /* distinct keys held now */
    bool connected;
    uint64_t heartbeat_ms; /* rx_time_ms() of the thread's last iteration */
} rp_writer_stats_t;

int rp_writer_new(const rp_writer_config_t *cfg, rp_writer_t **ret_writer);
int rp_writer_start(rp_writer_t *w);
/* Any thread. Returns how many pending keys were dropped to make room. */
size_t rp_writer_put(rp_writer_t *w, const rp_row_t *rows, size_t n);
/* Any thread: new batch settings (SIGHUP). */
void rp_writer_set_batch(rp_writer_t *w, size_t batch_rows, uint32_t batch_ms);
/* Any thread. */
void rp_writer_stats(rp_writer_t *w, rp_writer_stats_t *ret);
/* Any thread: from now on flush everything pending at once (retrying the
 * database until deadline_ms, an rx_time_ms() value), then end the thread.
 * Lets several writers flush in parallel before rp_writer_stop(). */
void rp_writer_stop_begin(rp_writer_t *w, uint64_t deadline_ms);
/* rp_writer_stop_begin() and join. Returns the keys left unflushed. */
size_t rp_writer_stop(rp_writer_t *w, uint64_t deadline_ms);
/* Stops first (with no time to flush) if still running. Accepts NULL. */
void rp_writer_free(rp_writer_t *w);

#endif
