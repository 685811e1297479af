/*
 * rx_map: chained hashing with incremental resizing (see map.h).
 *
 * While table[1] exists a resize is under way: buckets of table[0] below
 * rehash_idx are already moved (empty), new entries go to table[1], and a
 * lookup searches both. rehash_step() moves one non-empty bucket per call,
 * looking at no more than MAP_EMPTY_VISITS empty ones, so a call's cost is
 * bounded whatever the size. A growth starts at load 1 with twice the
 * buckets, so it ends (at most as many steps as the old table has non-empty
 * buckets) before the new table passes load 1.
 */
#include "libreactor/map.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAP_MIN_SIZE     8
#define MAP_EMPTY_VISITS 10

void rx_map_init(rx_map_t *m, const rx_map_type_t *type)
{
    *m = (rx_map_t){.type = type};
    rx_siphash_process_key(&m->key);
}

void rx_map_free(rx_map_t *m)
{
    if (!m)
        return;
    free(m->table[0]);
    free(m->table[1]);
    *m = (rx_map_t){.type = m->type, .key = m->key};
}

/* Internal calls go to static functions: with -fPIC a call to an exported
 * one cannot be inlined, and finds are the agent's hot path. */
static size_t count_of(const rx_map_t *m)
{
    return m->used[0] + m->used[1];
}

size_t rx_map_count(const rx_map_t *m)
{
    return count_of(m);
}

static bool resizing(const rx_map_t *m)
{
    return m->table[1] != NULL;
}

static uint64_t map_hash(const rx_map_t *m, const void *key)
{
    if (m->type->key_len == 8) {
        uint64_t w;
        memcpy(&w, key, sizeof(w));
        return rx_siphash_u64(&m->key, le64toh(w));
    }
    return rx_siphash(&m->key, key, m->type->key_len);
}

static bool keys_equal(const void *a, const void *b, size_t len)
{
    uint64_t x[2], y[2];

    /* The common lengths without a call to memcmp. */
    switch (len) {
    case 8:
        memcpy(x, a, 8);
        memcpy(y, b, 8);
        return x[0] == y[0];
    case 16:
        memcpy(x, a, 16);
        memcpy(y, b, 16);
        return x[0] == y[0] && x[1] == y[1];
    default:
        return memcmp(a, b, len) == 0;
    }
}

static bool node_holds(const rx_map_t *m, const rx_map_node_t *n, const void *key)
{
    if (m->type->key_equal)
        return m->type->key_equal(n, key);
    return keys_equal((const char *)n + m->type->key_offset, key, m->type->key_len);
}

/* Moves one non-empty bucket of table[0] to table[1]; ends the resize when
 * table[0] is empty. */
static void rehash_step(rx_map_t *m)
{
    unsigned empty_visits = MAP_EMPTY_VISITS;

    if (!resizing(m) || m->iterators)
        return;
    if (m->used[0] > 0) {
        while (!m->table[0][m->rehash_idx]) {
            m->rehash_idx++;
            if (--empty_visits == 0)
                return;
        }
        rx_map_node_t *n = m->table[0][m->rehash_idx];
        m->table[0][m->rehash_idx++] = NULL;
        while (n) {
            rx_map_node_t *next = n->next;
            size_t b = n->hash & (m->size[1] - 1);
            n->next = m->table[1][b];
            m->table[1][b] = n;
            m->used[0]--;
            m->used[1]++;
            n = next;
        }
    }
    if (m->used[0] == 0) {
        free(m->table[0]);
        m->table[0] = m->table[1];
        m->size[0] = m->size[1];
        m->used[0] = m->used[1];
        m->table[1] = NULL;
        m->size[1] = m->used[1] = 0;
        m->rehash_idx = 0;
    }
}

/* Starts a resize to size buckets (or creates the first table). */
static int resize(rx_map_t *m, size_t size)
{
    rx_map_node_t **t = calloc(size, sizeof(*t));

    if (!t)
        return -ENOMEM;
    if (!m->table[0]) {
        m->table[0] = t;
        m->size[0] = size;
        return 0;
    }
    m->table[1] = t;
    m->size[1] = size;
    m->rehash_idx = 0;
    return 0;
}

static size_t size_for(size_t n)
{
    size_t size = MAP_MIN_SIZE;

    while (size < n)
        size *= 2;
    return size;
}

void rx_map_clear(rx_map_t *m)
{
    if (resizing(m)) {
        free(m->table[0]);
        m->table[0] = m->table[1];
        m->size[0] = m->size[1];
        m->table[1] = NULL;
        m->size[1] = 0;
    }
    if (m->table[0])
        memset(m->table[0], 0, m->size[0] * sizeof(*m->table[0]));
    m->used[0] = m->used[1] = 0;
    m->rehash_idx = 0;
}

int rx_map_reserve(rx_map_t *m, size_t n)
{
    size_t size = size_for(n);

    if (!m->table[0])
        return resize(m, size);
    /* A bulk operation: finishing a resize under way at once is fine. */
    while (resizing(m) && !m->iterators)
        rehash_step(m);
    if (resizing(m) || m->size[0] >= size)
        return 0;
    return resize(m, size);
}

static rx_map_node_t *lookup(const rx_map_t *m, const void *key, uint64_t h)
{
    for (unsigned t = 0; t < 2 && m->table[t]; t++)
        for (rx_map_node_t *n = m->table[t][h & (m->size[t] - 1)]; n; n = n->next)
            if (n->hash == h && node_holds(m, n, key))
                return n;
    return NULL;
}

rx_map_node_t *rx_map_find(rx_map_t *m, const void *key)
{
    if (count_of(m) == 0)
        return NULL;
    if (resizing(m))
        rehash_step(m);
    return lookup(m, key, map_hash(m, key));
}

const rx_map_node_t *rx_map_peek(const rx_map_t *m, const void *key)
{
    if (count_of(m) == 0)
        return NULL;
    return lookup(m, key, map_hash(m, key));
}

int rx_map_insert(rx_map_t *m, rx_map_node_t *node, const void *key)
{
    uint64_t h = map_hash(m, key);
    unsigned t;
    size_t b;

    rehash_step(m);
    if (lookup(m, key, h))
        return -EEXIST;
    if (!m->table[0]) {
        if (resize(m, MAP_MIN_SIZE) < 0)
            return -ENOMEM;
    } else if (!resizing(m) && m->used[0] >= m->size[0]) {
        if (resize(m, m->size[0] * 2) < 0)
            return -ENOMEM;
    }
    t = resizing(m);
    b = h & (m->size[t] - 1);
    node->hash = h;
    node->next = m->table[t][b];
    m->table[t][b] = node;
    m->used[t]++;
    return 0;
}

/* Below 1/8 full: halve (or more) towards load 1/2. A failed allocation
 * keeps the larger table. */
static void maybe_shrink(rx_map_t *m)
{
    if (resizing(m) || m->size[0] <= MAP_MIN_SIZE || m->used[0] * 8 >= m->size[0])
        return;
    (void)resize(m, size_for(m->used[0] * 2));
}

/* The link that points to node, or NULL when node is not in the map. */
static rx_map_node_t **link_of(rx_map_t *m, const rx_map_node_t *node, unsigned *ret_table)
{
    for (unsigned t = 0; t < 2 && m->table[t]; t++) {
        rx_map_node_t **pp = &m->table[t][node->hash & (m->size[t] - 1)];
        while (*pp && *pp != node)
            pp = &(*pp)->next;
        if (*pp) {
            *ret_table = t;
            return pp;
        }
    }
    return NULL;
}

void rx_map_remove(rx_map_t *m, rx_map_node_t *node)
{
    rx_map_node_t **pp;
    unsigned t;

    rehash_step(m);
    pp = link_of(m, node, &t);
    if (!pp)
        return;
    *pp = node->next;
    node->next = NULL;
    m->used[t]--;
    maybe_shrink(m);
}

void rx_map_replace(rx_map_t *m, rx_map_node_t *old, rx_map_node_t *node)
{
    unsigned t;
    rx_map_node_t **pp = link_of(m, old, &t);

    if (!pp)
        return;
    node->hash = old->hash;
    node->next = old->next;
    *pp = node;
    old->next = NULL;
}

/* ---------------------------------------------------------- iteration -- */

void rx_map_iter_init(rx_map_iter_t *it, rx_map_t *m)
{
    *it = (rx_map_iter_t){.map = m, .active = true};
    m->iterators++;
}

void rx_map_iter_done(rx_map_iter_t *it)
{
    if (!it->active)
        return;
    it->active = false;
    it->map->iterators--;
}

rx_map_node_t *rx_map_iter_next(rx_map_iter_t *it)
{
    rx_map_t *m = it->map;
    rx_map_node_t *n;

    if (!it->active)
        return NULL;
    /* The successor is read before the caller sees n, so n may be removed. */
    while (!it->next) {
        if (it->bucket < m->size[it->table]) {
            it->next = m->table[it->table][it->bucket++];
            continue;
        }
        if (it->table == 0 && resizing(m)) {
            it->table = 1;
            it->bucket = 0;
            continue;
        }
        rx_map_iter_done(it);
        return NULL;
    }
    n = it->next;
    it->next = n->next;
    return n;
}

/* ------------------------------------------------------ introspection -- */

void rx_map_stats(const rx_map_t *m, rx_map_stats_t *ret_stats)
{
    rx_map_stats_t s = {.count = count_of(m), .resizing = resizing(m)};

    for (unsigned t = 0; t < 2 && m->table[t]; t++) {
        s.buckets += m->size[t];
        for (size_t b = 0; b < m->size[t]; b++) {
            size_t len = 0;
            for (const rx_map_node_t *n = m->table[t][b]; n; n = n->next)
                len++;
            if (len > s.longest_chain)
                s.longest_chain = len;
            s.chains[len < RX_MAP_HIST ? len : RX_MAP_HIST - 1]++;
        }
    }
    *ret_stats = s;
}

size_t rx_map_memory(const rx_map_t *m)
{
    return (m->size[0] + m->size[1]) * sizeof(rx_map_node_t *);
}
