/*
 * The DB loop of lars-dns: connects to MariaDB (with backoff), polls
 * RouteVersion; when the version moved it reloads only the pairs RouteChange
 * names (changes.c), and all of RouteData at the first load, after a
 * reconnect, when the change list cannot be trusted and every
 * reload_interval_s; it hands the new snapshot to dns_publish() and prunes
 * old RouteChange rows. Everything here runs on the "dns-db" loop, one step
 * per one-shot timer; a step blocks that loop only, for at most the
 * connection's timeouts (lars_db_connect sets them).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/common/log.h"
#include "daemons/dns/internal.h"

#define PRUNE_EVERY_MS 60000
#define PRUNE_BATCH    10000

static const char load_sql[] = "SELECT modid, cmdid, serverip, serverport FROM RouteData "
                               "ORDER BY modid, cmdid, serverip, serverport";

static void step(dns_t *d);

void dns_set_db_error(dns_t *d, const char *msg)
{
    pthread_mutex_lock(&d->err_lock);
    snprintf(d->db_error, sizeof(d->db_error), "%s", msg);
    pthread_mutex_unlock(&d->err_lock);
}

static void event(dns_t *d)
{
    if (d->cb)
        d->cb(d, d->first_done, d->cb_arg);
}

static void step_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    step(arg);
}

static void schedule(dns_t *d, uint64_t delay_ms)
{
    if (d->timer)
        rx_timer_arm(d->timer, delay_ms, 0);
    else
        lars_log(LOG_CRIT, "cannot arm the DB timer: routes will not be reloaded");
}

static int db_connect(dns_t *d)
{
    lars_db_error_t e = {0};
    char where[256];
    int err;

    err = lars_db_connect(&d->db, &d->conn, &e);
    lars_db_describe(&d->db, where, sizeof(where));
    if (err < 0) {
        d->conn = NULL;
        atomic_fetch_add(&d->c.db_connect_failures, 1);
        dns_set_db_error(d, e.msg);
        if (atomic_exchange(&d->db_state, DNS_DB_DOWN) != DNS_DB_DOWN) {
            lars_log(LOG_ERR, "%s; %s, retrying", e.msg,
                     d->have_loaded ? "serving the last good route table"
                                    : "serving an empty route table");
            event(d);
        } else {
            lars_log(LOG_DEBUG, "still failing: %s", e.msg);
        }
        return err;
    }
    rx_backoff_reset(&d->backoff);
    if (d->ever_connected)
        atomic_fetch_add(&d->c.db_reconnects, 1);
    d->ever_connected = true;
    d->force = true;
    atomic_store(&d->db_state, DNS_DB_UP);
    lars_log(LOG_NOTICE, "connected to MariaDB %s", where);
    event(d);
    return 0;
}

static uint32_t parse_u32(const char *s)
{
    return s ? (uint32_t)strtoul(s, NULL, 10) : 0;
}

/* Streams the rows of `sql` (mysql_use_result: no client-side copy of the
 * whole result) into b; the queries' order makes the builder's fast path. */
int dns_load_rows(dns_t *d, const char *sql, size_t len, route_builder_t *b)
{
    lars_db_error_t e = {0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    int err = 0;

    if (mysql_real_query(d->conn, sql, len) != 0 || !(res = mysql_use_result(d->conn))) {
        err = lars_db_error_from(d->conn, "loading RouteData", &e);
        dns_set_db_error(d, e.msg);
        return err;
    }
    while ((row = mysql_fetch_row(res)) && err == 0)
        err = route_builder_add(b, (int32_t)parse_u32(row[0]), (int32_t)parse_u32(row[1]),
                                (int32_t)parse_u32(row[2]), (int32_t)parse_u32(row[3]));
    if (err == 0 && mysql_errno(d->conn) != 0) {
        err = lars_db_error_from(d->conn, "reading RouteData", &e);
        dns_set_db_error(d, e.msg);
    }
    mysql_free_result(res);
    return err;
}

int dns_query_u64(dns_t *d, const char *sql, uint64_t *ret)
{
    lars_db_error_t e = {0};
    int err = lars_db_query_u64(d->conn, sql, ret, &e);

    if (err == -ENOENT) {
        *ret = 0;
        return 0;
    }
    if (err < 0)
        dns_set_db_error(d, e.msg);
    return err;
}

/* A load reads RouteVersion, RouteChange and RouteData in one consistent
 * snapshot, so the version and the last change id describe exactly the rows
 * loaded, whatever writers commit meanwhile. */
int dns_snapshot_begin(dns_t *d)
{
    lars_db_error_t e = {0};
    int64_t r = lars_db_exec(d->conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT", &e);

    if (r < 0)
        dns_set_db_error(d, e.msg);
    return r < 0 ? (int)r : 0;
}

int dns_snapshot_end(dns_t *d, int err)
{
    lars_db_error_t e = {0};
    int r;

    if (err < 0) {
        lars_db_rollback(d->conn);
        return err;
    }
    r = lars_db_commit(d->conn, &e);
    if (r < 0)
        dns_set_db_error(d, e.msg);
    return r < 0 ? r : err;
}

static int load_full_rows(dns_t *d, dns_load_t *l)
{
    route_builder_t *b;
    int err;

    err = dns_query_u64(d, "SELECT version FROM RouteVersion WHERE id = 1", &l->version);
    if (err < 0)
        return err;
    err = dns_query_u64(d, "SELECT COALESCE(MAX(id), 0) FROM RouteChange", &l->last_change_id);
    if (err < 0)
        return err;
    b = route_builder_new();
    if (!b)
        return -ENOMEM;
    err = dns_load_rows(d, load_sql, sizeof(load_sql) - 1, b);
    if (err < 0) {
        route_builder_free(b);
        return err;
    }
    return route_builder_finish(b, l->version, &l->table);
}

static int load_full(dns_t *d, dns_load_t *l)
{
    int err = dns_snapshot_begin(d);

    if (err < 0)
        return err;
    err = dns_snapshot_end(d, load_full_rows(d, l));
    if (err < 0) {
        route_table_free(l->table);
        l->table = NULL;
    }
    return err;
}

static void count_load(dns_t *d, const dns_load_t *l, uint64_t t0)
{
    uint64_t now = rx_time_ms();

    atomic_fetch_add(&d->c.reloads, 1);
    atomic_fetch_add(l->keys ? &d->c.reloads_incremental : &d->c.reloads_full, 1);
    atomic_store(&d->last_reload_ms, now - t0);
    atomic_store(&d->last_load_at_ms, now);
    atomic_store(&d->version, l->version);
    lars_log(LOG_DEBUG, "loaded %zu routes (version %" PRIu64 ", %s) in %" PRIu64 " ms",
             l->table->nhosts, l->version, l->keys ? "incremental" : "full", now - t0);
}

/* 0: nothing to do, 1: a new table was loaded, or -errno. */
static int poll_and_load(dns_t *d)
{
    dns_load_t l = {0};
    uint64_t v = 0, t0;
    bool full;
    int err;

    err = dns_query_u64(d, "SELECT version FROM RouteVersion WHERE id = 1", &v);
    if (err < 0)
        return err;
    t0 = rx_time_ms();
    full = d->force || !d->have_loaded || t0 >= d->next_full_ms;
    if (!full && v == atomic_load(&d->version))
        return 0;
    err = full ? 0 : dns_load_incremental(d, &l);
    if (err < 0) {
        /* whatever went wrong, a full reload next time does not depend on it */
        d->force = err != -ENOTCONN;
        return err;
    }
    if (err == 0) {
        err = load_full(d, &l);
        if (err < 0)
            return err;
        d->next_full_ms = t0 + (uint64_t)atomic_load(&d->reload_interval_s) * 1000;
    }
    count_load(d, &l, t0);
    d->last_change_id = l.last_change_id;
    d->have_loaded = true;
    d->force = false;
    /* Dropped: the change list has moved on, only a full reload recovers. */
    if (dns_publish(d, l.table, l.keys, l.nkeys) < 0)
        d->force = true;
    free(l.keys);
    /* the builder's and the DB client's buffers, freed on this thread */
    malloc_trim(0);
    return 1;
}

static void prune(dns_t *d)
{
    lars_db_error_t e = {0};
    char sql[200];
    int64_t n;

    snprintf(sql, sizeof(sql),
             "DELETE FROM RouteChange WHERE version < CAST(UNIX_TIMESTAMP() AS SIGNED) - %" PRId64
             " LIMIT %d",
             atomic_load(&d->change_retention_s), PRUNE_BATCH);
    n = lars_db_exec(d->conn, sql, &e);
    if (n < 0) {
        atomic_fetch_add(&d->c.db_errors, 1);
        lars_log_rl(LOG_WARNING, "cannot prune RouteChange: %s", e.msg);
        return;
    }
    atomic_fetch_add(&d->c.pruned, (uint64_t)n);
    /* A full batch: more is left, come back sooner. */
    d->next_prune_ms = rx_time_ms() + (n == PRUNE_BATCH ? 1000 : PRUNE_EVERY_MS);
}

static void lost_connection(dns_t *d)
{
    char err[256];

    pthread_mutex_lock(&d->err_lock);
    snprintf(err, sizeof(err), "%s", d->db_error);
    pthread_mutex_unlock(&d->err_lock);
    lars_log(LOG_ERR, "lost the MariaDB connection (%s); serving the last good route table", err);
    lars_db_free(d->conn);
    d->conn = NULL;
    atomic_store(&d->db_state, DNS_DB_DOWN);
    event(d);
}

static void step(dns_t *d)
{
    uint64_t delay = (uint64_t)atomic_load(&d->version_poll_ms);
    int r;

    if (!d->conn && db_connect(d) < 0) {
        delay = rx_backoff_next_ms(&d->backoff);
        goto out;
    }
    r = poll_and_load(d);
    if (r < 0) {
        atomic_fetch_add(&d->c.db_errors, 1);
        if (r == -ENOTCONN) {
            lost_connection(d);
            delay = rx_backoff_next_ms(&d->backoff);
            goto out;
        }
        lars_log_rl(LOG_ERR, "cannot reload routes: %s", d->db_error);
    } else if (r > 0) {
        event(d);
    }
    if (rx_time_ms() >= d->next_prune_ms)
        prune(d);
out:
    if (!d->first_done) {
        d->first_done = true;
        event(d);
    }
    schedule(d, delay);
}

static void start_task(rx_loop_t *loop, void *arg)
{
    dns_t *d = arg;

    rx_backoff_init(&d->backoff, 100, 5000);
    d->timer = rx_timer_new(loop, step_timer, d);
    step(d);
}

static void force_task(rx_loop_t *loop, void *arg)
{
    dns_t *d = arg;

    d->force = true;
    rx_timer_stop(d->timer);
    step(d);
}

int dns_loader_start(dns_t *d)
{
    return rx_loop_post(d->dbloop, start_task, d);
}

void dns_loader_force(dns_t *d)
{
    int err = rx_loop_post(d->dbloop, force_task, d);

    if (err < 0)
        lars_log(LOG_ERR, "cannot ask the DB loop to reload: %s", strerror(-err));
}

void dns_loader_cleanup(dns_t *d)
{
    lars_db_free(d->conn);
    d->conn = NULL;
    rx_timer_free(d->timer);
    d->timer = NULL;
}
