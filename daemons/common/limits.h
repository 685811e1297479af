/*
 * Process resource limits a daemon checks at start: RLIMIT_NOFILE against
 * the connections it is configured to accept (max_conns).
 *
 * Every accepted connection is a file descriptor, so a daemon whose soft
 * limit is below max_conns plus its own descriptors refuses connections
 * (EMFILE on accept) long before max_conns. The units set LimitNOFILE=; this
 * covers a daemon started by hand, whose soft limit is often 1024 while the
 * hard limit is far higher: raising the soft limit up to the hard limit needs
 * no privilege. Nothing here logs; the caller warns once when the limit is
 * still too low.
 */
#ifndef LARS_COMMON_LIMITS_H
#define LARS_COMMON_LIMITS_H

#include <stdint.h>

/* RLIMIT_NOFILE as lars_limits_nofile_ensure() found and left it. */
typedef struct lars_limits_nofile {
    uint64_t need;   /* max_conns + reserve */
    uint64_t before; /* soft limit found */
    uint64_t soft;   /* soft limit now (> before when raised) */
    uint64_t hard;   /* UINT64_MAX: unlimited */
    int raise_error; /* -errno of a refused raise, else 0 */
} lars_limits_nofile_t;

/* Descriptors a daemon holds besides its connections, for `threads` threads
 * (every thread of the process, each with its own event loop or DB
 * connection): stdio, journal and notify sockets, the signalfd, listening
 * sockets and spares, plus an epoll fd, an eventfd and a DB connection or a
 * connection being refused per thread. */
uint64_t lars_limits_nofile_reserve(unsigned threads);

/* Reads RLIMIT_NOFILE and, when its soft limit is below max_conns + reserve,
 * raises it to the hard limit (or to what is needed, when the kernel refuses
 * the hard limit, e.g. an unlimited one above fs.nr_open). Never lowers it.
 * Returns 0 when the soft limit now fits, -EMFILE when it still does not
 * (ret says what was found and needed), or the -errno of getrlimit. */
int lars_limits_nofile_ensure(uint64_t max_conns, uint64_t reserve, lars_limits_nofile_t *ret);

#endif
