/*
 * The per-pair load balancer (see balancer.h for the contract).
 *
 * Hosts live in one array; the idle and overload FIFOs are doubly linked
 * lists threaded through it by index, and an rx_map (keyed hash: hosts come
 * from the network) maps (ip, port) to a host. Only lb_update_route() and
 * lb_new() allocate: get_host, report and tick move indices around and never
 * touch the heap (the snapshot buffer of the context grows only when a larger
 * route shows up). The map links the hosts by address, so whenever the host
 * array moves or a host changes slot the map is rebuilt.
 */
#include "daemons/agent/balancer.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

enum { LB_PULLING, LB_NEW };

struct lb_ctx {
    lb_config_t cfg;
    lb_callbacks_t cbs;
    lb_counters_t counters;
    lb_call_result_t *scratch;
    size_t scratch_cap;
};

typedef struct lb_hstate {
    int32_t ip, port; /* the index's key, laid out as an lb_host_t */
    rx_map_node_t node;
    uint32_t vsucc, verr, rsucc, rerr, contin_succ, contin_err;
    uint64_t idle_ts, overload_ts;
    uint32_t prev, next;
    bool overload;
    bool seen; /* scratch of lb_update_route() */
} lb_hstate_t;

_Static_assert(offsetof(lb_hstate_t, port) == offsetof(lb_hstate_t, ip) + sizeof(int32_t) &&
                   sizeof(lb_host_t) == 2 * sizeof(int32_t),
               "the index compares (ip, port) as the bytes of an lb_host_t");

static const rx_map_type_t host_map_type = {
    .key_len = sizeof(lb_host_t),
    .key_offset = RX_MAP_KEY_OFFSET(lb_hstate_t, ip, node),
};

typedef struct lb_list {
    uint32_t head, tail, count;
} lb_list_t;

struct lb_balancer {
    lb_ctx_t *ctx;
    lb_hstate_t *hosts;
    rx_map_t index; /* (ip, port) -> host */
    uint32_t n_hosts, cap_hosts;
    lb_list_t idle, over;
    lb_pair_key_t pair;
    rx_map_node_t pair_node; /* in the route cache */
    uint32_t access_cnt;
    uint64_t last_update, last_stats;
    uint64_t last_access; /* last get_host/get_route */
    uint64_t pull_ts;     /* when the pending request was (last) sent */
    uint8_t pull_tries;
    uint8_t state;
    bool dirty;      /* a report was counted since the last snapshot */
    bool stats_sent; /* last_stats is meaningful */
};

/* ------------------------------------------------------------ config -- */

void lb_config_defaults(lb_config_t *ret_cfg)
{
    *ret_cfg = LB_CONFIG_DEFAULTS;
}

static bool rate_ok(double r)
{
    return isfinite(r) && r >= 0.0 && r <= 1.0;
}

int lb_config_check(const lb_config_t *cfg)
{
    if (!rate_ok(cfg->err_rate) || !rate_ok(cfg->succ_rate) || !rate_ok(cfg->window_err_rate))
        return -EINVAL;
    return 0;
}

int lb_ctx_new(const lb_config_t *cfg, const lb_callbacks_t *cbs, lb_ctx_t **ret_ctx)
{
    int r = lb_config_check(cfg);
    if (r < 0)
        return r;
    lb_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->cfg = *cfg;
    if (cbs)
        ctx->cbs = *cbs;
    *ret_ctx = ctx;
    return 0;
}

void lb_ctx_free(lb_ctx_t *ctx)
{
    if (!ctx)
        return;
    free(ctx->scratch);
    free(ctx);
}

const lb_config_t *lb_ctx_config(const lb_ctx_t *ctx)
{
    return &ctx->cfg;
}

int lb_ctx_set_config(lb_ctx_t *ctx, const lb_config_t *cfg)
{
    int r = lb_config_check(cfg);
    if (r < 0)
        return r;
    ctx->cfg = *cfg;
    return 0;
}

lb_counters_t *lb_ctx_counters(lb_ctx_t *ctx)
{
    return &ctx->counters;
}

/* ------------------------------------------------------------ helpers -- */

static uint64_t elapsed(uint64_t now, uint64_t since)
{
    return now > since ? now - since : 0;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static double ratio(uint32_t part, uint32_t other)
{
    uint64_t total = (uint64_t)part + other;
    return total ? (double)part / (double)total : 0.0;
}

/* ------------------------------------------------------------- lists -- */

static lb_list_t *list_of(lb_balancer_t *b, const lb_hstate_t *h)
{
    return h->overload ? &b->over : &b->idle;
}

static void list_push_tail(lb_balancer_t *b, lb_list_t *l, uint32_t i)
{
    lb_hstate_t *h = &b->hosts[i];
    h->prev = l->tail;
    h->next = NIL;
    if (l->tail != NIL)
        b->hosts[l->tail].next = i;
    else
        l->head = i;
    l->tail = i;
    l->count++;
}

static void list_unlink(lb_balancer_t *b, lb_list_t *l, uint32_t i)
{
    lb_hstate_t *h = &b->hosts[i];
    if (h->prev != NIL)
        b->hosts[h->prev].next = h->next;
    else
        l->head = h->next;
    if (h->next != NIL)
        b->hosts[h->next].prev = h->prev;
    else
        l->tail = h->prev;
    h->prev = h->next = NIL;
    l->count--;
}

static void list_move_tail(lb_balancer_t *b, lb_list_t *l, uint32_t i)
{
    if (l->tail == i)
        return;
    list_unlink(b, l, i);
    list_push_tail(b, l, i);
}

/* ------------------------------------------------------------- index -- */

static int64_t host_find(lb_balancer_t *b, int32_t ip, int32_t port)
{
    lb_host_t key = {ip, port};
    rx_map_node_t *n = rx_map_find(&b->index, &key);

    return n ? rx_map_entry(n, lb_hstate_t, node) - b->hosts : -1;
}

/* Cannot fail: the index was reserved for every host. */
static void index_add(rx_map_t *index, lb_hstate_t *h)
{
    lb_host_t key = {h->ip, h->port};
    int r = rx_map_insert(index, &h->node, &key);

    assert(r == 0);
    (void)r;
}

/* ------------------------------------------------------ the route cache -- */

const rx_map_type_t lb_pair_map_type = {
    .key_len = sizeof(lb_pair_key_t),
    .key_offset = RX_MAP_KEY_OFFSET(lb_balancer_t, pair, pair_node),
};

rx_map_node_t *lb_pair_node(lb_balancer_t *b)
{
    return &b->pair_node;
}

lb_balancer_t *lb_of_pair_node(rx_map_node_t *node)
{
    return rx_map_entry(node, lb_balancer_t, pair_node);
}

/* ---------------------------------------------------------- balancer -- */

lb_balancer_t *lb_new(lb_ctx_t *ctx, int32_t modid, int32_t cmdid, uint64_t now)
{
    lb_balancer_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->ctx = ctx;
    b->pair = (lb_pair_key_t){modid, cmdid};
    rx_map_init(&b->index, &host_map_type);
    b->idle = b->over = (lb_list_t){NIL, NIL, 0};
    b->state = LB_PULLING;
    b->last_update = b->last_access = b->pull_ts = now;
    return b;
}

void lb_free(lb_balancer_t *b)
{
    if (!b)
        return;
    free(b->hosts);
    rx_map_free(&b->index);
    free(b);
}

int32_t lb_modid(const lb_balancer_t *b)
{
    return b->pair.modid;
}

int32_t lb_cmdid(const lb_balancer_t *b)
{
    return b->pair.cmdid;
}

bool lb_is_pulling(const lb_balancer_t *b)
{
    return b->state == LB_PULLING;
}

size_t lb_host_count(const lb_balancer_t *b)
{
    return b->n_hosts;
}

size_t lb_overload_count(const lb_balancer_t *b)
{
    return b->over.count;
}

size_t lb_memory(const lb_balancer_t *b)
{
    return sizeof(*b) + (size_t)b->cap_hosts * sizeof(lb_hstate_t) + rx_map_memory(&b->index);
}

/* ---------------------------------------------------------- snapshots -- */

static void emit_stats(lb_balancer_t *b, uint64_t now)
{
    lb_ctx_t *ctx = b->ctx;
    b->dirty = false;
    b->stats_sent = true;
    b->last_stats = now;
    if (!ctx->cbs.on_stats)
        return;
    if (ctx->scratch_cap < b->n_hosts) {
        lb_call_result_t *p = realloc(ctx->scratch, b->n_hosts * sizeof(*p));
        if (!p) {
            ctx->counters.snapshots_dropped++;
            return;
        }
        ctx->scratch = p;
        ctx->scratch_cap = b->n_hosts;
    }
    size_t n = 0;
    for (int l = 0; l < 2; l++)
        for (uint32_t i = l ? b->over.head : b->idle.head; i != NIL; i = b->hosts[i].next) {
            const lb_hstate_t *h = &b->hosts[i];
            ctx->scratch[n++] = (lb_call_result_t){h->ip, h->port, h->rsucc, h->rerr, h->overload};
        }
    ctx->counters.snapshots++;
    ctx->cbs.on_stats(b, ctx->scratch, n, now, ctx->cbs.arg);
}

/* Before rsucc/rerr are cleared: the reporter must see the window's totals. */
static void flush_stats(lb_balancer_t *b, uint64_t now)
{
    if (b->dirty)
        emit_stats(b, now);
}

static void maybe_emit_stats(lb_balancer_t *b, uint64_t now)
{
    if (b->dirty &&
        (!b->stats_sent || elapsed(now, b->last_stats) >= b->ctx->cfg.report_interval_ms))
        emit_stats(b, now);
}

/* ------------------------------------------------------- host states -- */

static void set_idle(lb_hstate_t *h, const lb_config_t *cfg, uint64_t now)
{
    h->vsucc = cfg->init_succ_cnt;
    h->verr = 0;
    h->rsucc = h->rerr = 0;
    h->contin_succ = h->contin_err = 0;
    h->overload = false;
    h->idle_ts = now;
}

static void set_overload(lb_hstate_t *h, const lb_config_t *cfg, uint64_t now)
{
    h->vsucc = 0;
    h->verr = cfg->init_err_cnt;
    h->rsucc = h->rerr = 0;
    h->contin_succ = h->contin_err = 0;
    h->overload = true;
    h->overload_ts = now;
}

static lb_event_t make_event(const lb_balancer_t *b, const lb_hstate_t *h, lb_event_kind_t kind,
                             lb_event_reason_t reason, uint64_t now)
{
    return (lb_event_t){
        .kind = kind,
        .reason = reason,
        .modid = b->pair.modid,
        .cmdid = b->pair.cmdid,
        .ip = h->ip,
        .port = h->port,
        .vsucc = h->vsucc,
        .verr = h->verr,
        .rsucc = h->rsucc,
        .rerr = h->rerr,
        .contin_succ = h->contin_succ,
        .contin_err = h->contin_err,
        .now = now,
    };
}

static void notify(const lb_balancer_t *b, const lb_event_t *ev)
{
    if (b->ctx->cbs.on_event)
        b->ctx->cbs.on_event(b, ev, b->ctx->cbs.arg);
}

static void to_overload(lb_balancer_t *b, uint32_t i, lb_event_reason_t reason, uint64_t now)
{
    lb_hstate_t *h = &b->hosts[i];
    lb_event_t ev = make_event(b, h, LB_EV_OVERLOAD, reason, now);
    flush_stats(b, now);
    list_unlink(b, &b->idle, i);
    set_overload(h, &b->ctx->cfg, now);
    list_push_tail(b, &b->over, i);
    b->ctx->counters.to_overload++;
    notify(b, &ev);
}

static void to_idle(lb_balancer_t *b, uint32_t i, lb_event_reason_t reason, uint64_t now)
{
    lb_hstate_t *h = &b->hosts[i];
    lb_event_t ev = make_event(b, h, LB_EV_IDLE, reason, now);
    flush_stats(b, now);
    list_unlink(b, &b->over, i);
    set_idle(h, &b->ctx->cfg, now);
    list_push_tail(b, &b->idle, i);
    b->ctx->counters.to_idle++;
    notify(b, &ev);
}

static void window_reset(lb_balancer_t *b, uint32_t i, uint64_t now)
{
    lb_hstate_t *h = &b->hosts[i];
    lb_event_t ev = make_event(b, h, LB_EV_WINDOW_RESET, LB_REASON_IDLE_TIMEOUT, now);
    flush_stats(b, now);
    set_idle(h, &b->ctx->cfg, now);
    b->ctx->counters.window_resets++;
    notify(b, &ev);
}

/* The transition a report may cause; true when the host changed state. */
static bool check_state_change(lb_balancer_t *b, uint32_t i, bool success, uint64_t now)
{
    const lb_config_t *cfg = &b->ctx->cfg;
    const lb_hstate_t *h = &b->hosts[i];

    if (!h->overload && !success) {
        if (ratio(h->verr, h->vsucc) > cfg->err_rate)
            to_overload(b, i, LB_REASON_ERR_RATE, now);
        else if (h->contin_err >= cfg->contin_err_limit)
            to_overload(b, i, LB_REASON_CONTIN_ERR, now);
        else
            return false;
        return true;
    }
    if (h->overload && success) {
        if (ratio(h->vsucc, h->verr) > cfg->succ_rate)
            to_idle(b, i, LB_REASON_SUCC_RATE, now);
        else if (h->contin_succ >= cfg->contin_succ_limit)
            to_idle(b, i, LB_REASON_CONTIN_SUCC, now);
        else
            return false;
        return true;
    }
    return false;
}

static void check_windows(lb_balancer_t *b, uint32_t i, uint64_t now)
{
    const lb_config_t *cfg = &b->ctx->cfg;
    const lb_hstate_t *h = &b->hosts[i];

    if (h->overload) {
        if (elapsed(now, h->overload_ts) >= cfg->overload_timeout_ms)
            to_idle(b, i, LB_REASON_OVERLOAD_TIMEOUT, now);
        return;
    }
    if (elapsed(now, h->idle_ts) < cfg->idle_timeout_ms)
        return;
    if (h->rsucc + (uint64_t)h->rerr > 0 && ratio(h->rerr, h->rsucc) >= cfg->window_err_rate)
        to_overload(b, i, LB_REASON_WINDOW_ERR_RATE, now);
    else
        window_reset(b, i, now);
}

/* ---------------------------------------------------------- get_host -- */

static void maybe_pull(lb_balancer_t *b, uint64_t now, bool *ret_pull)
{
    *ret_pull = false;
    if (b->state == LB_NEW && elapsed(now, b->last_update) > b->ctx->cfg.update_timeout_ms) {
        b->state = LB_PULLING;
        b->pull_ts = now;
        b->pull_tries = 0;
        b->ctx->counters.pulls++;
        *ret_pull = true;
    }
}

static void pick(lb_balancer_t *b, lb_list_t *l, lb_host_t *ret_host)
{
    uint32_t i = l->head;
    *ret_host = (lb_host_t){b->hosts[i].ip, b->hosts[i].port};
    list_move_tail(b, l, i);
}

static bool probe_due(lb_balancer_t *b)
{
    if (b->access_cnt >= b->ctx->cfg.probe_num) {
        b->access_cnt = 0;
        return true;
    }
    b->access_cnt++;
    return false;
}

int lb_get_host(lb_balancer_t *b, uint64_t now, lb_host_t *ret_host, bool *ret_pull)
{
    int ret = LB_RET_SUCC;

    assert(ret_pull);
    if (b->n_hosts == 0)
        ret = LB_RET_NOEXIST;
    else if (b->idle.count == 0) {
        if (probe_due(b))
            pick(b, &b->over, ret_host);
        else
            ret = LB_RET_OVERLOAD;
    } else if (b->over.count == 0)
        pick(b, &b->idle, ret_host);
    else
        pick(b, probe_due(b) ? &b->over : &b->idle, ret_host);

    b->last_access = now;
    maybe_pull(b, now, ret_pull);
    return ret;
}

size_t lb_get_route(lb_balancer_t *b, uint64_t now, lb_host_t *out, size_t max, bool *ret_pull)
{
    size_t n = 0;
    for (int l = 0; l < 2; l++)
        for (uint32_t i = l ? b->over.head : b->idle.head; i != NIL && n < max;
             i = b->hosts[i].next)
            out[n++] = (lb_host_t){b->hosts[i].ip, b->hosts[i].port};
    b->last_access = now;
    maybe_pull(b, now, ret_pull);
    return b->n_hosts;
}

/* ------------------------------------------------------------ report -- */

/* A client's timecost_ms is not trusted: one forged report must not
 * outweigh a host's whole history. */
static uint32_t failure_weight(lb_ctx_t *ctx, uint32_t timecost_ms)
{
    const lb_config_t *cfg = &ctx->cfg;

    if (timecost_ms == 0 || cfg->err_amplify_ms == 0)
        return 1;
    uint32_t w = timecost_ms / cfg->err_amplify_ms;
    if (cfg->max_err_weight && w > cfg->max_err_weight) {
        ctx->counters.weights_capped++;
        w = cfg->max_err_weight;
    }
    return w ? w : 1;
}

int lb_report(lb_balancer_t *b, uint64_t now, int32_t ip, int32_t port, int retcode,
              uint32_t timecost_ms)
{
    int64_t found = host_find(b, ip, port);
    if (found < 0) {
        b->ctx->counters.reports_unknown_host++;
        return -ENOENT;
    }
    uint32_t i = (uint32_t)found;
    lb_hstate_t *h = &b->hosts[i];
    bool success = retcode == LB_RET_SUCC;

    if (success) {
        h->vsucc = sat_add(h->vsucc, 1);
        h->rsucc = sat_add(h->rsucc, 1);
        h->contin_succ = sat_add(h->contin_succ, 1);
        h->contin_err = 0;
    } else {
        h->verr = sat_add(h->verr, failure_weight(b->ctx, timecost_ms));
        h->rerr = sat_add(h->rerr, 1);
        h->contin_err = sat_add(h->contin_err, 1);
        h->contin_succ = 0;
    }
    b->dirty = true;

    if (!check_state_change(b, i, success, now))
        check_windows(b, i, now);
    maybe_emit_stats(b, now);
    return 0;
}

void lb_tick(lb_balancer_t *b, uint64_t now)
{
    /* Array order, not list order: a host moved to another list is not visited twice. */
    for (uint32_t i = 0; i < b->n_hosts; i++)
        check_windows(b, i, now);
    maybe_emit_stats(b, now);
}

bool lb_pull_retry_due(lb_balancer_t *b, uint64_t now)
{
    uint64_t timeout = b->ctx->cfg.pull_timeout_ms;

    if (b->state != LB_PULLING || timeout == 0)
        return false;
    if (elapsed(now, b->pull_ts) < timeout << (b->pull_tries < 4 ? b->pull_tries : 4))
        return false;
    if (b->pull_tries < UINT8_MAX)
        b->pull_tries++;
    b->pull_ts = now;
    b->ctx->counters.pull_retries++;
    return true;
}

lb_evict_t lb_evict_due(const lb_balancer_t *b, uint64_t now)
{
    const lb_config_t *cfg = &b->ctx->cfg;

    if (b->n_hosts == 0 && cfg->negative_ttl_ms &&
        elapsed(now, b->last_update) >= cfg->negative_ttl_ms)
        return LB_EVICT_NEGATIVE;
    if (cfg->pair_idle_timeout_ms && elapsed(now, b->last_access) >= cfg->pair_idle_timeout_ms)
        return LB_EVICT_IDLE;
    return LB_KEEP;
}

void lb_on_dns_reconnect(lb_balancer_t *b)
{
    if (b->state == LB_PULLING)
        b->state = LB_NEW;
}

/* ------------------------------------------------------ update_route -- */

/* Removes host i; the last host takes its slot. The index is stale after
 * (it is rebuilt). */
static void host_remove(lb_balancer_t *b, uint32_t i)
{
    list_unlink(b, list_of(b, &b->hosts[i]), i);
    uint32_t last = --b->n_hosts;
    if (i == last)
        return;
    lb_hstate_t *h = &b->hosts[i];
    *h = b->hosts[last];
    lb_list_t *l = list_of(b, h);
    if (h->prev != NIL)
        b->hosts[h->prev].next = i;
    else
        l->head = i;
    if (h->next != NIL)
        b->hosts[h->next].prev = i;
    else
        l->tail = i;
}

static void host_append(lb_balancer_t *b, const lb_host_t *src, uint64_t now)
{
    uint32_t i = b->n_hosts++;
    lb_hstate_t *h = &b->hosts[i];
    *h = (lb_hstate_t){.ip = src->ip, .port = src->port};
    set_idle(h, &b->ctx->cfg, now);
    list_push_tail(b, &b->idle, i);
    index_add(&b->index, h);
}

/* Marks the hosts that stay; returns whether any host goes. */
static bool mark_staying(lb_balancer_t *b, const lb_host_t *hosts, size_t n)
{
    for (uint32_t i = 0; i < b->n_hosts; i++)
        b->hosts[i].seen = false;
    size_t staying = 0;
    for (size_t k = 0; k < n; k++) {
        int64_t i = host_find(b, hosts[k].ip, hosts[k].port);
        if (i >= 0 && !b->hosts[i].seen) {
            b->hosts[i].seen = true;
            staying++;
        }
    }
    return staying < b->n_hosts;
}

/* Returns whether the host array moved. */
static bool shrink_hosts(lb_balancer_t *b)
{
    if (b->cap_hosts == b->n_hosts)
        return false;
    if (b->n_hosts == 0) {
        free(b->hosts);
        b->hosts = NULL;
        b->cap_hosts = 0;
        return false;
    }
    lb_hstate_t *p = realloc(b->hosts, b->n_hosts * sizeof(*p));
    if (!p)
        return false;
    bool moved = p != b->hosts;
    b->hosts = p;
    b->cap_hosts = b->n_hosts;
    return moved;
}

int lb_update_route(lb_balancer_t *b, uint64_t now, const lb_host_t *hosts, size_t n)
{
    rx_map_t index;
    bool some_go;

    if (n > LB_MAX_HOSTS)
        return -E2BIG;
    /* While the old index still points into the host array. */
    some_go = mark_staying(b, hosts, n);
    rx_map_init(&index, &host_map_type);
    if (n > 0 && rx_map_reserve(&index, n) < 0)
        return -ENOMEM;
    if (b->cap_hosts < n) {
        lb_hstate_t *p = realloc(b->hosts, n * sizeof(*p));
        if (!p) {
            rx_map_free(&index);
            return -ENOMEM;
        }
        b->hosts = p;
        b->cap_hosts = (uint32_t)n;
    }

    if (some_go) {
        flush_stats(b, now);
        /* Downwards: the host moved into a freed slot was already looked at. */
        for (uint32_t i = b->n_hosts; i-- > 0;)
            if (!b->hosts[i].seen)
                host_remove(b, i);
    }

    rx_map_free(&b->index);
    b->index = index;
    for (uint32_t i = 0; i < b->n_hosts; i++)
        index_add(&b->index, &b->hosts[i]);
    for (size_t k = 0; k < n; k++)
        if (host_find(b, hosts[k].ip, hosts[k].port) < 0)
            host_append(b, &hosts[k], now);

    if (shrink_hosts(b)) {
        rx_map_clear(&b->index);
        for (uint32_t i = 0; i < b->n_hosts; i++)
            index_add(&b->index, &b->hosts[i]);
    }
    b->last_update = now;
    b->state = LB_NEW;
    b->pull_tries = 0;
    return 0;
}

/* ----------------------------------------------------- introspection -- */

bool lb_list_host(const lb_balancer_t *b, bool overloaded, size_t i, lb_host_t *ret_host)
{
    uint32_t h = overloaded ? b->over.head : b->idle.head;
    for (; h != NIL && i > 0; i--)
        h = b->hosts[h].next;
    if (h == NIL)
        return false;
    *ret_host = (lb_host_t){b->hosts[h].ip, b->hosts[h].port};
    return true;
}

int lb_host_info(const lb_balancer_t *b, int32_t ip, int32_t port, lb_host_info_t *ret_info)
{
    lb_host_t key = {ip, port};
    const rx_map_node_t *n = rx_map_peek(&b->index, &key);
    if (!n)
        return -ENOENT;
    const lb_hstate_t *h = rx_map_entry(n, const lb_hstate_t, node);
    *ret_info = (lb_host_info_t){
        .host = {h->ip, h->port},
        .overload = h->overload,
        .vsucc = h->vsucc,
        .verr = h->verr,
        .rsucc = h->rsucc,
        .rerr = h->rerr,
        .contin_succ = h->contin_succ,
        .contin_err = h->contin_err,
        .idle_ts = h->idle_ts,
        .overload_ts = h->overload_ts,
    };
    return 0;
}
