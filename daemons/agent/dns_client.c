/*
 * The agent's lars-dns client, on its own loop: sends GetRouteRequests for
 * the shards, hands every GetRouteResponse (reply or push) to the shard
 * that owns the pair, and on every (re)connection asks each shard for its
 * pairs and requests them all again, so the new connection is subscribed.
 *
 * The connection is made on the first pull, not at start: lars-dns closes
 * connections that send no frame for a while, so an agent nobody asks
 * anything would otherwise reconnect forever. Once made it is kept.
 *
 * Pull requests made while lars-dns is unreachable are not queued: the pair
 * already sits in its shard's cache, and the reconnection requests every
 * cached pair anyway. A burst larger than the client's output queue waits
 * in a backlog that a short timer drains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/agent/agent.h"
#include "daemons/common/log.h"
#include "proto/wire.h"

#define DNS_BACKLOG_RETRY_MS 20

typedef struct dns_pairs_msg {
    agent_dns_t *d;
    uint64_t *keys;
    size_t n;
} dns_pairs_msg_t;

/* 0, or -ENOBUFS when the output queue is full. */
static int send_request(agent_dns_t *d, uint64_t key)
{
    wire_get_route_req_t req = {agent_key_modid(key), agent_key_cmdid(key)};
    uint8_t body[WIRE_SMALL_MAX];
    size_t len = wire_encode_get_route_req(body, &req);
    int r;

    r = rx_tcp_client_send(d->cli, WIRE_ID_GET_ROUTE_REQUEST, body, (uint32_t)len);
    if (r == 0)
        agent_inc(d->requests);
    return r;
}

static void backlog_drain(agent_dns_t *d);

static void backlog_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    backlog_drain(arg);
}

static void backlog_drain(agent_dns_t *d)
{
    while (d->backlog_pos < d->backlog_n && rx_tcp_client_connected(d->cli)) {
        int r = send_request(d, d->backlog[d->backlog_pos]);
        if (r == -ENOBUFS) {
            if (!rx_timer_armed(d->backlog_timer))
                rx_timer_arm(d->backlog_timer, DNS_BACKLOG_RETRY_MS, 0);
            return;
        }
        if (r < 0)
            agent_inc(d->send_failures);
        d->backlog_pos++;
    }
    /* Disconnected: the next connection requests every pair anyway. */
    d->backlog_n = d->backlog_pos = 0;
}

static void backlog_add(agent_dns_t *d, uint64_t key)
{
    if (d->backlog_n == d->backlog_cap) {
        size_t cap = d->backlog_cap ? 2 * d->backlog_cap : 1024;
        uint64_t *k = realloc(d->backlog, cap * sizeof(*k));
        if (!k) {
            agent_inc(d->send_failures);
            return;
        }
        d->backlog = k;
        d->backlog_cap = cap;
    }
    d->backlog[d->backlog_n++] = key;
}

static void request(agent_dns_t *d, uint64_t key)
{
    int r;

    if (!rx_tcp_client_connected(d->cli))
        return;
    if (d->backlog_pos < d->backlog_n) {
        backlog_add(d, key);
        return;
    }
    r = send_request(d, key);
    if (r == -ENOBUFS) {
        backlog_add(d, key);
        backlog_drain(d);
    } else if (r < 0) {
        agent_inc(d->send_failures);
    }
}

static void pull_task(rx_loop_t *loop, void *arg)
{
    agent_dns_t *d = rx_loop_data(loop);

    /* Its on_connect asks the shards for every pair, this one among them. */
    if (!agent_get(d->started)) {
        int r = rx_tcp_client_start(d->cli);
        if (r < 0 && r != -EALREADY) {
            lars_log_rl(LOG_ERR, "cannot start the lars-dns client: %s", strerror(-r));
            return;
        }
        agent_set(d->started, true);
        return;
    }
    request(d, (uint64_t)(uintptr_t)arg);
}

int agent_dns_post_pull(agent_dns_t *d, int32_t modid, int32_t cmdid)
{
    _Static_assert(sizeof(void *) >= sizeof(uint64_t), "the pair travels in a pointer");
    return rx_loop_post_bounded(d->loop, pull_task, (void *)(uintptr_t)agent_pair_key(modid, cmdid),
                                AGENT_POST_MAX);
}

static void pairs_task(rx_loop_t *loop, void *arg)
{
    dns_pairs_msg_t *m = arg;

    for (size_t i = 0; i < m->n; i++)
        request(m->d, m->keys[i]);
    free(m->keys);
    free(m);
}

void agent_dns_post_pairs(agent_dns_t *d, uint64_t *keys, size_t n)
{
    dns_pairs_msg_t *m = malloc(sizeof(*m));

    if (!m) {
        free(keys);
        return;
    }
    *m = (dns_pairs_msg_t){.d = d, .keys = keys, .n = n};
    if (rx_loop_post(d->loop, pairs_task, m) < 0) {
        free(keys);
        free(m);
    }
}

/* ---------------------------------------------------------- responses -- */

static void on_route(const rx_msg_t *msg, void *arg)
{
    agent_dns_t *d = arg;
    wire_get_route_resp_t resp;
    lb_host_t *hosts = NULL;
    agent_shard_t *sh;
    size_t n = 0;
    int r;

    if (wire_decode_get_route_resp(msg->body, msg->len, &resp) < 0) {
        agent_inc(d->bad_responses);
        lars_log_rl(LOG_WARNING, "undecodable GetRouteResponse from lars-dns (%u bytes)", msg->len);
        return;
    }
    agent_inc(d->responses);
    if (resp.nhosts) {
        hosts = malloc(resp.nhosts * sizeof(*hosts));
        if (!hosts) {
            lars_log_pair(LOG_ERR, resp.modid, resp.cmdid, "out of memory for the route of %d/%d",
                          resp.modid, resp.cmdid);
            return;
        }
    }
    while (n < resp.nhosts && wire_get_route_resp_next(&resp, &hosts[n]))
        n++;
    sh = &d->agent->shards[agent_shard_of(resp.modid, resp.cmdid)];
    r = agent_shard_post_route(sh, resp.modid, resp.cmdid, hosts, n);
    if (r == -EAGAIN)
        agent_inc(d->posts_dropped);
    else if (r == -ENOMEM)
        lars_log_pair(LOG_ERR, resp.modid, resp.cmdid, "out of memory for the route of %d/%d",
                      resp.modid, resp.cmdid);
    free(hosts);
}

static void on_connect(rx_tcp_client_t *cli, void *arg)
{
    agent_dns_t *d = arg;

    agent_set(d->connected, true);
    agent_inc(d->connects);
    lars_log(LOG_NOTICE, "connected to lars-dns (server %u), subscribing every cached pair again",
             rx_tcp_client_server_index(cli));
    for (unsigned i = 0; i < AGENT_SHARDS; i++)
        agent_shard_post_dns_reconnect(&d->agent->shards[i]);
}

static void on_close(rx_tcp_client_t *cli, void *arg)
{
    agent_dns_t *d = arg;

    agent_set(d->connected, false);
    lars_log(LOG_WARNING, "lost the connection to lars-dns; serving cached routes");
}

/* ----------------------------------------------------------- lifecycle -- */

int agent_dns_init(agent_dns_t *d, agent_t *a, rx_loop_t *loop, const lars_strv_t *servers,
                   uint32_t dead_peer_timeout_ms)
{
    rx_tcp_client_config_t cfg = {
        .dead_peer_timeout_ms = dead_peer_timeout_ms,
        .loop = loop,
        .servers = (const char *const *)servers->v,
        .nservers = (unsigned)servers->n,
        .max_frame = a->max_frame,
        .on_connect = on_connect,
        .on_close = on_close,
        .arg = d,
    };
    int r;

    d->agent = a;
    d->loop = loop;
    rx_loop_set_data(loop, d);
    d->router = rx_router_new();
    if (!d->router)
        return -ENOMEM;
    rx_router_add(d->router, WIRE_ID_GET_ROUTE_RESPONSE, on_route, d);
    d->backlog_timer = rx_timer_new(loop, backlog_timer, d);
    if (!d->backlog_timer)
        return -ENOMEM;
    cfg.router = d->router;
    d->cli = rx_tcp_client_new(&cfg, &r);
    return d->cli ? 0 : r;
}

/* The connection waits for the first pull (see pull_task). */
int agent_dns_start(agent_dns_t *d)
{
    return 0;
}

/* After the dns loop stopped. */
void agent_dns_destroy(agent_dns_t *d)
{
    rx_timer_free(d->backlog_timer);
    free(d->backlog);
    d->backlog = NULL;
    d->backlog_timer = NULL;
    rx_tcp_client_free(d->cli);
    d->cli = NULL;
    rx_router_free(d->router);
    d->router = NULL;
}
