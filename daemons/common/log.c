/*
 * lars_log: one formatted message to journald or stderr (see log.h). The
 * message is built on the stack and leaves with one call (sd_journal_sendv
 * or write), so lines of concurrent threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "daemons/common/log.h"

#define LOG_MSG_MAX    2048
#define LOG_LINE_MAX   4096
#define LOG_FIELDS_MAX 16

static _Atomic int log_level = LOG_INFO;
static _Atomic int log_target = LARS_LOG_TARGET_STDERR;
static char log_ident[64] = "lars";

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "error",
    [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int lars_log_level_parse(const char *name)
{
    static const struct {
        const char *name;
        int prio;
    } aliases[] = {{"warn", LOG_WARNING}, {"err", LOG_ERR}};

    for (int i = LOG_CRIT; i <= LOG_DEBUG; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcasecmp(name, aliases[i].name) == 0)
            return aliases[i].prio;
    return -EINVAL;
}

const char *lars_log_level_name(int prio)
{
    if (prio < LOG_EMERG || prio > LOG_DEBUG)
        return "?";
    return level_names[prio];
}

void lars_log_set_level(int level)
{
    atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int lars_log_get_level(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

lars_log_target_t lars_log_get_target(void)
{
    return atomic_load_explicit(&log_target, memory_order_relaxed);
}

/* systemd sets $JOURNAL_STREAM to "DEV:INODE" of the stream it connected. */
static bool stderr_is_journal(void)
{
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
        return false;
    return st.st_dev == dev && st.st_ino == ino;
}

static lars_log_target_t choose_target(lars_log_target_t want)
{
    const char *force = getenv("LARS_LOG_STDERR");

    if (force && strcmp(force, "1") == 0)
        return LARS_LOG_TARGET_STDERR;
    if (want != LARS_LOG_TARGET_AUTO)
        return want;
    if (stderr_is_journal())
        return LARS_LOG_TARGET_JOURNAL;
    if (isatty(STDERR_FILENO))
        return LARS_LOG_TARGET_STDERR;
    if (access("/run/systemd/journal/socket", W_OK) == 0)
        return LARS_LOG_TARGET_JOURNAL;
    return LARS_LOG_TARGET_STDERR;
}

void lars_log_init(const char *ident, int level, lars_log_target_t target)
{
    if (ident)
        snprintf(log_ident, sizeof(log_ident), "%s", ident);
    lars_log_set_level(level);
    atomic_store(&log_target, choose_target(target));
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void log_to_stderr(int prio, const char *const *fields, const char *msg)
{
    char line[LOG_LINE_MAX];
    size_t n;

    n = (size_t)snprintf(line, sizeof(line) - 1, "%s: %s", lars_log_level_name(prio), msg);
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    for (size_t i = 0; fields && fields[i] && n < sizeof(line) - 2; i++) {
        size_t w =
            (size_t)snprintf(line + n, sizeof(line) - 1 - n, "%s%s", i ? " " : "  ", fields[i]);

        n = n + w > sizeof(line) - 2 ? sizeof(line) - 2 : n + w;
    }
    line[n++] = '\n';
    write_all(STDERR_FILENO, line, n);
}

static int log_to_journal(int prio, const char *const *fields, const char *file, int line,
                          const char *func, const char *msg)
{
    char prio_f[16], ident_f[96], line_f[32], file_f[256], func_f[128], msg_f[LOG_MSG_MAX + 16];
    struct iovec iov[6 + LOG_FIELDS_MAX];
    int n = 0;

#define IOV_STR(buf, ...)                                                                          \
    do {                                                                                           \
        int len_ = snprintf(buf, sizeof(buf), __VA_ARGS__);                                        \
        iov[n++] = (struct iovec){buf, len_ < (int)sizeof(buf) ? (size_t)len_ : sizeof(buf) - 1};  \
    } while (0)
    IOV_STR(prio_f, "PRIORITY=%d", prio);
    IOV_STR(ident_f, "SYSLOG_IDENTIFIER=%s", log_ident);
    IOV_STR(msg_f, "MESSAGE=%s", msg);
    IOV_STR(file_f, "CODE_FILE=%s", file);
    IOV_STR(line_f, "CODE_LINE=%d", line);
    IOV_STR(func_f, "CODE_FUNC=%s", func);
#undef IOV_STR
    for (size_t i = 0; fields && fields[i] && i < LOG_FIELDS_MAX; i++)
        iov[n++] = (struct iovec){(void *)fields[i], strlen(fields[i])};
    return sd_journal_sendv(iov, n);
}

static void log_emit(int prio, const char *const *fields, const char *file, int line,
                     const char *func, const char *msg)
{
    if (lars_log_get_target() == LARS_LOG_TARGET_JOURNAL &&
        log_to_journal(prio, fields, file, line, func, msg) >= 0)
        return;
    log_to_stderr(prio, fields, msg);
}

void lars_log_full(int prio, const char *const *fields, const char *file, int line,
                   const char *func, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[LOG_MSG_MAX];
    va_list ap;

    if (!lars_log_enabled(prio))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_emit(prio, fields, file, line, func, msg);
    errno = saved_errno;
}

void lars_log_pair_full(int prio, int modid, int cmdid, const char *file, int line,
                        const char *func, const char *fmt, ...)
{
    int saved_errno = errno;
    char msg[LOG_MSG_MAX], mod_f[32], cmd_f[32];
    const char *fields[] = {mod_f, cmd_f, NULL};
    va_list ap;

    if (!lars_log_enabled(prio))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(mod_f, sizeof(mod_f), "LARS_MODID=%d", modid);
    snprintf(cmd_f, sizeof(cmd_f), "LARS_CMDID=%d", cmdid);
    log_emit(prio, fields, file, line, func, msg);
    errno = saved_errno;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool lars_ratelimit_check(lars_ratelimit_t *rl, uint64_t interval_ms, unsigned burst,
                          unsigned *ret_suppressed)
{
    uint64_t now = now_ms();
    bool ok;

    pthread_mutex_lock(&rl->lock);
    if (rl->begin_ms == 0 || now - rl->begin_ms >= interval_ms) {
        rl->begin_ms = now;
        rl->count = 0;
    }
    ok = rl->count < burst;
    if (ok) {
        rl->count++;
        *ret_suppressed = rl->suppressed;
        rl->suppressed = 0;
    } else {
        rl->suppressed++;
        *ret_suppressed = 0;
    }
    pthread_mutex_unlock(&rl->lock);
    return ok;
}
