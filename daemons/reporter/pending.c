/*
 * Coalescing queue of pending rows (see pending.h).
 */
#include "daemons/reporter/pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libreactor/map.h"

typedef struct entry {
    rp_row_t row; /* its first five fields are the key */
    rx_map_node_t node;
    struct entry *prev, *next; /* update order; next: the free list */
    bool linked;               /* on the order list (pending), else in flight */
} entry_t;

_Static_assert(offsetof(rp_row_t, modid) == 0 && offsetof(rp_row_t, caller) == 4 * sizeof(int32_t),
               "the key is the row's first five int32 fields, without padding");

static const rx_map_type_t row_map_type = {
    .key_len = 5 * sizeof(int32_t),
    .key_offset = RX_MAP_KEY_OFFSET(entry_t, row, node),
};

struct rp_pending {
    rx_map_t map;         /* every key held, pending or in flight */
    entry_t *free;        /* released entries, kept for reuse */
    entry_t *head, *tail; /* order list */
    size_t waiting, limit;
    rp_pending_stats_t stats;
};

rp_pending_t *rp_pending_new(size_t limit)
{
    rp_pending_t *q = calloc(1, sizeof(*q));

    if (!q)
        return NULL;
    q->limit = limit ? limit : 1;
    rx_map_init(&q->map, &row_map_type);
    return q;
}

void rp_pending_free(rp_pending_t *q)
{
    rx_map_iter_t it;
    rx_map_node_t *n;

    if (!q)
        return;
    rx_map_iter_init(&it, &q->map);
    while ((n = rx_map_iter_next(&it)))
        free(rx_map_entry(n, entry_t, node));
    rx_map_free(&q->map);
    while (q->free) {
        entry_t *next = q->free->next;
        free(q->free);
        q->free = next;
    }
    free(q);
}

static void list_unlink(rp_pending_t *q, entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail = e->prev;
    e->linked = false;
    q->waiting--;
}

static void list_push_tail(rp_pending_t *q, entry_t *e)
{
    e->prev = q->tail;
    e->next = NULL;
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    e->linked = true;
    q->waiting++;
}

static void list_push_head(rp_pending_t *q, entry_t *e)
{
    e->prev = NULL;
    e->next = q->head;
    if (q->head)
        q->head->prev = e;
    else
        q->tail = e;
    q->head = e;
    e->linked = true;
    q->waiting++;
}

static entry_t *map_find(rp_pending_t *q, const rp_row_t *row)
{
    rx_map_node_t *n = rx_map_find(&q->map, row);

    return n ? rx_map_entry(n, entry_t, node) : NULL;
}

/* Removes e from the map (it must not be on the order list). */
static void map_remove(rp_pending_t *q, entry_t *e)
{
    rx_map_remove(&q->map, &e->node);
    e->next = q->free;
    q->free = e;
}

/* A free entry: a released one, else a new one (NULL on ENOMEM). */
static entry_t *entry_alloc(rp_pending_t *q)
{
    entry_t *e = q->free;

    if (!e)
        return malloc(sizeof(entry_t));
    q->free = e->next;
    return e;
}

/* Drops the oldest pending key; false when every key is in flight. */
static bool drop_oldest(rp_pending_t *q)
{
    entry_t *e = q->head;

    if (!e)
        return false;
    list_unlink(q, e);
    map_remove(q, e);
    q->stats.drops++;
    return true;
}

int rp_pending_put(rp_pending_t *q, const rp_row_t *row)
{
    entry_t *e = map_find(q, row);
    int dropped = 0;

    if (e) {
        e->row = *row;
        if (e->linked)
            list_unlink(q, e);
        list_push_tail(q, e);
        q->stats.puts++;
        q->stats.coalesced++;
        return 0;
    }

    while (rx_map_count(&q->map) >= q->limit) {
        if (!drop_oldest(q)) {
            /* Everything held is in flight: the new key is the one to go. */
            q->stats.drops++;
            return 1;
        }
        dropped = 1;
    }
    e = entry_alloc(q);
    if (!e) {
        q->stats.drops++;
        return -ENOMEM;
    }
    e->row = *row;
    if (rx_map_insert(&q->map, &e->node, &e->row) < 0) {
        e->next = q->free;
        q->free = e;
        q->stats.drops++;
        return -ENOMEM;
    }
    list_push_tail(q, e);
    q->stats.puts++;
    return dropped;
}

size_t rp_pending_take(rp_pending_t *q, rp_row_t *rows, size_t max)
{
    size_t n = 0;

    while (n < max && q->head) {
        entry_t *e = q->head;
        rows[n++] = e->row;
        list_unlink(q, e);
    }
    return n;
}

void rp_pending_done(rp_pending_t *q, const rp_row_t *rows, size_t n, bool ok)
{
    /* Backwards, so that pushing each at the head restores their order. */
    for (size_t k = n; k-- > 0;) {
        entry_t *e = map_find(q, &rows[k]);
        if (!e || e->linked)
            continue; /* dropped meanwhile, or updated: the newer row waits */
        if (ok)
            map_remove(q, e);
        else
            list_push_head(q, e);
    }
}

size_t rp_pending_count(const rp_pending_t *q)
{
    return rx_map_count(&q->map);
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
