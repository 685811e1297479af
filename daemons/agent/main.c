/*
 * lars-agent main: command line and config (daemon.h), the three shard
 * sockets from systemd (matched by port base_port + i, else by the names
 * shard0..shard2) or bound from the config, signals, and the systemd
 * protocol: READY=1 once the sockets are open, STATUS= every few seconds,
 * WATCHDOG=1 while all five loops tick, RELOADING=1 on SIGHUP, STOPPING=1
 * on SIGTERM, counters to the journal on SIGUSR1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemons/agent/agent.h"
#include "daemons/common/daemon.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"

#define STATUS_EVERY_MS 2000

typedef struct app {
    lars_daemon_t daemon;
    agent_settings_t settings;
    rx_loop_t *loop;
    agent_t *agent;
    lars_signals_t *signals;
    lars_sd_watchdog_t *wd;
    rx_timer_t *status_timer;
    uint64_t last_requests, last_status_ms;
} app_t;

static void status_text(app_t *a, char *buf, size_t size)
{
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

static void status_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    char buf[512];

    status_text(arg, buf, sizeof(buf));
    lars_sd_notify_status("%s", buf);
}

static void on_sighup(rx_loop_t *loop, int signo, void *arg)
{
    app_t *a = arg;
    agent_settings_t fresh;
    int r;

    lars_sd_notify_reloading();
    lars_log(LOG_NOTICE, "reloading %s", a->daemon.config_path);
    memset(&fresh, 0, sizeof(fresh));
    if (lars_daemon_reload(&a->daemon, &fresh) < 0) {
        lars_log(LOG_ERR, "keeping the previous settings");
    } else if ((r = agent_reconfigure(a->agent, &fresh)) < 0) {
        lars_log(LOG_ERR, "cannot apply the new loadbalance settings: %s", strerror(-r));
        lars_conf_free(agent_conf_keys, agent_conf_nkeys, &fresh);
    } else {
        lars_conf_free(agent_conf_keys, agent_conf_nkeys, &a->settings);
        a->settings = fresh;
        lars_log(LOG_INFO, "loadbalance settings applied to every shard");
    }
    lars_sd_notify_ready();
    status_timer(loop, NULL, a);
}

static void on_sigusr1(rx_loop_t *loop, int signo, void *arg)
{
    agent_log_counters(((app_t *)arg)->agent);
}

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
static int take_shard_fds(const agent_settings_t *s, int fds[AGENT_SHARDS])
{
    lars_sd_fds_t sd;
    int r;

    for (unsigned i = 0; i < AGENT_SHARDS; i++)
        fds[i] = -1;
    r = lars_sd_listen_fds(&sd);
    if (r < 0) {
        lars_log(LOG_ERR, "cannot read the sockets passed by systemd: %s", strerror(-r));
        return r;
    }
    for (unsigned i = 0; i < AGENT_SHARDS && sd.n > 0; i++)
        fds[i] = lars_sd_take_by_port(&sd, SOCK_DGRAM, (uint16_t)(s->base_port + i));
    for (unsigned i = 0; i < AGENT_SHARDS && sd.n > 0; i++) {
        char name[16];
        if (fds[i] >= 0)
            continue;
        snprintf(name, sizeof(name), "shard%u", i);
        fds[i] = lars_sd_take_by_name(&sd, name, SOCK_DGRAM);
    }
    if (fds[0] < 0 && fds[1] < 0 && fds[2] < 0 && sd.n > 0)
        take_shard_fds_in_port_order(s, &sd, fds);
    for (unsigned i = 0; i < AGENT_SHARDS; i++) {
        if (fds[i] >= 0)
            lars_log(LOG_INFO, "shard %u: socket from systemd (port %d)", i,
                     lars_sd_socket_port(fds[i]));
        else if (sd.n > 0)
            lars_log(LOG_WARNING,
                     "shard %u: no socket from systemd on port %lld or named "
                     "shard%u; binding %s:%lld",
                     i, (long long)s->base_port + i, i, s->listen_host,
                     (long long)s->base_port + i);
    }
    if (lars_sd_fds_left(&sd) > 0)
        lars_log(LOG_WARNING, "ignoring %u extra sockets passed by systemd", lars_sd_fds_left(&sd));
    lars_sd_fds_free(&sd);
    return 0;
}

static int setup(app_t *a)
{
    int fds[AGENT_SHARDS], r;
    char buf[512];

    a->loop = rx_loop_new();
    if (!a->loop)
        return -ENOMEM;
    rx_loop_set_data(a->loop, a);
    r = lars_signals_new(a->loop, &a->signals);
    if (r < 0)
        return r;
    lars_signals_on(a->signals, SIGHUP, on_sighup, a);
    lars_signals_on(a->signals, SIGUSR1, on_sigusr1, a);
    r = take_shard_fds(&a->settings, fds);
    if (r < 0)
        return r;
    r = agent_new(&a->settings, fds, &a->agent);
    if (r < 0) {
        lars_log(LOG_ERR, "cannot open the shard sockets on %s:%lld..%lld: %s",
                 a->settings.listen_host, (long long)a->settings.base_port,
                 (long long)a->settings.base_port + AGENT_SHARDS - 1, strerror(-r));
        return r;
    }
    r = lars_sd_watchdog_new(a->loop, &a->wd);
    if (r < 0)
        return r;
    r = agent_watch(a->agent, a->wd);
    if (r < 0)
        return r;
    a->status_timer = rx_timer_add(a->loop, STATUS_EVERY_MS, STATUS_EVERY_MS, status_timer, a);
    if (!a->status_timer)
        return -ENOMEM;
    r = agent_start(a->agent);
    if (r < 0)
        return r;
    lars_log(LOG_NOTICE, "serving on ports %d, %d, %d; caller ip %u.%u.%u.%u",
             agent_shard_port(&a->agent->shards[0]), agent_shard_port(&a->agent->shards[1]),
             agent_shard_port(&a->agent->shards[2]), a->agent->caller_ip >> 24,
             (a->agent->caller_ip >> 16) & 255, (a->agent->caller_ip >> 8) & 255,
             a->agent->caller_ip & 255);
    status_text(a, buf, sizeof(buf));
    lars_sd_notifyf("READY=1\nSTATUS=%s", buf);
    return 0;
}

static void teardown(app_t *a)
{
    if (a->loop) {
        rx_timer_free(a->status_timer);
        lars_sd_watchdog_free(a->wd);
        lars_signals_free(a->signals);
    }
    agent_free(a->agent);
    rx_loop_free(a->loop);
    lars_conf_free(agent_conf_keys, agent_conf_nkeys, &a->settings);
    rx_buf_pool_trim();
}

int main(int argc, char **argv)
{
    static const lars_daemon_info_t info_tmpl = {
        .name = "lars-agent",
        .summary = "Lars agent: answers applications over UDP, balances load, caches routes",
        .keys = agent_conf_keys,
    };
    lars_daemon_info_t info = info_tmpl;
    app_t a;
    int status = 0, r;

    memset(&a, 0, sizeof(a));
    info.nkeys = agent_conf_nkeys;
    if (!lars_daemon_init(&a.daemon, &info, argc, argv, &a.settings, &status))
        return status;
    r = setup(&a);
    if (r < 0) {
        lars_log(LOG_ERR, "cannot start: %s", strerror(-r));
        teardown(&a);
        return EXIT_FAILURE;
    }
    r = rx_loop_run(a.loop);
    lars_sd_notify_stopping();
    lars_log(LOG_NOTICE, "stopping");
    teardown(&a);
    if (r < 0) {
        lars_log(LOG_ERR, "main loop failed: %s", strerror(-r));
        return EXIT_FAILURE;
    }
    lars_log(LOG_INFO, "stopped");
    return 0;
}
