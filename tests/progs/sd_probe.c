/*
 * sd_probe: a tiny daemon on the shared life cycle (daemons/common/daemon.h),
 * for tests of the skeleton, socket activation, notifications, signals and
 * the watchdog.
 *
 * At start it describes the sockets it was given in one STATUS= line
 * ("fds=N name/type/port ..."), then takes sockets as $PROBE_TAKE asks
 * (comma-separated "name:NAME", "port:udp:PORT", "type:tcp"; the results go
 * into a second STATUS= line "take ... -> fd ..."), then READY=1 with
 * STATUS=<status_text> reloads=<N>. Worker loops (config `threads`) run on
 * their own threads under the watchdog. Signals: SIGHUP reloads the config
 * (RELOADING=1 ... READY=1), SIGUSR1 (the daemons' counters signal) makes the
 * last worker sleep `stuck_ms` in a handler, SIGUSR2 logs one line per level,
 * SIGTERM stops (STOPPING=1, exit 0).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "daemons/common/conf.h"
#include "daemons/common/daemon.h"
#include "daemons/common/log.h"
#include "daemons/common/sd.h"
#include "libreactor/reactor.h"

#define MAX_WORKERS 8

typedef struct settings {
    char *log_level;
    int64_t threads;
    int64_t stuck_ms;
    char *status_text;
} settings_t;

static const lars_conf_key_t keys[] = {
    LARS_CONF_LOG_LEVEL_KEY(settings_t, log_level),
    LARS_CONF_INT_KEY("threads", settings_t, threads, 2, 1, MAX_WORKERS, "worker loops"),
    LARS_CONF_INT_KEY("stuck_ms", settings_t, stuck_ms, 6000, 1, 600000,
                      "how long SIGUSR1 blocks the last worker"),
    LARS_CONF_STRING_KEY("status_text", settings_t, status_text, "probe", "shown in STATUS="),
};

typedef struct probe {
    settings_t settings;
    rx_loop_t *workers[MAX_WORKERS];
    pthread_t threads[MAX_WORKERS];
    unsigned nworkers;
    unsigned reloads;
} probe_t;

static const char *type_name(int fd)
{
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) > 0)
        return "tcp";
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0)
        return "udp";
    return "other";
}

static void describe_fds(const lars_sd_fds_t *fds)
{
    char buf[900];
    int n = snprintf(buf, sizeof(buf), "fds=%u", fds->n);

    for (unsigned i = 0; i < fds->n && n < (int)sizeof(buf); i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s/%s/%d", fds->name[i],
                      type_name(fds->fd[i]), lars_sd_socket_port(fds->fd[i]));
    lars_sd_notify_status("%s", buf);
}

static int take_one(lars_sd_fds_t *fds, const char *what)
{
    unsigned port;

    if (strncmp(what, "name:", 5) == 0)
        return lars_sd_take_by_name(fds, what + 5, 0);
    if (sscanf(what, "port:udp:%u", &port) == 1)
        return lars_sd_take_by_port(fds, SOCK_DGRAM, (uint16_t)port);
    if (sscanf(what, "port:tcp:%u", &port) == 1)
        return lars_sd_take_by_port(fds, SOCK_STREAM, (uint16_t)port);
    if (strcmp(what, "type:tcp") == 0)
        return lars_sd_take_by_type(fds, SOCK_STREAM);
    if (strcmp(what, "type:udp") == 0)
        return lars_sd_take_by_type(fds, SOCK_DGRAM);
    return -EINVAL;
}

/* Takes what $PROBE_TAKE lists; reports "take A->fd B->fd ... left=N". */
static void take_fds(lars_sd_fds_t *fds)
{
    const char *spec = getenv("PROBE_TAKE");
    char list[512], buf[900], *save = NULL;
    int n;

    if (!spec)
        return;
    snprintf(list, sizeof(list), "%s", spec);
    n = snprintf(buf, sizeof(buf), "take");
    for (char *w = strtok_r(list, ",", &save); w && n < (int)sizeof(buf);
         w = strtok_r(NULL, ",", &save)) {
        int fd = take_one(fds, w);

        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s->%d", w, fd);
        if (fd >= 0)
            close(fd);
    }
    if (n < (int)sizeof(buf))
        snprintf(buf + n, sizeof(buf) - (size_t)n, " left=%u", lars_sd_fds_left(fds));
    lars_sd_notify_status("%s", buf);
}

static void *worker_main(void *arg)
{
    rx_loop_run(arg);
    return NULL;
}

static void worker_sleep(rx_loop_t *loop, void *arg)
{
    probe_t *p = arg;
    int64_t left = p->settings.stuck_ms;

    lars_log(LOG_NOTICE, "worker %u stuck for %lld ms", p->nworkers - 1, (long long)left);
    while (left > 0) {
        usleep((useconds_t)(left > 100 ? 100 : left) * 1000);
        left -= 100;
    }
    lars_log(LOG_NOTICE, "worker recovered");
}

static void probe_stick_worker(void *arg)
{
    probe_t *p = arg;

    rx_loop_post(p->workers[p->nworkers - 1], worker_sleep, p);
}

static void on_usr2(rx_loop_t *loop, int signo, void *arg)
{
    lars_log(LOG_DEBUG, "probe debug line");
    lars_log(LOG_INFO, "probe info line");
    lars_log_pair(LOG_WARNING, 1, 2, "probe warning line");
}

static int probe_reload(void *arg, const void *fresh)
{
    ((probe_t *)arg)->reloads++;
    return 0;
}

static void probe_status(void *arg, char *buf, size_t size)
{
    probe_t *p = arg;

    snprintf(buf, size, "%s reloads=%u", p->settings.status_text, p->reloads);
}

static int probe_start(void *arg, lars_daemon_t *d, lars_sd_fds_t *fds)
{
    probe_t *p = arg;

    describe_fds(fds);
    take_fds(fds);
    lars_signals_on(lars_daemon_signals(d), SIGUSR2, on_usr2, p);
    for (unsigned i = 0; i < (unsigned)p->settings.threads; i++) {
        p->workers[i] = rx_loop_new();
        if (!p->workers[i])
            return lars_daemon_error(-ENOMEM, "cannot create worker %u", i);
        p->nworkers = i + 1;
        if (pthread_create(&p->threads[i], NULL, worker_main, p->workers[i]) != 0) {
            rx_loop_free(p->workers[i]);
            p->nworkers = i;
            return lars_daemon_error(-EAGAIN, "cannot start worker %u", i);
        }
    }
    return 0;
}

static int probe_watch(void *arg, lars_sd_watchdog_t *wd)
{
    probe_t *p = arg;
    char name[32];
    int r;

    for (unsigned i = 0; i < p->nworkers; i++) {
        snprintf(name, sizeof(name), "worker-%u", i);
        r = lars_sd_watchdog_watch(wd, p->workers[i], name);
        if (r < 0)
            return r;
    }
    lars_log(LOG_INFO, "watchdog threshold %llu ms",
             (unsigned long long)lars_sd_watchdog_threshold_ms(wd));
    return 0;
}

static void probe_free(void *arg)
{
    probe_t *p = arg;

    for (unsigned i = 0; i < p->nworkers; i++) {
        rx_loop_stop(p->workers[i]);
        pthread_join(p->threads[i], NULL);
        rx_loop_free(p->workers[i]);
    }
}

int main(int argc, char **argv)
{
    static probe_t p;
    const lars_daemon_ops_t ops = {
        .name = "sd-probe",
        .summary = "Test probe for the daemon plumbing.",
        .keys = keys,
        .nkeys = LARS_CONF_NKEYS(keys),
        .settings = &p.settings,
        .settings_size = sizeof(p.settings),
        .start = probe_start,
        .watch = probe_watch,
        .status = probe_status,
        .reload = probe_reload,
        .dump_counters = probe_stick_worker,
        .free = probe_free,
    };

    return lars_daemon_main(&ops, &p, argc, argv);
}
