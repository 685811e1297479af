/*
 * One agent shard: a UDP socket, its loop, and the route cache of the pairs
 * with agent_shard_of(modid, cmdid) == index. Everything here runs on the
 * shard's thread; the get_host and report paths allocate nothing and take
 * no lock (the reply is batched by the reactor).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemons/agent/agent.h"
#include "daemons/common/log.h"
#include "proto/wire.h"

#define SHARD_TICK_MS 1000
/* Requests are a few dozen bytes; anything above this is dropped as bad. */
#define SHARD_MAX_REQUEST 8192
/* A shard waits this long in recvmmsg for the next request before it
 * sleeps in epoll_wait (see rx_udp_server_config_t.linger_us). */
#define SHARD_LINGER_US 1000
/* Most hosts one API reply can carry (2 bytes each at the very least). */
#define SHARD_ROUTE_BUF_CAP (AGENT_DGRAM_BODY_MAX / 2)

/* A request that arrived on another shard's socket, answered by its owner
 * on the receiving socket. */
typedef struct shard_forward {
    agent_shard_t *owner;
    int fd;
    rx_addr_t to;
    int32_t msgid;
    union {
        wire_get_host_req_t get_host;
        wire_report_req_t report;
        wire_get_route_req_t pair;
    } u;
} shard_forward_t;

typedef struct shard_route_msg {
    agent_shard_t *sh;
    int32_t modid, cmdid;
    size_t n;
    lb_host_t hosts[];
} shard_route_msg_t;

typedef struct shard_config_msg {
    agent_shard_t *sh;
    lb_config_t cfg;
} shard_config_msg_t;

static agent_shard_t *owner_of(agent_shard_t *sh, int32_t modid, int32_t cmdid)
{
    return &sh->agent->shards[agent_shard_of(modid, cmdid)];
}

static void pull(agent_shard_t *sh, int32_t modid, int32_t cmdid)
{
    agent_inc(sh->c.pulls);
    if (agent_dns_post_pull(&sh->agent->dns, modid, cmdid) == -EAGAIN)
        agent_inc(sh->c.posts_dropped);
}

static void log_undecodable(agent_shard_t *sh, const rx_msg_t *msg)
{
    char addr[RX_ADDR_STRLEN];

    agent_inc(sh->c.undecodable);
    lars_log_rl(LOG_WARNING, "shard %u: undecodable body of msgid %d (%u bytes) from %s", sh->index,
                msg->msgid, msg->len, rx_addr_format(msg->from.addr, addr, sizeof(addr)));
}

/* ------------------------------------------------------- the requests -- */

static size_t answer_get_host(agent_shard_t *sh, const wire_get_host_req_t *req,
                              uint8_t out[WIRE_SMALL_MAX])
{
    wire_get_host_resp_t resp = {.seq = req->seq, .modid = req->modid, .cmdid = req->cmdid};
    bool want_pull = false;

    agent_inc(sh->c.get_host);
    resp.retcode = route_cache_get_host(sh->cache, req->modid, req->cmdid, rx_loop_now(sh->loop),
                                        &resp.host, &want_pull);
    resp.has_host = resp.retcode == LB_RET_SUCC;
    if (want_pull)
        pull(sh, req->modid, req->cmdid);
    return wire_encode_get_host_resp(out, &resp);
}

static void do_report(agent_shard_t *sh, const wire_report_req_t *req)
{
    agent_inc(sh->c.reports);
    (void)route_cache_report(sh->cache, req->modid, req->cmdid, rx_loop_now(sh->loop), req->host.ip,
                             req->host.port, req->retcode, req->timecost_ms);
}

static bool truncation_logged(agent_shard_t *sh, uint64_t key)
{
    for (size_t i = 0; i < sh->n_truncated_pairs; i++)
        if (sh->truncated_pairs[i] == key)
            return true;
    if (sh->n_truncated_pairs == sh->cap_truncated_pairs) {
        size_t cap = sh->cap_truncated_pairs ? 2 * sh->cap_truncated_pairs : 16;
        uint64_t *p = realloc(sh->truncated_pairs, cap * sizeof(*p));
        if (!p)
            return true; /* log it again next time rather than fail */
        sh->truncated_pairs = p;
        sh->cap_truncated_pairs = cap;
    }
    sh->truncated_pairs[sh->n_truncated_pairs++] = key;
    return false;
}

/* Encodes the reply into sh->reply_buf; returns its length. */
static size_t answer_get_route(agent_shard_t *sh, const wire_get_route_req_t *req)
{
    bool want_pull = false;
    size_t total, have, written, len;

    agent_inc(sh->c.get_route);
    total = route_cache_get_route(sh->cache, req->modid, req->cmdid, rx_loop_now(sh->loop),
                                  sh->route_buf, sh->route_buf_cap, &want_pull);
    if (want_pull)
        pull(sh, req->modid, req->cmdid);
    have = total < sh->route_buf_cap ? total : sh->route_buf_cap;
    len = wire_encode_get_route_resp(sh->reply_buf, AGENT_DGRAM_BODY_MAX, req->modid, req->cmdid,
                                     sh->route_buf, have, &written);
    if (written < total) {
        agent_inc(sh->c.truncated);
        if (!truncation_logged(sh, agent_pair_key(req->modid, req->cmdid)))
            lars_log_pair(LOG_WARNING, req->modid, req->cmdid,
                          "route of %d/%d has %zu hosts; API replies carry the first %zu",
                          req->modid, req->cmdid, total, written);
    }
    return len;
}

/* ------------------------------------------------- wrong-shard requests -- */

static void forward_task(rx_loop_t *loop, void *arg)
{
    shard_forward_t *f = arg;
    agent_shard_t *sh = f->owner;
    uint8_t small[WIRE_SMALL_MAX];
    size_t len;

    switch (f->msgid) {
    case WIRE_ID_GET_HOST_REQUEST:
        len = answer_get_host(sh, &f->u.get_host, small);
        (void)rx_udp_sendto(f->fd, &f->to, WIRE_ID_GET_HOST_RESPONSE, small, (uint32_t)len);
        break;
    case WIRE_ID_API_GET_ROUTE_REQUEST:
        len = answer_get_route(sh, &f->u.pair);
        (void)rx_udp_sendto(f->fd, &f->to, WIRE_ID_API_GET_ROUTE_RESPONSE, sh->reply_buf,
                            (uint32_t)len);
        break;
    case WIRE_ID_REPORT_REQUEST:
        do_report(sh, &f->u.report);
        break;
    }
    free(f);
}

/* Hands a request to the shard that owns its pair; the answer leaves from
 * this socket, the one the client sent to. */
static void forward(agent_shard_t *sh, agent_shard_t *owner, const rx_msg_t *msg, const void *req,
                    size_t req_size)
{
    shard_forward_t *f = malloc(sizeof(*f));

    agent_inc(sh->c.misrouted);
    if (!f)
        return;
    f->owner = owner;
    f->fd = sh->fd;
    f->to = *msg->from.addr;
    f->msgid = msg->msgid;
    memcpy(&f->u, req, req_size);
    if (rx_loop_post_bounded(owner->loop, forward_task, f, AGENT_POST_MAX) < 0) {
        agent_inc(sh->c.posts_dropped);
        free(f);
    }
}

/* ------------------------------------------------------------ handlers -- */

static void on_get_host(const rx_msg_t *msg, void *arg)
{
    agent_shard_t *sh = arg, *owner;
    wire_get_host_req_t req;
    uint8_t out[WIRE_SMALL_MAX];
    size_t len;

    if (wire_decode_get_host_req(msg->body, msg->len, &req) < 0) {
        log_undecodable(sh, msg);
        return;
    }
    owner = owner_of(sh, req.modid, req.cmdid);
    if (owner != sh) {
        forward(sh, owner, msg, &req, sizeof(req));
        return;
    }
    len = answer_get_host(sh, &req, out);
    (void)rx_udp_reply(msg, WIRE_ID_GET_HOST_RESPONSE, out, (uint32_t)len);
}

static void on_report(const rx_msg_t *msg, void *arg)
{
    agent_shard_t *sh = arg, *owner;
    wire_report_req_t req;

    if (wire_decode_report_req(msg->body, msg->len, &req) < 0) {
        log_undecodable(sh, msg);
        return;
    }
    owner = owner_of(sh, req.modid, req.cmdid);
    if (owner != sh) {
        forward(sh, owner, msg, &req, sizeof(req));
        return;
    }
    do_report(sh, &req);
}

static void on_get_route(const rx_msg_t *msg, void *arg)
{
    agent_shard_t *sh = arg, *owner;
    wire_get_route_req_t req;
    size_t len;

    if (wire_decode_get_route_req(msg->body, msg->len, &req) < 0) {
        log_undecodable(sh, msg);
        return;
    }
    owner = owner_of(sh, req.modid, req.cmdid);
    if (owner != sh) {
        forward(sh, owner, msg, &req, sizeof(req));
        return;
    }
    len = answer_get_route(sh, &req);
    (void)rx_udp_reply(msg, WIRE_ID_API_GET_ROUTE_RESPONSE, sh->reply_buf, (uint32_t)len);
}

/* ----------------------------------------------------- balancer events -- */

static void on_stats(const lb_balancer_t *b, const lb_call_result_t *results, size_t n,
                     uint64_t now, void *arg)
{
    agent_shard_t *sh = arg;

    if (agent_reporter_post(sh->agent->rep, lb_modid(b), lb_cmdid(b), results, n) == -EAGAIN)
        agent_inc(sh->c.posts_dropped);
}

static const char *reason_name(lb_event_reason_t r)
{
    switch (r) {
    case LB_REASON_ERR_RATE:
        return "error rate";
    case LB_REASON_CONTIN_ERR:
        return "consecutive errors";
    case LB_REASON_WINDOW_ERR_RATE:
        return "window error rate";
    case LB_REASON_SUCC_RATE:
        return "success rate";
    case LB_REASON_CONTIN_SUCC:
        return "consecutive successes";
    case LB_REASON_OVERLOAD_TIMEOUT:
        return "overload timeout";
    case LB_REASON_IDLE_TIMEOUT:
        return "window end";
    }
    return "?";
}

static void on_event(const lb_balancer_t *b, const lb_event_t *ev, void *arg)
{
    static const char *const what[] = {
        [LB_EV_OVERLOAD] = "overloaded",
        [LB_EV_IDLE] = "idle again",
        [LB_EV_WINDOW_RESET] = "window reset",
    };
    int prio = ev->kind == LB_EV_WINDOW_RESET ? LOG_DEBUG : LOG_NOTICE;
    char f_modid[32], f_cmdid[32], f_host[48], ip[INET_ADDRSTRLEN];
    struct in_addr in = {.s_addr = htonl((uint32_t)ev->ip)};

    if (!lars_log_enabled(prio))
        return;
    inet_ntop(AF_INET, &in, ip, sizeof(ip));
    snprintf(f_modid, sizeof(f_modid), "LARS_MODID=%d", ev->modid);
    snprintf(f_cmdid, sizeof(f_cmdid), "LARS_CMDID=%d", ev->cmdid);
    snprintf(f_host, sizeof(f_host), "LARS_HOST=%s:%d", ip, ev->port);
    lars_log_kv(prio, LARS_FIELDS(f_modid, f_cmdid, f_host),
                "%d/%d host %s:%d %s (%s): vsucc %u verr %u rsucc %u rerr %u contin_succ %u "
                "contin_err %u",
                ev->modid, ev->cmdid, ip, ev->port, what[ev->kind], reason_name(ev->reason),
                ev->vsucc, ev->verr, ev->rsucc, ev->rerr, ev->contin_succ, ev->contin_err);
}

/* ---------------------------------------------------------------- tick -- */

typedef struct shard_sums {
    uint64_t hosts, overloaded;
} shard_sums_t;

static void sum_balancer(lb_balancer_t *b, void *arg)
{
    shard_sums_t *s = arg;

    s->hosts += lb_host_count(b);
    s->overloaded += lb_overload_count(b);
}

static void log_dropped(agent_shard_t *sh)
{
    rx_stats_snapshot_t st;

    rx_stats_read(rx_udp_server_stats(sh->udp), &st);
    if (st.frames_bad > sh->logged_bad)
        lars_log_rl(LOG_WARNING, "shard %u: dropped %llu malformed datagrams", sh->index,
                    (unsigned long long)(st.frames_bad - sh->logged_bad));
    if (st.frames_unknown > sh->logged_unknown)
        lars_log_rl(LOG_WARNING, "shard %u: dropped %llu datagrams with an unknown msgid",
                    sh->index, (unsigned long long)(st.frames_unknown - sh->logged_unknown));
    sh->logged_bad = st.frames_bad;
    sh->logged_unknown = st.frames_unknown;
}

static void tick_pull(int32_t modid, int32_t cmdid, void *arg)
{
    pull(arg, modid, cmdid);
}

static void on_tick(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    agent_shard_t *sh = arg;
    const lb_counters_t *lc = lb_ctx_counters(sh->lb);
    shard_sums_t sums = {0};

    route_cache_tick(sh->cache, rx_loop_now(loop), tick_pull, sh);
    route_cache_foreach(sh->cache, sum_balancer, &sums);
    agent_set(sh->c.pairs, route_cache_count(sh->cache));
    agent_set(sh->c.hosts, sums.hosts);
    agent_set(sh->c.overloaded, sums.overloaded);
    agent_set(sh->c.unknown_host_reports, lc->reports_unknown_host);
    agent_set(sh->c.unknown_pair_reports, lc->reports_unknown_pair);
    agent_set(sh->c.pairs_refused, lc->pairs_refused);
    agent_set(sh->c.to_overload, lc->to_overload);
    agent_set(sh->c.to_idle, lc->to_idle);
    agent_set(sh->c.window_resets, lc->window_resets);
    agent_set(sh->c.snapshots, lc->snapshots);
    agent_set(sh->c.weights_capped, lc->weights_capped);
    agent_set(sh->c.pull_retries, lc->pull_retries);
    agent_set(sh->c.evicted_idle, lc->evicted_idle);
    agent_set(sh->c.evicted_negative, lc->evicted_negative);
    log_dropped(sh);
}

/* ---------------------------------------------------- from other loops -- */

static void route_task(rx_loop_t *loop, void *arg)
{
    shard_route_msg_t *m = arg;
    agent_shard_t *sh = m->sh;
    int r;

    r = route_cache_update_route(sh->cache, m->modid, m->cmdid, rx_loop_now(loop), m->hosts, m->n);
    if (r == 0)
        agent_inc(sh->c.routes_applied);
    else if (r != -ENOENT)
        lars_log_pair(LOG_WARNING, m->modid, m->cmdid, "cannot apply the route of %d/%d: %s",
                      m->modid, m->cmdid, strerror(-r));
    free(m);
}

int agent_shard_post_route(agent_shard_t *sh, int32_t modid, int32_t cmdid, const lb_host_t *hosts,
                           size_t n)
{
    shard_route_msg_t *m = malloc(sizeof(*m) + n * sizeof(lb_host_t));
    int r;

    if (!m)
        return -ENOMEM;
    *m = (shard_route_msg_t){.sh = sh, .modid = modid, .cmdid = cmdid, .n = n};
    if (n)
        memcpy(m->hosts, hosts, n * sizeof(lb_host_t));
    r = rx_loop_post_bounded(sh->loop, route_task, m, AGENT_POST_MAX);
    if (r < 0)
        free(m);
    return r;
}

typedef struct pair_list {
    uint64_t *v;
    size_t n, cap;
    bool failed;
} pair_list_t;

static void collect_pair(int32_t modid, int32_t cmdid, void *arg)
{
    pair_list_t *l = arg;

    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        uint64_t *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->failed = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = agent_pair_key(modid, cmdid);
}

static void dns_reconnect_task(rx_loop_t *loop, void *arg)
{
    agent_shard_t *sh = arg;
    pair_list_t l = {0};

    route_cache_on_dns_reconnect(sh->cache, collect_pair, &l);
    if (l.failed)
        lars_log(LOG_ERR, "shard %u: out of memory listing pairs to subscribe again", sh->index);
    if (l.n == 0) {
        free(l.v);
        return;
    }
    agent_dns_post_pairs(&sh->agent->dns, l.v, l.n);
}

void agent_shard_post_dns_reconnect(agent_shard_t *sh)
{
    (void)rx_loop_post(sh->loop, dns_reconnect_task, sh);
}

static void config_task(rx_loop_t *loop, void *arg)
{
    shard_config_msg_t *m = arg;

    (void)lb_ctx_set_config(m->sh->lb, &m->cfg);
    free(m);
}

int agent_shard_post_config(agent_shard_t *sh, const lb_config_t *cfg)
{
    shard_config_msg_t *m = malloc(sizeof(*m));
    int r;

    if (!m)
        return -ENOMEM;
    *m = (shard_config_msg_t){.sh = sh, .cfg = *cfg};
    r = rx_loop_post(sh->loop, config_task, m);
    if (r < 0)
        free(m);
    return r;
}

/* ----------------------------------------------------------- lifecycle -- */

int agent_shard_init(agent_shard_t *sh, agent_t *a, unsigned index, rx_loop_t *loop, int fd,
                     const char *bind_addr, const lb_config_t *cfg, size_t max_pairs)
{
    lb_callbacks_t cbs = {.on_stats = on_stats, .on_event = on_event, .arg = sh};
    rx_udp_server_config_t ucfg = {
        .loop = loop,
        .fd = fd,
        .bind_addr = bind_addr,
        .max_frame = SHARD_MAX_REQUEST,
        .linger_us = SHARD_LINGER_US,
        .arg = sh,
    };
    int r;

    sh->agent = a;
    sh->index = index;
    sh->loop = loop;
    sh->fd = -1;
    sh->router = rx_router_new();
    sh->route_buf_cap = SHARD_ROUTE_BUF_CAP;
    sh->route_buf = malloc(sh->route_buf_cap * sizeof(lb_host_t));
    sh->reply_buf = malloc(AGENT_DGRAM_BODY_MAX);
    if (!sh->router || !sh->route_buf || !sh->reply_buf) {
        if (fd >= 0)
            close(fd);
        return -ENOMEM;
    }
    rx_router_add(sh->router, WIRE_ID_GET_HOST_REQUEST, on_get_host, sh);
    rx_router_add(sh->router, WIRE_ID_REPORT_REQUEST, on_report, sh);
    rx_router_add(sh->router, WIRE_ID_API_GET_ROUTE_REQUEST, on_get_route, sh);
    ucfg.router = sh->router;
    sh->udp = rx_udp_server_new(&ucfg, &r);
    if (!sh->udp) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    sh->fd = rx_udp_server_fd(sh->udp);
    r = lb_ctx_new(cfg, &cbs, &sh->lb);
    if (r < 0)
        return r;
    return route_cache_new(sh->lb, max_pairs, &sh->cache);
}

int agent_shard_start(agent_shard_t *sh)
{
    sh->tick = rx_timer_add(sh->loop, SHARD_TICK_MS, SHARD_TICK_MS, on_tick, sh);
    if (!sh->tick)
        return -ENOMEM;
    return rx_udp_server_start(sh->udp);
}

/* After the shard's loop stopped. */
void agent_shard_destroy(agent_shard_t *sh)
{
    rx_timer_free(sh->tick);
    sh->tick = NULL;
    rx_udp_server_free(sh->udp);
    sh->udp = NULL;
    route_cache_free(sh->cache);
    sh->cache = NULL;
    lb_ctx_free(sh->lb);
    sh->lb = NULL;
    rx_router_free(sh->router);
    sh->router = NULL;
    free(sh->route_buf);
    free(sh->reply_buf);
    free(sh->truncated_pairs);
    sh->route_buf = NULL;
    sh->reply_buf = NULL;
    sh->truncated_pairs = NULL;
}

int agent_shard_port(const agent_shard_t *sh)
{
    return rx_udp_server_port(sh->udp);
}
