/*
 * lars-dns main: the operations the shared life cycle (daemon.h) runs.
 * READY=1 waits for the first DB load attempt; the DB loop's news become
 * STATUS= lines; SIGHUP applies the poll, reload and retention settings.
 */
#include <stdlib.h>
#include <sys/socket.h>

#include "daemons/common/daemon.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"
#include "daemons/dns/dns.h"

typedef struct app {
    dns_settings_t settings;
    lars_daemon_t *daemon;
    dns_t *dns;
    bool ready;
} app_t;

/* Main loop: something worth a STATUS= line changed. */
static void status_task(rx_loop_t *loop, void *arg)
{
    app_t *a = arg;

    lars_daemon_notify_status(a->daemon);
}

/* Main loop: the same after the first DB load attempt, which makes us ready. */
static void loaded_task(rx_loop_t *loop, void *arg)
{
    app_t *a = arg;
    char buf[768];

    if (a->ready) {
        status_task(loop, a);
        return;
    }
    a->ready = true;
    lars_daemon_ready(a->daemon);
    dns_status(a->dns, buf, sizeof(buf));
    lars_log(LOG_NOTICE, "ready: %s", buf);
}

/* DB loop thread. A failed post means the main loop has stopped. */
static void on_dns_event(dns_t *d, bool first_done, void *arg)
{
    app_t *a = arg;

    (void)rx_loop_post(lars_daemon_loop(a->daemon), first_done ? loaded_task : status_task, a);
}

static int take_listen_fd(lars_sd_fds_t *fds)
{
    int fd = lars_sd_take_by_type(fds, SOCK_STREAM);

    if (fd < 0)
        return -1;
    lars_log(LOG_INFO, "using the listening socket passed by systemd (port %d)",
             lars_sd_socket_port(fd));
    return fd;
}

static int app_start(void *arg, lars_daemon_t *d, lars_sd_fds_t *fds)
{
    app_t *a = arg;
    int fd = take_listen_fd(fds), r;

    a->daemon = d;
    lars_daemon_check_nofile(a->settings.max_conns, (unsigned)a->settings.threads + 2);
    r = dns_new(&a->settings, lars_daemon_loop(d), fd, on_dns_event, a, &a->dns);
    if (r < 0)
        return lars_daemon_error(r, "cannot listen on %s",
                                 fd >= 0 ? "the socket from systemd" : a->settings.listen);
    r = dns_start(a->dns);
    if (r < 0)
        return lars_daemon_error(r, "cannot start the worker and DB loops");
    lars_log(LOG_INFO, "listening on port %d with %lld workers", dns_port(a->dns),
             (long long)a->settings.threads);
    return 0;
}

static int app_watch(void *arg, lars_sd_watchdog_t *wd)
{
    return dns_watch(((app_t *)arg)->dns, wd);
}

static void app_status(void *arg, char *buf, size_t size)
{
    dns_status(((app_t *)arg)->dns, buf, size);
}

static int app_reload(void *arg, const void *fresh)
{
    dns_reconfigure(((app_t *)arg)->dns, fresh);
    return 0;
}

static void app_dump_counters(void *arg)
{
    dns_log_counters(((app_t *)arg)->dns);
}

static void app_free(void *arg)
{
    dns_free(((app_t *)arg)->dns);
}

int main(int argc, char **argv)
{
    static app_t app;
    const lars_daemon_ops_t ops = {
        .name = "lars-dns",
        .summary =
            "Lars route service: serves modid/cmdid -> hosts from MariaDB and pushes changes",
        .keys = dns_conf_keys,
        .nkeys = dns_conf_nkeys,
        .settings = &app.settings,
        .settings_size = sizeof(app.settings),
        .ready_later = true,
        .start = app_start,
        .watch = app_watch,
        .status = app_status,
        .reload = app_reload,
        .dump_counters = app_dump_counters,
        .free = app_free,
    };

    return lars_daemon_main(&ops, &app, argc, argv);
}
