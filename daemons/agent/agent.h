/*
 * lars-agent internals (docs/balancing.md, Shards): three UDP shard loops
 * that own the route caches, one loop with the lars-dns client, one with the
 * lars-reporter client. Threads talk only through rx_loop_post():
 *
 *   shard    -> dns loop:   pull requests (the pair packed in the task arg)
 *   dns loop -> shard:      routes (agent_route_msg_t), "dns reconnected"
 *   shard    -> dns loop:   every known pair after a reconnect (agent_pairs_msg_t)
 *   shard    -> reporter:   statistics snapshots (agent_stats_msg_t)
 *   shard    -> shard:      requests that arrived on the wrong socket
 *   main     -> shard:      new loadbalance settings on SIGHUP
 *
 * Pulls, routes, snapshots and misrouted requests go through
 * rx_loop_post_bounded (AGENT_POST_MAX): a flood cannot grow a queue
 * without bound; a refused post is counted (posts_dropped). The rest are
 * one per reconnection or SIGHUP.
 *
 * A heap message handed to rx_loop_post belongs to the receiving loop once
 * the post succeeds; when it fails (the loop is shutting down) the sender
 * frees it. Counters are relaxed atomics, written by their owning thread
 * and read by the main thread for STATUS= and SIGUSR1.
 */
#ifndef LARS_AGENT_AGENT_H
#define LARS_AGENT_AGENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemons/agent/balancer.h"
#include "daemons/agent/route_cache.h"
#include "daemons/common/conf.h"
#include "libreactor/reactor.h"

#define AGENT_SHARDS 3
/* The largest datagram IPv4 carries is 65507 bytes; minus the frame header
 * that leaves 65499 body bytes, below the protocol's 65527 limit. */
#define AGENT_DGRAM_BODY_MAX (65507 - RX_FRAME_HDR)
/* Tasks one loop may have waiting from the others (pulls, routes,
 * snapshots, misrouted requests); a post beyond it is dropped and counted
 * (a pull or route dropped is retried by the pull timeout). */
#define AGENT_POST_MAX 65536

/* The shard of a pair, the same formula as liblars: the two int32 are
 * added as uint32 (so negative ids from raw datagrams map somewhere
 * defined, and both sides agree for every non-negative pair). */
static inline unsigned agent_shard_of(int32_t modid, int32_t cmdid)
{
    return ((uint32_t)modid + (uint32_t)cmdid) % AGENT_SHARDS;
}

/* ---------------------------------------------------------- settings -- */

typedef struct agent_settings {
    char *log_level;
    char *listen_host;
    int64_t base_port;
    lars_strv_t dns_servers;
    lars_strv_t reporter_servers;
    char *caller_ip;
    int64_t report_interval_ms;
    int64_t max_frame;
    int64_t max_pairs;
    int64_t probe_num, init_succ_cnt, init_err_cnt;
    double err_rate, succ_rate;
    int64_t contin_err_limit, contin_succ_limit;
    double window_err_rate;
    int64_t idle_timeout, overload_timeout, update_timeout; /* seconds */
    int64_t err_amplify_ms;
    int64_t max_err_weight;
    int64_t pull_timeout_ms;
    int64_t pair_idle_timeout_s, negative_ttl_s;
    int64_t dns_dead_peer_timeout_ms, reporter_dead_peer_timeout_ms;
} agent_settings_t;

extern const lars_conf_key_t agent_conf_keys[];
extern const size_t agent_conf_nkeys;

/* The balancer's settings (durations in ms). */
void agent_settings_lb_config(const agent_settings_t *s, lb_config_t *ret);
/* caller_ip from the settings, or detected (see settings.c). Host-order. */
int agent_settings_caller_ip(const agent_settings_t *s, uint32_t *ret_ip);

/* ---------------------------------------------------------- counters -- */

typedef struct agent_shard_counters {
    _Atomic uint64_t get_host, get_route, reports;
    _Atomic uint64_t misrouted, truncated, undecodable;
    _Atomic uint64_t pulls, routes_applied;
    /* Copies of the shard's state, refreshed by its once-a-second tick. */
    _Atomic uint64_t pairs, hosts, overloaded;
    _Atomic uint64_t unknown_host_reports, unknown_pair_reports, pairs_refused;
    _Atomic uint64_t to_overload, to_idle, window_resets, snapshots;
    _Atomic uint64_t weights_capped, pull_retries, evicted_idle, evicted_negative;
    /* Posts refused because the receiving loop's queue was full. */
    _Atomic uint64_t posts_dropped;
} agent_shard_counters_t;

typedef struct agent agent_t;

typedef struct agent_shard {
    agent_t *agent;
    unsigned index;
    rx_loop_t *loop;
    rx_router_t *router;
    rx_udp_server_t *udp;
    int fd;
    lb_ctx_t *lb;
    route_cache_t *cache;
    rx_timer_t *tick;
    lb_host_t *route_buf; /* get_route scratch, route_buf_cap hosts */
    size_t route_buf_cap;
    uint8_t *reply_buf;        /* AGENT_DGRAM_BODY_MAX bytes */
    uint64_t *truncated_pairs; /* pairs whose truncation was logged */
    size_t n_truncated_pairs, cap_truncated_pairs;
    uint64_t logged_bad, logged_unknown;
    agent_shard_counters_t c;
} agent_shard_t;

typedef struct agent_dns {
    agent_t *agent;
    rx_loop_t *loop;
    rx_router_t *router;
    rx_tcp_client_t *cli;
    /* Requests that did not fit the output queue, sent by a timer. */
    uint64_t *backlog;
    size_t backlog_n, backlog_cap, backlog_pos;
    rx_timer_t *backlog_timer;
    uint32_t dead_peer_timeout_ms;
    _Atomic bool started; /* the client connects on the first pull only */
    _Atomic bool connected;
    _Atomic uint64_t connects, requests, responses, bad_responses, send_failures;
    _Atomic uint64_t posts_dropped; /* routes a full shard queue refused */
} agent_dns_t;

typedef struct agent_reporter agent_reporter_t;

struct agent {
    rx_pool_t *shard_pool, *dns_pool, *rep_pool;
    agent_shard_t shards[AGENT_SHARDS];
    agent_dns_t dns;
    agent_reporter_t *rep;
    uint32_t caller_ip;
    uint32_t max_frame;
};

/* ---------------------------------------------------------------- api -- */

/* fds[i]: the datagram socket of shard i (from systemd), or -1 to bind
 * listen_host:base_port+i. The agent owns the fds from here on, also on
 * failure. Nothing runs before agent_start(). */
int agent_new(const agent_settings_t *s, const int fds[AGENT_SHARDS], agent_t **ret);
int agent_start(agent_t *a);
/* Stops every loop and joins the threads. Idempotent. */
void agent_stop(agent_t *a);
void agent_free(agent_t *a);
/* Main thread: apply new loadbalance settings on every shard. */
int agent_reconfigure(agent_t *a, const agent_settings_t *s);

typedef struct lars_sd_watchdog lars_sd_watchdog_t;
int agent_watch(agent_t *a, lars_sd_watchdog_t *wd);

typedef struct agent_totals {
    uint64_t pairs, hosts, overloaded;
    uint64_t requests; /* get_host + get_route + reports */
    uint64_t misrouted, truncated, malformed, unknown_msgid;
    uint64_t unknown_host_reports, unknown_pair_reports;
    uint64_t pairs_refused, weights_capped, pull_retries, evicted_idle, evicted_negative;
    uint64_t queue_drops; /* cross-loop posts refused by a full queue */
    /* "connected", "disconnected", or "idle" before the first use (the
     * clients connect lazily) */
    const char *dns_state, *reporter_state;
} agent_totals_t;

void agent_totals(agent_t *a, agent_totals_t *ret);
/* One STATUS= text; rps from the caller's previous totals. */
void agent_status_format(const agent_totals_t *t, double rps, char *buf, size_t size);
/* Every counter to the journal (SIGUSR1). */
void agent_log_counters(agent_t *a);

/* ------------------------------------------------- internal (threads) -- */

int agent_shard_init(agent_shard_t *sh, agent_t *a, unsigned index, rx_loop_t *loop, int fd,
                     const char *bind_addr, const lb_config_t *cfg, size_t max_pairs);
int agent_shard_start(agent_shard_t *sh);
void agent_shard_destroy(agent_shard_t *sh);
/* dns loop -> owning shard: a route (reply or push). hosts: n entries. */
int agent_shard_post_route(agent_shard_t *sh, int32_t modid, int32_t cmdid, const lb_host_t *hosts,
                           size_t n);
/* dns loop -> every shard. */
void agent_shard_post_dns_reconnect(agent_shard_t *sh);
/* main -> shard: new balancer settings. */
int agent_shard_post_config(agent_shard_t *sh, const lb_config_t *cfg);
int agent_shard_port(const agent_shard_t *sh);

int agent_dns_init(agent_dns_t *d, agent_t *a, rx_loop_t *loop, const lars_strv_t *servers,
                   uint32_t dead_peer_timeout_ms);
int agent_dns_start(agent_dns_t *d);
void agent_dns_destroy(agent_dns_t *d);
/* Shard thread: ask lars-dns for a pair (no allocation). The first one
 * starts the connection. -EAGAIN when the dns loop's queue is full. */
int agent_dns_post_pull(agent_dns_t *d, int32_t modid, int32_t cmdid);
/* Shard thread: takes `pairs` (malloc'd) in every case. */
void agent_dns_post_pairs(agent_dns_t *d, uint64_t *pairs, size_t n);

int agent_reporter_new(agent_t *a, rx_loop_t *loop, const lars_strv_t *servers,
                       uint32_t dead_peer_timeout_ms, agent_reporter_t **ret);
int agent_reporter_start(agent_reporter_t *r);
void agent_reporter_free(agent_reporter_t *r);
/* Shard thread: copies the snapshot and hands it to the reporter loop (the
 * first one starts the connection). -EAGAIN when that loop's queue is
 * full, -ENOMEM; the snapshot is then dropped. */
int agent_reporter_post(agent_reporter_t *r, int32_t modid, int32_t cmdid,
                        const lb_call_result_t *results, size_t n);
bool agent_reporter_connected(const agent_reporter_t *r);
/* Whether the client was ever asked to connect (it connects lazily). */
bool agent_reporter_started(const agent_reporter_t *r);
typedef struct agent_reporter_counters {
    uint64_t connects, sent, pending, replaced, dropped;
} agent_reporter_counters_t;
void agent_reporter_counters(const agent_reporter_t *r, agent_reporter_counters_t *ret);

static inline uint64_t agent_pair_key(int32_t modid, int32_t cmdid)
{
    return (uint64_t)(uint32_t)modid << 32 | (uint32_t)cmdid;
}
static inline int32_t agent_key_modid(uint64_t k)
{
    return (int32_t)(uint32_t)(k >> 32);
}
static inline int32_t agent_key_cmdid(uint64_t k)
{
    return (int32_t)(uint32_t)k;
}

#define agent_inc(x)    atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
#define agent_set(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
#define agent_get(x)    atomic_load_explicit(&(x), memory_order_relaxed)

#endif
