/*
 * One shard's map of (modid, cmdid) pairs to their balancers (see
 * route_cache.h): an rx_map whose nodes and keys live in the balancers
 * (lb_pair_map_type), so a get_host looks at the bucket array and the
 * balancer it finds, and allocates nothing. Pairs come from applications,
 * hence the keyed hash: no choice of pairs makes the chains long.
 */
#include "daemons/agent/route_cache.h"

#include <errno.h>
#include <stdlib.h>

struct route_cache {
    lb_ctx_t *ctx;
    rx_map_t pairs;
    size_t max_pairs;
};

int route_cache_new(lb_ctx_t *ctx, size_t max_pairs, route_cache_t **ret_cache)
{
    route_cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->ctx = ctx;
    c->max_pairs = max_pairs;
    rx_map_init(&c->pairs, &lb_pair_map_type);
    *ret_cache = c;
    return 0;
}

void route_cache_free(route_cache_t *cache)
{
    rx_map_iter_t it;
    rx_map_node_t *n;

    if (!cache)
        return;
    rx_map_iter_init(&it, &cache->pairs);
    while ((n = rx_map_iter_next(&it)))
        lb_free(lb_of_pair_node(n));
    rx_map_free(&cache->pairs);
    free(cache);
}

size_t route_cache_count(const route_cache_t *cache)
{
    return rx_map_count(&cache->pairs);
}

lb_ctx_t *route_cache_ctx(const route_cache_t *cache)
{
    return cache->ctx;
}

lb_balancer_t *route_cache_find(route_cache_t *cache, int32_t modid, int32_t cmdid)
{
    lb_pair_key_t key = {modid, cmdid};
    rx_map_node_t *n = rx_map_find(&cache->pairs, &key);

    return n ? lb_of_pair_node(n) : NULL;
}

static int create(route_cache_t *c, int32_t modid, int32_t cmdid, uint64_t now,
                  lb_balancer_t **ret_b)
{
    lb_pair_key_t key = {modid, cmdid};

    if (c->max_pairs && rx_map_count(&c->pairs) >= c->max_pairs)
        return -ENOSPC;
    lb_balancer_t *b = lb_new(c->ctx, modid, cmdid, now);
    if (!b)
        return -ENOMEM;
    int r = rx_map_insert(&c->pairs, lb_pair_node(b), &key);
    if (r < 0) {
        lb_free(b);
        return r;
    }
    *ret_b = b;
    return 0;
}

int route_cache_get(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                    lb_balancer_t **ret_b, bool *ret_created)
{
    lb_balancer_t *b = route_cache_find(cache, modid, cmdid);
    *ret_created = false;
    if (b) {
        *ret_b = b;
        return 0;
    }
    int r = create(cache, modid, cmdid, now, ret_b);
    if (r < 0) {
        lb_ctx_counters(cache->ctx)->pairs_refused++;
        return r;
    }
    lb_ctx_counters(cache->ctx)->pulls++;
    *ret_created = true;
    return 0;
}

int route_cache_get_host(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                         lb_host_t *ret_host, bool *ret_pull)
{
    lb_balancer_t *b;
    bool created;

    if (route_cache_get(cache, modid, cmdid, now, &b, &created) < 0 || created) {
        *ret_pull = created;
        return LB_RET_NOEXIST;
    }
    return lb_get_host(b, now, ret_host, ret_pull);
}

size_t route_cache_get_route(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                             lb_host_t *out, size_t max, bool *ret_pull)
{
    lb_balancer_t *b;
    bool created;

    if (route_cache_get(cache, modid, cmdid, now, &b, &created) < 0 || created) {
        *ret_pull = created;
        return 0;
    }
    return lb_get_route(b, now, out, max, ret_pull);
}

int route_cache_report(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now, int32_t ip,
                       int32_t port, int retcode, uint32_t timecost_ms)
{
    lb_balancer_t *b = route_cache_find(cache, modid, cmdid);
    if (!b) {
        lb_ctx_counters(cache->ctx)->reports_unknown_pair++;
        return -ENOENT;
    }
    return lb_report(b, now, ip, port, retcode, timecost_ms);
}

int route_cache_update_route(route_cache_t *cache, int32_t modid, int32_t cmdid, uint64_t now,
                             const lb_host_t *hosts, size_t n)
{
    lb_balancer_t *b = route_cache_find(cache, modid, cmdid);
    if (!b)
        return -ENOENT;
    return lb_update_route(b, now, hosts, n);
}

/* Iteration moves no bucket, so callbacks may look pairs up. */
void route_cache_foreach(route_cache_t *cache, void (*cb)(lb_balancer_t *b, void *arg), void *arg)
{
    rx_map_iter_t it;
    rx_map_node_t *n;

    rx_map_iter_init(&it, &cache->pairs);
    while ((n = rx_map_iter_next(&it)))
        cb(lb_of_pair_node(n), arg);
}

void route_cache_tick(route_cache_t *cache, uint64_t now,
                      void (*pull)(int32_t modid, int32_t cmdid, void *arg), void *arg)
{
    lb_counters_t *c = lb_ctx_counters(cache->ctx);
    rx_map_iter_t it;
    rx_map_node_t *n;

    rx_map_iter_init(&it, &cache->pairs);
    while ((n = rx_map_iter_next(&it))) {
        lb_balancer_t *b = lb_of_pair_node(n);

        switch (lb_evict_due(b, now)) {
        case LB_EVICT_NEGATIVE:
            c->evicted_negative++;
            rx_map_remove(&cache->pairs, n);
            lb_free(b);
            continue;
        case LB_EVICT_IDLE:
            c->evicted_idle++;
            rx_map_remove(&cache->pairs, n);
            lb_free(b);
            continue;
        case LB_KEEP:
            break;
        }
        lb_tick(b, now);
        if (lb_pull_retry_due(b, now) && pull)
            pull(lb_modid(b), lb_cmdid(b), arg);
    }
}

typedef struct reconnect_ctx {
    void (*cb)(int32_t modid, int32_t cmdid, void *arg);
    void *arg;
} reconnect_ctx_t;

static void reconnect_one(lb_balancer_t *b, void *arg)
{
    const reconnect_ctx_t *rc = arg;

    lb_on_dns_reconnect(b);
    if (rc->cb)
        rc->cb(lb_modid(b), lb_cmdid(b), rc->arg);
}

void route_cache_on_dns_reconnect(route_cache_t *cache,
                                  void (*cb)(int32_t modid, int32_t cmdid, void *arg), void *arg)
{
    reconnect_ctx_t rc = {cb, arg};

    route_cache_foreach(cache, reconnect_one, &rc);
}

static void add_memory(lb_balancer_t *b, void *arg)
{
    *(size_t *)arg += lb_memory(b);
}

size_t route_cache_memory(route_cache_t *cache)
{
    size_t bytes = sizeof(*cache) + rx_map_memory(&cache->pairs);

    route_cache_foreach(cache, add_memory, &bytes);
    return bytes;
}

void route_cache_map_stats(const route_cache_t *cache, rx_map_stats_t *ret_stats)
{
    rx_map_stats(&cache->pairs, ret_stats);
}
