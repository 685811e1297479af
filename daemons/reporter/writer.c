/*
 * Writer threads (see writer.h).
 */
#include "daemons/reporter/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemons/common/log.h"
#include "daemons/reporter/sql.h"
#include "libreactor/reactor.h"

/* The thread wakes at least this often, so its heartbeat stays fresh. */
#define WRITER_MAX_SLEEP_MS 500
/* An idle connection is pinged this often, so STATUS tells the DB state. */
#define WRITER_PING_MS 2000

struct rp_writer {
    unsigned index;
    lars_db_settings_t db;
    pthread_t thread;
    bool started;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Guarded by lock. */
    rp_pending_t *pending;
    size_t batch_rows;
    uint32_t batch_ms;
    bool stopping;
    uint64_t deadline_ms;
    rp_writer_stats_t stats;

    /* Writer thread only. */
    MYSQL *conn;
    bool ever_connected;
    uint64_t next_connect_ms;
    uint64_t retry_at_ms; /* after a failed statement */
    uint64_t last_flush_ms;
    uint64_t last_used_ms; /* last statement or ping */
    rx_backoff_t backoff;
    rp_sql_t sql;
    rp_row_t *batch;
    size_t batch_cap;
};

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static void db_settings_free(lars_db_settings_t *s)
{
    free(s->host);
    free(s->socket);
    free(s->user);
    free(s->password);
    free(s->password_file);
    free(s->name);
}

static int db_settings_copy(lars_db_settings_t *dst, const lars_db_settings_t *src)
{
    *dst = *src;
    dst->host = dup_or_empty(src->host);
    dst->socket = dup_or_empty(src->socket);
    dst->user = dup_or_empty(src->user);
    dst->password = dup_or_empty(src->password);
    dst->password_file = dup_or_empty(src->password_file);
    dst->name = dup_or_empty(src->name);
    if (!dst->host || !dst->socket || !dst->user || !dst->password || !dst->password_file ||
        !dst->name) {
        db_settings_free(dst);
        return -ENOMEM;
    }
    return 0;
}

int rp_writer_new(const rp_writer_config_t *cfg, rp_writer_t **ret_writer)
{
    rp_writer_t *w;
    int r;

    if (cfg->batch_rows == 0 || cfg->limit == 0 || !cfg->db)
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->index = cfg->index;
    w->batch_rows = cfg->batch_rows;
    w->batch_ms = cfg->batch_ms;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    rx_backoff_init(&w->backoff, 100, 5000);

    r = db_settings_copy(&w->db, cfg->db);
    if (r < 0)
        goto out_free;
    w->pending = rp_pending_new(cfg->limit);
    if (!w->pending) {
        r = -ENOMEM;
        goto out_db;
    }
    *ret_writer = w;
    return 0;

out_db:
    db_settings_free(&w->db);
out_free:
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
    return r;
}

size_t rp_writer_put(rp_writer_t *w, const rp_row_t *rows, size_t n)
{
    size_t dropped = 0, before, waiting;
    bool wake;

    pthread_mutex_lock(&w->lock);
    before = rp_pending_waiting(w->pending);
    for (size_t i = 0; i < n; i++)
        if (rp_pending_put(w->pending, &rows[i]) != 0)
            dropped++;
    w->stats.rows_in += n;
    /* Wake the thread when a full batch is ready, and when rows arrive at
     * an idle writer, which may be in its long idle sleep: from then on
     * batch_ms is its own timeout. */
    waiting = rp_pending_waiting(w->pending);
    wake = waiting >= w->batch_rows || (before == 0 && waiting > 0);
    pthread_mutex_unlock(&w->lock);
    if (wake)
        pthread_cond_signal(&w->cond);
    return dropped;
}

void rp_writer_set_batch(rp_writer_t *w, size_t batch_rows, uint32_t batch_ms)
{
    pthread_mutex_lock(&w->lock);
    w->batch_rows = batch_rows ? batch_rows : 1;
    w->batch_ms = batch_ms;
    pthread_mutex_unlock(&w->lock);
    pthread_cond_signal(&w->cond);
}

void rp_writer_stats(rp_writer_t *w, rp_writer_stats_t *ret)
{
    rp_pending_stats_t ps;

    pthread_mutex_lock(&w->lock);
    *ret = w->stats;
    rp_pending_stats(w->pending, &ps);
    ret->drops = ps.drops;
    ret->coalesced = ps.coalesced;
    ret->pending = rp_pending_count(w->pending);
    pthread_mutex_unlock(&w->lock);
}

/* ------------------------------------------------------ writer thread -- */

static void writer_disconnect(rp_writer_t *w, uint64_t now)
{
    lars_db_free(w->conn);
    w->conn = NULL;
    w->next_connect_ms = now + rx_backoff_next_ms(&w->backoff);
    pthread_mutex_lock(&w->lock);
    w->stats.connected = false;
    pthread_mutex_unlock(&w->lock);
}

/* Called without the lock. */
static void writer_connect(rp_writer_t *w)
{
    lars_db_error_t err;
    char where[256];
    int r = lars_db_connect(&w->db, &w->conn, &err);
    uint64_t now = rx_time_ms();

    lars_db_describe(&w->db, where, sizeof(where));
    if (r < 0) {
        w->conn = NULL;
        w->next_connect_ms = now + rx_backoff_next_ms(&w->backoff);
        lars_log_rl(LOG_WARNING, "writer %u: %s", w->index, err.msg);
        pthread_mutex_lock(&w->lock);
        w->stats.db_errors++;
        pthread_mutex_unlock(&w->lock);
        return;
    }
    rx_backoff_reset(&w->backoff);
    w->last_used_ms = now;
    pthread_mutex_lock(&w->lock);
    w->stats.connected = true;
    if (w->ever_connected)
        w->stats.reconnects++;
    pthread_mutex_unlock(&w->lock);
    lars_log(w->ever_connected ? LOG_NOTICE : LOG_INFO, "writer %u: connected to MariaDB %s",
             w->index, where);
    w->ever_connected = true;
}

static int writer_batch_room(rp_writer_t *w, size_t n)
{
    if (n <= w->batch_cap)
        return 0;
    rp_row_t *b = realloc(w->batch, n * sizeof(*b));
    if (!b)
        return -ENOMEM;
    w->batch = b;
    w->batch_cap = n;
    return 0;
}

/* Sends one statement of up to `max` rows. Called and returns with the
 * lock held; runs the statement without it. Returns rows written, 0 when
 * nothing was waiting, or -errno. */
static int writer_flush_one(rp_writer_t *w, size_t max)
{
    lars_db_error_t err;
    size_t n;
    int64_t r;

    if (writer_batch_room(w, max) < 0)
        return -ENOMEM;
    w->last_used_ms = rx_time_ms();
    n = rp_pending_take(w->pending, w->batch, max);
    if (n == 0)
        return 0;
    pthread_mutex_unlock(&w->lock);

    r = rp_sql_build_upsert(&w->sql, w->batch, n);
    if (r == 0)
        r = lars_db_exec(w->conn, w->sql.buf, &err);
    else
        snprintf(err.msg, sizeof(err.msg), "cannot build the statement: %s", strerror((int)-r));

    pthread_mutex_lock(&w->lock);
    rp_pending_done(w->pending, w->batch, n, r >= 0);
    if (r >= 0) {
        if (w->retry_at_ms)
            rx_backoff_reset(&w->backoff);
        w->retry_at_ms = 0;
        w->stats.statements++;
        w->stats.rows_upserted += n;
        return (int)n;
    }
    w->stats.db_errors++;
    pthread_mutex_unlock(&w->lock);

    uint64_t now = rx_time_ms();
    lars_log_rl(LOG_WARNING, "writer %u: upsert of %zu rows failed (kept pending): %s", w->index, n,
                err.msg);
    if (r == -ENOTCONN)
        writer_disconnect(w, now);
    else
        w->retry_at_ms = now + rx_backoff_next_ms(&w->backoff);

    pthread_mutex_lock(&w->lock);
    return (int)r;
}

/* Called without the lock. */
static void writer_ping(rp_writer_t *w, uint64_t now)
{
    lars_db_error_t err;

    w->last_used_ms = now;
    if (mysql_ping(w->conn) == 0)
        return;
    if (lars_db_error_from(w->conn, "ping", &err) == -ENOTCONN) {
        lars_log_rl(LOG_WARNING, "writer %u: lost MariaDB: %s", w->index, err.msg);
        writer_disconnect(w, now);
    }
}

/* With the lock held: how long to sleep, 0 to work now. */
static uint64_t writer_idle_ms(rp_writer_t *w, uint64_t now)
{
    size_t waiting = rp_pending_waiting(w->pending);
    uint64_t wake = now + WRITER_MAX_SLEEP_MS;

    if (!w->conn) {
        if (now >= w->next_connect_ms)
            return 0;
        if (w->next_connect_ms < wake)
            wake = w->next_connect_ms;
        return wake - now;
    }
    if (waiting == 0) {
        if (now >= w->last_used_ms + WRITER_PING_MS)
            return 0;
        return WRITER_MAX_SLEEP_MS;
    }
    if (now < w->retry_at_ms)
        return w->retry_at_ms - now;
    if (waiting >= w->batch_rows || w->stopping || now - w->last_flush_ms >= w->batch_ms)
        return 0;
    if (w->last_flush_ms + w->batch_ms < wake)
        wake = w->last_flush_ms + w->batch_ms;
    return wake - now;
}

static void writer_sleep(rp_writer_t *w, uint64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&w->cond, &w->lock, &ts);
}

static bool writer_done(rp_writer_t *w, uint64_t now)
{
    return w->stopping && (rp_pending_waiting(w->pending) == 0 || now >= w->deadline_ms);
}

static void *writer_main(void *arg)
{
    rp_writer_t *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        uint64_t now = rx_time_ms();
        w->stats.heartbeat_ms = now;
        if (writer_done(w, now))
            break;

        uint64_t idle = writer_idle_ms(w, now);
        if (idle > 0) {
            if (w->stopping && now + idle > w->deadline_ms)
                idle = w->deadline_ms > now ? w->deadline_ms - now : 1;
            writer_sleep(w, idle);
            continue;
        }
        if (!w->conn) {
            pthread_mutex_unlock(&w->lock);
            writer_connect(w);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        if (rp_pending_waiting(w->pending) == 0) {
            pthread_mutex_unlock(&w->lock);
            writer_ping(w, now);
            pthread_mutex_lock(&w->lock);
            continue;
        }
        /* Due: drain by full batches; on a timed flush also the remainder. */
        bool timed = w->stopping || now - w->last_flush_ms >= w->batch_ms;
        while (w->conn && rp_pending_waiting(w->pending) > 0 &&
               (timed || rp_pending_waiting(w->pending) >= w->batch_rows)) {
            w->stats.heartbeat_ms = rx_time_ms();
            if (writer_flush_one(w, w->batch_rows) <= 0)
                break;
        }
        if (timed)
            w->last_flush_ms = rx_time_ms();
    }
    pthread_mutex_unlock(&w->lock);
    lars_db_free(w->conn);
    w->conn = NULL;
    mysql_thread_end();
    return NULL;
}

int rp_writer_start(rp_writer_t *w)
{
    int r;

    w->last_flush_ms = rx_time_ms();
    w->stats.heartbeat_ms = w->last_flush_ms;
    r = pthread_create(&w->thread, NULL, writer_main, w);
    if (r != 0)
        return -r;
    char name[16];
    snprintf(name, sizeof(name), "rp-writer-%u", w->index);
    pthread_setname_np(w->thread, name);
    w->started = true;
    return 0;
}

void rp_writer_stop_begin(rp_writer_t *w, uint64_t deadline_ms)
{
    pthread_mutex_lock(&w->lock);
    if (!w->stopping || deadline_ms < w->deadline_ms)
        w->deadline_ms = deadline_ms;
    w->stopping = true;
    pthread_mutex_unlock(&w->lock);
    pthread_cond_signal(&w->cond);
}

size_t rp_writer_stop(rp_writer_t *w, uint64_t deadline_ms)
{
    size_t left;

    if (w->started) {
        rp_writer_stop_begin(w, deadline_ms);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    pthread_mutex_lock(&w->lock);
    left = rp_pending_count(w->pending);
    pthread_mutex_unlock(&w->lock);
    return left;
}

void rp_writer_free(rp_writer_t *w)
{
    if (!w)
        return;
    rp_writer_stop(w, rx_time_ms());
    rp_pending_free(w->pending);
    rp_sql_release(&w->sql);
    free(w->batch);
    db_settings_free(&w->db);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
