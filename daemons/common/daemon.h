/*
 * What every Lars daemon's main() does the same way: the command line
 *   NAME [-c FILE] [--check-config] [--version] [--help]
 * (default config /etc/lars/NAME.conf; a missing default file means
 * defaults), loading the config with the log level it sets, reloading it on
 * SIGHUP, and signals delivered through a signalfd on the main loop.
 */
#ifndef LARS_COMMON_DAEMON_H
#define LARS_COMMON_DAEMON_H

#include <limits.h>
#include <stdbool.h>

#include "daemons/common/conf.h"
#include "libreactor/reactor.h"

#ifndef LARS_VERSION
#define LARS_VERSION "0.1.0"
#endif

#define LARS_CONF_DIR "/etc/lars"
#define LARS_EX_USAGE 64

typedef struct lars_daemon_info {
    const char *name;    /* "lars-dns": log identifier and config file name */
    const char *summary; /* one line for --help */
    const lars_conf_key_t *keys;
    size_t nkeys;
} lars_daemon_info_t;

typedef struct lars_daemon {
    const lars_daemon_info_t *info;
    char config_path[PATH_MAX];
    bool config_given; /* -c: the file must exist */
    bool check_config;
} lars_daemon_t;

/* Parses the command line, starts logging, loads the config into `settings`
 * and applies its log_level (if the table has that key). Returns true when
 * the daemon should run (settings to be lars_conf_free()d); false when
 * main() should return *ret_status at once: --help/--version (0), a bad
 * option (64), --check-config (0 or 78), a bad config (78, after logging
 * one line "FILE:LINE: KEY: message"). */
bool lars_daemon_init(lars_daemon_t *d, const lars_daemon_info_t *info, int argc, char **argv,
                      void *settings, int *ret_status);

/* For SIGHUP: loads the same file into a fresh `settings`. On success the
 * caller swaps it in (and frees the old one); the log level is updated here.
 * On failure it logs the one line and returns -errno; keep the old settings. */
int lars_daemon_reload(const lars_daemon_t *d, void *settings);

/* ----------------------------------------------------------- signals -- */

typedef struct lars_signals lars_signals_t;
typedef void (*lars_signal_cb)(rx_loop_t *loop, int signo, void *arg);

/* Blocks SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 in the calling thread
 * (call it before starting threads: they inherit the mask), ignores SIGPIPE,
 * and delivers those signals through a signalfd on `loop` (that loop's
 * thread runs the callbacks). Without a callback, SIGTERM and SIGINT stop
 * the loop and the others are ignored. */
int lars_signals_new(rx_loop_t *loop, lars_signals_t **ret);
/* cb NULL restores the default behaviour. */
int lars_signals_on(lars_signals_t *s, int signo, lars_signal_cb cb, void *arg);
/* On the loop's thread. Unregisters and closes the signalfd; the signals
 * stay blocked, so one arriving during shutdown cannot kill the process
 * before it exits cleanly. Accepts NULL. */
void lars_signals_free(lars_signals_t *s);

#endif
