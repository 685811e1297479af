/*
 * Test harness for daemons: starts a program the way systemd would, with
 * sockets passed as fds 3.. (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID), a
 * private NOTIFY_SOCKET (and WATCHDOG_USEC/WATCHDOG_PID when asked), stdout
 * and stderr in a log file, LARS_LOG_STDERR=1. A thread records every
 * notification with its arrival time, so tests can wait for and count them.
 *
 * The child dies with the test (PR_SET_PDEATHSIG), and every harness still
 * running at exit() is killed; harness_free() kills and reaps too.
 * The functions are meant for the test's main thread.
 */
#ifndef LARS_HARNESS_HARNESS_H
#define LARS_HARNESS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HARNESS_MAX_SOCKETS 8

typedef struct harness_socket {
    const char *spec; /* "tcp:127.0.0.1:0" (listening) or "udp:127.0.0.1:0" */
    const char *name; /* LISTEN_FDNAMES entry; NULL: "unknown" */
} harness_socket_t;

typedef struct harness_opts {
    const char *const *argv; /* argv[0] is the program's path; NULL-terminated */
    const char *const *env;  /* extra "KEY=VALUE" entries, NULL-terminated, or NULL */
    const harness_socket_t *sockets;
    size_t nsockets;
    uint64_t watchdog_usec; /* 0: no WATCHDOG_USEC */
} harness_opts_t;

typedef struct harness harness_t;

/* NULL on failure (with a message on stderr). */
harness_t *harness_start(const harness_opts_t *opts);
/* Kills (SIGKILL) the child if it still runs, reaps it, removes the temp
 * dir. Accepts NULL. */
void harness_free(harness_t *h);

/* VmRSS of any process in KiB, or -1 (e.g. it has exited). */
long harness_rss_kib(pid_t pid);
pid_t harness_pid(const harness_t *h);
/* Bound port of socket i (the one the test asked for). */
int harness_port(const harness_t *h, size_t i);
/* The private temp dir (for config files and such). */
const char *harness_dir(const harness_t *h);

/* ------------------------------------------------------- notifications -- */

/* Notifications are datagrams of "KEY=VALUE" lines; `line` matches one of
 * them exactly (e.g. "READY=1"). The waits end early (false) when the
 * child exits without having sent what they wait for. */
/* Whether `line` arrived at least `n` times, waiting up to timeout_ms. */
bool harness_wait_count(harness_t *h, const char *line, unsigned n, int timeout_ms);
/* Same with n = 1. */
bool harness_wait_notify(harness_t *h, const char *line, int timeout_ms);
/* Waits for a STATUS= line containing `text`. */
bool harness_wait_status(harness_t *h, const char *text, int timeout_ms);
unsigned harness_count(harness_t *h, const char *line);
/* Same, only for datagrams that arrived within [from_ms, to_ms] on the
 * harness clock (harness_now_ms). */
unsigned harness_count_between(harness_t *h, const char *line, uint64_t from_ms, uint64_t to_ms);
uint64_t harness_now_ms(void);
/* The value of the newest STATUS= line ("" before any); copied into buf. */
const char *harness_last_status(harness_t *h, char *buf, size_t size);
/* Datagrams received so far, oldest first; i < harness_notify_count(). The
 * text is copied into buf. */
size_t harness_notify_count(harness_t *h);
const char *harness_notify_get(harness_t *h, size_t i, char *buf, size_t size);

/* ------------------------------------------------------------ process -- */

int harness_signal(harness_t *h, int sig);
/* Whether the child has exited; fills *ret_status (waitpid status). Once it
 * says so, every notification the child sent is recorded. */
bool harness_exited(harness_t *h, int *ret_status);
/* Waits up to timeout_ms for the child to exit by itself. */
bool harness_wait_exit(harness_t *h, int timeout_ms, int *ret_status);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the waitpid status
 * (test with WIFEXITED etc.), or -1 if it had to be killed. */
int harness_stop(harness_t *h, int timeout_ms);

/* --------------------------------------------------------------- logs -- */

const char *harness_log_path(const harness_t *h);
/* The whole log so far (malloc'd, caller frees). */
char *harness_log(const harness_t *h);
bool harness_log_contains(const harness_t *h, const char *text);
bool harness_wait_log(const harness_t *h, const char *text, int timeout_ms);
/* Copies the log to stderr with a prefix (for failing tests). */
void harness_dump_log(const harness_t *h);

#endif
