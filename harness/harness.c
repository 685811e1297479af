/*
 * The daemon test harness (see harness.h). The environment of the child is
 * built before fork(); only LISTEN_PID and WATCHDOG_PID, which need the
 * child's own pid, are patched in place after it, so the child runs nothing
 * but async-signal-safe code between fork() and execve().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/harness.h"

#define PID_DIGITS 10
#define NOTIFY_MAX 4096

extern char **environ;

typedef struct notification {
    uint64_t at_ms;
    char *text;
} notification_t;

struct harness {
    pid_t pid;
    bool reaped;
    int status;
    char dir[64];
    char notify_path[128];
    char log_path[128];
    int notify_fd;
    int nsockets;
    int ports[HARNESS_MAX_SOCKETS];

    pthread_t reader;
    bool reader_started;
    int stop_pipe[2];
    /* Held while taking datagrams off notify_fd, so that the reader and a
     * thread draining after the child exited record them in order. */
    pthread_mutex_t drain_lock;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    notification_t *notes;
    size_t nnotes;

    harness_t *next_live;
};

/* Harnesses whose child may still run, killed at exit(). */
static harness_t *live_list;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t harness_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void kill_live_children(void)
{
    pthread_mutex_lock(&live_lock);
    for (harness_t *h = live_list; h; h = h->next_live)
        if (!h->reaped) {
            kill(h->pid, SIGKILL);
            waitpid(h->pid, NULL, 0);
        }
    pthread_mutex_unlock(&live_lock);
}

static void live_add(harness_t *h)
{
    static bool registered;

    pthread_mutex_lock(&live_lock);
    if (!registered)
        atexit(kill_live_children);
    registered = true;
    h->next_live = live_list;
    live_list = h;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(harness_t *h)
{
    pthread_mutex_lock(&live_lock);
    for (harness_t **p = &live_list; *p; p = &(*p)->next_live)
        if (*p == h) {
            *p = h->next_live;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

/* ------------------------------------------------------------ sockets -- */

static int socket_open(const char *spec, int *ret_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char host[64];
    unsigned port;
    socklen_t len = sizeof(sa);
    int type, fd, one = 1;

    if (strncmp(spec, "tcp:", 4) == 0)
        type = SOCK_STREAM;
    else if (strncmp(spec, "udp:", 4) == 0)
        type = SOCK_DGRAM;
    else
        return -EINVAL;
    if (sscanf(spec + 4, "%63[^:]:%u", host, &port) != 2 || port > 65535 ||
        inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    sa.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 128) < 0) ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        int r = -errno;

        close(fd);
        return r;
    }
    *ret_port = ntohs(sa.sin_port);
    return fd;
}

static int notify_open(harness_t *h)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int size = 1 << 20;

    snprintf(h->notify_path, sizeof(h->notify_path), "%s/notify", h->dir);
    if (strlen(h->notify_path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, h->notify_path, strlen(h->notify_path) + 1);
    h->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (h->notify_fd < 0)
        return -errno;
    setsockopt(h->notify_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (bind(h->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    return 0;
}

/* ------------------------------------------------------ notifications -- */

static void notify_drain(harness_t *h)
{
    char buf[NOTIFY_MAX + 1];
    ssize_t n;

    pthread_mutex_lock(&h->drain_lock);
    while ((n = recv(h->notify_fd, buf, NOTIFY_MAX, 0)) >= 0) {
        notification_t *v;

        buf[n] = '\0';
        pthread_mutex_lock(&h->lock);
        v = realloc(h->notes, (h->nnotes + 1) * sizeof(*v));
        if (v) {
            h->notes = v;
            v[h->nnotes].at_ms = harness_now_ms();
            v[h->nnotes].text = strdup(buf);
            if (v[h->nnotes].text)
                h->nnotes++;
        }
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->lock);
    }
    pthread_mutex_unlock(&h->drain_lock);
}

static void *notify_reader(void *arg)
{
    harness_t *h = arg;
    struct pollfd pfd[2] = {{.fd = h->notify_fd, .events = POLLIN},
                            {.fd = h->stop_pipe[0], .events = POLLIN}};

    for (;;) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        if (pfd[0].revents)
            notify_drain(h);
    }
    notify_drain(h);
    return NULL;
}

static bool text_has_line(const char *text, const char *line)
{
    size_t len = strlen(line);

    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
            return true;
    return false;
}

/* The newest STATUS= value, under h->lock. */
static const char *status_locked(const harness_t *h, size_t *ret_len)
{
    for (size_t i = h->nnotes; i-- > 0;) {
        const char *t = h->notes[i].text, *end;

        for (const char *p = t; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
            if (strncmp(p, "STATUS=", 7) != 0)
                continue;
            end = strchr(p, '\n');
            *ret_len = end ? (size_t)(end - p - 7) : strlen(p + 7);
            return p + 7;
        }
    }
    *ret_len = 0;
    return "";
}

static unsigned count_locked(const harness_t *h, const char *line, uint64_t from, uint64_t to)
{
    unsigned n = 0;

    for (size_t i = 0; i < h->nnotes; i++)
        if (h->notes[i].at_ms >= from && h->notes[i].at_ms <= to &&
            text_has_line(h->notes[i].text, line))
            n++;
    return n;
}

static void deadline_ts(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits in slices so that a child that exited ends the wait early (once
 * the notifications it sent before exiting were read). */
static bool wait_for(harness_t *h, bool (*done)(harness_t *h, const void *arg), const void *arg,
                     int timeout_ms)
{
    uint64_t end = harness_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    bool ok, exited = false;

    pthread_mutex_lock(&h->lock);
    while (!(ok = done(h, arg)) && !exited && harness_now_ms() < end) {
        struct timespec slice;

        deadline_ts(&slice, 50);
        pthread_cond_timedwait(&h->cond, &h->lock, &slice);
        if (!h->reaped && waitpid(h->pid, &h->status, WNOHANG) == h->pid) {
            h->reaped = true;
            kill(-h->pid, SIGKILL);
            /* What the child sent last may still wait for the reader. */
            pthread_mutex_unlock(&h->lock);
            notify_drain(h);
            pthread_mutex_lock(&h->lock);
        }
        exited = h->reaped;
    }
    if (!ok)
        ok = done(h, arg);
    pthread_mutex_unlock(&h->lock);
    return ok;
}

typedef struct count_arg {
    const char *line;
    unsigned n;
} count_arg_t;

static bool count_done(harness_t *h, const void *arg)
{
    const count_arg_t *c = arg;

    return count_locked(h, c->line, 0, UINT64_MAX) >= c->n;
}

bool harness_wait_count(harness_t *h, const char *line, unsigned n, int timeout_ms)
{
    count_arg_t c = {line, n};

    return wait_for(h, count_done, &c, timeout_ms);
}

bool harness_wait_notify(harness_t *h, const char *line, int timeout_ms)
{
    return harness_wait_count(h, line, 1, timeout_ms);
}

static bool status_done(harness_t *h, const void *text)
{
    size_t len;
    const char *s = status_locked(h, &len);

    return memmem(s, len, text, strlen(text)) != NULL;
}

bool harness_wait_status(harness_t *h, const char *text, int timeout_ms)
{
    return wait_for(h, status_done, text, timeout_ms);
}

unsigned harness_count(harness_t *h, const char *line)
{
    return harness_count_between(h, line, 0, UINT64_MAX);
}

unsigned harness_count_between(harness_t *h, const char *line, uint64_t from_ms, uint64_t to_ms)
{
    unsigned n;

    pthread_mutex_lock(&h->lock);
    n = count_locked(h, line, from_ms, to_ms);
    pthread_mutex_unlock(&h->lock);
    return n;
}

const char *harness_last_status(harness_t *h, char *buf, size_t size)
{
    size_t len;
    const char *s;

    pthread_mutex_lock(&h->lock);
    s = status_locked(h, &len);
    snprintf(buf, size, "%.*s", (int)len, s);
    pthread_mutex_unlock(&h->lock);
    return buf;
}

size_t harness_notify_count(harness_t *h)
{
    size_t n;

    pthread_mutex_lock(&h->lock);
    n = h->nnotes;
    pthread_mutex_unlock(&h->lock);
    return n;
}

const char *harness_notify_get(harness_t *h, size_t i, char *buf, size_t size)
{
    pthread_mutex_lock(&h->lock);
    snprintf(buf, size, "%s", i < h->nnotes ? h->notes[i].text : "");
    pthread_mutex_unlock(&h->lock);
    return buf;
}

/* -------------------------------------------------------------- start -- */

typedef struct child_env {
    char **envp;
    char *listen_pid; /* points at the PID_DIGITS digits to patch, or NULL */
    char *watchdog_pid;
} child_env_t;

static char *env_fmt(const char *fmt, const char *a, const char *b)
{
    char *s;

    return asprintf(&s, fmt, a, b) < 0 ? NULL : s;
}

static bool env_overridden(const char *entry, const harness_opts_t *o)
{
    static const char *const ours[] = {"LISTEN_", "NOTIFY_SOCKET=", "WATCHDOG_",
                                       "LARS_LOG_STDERR=", NULL};
    size_t klen = strcspn(entry, "=") + 1;

    for (const char *const *p = ours; *p; p++)
        if (strncmp(entry, *p, strlen(*p)) == 0)
            return true;
    for (const char *const *e = o->env; e && *e; e++)
        if (strncmp(entry, *e, klen) == 0)
            return true;
    return false;
}

static void child_env_free(child_env_t *ce)
{
    for (char **p = ce->envp; p && *p; p++)
        free(*p);
    free(ce->envp);
}

static int child_env_build(harness_t *h, const harness_opts_t *o, child_env_t *ce)
{
    size_t n = 0, cap = 16;
    char names[1024] = "", num[32];

    for (char **e = environ; *e; e++)
        cap++;
    for (const char *const *e = o->env; e && *e; e++)
        cap++;
    ce->envp = calloc(cap, sizeof(char *));
    if (!ce->envp)
        return -ENOMEM;
#define ADD(s) (ce->envp[n] = (s), ce->envp[n] ? (void)n++ : (void)0)
    for (char **e = environ; *e; e++)
        if (!env_overridden(*e, o))
            ADD(strdup(*e));
    for (const char *const *e = o->env; e && *e; e++)
        ADD(strdup(*e));
    ADD(env_fmt("NOTIFY_SOCKET=%s%s", h->notify_path, ""));
    ADD(strdup("LARS_LOG_STDERR=1"));
    if (o->nsockets > 0) {
        for (size_t i = 0; i < o->nsockets; i++) {
            const char *name = o->sockets[i].name ? o->sockets[i].name : "unknown";

            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ":" : "",
                     name);
        }
        snprintf(num, sizeof(num), "%zu", o->nsockets);
        ADD(env_fmt("LISTEN_FDS=%s%s", num, ""));
        ADD(env_fmt("LISTEN_FDNAMES=%s%s", names, ""));
        ADD(strdup("LISTEN_PID=0000000000"));
        ce->listen_pid = n ? ce->envp[n - 1] + strlen("LISTEN_PID=") : NULL;
    }
    if (o->watchdog_usec) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)o->watchdog_usec);
        ADD(env_fmt("WATCHDOG_USEC=%s%s", num, ""));
        ADD(strdup("WATCHDOG_PID=0000000000"));
        ce->watchdog_pid = n ? ce->envp[n - 1] + strlen("WATCHDOG_PID=") : NULL;
    }
#undef ADD
    return 0;
}

/* Writes pid into exactly PID_DIGITS characters, then cuts the rest. */
static void patch_pid(char *p, pid_t pid)
{
    char digits[PID_DIGITS];
    int n = 0;

    if (!p)
        return;
    do {
        digits[n++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0 && n < PID_DIGITS);
    for (int i = 0; i < n; i++)
        p[i] = digits[n - 1 - i];
    p[n] = '\0';
}

static void close_range_from(int first)
{
    for (int fd = first; fd < 1024; fd++)
        close(fd);
}

/* "harness: cannot execute PATH: errno N" into the log (async-signal-safe). */
static void write_exec_error(const char *path, int err)
{
    char num[12];
    int n = (int)sizeof(num);

    do {
        num[--n] = (char)('0' + err % 10);
        err /= 10;
    } while (err > 0 && n > 0);
    if (write(2, "harness: cannot execute ", 24) < 0 || write(2, path, strlen(path)) < 0 ||
        write(2, ": errno ", 8) < 0 || write(2, num + n, sizeof(num) - (size_t)n) < 0 ||
        write(2, "\n", 1) < 0)
        return;
}

/* In the child: nothing but async-signal-safe calls. */
static void child_exec(const harness_opts_t *o, const int *fds, int logfd, child_env_t *ce,
                       pid_t parent)
{
    sigset_t none;
    int high[HARNESS_MAX_SOCKETS], devnull;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);
    setpgid(0, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);

    devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    for (size_t i = 0; i < o->nsockets; i++)
        high[i] = fcntl(fds[i], F_DUPFD, 100);
    for (size_t i = 0; i < o->nsockets; i++)
        dup2(high[i], 3 + (int)i);
    close_range_from(3 + (int)o->nsockets);

    patch_pid(ce->listen_pid, getpid());
    patch_pid(ce->watchdog_pid, getpid());
    execve(o->argv[0], (char *const *)o->argv, ce->envp);
    write_exec_error(o->argv[0], errno);
    _exit(127);
}

static int open_sockets(harness_t *h, const harness_opts_t *o, int *fds)
{
    for (size_t i = 0; i < o->nsockets; i++) {
        fds[i] = socket_open(o->sockets[i].spec, &h->ports[i]);
        if (fds[i] < 0) {
            fprintf(stderr, "harness: cannot open socket %s: %s\n", o->sockets[i].spec,
                    strerror(-fds[i]));
            return fds[i];
        }
        h->nsockets = (int)i + 1;
    }
    return 0;
}

static int harness_prepare(harness_t *h)
{
    snprintf(h->dir, sizeof(h->dir), "/tmp/lars-harness-XXXXXX");
    if (!mkdtemp(h->dir))
        return -errno;
    snprintf(h->log_path, sizeof(h->log_path), "%s/log", h->dir);
    if (notify_open(h) < 0 || pipe2(h->stop_pipe, O_CLOEXEC) < 0)
        return -errno;
    if (pthread_create(&h->reader, NULL, notify_reader, h) != 0)
        return -EAGAIN;
    h->reader_started = true;
    return 0;
}

harness_t *harness_start(const harness_opts_t *o)
{
    int fds[HARNESS_MAX_SOCKETS], logfd = -1;
    child_env_t ce = {0};
    pid_t parent = getpid();
    harness_t *h;

    if (o->nsockets > HARNESS_MAX_SOCKETS)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->pid = -1;
    h->reaped = true;
    h->notify_fd = h->stop_pipe[0] = h->stop_pipe[1] = -1;
    pthread_mutex_init(&h->drain_lock, NULL);
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);

    if (harness_prepare(h) < 0 || open_sockets(h, o, fds) < 0 || child_env_build(h, o, &ce) < 0)
        goto out_free;
    logfd = open(h->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0)
        goto out_free;

    fflush(NULL);
    h->pid = fork();
    if (h->pid == 0)
        child_exec(o, fds, logfd, &ce, parent);
    if (h->pid < 0)
        goto out_free;
    h->reaped = false;
    live_add(h);
    close(logfd);
    for (int i = 0; i < h->nsockets; i++)
        close(fds[i]);
    child_env_free(&ce);
    return h;

out_free:
    fprintf(stderr, "harness: cannot start %s: %s\n", o->argv[0], strerror(errno));
    if (logfd >= 0)
        close(logfd);
    for (int i = 0; i < h->nsockets; i++)
        close(fds[i]);
    child_env_free(&ce);
    harness_free(h);
    return NULL;
}

pid_t harness_pid(const harness_t *h)
{
    return h->pid;
}

int harness_port(const harness_t *h, size_t i)
{
    return i < (size_t)h->nsockets ? h->ports[i] : -1;
}

const char *harness_dir(const harness_t *h)
{
    return h->dir;
}

/* ------------------------------------------------------------ process -- */

int harness_signal(harness_t *h, int sig)
{
    if (h->reaped)
        return -ESRCH;
    return kill(h->pid, sig) < 0 ? -errno : 0;
}

bool harness_exited(harness_t *h, int *ret_status)
{
    if (!h->reaped && waitpid(h->pid, &h->status, WNOHANG) == h->pid) {
        h->reaped = true;
        kill(-h->pid, SIGKILL); /* anything it left in its process group */
        /* Its datagrams are all queued on notify_fd by now, but the reader
         * thread may not have run yet: record them before saying "exited". */
        notify_drain(h);
    }
    if (h->reaped && ret_status)
        *ret_status = h->status;
    return h->reaped;
}

bool harness_wait_exit(harness_t *h, int timeout_ms, int *ret_status)
{
    uint64_t end = harness_now_ms() + (uint64_t)timeout_ms;

    while (!harness_exited(h, ret_status)) {
        if (harness_now_ms() >= end)
            return false;
        usleep(10 * 1000);
    }
    return true;
}

int harness_stop(harness_t *h, int timeout_ms)
{
    int status;

    if (h->pid < 0)
        return -1;
    if (harness_exited(h, &status))
        return status;
    kill(h->pid, SIGTERM);
    if (harness_wait_exit(h, timeout_ms, &status))
        return status;
    kill(-h->pid, SIGKILL);
    kill(h->pid, SIGKILL);
    harness_wait_exit(h, 10000, NULL);
    return -1;
}

void harness_free(harness_t *h)
{
    char cmd[128];

    if (!h)
        return;
    if (!h->reaped) {
        kill(-h->pid, SIGKILL);
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
        h->reaped = true;
    }
    live_remove(h);
    if (h->reader_started) {
        if (write(h->stop_pipe[1], "x", 1) < 0)
            perror("harness: stop reader");
        pthread_join(h->reader, NULL);
    }
    if (h->notify_fd >= 0)
        close(h->notify_fd);
    if (h->stop_pipe[0] >= 0) {
        close(h->stop_pipe[0]);
        close(h->stop_pipe[1]);
    }
    for (size_t i = 0; i < h->nnotes; i++)
        free(h->notes[i].text);
    free(h->notes);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->drain_lock);
    if (h->dir[0] && strncmp(h->dir, "/tmp/lars-harness-", 18) == 0 && !getenv("HARNESS_KEEP")) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: cannot remove %s\n", h->dir);
    }
    free(h);
}

/* --------------------------------------------------------------- logs -- */

const char *harness_log_path(const harness_t *h)
{
    return h->log_path;
}

char *harness_log(const harness_t *h)
{
    FILE *f = fopen(h->log_path, "re");
    char *buf = NULL;
    size_t len = 0;
    FILE *out;
    int c;

    out = open_memstream(&buf, &len);
    if (!out) {
        if (f)
            fclose(f);
        return NULL;
    }
    while (f && (c = getc(f)) != EOF)
        putc(c, out);
    fclose(out);
    if (f)
        fclose(f);
    return buf;
}

bool harness_log_contains(const harness_t *h, const char *text)
{
    char *log = harness_log(h);
    bool found = log && strstr(log, text);

    free(log);
    return found;
}

bool harness_wait_log(const harness_t *h, const char *text, int timeout_ms)
{
    uint64_t end = harness_now_ms() + (uint64_t)timeout_ms;

    for (;;) {
        if (harness_log_contains(h, text))
            return true;
        if (harness_now_ms() >= end)
            return false;
        usleep(20 * 1000);
    }
}

void harness_dump_log(const harness_t *h)
{
    char *log = harness_log(h);

    fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", h->log_path, log ? log : "");
    free(log);
}

long harness_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}
