/*
 * systemd glue (see sd.h). Socket activation and sd_notify are thin
 * wrappers on libsystemd; the watchdog is a timer on the main loop reading
 * the other loops' tick times, so a worker stuck in a handler (which cannot
 * run a timer of its own) is noticed from outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemons/common/log.h"
#include "daemons/common/sd.h"

/* ------------------------------------------------- socket activation -- */

int lars_sd_listen_fds(lars_sd_fds_t *ret)
{
    char **names = NULL;
    int n;

    *ret = (lars_sd_fds_t){0};
    n = sd_listen_fds_with_names(1, &names);
    if (n <= 0)
        return n;
    ret->fd = calloc((size_t)n, sizeof(*ret->fd));
    ret->name = names;
    if (!ret->fd) {
        for (int i = 0; i < n; i++)
            close(SD_LISTEN_FDS_START + i);
        for (int i = 0; names && names[i]; i++)
            free(names[i]);
        free(names);
        ret->name = NULL;
        return -ENOMEM;
    }
    ret->n = (unsigned)n;
    for (int i = 0; i < n; i++) {
        ret->fd[i] = SD_LISTEN_FDS_START + i;
        fcntl(ret->fd[i], F_SETFD, FD_CLOEXEC);
    }
    return n;
}

void lars_sd_fds_free(lars_sd_fds_t *fds)
{
    if (!fds)
        return;
    for (unsigned i = 0; i < fds->n; i++) {
        if (fds->fd[i] >= 0)
            close(fds->fd[i]);
        if (fds->name)
            free(fds->name[i]);
    }
    free(fds->fd);
    free(fds->name);
    *fds = (lars_sd_fds_t){0};
}

unsigned lars_sd_fds_left(const lars_sd_fds_t *fds)
{
    unsigned left = 0;

    for (unsigned i = 0; i < fds->n; i++)
        left += fds->fd[i] >= 0;
    return left;
}

int lars_sd_socket_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

static bool fd_matches_type(int fd, int type)
{
    if (type == 0)
        return sd_is_socket(fd, AF_UNSPEC, 0, -1) > 0;
    return sd_is_socket(fd, AF_UNSPEC, type, type == SOCK_STREAM ? 1 : -1) > 0;
}

static int take(lars_sd_fds_t *fds, unsigned i)
{
    int fd = fds->fd[i];

    fds->fd[i] = -1;
    return fd;
}

int lars_sd_take_by_name(lars_sd_fds_t *fds, const char *name, int type)
{
    for (unsigned i = 0; i < fds->n; i++)
        if (fds->fd[i] >= 0 && fds->name && fds->name[i] && strcmp(fds->name[i], name) == 0 &&
            fd_matches_type(fds->fd[i], type))
            return take(fds, i);
    return -ENOENT;
}

int lars_sd_take_by_port(lars_sd_fds_t *fds, int type, uint16_t port)
{
    for (unsigned i = 0; i < fds->n; i++)
        if (fds->fd[i] >= 0 && fd_matches_type(fds->fd[i], type) &&
            lars_sd_socket_port(fds->fd[i]) == port)
            return take(fds, i);
    return -ENOENT;
}

int lars_sd_take_by_type(lars_sd_fds_t *fds, int type)
{
    for (unsigned i = 0; i < fds->n; i++)
        if (fds->fd[i] >= 0 && fd_matches_type(fds->fd[i], type))
            return take(fds, i);
    return -ENOENT;
}

/* ------------------------------------------------------------ notify -- */

int lars_sd_notifyf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return sd_notify(0, buf);
}

int lars_sd_notify_ready(void)
{
    return sd_notify(0, "READY=1");
}

int lars_sd_notify_status(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    n = snprintf(buf, sizeof(buf), "STATUS=");
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    va_end(ap);
    /* A newline would start another assignment. */
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return sd_notify(0, buf);
}

int lars_sd_notify_reloading(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return lars_sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu",
                           (unsigned long long)ts.tv_sec * 1000000ULL +
                               (unsigned long long)ts.tv_nsec / 1000);
}

int lars_sd_notify_stopping(void)
{
    return sd_notify(0, "STOPPING=1");
}

/* ---------------------------------------------------------- watchdog -- */

typedef struct watched_loop {
    rx_loop_t *loop;
    char *name;
    uint64_t since_ms; /* counts as the tick until the loop's first */
    bool stuck;
} watched_loop_t;

struct lars_sd_watchdog {
    rx_loop_t *main_loop;
    rx_timer_t *timer;
    uint64_t threshold_ms;
    watched_loop_t *loops;
    size_t nloops;
    bool healthy;
};

static bool loop_alive(watched_loop_t *w, uint64_t now, uint64_t threshold_ms)
{
    uint64_t tick = rx_loop_last_tick_ms(w->loop);
    uint64_t age;

    if (tick < w->since_ms)
        tick = w->since_ms;
    age = now > tick ? now - tick : 0;
    if (age <= threshold_ms) {
        if (w->stuck)
            lars_log(LOG_NOTICE, "watchdog: loop %s runs again", w->name);
        w->stuck = false;
        return true;
    }
    if (!w->stuck)
        lars_log(LOG_ERR, "watchdog: loop %s has not run for %llu ms; not pinging systemd", w->name,
                 (unsigned long long)age);
    w->stuck = true;
    return false;
}

static void watchdog_check(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    lars_sd_watchdog_t *wd = arg;
    uint64_t now = rx_time_ms();
    bool healthy = true;

    for (size_t i = 0; i < wd->nloops; i++)
        healthy &= loop_alive(&wd->loops[i], now, wd->threshold_ms);
    wd->healthy = healthy;
    if (healthy)
        sd_notify(0, "WATCHDOG=1");
}

int lars_sd_watchdog_new_interval(rx_loop_t *main_loop, uint64_t interval_usec,
                                  lars_sd_watchdog_t **ret)
{
    uint64_t interval_ms = interval_usec / 1000;
    uint64_t period_ms = interval_ms / 3 ? interval_ms / 3 : 1;
    lars_sd_watchdog_t *wd;

    wd = calloc(1, sizeof(*wd));
    if (!wd)
        return -ENOMEM;
    wd->main_loop = main_loop;
    wd->healthy = true;
    wd->threshold_ms = interval_ms / 2;
    if (wd->threshold_ms < 4 * RX_LOOP_MAX_SLEEP_MS)
        wd->threshold_ms = 4 * RX_LOOP_MAX_SLEEP_MS;
    wd->timer = rx_timer_add(main_loop, period_ms, period_ms, watchdog_check, wd);
    if (!wd->timer) {
        free(wd);
        return -ENOMEM;
    }
    *ret = wd;
    return 0;
}

int lars_sd_watchdog_new(rx_loop_t *main_loop, lars_sd_watchdog_t **ret)
{
    uint64_t usec = 0;
    int r;

    *ret = NULL;
    r = sd_watchdog_enabled(0, &usec);
    if (r <= 0 || usec == 0)
        return r < 0 ? r : 0;
    return lars_sd_watchdog_new_interval(main_loop, usec, ret);
}

int lars_sd_watchdog_watch(lars_sd_watchdog_t *wd, rx_loop_t *loop, const char *name)
{
    watched_loop_t *v;
    char *dup;

    if (!wd)
        return 0;
    dup = strdup(name);
    if (!dup)
        return -ENOMEM;
    v = realloc(wd->loops, (wd->nloops + 1) * sizeof(*v));
    if (!v) {
        free(dup);
        return -ENOMEM;
    }
    wd->loops = v;
    v[wd->nloops++] = (watched_loop_t){.loop = loop, .name = dup, .since_ms = rx_time_ms()};
    return 0;
}

bool lars_sd_watchdog_healthy(const lars_sd_watchdog_t *wd)
{
    return !wd || wd->healthy;
}

uint64_t lars_sd_watchdog_threshold_ms(const lars_sd_watchdog_t *wd)
{
    return wd ? wd->threshold_ms : 0;
}

void lars_sd_watchdog_free(lars_sd_watchdog_t *wd)
{
    if (!wd)
        return;
    rx_timer_free(wd->timer);
    for (size_t i = 0; i < wd->nloops; i++)
        free(wd->loops[i].name);
    free(wd->loops);
    free(wd);
}
