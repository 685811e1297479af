/*
 * State shared by the files of lars-dns (dns.c: network, snapshots, pushes;
 * loader.c: the DB loop). Not used outside daemons/dns.
 */
#ifndef LARS_DNS_INTERNAL_H
#define LARS_DNS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "daemons/dns/dns.h"
#include "daemons/dns/route_table.h"
#include "daemons/dns/subs.h"

/* One worker loop's own state; touched only by that loop's thread except
 * the two counters, which STATUS reads. */
typedef struct dns_worker {
    dns_t *dns;
    rx_loop_t *loop;
    dns_subs_t *subs;
    uint8_t *scratch; /* a push's encoded body, reused */
    size_t scratch_cap;
    _Atomic uint64_t nsubs;
    _Atomic uint64_t npairs;
} dns_worker_t;

/* Per connection, on the connection's worker loop. */
typedef struct dns_conn {
    dns_subconn_t sub;
    rx_conn_t *conn;
    bool subs_capped; /* logged once */
} dns_conn_t;

typedef struct dns_counters {
    _Atomic uint64_t requests;
    _Atomic uint64_t bad_bodies;          /* GetRouteRequest that does not decode */
    _Atomic uint64_t pushes;              /* GetRouteResponse frames pushed */
    _Atomic uint64_t changed_pairs;       /* pairs that differed between snapshots */
    _Atomic uint64_t truncated;           /* responses cut to max_frame */
    _Atomic uint64_t send_failures;       /* replies/pushes the connection refused */
    _Atomic uint64_t subs_refused;        /* requests answered but not subscribed */
    _Atomic uint64_t conns_subs_capped;   /* connections that reached max_subs_per_conn */
    _Atomic uint64_t reloads;             /* snapshots built */
    _Atomic uint64_t reloads_full;        /* ... from all of RouteData */
    _Atomic uint64_t reloads_incremental; /* ... from RouteChange's pairs only */
    _Atomic uint64_t swaps;               /* snapshots published (some pair changed) */
    _Atomic uint64_t db_errors;
    _Atomic uint64_t db_reconnects;
    _Atomic uint64_t db_connect_failures;
    _Atomic uint64_t pruned; /* RouteChange rows deleted */
} dns_counters_t;

struct dns {
    /* Copied settings; the *_ms/_s ones change on SIGHUP (DB loop reads). */
    char *listen;
    lars_db_settings_t db;
    unsigned nthreads;
    unsigned max_conns;
    uint32_t max_frame;
    uint32_t first_frame_timeout_ms;
    unsigned max_conns_per_source;
    size_t max_subs_per_conn;
    size_t max_output; /* max_output_bytes, at least one max_frame response */
    _Atomic int64_t version_poll_ms;
    _Atomic int64_t reload_interval_s;
    _Atomic int64_t change_retention_s;

    rx_loop_t *main_loop;
    rx_pool_t *workers;
    dns_worker_t *w;
    rx_pool_t *dbpool;
    rx_loop_t *dbloop;
    rx_router_t *router;
    rx_tcp_server_t *srv;
    int listen_fd;
    bool started;

    /* The published snapshot. Readers: atomic load inside a loop callback,
     * never kept past it (see dns_publish for why that makes freeing safe). */
    _Atomic(route_table_t *) current;

    dns_event_cb cb;
    void *cb_arg;

    /* DB loop only. */
    MYSQL *conn;
    rx_backoff_t backoff;
    rx_timer_t *timer; /* the next step (one-shot), made by the first one */
    uint64_t next_full_ms;
    uint64_t next_prune_ms;
    uint64_t last_change_id; /* newest RouteChange.id the table reflects */
    bool have_loaded;
    bool force;
    bool first_done;
    bool ever_connected;

    /* Published by the DB loop for STATUS. */
    _Atomic int db_state;
    _Atomic uint64_t version;
    _Atomic uint64_t last_reload_ms;
    _Atomic uint64_t last_load_at_ms; /* rx_time_ms() of the last successful load */
    _Atomic uint64_t nroutes;
    _Atomic uint64_t npairs;
    _Atomic uint64_t table_bytes;
    pthread_mutex_t err_lock;
    char db_error[256];

    dns_counters_t c;
};

/* DB loop: replaces the current snapshot with t (taking it) and hands the
 * changed pairs to every worker; frees t instead when nothing changed.
 * keys: the only pairs that may differ (an incremental update), or NULL to
 * diff the whole tables. -ENOMEM: t was dropped, the old table stays. */
int dns_publish(dns_t *d, route_table_t *t, const route_key_t *keys, size_t nkeys);

/* One load's result, for dns_publish(). */
typedef struct dns_load {
    route_table_t *table;
    route_key_t *keys; /* incremental: the pairs that may differ; full: NULL */
    size_t nkeys;
    uint64_t version;
    uint64_t last_change_id;
} dns_load_t;

/* loader.c, for changes.c (DB loop only). The helpers set d->db_error on
 * failure and return -errno (-ENOTCONN: the connection is lost). */
int dns_query_u64(dns_t *d, const char *sql, uint64_t *ret); /* no row: 0 */
int dns_load_rows(dns_t *d, const char *sql, size_t len, route_builder_t *b);
int dns_snapshot_begin(dns_t *d);
/* Ends the read-only transaction: rolls back when err < 0, else commits;
 * returns err, or the commit's error. */
int dns_snapshot_end(dns_t *d, int err);

/* changes.c: the current table with the pairs of the RouteChange rows newer
 * than d->last_change_id reloaded. 1 and l filled; 0 when the change list
 * cannot be trusted (pruned, too long, or the version moved without rows)
 * and a full reload is needed; or -errno. */
int dns_load_incremental(dns_t *d, dns_load_t *l);

/* settings.c: deep copy into d (listen, db, limits, intervals). */
int dns_settings_copy(dns_t *d, const dns_settings_t *s);
void dns_settings_release(dns_t *d);

/* loader.c */
int dns_loader_start(dns_t *d);
void dns_loader_force(dns_t *d);
/* After the DB loop stopped. */
void dns_loader_cleanup(dns_t *d);
void dns_set_db_error(dns_t *d, const char *msg);

#endif
