/*
 * Logging for the daemons and tools: journald (native protocol, with
 * priorities and structured fields such as LARS_MODID=) when running under
 * systemd, stderr otherwise.
 *
 * The destination is chosen once by lars_log_init():
 *   - stderr when $LARS_LOG_STDERR=1 (tests), or when stderr is a terminal;
 *   - the journal when $JOURNAL_STREAM names our stderr (systemd connected
 *     it to the journal), or when stderr is neither a terminal nor the
 *     journal but journald's socket exists;
 *   - stderr otherwise. A message the journal refuses goes to stderr.
 * On stderr a message is one line, written with one write(2):
 *   "<level>: message  KEY=VAL KEY=VAL"
 *
 * Every function is thread-safe. The level can change at any time
 * (e.g. on SIGHUP); messages above it cost one atomic load.
 */
#ifndef LARS_COMMON_LOG_H
#define LARS_COMMON_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* Priorities are syslog's: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG. */

typedef enum lars_log_target {
    LARS_LOG_TARGET_AUTO,
    LARS_LOG_TARGET_STDERR,
    LARS_LOG_TARGET_JOURNAL,
} lars_log_target_t;

/* ident: SYSLOG_IDENTIFIER (program name); level: the most verbose priority
 * that is logged. Safe to call again (e.g. to change ident). */
void lars_log_init(const char *ident, int level, lars_log_target_t target);
void lars_log_set_level(int level);
int lars_log_get_level(void);
lars_log_target_t lars_log_get_target(void);
/* "debug".."error" (also "warn", "err", "crit") -> LOG_*; -EINVAL otherwise. */
int lars_log_level_parse(const char *name);
const char *lars_log_level_name(int prio);

static inline bool lars_log_enabled(int prio)
{
    return prio <= lars_log_get_level();
}

/* fields: NULL, or a NULL-terminated array of "KEY=value" journal fields
 * (KEY in capitals, e.g. "LARS_MODID=1"). errno is preserved, so %m works. */
void lars_log_full(int prio, const char *const *fields, const char *file, int line,
                   const char *func, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define lars_log(prio, ...)                                                                        \
    do {                                                                                           \
        if (lars_log_enabled(prio))                                                                \
            lars_log_full(prio, NULL, __FILE__, __LINE__, __func__, __VA_ARGS__);                  \
    } while (0)

/* lars_log_kv(LOG_INFO, LARS_FIELDS("LARS_MODID=1", "LARS_CMDID=2"), "..."). */
#define LARS_FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define lars_log_kv(prio, fields, ...)                                                             \
    do {                                                                                           \
        if (lars_log_enabled(prio))                                                                \
            lars_log_full(prio, fields, __FILE__, __LINE__, __func__, __VA_ARGS__);                \
    } while (0)

/* The common case of the agent and lars-dns: a message about one route pair,
 * with LARS_MODID= and LARS_CMDID= fields. */
void lars_log_pair_full(int prio, int modid, int cmdid, const char *file, int line,
                        const char *func, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
#define lars_log_pair(prio, modid, cmdid, ...)                                                     \
    do {                                                                                           \
        if (lars_log_enabled(prio))                                                                \
            lars_log_pair_full(prio, modid, cmdid, __FILE__, __LINE__, __func__, __VA_ARGS__);     \
    } while (0)

/* ------------------------------------------------------- rate limiting -- */

/* State of one call site: at most `burst` messages per `interval_ms`; the
 * first message after a suppressed stretch is preceded by a line
 * "suppressed N messages" (so the summary waits for the next message). */
typedef struct lars_ratelimit {
    pthread_mutex_t lock;
    uint64_t begin_ms;
    unsigned count;
    unsigned suppressed;
} lars_ratelimit_t;

#define LARS_RATELIMIT_INIT                                                                        \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, 0, 0, 0                                                         \
    }
#define LARS_LOG_RL_INTERVAL_MS 10000
#define LARS_LOG_RL_BURST       10

/* true when the message may go out; *ret_suppressed: how many were dropped
 * since the last one that went out. */
bool lars_ratelimit_check(lars_ratelimit_t *rl, uint64_t interval_ms, unsigned burst,
                          unsigned *ret_suppressed);

/* Per call site, for errors a peer can provoke (bad frames, floods). */
#define lars_log_ratelimit(prio, interval_ms, burst, fields, ...)                                  \
    do {                                                                                           \
        static lars_ratelimit_t lars_rl_ = LARS_RATELIMIT_INIT;                                    \
        unsigned lars_rl_supp_;                                                                    \
        if (lars_log_enabled(prio) &&                                                              \
            lars_ratelimit_check(&lars_rl_, interval_ms, burst, &lars_rl_supp_)) {                 \
            if (lars_rl_supp_)                                                                     \
                lars_log_full(prio, fields, __FILE__, __LINE__, __func__,                          \
                              "suppressed %u messages like the next one", lars_rl_supp_);          \
            lars_log_full(prio, fields, __FILE__, __LINE__, __func__, __VA_ARGS__);                \
        }                                                                                          \
    } while (0)
#define lars_log_rl(prio, ...)                                                                     \
    lars_log_ratelimit(prio, LARS_LOG_RL_INTERVAL_MS, LARS_LOG_RL_BURST, NULL, __VA_ARGS__)

#endif
