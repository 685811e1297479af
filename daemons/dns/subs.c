/*
 * Per-loop subscription maps (see subs.h): two rx_maps, pairs by (modid,
 * cmdid) and subscriptions by (connection, pair). Agents choose the pairs,
 * hence the keyed hash: no choice of pairs makes a chain long.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "daemons/dns/subs.h"

typedef struct sub_pair_key {
    int32_t modid, cmdid;
} sub_pair_key_t;

typedef struct sub_pair {
    sub_pair_key_t key;
    rx_map_node_t node;
    dns_sub_t *head; /* subscribers */
    size_t count;
} sub_pair_t;

typedef struct sub_key {
    dns_subconn_t *conn;
    sub_pair_t *pair;
} sub_key_t;

struct dns_sub {
    sub_key_t key;
    rx_map_node_t node;       /* in the subscription set */
    dns_sub_t *pprev, *pnext; /* in pair->head */
    dns_sub_t *cnext;         /* in conn->head */
};

struct dns_subs {
    rx_map_t pairs;
    rx_map_t subs;
};

static const rx_map_type_t pair_map_type = {
    .key_len = sizeof(sub_pair_key_t),
    .key_offset = RX_MAP_KEY_OFFSET(sub_pair_t, key, node),
};

static const rx_map_type_t sub_map_type = {
    .key_len = sizeof(sub_key_t),
    .key_offset = RX_MAP_KEY_OFFSET(dns_sub_t, key, node),
};

dns_subs_t *dns_subs_new(void)
{
    dns_subs_t *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    rx_map_init(&s->pairs, &pair_map_type);
    rx_map_init(&s->subs, &sub_map_type);
    return s;
}

void dns_subs_free(dns_subs_t *s)
{
    rx_map_iter_t it;
    rx_map_node_t *n;

    if (!s)
        return;
    rx_map_iter_init(&it, &s->subs);
    while ((n = rx_map_iter_next(&it)))
        free(rx_map_entry(n, dns_sub_t, node));
    rx_map_iter_init(&it, &s->pairs);
    while ((n = rx_map_iter_next(&it)))
        free(rx_map_entry(n, sub_pair_t, node));
    rx_map_free(&s->pairs);
    rx_map_free(&s->subs);
    free(s);
}

static sub_pair_t *pair_find(dns_subs_t *s, int32_t modid, int32_t cmdid)
{
    sub_pair_key_t key = {modid, cmdid};
    rx_map_node_t *n = rx_map_find(&s->pairs, &key);

    return n ? rx_map_entry(n, sub_pair_t, node) : NULL;
}

static sub_pair_t *pair_get(dns_subs_t *s, int32_t modid, int32_t cmdid)
{
    sub_pair_t *p = pair_find(s, modid, cmdid);

    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->key = (sub_pair_key_t){modid, cmdid};
    if (rx_map_insert(&s->pairs, &p->node, &p->key) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void pair_drop(dns_subs_t *s, sub_pair_t *p)
{
    rx_map_remove(&s->pairs, &p->node);
    free(p);
}

int dns_subs_add(dns_subs_t *s, dns_subconn_t *c, int32_t modid, int32_t cmdid)
{
    sub_pair_t *p = pair_get(s, modid, cmdid);
    sub_key_t key = {c, p};
    dns_sub_t *n;

    if (!p)
        return -ENOMEM;
    if (rx_map_find(&s->subs, &key))
        return 0;
    if (c->limit && c->count >= c->limit) {
        if (!p->head)
            pair_drop(s, p);
        return -ENOSPC;
    }
    n = calloc(1, sizeof(*n));
    if (n)
        n->key = key;
    if (!n || rx_map_insert(&s->subs, &n->node, &n->key) < 0) {
        free(n);
        if (!p->head)
            pair_drop(s, p);
        return -ENOMEM;
    }
    n->pnext = p->head;
    if (p->head)
        p->head->pprev = n;
    p->head = n;
    p->count++;
    n->cnext = c->head;
    c->head = n;
    c->count++;
    return 1;
}

static void node_unlink(dns_subs_t *s, dns_sub_t *n)
{
    sub_pair_t *p = n->key.pair;

    rx_map_remove(&s->subs, &n->node);
    if (n->pprev)
        n->pprev->pnext = n->pnext;
    else
        p->head = n->pnext;
    if (n->pnext)
        n->pnext->pprev = n->pprev;
    if (--p->count == 0)
        pair_drop(s, p);
}

void dns_subs_remove_conn(dns_subs_t *s, dns_subconn_t *c)
{
    dns_sub_t *n = c->head;

    while (n) {
        dns_sub_t *next = n->cnext;
        node_unlink(s, n);
        free(n);
        n = next;
    }
    c->head = NULL;
    c->count = 0;
}

size_t dns_subs_foreach(dns_subs_t *s, int32_t modid, int32_t cmdid,
                        void (*cb)(void *owner, void *arg), void *arg)
{
    sub_pair_t *p = pair_find(s, modid, cmdid);
    dns_sub_t *n;
    size_t count = 0;

    if (!p)
        return 0;
    /* cb may remove the current node (and with the last one, the pair):
     * step first; nothing reachable from next belongs to that connection. */
    n = p->head;
    while (n) {
        dns_sub_t *next = n->pnext;
        count++;
        cb(n->key.conn->owner, arg);
        n = next;
    }
    return count;
}

size_t dns_subs_count(const dns_subs_t *s)
{
    return rx_map_count(&s->subs);
}

size_t dns_subs_npairs(const dns_subs_t *s)
{
    return rx_map_count(&s->pairs);
}

void dns_subs_map_stats(const dns_subs_t *s, rx_map_stats_t *ret_pairs, rx_map_stats_t *ret_subs)
{
    rx_map_stats(&s->pairs, ret_pairs);
    rx_map_stats(&s->subs, ret_subs);
}
