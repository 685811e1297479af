/*
 * lars-agent assembly: creates the five loops (three shards, the lars-dns
 * client, the lars-reporter client) and their objects, starts and stops
 * them, and sums the counters for STATUS= and SIGUSR1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemons/agent/agent.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"

static void close_fds(const int fds[AGENT_SHARDS], unsigned from)
{
    for (unsigned i = from; i < AGENT_SHARDS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int agent_new(const agent_settings_t *s, const int fds[AGENT_SHARDS], agent_t **ret)
{
    agent_t *a = calloc(1, sizeof(*a));
    lb_config_t cfg;
    size_t max_pairs;
    unsigned i = 0;
    int r = -ENOMEM;

    if (!a)
        goto out_close;
    a->max_frame = (uint32_t)s->max_frame;
    r = agent_settings_caller_ip(s, &a->caller_ip);
    if (r < 0)
        goto out_close;
    a->shard_pool = rx_pool_new(AGENT_SHARDS, "shard");
    a->dns_pool = rx_pool_new(1, "dns");
    a->rep_pool = rx_pool_new(1, "reporter");
    r = -ENOMEM;
    if (!a->shard_pool || !a->dns_pool || !a->rep_pool)
        goto out_close;
    agent_settings_lb_config(s, &cfg);
    max_pairs = (size_t)s->max_pairs / AGENT_SHARDS;
    for (i = 0; i < AGENT_SHARDS; i++) {
        char addr[300];
        snprintf(addr, sizeof(addr), "%s:%lld", s->listen_host, (long long)s->base_port + i);
        r = agent_shard_init(&a->shards[i], a, i, rx_pool_loop(a->shard_pool, i), fds[i], addr,
                             &cfg, max_pairs);
        if (r < 0) {
            i++;
            goto out_close;
        }
    }
    r = agent_dns_init(&a->dns, a, rx_pool_loop(a->dns_pool, 0), &s->dns_servers,
                       (uint32_t)s->dns_dead_peer_timeout_ms);
    if (r < 0)
        goto out_free;
    r = agent_reporter_new(a, rx_pool_loop(a->rep_pool, 0), &s->reporter_servers,
                           (uint32_t)s->reporter_dead_peer_timeout_ms, &a->rep);
    if (r < 0)
        goto out_free;
    *ret = a;
    return 0;

out_close:
    close_fds(fds, i);
out_free:
    agent_free(a);
    return r;
}

int agent_start(agent_t *a)
{
    int r;

    /* Set up before the threads run: pthread_create orders these writes
     * before anything the loops do. */
    for (unsigned i = 0; i < AGENT_SHARDS; i++) {
        r = agent_shard_start(&a->shards[i]);
        if (r < 0)
            return r;
    }
    r = agent_dns_start(&a->dns);
    if (r < 0)
        return r;
    r = agent_reporter_start(a->rep);
    if (r < 0)
        return r;
    r = rx_pool_start(a->rep_pool);
    if (r < 0)
        return r;
    r = rx_pool_start(a->dns_pool);
    if (r < 0)
        return r;
    return rx_pool_start(a->shard_pool);
}

void agent_stop(agent_t *a)
{
    if (!a)
        return;
    /* Every post either runs or fails (and its sender frees the message),
     * so the order only decides what is still done: shards first, so their
     * last snapshots can reach the reporter loop. */
    if (a->shard_pool)
        rx_pool_stop(a->shard_pool);
    if (a->dns_pool)
        rx_pool_stop(a->dns_pool);
    if (a->rep_pool)
        rx_pool_stop(a->rep_pool);
}

void agent_free(agent_t *a)
{
    if (!a)
        return;
    agent_stop(a);
    for (unsigned i = 0; i < AGENT_SHARDS; i++)
        if (a->shards[i].agent)
            agent_shard_destroy(&a->shards[i]);
    if (a->dns.agent)
        agent_dns_destroy(&a->dns);
    agent_reporter_free(a->rep);
    rx_pool_free(a->shard_pool);
    rx_pool_free(a->dns_pool);
    rx_pool_free(a->rep_pool);
    free(a);
}

int agent_reconfigure(agent_t *a, const agent_settings_t *s)
{
    lb_config_t cfg;
    int r = 0;

    agent_settings_lb_config(s, &cfg);
    r = lb_config_check(&cfg);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < AGENT_SHARDS; i++) {
        int k = agent_shard_post_config(&a->shards[i], &cfg);
        if (k < 0)
            r = k;
    }
    return r;
}

int agent_watch(agent_t *a, lars_sd_watchdog_t *wd)
{
    static const char *const names[AGENT_SHARDS] = {"shard-0", "shard-1", "shard-2"};
    int r;

    if (!wd)
        return 0;
    for (unsigned i = 0; i < AGENT_SHARDS; i++) {
        r = lars_sd_watchdog_watch(wd, a->shards[i].loop, names[i]);
        if (r < 0)
            return r;
    }
    r = lars_sd_watchdog_watch(wd, a->dns.loop, "dns");
    if (r < 0)
        return r;
    return lars_sd_watchdog_watch(wd, rx_pool_loop(a->rep_pool, 0), "reporter");
}

/* ----------------------------------------------------------- counters -- */

/* A client's state for STATUS and SIGUSR1: the clients connect lazily, so
 * one never used is idle, not down. */
static const char *link_state(bool started, bool connected)
{
    return connected ? "connected" : started ? "disconnected" : "idle";
}

void agent_totals(agent_t *a, agent_totals_t *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (unsigned i = 0; i < AGENT_SHARDS; i++) {
        agent_shard_counters_t *c = &a->shards[i].c;
        rx_stats_snapshot_t st;

        rx_stats_read(rx_udp_server_stats(a->shards[i].udp), &st);
        ret->pairs += agent_get(c->pairs);
        ret->hosts += agent_get(c->hosts);
        ret->overloaded += agent_get(c->overloaded);
        ret->requests += agent_get(c->get_host) + agent_get(c->get_route) + agent_get(c->reports);
        ret->misrouted += agent_get(c->misrouted);
        ret->truncated += agent_get(c->truncated);
        ret->malformed += agent_get(c->undecodable) + st.frames_bad;
        ret->unknown_msgid += st.frames_unknown;
        ret->unknown_host_reports += agent_get(c->unknown_host_reports);
        ret->unknown_pair_reports += agent_get(c->unknown_pair_reports);
        ret->pairs_refused += agent_get(c->pairs_refused);
        ret->weights_capped += agent_get(c->weights_capped);
        ret->pull_retries += agent_get(c->pull_retries);
        ret->evicted_idle += agent_get(c->evicted_idle);
        ret->evicted_negative += agent_get(c->evicted_negative);
        ret->queue_drops += agent_get(c->posts_dropped);
    }
    ret->queue_drops += agent_get(a->dns.posts_dropped);
    ret->dns_state = link_state(agent_get(a->dns.started), agent_get(a->dns.connected));
    ret->reporter_state =
        link_state(agent_reporter_started(a->rep), agent_reporter_connected(a->rep));
}

void agent_status_format(const agent_totals_t *t, double rps, char *buf, size_t size)
{
    snprintf(buf, size,
             "%llu pairs, %llu hosts (%llu overloaded); lars-dns %s, lars-reporter %s; "
             "%.0f requests/s; misrouted %llu, truncated %llu, malformed %llu, unknown msgid %llu, "
             "unknown host reports %llu; pairs refused %llu, evicted idle %llu, evicted negative "
             "%llu, pull retries %llu, capped weights %llu, queue drops %llu",
             (unsigned long long)t->pairs, (unsigned long long)t->hosts,
             (unsigned long long)t->overloaded, t->dns_state, t->reporter_state, rps,
             (unsigned long long)t->misrouted, (unsigned long long)t->truncated,
             (unsigned long long)t->malformed, (unsigned long long)t->unknown_msgid,
             (unsigned long long)(t->unknown_host_reports + t->unknown_pair_reports),
             (unsigned long long)t->pairs_refused, (unsigned long long)t->evicted_idle,
             (unsigned long long)t->evicted_negative, (unsigned long long)t->pull_retries,
             (unsigned long long)t->weights_capped, (unsigned long long)t->queue_drops);
}

#define U(x) ((unsigned long long)(x))

void agent_log_counters(agent_t *a)
{
    agent_reporter_counters_t rc;
    rx_stats_snapshot_t ds;

    for (unsigned i = 0; i < AGENT_SHARDS; i++) {
        agent_shard_t *sh = &a->shards[i];
        agent_shard_counters_t *c = &sh->c;
        rx_stats_snapshot_t st;

        rx_stats_read(rx_udp_server_stats(sh->udp), &st);
        lars_log(LOG_NOTICE,
                 "shard %u (port %d): pairs %llu hosts %llu overloaded %llu; get_host %llu "
                 "get_route %llu reports %llu; misrouted %llu truncated %llu undecodable %llu "
                 "bad datagrams %llu unknown msgid %llu; unknown host reports %llu unknown pair "
                 "reports %llu pairs refused %llu; pulls %llu routes %llu; to_overload %llu "
                 "to_idle %llu window resets %llu snapshots %llu; datagrams in %llu out %llu "
                 "send failures %llu; evicted idle %llu evicted negative %llu pull retries %llu "
                 "capped weights %llu queue drops %llu",
                 i, agent_shard_port(sh), U(agent_get(c->pairs)), U(agent_get(c->hosts)),
                 U(agent_get(c->overloaded)), U(agent_get(c->get_host)), U(agent_get(c->get_route)),
                 U(agent_get(c->reports)), U(agent_get(c->misrouted)), U(agent_get(c->truncated)),
                 U(agent_get(c->undecodable)), U(st.frames_bad), U(st.frames_unknown),
                 U(agent_get(c->unknown_host_reports)), U(agent_get(c->unknown_pair_reports)),
                 U(agent_get(c->pairs_refused)), U(agent_get(c->pulls)),
                 U(agent_get(c->routes_applied)), U(agent_get(c->to_overload)),
                 U(agent_get(c->to_idle)), U(agent_get(c->window_resets)),
                 U(agent_get(c->snapshots)), U(st.dgrams_in), U(st.dgrams_out),
                 U(st.dgrams_send_failed), U(agent_get(c->evicted_idle)),
                 U(agent_get(c->evicted_negative)), U(agent_get(c->pull_retries)),
                 U(agent_get(c->weights_capped)), U(agent_get(c->posts_dropped)));
    }
    rx_stats_read(rx_tcp_client_stats(a->dns.cli), &ds);
    lars_log(LOG_NOTICE,
             "lars-dns: %s, connects %llu, connect failures %llu, requests %llu, responses %llu, "
             "bad responses %llu, send failures %llu, bad frames %llu, queue drops %llu",
             link_state(agent_get(a->dns.started), agent_get(a->dns.connected)),
             U(agent_get(a->dns.connects)), U(ds.connect_failures), U(agent_get(a->dns.requests)),
             U(agent_get(a->dns.responses)), U(agent_get(a->dns.bad_responses)),
             U(agent_get(a->dns.send_failures)), U(ds.frames_bad),
             U(agent_get(a->dns.posts_dropped)));
    agent_reporter_counters(a->rep, &rc);
    lars_log(LOG_NOTICE,
             "lars-reporter: %s, connects %llu, snapshots sent %llu, pending %llu, replaced while "
             "pending %llu, dropped %llu",
             link_state(agent_reporter_started(a->rep), agent_reporter_connected(a->rep)),
             U(rc.connects), U(rc.sent), U(rc.pending), U(rc.replaced), U(rc.dropped));
}
