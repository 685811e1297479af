/*
 * A writer's pending rows, coalesced by the ServerCallStatus primary key
 * (modid, cmdid, ip, port, caller).
 *
 * A hash map holds one entry per key; an intrusive list keeps the entries in
 * the order they were last updated, so the head is the oldest pending update
 * (what a full queue drops, and what a flush writes first). A flush takes
 * rows out of the list but leaves them in the map ("in flight"): an update
 * that arrives meanwhile puts the key back on the list with the newer values,
 * a failed statement puts untouched keys back at the head, and a successful
 * one removes only the keys that were not updated since. Nothing is lost
 * while the database is down, and the newest snapshot always wins.
 *
 * The map is an rx_map (keyed hash: agents choose the keys). Released
 * entries are kept for reuse, so steady traffic allocates nothing and the
 * entries never outnumber the largest limit set. Not thread-safe: the
 * writer guards it with its mutex.
 */
#ifndef LARS_REPORTER_PENDING_H
#define LARS_REPORTER_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One ServerCallStatus row. ip and caller are IPv4 numbers (INET_ATON)
 * carried as int32 on the wire. */
typedef struct rp_row {
    int32_t modid, cmdid, ip, port, caller;
    uint32_t succ, err;
    uint32_t ts;
    bool overload;
} rp_row_t;

typedef struct rp_pending rp_pending_t;

typedef struct rp_pending_stats {
    uint64_t puts;      /* rows accepted */
    uint64_t coalesced; /* rows that replaced a pending row of the same key */
    uint64_t drops;     /* pending keys dropped because the queue was full */
} rp_pending_stats_t;

/* limit: the most distinct keys held (pending and in flight), >= 1. */
rp_pending_t *rp_pending_new(size_t limit);
void rp_pending_free(rp_pending_t *q);

/* Adds or replaces the row of its key. When the queue is full the oldest
 * pending key is dropped first; returns 1 then, else 0; -ENOMEM when the
 * table cannot grow (the row is dropped and counted). */
int rp_pending_put(rp_pending_t *q, const rp_row_t *row);

/* Copies up to max of the oldest pending rows into rows (oldest first) and
 * marks them in flight. Returns how many. */
size_t rp_pending_take(rp_pending_t *q, rp_row_t *rows, size_t max);

/* Settles rows returned by rp_pending_take: ok removes those not updated
 * since; !ok puts them back at the head, in their order. */
void rp_pending_done(rp_pending_t *q, const rp_row_t *rows, size_t n, bool ok);

/* Distinct keys held (pending and in flight). */
size_t rp_pending_count(const rp_pending_t *q);
/* Keys waiting for a flush (not in flight). */
size_t rp_pending_waiting(const rp_pending_t *q);
size_t rp_pending_limit(const rp_pending_t *q);
/* Changes the limit (keys above it are dropped, oldest first, on the next puts). */
void rp_pending_set_limit(rp_pending_t *q, size_t limit);
void rp_pending_stats(const rp_pending_t *q, rp_pending_stats_t *ret);

#endif
