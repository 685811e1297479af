/*
 * rx_map: a chained hash map with intrusive nodes, keyed SipHash and
 * incremental rehashing (the design of redis' dict.c).
 *
 * The caller embeds an rx_map_node_t in its own struct and gets the struct
 * back with rx_map_entry(). The map allocates only its bucket arrays: a
 * find, and an insert or remove that does not resize, touch no allocator.
 *
 * Resizing never stops the world. The table doubles when it holds as many
 * entries as buckets (and halves when it is below 1/8 full); the new table
 * is filled a little at a time: while a resize is under way the map has two
 * tables and every find, insert and remove first moves one bucket of the old
 * table to the new one. So no call costs more than one bucket's move plus
 * one chain walk, and chains stay short because bucket indices come from
 * SipHash under the process key (libreactor/siphash.h): nobody can choose
 * keys that share a bucket.
 *
 * Keys are key_len bytes. By default the key is stored in the caller's
 * struct at key_offset from the node and compared with memcmp (it must then
 * have no padding bytes); a key_equal callback compares a node with a lookup
 * key stored any other way. Finds hash the lookup key's key_len bytes.
 *
 * Not thread-safe. A find changes the map (it advances a resize), so
 * readers need the same exclusive access as writers. An rx_map_t may be
 * moved (copied) while no iterator is active.
 */
#ifndef LIBREACTOR_MAP_H
#define LIBREACTOR_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libreactor/siphash.h"

typedef struct rx_map_node {
    struct rx_map_node *next;
    uint64_t hash;
} rx_map_node_t;

/* The struct that holds node as its member `member`. */
#define rx_map_entry(node, type, member) ((type *)(void *)((char *)(node)-offsetof(type, member)))

/* rx_map_type_t.key_offset of a struct type holding both. */
#define RX_MAP_KEY_OFFSET(type, key_member, node_member)                                           \
    ((ptrdiff_t)offsetof(type, key_member) - (ptrdiff_t)offsetof(type, node_member))

typedef struct rx_map_type {
    size_t key_len;
    /* From the node to the key in the caller's struct (RX_MAP_KEY_OFFSET).
     * Unused with key_equal. */
    ptrdiff_t key_offset;
    /* Optional: true when node holds key (key_len bytes as given to find). */
    bool (*key_equal)(const rx_map_node_t *node, const void *key);
} rx_map_type_t;

/* Fields are private. */
typedef struct rx_map {
    const rx_map_type_t *type;
    rx_map_node_t **table[2]; /* [1]: the table a resize fills */
    size_t size[2];           /* buckets, a power of two, or 0 */
    size_t used[2];
    size_t rehash_idx;  /* next bucket of table[0] to move, while table[1] */
    unsigned iterators; /* active: no bucket moves meanwhile */
    rx_siphash_key_t key;
} rx_map_t;

/* type must outlive the map. Allocates nothing. */
void rx_map_init(rx_map_t *m, const rx_map_type_t *type);

/* Releases the bucket arrays; the nodes are the caller's and are not
 * touched. The map is empty afterwards and may be used again. Accepts NULL. */
void rx_map_free(rx_map_t *m);

/* Forgets every node (without touching them) and keeps the buckets. */
void rx_map_clear(rx_map_t *m);

size_t rx_map_count(const rx_map_t *m);

/* Makes room for n entries in one table, allocating now: inserts up to n
 * entries in all then neither allocate nor fail with -ENOMEM. Returns 0 or
 * -ENOMEM (the map unchanged). Meant for maps built in one go; on a map
 * with entries it starts a resize. */
int rx_map_reserve(rx_map_t *m, size_t n);

/* The node whose key equals key, or NULL. */
rx_map_node_t *rx_map_find(rx_map_t *m, const void *key);

/* The same without moving a bucket, for const access (introspection). A
 * resize still ends through the inserts, which move buckets too. */
const rx_map_node_t *rx_map_peek(const rx_map_t *m, const void *key);

/* Adds node under key (which the node must hold: it is what finds compare
 * against). 0, -EEXIST when the key is already there (node not added), or
 * -ENOMEM when the table had to grow and could not (node not added). */
int rx_map_insert(rx_map_t *m, rx_map_node_t *node, const void *key);

/* Removes node, which must be in the map. Never fails. */
void rx_map_remove(rx_map_t *m, rx_map_node_t *node);

/* Puts node in the place of old, which must be in the map and hold the
 * same key. Never fails, allocates nothing. */
void rx_map_replace(rx_map_t *m, rx_map_node_t *old, rx_map_node_t *node);

/*
 * Iteration in no particular order. While an iterator is active the map
 * moves no buckets, and the caller may remove the node the iterator last
 * returned (no other). Nodes inserted meanwhile may or may not be returned.
 * Iterating to the end (NULL) finishes the iterator; rx_map_iter_done()
 * finishes it early and may be called again after.
 */
typedef struct rx_map_iter {
    rx_map_t *map;
    rx_map_node_t *next;
    size_t bucket;
    unsigned table;
    bool active;
} rx_map_iter_t;

void rx_map_iter_init(rx_map_iter_t *it, rx_map_t *m);
rx_map_node_t *rx_map_iter_next(rx_map_iter_t *it);
void rx_map_iter_done(rx_map_iter_t *it);

/* The shape of the chains, for tests and status output. */
#define RX_MAP_HIST 8
typedef struct rx_map_stats {
    size_t count;
    size_t buckets;       /* of both tables */
    size_t longest_chain; /* entries in the longest bucket */
    /* chains[i]: buckets holding i entries; the last counts >= RX_MAP_HIST - 1 */
    size_t chains[RX_MAP_HIST];
    bool resizing;
} rx_map_stats_t;

void rx_map_stats(const rx_map_t *m, rx_map_stats_t *ret_stats);

/* Bytes of bucket arrays the map holds. */
size_t rx_map_memory(const rx_map_t *m);

#endif
