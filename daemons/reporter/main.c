/*
 * lars-reporter: collects per-node call statistics from agents (TCP 7779,
 * ID_ReportStatusRequest) into MariaDB ServerCallStatus.
 *
 *   lars-reporter [-c FILE] [--check-config] [--version] [--help]
 *
 * The main thread runs a loop for signals, the STATUS= line and the watchdog;
 * the network loops and writer threads live in rp_reporter_t.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemons/common/daemon.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"
#include "daemons/reporter/reporter.h"

#define STATUS_INTERVAL_MS 2000
#define FLUSH_TIMEOUT_MS   5000
/* A writer may block in MariaDB for a connect plus a statement timeout. */
#define WRITER_STUCK_MS 30000

/* nkeys is set in main(): the table's size is not a constant here. */
static lars_daemon_info_t info = {
    .name = "lars-reporter",
    .summary = "collects call statistics from lars-agent into MariaDB",
    .keys = rp_conf_keys,
};

typedef struct app {
    lars_daemon_t daemon;
    rp_settings_t settings;
    rx_loop_t *loop;
    rp_reporter_t *rp;
    /* The watchdog watches rx loops; writers are plain threads, so one
     * monitor loop stalls itself while a writer is stuck. */
    rx_pool_t *monitor;
    _Atomic bool stopping;
} app_t;

static void app_status(app_t *app)
{
    char line[1024];

    rp_reporter_status(app->rp, line, sizeof(line));
    lars_sd_notify_status("%s", line);
}

static void on_status_timer(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    app_status(arg);
}

static void on_monitor_timer(rx_loop_t *loop, rx_timer_t *t, void *arg)
{
    app_t *app = arg;

    while (!atomic_load(&app->stopping) && !rp_reporter_writers_alive(app->rp, WRITER_STUCK_MS))
        usleep(100 * 1000);
}

static void on_sighup(rx_loop_t *loop, int signo, void *arg)
{
    app_t *app = arg;
    rp_settings_t fresh;

    lars_sd_notify_reloading();
    memset(&fresh, 0, sizeof(fresh));
    if (lars_daemon_reload(&app->daemon, &fresh) == 0) {
        rp_reporter_reload(app->rp, &fresh);
        lars_conf_free(info.keys, info.nkeys, &app->settings);
        app->settings = fresh;
        lars_log(LOG_NOTICE,
                 "configuration reloaded (log_level %s, batch_rows %lld, batch_ms %lld)",
                 app->settings.log_level, (long long)app->settings.batch_rows,
                 (long long)app->settings.batch_ms);
    } else {
        lars_conf_free(info.keys, info.nkeys, &fresh);
        lars_log(LOG_ERR, "reload failed, keeping the previous configuration");
    }
    lars_sd_notify_ready();
    app_status(app);
}

static void on_sigusr1(rx_loop_t *loop, int signo, void *arg)
{
    app_t *app = arg;

    rp_reporter_log_counters(app->rp);
}

/* The socket systemd passed, or -1 to bind `listen` ourselves. */
static int take_listen_fd(void)
{
    lars_sd_fds_t fds;
    int fd = -1;

    if (lars_sd_listen_fds(&fds) < 0)
        return -1;
    if (fds.n > 0) {
        fd = lars_sd_take_by_type(&fds, SOCK_STREAM);
        if (fd < 0)
            lars_log(LOG_WARNING, "no listening stream socket among the %u passed; binding", fds.n);
    }
    lars_sd_fds_free(&fds);
    return fd < 0 ? -1 : fd;
}

static int app_watchdog(app_t *app, lars_sd_watchdog_t **ret_wd)
{
    lars_sd_watchdog_t *wd = NULL;
    rx_pool_t *pool = rp_reporter_pool(app->rp);
    char name[32];
    int r;

    *ret_wd = NULL;
    r = lars_sd_watchdog_new(app->loop, &wd);
    if (r < 0 || !wd)
        return r;
    for (unsigned i = 0; i < rx_pool_size(pool); i++) {
        snprintf(name, sizeof(name), "reporter-net-%u", i);
        lars_sd_watchdog_watch(wd, rx_pool_loop(pool, i), name);
    }
    lars_sd_watchdog_watch(wd, rx_pool_loop(app->monitor, 0), "reporter-writers");
    *ret_wd = wd;
    return 0;
}

static int app_run(app_t *app)
{
    lars_signals_t *sig = NULL;
    lars_sd_watchdog_t *wd = NULL;
    rx_timer_t *status_timer = NULL;
    int r;

    app->loop = rx_loop_new();
    if (!app->loop)
        return -ENOMEM;
    r = lars_signals_new(app->loop, &sig); /* before any thread starts */
    if (r < 0)
        goto out_loop;
    lars_signals_on(sig, SIGHUP, on_sighup, app);
    lars_signals_on(sig, SIGUSR1, on_sigusr1, app);

    r = rp_reporter_new(&app->settings, take_listen_fd(), app->loop, &app->rp);
    if (r < 0) {
        lars_log(LOG_ERR, "cannot listen on %s: %s", app->settings.listen, strerror(-r));
        goto out_signals;
    }
    app->monitor = rx_pool_new(1, "rp-wmon");
    if (!app->monitor ||
        !rx_timer_add(rx_pool_loop(app->monitor, 0), 1000, 1000, on_monitor_timer, app)) {
        r = -ENOMEM;
        goto out_reporter;
    }
    r = rp_reporter_start(app->rp);
    if (r < 0) {
        lars_log(LOG_ERR, "cannot start: %s", strerror(-r));
        goto out_reporter;
    }
    r = rx_pool_start(app->monitor);
    if (r < 0)
        goto out_reporter;
    app_watchdog(app, &wd);
    status_timer =
        rx_timer_add(app->loop, STATUS_INTERVAL_MS, STATUS_INTERVAL_MS, on_status_timer, app);

    lars_log(LOG_INFO, "listening on port %d with %lld network loops and %lld writers",
             rp_reporter_port(app->rp), (long long)app->settings.threads,
             (long long)app->settings.db_threads);
    lars_sd_notify_ready();
    app_status(app);
    r = rx_loop_run(app->loop);

    lars_sd_notify_stopping();
    lars_sd_notify_status("stopping: reading connections and flushing pending rows");
    atomic_store(&app->stopping, true);
    rp_reporter_stop(app->rp, FLUSH_TIMEOUT_MS);
    rp_reporter_log_counters(app->rp);

    rx_timer_free(status_timer);
    lars_sd_watchdog_free(wd);
out_reporter:
    atomic_store(&app->stopping, true);
    rx_pool_free(app->monitor);
    rp_reporter_free(app->rp);
out_signals:
    lars_signals_free(sig);
out_loop:
    rx_loop_free(app->loop);
    return r;
}

int main(int argc, char **argv)
{
    app_t app = {0};
    int status;

    info.nkeys = rp_conf_nkeys;
    if (!lars_daemon_init(&app.daemon, &info, argc, argv, &app.settings, &status))
        return status;
    status = app_run(&app) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
    lars_conf_free(info.keys, info.nkeys, &app.settings);
    return status;
}
