/*
 * Subscriptions of one worker loop: which of the loop's connections asked
 * for which (modid, cmdid). Owned by the worker thread, like the connections
 * themselves, so nothing here is locked.
 *
 * Each subscription is one node linked three ways: into the pair's list (to
 * push a change to every subscriber), into the connection's list (to drop
 * them all when it closes, in O(its subscriptions)) and into a hash set by
 * (connection, pair) (so that asking twice subscribes once). Both maps are
 * keyed hashes (rx_map): agents choose the pairs.
 */
#ifndef LARS_DNS_SUBS_H
#define LARS_DNS_SUBS_H

#include <stddef.h>
#include <stdint.h>

#include "libreactor/map.h"

typedef struct dns_subs dns_subs_t;
typedef struct dns_sub dns_sub_t;

/* Embedded in the per-connection state; `owner` is handed back to
 * dns_subs_foreach() callbacks. Zero-initialise it. */
typedef struct dns_subconn {
    dns_sub_t *head;
    size_t count;
    size_t limit; /* most subscriptions; 0: no limit */
    void *owner;
} dns_subconn_t;

dns_subs_t *dns_subs_new(void);
/* Frees every pair and node (connections must not be used with it after). */
void dns_subs_free(dns_subs_t *s);

/* 1 when newly subscribed, 0 when it already was, -ENOSPC when it was not
 * and the connection holds its limit, -ENOMEM. */
int dns_subs_add(dns_subs_t *s, dns_subconn_t *c, int32_t modid, int32_t cmdid);
void dns_subs_remove_conn(dns_subs_t *s, dns_subconn_t *c);

/* Calls cb(owner) for every connection subscribed to the pair; cb may close
 * (and so unsubscribe) the connection it is given, but no other. Returns the
 * number of subscribers. */
size_t dns_subs_foreach(dns_subs_t *s, int32_t modid, int32_t cmdid,
                        void (*cb)(void *owner, void *arg), void *arg);

size_t dns_subs_count(const dns_subs_t *s);  /* subscriptions */
size_t dns_subs_npairs(const dns_subs_t *s); /* pairs with at least one */

/* The shape of both maps' chains (tests). */
void dns_subs_map_stats(const dns_subs_t *s, rx_map_stats_t *ret_pairs, rx_map_stats_t *ret_subs);

#endif
