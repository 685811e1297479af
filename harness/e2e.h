/*
 * Helpers shared by the end-to-end tests (tests/system/test_e2e_*.c): start the
 * real daemons through the harness with a config file, run the command-line
 * tools, read the daemons' STATUS= counters, and wait for "eventually"
 * conditions. Built on harness.h, mariadb.h and netns.h.
 */
#ifndef LARS_HARNESS_E2E_H
#define LARS_HARNESS_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/lars.h"
#include "harness/harness.h"
#include "harness/mariadb.h"

/* $LARS_BUILD/bin/NAME (or build/tests/progs/NAME for "progs/NAME"); the
 * string stays valid for the next 7 calls. */
const char *e2e_bin(const char *name);

/* Writes conf (plus the db group of `db` when db is not NULL) to
 * DIR/FILE.conf and starts $LARS_BUILD/bin/NAME -c that file with the
 * sockets; waits up to timeout_ms for READY=1. NULL on failure (the
 * daemon's log is dumped). `file` NULL: the program's name. */
harness_t *e2e_start(const char *dir, const char *name, const char *file, const char *conf,
                     const test_mariadb_t *db, const harness_socket_t *socks, size_t nsocks,
                     int timeout_ms);

/* The number after `label` in the newest STATUS= line (0 if absent). */
unsigned long long e2e_status_counter(harness_t *h, const char *label);
/* The number right before `label` ("12 bad frames": label " bad frames"). */
unsigned long long e2e_status_counter_before(harness_t *h, const char *label);
/* Waits until that number is >= want; false (after printing the line) on
 * timeout. */
bool e2e_wait_counter(harness_t *h, const char *label, unsigned long long want, int timeout_ms);

/* Runs larsctl -c conf ARGS (split on spaces) in network namespace netns
 * (NULL: the current one); its exit status, or -errno. */
int e2e_larsctl(const char *netns, const char *conf, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Polls get_route until the route has n hosts. */
bool e2e_wait_route(lars_client_t *c, int modid, int cmdid, size_t n, int timeout_ms);

/* Sets SO_RCVBUF (SO_RCVBUFFORCE) on the harness child's sockets, fds 3 ..
 * 3 + n - 1 -- what ReceiveBuffer= in the .socket unit does in production.
 * The sockets are reached through pidfd_getfd(). 0 or -errno. */
int e2e_set_rcvbuf(harness_t *h, size_t n, int bytes);

/* The kernel's drop count of the UDP socket bound to 127.0.0.1:port in the
 * caller's network namespace (/proc/net/udp), 0 when none is found. */
uint64_t e2e_udp_drops(int port);

#endif
