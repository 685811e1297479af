/*
 * lars-agent main: the operations the shared life cycle (daemon.h) runs.
 * The three shard sockets come from systemd (matched by port base_port + i,
 * else by the names shard0..shard2) or are bound from the config; READY=1
 * follows once they are open; the watchdog watches all five loops; SIGHUP
 * applies new loadbalance settings to every shard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemons/agent/agent.h"
#include "daemons/common/daemon.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"

typedef struct app {
    agent_settings_t settings;
    agent_t *agent;
    uint64_t last_requests, last_status_ms;
} app_t;

/* A socket unit whose ports an operator changed (a drop-in) without
 * changing base_port: when exactly three datagram sockets came and none
 * matched, they serve shards 0..2 in the order of their ports. */
static void take_shard_fds_in_port_order(const agent_settings_t *s, lars_sd_fds_t *sd,
                                         int fds[AGENT_SHARDS])
{
    int got[AGENT_SHARDS + 1], n = 0;

    while (n < AGENT_SHARDS + 1 && (got[n] = lars_sd_take_by_type(sd, SOCK_DGRAM)) >= 0)
        n++;
    if (n != AGENT_SHARDS) {
        for (int i = 0; i < n; i++)
            close(got[i]);
        return;
    }
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && lars_sd_socket_port(got[k]) < lars_sd_socket_port(got[k - 1]);
             k--) {
            int t = got[k];
            got[k] = got[k - 1];
            got[k - 1] = t;
        }
    for (int i = 0; i < n; i++)
        fds[i] = got[i];
    lars_log(LOG_NOTICE,
             "the three sockets from systemd are on ports %d, %d, %d, not base_port %lld..%lld; "
             "they serve shards 0..2 in that order (applications must use base port %d)",
             lars_sd_socket_port(got[0]), lars_sd_socket_port(got[1]), lars_sd_socket_port(got[2]),
             (long long)s->base_port, (long long)s->base_port + AGENT_SHARDS - 1,
             lars_sd_socket_port(got[0]));
}

/* fds[i] for shard i: the datagram socket bound to base_port + i, else the
 * one named shard<i>, else (none of them found) three datagram sockets in
 * the order of their ports, else -1 (bound from the config). */
static void take_shard_fds(const agent_settings_t *s, lars_sd_fds_t *sd, int fds[AGENT_SHARDS])
{
    for (unsigned i = 0; i < AGENT_SHARDS; i++)
        fds[i] = -1;
    for (unsigned i = 0; i < AGENT_SHARDS && sd->n > 0; i++)
        fds[i] = lars_sd_take_by_port(sd, SOCK_DGRAM, (uint16_t)(s->base_port + i));
    for (unsigned i = 0; i < AGENT_SHARDS && sd->n > 0; i++) {
        char name[16];
        if (fds[i] >= 0)
            continue;
        snprintf(name, sizeof(name), "shard%u", i);
        fds[i] = lars_sd_take_by_name(sd, name, SOCK_DGRAM);
    }
    if (fds[0] < 0 && fds[1] < 0 && fds[2] < 0 && sd->n > 0)
        take_shard_fds_in_port_order(s, sd, fds);
    for (unsigned i = 0; i < AGENT_SHARDS; i++) {
        if (fds[i] >= 0)
            lars_log(LOG_INFO, "shard %u: socket from systemd (port %d)", i,
                     lars_sd_socket_port(fds[i]));
        else if (sd->n > 0)
            lars_log(LOG_WARNING,
                     "shard %u: no socket from systemd on port %lld or named "
                     "shard%u; binding %s:%lld",
                     i, (long long)s->base_port + i, i, s->listen_host,
                     (long long)s->base_port + i);
    }
}

static int app_start(void *arg, lars_daemon_t *d, lars_sd_fds_t *sd)
{
    app_t *a = arg;
    const agent_settings_t *s = &a->settings;
    uint32_t ip;
    int fds[AGENT_SHARDS], r;

    take_shard_fds(s, sd, fds);
    r = agent_new(s, fds, &a->agent);
    if (r < 0)
        return lars_daemon_error(r, "cannot open the shard sockets on %s:%lld..%lld",
                                 s->listen_host, (long long)s->base_port,
                                 (long long)s->base_port + AGENT_SHARDS - 1);
    r = agent_start(a->agent);
    if (r < 0)
        return lars_daemon_error(r, "cannot start the shard, lars-dns and lars-reporter loops");
    ip = a->agent->caller_ip;
    lars_log(LOG_NOTICE, "serving on ports %d, %d, %d; caller ip %u.%u.%u.%u",
             agent_shard_port(&a->agent->shards[0]), agent_shard_port(&a->agent->shards[1]),
             agent_shard_port(&a->agent->shards[2]), ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
             ip & 255);
    return 0;
}

static int app_watch(void *arg, lars_sd_watchdog_t *wd)
{
    return agent_watch(((app_t *)arg)->agent, wd);
}

/* With the request rate since the previous line. */
static void app_status(void *arg, char *buf, size_t size)
{
    app_t *a = arg;
    agent_totals_t t;
    uint64_t now = rx_time_ms();
    double rps = 0;

    agent_totals(a->agent, &t);
    if (a->last_status_ms && now > a->last_status_ms)
        rps = (double)(t.requests - a->last_requests) * 1000.0 / (double)(now - a->last_status_ms);
    a->last_requests = t.requests;
    a->last_status_ms = now;
    agent_status_format(&t, rps, buf, size);
}

static int app_reload(void *arg, const void *fresh)
{
    int r = agent_reconfigure(((app_t *)arg)->agent, fresh);

    if (r < 0) {
        lars_log(LOG_ERR,
                 "cannot apply the new loadbalance settings: %s; keeping the previous "
                 "settings",
                 strerror(-r));
        return r;
    }
    lars_log(LOG_INFO, "loadbalance settings applied to every shard");
    return 0;
}

static void app_dump_counters(void *arg)
{
    agent_log_counters(((app_t *)arg)->agent);
}

static void app_free(void *arg)
{
    agent_free(((app_t *)arg)->agent);
}

int main(int argc, char **argv)
{
    static app_t app;
    const lars_daemon_ops_t ops = {
        .name = "lars-agent",
        .summary = "Lars agent: answers applications over UDP, balances load, caches routes",
        .keys = agent_conf_keys,
        .nkeys = agent_conf_nkeys,
        .settings = &app.settings,
        .settings_size = sizeof(app.settings),
        .start = app_start,
        .watch = app_watch,
        .status = app_status,
        .reload = app_reload,
        .dump_counters = app_dump_counters,
        .free = app_free,
    };

    return lars_daemon_main(&ops, &app, argc, argv);
}
