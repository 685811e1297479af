/*
 * lars-dns: the route service (docs/protocol.md, Subscriptions and pushes;
 * docs/database.md, How lars-dns reads; docs/configuration.md, lars-dns).
 *
 * Threads. The caller's main loop accepts connections (rx_tcp_server) and
 * hands them to `threads` worker loops (rx_pool "dns-worker"), which decode
 * GetRouteRequests, answer from the current route snapshot and keep the
 * subscriptions of their own connections. One more loop ("dns-db") owns the
 * MariaDB connection: it polls RouteVersion, loads RouteData into new
 * snapshots, publishes them and prunes RouteChange. Its DB calls block that
 * loop only, bounded by the connection's timeouts; being an rx loop, the
 * systemd watchdog sees it stuck like any worker.
 *
 * The settings struct is filled by the config loader (dns_conf_keys).
 */
#ifndef LARS_DNS_DNS_H
#define LARS_DNS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemons/common/conf.h"
#include "daemons/common/db.h"
#include "daemons/common/sd.h"
#include "libreactor/reactor.h"

#define DNS_DEFAULT_CONFIG "/etc/lars/lars-dns.conf"

typedef struct dns_settings {
    char *log_level;
    lars_db_settings_t db;
    char *listen;
    int64_t threads;
    int64_t max_conns;
    int64_t max_frame;
    int64_t version_poll_ms;
    int64_t reload_interval_s;
    int64_t change_retention_s;
} dns_settings_t;

extern const lars_conf_key_t dns_conf_keys[];
extern const size_t dns_conf_nkeys;

typedef enum dns_db_state {
    DNS_DB_CONNECTING, /* no attempt finished yet */
    DNS_DB_UP,
    DNS_DB_DOWN,
} dns_db_state_t;

typedef struct dns dns_t;

/* Called on the DB loop's thread after the first load attempt (whatever its
 * outcome) and after every later change worth a new STATUS line. */
typedef void (*dns_event_cb)(dns_t *d, bool first_load_done, void *arg);

/* listen_fd: a listening socket from systemd (owned by lars-dns from now on,
 * also on failure), or -1 to bind s->listen. The settings are copied. */
int dns_new(const dns_settings_t *s, rx_loop_t *main_loop, int listen_fd, dns_event_cb cb,
            void *cb_arg, dns_t **ret);
/* Starts the loops, the server and the first DB load. */
int dns_start(dns_t *d);
/* Adds the worker loops and the DB loop to a watchdog. */
int dns_watch(dns_t *d, lars_sd_watchdog_t *wd);
/* SIGHUP: takes the new poll/reload/retention settings and forces a full
 * reload. listen, threads, max_conns, max_frame and db need a restart. */
void dns_reconfigure(dns_t *d, const dns_settings_t *s);
/* From a thread that is not one of lars-dns's loops, with the main loop no
 * longer running: stops the DB loop, closes every connection, joins the
 * workers and frees every snapshot. */
void dns_stop(dns_t *d);
void dns_free(dns_t *d);

int dns_port(const dns_t *d);
/* One line for STATUS=. */
void dns_status(dns_t *d, char *buf, size_t size);
/* Every counter, to the journal (SIGUSR1). */
void dns_log_counters(dns_t *d);

#endif
