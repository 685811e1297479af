/*
 * Per-loop subscription maps (see subs.h). Two chained hash tables that
 * double when their load reaches 1: pairs by (modid, cmdid) and nodes by
 * (connection, pair).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "daemons/dns/subs.h"

typedef struct sub_pair {
    int32_t modid, cmdid;
    struct sub_pair *hnext;
    dns_sub_t *head; /* subscribers */
    size_t count;
} sub_pair_t;

struct dns_sub {
    sub_pair_t *pair;
    dns_subconn_t *conn;
    dns_sub_t *pprev, *pnext; /* in pair->head */
    dns_sub_t *cnext;         /* in conn->head */
    dns_sub_t *hnext;         /* in the node set */
};

struct dns_subs {
    sub_pair_t **pairs;
    size_t pairs_mask, npairs;
    dns_sub_t **nodes;
    size_t nodes_mask, nnodes;
};

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint64_t pair_hash(int32_t modid, int32_t cmdid)
{
    return mix(((uint64_t)(uint32_t)modid << 32) | (uint32_t)cmdid);
}

static uint64_t node_hash(const dns_subconn_t *c, const sub_pair_t *p)
{
    return mix((uint64_t)(uintptr_t)c ^ mix((uint64_t)(uintptr_t)p));
}

dns_subs_t *dns_subs_new(void)
{
    dns_subs_t *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->pairs = calloc(64, sizeof(*s->pairs));
    s->nodes = calloc(64, sizeof(*s->nodes));
    if (!s->pairs || !s->nodes) {
        dns_subs_free(s);
        return NULL;
    }
    s->pairs_mask = s->nodes_mask = 63;
    return s;
}

void dns_subs_free(dns_subs_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->nodes && i <= s->nodes_mask; i++) {
        dns_sub_t *n = s->nodes[i];
        while (n) {
            dns_sub_t *next = n->hnext;
            free(n);
            n = next;
        }
    }
    for (size_t i = 0; s->pairs && i <= s->pairs_mask; i++) {
        sub_pair_t *p = s->pairs[i];
        while (p) {
            sub_pair_t *next = p->hnext;
            free(p);
            p = next;
        }
    }
    free(s->pairs);
    free(s->nodes);
    free(s);
}

static int rehash_pairs(dns_subs_t *s)
{
    size_t cap = (s->pairs_mask + 1) * 2;
    sub_pair_t **t = calloc(cap, sizeof(*t));

    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i <= s->pairs_mask; i++) {
        sub_pair_t *p = s->pairs[i];
        while (p) {
            sub_pair_t *next = p->hnext;
            size_t b = pair_hash(p->modid, p->cmdid) & (cap - 1);
            p->hnext = t[b];
            t[b] = p;
            p = next;
        }
    }
    free(s->pairs);
    s->pairs = t;
    s->pairs_mask = cap - 1;
    return 0;
}

static int rehash_nodes(dns_subs_t *s)
{
    size_t cap = (s->nodes_mask + 1) * 2;
    dns_sub_t **t = calloc(cap, sizeof(*t));

    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i <= s->nodes_mask; i++) {
        dns_sub_t *n = s->nodes[i];
        while (n) {
            dns_sub_t *next = n->hnext;
            size_t b = node_hash(n->conn, n->pair) & (cap - 1);
            n->hnext = t[b];
            t[b] = n;
            n = next;
        }
    }
    free(s->nodes);
    s->nodes = t;
    s->nodes_mask = cap - 1;
    return 0;
}

static sub_pair_t *pair_find(const dns_subs_t *s, int32_t modid, int32_t cmdid)
{
    sub_pair_t *p = s->pairs[pair_hash(modid, cmdid) & s->pairs_mask];

    while (p && (p->modid != modid || p->cmdid != cmdid))
        p = p->hnext;
    return p;
}

static sub_pair_t *pair_get(dns_subs_t *s, int32_t modid, int32_t cmdid)
{
    sub_pair_t *p = pair_find(s, modid, cmdid);
    size_t b;

    if (p)
        return p;
    /* A failed rehash only lengthens chains. */
    if (s->npairs > s->pairs_mask)
        (void)rehash_pairs(s);
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->modid = modid;
    p->cmdid = cmdid;
    b = pair_hash(modid, cmdid) & s->pairs_mask;
    p->hnext = s->pairs[b];
    s->pairs[b] = p;
    s->npairs++;
    return p;
}

static void pair_drop(dns_subs_t *s, sub_pair_t *p)
{
    sub_pair_t **pp = &s->pairs[pair_hash(p->modid, p->cmdid) & s->pairs_mask];

    while (*pp != p)
        pp = &(*pp)->hnext;
    *pp = p->hnext;
    s->npairs--;
    free(p);
}

static dns_sub_t *node_find(const dns_subs_t *s, const dns_subconn_t *c, const sub_pair_t *p)
{
    dns_sub_t *n = s->nodes[node_hash(c, p) & s->nodes_mask];

    while (n && (n->conn != c || n->pair != p))
        n = n->hnext;
    return n;
}

int dns_subs_add(dns_subs_t *s, dns_subconn_t *c, int32_t modid, int32_t cmdid)
{
    sub_pair_t *p = pair_get(s, modid, cmdid);
    dns_sub_t *n;
    size_t b;

    if (!p)
        return -ENOMEM;
    if (node_find(s, c, p))
        return 0;
    if (s->nnodes > s->nodes_mask)
        (void)rehash_nodes(s);
    n = calloc(1, sizeof(*n));
    if (!n) {
        if (!p->head)
            pair_drop(s, p);
        return -ENOMEM;
    }
    n->pair = p;
    n->conn = c;
    n->pnext = p->head;
    if (p->head)
        p->head->pprev = n;
    p->head = n;
    p->count++;
    n->cnext = c->head;
    c->head = n;
    c->count++;
    b = node_hash(c, p) & s->nodes_mask;
    n->hnext = s->nodes[b];
    s->nodes[b] = n;
    s->nnodes++;
    return 1;
}

static void node_unlink(dns_subs_t *s, dns_sub_t *n)
{
    sub_pair_t *p = n->pair;
    dns_sub_t **hp = &s->nodes[node_hash(n->conn, p) & s->nodes_mask];

    while (*hp != n)
        hp = &(*hp)->hnext;
    *hp = n->hnext;
    s->nnodes--;

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
        cb(n->conn->owner, arg);
        n = next;
    }
    return count;
}

size_t dns_subs_count(const dns_subs_t *s)
{
    return s->nnodes;
}

size_t dns_subs_npairs(const dns_subs_t *s)
{
    return s->npairs;
}
