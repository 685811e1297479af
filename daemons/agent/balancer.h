/*
 * The agent's load balancer for one (modid, cmdid) pair, as
 * docs/balancing.md describes it.
 *
 * A pure state machine: no I/O, no threads, no global state, no clock reads.
 * Every operation that needs the time takes `now`, a monotonic time in
 * milliseconds (rx_loop_now() in the agent); every duration in lb_config_t is
 * in milliseconds too (the config file's idle_timeout etc. are in seconds, so
 * the agent multiplies them by 1000).
 *
 * What the caller must do is returned to it, never done here: "send a
 * GetRouteRequest for this pair" comes back as a ret_pull flag, statistics
 * snapshots (ReportStatusRequest contents) and host state changes come back
 * through the callbacks of the lb_ctx_t the balancer was created with.
 *
 * Ownership: an lb_ctx_t and its balancers belong to one thread (an agent
 * shard); nothing here is thread-safe. Callbacks run inside the operation
 * that triggered them and must not modify the balancer or its route cache.
 *
 * Order of work on a report (the original's order): update the host's counts,
 * then check its state change (idle + failure -> overloaded?, overloaded +
 * success -> idle?), then, only if its state did not change (a change starts
 * a new window at `now`), check its windows (idle window end, overload
 * timeout), then check whether a periodic snapshot is due. A window
 * therefore ends with the report that arrives after it expired counted in it.
 *
 * Snapshots: emitted when a report arrived since the last snapshot and at
 * least report_interval_ms passed since it (the first one as soon as a
 * report arrives), checked after each report and by lb_tick(); and always
 * right before rsucc/rerr of a host are cleared (window reset or state
 * change) when a report arrived since the last snapshot, so the reporter
 * always gets a window's final counts. Counts are window totals, not deltas.
 */
#ifndef LARS_AGENT_BALANCER_H
#define LARS_AGENT_BALANCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libreactor/map.h"
#include "proto/wire.h"

/* The protocol's LarsRetCode values. */
enum {
    LB_RET_SUCC = 0,
    LB_RET_OVERLOAD = 1,
    LB_RET_SYSTEM_ERROR = 2,
    LB_RET_NOEXIST = 3,
};

/* A route larger than this is refused by lb_update_route() (-E2BIG). */
#define LB_MAX_HOSTS (1u << 22)

typedef struct lb_config {
    uint32_t probe_num;
    uint32_t init_succ_cnt;
    uint32_t init_err_cnt;
    double err_rate;
    double succ_rate;
    uint32_t contin_err_limit;
    uint32_t contin_succ_limit;
    double window_err_rate;
    uint64_t idle_timeout_ms;
    uint64_t overload_timeout_ms;
    uint64_t update_timeout_ms;
    uint32_t err_amplify_ms; /* 0: every failure weighs 1 */
    /* A failure weighs at most this much whatever timecost_ms a client
     * claims (0: no cap); capped reports are counted in weights_capped. */
    uint32_t max_err_weight;
    uint64_t report_interval_ms;
    /* A PULLING pair with no answer after this long is requested again,
     * the wait doubling with each try up to 16 times this (0: never). */
    uint64_t pull_timeout_ms;
    /* The route cache evicts pairs nobody asked for (get_host/get_route)
     * for pair_idle_timeout_ms, and pairs without hosts (lars-dns answered
     * empty, or never answered) negative_ttl_ms after their creation or
     * last answer (0: never). */
    uint64_t pair_idle_timeout_ms;
    uint64_t negative_ttl_ms;
} lb_config_t;

#define LB_CONFIG_DEFAULTS                                                                         \
    ((lb_config_t){                                                                                \
        .probe_num = 10,                                                                           \
        .init_succ_cnt = 180,                                                                      \
        .init_err_cnt = 5,                                                                         \
        .err_rate = 0.1,                                                                           \
        .succ_rate = 0.95,                                                                         \
        .contin_err_limit = 15,                                                                    \
        .contin_succ_limit = 15,                                                                   \
        .window_err_rate = 0.7,                                                                    \
        .idle_timeout_ms = 15000,                                                                  \
        .overload_timeout_ms = 15000,                                                              \
        .update_timeout_ms = 15000,                                                                \
        .err_amplify_ms = 100,                                                                     \
        .max_err_weight = 100,                                                                     \
        .report_interval_ms = 1000,                                                                \
        .pull_timeout_ms = 3000,                                                                   \
        .pair_idle_timeout_ms = 3600000,                                                           \
        .negative_ttl_ms = 60000,                                                                  \
    })

/* A host as the protocol carries it (HostInfo: IPv4 number as int32). */
typedef wire_host_t lb_host_t;

/* One host's line of a ReportStatusRequest (HostCallResult: succ and err
 * are the host's rsucc and rerr). */
typedef wire_call_result_t lb_call_result_t;

typedef enum lb_event_kind {
    LB_EV_OVERLOAD,     /* idle -> overloaded */
    LB_EV_IDLE,         /* overloaded -> idle */
    LB_EV_WINDOW_RESET, /* idle window ended, host stays idle (frequent: debug level) */
} lb_event_kind_t;

typedef enum lb_event_reason {
    LB_REASON_ERR_RATE,         /* verr/(vsucc+verr) > err_rate */
    LB_REASON_CONTIN_ERR,       /* contin_err >= contin_err_limit */
    LB_REASON_WINDOW_ERR_RATE,  /* window end, rerr/(rsucc+rerr) >= window_err_rate */
    LB_REASON_SUCC_RATE,        /* vsucc/(vsucc+verr) > succ_rate */
    LB_REASON_CONTIN_SUCC,      /* contin_succ >= contin_succ_limit */
    LB_REASON_OVERLOAD_TIMEOUT, /* overloaded for overload_timeout_ms */
    LB_REASON_IDLE_TIMEOUT,     /* window end with a low error rate (LB_EV_WINDOW_RESET) */
} lb_event_reason_t;

/* A host's state change; the counts are those before the change reset them. */
typedef struct lb_event {
    lb_event_kind_t kind;
    lb_event_reason_t reason;
    int32_t modid, cmdid;
    int32_t ip, port;
    uint32_t vsucc, verr, rsucc, rerr, contin_succ, contin_err;
    uint64_t now;
} lb_event_t;

typedef struct lb_balancer lb_balancer_t;

typedef struct lb_callbacks {
    /* A statistics snapshot of every host (idle list first, then overloaded),
     * valid only during the call. May be NULL. */
    void (*on_stats)(const lb_balancer_t *b, const lb_call_result_t *results, size_t n,
                     uint64_t now, void *arg);
    /* May be NULL. */
    void (*on_event)(const lb_balancer_t *b, const lb_event_t *ev, void *arg);
    void *arg;
} lb_callbacks_t;

/* Counters of one context (one shard), for STATUS= and SIGUSR1. */
typedef struct lb_counters {
    uint64_t reports_unknown_host; /* report for an (ip, port) not in the route */
    uint64_t reports_unknown_pair; /* report for a pair not in the route cache */
    uint64_t pulls;                /* ret_pull set (GetRouteRequests asked for) */
    uint64_t snapshots;            /* on_stats calls */
    uint64_t snapshots_dropped;    /* snapshot skipped: no memory for its buffer */
    uint64_t to_overload, to_idle, window_resets;
    uint64_t pairs_refused;    /* route cache full or out of memory */
    uint64_t weights_capped;   /* failure weight cut to max_err_weight */
    uint64_t pull_retries;     /* PULLING past pull_timeout_ms: requested again */
    uint64_t evicted_idle;     /* pairs nobody asked for, evicted */
    uint64_t evicted_negative; /* pairs without hosts, evicted */
} lb_counters_t;

/* Settings, callbacks, counters and scratch space shared by the balancers of
 * one shard. It must outlive them. */
typedef struct lb_ctx lb_ctx_t;

void lb_config_defaults(lb_config_t *ret_cfg);
/* -EINVAL when a rate is not within [0, 1]. */
int lb_config_check(const lb_config_t *cfg);

int lb_ctx_new(const lb_config_t *cfg, const lb_callbacks_t *cbs, lb_ctx_t **ret_ctx);
void lb_ctx_free(lb_ctx_t *ctx);
const lb_config_t *lb_ctx_config(const lb_ctx_t *ctx);
/* Replaces the settings (SIGHUP); hosts keep their counts and states, the
 * new values apply from the next operation. -EINVAL as lb_config_check(). */
int lb_ctx_set_config(lb_ctx_t *ctx, const lb_config_t *cfg);
lb_counters_t *lb_ctx_counters(lb_ctx_t *ctx);

/* A new balancer is in PULLING state with no hosts: its creator asks
 * lars-dns for the route. Returns NULL when out of memory. */
lb_balancer_t *lb_new(lb_ctx_t *ctx, int32_t modid, int32_t cmdid, uint64_t now);
void lb_free(lb_balancer_t *b);

int32_t lb_modid(const lb_balancer_t *b);
int32_t lb_cmdid(const lb_balancer_t *b);
bool lb_is_pulling(const lb_balancer_t *b);
size_t lb_host_count(const lb_balancer_t *b);
size_t lb_overload_count(const lb_balancer_t *b);

/* Chooses one host (docs/balancing.md, get_host, steps 2-6). Returns
 * LB_RET_SUCC with *ret_host set, LB_RET_OVERLOAD or LB_RET_NOEXIST. *ret_pull is set when the
 * caller must request the route now; the balancer is then PULLING and does
 * not ask again until lb_update_route() or lb_on_dns_reconnect().
 * Allocates nothing. */
int lb_get_host(lb_balancer_t *b, uint64_t now, lb_host_t *ret_host, bool *ret_pull);

/* Copies up to `max` hosts (idle list, then overloaded) to `out`; returns
 * how many the pair has. Same re-pull rule as lb_get_host(). */
size_t lb_get_route(lb_balancer_t *b, uint64_t now, lb_host_t *out, size_t max, bool *ret_pull);

/* The result of one call to a host. timecost_ms 0 means "not given".
 * Returns 0, or -ENOENT (counted) when the host is not in the route. */
int lb_report(lb_balancer_t *b, uint64_t now, int32_t ip, int32_t port, int retcode,
              uint32_t timecost_ms);

/* A GetRouteResponse (reply or push). New hosts start idle as if set_idle ran
 * now (at the idle list's tail, in the given order), hosts no longer listed
 * are dropped, the others keep their state; duplicates count once. An empty
 * list makes a negative entry. State becomes NEW, last_update = now.
 * Returns 0, -ENOMEM or -E2BIG (balancer unchanged). */
int lb_update_route(lb_balancer_t *b, uint64_t now, const lb_host_t *hosts, size_t n);

/* The once-a-second timer: every host's windows, then a due snapshot. */
void lb_tick(lb_balancer_t *b, uint64_t now);

/* The shard's timer: true when the pair is PULLING and its request got no
 * answer within pull_timeout_ms (doubling per try); the caller requests it
 * again (counted in pull_retries). */
bool lb_pull_retry_due(lb_balancer_t *b, uint64_t now);

typedef enum lb_evict {
    LB_KEEP,
    LB_EVICT_IDLE,     /* nobody asked for it for pair_idle_timeout_ms */
    LB_EVICT_NEGATIVE, /* no hosts for negative_ttl_ms */
} lb_evict_t;
/* Whether the route cache should drop the pair now. */
lb_evict_t lb_evict_due(const lb_balancer_t *b, uint64_t now);

/* The connection to lars-dns was (re)established: PULLING becomes NEW. The
 * caller requests the route of every known pair afterwards. */
void lb_on_dns_reconnect(lb_balancer_t *b);

/* Per host introspection (tests, larsctl-style dumps): the i-th host of the
 * idle (overloaded = false) or overload list; false past the end. */
bool lb_list_host(const lb_balancer_t *b, bool overloaded, size_t i, lb_host_t *ret_host);

typedef struct lb_host_info {
    lb_host_t host;
    bool overload;
    uint32_t vsucc, verr, rsucc, rerr, contin_succ, contin_err;
    uint64_t idle_ts, overload_ts;
} lb_host_info_t;

/* -ENOENT when the host is not in the route. */
int lb_host_info(const lb_balancer_t *b, int32_t ip, int32_t port, lb_host_info_t *ret_info);

/* Bytes this balancer holds on the heap (struct, hosts, index). */
size_t lb_memory(const lb_balancer_t *b);

/* Balancers are kept in an rx_map by pair (the route cache): the node and
 * the key live in the balancer, so a lookup touches only the balancer it
 * finds. Keys given to rx_map_find() are lb_pair_key_t. */
typedef struct lb_pair_key {
    int32_t modid, cmdid;
} lb_pair_key_t;

extern const rx_map_type_t lb_pair_map_type;
rx_map_node_t *lb_pair_node(lb_balancer_t *b);
lb_balancer_t *lb_of_pair_node(rx_map_node_t *node);

#endif
