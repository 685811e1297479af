/*
 * The daemons' shared life cycle (see daemon.h): command line, config with
 * log level, sockets, main loop, signals as events of that loop, watchdog,
 * STATUS= timer and the systemd notifications, around a table of operations.
 */
#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemons/common/daemon.h"
#include "daemons/common/limits.h"
#include "daemons/common/log.h"

#define STATUS_MAX 1000

struct lars_daemon {
    const lars_daemon_ops_t *ops;
    void *app;
    char config_path[PATH_MAX];
    bool config_given; /* -c: the file must exist */
    bool check_config;
    rx_loop_t *loop;
    lars_signals_t *signals;
    lars_sd_watchdog_t *wd;
    rx_timer_t *status_timer;
    bool started; /* ops->start ran: ops->free must run */
    bool ready;
};

void lars_daemon_check_nofile(int64_t max_conns, unsigned threads)
{
    lars_limits_nofile_t nf;
    uint64_t conns = max_conns > 0 ? (uint64_t)max_conns : 0;
    int r = lars_limits_nofile_ensure(conns, lars_limits_nofile_reserve(threads), &nf);

    if (r == -EMFILE)
        lars_log(LOG_WARNING,
                 "fd limit %" PRIu64 " is below max_conns %" PRIu64 " + reserve %" PRIu64
                 "; raise LimitNOFILE=",
                 nf.soft, conns, nf.need - conns);
    else if (r < 0)
        lars_log(LOG_WARNING, "cannot read the fd limit: %s", strerror(-r));
    else if (nf.soft > nf.before)
        lars_log(LOG_INFO, "raised the fd limit from %" PRIu64 " to %" PRIu64, nf.before, nf.soft);
}

int lars_daemon_error_at(int err, const char *file, int line, const char *func, const char *fmt,
                         ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (lars_log_enabled(LOG_ERR))
        lars_log_full(LOG_ERR, NULL, file, line, func, "%s: %s", msg, strerror(-err));
    return err;
}

/* ------------------------------------------------------ command line -- */

static void usage(FILE *out, const lars_daemon_ops_t *ops)
{
    fprintf(out,
            "Usage: %s [-c FILE] [--check-config] [--version] [--help]\n"
            "%s\n\n"
            "  -c, --config FILE   config file (default %s/%s.conf; when that file is\n"
            "                      missing, every key takes its default)\n"
            "      --check-config  load and validate the config, print the effective\n"
            "                      settings (passwords redacted), exit 0 (valid) or\n"
            "                      %d (invalid)\n"
            "  -V, --version       print the version\n"
            "  -h, --help          print this help\n",
            ops->name, ops->summary ? ops->summary : "", LARS_CONF_DIR, ops->name, LARS_EX_CONFIG);
    fprintf(out, "\nConfig keys (default; see docs/configuration.md):\n");
    for (size_t i = 0; i < ops->nkeys; i++) {
        const lars_conf_key_t *k = &ops->keys[i];

        fprintf(out, "  %-32s ", k->path);
        switch (k->type) {
        case LARS_CONF_INT:
            fprintf(out, "%lld", (long long)k->def_int);
            break;
        case LARS_CONF_FLOAT:
            fprintf(out, "%g", k->def_float);
            break;
        case LARS_CONF_BOOL:
            fprintf(out, "%s", k->def_int ? "true" : "false");
            break;
        case LARS_CONF_STRING:
        case LARS_CONF_STRING_LIST:
            fprintf(out, "\"%s\"", k->def_str ? k->def_str : "");
            break;
        }
        fprintf(out, "  %s\n", k->help ? k->help : "");
    }
}

enum { OPT_CHECK_CONFIG = 0x100 };

/* Returns -1 to go on, or the exit status. */
static int parse_args(lars_daemon_t *d, int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            snprintf(d->config_path, sizeof(d->config_path), "%s", optarg);
            d->config_given = true;
            break;
        case OPT_CHECK_CONFIG:
            d->check_config = true;
            break;
        case 'V':
            printf("%s %s\n", d->ops->name, LARS_VERSION);
            return 0;
        case 'h':
            usage(stdout, d->ops);
            return 0;
        default:
            usage(stderr, d->ops);
            return LARS_EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", d->ops->name, argv[optind]);
        return LARS_EX_USAGE;
    }
    return -1;
}

/* ------------------------------------------------------------ config -- */

static void warn_unknown_key(const char *file, int line, const char *key, void *arg)
{
    lars_log(LOG_WARNING, "%s:%d: %s: unknown key, ignored", file, line, key);
}

static void apply_log_level(const lars_daemon_ops_t *ops, const void *settings)
{
    for (size_t i = 0; i < ops->nkeys; i++) {
        const lars_conf_key_t *k = &ops->keys[i];
        const char *v;
        int level;

        if (k->type != LARS_CONF_STRING || strcmp(k->path, "log_level") != 0)
            continue;
        v = *(char *const *)((const char *)settings + k->offset);
        level = v ? lars_log_level_parse(v) : -EINVAL;
        if (level >= 0)
            lars_log_set_level(level);
    }
}

static void warn_exposed_secret(const lars_daemon_t *d, const void *settings)
{
    const char *key;
    unsigned mode;

    if (lars_conf_secret_exposed(d->config_path, d->ops->keys, d->ops->nkeys, settings, &key,
                                 &mode) > 0)
        lars_log(LOG_WARNING,
                 "%s (mode %04o) is readable by others and holds a password (%s); use "
                 "password_file or the db-password credential",
                 d->config_path, mode, key);
}

/* Loads the file into `settings` and applies its log level; on failure
 * ret_why says "FILE:LINE: KEY: message" (nothing is logged). */
static int load_config(const lars_daemon_t *d, void *settings, char *ret_why, size_t size)
{
    const lars_daemon_ops_t *ops = d->ops;
    lars_conf_error_t err;
    int r;

    r = lars_conf_load(d->config_path, d->config_given, ops->keys, ops->nkeys, settings,
                       warn_unknown_key, NULL, &err);
    if (r < 0) {
        lars_conf_error_format(&err, ret_why, size);
        return r;
    }
    apply_log_level(ops, settings);
    warn_exposed_secret(d, settings);
    return 0;
}

/* Command line, logging and config. Returns -1 to run, or the exit status. */
static int daemon_init(lars_daemon_t *d, int argc, char **argv)
{
    const lars_daemon_ops_t *ops = d->ops;
    char why[1024];
    int status;

    snprintf(d->config_path, sizeof(d->config_path), "%s/%s.conf", LARS_CONF_DIR, ops->name);
    status = parse_args(d, argc, argv);
    if (status >= 0)
        return status;
    lars_log_init(ops->name, LOG_INFO,
                  d->check_config ? LARS_LOG_TARGET_STDERR : LARS_LOG_TARGET_AUTO);
    if (load_config(d, ops->settings, why, sizeof(why)) < 0) {
        lars_log(LOG_ERR, "%s", why);
        return LARS_EX_CONFIG;
    }
    if (d->check_config) {
        printf("# %s: effective settings of %s\n", d->config_path, ops->name);
        lars_conf_print(stdout, ops->keys, ops->nkeys, ops->settings);
        fflush(stdout);
        lars_conf_free(ops->keys, ops->nkeys, ops->settings);
        return 0;
    }
    return -1;
}

/* SIGHUP: the same file into a fresh struct, swapped in only if it loads
 * and the daemon accepts it. */
static void daemon_reload(lars_daemon_t *d)
{
    const lars_daemon_ops_t *ops = d->ops;
    char why[1024];
    void *fresh;
    int r;

    fresh = calloc(1, ops->settings_size);
    if (!fresh) {
        lars_log(LOG_ERR, "cannot reload %s: out of memory; keeping the previous settings",
                 d->config_path);
        return;
    }
    r = load_config(d, fresh, why, sizeof(why));
    if (r < 0)
        lars_log(LOG_ERR, "%s; keeping the previous settings", why);
    else if (ops->reload)
        r = ops->reload(d->app, fresh);
    if (r < 0) {
        lars_conf_free(ops->keys, ops->nkeys, fresh);
        apply_log_level(ops, ops->settings);
    } else {
        lars_conf_free(ops->keys, ops->nkeys, ops->settings);
        memcpy(ops->settings, fresh, ops->settings_size);
    }
    free(fresh);
}

/* -------------------------------------------------- systemd protocol -- */

static void status_text(lars_daemon_t *d, char *buf, size_t size)
{
    buf[0] = '\0';
    d->ops->status(d->app, buf, size);
    /* A newline would start another assignment. */
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

static void notify_ready(lars_daemon_t *d)
{
    char buf[STATUS_MAX];

    status_text(d, buf, sizeof(buf));
    lars_sd_notifyf("READY=1\nSTATUS=%s", buf);
}

void lars_daemon_ready(lars_daemon_t *d)
{
    if (d->ready)
        return;
    d->ready = true;
    notify_ready(d);
}

void lars_daemon_notify_status(lars_daemon_t *d)
{
    char buf[STATUS_MAX];

    status_text(d, buf, sizeof(buf));
    lars_sd_notify_status("%s", buf);
}

static void on_status_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    lars_daemon_notify_status(arg);
}

static void on_sighup(rx_loop_t *loop, int signo, void *arg)
{
    lars_daemon_t *d = arg;

    lars_sd_notify_reloading();
    lars_log(LOG_NOTICE, "reloading %s", d->config_path);
    daemon_reload(d);
    notify_ready(d);
}

static void on_sigusr1(rx_loop_t *loop, int signo, void *arg)
{
    lars_daemon_t *d = arg;

    if (d->ops->dump_counters)
        d->ops->dump_counters(d->app);
}

rx_loop_t *lars_daemon_loop(const lars_daemon_t *d)
{
    return d->loop;
}

lars_signals_t *lars_daemon_signals(const lars_daemon_t *d)
{
    return d->signals;
}

/* --------------------------------------------------------- life cycle -- */

/* Hands the sockets systemd passed to start; closes what it left. */
static int daemon_start_app(lars_daemon_t *d)
{
    lars_sd_fds_t fds;
    unsigned left;
    int r;

    r = lars_sd_listen_fds(&fds);
    if (r < 0)
        return lars_daemon_error(r, "cannot read the sockets passed by systemd");
    d->started = true;
    r = d->ops->start(d->app, d, &fds);
    left = lars_sd_fds_left(&fds);
    if (r >= 0 && left > 0)
        lars_log(LOG_WARNING, "ignoring %u extra sockets passed by systemd", left);
    lars_sd_fds_free(&fds);
    return r;
}

/* Every step up to READY=1 (or up to the wait for it). Logs its failure. */
static int daemon_start(lars_daemon_t *d)
{
    int r;

    d->loop = rx_loop_new();
    if (!d->loop)
        return lars_daemon_error(errno > 0 ? -errno : -ENOMEM, "cannot create the main loop");
    /* Before start makes threads: they inherit the blocked signals. */
    r = lars_signals_new(d->loop, &d->signals);
    if (r < 0)
        return lars_daemon_error(r, "cannot receive signals");
    lars_signals_on(d->signals, SIGHUP, on_sighup, d);
    lars_signals_on(d->signals, SIGUSR1, on_sigusr1, d);
    r = daemon_start_app(d);
    if (r < 0)
        return r;
    r = lars_sd_watchdog_new(d->loop, &d->wd);
    if (r < 0)
        return lars_daemon_error(r, "cannot set up the watchdog");
    if (d->wd && d->ops->watch) {
        r = d->ops->watch(d->app, d->wd);
        if (r < 0)
            return lars_daemon_error(r, "cannot put the worker loops under the watchdog");
    }
    d->status_timer =
        rx_timer_add(d->loop, LARS_DAEMON_STATUS_MS, LARS_DAEMON_STATUS_MS, on_status_timer, d);
    if (!d->status_timer)
        return lars_daemon_error(-ENOMEM, "cannot arm the STATUS= timer");
    if (!d->ops->ready_later)
        lars_daemon_ready(d);
    return 0;
}

/* Runs until SIGTERM/SIGINT, then stops the daemon gracefully. */
static int daemon_run(lars_daemon_t *d)
{
    int r = rx_loop_run(d->loop);

    lars_sd_notify_stopping();
    lars_log(LOG_NOTICE, "stopping");
    if (d->ops->stop)
        d->ops->stop(d->app);
    return r;
}

static void daemon_free(lars_daemon_t *d)
{
    const lars_daemon_ops_t *ops = d->ops;

    rx_timer_free(d->status_timer);
    lars_sd_watchdog_free(d->wd);
    if (d->started)
        ops->free(d->app);
    lars_signals_free(d->signals);
    rx_loop_free(d->loop);
    lars_conf_free(ops->keys, ops->nkeys, ops->settings);
    rx_buf_pool_trim();
}

int lars_daemon_main(const lars_daemon_ops_t *ops, void *app, int argc, char **argv)
{
    lars_daemon_t d = {.ops = ops, .app = app};
    int r;

    r = daemon_init(&d, argc, argv);
    if (r >= 0)
        return r;
    r = daemon_start(&d);
    if (r < 0) {
        daemon_free(&d);
        return EXIT_FAILURE;
    }
    r = daemon_run(&d);
    daemon_free(&d);
    if (r < 0) {
        lars_daemon_error(r, "main loop failed");
        return EXIT_FAILURE;
    }
    lars_log(LOG_INFO, "stopped");
    return EXIT_SUCCESS;
}

/* ----------------------------------------------------------- signals -- */

static const int handled_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};
#define NSIGNALS (sizeof(handled_signals) / sizeof(handled_signals[0]))

struct lars_signals {
    rx_loop_t *loop;
    int fd;
    struct {
        lars_signal_cb cb;
        void *arg;
    } handler[NSIGNALS];
};

static int signal_index(int signo)
{
    for (size_t i = 0; i < NSIGNALS; i++)
        if (handled_signals[i] == signo)
            return (int)i;
    return -1;
}

static void signals_dispatch(lars_signals_t *s, int signo)
{
    int i = signal_index(signo);

    if (i < 0)
        return;
    if (s->handler[i].cb)
        s->handler[i].cb(s->loop, signo, s->handler[i].arg);
    else if (signo == SIGTERM || signo == SIGINT)
        rx_loop_stop(s->loop);
}

static void signals_on_readable(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    struct signalfd_siginfo si[8];
    ssize_t n = read(fd, si, sizeof(si));

    for (ssize_t i = 0; i < n / (ssize_t)sizeof(si[0]); i++)
        signals_dispatch(arg, (int)si[i].ssi_signo);
}

int lars_signals_new(rx_loop_t *loop, lars_signals_t **ret)
{
    lars_signals_t *s;
    sigset_t mask;
    int r;

    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    sigemptyset(&mask);
    for (size_t i = 0; i < NSIGNALS; i++)
        sigaddset(&mask, handled_signals[i]);
    r = -pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (r < 0)
        goto out_free;
    signal(SIGPIPE, SIG_IGN);
    s->fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->fd < 0) {
        r = -errno;
        goto out_free;
    }
    r = rx_io_add(loop, s->fd, RX_READ, signals_on_readable, s);
    if (r < 0)
        goto out_close_fd;
    *ret = s;
    return 0;

out_close_fd:
    close(s->fd);
out_free:
    free(s);
    return r;
}

int lars_signals_on(lars_signals_t *s, int signo, lars_signal_cb cb, void *arg)
{
    int i = signal_index(signo);

    if (i < 0)
        return -EINVAL;
    s->handler[i].cb = cb;
    s->handler[i].arg = arg;
    return 0;
}

void lars_signals_free(lars_signals_t *s)
{
    if (!s)
        return;
    rx_io_del(s->loop, s->fd);
    close(s->fd);
    free(s);
}
