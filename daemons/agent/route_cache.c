/*
 * One shard's map of (modid, cmdid) pairs to their balancers (see
 * route_cache.h). Linear probing over a power-of-two table holding the key
 * next to the pointer, so a probe does not touch the balancer; grown by
 * doubling at 70 % load, which happens only when a pair is created.
 */
#include "daemons/agent/route_cache.h"

#include <errno.h>
#include <stdlib.h>

typedef struct rc_slot {
    uint64_t key;
    lb_balancer_t *b; /* NULL: empty */
} rc_slot_t;

struct route_cache {
    lb_ctx_t *ctx;
    rc_slot_t *slots;
    size_t mask, count, max_pairs;
};

#define RC_INITIAL_SLOTS 64

static uint64_t pair_key(int32_t modid, int32_t cmdid)
{
    return (uint64_t)(uint32_t)modid << 32 | (uint32_t)cmdid;
}

static size_t pair_hash(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ULL;
    key ^= key >> 33;
    return (size_t)key;
}

int route_cache_new(lb_ctx_t *ctx, size_t max_pairs, route_cache_t **ret_cache)
{
    route_cache_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->slots = calloc(RC_INITIAL_SLOTS, sizeof(*c->slots));
    if (!c->slots) {
        free(c);
        return -ENOMEM;
    }
    c->ctx = ctx;
    c->mask = RC_INITIAL_SLOTS - 1;
    c->max_pairs = max_pairs;
    *ret_cache = c;
    return 0;
}

void route_cache_free(route_cache_t *cache)
{
    if (!cache)
        return;
    for (size_t s = 0; s <= cache->mask; s++)
        lb_free(cache->slots[s].b);
    free(cache->slots);
    free(cache);
}

size_t route_cache_count(const route_cache_t *cache)
{
    return cache->count;
}

lb_ctx_t *route_cache_ctx(const route_cache_t *cache)
{
    return cache->ctx;
}

static size_t slot_of(const rc_slot_t *slots, size_t mask, uint64_t key)
{
    size_t s = pair_hash(key) & mask;
    while (slots[s].b && slots[s].key != key)
        s = (s + 1) & mask;
    return s;
}

lb_balancer_t *route_cache_find(const route_cache_t *cache, int32_t modid, int32_t cmdid)
{
    return cache->slots[slot_of(cache->slots, cache->mask, pair_key(modid, cmdid))].b;
}

static int grow(route_cache_t *c)
{
    size_t len = (c->mask + 1) * 2;
    rc_slot_t *slots = calloc(len, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t s = 0; s <= c->mask; s++)
        if (c->slots[s].b)
            slots[slot_of(slots, len - 1, c->slots[s].key)] = c->slots[s];
    free(c->slots);
    c->slots = slots;
    c->mask = len - 1;
    return 0;
}

static int create(route_cache_t *c, int32_t modid, int32_t cmdid, uint64_t now,
                  lb_balancer_t **ret_b)
{
    if (c->max_pairs && c->count >= c->max_pairs)
        return -ENOSPC;
    if ((c->count + 1) * 10 > (c->mask + 1) * 7 && grow(c) < 0)
        return -ENOMEM;
    lb_balancer_t *b = lb_new(c->ctx, modid, cmdid, now);
    if (!b)
        return -ENOMEM;
    uint64_t key = pair_key(modid, cmdid);
    c->slots[slot_of(c->slots, c->mask, key)] = (rc_slot_t){key, b};
    c->count++;
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

void route_cache_foreach(route_cache_t *cache, void (*cb)(lb_balancer_t *b, void *arg), void *arg)
{
    for (size_t s = 0; s <= cache->mask; s++)
        if (cache->slots[s].b)
            cb(cache->slots[s].b, arg);
}

void route_cache_tick(route_cache_t *cache, uint64_t now)
{
    for (size_t s = 0; s <= cache->mask; s++)
        if (cache->slots[s].b)
            lb_tick(cache->slots[s].b, now);
}

void route_cache_on_dns_reconnect(route_cache_t *cache,
                                  void (*cb)(int32_t modid, int32_t cmdid, void *arg), void *arg)
{
    for (size_t s = 0; s <= cache->mask; s++) {
        lb_balancer_t *b = cache->slots[s].b;
        if (!b)
            continue;
        lb_on_dns_reconnect(b);
        if (cb)
            cb(lb_modid(b), lb_cmdid(b), arg);
    }
}

size_t route_cache_memory(const route_cache_t *cache)
{
    size_t bytes = sizeof(*cache) + (cache->mask + 1) * sizeof(rc_slot_t);
    for (size_t s = 0; s <= cache->mask; s++)
        if (cache->slots[s].b)
            bytes += lb_memory(cache->slots[s].b);
    return bytes;
}
