/*
 * systemd glue on libsystemd: sockets passed by socket activation, sd_notify
 * messages, and a watchdog that pings only while every worker loop is alive.
 */
#ifndef LARS_COMMON_SD_H
#define LARS_COMMON_SD_H

#include <stdbool.h>
#include <stdint.h>

#include "libreactor/reactor.h"

/* ------------------------------------------------- socket activation -- */

/* The fds systemd passed (LISTEN_FDS, from fd 3 on), with their names
 * (FileDescriptorName=, "unknown" when unnamed). The take functions hand an
 * fd over to the caller and remove it from the set, so one fd is never
 * given out twice; lars_sd_fds_free() closes those nobody took. */
typedef struct lars_sd_fds {
    unsigned n;
    int *fd; /* -1 once taken */
    char **name;
} lars_sd_fds_t;

/* Reads and unsets LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (so children do not
 * inherit them) and sets FD_CLOEXEC on the fds. No sockets passed: 0 with
 * an empty set. */
int lars_sd_listen_fds(lars_sd_fds_t *ret);
void lars_sd_fds_free(lars_sd_fds_t *fds);
/* How many fds are left to take. */
unsigned lars_sd_fds_left(const lars_sd_fds_t *fds);

/* Each returns the fd (now the caller's), or -ENOENT. type: SOCK_STREAM or
 * SOCK_DGRAM (0: any); a stream socket must be listening. */
int lars_sd_take_by_name(lars_sd_fds_t *fds, const char *name, int type);
int lars_sd_take_by_port(lars_sd_fds_t *fds, int type, uint16_t port);
int lars_sd_take_by_type(lars_sd_fds_t *fds, int type);

/* The bound port of a socket (getsockname), or -errno. */
int lars_sd_socket_port(int fd);

/* ------------------------------------------------------------ notify -- */

/* All return what sd_notify returns: > 0 sent, 0 no $NOTIFY_SOCKET, < 0 error.
 * None of them unsets $NOTIFY_SOCKET. */
int lars_sd_notify_ready(void);
int lars_sd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "RELOADING=1" with the "MONOTONIC_USEC=" that systemd >= 253 wants. */
int lars_sd_notify_reloading(void);
int lars_sd_notify_stopping(void);
/* Any message, e.g. "READY=1\nSTATUS=serving". */
int lars_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------- watchdog -- */

/* Runs as a timer on the daemon's main loop every interval/3 and sends
 * WATCHDOG=1 only if every watched loop ticked within the threshold
 * (max(interval/2, 4 x RX_LOOP_MAX_SLEEP_MS)); a stuck main loop stops the
 * pings by itself. The first time a loop is found stuck it logs which one
 * (once per stuck stretch) and pings stop; pings resume when it ticks again.
 * Owned by the main loop's thread (add the loops to watch before it runs). */
typedef struct lars_sd_watchdog lars_sd_watchdog_t;

/* *ret NULL (and 0 returned) when the watchdog is not enabled for us. */
int lars_sd_watchdog_new(rx_loop_t *main_loop, lars_sd_watchdog_t **ret);
/* Same with an explicit interval (tests). */
int lars_sd_watchdog_new_interval(rx_loop_t *main_loop, uint64_t interval_usec,
                                  lars_sd_watchdog_t **ret);
/* name: for the log line ("dns-worker-2"); copied. */
int lars_sd_watchdog_watch(lars_sd_watchdog_t *wd, rx_loop_t *loop, const char *name);
/* Whether the last check found every loop alive. */
bool lars_sd_watchdog_healthy(const lars_sd_watchdog_t *wd);
uint64_t lars_sd_watchdog_threshold_ms(const lars_sd_watchdog_t *wd);
/* On the main loop's thread. Accepts NULL. */
void lars_sd_watchdog_free(lars_sd_watchdog_t *wd);

#endif
