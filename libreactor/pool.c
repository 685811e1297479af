/*
 * A pool of N loops, each run by its own thread. rx_pool_start returns only
 * once every thread owns its loop (rx_loop_in_thread is then true there and
 * false everywhere else), so callers can decide between calling and posting
 * without a race. Stop and free are idempotent and join every thread.
 *
 * The pool struct is owned by the thread that created it; rx_pool_next,
 * rx_pool_hash, rx_pool_loop and rx_pool_size are safe from any thread
 * between start and stop.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libreactor/internal.h"
#include "libreactor/siphash.h"

typedef struct pool_thread {
    rx_pool_t *pool;
    rx_loop_t *loop;
    pthread_t thread;
    unsigned index;
    bool running;
} pool_thread_t;

struct rx_pool {
    unsigned n;
    pool_thread_t *threads;
    _Atomic unsigned next;
    rx_siphash_key_t hash_key; /* the process key, copied */
    char name[16];
    sem_t started;
    bool was_started;
};

rx_pool_t *rx_pool_new(unsigned n, const char *name)
{
    rx_pool_t *pool;

    if (n == 0)
        return NULL;
    pool = calloc(1, sizeof(*pool));
    if (!pool)
        return NULL;
    pool->threads = calloc(n, sizeof(*pool->threads));
    if (!pool->threads)
        goto out_free_pool;
    pool->n = n;
    snprintf(pool->name, sizeof(pool->name), "%s", name ? name : "rx");
    atomic_init(&pool->next, 0);
    rx_siphash_process_key(&pool->hash_key);
    if (sem_init(&pool->started, 0, 0) < 0)
        goto out_free_threads;
    for (unsigned i = 0; i < n; i++) {
        pool_thread_t *t = &pool->threads[i];
        *t = (pool_thread_t){.pool = pool, .index = i, .loop = rx_loop_new()};
        if (!t->loop)
            goto out_free_loops;
        rx_loop_set_index(t->loop, i);
    }
    return pool;

out_free_loops:
    for (unsigned i = 0; i < n; i++)
        rx_loop_free(pool->threads[i].loop);
    sem_destroy(&pool->started);
out_free_threads:
    free(pool->threads);
out_free_pool:
    free(pool);
    return NULL;
}

static void *pool_thread_main(void *arg)
{
    pool_thread_t *t = arg;
    char name[16];

    /* Thread names are limited to 15 bytes; a long pool name is cut. */
    snprintf(name, sizeof(name), "%.*s-%u", t->index < 10 ? 13 : 12, t->pool->name, t->index);
    pthread_setname_np(pthread_self(), name);
    rx_loop_claim(t->loop);
    sem_post(&t->pool->started);
    rx_loop_run(t->loop);
    return NULL;
}

static void pool_join(rx_pool_t *pool)
{
    for (unsigned i = 0; i < pool->n; i++) {
        if (pool->threads[i].running)
            rx_loop_stop(pool->threads[i].loop);
    }
    for (unsigned i = 0; i < pool->n; i++) {
        if (pool->threads[i].running) {
            pthread_join(pool->threads[i].thread, NULL);
            pool->threads[i].running = false;
        }
    }
}

int rx_pool_start(rx_pool_t *pool)
{
    if (pool->was_started)
        return -EALREADY;
    pool->was_started = true;
    for (unsigned i = 0; i < pool->n; i++) {
        pool_thread_t *t = &pool->threads[i];
        int err = pthread_create(&t->thread, NULL, pool_thread_main, t);
        if (err) {
            pool_join(pool);
            return -err;
        }
        t->running = true;
    }
    for (unsigned i = 0; i < pool->n; i++) {
        while (sem_wait(&pool->started) < 0 && errno == EINTR)
            ;
    }
    return 0;
}

unsigned rx_pool_size(const rx_pool_t *pool)
{
    return pool->n;
}

rx_loop_t *rx_pool_loop(const rx_pool_t *pool, unsigned i)
{
    return i < pool->n ? pool->threads[i].loop : NULL;
}

rx_loop_t *rx_pool_next(rx_pool_t *pool)
{
    unsigned i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);

    return pool->threads[i % pool->n].loop;
}

/* Keyed with the process key: whoever chooses the keys cannot pile them
 * onto one loop. The same key gives the same loop within one process. */
rx_loop_t *rx_pool_hash(const rx_pool_t *pool, uint64_t key)
{
    return pool->threads[rx_siphash_u64(&pool->hash_key, key) % pool->n].loop;
}

void rx_pool_stop(rx_pool_t *pool)
{
    if (pool)
        pool_join(pool);
}

void rx_pool_free(rx_pool_t *pool)
{
    if (!pool)
        return;
    pool_join(pool);
    for (unsigned i = 0; i < pool->n; i++)
        rx_loop_free(pool->threads[i].loop);
    sem_destroy(&pool->started);
    free(pool->threads);
    free(pool);
}
