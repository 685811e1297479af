/*
 * One agent shard's route cache: (modid, cmdid) -> load balancer.
 *
 * A keyed hash map (rx_map) of balancers (balancers never move, so a
 * pointer stays valid until route_cache_free()). Pairs are created on
 * first use (get_host, get_route) in PULLING state; the tick evicts pairs
 * nobody asked for within pair_idle_timeout_ms and negative entries (no
 * hosts: lars-dns reported the pair empty, or never answered) after
 * negative_ttl_ms (see lb_config_t), so applications cannot fill the cache
 * with pairs that do not exist. Lookups of known pairs
 * allocate nothing. Owned by the shard's thread like its lb_ctx_t, which must
 * outlive it. All times are monotonic milliseconds (see balancer.h).
 */
#ifndef LARS_AGENT_ROUTE_CACHE_H
#define LARS_AGENT_ROUTE_CACHE_H

#include "daemons/agent/balancer.h"

typedef struct route_cache route_cache_t;

/* max_pairs bounds the pairs applications can make us create (0: no bound).
 * Returns -ENOMEM or 0. */
int route_cache_new(lb_ctx_t *ctx, size_t max_pairs, route_cache_t **ret_cache);
/* Frees the cache and its balancers. Accepts NULL. */
void route_cache_free(route_cache_t *cache);

size_t route_cache_count(const route_cache_t *cache);
lb_ctx_t *route_cache_ctx(const route_cache_t *cache);

/* NULL when the pair is unknown. */
lb_balancer_t *route_cache_find(route_cache_t *cache, int32_t modid, int32_t cmdid);

/* Finds or creates (PULLING) the pair's balancer; *ret_created tells the
 * caller to request its route. -ENOSPC when max_pairs is reached, -ENOMEM;
 * both counted as pairs_refused. */
int route_cache_get(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                    lb_balancer_t **ret_b, bool *ret_created);

/* get_host (docs/balancing.md, get_host, steps 1-6): an unknown pair is
 * created, *ret_pull set and LB_RET_NOEXIST returned; a pair that cannot be created answers
 * LB_RET_NOEXIST without a pull. */
int route_cache_get_host(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                         lb_host_t *ret_host, bool *ret_pull);

/* get_route: like lb_get_route(), creating an unknown pair as get_host does
 * (then 0 hosts). */
size_t route_cache_get_route(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                             lb_host_t *out, size_t max, bool *ret_pull);

/* -ENOENT (counted) for an unknown pair or host. */
int route_cache_report(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now, int32_t ip,
                       int32_t port, int retcode, uint32_t timecost_ms);

/* A GetRouteResponse; -ENOENT for a pair this cache does not hold (the
 * original ignores those too), else as lb_update_route(). */
int route_cache_update_route(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                             const lb_host_t *hosts, size_t n);

/* The shard's once-a-second timer: evicts the pairs lb_evict_due() names
 * (before a tick could snapshot them), ticks the others, and calls pull
 * (may be NULL) for every pair whose request is due again. pull must not
 * add or remove pairs. */
void route_cache_tick(route_cache_t *cache, uint64_t now,
                      void (*pull)(int32_t modid, int32_t cmdid, void *arg), void *arg);

/* Every balancer, in no particular order. cb must not add pairs. */
void route_cache_foreach(route_cache_t *cache, void (*cb)(lb_balancer_t *b, void *arg), void *arg);

/* lars-dns (re)connected: every PULLING pair becomes NEW, then cb is called
 * for every known pair so the caller requests (and subscribes to) it. */
void route_cache_on_dns_reconnect(route_cache_t *cache,
                                  void (*cb)(int32_t modid, int32_t cmdid, void *arg), void *arg);

/* Heap bytes held by the cache and its balancers (without malloc overhead). */
size_t route_cache_memory(route_cache_t *cache);

/* The shape of the pair map's chains (tests). */
void route_cache_map_stats(const route_cache_t *cache, rx_map_stats_t *ret_stats);

#endif
