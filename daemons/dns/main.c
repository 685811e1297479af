/*
 * lars-dns main: command line and config (daemon.h), the socket from
 * systemd or the configured address, signals, and the systemd protocol:
 * READY=1 after the first DB load attempt, STATUS= every few seconds and on
 * changes, WATCHDOG=1 while every loop ticks, RELOADING=1 on SIGHUP,
 * STOPPING=1 on SIGTERM, counters to the journal on SIGUSR1.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemons/common/daemon.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"
#include "daemons/dns/dns.h"

#define STATUS_EVERY_MS 2000

typedef struct app {
    lars_daemon_t daemon;
    dns_settings_t settings;
    rx_loop_t *loop;
    dns_t *dns;
    lars_signals_t *signals;
    lars_sd_watchdog_t *wd;
    rx_timer_t *status_timer;
    bool ready;
} app_t;

static const lars_daemon_info_t info = {
    .name = "lars-dns",
    .summary = "Lars route service: serves modid/cmdid -> hosts from MariaDB and pushes changes",
    .keys = dns_conf_keys,
    .nkeys = 0, /* set in main: dns_conf_nkeys is not a constant expression */
};

static void send_status(app_t *a)
{
    char buf[768];

    dns_status(a->dns, buf, sizeof(buf));
    lars_sd_notify_status("%s", buf);
}

/* Main loop: the DB loop's news (see on_dns_event). */
static void dns_event_task(rx_loop_t *loop, void *arg)
{
    app_t *a = rx_loop_data(loop);
    bool first_done = arg != NULL;

    if (first_done && !a->ready) {
        char buf[768];
        a->ready = true;
        dns_status(a->dns, buf, sizeof(buf));
        lars_sd_notifyf("READY=1\nSTATUS=%s", buf);
        lars_log(LOG_NOTICE, "ready: %s", buf);
        return;
    }
    send_status(a);
}

/* DB loop thread. */
static void on_dns_event(dns_t *d, bool first_done, void *arg)
{
    app_t *a = arg;

    (void)rx_loop_post(a->loop, dns_event_task, first_done ? (void *)1 : NULL);
}

static void status_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    send_status(arg);
}

static void on_sighup(rx_loop_t *loop, int signo, void *arg)
{
    app_t *a = arg;
    dns_settings_t fresh;

    lars_sd_notify_reloading();
    lars_log(LOG_NOTICE, "reloading %s", a->daemon.config_path);
    memset(&fresh, 0, sizeof(fresh));
    if (lars_daemon_reload(&a->daemon, &fresh) < 0) {
        lars_log(LOG_ERR, "keeping the previous settings");
    } else {
        dns_reconfigure(a->dns, &fresh);
        lars_conf_free(dns_conf_keys, dns_conf_nkeys, &a->settings);
        a->settings = fresh;
    }
    lars_sd_notify_ready();
    send_status(a);
}

static void on_sigusr1(rx_loop_t *loop, int signo, void *arg)
{
    dns_log_counters(((app_t *)arg)->dns);
}

static int take_listen_fd(void)
{
    lars_sd_fds_t fds;
    int fd, err;

    err = lars_sd_listen_fds(&fds);
    if (err < 0) {
        lars_log(LOG_ERR, "cannot read the sockets passed by systemd: %s", strerror(-err));
        return err;
    }
    fd = lars_sd_take_by_type(&fds, SOCK_STREAM);
    if (lars_sd_fds_left(&fds) > 0)
        lars_log(LOG_WARNING, "ignoring %u extra sockets passed by systemd",
                 lars_sd_fds_left(&fds));
    lars_sd_fds_free(&fds);
    if (fd >= 0)
        lars_log(LOG_INFO, "using the listening socket passed by systemd (port %d)",
                 lars_sd_socket_port(fd));
    return fd >= 0 ? fd : -1;
}

static int setup(app_t *a)
{
    int fd, err;

    a->loop = rx_loop_new();
    if (!a->loop)
        return -ENOMEM;
    rx_loop_set_data(a->loop, a);
    err = lars_signals_new(a->loop, &a->signals);
    if (err < 0)
        return err;
    lars_signals_on(a->signals, SIGHUP, on_sighup, a);
    lars_signals_on(a->signals, SIGUSR1, on_sigusr1, a);
    fd = take_listen_fd();
    err = dns_new(&a->settings, a->loop, fd, on_dns_event, a, &a->dns);
    if (err < 0) {
        lars_log(LOG_ERR, "cannot listen on %s: %s",
                 fd >= 0 ? "the socket from systemd" : a->settings.listen, strerror(-err));
        return err;
    }
    err = lars_sd_watchdog_new(a->loop, &a->wd);
    if (err < 0)
        return err;
    err = dns_watch(a->dns, a->wd);
    if (err < 0)
        return err;
    a->status_timer = rx_timer_add(a->loop, STATUS_EVERY_MS, STATUS_EVERY_MS, status_timer, a);
    if (!a->status_timer)
        return -ENOMEM;
    err = dns_start(a->dns);
    if (err < 0)
        return err;
    lars_log(LOG_INFO, "listening on port %d with %lld workers", dns_port(a->dns),
             (long long)a->settings.threads);
    return 0;
}

static void teardown(app_t *a)
{
    dns_stop(a->dns);
    dns_free(a->dns);
    if (a->loop) {
        rx_timer_free(a->status_timer);
        lars_sd_watchdog_free(a->wd);
        lars_signals_free(a->signals);
    }
    rx_loop_free(a->loop);
    lars_conf_free(dns_conf_keys, dns_conf_nkeys, &a->settings);
    rx_buf_pool_trim();
}

int main(int argc, char **argv)
{
    lars_daemon_info_t inf = info;
    app_t a;
    int status = 0, err;

    memset(&a, 0, sizeof(a));
    inf.nkeys = dns_conf_nkeys;
    if (!lars_daemon_init(&a.daemon, &inf, argc, argv, &a.settings, &status))
        return status;
    err = setup(&a);
    if (err < 0) {
        lars_log(LOG_ERR, "cannot start: %s", strerror(-err));
        teardown(&a);
        return EXIT_FAILURE;
    }
    err = rx_loop_run(a.loop);
    lars_sd_notify_stopping();
    lars_log(LOG_NOTICE, "stopping");
    teardown(&a);
    if (err < 0) {
        lars_log(LOG_ERR, "main loop failed: %s", strerror(-err));
        return EXIT_FAILURE;
    }
    lars_log(LOG_INFO, "stopped");
    return 0;
}
