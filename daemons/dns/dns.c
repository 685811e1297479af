/*
 * lars-dns network side: connections, GetRouteRequest handling,
 * subscriptions, snapshot publication with pushes, and the lifecycle.
 *
 * Snapshot reclamation. Readers (request handlers on the worker loops) load
 * `current` and use it only until their callback returns. dns_publish()
 * swaps the pointer first and then posts one push task per worker loop; a
 * loop runs that task between callbacks, so when it runs, no handler of
 * that loop can still hold the old snapshot. Each task decrements a
 * countdown and the last one frees the old snapshot: the task queues are
 * the grace period, without locks or per-read reference counts. The push
 * task itself reads the new snapshot, which stays alive at least until the
 * next publication's tasks have run on every loop, and those queue behind
 * it (each loop's queue is FIFO).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemons/common/log.h"
#include "daemons/dns/internal.h"
#include "proto/wire.h"

typedef struct dns_swap {
    dns_t *dns;
    route_table_t *old;
    route_table_t *new;
    int32_t (*changed)[2];
    size_t nchanged, cap;
    atomic_uint pending;
    atomic_bool leak_old; /* a loop could not be reached: never free old */
} dns_swap_t;

/* ---------------------------------------------------------- responses -- */

/* How many of the pair's hosts fit max_frame (all of them but for routes of
 * hundreds of thousands of hosts). */
static size_t hosts_that_fit(const dns_t *d, int32_t modid, int32_t cmdid, const route_host_t *h,
                             size_t n, size_t *ret_size)
{
    size_t size = wire_get_route_resp_size(modid, cmdid, h, n);

    if (size <= d->max_frame) {
        *ret_size = size;
        return n;
    }
    size = wire_get_route_resp_size(modid, cmdid, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        size_t one = wire_get_route_resp_size(0, 0, &h[i], 1);
        if (size + one > d->max_frame) {
            *ret_size = size;
            return i;
        }
        size += one;
    }
    *ret_size = size;
    return n;
}

static void route_of(const route_table_t *t, int32_t modid, int32_t cmdid,
                     const route_host_t **ret_hosts, size_t *ret_n)
{
    const route_pair_t *p = route_table_lookup(t, modid, cmdid);

    *ret_hosts = p ? route_pair_hosts(t, p) : NULL;
    *ret_n = p ? p->count : 0;
}

static size_t fit_route(dns_t *d, int32_t modid, int32_t cmdid, const route_host_t *h, size_t n,
                        size_t *ret_size)
{
    size_t fit = hosts_that_fit(d, modid, cmdid, h, n, ret_size);

    if (fit < n) {
        atomic_fetch_add_explicit(&d->c.truncated, 1, memory_order_relaxed);
        lars_log_ratelimit(LOG_WARNING, LARS_LOG_RL_INTERVAL_MS, LARS_LOG_RL_BURST, NULL,
                           "route %d/%d has %zu hosts; sending the %zu that fit max_frame %u",
                           modid, cmdid, n, fit, d->max_frame);
    }
    return fit;
}

/* The reply is written straight into the connection's output buffer. */
static void reply_route(dns_t *d, rx_conn_t *conn, const route_table_t *t, int32_t modid,
                        int32_t cmdid)
{
    const route_host_t *h;
    size_t n, size, written;
    uint8_t *p;
    int err;

    route_of(t, modid, cmdid, &h, &n);
    n = fit_route(d, modid, cmdid, h, n, &size);
    p = rx_conn_frame_begin(conn, WIRE_ID_GET_ROUTE_RESPONSE, (uint32_t)size, &err);
    if (!p) {
        atomic_fetch_add_explicit(&d->c.send_failures, 1, memory_order_relaxed);
        return;
    }
    wire_encode_get_route_resp(p, size, modid, cmdid, h, n, &written);
    rx_conn_frame_commit(conn);
}

static void worker_update_counts(dns_worker_t *w)
{
    atomic_store_explicit(&w->nsubs, dns_subs_count(w->subs), memory_order_relaxed);
    atomic_store_explicit(&w->npairs, dns_subs_npairs(w->subs), memory_order_relaxed);
}

static void on_get_route(const rx_msg_t *msg, void *arg)
{
    dns_t *d = arg;
    dns_worker_t *w = &d->w[rx_loop_index(msg->loop)];
    rx_conn_t *conn = rx_msg_conn(msg);
    dns_conn_t *c = rx_conn_data(conn);
    wire_get_route_req_t req;
    int r;

    if (wire_decode_get_route_req(msg->body, msg->len, &req) < 0) {
        /* Not a Lars agent, or a broken one: its other frames cannot be
         * trusted either, and closing drops its subscriptions. */
        char peer[RX_ADDR_STRLEN];
        atomic_fetch_add_explicit(&d->c.bad_bodies, 1, memory_order_relaxed);
        lars_log_rl(LOG_WARNING, "closing %s: GetRouteRequest body of %u bytes does not decode",
                    rx_addr_format(msg->from.addr, peer, sizeof(peer)), msg->len);
        rx_conn_close(conn);
        return;
    }
    atomic_fetch_add_explicit(&d->c.requests, 1, memory_order_relaxed);
    reply_route(d, conn, atomic_load_explicit(&d->current, memory_order_acquire), req.modid,
                req.cmdid);
    r = dns_subs_add(w->subs, &c->sub, req.modid, req.cmdid);
    if (r < 0)
        lars_log_rl(LOG_ERR, "cannot subscribe to %d/%d: out of memory", req.modid, req.cmdid);
    else if (r > 0)
        worker_update_counts(w);
}

static void on_open(rx_conn_t *conn, void *arg)
{
    dns_conn_t *c = calloc(1, sizeof(*c));

    if (!c) {
        lars_log_rl(LOG_ERR, "out of memory for a connection; closing it");
        rx_conn_close(conn);
        return;
    }
    c->conn = conn;
    c->sub.owner = c;
    rx_conn_set_data(conn, c);
}

static void on_close(rx_conn_t *conn, void *arg)
{
    dns_t *d = arg;
    dns_conn_t *c = rx_conn_data(conn);
    dns_worker_t *w;

    if (!c)
        return;
    w = &d->w[rx_loop_index(rx_conn_loop(conn))];
    if (c->sub.count) {
        dns_subs_remove_conn(w->subs, &c->sub);
        worker_update_counts(w);
    }
    rx_conn_set_data(conn, NULL);
    free(c);
}

/* -------------------------------------------------------------- pushes -- */

/* The old snapshot was allocated on the DB thread and is freed here, on a
 * worker: glibc keeps the freed pages in the DB thread's arena, and after a
 * few reloads RSS holds several tables' worth. The DB loop hands them back. */
static void trim_task(rx_loop_t *loop, void *arg)
{
    malloc_trim(0);
}

static void swap_done(dns_swap_t *s)
{
    dns_t *d = s->dns;

    if (atomic_fetch_sub(&s->pending, 1) != 1)
        return;
    if (!atomic_load(&s->leak_old))
        route_table_free(s->old);
    free(s->changed);
    free(s);
    /* Fails only while stopping, when nothing is worth trimming. */
    (void)rx_loop_post(d->dbloop, trim_task, NULL);
}

typedef struct push_ctx {
    dns_worker_t *w;
    int32_t modid, cmdid;
    const route_table_t *t;
    size_t len;
    bool encoded;
} push_ctx_t;

static int push_encode(push_ctx_t *x)
{
    dns_worker_t *w = x->w;
    const route_host_t *h;
    size_t n, written;

    route_of(x->t, x->modid, x->cmdid, &h, &n);
    n = fit_route(w->dns, x->modid, x->cmdid, h, n, &x->len);
    if (x->len > w->scratch_cap) {
        size_t cap = x->len < 4096 ? 4096 : x->len;
        uint8_t *p = realloc(w->scratch, cap);
        if (!p)
            return -ENOMEM;
        w->scratch = p;
        w->scratch_cap = cap;
    }
    wire_encode_get_route_resp(w->scratch, x->len, x->modid, x->cmdid, h, n, &written);
    x->encoded = true;
    return 0;
}

static void push_one(void *owner, void *arg)
{
    push_ctx_t *x = arg;
    dns_conn_t *c = owner;
    dns_t *d = x->w->dns;

    if (!x->encoded && push_encode(x) < 0) {
        lars_log_rl(LOG_ERR, "out of memory encoding a push of %d/%d", x->modid, x->cmdid);
        return;
    }
    if (rx_conn_send(c->conn, WIRE_ID_GET_ROUTE_RESPONSE, x->w->scratch, (uint32_t)x->len) < 0)
        atomic_fetch_add_explicit(&d->c.send_failures, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&d->c.pushes, 1, memory_order_relaxed);
}

static void push_task(rx_loop_t *loop, void *arg)
{
    dns_swap_t *s = arg;
    dns_worker_t *w = &s->dns->w[rx_loop_index(loop)];

    for (size_t i = 0; i < s->nchanged && dns_subs_npairs(w->subs) > 0; i++) {
        push_ctx_t x = {w, s->changed[i][0], s->changed[i][1], s->new, 0, false};
        dns_subs_foreach(w->subs, x.modid, x.cmdid, push_one, &x);
    }
    worker_update_counts(w);
    swap_done(s);
}

static void collect_changed(int32_t modid, int32_t cmdid, void *arg)
{
    dns_swap_t *s = arg;

    if (s->nchanged == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *p = realloc(s->changed, cap * sizeof(*s->changed));
        if (!p) {
            s->cap = SIZE_MAX; /* marks the failure */
            return;
        }
        s->changed = p;
        s->cap = cap;
    }
    if (s->cap == SIZE_MAX)
        return;
    s->changed[s->nchanged][0] = modid;
    s->changed[s->nchanged][1] = cmdid;
    s->nchanged++;
}

static void publish_stats(dns_t *d, const route_table_t *t)
{
    atomic_store(&d->nroutes, t->nhosts);
    atomic_store(&d->npairs, t->npairs);
    atomic_store(&d->table_bytes, route_table_bytes(t));
}

int dns_publish(dns_t *d, route_table_t *t, const route_key_t *keys, size_t nkeys)
{
    route_table_t *old = atomic_load(&d->current);
    dns_swap_t *s = calloc(1, sizeof(*s));

    if (!s)
        goto out_keep_old;
    if (keys)
        route_table_diff_keys(old, t, keys, nkeys, collect_changed, s);
    else
        route_table_diff(old, t, collect_changed, s);
    if (s->cap == SIZE_MAX)
        goto out_keep_old;
    if (s->nchanged == 0) {
        free(s->changed);
        free(s);
        route_table_free(t);
        return 0;
    }
    s->dns = d;
    s->old = old;
    s->new = t;
    atomic_store(&s->pending, d->nthreads);
    atomic_store_explicit(&d->current, t, memory_order_release);
    publish_stats(d, t);
    atomic_fetch_add(&d->c.swaps, 1);
    atomic_fetch_add(&d->c.changed_pairs, s->nchanged);
    lars_log(LOG_INFO, "published %zu routes in %zu pairs; %zu pairs changed", t->nhosts, t->npairs,
             s->nchanged);
    for (unsigned i = 0; i < d->nthreads; i++) {
        int err = rx_loop_post(rx_pool_loop(d->workers, i), push_task, s);
        if (err < 0) {
            lars_log(LOG_ERR, "cannot reach worker %u (%s): its subscribers miss this change", i,
                     strerror(-err));
            atomic_store(&s->leak_old, true);
            swap_done(s);
        }
    }
    return 0;

out_keep_old:
    lars_log(LOG_ERR, "out of memory publishing a new route table; keeping the old one");
    if (s)
        free(s->changed);
    free(s);
    route_table_free(t);
    return -ENOMEM;
}

/* ----------------------------------------------------------- lifecycle -- */

static int workers_new(dns_t *d)
{
    d->workers = rx_pool_new(d->nthreads, "dns-worker");
    d->w = calloc(d->nthreads, sizeof(*d->w));
    if (!d->workers || !d->w)
        return -ENOMEM;
    for (unsigned i = 0; i < d->nthreads; i++) {
        d->w[i].dns = d;
        d->w[i].loop = rx_pool_loop(d->workers, i);
        d->w[i].subs = dns_subs_new();
        if (!d->w[i].subs)
            return -ENOMEM;
    }
    return 0;
}

static int server_new(dns_t *d)
{
    rx_tcp_server_config_t cfg = {
        .listen_fd = d->listen_fd,
        .listen_addr = d->listen,
        .accept_loop = d->main_loop,
        .workers = d->workers,
        .router = d->router,
        .max_conns = d->max_conns,
        /* Requests are tiny: the original limit applies to what we read. */
        .max_frame = RX_FRAME_MAX_DEFAULT,
        .on_open = on_open,
        .on_close = on_close,
        .arg = d,
    };
    int err = 0;

    d->srv = rx_tcp_server_new(&cfg, &err);
    d->listen_fd = -1; /* the server owns it now, also on failure */
    return d->srv ? 0 : (err ? err : -ENOMEM);
}

int dns_new(const dns_settings_t *s, rx_loop_t *main_loop, int listen_fd, dns_event_cb cb,
            void *cb_arg, dns_t **ret)
{
    dns_t *d = calloc(1, sizeof(*d));
    int err = -ENOMEM;

    if (!d) {
        if (listen_fd >= 0)
            close(listen_fd);
        return -ENOMEM;
    }
    d->listen_fd = listen_fd;
    d->main_loop = main_loop;
    d->cb = cb;
    d->cb_arg = cb_arg;
    pthread_mutex_init(&d->err_lock, NULL);
    atomic_store(&d->db_state, DNS_DB_CONNECTING);
    atomic_store(&d->current, route_table_new_empty());
    if (!atomic_load(&d->current))
        goto out_free;
    err = dns_settings_copy(d, s);
    if (err < 0)
        goto out_free;
    err = workers_new(d);
    if (err < 0)
        goto out_free;
    d->dbpool = rx_pool_new(1, "dns-db");
    d->router = rx_router_new();
    if (!d->dbpool || !d->router) {
        err = -ENOMEM;
        goto out_free;
    }
    d->dbloop = rx_pool_loop(d->dbpool, 0);
    err = rx_router_add(d->router, WIRE_ID_GET_ROUTE_REQUEST, on_get_route, d);
    if (err < 0)
        goto out_free;
    err = server_new(d);
    if (err < 0)
        goto out_free;
    *ret = d;
    return 0;

out_free:
    dns_free(d);
    return err;
}

int dns_start(dns_t *d)
{
    int err;

    err = rx_pool_start(d->workers);
    if (err < 0)
        return err;
    d->started = true;
    err = rx_pool_start(d->dbpool);
    if (err < 0)
        return err;
    err = rx_tcp_server_start(d->srv);
    if (err < 0)
        return err;
    return dns_loader_start(d);
}

int dns_watch(dns_t *d, lars_sd_watchdog_t *wd)
{
    char name[32];
    int err;

    if (!wd)
        return 0;
    for (unsigned i = 0; i < d->nthreads; i++) {
        snprintf(name, sizeof(name), "dns-worker-%u", i);
        err = lars_sd_watchdog_watch(wd, rx_pool_loop(d->workers, i), name);
        if (err < 0)
            return err;
    }
    return lars_sd_watchdog_watch(wd, d->dbloop, "dns-db");
}

void dns_reconfigure(dns_t *d, const dns_settings_t *s)
{
    atomic_store(&d->version_poll_ms, s->version_poll_ms);
    atomic_store(&d->reload_interval_s, s->reload_interval_s);
    atomic_store(&d->change_retention_s, s->change_retention_s);
    if (strcmp(s->listen, d->listen) != 0 || (unsigned)s->threads != d->nthreads ||
        (unsigned)s->max_conns != d->max_conns)
        lars_log(LOG_WARNING, "listen, threads and max_conns changes take effect on restart");
    dns_loader_force(d);
}

void dns_stop(dns_t *d)
{
    if (!d || !d->started)
        return;
    /* The DB loop first: no publication may post to a stopped worker. */
    rx_pool_stop(d->dbpool);
    dns_loader_cleanup(d);
    rx_tcp_server_shutdown(d->srv);
    /* Runs the push tasks still queued, which free the old snapshots. */
    rx_pool_stop(d->workers);
    d->started = false;
}

void dns_free(dns_t *d)
{
    if (!d)
        return;
    dns_stop(d);
    rx_tcp_server_free(d->srv);
    rx_pool_free(d->dbpool);
    rx_pool_free(d->workers);
    for (unsigned i = 0; d->w && i < d->nthreads; i++) {
        dns_subs_free(d->w[i].subs);
        free(d->w[i].scratch);
    }
    free(d->w);
    rx_router_free(d->router);
    route_table_free(atomic_load(&d->current));
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    dns_settings_release(d);
    pthread_mutex_destroy(&d->err_lock);
    free(d);
}

int dns_port(const dns_t *d)
{
    return rx_tcp_server_port(d->srv);
}

/* ---------------------------------------------------------------- status -- */

static const char *db_state_name(int s)
{
    switch (s) {
    case DNS_DB_UP:
        return "up";
    case DNS_DB_DOWN:
        return "DOWN";
    default:
        return "connecting";
    }
}

static void subs_totals(dns_t *d, uint64_t *ret_subs)
{
    uint64_t subs = 0;

    for (unsigned i = 0; i < d->nthreads; i++)
        subs += atomic_load_explicit(&d->w[i].nsubs, memory_order_relaxed);
    *ret_subs = subs;
}

void dns_status(dns_t *d, char *buf, size_t size)
{
    rx_stats_snapshot_t st;
    uint64_t subs;
    int state = atomic_load(&d->db_state);
    char err[160] = "";

    rx_stats_read(rx_tcp_server_stats(d->srv), &st);
    subs_totals(d, &subs);
    if (state == DNS_DB_DOWN) {
        pthread_mutex_lock(&d->err_lock);
        snprintf(err, sizeof(err), " (%.150s)", d->db_error);
        pthread_mutex_unlock(&d->err_lock);
    }
    snprintf(buf, size,
             "%" PRIu64 " routes in %" PRIu64 " pairs, version %" PRIu64 ", %u conns, %" PRIu64
             " subscriptions; DB %s%s%s; last reload %" PRIu64 " ms; requests %" PRIu64
             ", pushes %" PRIu64 ", truncated %" PRIu64 ", refused %" PRIu64 ", bad frames %" PRIu64
             ", bad bodies %" PRIu64 ", unknown msgids %" PRIu64 ", DB errors %" PRIu64
             ", reconnects %" PRIu64 "; reloads %" PRIu64 " full, %" PRIu64 " incremental",
             atomic_load(&d->nroutes), atomic_load(&d->npairs), atomic_load(&d->version),
             rx_tcp_server_conn_count(d->srv), subs, db_state_name(state), err,
             state == DNS_DB_DOWN && atomic_load(&d->last_load_at_ms)
                 ? ", serving the last good table"
                 : "",
             atomic_load(&d->last_reload_ms), atomic_load(&d->c.requests),
             atomic_load(&d->c.pushes), atomic_load(&d->c.truncated), st.conns_refused,
             st.frames_bad, atomic_load(&d->c.bad_bodies), st.frames_unknown,
             atomic_load(&d->c.db_errors), atomic_load(&d->c.db_reconnects),
             atomic_load(&d->c.reloads_full), atomic_load(&d->c.reloads_incremental));
}

void dns_log_counters(dns_t *d)
{
    rx_stats_snapshot_t st;
    uint64_t subs;

    rx_stats_read(rx_tcp_server_stats(d->srv), &st);
    subs_totals(d, &subs);
    lars_log(
        LOG_NOTICE,
        "counters: routes=%" PRIu64 " pairs=%" PRIu64 " table_bytes=%" PRIu64 " version=%" PRIu64
        " db=%s conns=%u subscriptions=%" PRIu64 " requests=%" PRIu64 " bad_bodies=%" PRIu64
        " pushes=%" PRIu64 " changed_pairs=%" PRIu64 " truncated=%" PRIu64 " send_failures=%" PRIu64
        " reloads=%" PRIu64 " reloads_full=%" PRIu64 " reloads_incremental=%" PRIu64
        " swaps=%" PRIu64 " last_reload_ms=%" PRIu64 " db_errors=%" PRIu64 " db_reconnects=%" PRIu64
        " db_connect_failures=%" PRIu64 " pruned=%" PRIu64 " frames_in=%" PRIu64
        " frames_out=%" PRIu64 " frames_bad=%" PRIu64 " frames_unknown=%" PRIu64
        " conns_accepted=%" PRIu64 " conns_refused=%" PRIu64 " conns_closed=%" PRIu64
        " conns_slow_closed=%" PRIu64 " sends_refused=%" PRIu64,
        atomic_load(&d->nroutes), atomic_load(&d->npairs), atomic_load(&d->table_bytes),
        atomic_load(&d->version), db_state_name(atomic_load(&d->db_state)),
        rx_tcp_server_conn_count(d->srv), subs, atomic_load(&d->c.requests),
        atomic_load(&d->c.bad_bodies), atomic_load(&d->c.pushes), atomic_load(&d->c.changed_pairs),
        atomic_load(&d->c.truncated), atomic_load(&d->c.send_failures), atomic_load(&d->c.reloads),
        atomic_load(&d->c.reloads_full), atomic_load(&d->c.reloads_incremental),
        atomic_load(&d->c.swaps), atomic_load(&d->last_reload_ms), atomic_load(&d->c.db_errors),
        atomic_load(&d->c.db_reconnects), atomic_load(&d->c.db_connect_failures),
        atomic_load(&d->c.pruned), st.frames_in, st.frames_out, st.frames_bad, st.frames_unknown,
        st.conns_accepted, st.conns_refused, st.conns_closed, st.conns_slow_closed,
        st.sends_refused);
}
