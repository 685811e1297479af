/*
 * Coalescing queue of pending rows (see pending.h).
 */
#include "daemons/reporter/pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/reporter/ring.h"

#define NIL       UINT32_MAX
#define MIN_SLOTS 64u

typedef struct entry {
    rp_row_t row;
    uint32_t hnext;      /* hash chain, or free list */
    uint32_t prev, next; /* update order; unused while in flight */
    uint32_t hash;
    bool inmap;
    bool linked; /* on the order list (pending), else in flight */
} entry_t;

struct rp_pending {
    entry_t *slots;
    uint32_t nslots;   /* allocated slots */
    uint32_t used;     /* slots ever handed out (high-water mark) */
    uint32_t free;     /* free list of released slots */
    uint32_t *buckets; /* nbuckets heads, power of two */
    uint32_t nbuckets;
    uint32_t head, tail; /* order list */
    size_t count, waiting, limit;
    rp_pending_stats_t stats;
};

static uint32_t key_hash(const rp_row_t *r)
{
    int32_t k[5] = {r->modid, r->cmdid, r->ip, r->port, r->caller};
    return rp_murmur3_32(k, sizeof(k), 0x9747b28c);
}

static bool key_eq(const rp_row_t *a, const rp_row_t *b)
{
    return a->modid == b->modid && a->cmdid == b->cmdid && a->ip == b->ip && a->port == b->port &&
           a->caller == b->caller;
}

rp_pending_t *rp_pending_new(size_t limit)
{
    rp_pending_t *q = calloc(1, sizeof(*q));

    if (!q)
        return NULL;
    q->limit = limit ? limit : 1;
    q->free = NIL;
    q->head = q->tail = NIL;
    q->nbuckets = MIN_SLOTS;
    q->buckets = malloc(q->nbuckets * sizeof(uint32_t));
    if (!q->buckets) {
        free(q);
        return NULL;
    }
    memset(q->buckets, 0xff, q->nbuckets * sizeof(uint32_t));
    return q;
}

void rp_pending_free(rp_pending_t *q)
{
    if (!q)
        return;
    free(q->slots);
    free(q->buckets);
    free(q);
}

static void list_unlink(rp_pending_t *q, uint32_t i)
{
    entry_t *e = &q->slots[i];

    if (e->prev != NIL)
        q->slots[e->prev].next = e->next;
    else
        q->head = e->next;
    if (e->next != NIL)
        q->slots[e->next].prev = e->prev;
    else
        q->tail = e->prev;
    e->linked = false;
    q->waiting--;
}

static void list_push_tail(rp_pending_t *q, uint32_t i)
{
    entry_t *e = &q->slots[i];

    e->prev = q->tail;
    e->next = NIL;
    if (q->tail != NIL)
        q->slots[q->tail].next = i;
    else
        q->head = i;
    q->tail = i;
    e->linked = true;
    q->waiting++;
}

static void list_push_head(rp_pending_t *q, uint32_t i)
{
    entry_t *e = &q->slots[i];

    e->prev = NIL;
    e->next = q->head;
    if (q->head != NIL)
        q->slots[q->head].prev = i;
    else
        q->tail = i;
    q->head = i;
    e->linked = true;
    q->waiting++;
}

static uint32_t map_find(const rp_pending_t *q, const rp_row_t *row, uint32_t h)
{
    for (uint32_t i = q->buckets[h & (q->nbuckets - 1)]; i != NIL; i = q->slots[i].hnext)
        if (q->slots[i].hash == h && key_eq(&q->slots[i].row, row))
            return i;
    return NIL;
}

/* Removes slot i from the map (it must not be on the order list). */
static void map_remove(rp_pending_t *q, uint32_t i)
{
    uint32_t *pp = &q->buckets[q->slots[i].hash & (q->nbuckets - 1)];

    while (*pp != i)
        pp = &q->slots[*pp].hnext;
    *pp = q->slots[i].hnext;
    q->slots[i].inmap = false;
    q->slots[i].hnext = q->free;
    q->free = i;
    q->count--;
}

/* Doubles the buckets when the map holds more keys than buckets. */
static int map_grow(rp_pending_t *q)
{
    uint32_t nb = q->nbuckets * 2;
    uint32_t *b = malloc(nb * sizeof(uint32_t));

    if (!b)
        return -ENOMEM;
    memset(b, 0xff, nb * sizeof(uint32_t));
    for (uint32_t i = 0; i < q->used; i++) {
        entry_t *e = &q->slots[i];
        if (!e->inmap)
            continue;
        e->hnext = b[e->hash & (nb - 1)];
        b[e->hash & (nb - 1)] = i;
    }
    free(q->buckets);
    q->buckets = b;
    q->nbuckets = nb;
    return 0;
}

/* Returns a free slot index, growing the array if needed; NIL on ENOMEM. */
static uint32_t slot_alloc(rp_pending_t *q)
{
    if (q->free != NIL) {
        uint32_t i = q->free;
        q->free = q->slots[i].hnext;
        return i;
    }
    if (q->used == q->nslots) {
        size_t cap = q->limit > MIN_SLOTS ? q->limit : MIN_SLOTS;
        size_t n = q->nslots ? (size_t)q->nslots * 2 : MIN_SLOTS;
        if (n > cap)
            n = cap;
        if (n <= q->nslots)
            n = (size_t)q->nslots + 1;
        if (n >= NIL)
            return NIL;
        entry_t *s = realloc(q->slots, n * sizeof(entry_t));
        if (!s)
            return NIL;
        q->slots = s;
        q->nslots = (uint32_t)n;
    }
    return q->used++;
}

/* Drops the oldest pending key; false when every key is in flight. */
static bool drop_oldest(rp_pending_t *q)
{
    uint32_t i = q->head;

    if (i == NIL)
        return false;
    list_unlink(q, i);
    map_remove(q, i);
    q->stats.drops++;
    return true;
}

int rp_pending_put(rp_pending_t *q, const rp_row_t *row)
{
    uint32_t h = key_hash(row);
    uint32_t i = map_find(q, row, h);
    int dropped = 0;

    if (i != NIL) {
        entry_t *e = &q->slots[i];
        e->row = *row;
        if (e->linked)
            list_unlink(q, i);
        list_push_tail(q, i);
        q->stats.puts++;
        q->stats.coalesced++;
        return 0;
    }

    while (q->count >= q->limit) {
        if (!drop_oldest(q)) {
            /* Everything held is in flight: the new key is the one to go. */
            q->stats.drops++;
            return 1;
        }
        dropped = 1;
    }
    if (q->count >= q->nbuckets && map_grow(q) < 0) {
        q->stats.drops++;
        return -ENOMEM;
    }
    i = slot_alloc(q);
    if (i == NIL) {
        q->stats.drops++;
        return -ENOMEM;
    }

    entry_t *e = &q->slots[i];
    e->row = *row;
    e->hash = h;
    e->inmap = true;
    e->hnext = q->buckets[h & (q->nbuckets - 1)];
    q->buckets[h & (q->nbuckets - 1)] = i;
    q->count++;
    list_push_tail(q, i);
    q->stats.puts++;
    return dropped;
}

size_t rp_pending_take(rp_pending_t *q, rp_row_t *rows, size_t max)
{
    size_t n = 0;

    while (n < max && q->head != NIL) {
        uint32_t i = q->head;
        rows[n++] = q->slots[i].row;
        list_unlink(q, i);
    }
    return n;
}

void rp_pending_done(rp_pending_t *q, const rp_row_t *rows, size_t n, bool ok)
{
    /* Backwards, so that pushing each at the head restores their order. */
    for (size_t k = n; k-- > 0;) {
        uint32_t i = map_find(q, &rows[k], key_hash(&rows[k]));
        if (i == NIL || q->slots[i].linked)
            continue; /* dropped meanwhile, or updated: the newer row waits */
        if (ok)
            map_remove(q, i);
        else
            list_push_head(q, i);
    }
}

size_t rp_pending_count(const rp_pending_t *q)
{
    return q->count;
}

size_t rp_pending_waiting(const rp_pending_t *q)
{
    return q->waiting;
}

size_t rp_pending_limit(const rp_pending_t *q)
{
    return q->limit;
}

void rp_pending_set_limit(rp_pending_t *q, size_t limit)
{
    q->limit = limit ? limit : 1;
}

void rp_pending_stats(const rp_pending_t *q, rp_pending_stats_t *ret)
{
    *ret = q->stats;
}
