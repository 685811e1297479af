/*
 * The life cycle every Lars daemon shares, from main() to exit. A daemon is
 * a table of operations (lars_daemon_ops_t) around its own state and
 * settings; lars_daemon_main() runs it:
 *
 *   - the command line NAME [-c FILE] [--check-config] [--version] [--help]
 *     (default config /etc/lars/NAME.conf; a missing default file means
 *     defaults), logging at the config's log_level;
 *   - the sockets systemd passed (whatever start does not take is closed);
 *   - the main loop, with signals delivered through a signalfd: SIGTERM and
 *     SIGINT stop, SIGHUP reloads the config between RELOADING=1 and
 *     READY=1, SIGUSR1 dumps the counters;
 *   - the watchdog (WATCHDOG=1 only while every watched loop ticks), a
 *     STATUS= line every LARS_DAEMON_STATUS_MS, READY=1 with the first
 *     STATUS=, and STOPPING=1 once the main loop has stopped.
 *
 * Failures follow one rule: whoever knows what a failure means logs it, once,
 * and returns -errno; the callers above pass it on without logging again.
 * start and reload log their own failures (they know the address, the
 * setting); the skeleton logs those of its own steps. Exit status: 0 after a
 * clean stop, 64 (EX_USAGE) for a bad command line, 78 (EX_CONFIG) for a bad
 * config, 1 when start-up or the main loop fails.
 */
#ifndef LARS_COMMON_DAEMON_H
#define LARS_COMMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemons/common/conf.h"
#include "daemons/common/sd.h"
#include "libreactor/reactor.h"

#ifndef LARS_VERSION
#define LARS_VERSION "0.1.0"
#endif

#define LARS_CONF_DIR         "/etc/lars"
#define LARS_EX_USAGE         64
#define LARS_DAEMON_STATUS_MS 2000

typedef struct lars_daemon lars_daemon_t;
typedef struct lars_signals lars_signals_t;

/* Every callback runs on the main loop's thread and gets the `app` passed to
 * lars_daemon_main(). */
typedef struct lars_daemon_ops {
    const char *name;    /* "lars-dns": log identifier and config file name */
    const char *summary; /* one line for --help */
    const lars_conf_key_t *keys;
    size_t nkeys;
    /* The struct the keys fill (zeroed), owned by the caller and at the same
     * address for the whole run: a reload copies the new values into it. */
    void *settings;
    size_t settings_size;
    /* READY=1 waits for lars_daemon_ready() (lars-dns: the first DB load)
     * instead of following start at once. */
    bool ready_later;

    /* Creates and starts the service (threads, servers) from the settings,
     * taking its sockets out of `fds`. On failure it logs one line saying
     * what failed (e.g. with lars_daemon_error) and returns -errno; free
     * runs in every case. */
    int (*start)(void *app, lars_daemon_t *d, lars_sd_fds_t *fds);
    /* Puts every worker loop under the watchdog (lars_sd_watchdog_watch);
     * called only when systemd enabled the watchdog. -errno (the skeleton
     * logs it). Optional. */
    int (*watch)(void *app, lars_sd_watchdog_t *wd);
    /* The STATUS= text. */
    void (*status)(void *app, char *buf, size_t size);
    /* SIGHUP with the config loaded into `fresh` (the log level already
     * applied): applies what can change at run time. 0: the skeleton swaps
     * `fresh` in; -errno: logged here, the previous settings stay. Optional. */
    int (*reload)(void *app, const void *fresh);
    /* SIGUSR1: every counter to the journal. Optional. */
    void (*dump_counters)(void *app);
    /* After a run, once the main loop has stopped and STOPPING=1 is sent:
     * a graceful stop (finish what is in flight). Optional. */
    void (*stop)(void *app);
    /* Frees whatever start made, also after a failed start. */
    void (*free)(void *app);
} lars_daemon_ops_t;

/* The whole life of the daemon; returns main()'s exit status. */
int lars_daemon_main(const lars_daemon_ops_t *ops, void *app, int argc, char **argv);

/* ---------------------------------------------------- for the callbacks -- */

rx_loop_t *lars_daemon_loop(const lars_daemon_t *d);
/* To handle more signals (SIGUSR2) with lars_signals_on(). */
lars_signals_t *lars_daemon_signals(const lars_daemon_t *d);
/* Main loop thread: READY=1 with the current STATUS= (with ready_later;
 * later calls do nothing). */
void lars_daemon_ready(lars_daemon_t *d);
/* Main loop thread: a STATUS= line now (something changed). */
void lars_daemon_notify_status(lars_daemon_t *d);

/* Checks (and, when needed and allowed, raises) the file-descriptor limit
 * for max_conns connections and `threads` threads, and logs the outcome
 * once: a warning when the limit is still below what max_conns needs. */
void lars_daemon_check_nofile(int64_t max_conns, unsigned threads);

/* Logs "MESSAGE: strerror(-err)" at LOG_ERR and returns err (< 0), so that a
 * failure is logged where it is understood and then only passed up:
 *   return lars_daemon_error(r, "cannot listen on %s", addr); */
#define lars_daemon_error(err, ...)                                                                \
    lars_daemon_error_at(err, __FILE__, __LINE__, __func__, __VA_ARGS__)
int lars_daemon_error_at(int err, const char *file, int line, const char *func, const char *fmt,
                         ...) __attribute__((format(printf, 5, 6)));

/* ----------------------------------------------------------- signals -- */

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
