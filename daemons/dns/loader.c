/*
 * The DB loop of lars-dns: connects to MariaDB (with backoff), polls
 * RouteVersion, loads RouteData into a new snapshot when the version moved
 * or the periodic full reload is due, hands it to dns_publish(), and prunes
 * old RouteChange rows. Everything here runs on the "dns-db" loop, one step
 * per one-shot timer; a step blocks that loop only, for at most the
 * connection's timeouts (lars_db_connect sets them).
 */
#include <errno.h>
#include <inttypes.h>
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
    dns_t *d = arg;

    d->timer = NULL;
    step(d);
}

static void schedule(dns_t *d, uint64_t delay_ms)
{
    d->timer = rx_timer_add(d->dbloop, delay_ms, 0, step_timer, d);
    if (!d->timer)
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
            lars_log(LOG_ERR, "cannot connect to MariaDB %s: %s; %s, retrying", where, e.msg,
                     d->have_loaded ? "serving the last good route table"
                                    : "serving an empty route table");
            event(d);
        } else {
            lars_log(LOG_DEBUG, "still cannot connect to MariaDB %s: %s", where, e.msg);
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

/* Streams the rows (mysql_use_result: no client-side copy of the whole
 * result) into a builder; the query's order makes the builder's fast path. */
static int load_table(dns_t *d, uint64_t version, route_table_t **ret)
{
    lars_db_error_t e = {0};
    route_builder_t *b;
    MYSQL_RES *res;
    MYSQL_ROW row;
    int err = 0;

    if (mysql_real_query(d->conn, load_sql, sizeof(load_sql) - 1) != 0)
        goto out_db_error;
    res = mysql_use_result(d->conn);
    if (!res)
        goto out_db_error;
    b = route_builder_new();
    if (!b) {
        mysql_free_result(res);
        return -ENOMEM;
    }
    while ((row = mysql_fetch_row(res)) && err == 0)
        err = route_builder_add(b, (int32_t)parse_u32(row[0]), (int32_t)parse_u32(row[1]),
                                (int32_t)parse_u32(row[2]), (int32_t)parse_u32(row[3]));
    if (err == 0 && mysql_errno(d->conn) != 0) {
        err = lars_db_error_from(d->conn, "reading RouteData", &e);
        dns_set_db_error(d, e.msg);
    }
    mysql_free_result(res);
    if (err < 0) {
        route_builder_free(b);
        return err;
    }
    return route_builder_finish(b, version, ret);

out_db_error:
    err = lars_db_error_from(d->conn, "loading RouteData", &e);
    dns_set_db_error(d, e.msg);
    return err;
}

/* 0: nothing to do, 1: a new table was loaded, or -errno. */
static int poll_and_load(dns_t *d)
{
    lars_db_error_t e = {0};
    route_table_t *t = NULL;
    uint64_t v = 0, t0, now;
    int err;

    err = lars_db_query_u64(d->conn, "SELECT version FROM RouteVersion WHERE id = 1", &v, &e);
    if (err == -ENOENT)
        v = 0;
    else if (err < 0) {
        dns_set_db_error(d, e.msg);
        return err;
    }
    now = rx_time_ms();
    if (!d->force && d->have_loaded && v == atomic_load(&d->version) && now < d->next_full_ms)
        return 0;
    t0 = now;
    err = load_table(d, v, &t);
    if (err < 0)
        return err;
    now = rx_time_ms();
    atomic_fetch_add(&d->c.reloads, 1);
    atomic_store(&d->last_reload_ms, now - t0);
    atomic_store(&d->last_load_at_ms, now);
    atomic_store(&d->version, v);
    lars_log(LOG_DEBUG, "loaded %zu routes (version %" PRIu64 ") in %" PRIu64 " ms", t->nhosts, v,
             now - t0);
    d->have_loaded = true;
    d->force = false;
    d->next_full_ms = t0 + (uint64_t)atomic_load(&d->reload_interval_s) * 1000;
    dns_publish(d, t);
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
    step(d);
}

static void force_task(rx_loop_t *loop, void *arg)
{
    dns_t *d = arg;

    d->force = true;
    if (d->timer)
        rx_timer_cancel(loop, d->timer);
    d->timer = NULL;
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
}
