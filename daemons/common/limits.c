/*
 * RLIMIT_NOFILE against max_conns (see limits.h).
 *
 * Raising the soft limit above 1024 is safe here: nothing in the process
 * uses select() (the reactor uses epoll, MariaDB Connector/C and libsystemd
 * use poll), so descriptors above FD_SETSIZE break nothing. glibc's
 * setrlimit() is the prlimit64 system call, which the units' system call
 * filter allows (@default) although it denies @resources.
 */
#include <errno.h>
#include <sys/resource.h>

#include "daemons/common/limits.h"

#define RESERVE_BASE       32
#define RESERVE_PER_THREAD 4

uint64_t lars_limits_nofile_reserve(unsigned threads)
{
    return RESERVE_BASE + (uint64_t)RESERVE_PER_THREAD * threads;
}

static uint64_t rlim_to_u64(rlim_t v)
{
    return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

static int nofile_set_soft(struct rlimit *rl, rlim_t soft)
{
    struct rlimit want = {.rlim_cur = soft, .rlim_max = rl->rlim_max};

    if (setrlimit(RLIMIT_NOFILE, &want) < 0)
        return -errno;
    rl->rlim_cur = soft;
    return 0;
}

int lars_limits_nofile_ensure(uint64_t max_conns, uint64_t reserve, lars_limits_nofile_t *ret)
{
    struct rlimit rl;
    uint64_t need = max_conns + reserve < max_conns ? UINT64_MAX : max_conns + reserve;

    *ret = (lars_limits_nofile_t){.need = need};
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    ret->before = rlim_to_u64(rl.rlim_cur);
    ret->hard = rlim_to_u64(rl.rlim_max);
    if (ret->before < need) {
        ret->raise_error = nofile_set_soft(&rl, rl.rlim_max);
        /* An unlimited hard limit is above fs.nr_open: ask for what is needed. */
        if (ret->raise_error < 0 && need < ret->hard)
            ret->raise_error = nofile_set_soft(&rl, (rlim_t)need);
    }
    ret->soft = rlim_to_u64(rl.rlim_cur);
    return ret->soft >= need ? 0 : -EMFILE;
}
