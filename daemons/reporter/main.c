/*
 * lars-reporter main: the operations the shared life cycle (daemon.h) runs.
 * It collects per-node call statistics from agents (TCP 7779,
 * ID_ReportStatusRequest) into MariaDB ServerCallStatus. The network loops and writer threads live
 * in rp_reporter_t; SIGHUP applies batch_rows and batch_ms; on SIGTERM what the connections hold is
 * read and every pending row flushed before exit (docs/operations.md, Stopping).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemons/common/daemon.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"
#include "daemons/reporter/reporter.h"

#define FLUSH_TIMEOUT_MS 5000
/* A writer may block in MariaDB for a connect plus a statement timeout. */
#define WRITER_STUCK_MS 30000

typedef struct app {
    rp_settings_t settings;
    rp_reporter_t *rp;
    /* The watchdog watches rx loops; writers are plain threads, so one
     * monitor loop stalls itself while a writer is stuck. */
    rx_pool_t *monitor;
    _Atomic bool stopping;
} app_t;

static void on_monitor_timer(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    app_t *app = arg;

    while (!atomic_load(&app->stopping) && !rp_reporter_writers_alive(app->rp, WRITER_STUCK_MS))
        usleep(100 * 1000);
}

/* The socket systemd passed, or -1 to bind `listen` ourselves. */
static int take_listen_fd(lars_sd_fds_t *fds)
{
    int fd;

    if (fds->n == 0)
        return -1;
    fd = lars_sd_take_by_type(fds, SOCK_STREAM);
    if (fd < 0)
        lars_log(LOG_WARNING, "no listening stream socket among the %u passed; binding", fds->n);
    return fd < 0 ? -1 : fd;
}

static int app_start(void *arg, lars_daemon_t *d, lars_sd_fds_t *fds)
{
    app_t *app = arg;
    int r;

    lars_daemon_check_nofile(app->settings.max_conns,
                             (unsigned)(app->settings.threads + app->settings.db_threads) + 2);
    r = rp_reporter_new(&app->settings, take_listen_fd(fds), lars_daemon_loop(d), &app->rp);
    if (r < 0)
        return lars_daemon_error(r, "cannot listen on %s", app->settings.listen);
    app->monitor = rx_pool_new(1, "rp-wmon");
    if (!app->monitor ||
        !rx_timer_add(rx_pool_loop(app->monitor, 0), 1000, 1000, on_monitor_timer, app))
        return lars_daemon_error(-ENOMEM, "cannot create the writer monitor");
    r = rp_reporter_start(app->rp);
    if (r < 0)
        return lars_daemon_error(r, "cannot start the writers and network loops");
    r = rx_pool_start(app->monitor);
    if (r < 0)
        return lars_daemon_error(r, "cannot start the writer monitor");
    lars_log(LOG_INFO, "listening on port %d with %lld network loops and %lld writers",
             rp_reporter_port(app->rp), (long long)app->settings.threads,
             (long long)app->settings.db_threads);
    return 0;
}

static int app_watch(void *arg, lars_sd_watchdog_t *wd)
{
    app_t *app = arg;
    rx_pool_t *pool = rp_reporter_pool(app->rp);
    char name[32];
    int r;

    for (unsigned i = 0; i < rx_pool_size(pool); i++) {
        snprintf(name, sizeof(name), "reporter-net-%u", i);
        r = lars_sd_watchdog_watch(wd, rx_pool_loop(pool, i), name);
        if (r < 0)
            return r;
    }
    return lars_sd_watchdog_watch(wd, rx_pool_loop(app->monitor, 0), "reporter-writers");
}

static void app_status(void *arg, char *buf, size_t size)
{
    rp_reporter_status(((app_t *)arg)->rp, buf, size);
}

static int app_reload(void *arg, const void *fresh)
{
    const rp_settings_t *s = fresh;

    rp_reporter_reload(((app_t *)arg)->rp, s);
    lars_log(LOG_NOTICE, "configuration reloaded (log_level %s, batch_rows %lld, batch_ms %lld)",
             s->log_level, (long long)s->batch_rows, (long long)s->batch_ms);
    return 0;
}

static void app_dump_counters(void *arg)
{
    rp_reporter_log_counters(((app_t *)arg)->rp);
}

static void app_stop(void *arg)
{
    app_t *app = arg;

    lars_sd_notify_status("stopping: reading connections and flushing pending rows");
    atomic_store(&app->stopping, true);
    rp_reporter_stop(app->rp, FLUSH_TIMEOUT_MS);
    rp_reporter_log_counters(app->rp);
}

static void app_free(void *arg)
{
    app_t *app = arg;

    atomic_store(&app->stopping, true);
    rx_pool_free(app->monitor);
    rp_reporter_free(app->rp);
}

int main(int argc, char **argv)
{
    static app_t app;
    const lars_daemon_ops_t ops = {
        .name = "lars-reporter",
        .summary = "collects call statistics from lars-agent into MariaDB",
        .keys = rp_conf_keys,
        .nkeys = rp_conf_nkeys,
        .settings = &app.settings,
        .settings_size = sizeof(app.settings),
        .start = app_start,
        .watch = app_watch,
        .status = app_status,
        .reload = app_reload,
        .dump_counters = app_dump_counters,
        .stop = app_stop,
        .free = app_free,
    };

    return lars_daemon_main(&ops, &app, argc, argv);
}
