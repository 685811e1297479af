/*
 * The agent's lars-reporter client, on its own loop. Shards hand it
 * statistics snapshots; it sends each as ReportStatusRequest with
 * caller = this host and ts = the unix time at sending.
 *
 * While lars-reporter is unreachable (or the output queue is full) the
 * newest snapshot of each pair waits in `pending` (docs/balancing.md,
 * Statistics to lars-reporter); on reconnect
 * they go out in arrival order. Once something is pending, new snapshots
 * queue behind it, so an older snapshot never overtakes a newer one.
 * The connection is made when the first snapshot arrives (an agent with
 * nothing to report does not hold one open), and kept from then on.
 * A snapshot bigger than one frame of the reporter's default limit is split
 * by hosts (rows are keyed by host, so the pieces add up to the whole).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemons/agent/agent.h"
#include "daemons/common/log.h"
#include "libreactor/map.h"
#include "proto/wire.h"

#define REP_RETRY_MS 200
#define REP_BODY_MAX RX_FRAME_MAX_DEFAULT
/* Results per frame so that a body stays below REP_BODY_MAX. */
#define REP_CHUNK ((REP_BODY_MAX - wire_report_status_size(0)) / WIRE_CALL_RESULT_MAX)

typedef struct rep_snapshot {
    agent_reporter_t *r;
    lb_pair_key_t pair;
    rx_map_node_t node; /* in pending.by_pair while pending */
    size_t pos;         /* in pending.order */
    size_t n;
    lb_call_result_t results[];
} rep_snapshot_t;

static const rx_map_type_t snapshot_map_type = {
    .key_len = sizeof(lb_pair_key_t),
    .key_offset = RX_MAP_KEY_OFFSET(rep_snapshot_t, pair, node),
};

/* Pending snapshots: `order` holds them in arrival order (NULL once sent),
 * by_pair maps a pair to its pending snapshot. */
typedef struct rep_pending {
    rep_snapshot_t **order;
    size_t n, cap, pos;
    rx_map_t by_pair;
} rep_pending_t;

struct agent_reporter {
    agent_t *agent;
    rx_loop_t *loop;
    rx_router_t *router;
    rx_tcp_client_t *cli;
    rx_timer_t *retry;
    _Atomic bool started;
    rep_pending_t pending;
    uint8_t *scratch;
    size_t scratch_cap;
    _Atomic bool connected;
    _Atomic uint64_t connects, sent, npending, replaced, dropped;
};

/* ------------------------------------------------------------- pending -- */

static void pending_clear(rep_pending_t *p)
{
    for (size_t i = p->pos; i < p->n; i++)
        free(p->order[i]);
    p->n = p->pos = 0;
    rx_map_clear(&p->by_pair);
}

static void pending_free(rep_pending_t *p)
{
    pending_clear(p);
    free(p->order);
    rx_map_free(&p->by_pair);
    p->order = NULL;
    p->cap = 0;
}

/* Takes s in every case. */
static void pending_put(agent_reporter_t *r, rep_snapshot_t *s)
{
    rep_pending_t *p = &r->pending;
    rx_map_node_t *n = rx_map_find(&p->by_pair, &s->pair);

    if (n) {
        rep_snapshot_t *old = rx_map_entry(n, rep_snapshot_t, node);
        rx_map_replace(&p->by_pair, n, &s->node);
        s->pos = old->pos;
        p->order[s->pos] = s;
        free(old);
        agent_inc(r->replaced);
        return;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        rep_snapshot_t **o = realloc(p->order, cap * sizeof(*o));
        if (!o)
            goto drop;
        p->order = o;
        p->cap = cap;
    }
    if (rx_map_insert(&p->by_pair, &s->node, &s->pair) < 0)
        goto drop;
    s->pos = p->n;
    p->order[p->n++] = s;
    agent_inc(r->npending);
    return;
drop:
    agent_inc(r->dropped);
    free(s);
}

/* ------------------------------------------------------------- sending -- */

/* 0, or -ENOBUFS (nothing queued) when the output queue is full. */
static int send_snapshot(agent_reporter_t *r, const rep_snapshot_t *s)
{
    uint32_t ts = (uint32_t)time(NULL);
    size_t need = wire_report_status_size(s->n < REP_CHUNK ? s->n : REP_CHUNK), len;
    int err;

    if (need > r->scratch_cap) {
        uint8_t *p = realloc(r->scratch, need);
        if (!p)
            return -ENOMEM;
        r->scratch = p;
        r->scratch_cap = need;
    }
    /* An empty route still reports nothing: nothing to key rows by. */
    for (size_t off = 0; off < s->n; off += REP_CHUNK) {
        size_t k = s->n - off < REP_CHUNK ? s->n - off : REP_CHUNK;
        len = wire_encode_report_status(r->scratch, s->pair.modid, s->pair.cmdid,
                                        (int32_t)r->agent->caller_ip, s->results + off, k, ts);
        err = rx_tcp_client_send(r->cli, WIRE_ID_REPORT_STATUS_REQUEST, r->scratch, (uint32_t)len);
        if (err < 0)
            return off == 0 ? err : 0; /* the rest is lost with a partial send */
    }
    agent_inc(r->sent);
    return 0;
}

static void retry_later(agent_reporter_t *r);

/* Sends pending snapshots in order while the connection takes them. */
static void pending_flush(agent_reporter_t *r)
{
    rep_pending_t *p = &r->pending;

    while (p->pos < p->n && rx_tcp_client_connected(r->cli)) {
        rep_snapshot_t *s = p->order[p->pos];
        if (s) {
            int err = send_snapshot(r, s);
            if (err == -ENOBUFS) {
                retry_later(r);
                return;
            }
            if (err < 0)
                agent_inc(r->dropped);
            rx_map_remove(&p->by_pair, &s->node);
            free(s);
            p->order[p->pos] = NULL;
        }
        p->pos++;
        atomic_fetch_sub_explicit(&r->npending, 1, memory_order_relaxed);
    }
    if (p->pos == p->n)
        pending_clear(p);
}

static void retry_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    pending_flush(arg);
}

static void retry_later(agent_reporter_t *r)
{
    if (!rx_timer_armed(r->retry))
        rx_timer_arm(r->retry, REP_RETRY_MS, 0);
}

static void snapshot_task(rx_loop_t *loop, void *arg)
{
    rep_snapshot_t *s = arg;
    agent_reporter_t *r = s->r;
    int err;

    if (!agent_get(r->started)) {
        err = rx_tcp_client_start(r->cli);
        if (err < 0 && err != -EALREADY)
            lars_log_rl(LOG_ERR, "cannot start the lars-reporter client: %s", strerror(-err));
        else
            agent_set(r->started, true);
    }
    if (r->pending.pos < r->pending.n || !rx_tcp_client_connected(r->cli)) {
        pending_put(r, s);
        return;
    }
    err = send_snapshot(r, s);
    if (err == -ENOBUFS) {
        pending_put(r, s);
        retry_later(r);
        return;
    }
    if (err < 0)
        agent_inc(r->dropped);
    free(s);
}

int agent_reporter_post(agent_reporter_t *r, int32_t modid, int32_t cmdid,
                        const lb_call_result_t *results, size_t n)
{
    rep_snapshot_t *s = malloc(sizeof(*s) + n * sizeof(*results));
    int err;

    if (!s) {
        agent_inc(r->dropped);
        return -ENOMEM;
    }
    *s = (rep_snapshot_t){.r = r, .pair = {modid, cmdid}, .n = n};
    if (n)
        memcpy(s->results, results, n * sizeof(*results));
    err = rx_loop_post_bounded(r->loop, snapshot_task, s, AGENT_POST_MAX);
    if (err < 0)
        free(s);
    return err;
}

static void on_connect(rx_tcp_client_t *cli, void *arg)
{
    agent_reporter_t *r = arg;

    agent_set(r->connected, true);
    agent_inc(r->connects);
    lars_log(LOG_NOTICE, "connected to lars-reporter (server %u), %llu snapshots pending",
             rx_tcp_client_server_index(cli), (unsigned long long)agent_get(r->npending));
    pending_flush(r);
}

static void on_close(rx_tcp_client_t *cli, void *arg)
{
    agent_reporter_t *r = arg;

    agent_set(r->connected, false);
    lars_log(LOG_WARNING, "lost the connection to lars-reporter; keeping the newest statistics");
}

/* ----------------------------------------------------------- lifecycle -- */

int agent_reporter_new(agent_t *a, rx_loop_t *loop, const lars_strv_t *servers,
                       uint32_t dead_peer_timeout_ms, agent_reporter_t **ret)
{
    agent_reporter_t *r = calloc(1, sizeof(*r));
    rx_tcp_client_config_t cfg = {
        .loop = loop,
        .dead_peer_timeout_ms = dead_peer_timeout_ms,
        .servers = (const char *const *)servers->v,
        .nservers = (unsigned)servers->n,
        .max_frame = a->max_frame,
        .on_connect = on_connect,
        .on_close = on_close,
    };
    int err = -ENOMEM;

    if (!r)
        return -ENOMEM;
    r->agent = a;
    r->loop = loop;
    rx_map_init(&r->pending.by_pair, &snapshot_map_type);
    r->router = rx_router_new();
    r->retry = rx_timer_new(loop, retry_timer, r);
    if (!r->router || !r->retry)
        goto out_free;
    cfg.router = r->router;
    cfg.arg = r;
    r->cli = rx_tcp_client_new(&cfg, &err);
    if (!r->cli)
        goto out_free;
    *ret = r;
    return 0;

out_free:
    agent_reporter_free(r);
    return err;
}

/* The connection waits for the first snapshot (see snapshot_task). */
int agent_reporter_start(agent_reporter_t *r)
{
    return 0;
}

/* After the reporter loop stopped. */
void agent_reporter_free(agent_reporter_t *r)
{
    if (!r)
        return;
    rx_timer_free(r->retry);
    rx_tcp_client_free(r->cli);
    rx_router_free(r->router);
    pending_free(&r->pending);
    free(r->scratch);
    free(r);
}

bool agent_reporter_connected(const agent_reporter_t *r)
{
    return agent_get(((agent_reporter_t *)r)->connected);
}

bool agent_reporter_started(const agent_reporter_t *r)
{
    return agent_get(((agent_reporter_t *)r)->started);
}

void agent_reporter_counters(const agent_reporter_t *r, agent_reporter_counters_t *ret)
{
    agent_reporter_t *m = (agent_reporter_t *)r;

    *ret = (agent_reporter_counters_t){
        .connects = agent_get(m->connects),
        .sent = agent_get(m->sent),
        .pending = agent_get(m->npending),
        .replaced = agent_get(m->replaced),
        .dropped = agent_get(m->dropped),
    };
}
