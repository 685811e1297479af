/*
 * lars-dns route table: immutable snapshots of RouteData.
 *
 * A snapshot maps (modid, cmdid) to a compact array of hosts. Pairs are kept
 * sorted by (modid, cmdid) as unsigned numbers (the order MariaDB gives for
 * INT UNSIGNED) and every pair's hosts are sorted by (ip, port) and unique,
 * so two snapshots can be diffed by one merge walk. An open-addressing index
 * of 32-bit slots, built once and at most half full, gives O(1) lookups; its
 * hash is SipHash under the process key (agents choose the pairs they look
 * up, so they must not be able to aim at long probe runs). 1,000,000 routes
 * in 100,000 pairs take about 8 MiB of hosts + 1.6 MiB of pairs + 1 MiB of
 * index.
 *
 * Once built a snapshot is never modified, so any number of threads may read
 * it without locks; who frees it is decided by dns.c (see the grace period
 * there).
 */
#ifndef LARS_DNS_ROUTE_TABLE_H
#define LARS_DNS_ROUTE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "libreactor/siphash.h"
#include "proto/wire.h"

/* A route's host as the protocol carries it (HostInfo: INET_ATON value as
 * int32, two's complement), so replies are encoded from the table as is. */
typedef wire_host_t route_host_t;

typedef struct route_pair {
    int32_t modid;
    int32_t cmdid;
    uint32_t first; /* index of the first host in route_table_t.hosts */
    uint32_t count;
} route_pair_t;

typedef struct route_table {
    route_pair_t *pairs; /* sorted by (modid, cmdid) unsigned */
    size_t npairs;
    route_host_t *hosts;
    size_t nhosts;
    uint32_t *index; /* pair indices; UINT32_MAX = empty slot */
    size_t index_mask;
    rx_siphash_key_t hash_key; /* the process key, copied */
    uint64_t version;          /* RouteVersion.version it was loaded at */
} route_table_t;

/* Builds a snapshot row by row. Rows may come in any order (sorted input,
 * as the DB query gives, avoids a sort); duplicate rows are dropped. */
typedef struct route_builder route_builder_t;

route_builder_t *route_builder_new(void);
int route_builder_add(route_builder_t *b, int32_t modid, int32_t cmdid, int32_t ip, int32_t port);
/* Consumes the builder (also on failure). */
int route_builder_finish(route_builder_t *b, uint64_t version, route_table_t **ret);
void route_builder_free(route_builder_t *b);

/* An empty table (version 0). */
route_table_t *route_table_new_empty(void);
void route_table_free(route_table_t *t);

/* Returns the pair or NULL. Allocation-free, lock-free. */
const route_pair_t *route_table_lookup(const route_table_t *t, int32_t modid, int32_t cmdid);

static inline const route_host_t *route_pair_hosts(const route_table_t *t, const route_pair_t *p)
{
    return t->hosts + p->first;
}

/* A pair's key, for the incremental update. */
typedef struct route_key {
    int32_t modid;
    int32_t cmdid;
} route_key_t;

/* Sorts keys by (modid, cmdid) unsigned and drops duplicates; returns the
 * new count. */
size_t route_keys_sort_unique(route_key_t *keys, size_t n);

/* A new snapshot: base with the pairs of `keys` (sorted and unique) taking
 * their hosts from delta, or dropped when delta lacks them. Unchanged pairs'
 * hosts are copied, so the result shares nothing with base and either may
 * be freed first. */
int route_table_patch(const route_table_t *base, const route_table_t *delta,
                      const route_key_t *keys, size_t nkeys, uint64_t version, route_table_t **ret);

/* Bytes the snapshot holds (for STATUS and the benchmark). */
size_t route_table_bytes(const route_table_t *t);

/* The longest distance of a pair from its home slot in the index (tests). */
size_t route_table_longest_probe(const route_table_t *t);

/* Calls cb for every pair whose host set differs between old and new
 * (added, removed or changed), in (modid, cmdid) order. Either table may be
 * NULL (treated as empty). Returns the number of changed pairs. */
typedef void (*route_diff_cb)(int32_t modid, int32_t cmdid, void *arg);
size_t route_table_diff(const route_table_t *old, const route_table_t *new, route_diff_cb cb,
                        void *arg);
/* The same, for the pairs of `keys` only (the others are known equal). */
size_t route_table_diff_keys(const route_table_t *old, const route_table_t *new,
                             const route_key_t *keys, size_t nkeys, route_diff_cb cb, void *arg);

#endif
