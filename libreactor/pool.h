/*
 * A pool of loops, each run by a thread of its own: the workers of a server
 * and the shards of a daemon.
 */
#ifndef LIBREACTOR_POOL_H
#define LIBREACTOR_POOL_H

#include <stdint.h>

#include "libreactor/loop.h"

typedef struct rx_pool rx_pool_t;

/* n loops, each run by its own thread named "<name>-<i>" once started. */
rx_pool_t *rx_pool_new(unsigned n, const char *name);
/* Returns once every thread runs its loop; -EALREADY if called twice. A pool
 * is started at most once. */
int rx_pool_start(rx_pool_t *pool);
unsigned rx_pool_size(const rx_pool_t *pool);
rx_loop_t *rx_pool_loop(const rx_pool_t *pool, unsigned i);
/* Any thread: round-robin. */
rx_loop_t *rx_pool_next(rx_pool_t *pool);
/* Any thread: the same key always gives the same loop. */
rx_loop_t *rx_pool_hash(const rx_pool_t *pool, uint64_t key);
/* Stops every loop and joins its thread. Idempotent. */
void rx_pool_stop(rx_pool_t *pool);
/* Stops if needed, then frees the loops. Accepts NULL. */
void rx_pool_free(rx_pool_t *pool);

#endif
