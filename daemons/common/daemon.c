/*
 * Shared main() scaffolding (see daemon.h): command line, config with log
 * level, and signals as events of the main loop.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemons/common/daemon.h"
#include "daemons/common/log.h"

/* ------------------------------------------------------ command line -- */

static void usage(FILE *out, const lars_daemon_info_t *info)
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
            info->name, info->summary ? info->summary : "", LARS_CONF_DIR, info->name,
            LARS_EX_CONFIG);
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
            printf("%s %s\n", d->info->name, LARS_VERSION);
            return 0;
        case 'h':
            usage(stdout, d->info);
            return 0;
        default:
            usage(stderr, d->info);
            return LARS_EX_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", d->info->name, argv[optind]);
        return LARS_EX_USAGE;
    }
    return -1;
}

/* ------------------------------------------------------------ config -- */

static void warn_unknown_key(const char *file, int line, const char *key, void *arg)
{
    lars_log(LOG_WARNING, "%s:%d: %s: unknown key, ignored", file, line, key);
}

static void apply_log_level(const lars_daemon_t *d, const void *settings)
{
    for (size_t i = 0; i < d->info->nkeys; i++) {
        const lars_conf_key_t *k = &d->info->keys[i];
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

    if (lars_conf_secret_exposed(d->config_path, d->info->keys, d->info->nkeys, settings, &key,
                                 &mode) > 0)
        lars_log(LOG_WARNING,
                 "%s (mode %04o) is readable by others and holds a password (%s); use "
                 "password_file or the db-password credential",
                 d->config_path, mode, key);
}

static int load_config(const lars_daemon_t *d, void *settings)
{
    lars_conf_error_t err;
    char line[1024];
    int r;

    r = lars_conf_load(d->config_path, d->config_given, d->info->keys, d->info->nkeys, settings,
                       warn_unknown_key, NULL, &err);
    if (r < 0) {
        lars_log(LOG_ERR, "%s", lars_conf_error_format(&err, line, sizeof(line)));
        return r;
    }
    apply_log_level(d, settings);
    warn_exposed_secret(d, settings);
    return 0;
}

bool lars_daemon_init(lars_daemon_t *d, const lars_daemon_info_t *info, int argc, char **argv,
                      void *settings, int *ret_status)
{
    int status;

    *d = (lars_daemon_t){.info = info};
    snprintf(d->config_path, sizeof(d->config_path), "%s/%s.conf", LARS_CONF_DIR, info->name);
    status = parse_args(d, argc, argv);
    if (status >= 0) {
        *ret_status = status;
        return false;
    }
    lars_log_init(info->name, LOG_INFO,
                  d->check_config ? LARS_LOG_TARGET_STDERR : LARS_LOG_TARGET_AUTO);
    if (load_config(d, settings) < 0) {
        *ret_status = LARS_EX_CONFIG;
        return false;
    }
    if (d->check_config) {
        printf("# %s: effective settings of %s\n", d->config_path, info->name);
        lars_conf_print(stdout, info->keys, info->nkeys, settings);
        fflush(stdout);
        lars_conf_free(info->keys, info->nkeys, settings);
        *ret_status = 0;
        return false;
    }
    return true;
}

int lars_daemon_reload(const lars_daemon_t *d, void *settings)
{
    return load_config(d, settings);
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
