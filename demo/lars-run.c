/*
 * lars-run: a command-line front end to the daemon test harness
 * (harness/harness.h) for `make demo`. It starts one daemon the way
 * systemd would (sockets as fds 3.., LISTEN_FDS/LISTEN_FDNAMES, a private
 * NOTIFY_SOCKET), waits for READY=1, records every notification, and stays
 * until SIGTERM/SIGINT, which it forwards to the daemon (SIGKILL after a
 * bounded wait). SIGHUP and SIGUSR1 are forwarded as they are.
 *
 *   lars-run [--tcp HOST:PORT[=NAME]]... [--udp HOST:PORT[=NAME]]...
 *            [--pid-file F] [--ports-file F] [--status-file F] [--log F]
 *            [--ready-timeout SEC] [--name NAME] [--die-with-parent]
 *            -- PROGRAM [ARGS...]
 *
 * --log F is a symbolic link to the live log while the daemon runs and a
 * copy of the whole log once it stopped (the harness's temp dir goes away).
 * --pid-file is written only after READY=1, so a script may wait for it.
 * --ports-file gets the bound port of each socket, one a line, in order
 * (PORT 0 asks the kernel for a free one). --die-with-parent stops the
 * daemon when the process that started lars-run dies (a killed demo script).
 *
 * Exit status: 0 after a clean stop, 1 when the daemon failed or exited on
 * its own, 2 usage, 3 a socket could not be bound (address in use).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/harness.h"

#define STOP_TIMEOUT_MS 5000
#define TICK_NS         (100 * 1000 * 1000L)
#define NOTE_MAX        4096

typedef struct run_opts {
    harness_socket_t sockets[HARNESS_MAX_SOCKETS];
    char specs[HARNESS_MAX_SOCKETS][128];
    size_t nsockets;
    const char *pid_file, *ports_file, *status_file, *log_link, *name;
    int ready_timeout_s;
    bool die_with_parent;
    char **argv;
} run_opts_t;

typedef struct recorder {
    FILE *status;
    size_t seen;         /* notifications already recorded */
    char last[NOTE_MAX]; /* newest STATUS= value, to skip repeats */
} recorder_t;

static void usage(FILE *out)
{
    fprintf(out, "usage: lars-run [--tcp HOST:PORT[=NAME]]... [--udp HOST:PORT[=NAME]]...\n"
                 "                [--pid-file F] [--ports-file F] [--status-file F] [--log F]\n"
                 "                [--ready-timeout SEC] [--name NAME] [--die-with-parent]\n"
                 "                -- PROGRAM [ARGS...]\n");
}

static int add_socket(run_opts_t *o, const char *proto, const char *arg)
{
    size_t i = o->nsockets;
    const char *eq = strchr(arg, '=');
    int len = eq ? (int)(eq - arg) : (int)strlen(arg);

    if (i >= HARNESS_MAX_SOCKETS || len == 0)
        return -EINVAL;
    snprintf(o->specs[i], sizeof(o->specs[i]), "%s:%.*s", proto, len, arg);
    o->sockets[i] = (harness_socket_t){o->specs[i], eq ? eq + 1 : NULL};
    o->nsockets++;
    return 0;
}

static int parse_args(int argc, char **argv, run_opts_t *o)
{
    static const struct option options[] = {
        {"tcp", required_argument, NULL, 't'},
        {"udp", required_argument, NULL, 'u'},
        {"pid-file", required_argument, NULL, 'p'},
        {"ports-file", required_argument, NULL, 'P'},
        {"status-file", required_argument, NULL, 's'},
        {"log", required_argument, NULL, 'l'},
        {"ready-timeout", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},
        {"die-with-parent", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    o->ready_timeout_s = 30;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (c) {
        case 't':
        case 'u':
            if (add_socket(o, c == 't' ? "tcp" : "udp", optarg) < 0)
                return -EINVAL;
            break;
        case 'p':
            o->pid_file = optarg;
            break;
        case 'P':
            o->ports_file = optarg;
            break;
        case 's':
            o->status_file = optarg;
            break;
        case 'l':
            o->log_link = optarg;
            break;
        case 'r':
            o->ready_timeout_s = atoi(optarg);
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'd':
            o->die_with_parent = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -EINVAL;
        }
    }
    if (optind >= argc || o->ready_timeout_s <= 0)
        return -EINVAL;
    o->argv = argv + optind;
    if (!o->name) {
        const char *slash = strrchr(o->argv[0], '/');

        o->name = slash ? slash + 1 : o->argv[0];
    }
    return 0;
}

/* Written under a temporary name and renamed, so a reader never sees half. */
static int write_file_atomic(const char *path, const char *text)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "we");
    if (!f)
        return -errno;
    fputs(text, f);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        int r = -errno;

        unlink(tmp);
        return r;
    }
    return 0;
}

static void timestamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    snprintf(buf, size, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
}

/* One notification line: STATUS= only when it changed; WATCHDOG=1 never. */
static void record_line(recorder_t *rec, const char *name, const char *line)
{
    char when[32];

    if (strcmp(line, "WATCHDOG=1") == 0 || strncmp(line, "MONOTONIC_USEC=", 15) == 0)
        return;
    if (strncmp(line, "STATUS=", 7) == 0) {
        if (strcmp(rec->last, line + 7) == 0)
            return;
        snprintf(rec->last, sizeof(rec->last), "%s", line + 7);
    }
    timestamp(when, sizeof(when));
    printf("%s %s: %s\n", when, name, line);
    if (rec->status)
        fprintf(rec->status, "%s %s\n", when, line);
}

static void record_new(recorder_t *rec, harness_t *h, const char *name)
{
    char note[NOTE_MAX];
    size_t n = harness_notify_count(h);

    for (; rec->seen < n; rec->seen++) {
        harness_notify_get(h, rec->seen, note, sizeof(note));
        for (char *line = strtok(note, "\n"); line; line = strtok(NULL, "\n"))
            record_line(rec, name, line);
    }
    fflush(stdout);
    if (rec->status)
        fflush(rec->status);
}

static void link_log(const run_opts_t *o, harness_t *h)
{
    if (!o->log_link)
        return;
    unlink(o->log_link);
    if (symlink(harness_log_path(h), o->log_link) < 0)
        fprintf(stderr, "lars-run: cannot link %s: %m\n", o->log_link);
}

/* Replaces the link by a copy: the harness removes its directory. */
static void keep_log(const run_opts_t *o, harness_t *h)
{
    char *log;

    if (!o->log_link)
        return;
    log = harness_log(h);
    unlink(o->log_link);
    if (!log || write_file_atomic(o->log_link, log) < 0)
        fprintf(stderr, "lars-run: cannot write %s\n", o->log_link);
    free(log);
}

static int write_pid_and_ports(const run_opts_t *o, harness_t *h)
{
    char buf[256] = "";
    int r = 0;

    if (o->ports_file) {
        for (size_t i = 0; i < o->nsockets; i++)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%d\n", harness_port(h, i));
        r = write_file_atomic(o->ports_file, buf);
    }
    if (r >= 0 && o->pid_file) {
        snprintf(buf, sizeof(buf), "%d\n", (int)harness_pid(h));
        r = write_file_atomic(o->pid_file, buf);
    }
    if (r < 0)
        fprintf(stderr, "lars-run: cannot write pid or ports file: %s\n", strerror(-r));
    return r;
}

static void describe(const run_opts_t *o, harness_t *h)
{
    printf("lars-run: %s ready, pid %d", o->name, (int)harness_pid(h));
    for (size_t i = 0; i < o->nsockets; i++)
        printf(", %.3s port %d", o->specs[i], harness_port(h, i));
    printf("\n");
    fflush(stdout);
}

/* Waits for READY=1, recording notifications as they come. */
static bool wait_ready(harness_t *h, recorder_t *rec, const run_opts_t *o)
{
    uint64_t end = harness_now_ms() + (uint64_t)o->ready_timeout_s * 1000;

    while (!harness_wait_notify(h, "READY=1", 100)) {
        record_new(rec, h, o->name);
        if (harness_exited(h, NULL) || harness_now_ms() >= end)
            return false;
    }
    record_new(rec, h, o->name);
    return true;
}

/* Runs until a stop signal or the daemon's own exit; returns the exit code. */
static int supervise(harness_t *h, recorder_t *rec, const run_opts_t *o, const sigset_t *set)
{
    const struct timespec tick = {0, TICK_NS};
    int sig, status;

    for (;;) {
        sig = sigtimedwait(set, NULL, &tick);
        record_new(rec, h, o->name);
        if (sig == SIGHUP || sig == SIGUSR1) {
            harness_signal(h, sig);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (harness_exited(h, &status)) {
            fprintf(stderr, "lars-run: %s exited on its own (status %d)\n", o->name,
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            return 1;
        }
    }
    status = harness_stop(h, STOP_TIMEOUT_MS);
    record_new(rec, h, o->name);
    if (status == -1) {
        fprintf(stderr, "lars-run: %s did not stop within %d ms, killed\n", o->name,
                STOP_TIMEOUT_MS);
        return 1;
    }
    printf("lars-run: %s stopped (status %d)\n", o->name,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    run_opts_t o = {0};
    recorder_t rec = {0};
    harness_t *h;
    sigset_t set;
    int ret = 1;

    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    /* Blocked before the harness's reader thread exists, so only
     * sigtimedwait() below sees them; the daemon gets a clean mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (o.die_with_parent)
        prctl(PR_SET_PDEATHSIG, SIGTERM);

    if (o.status_file) {
        rec.status = fopen(o.status_file, "ae");
        if (!rec.status)
            fprintf(stderr, "lars-run: cannot open %s: %m\n", o.status_file);
    }
    harness_opts_t ho = {
        .argv = (const char *const *)o.argv, .sockets = o.sockets, .nsockets = o.nsockets};
    /* Nearly the only way the start fails: a socket cannot be bound. */
    h = harness_start(&ho);
    if (!h) {
        ret = 3;
        goto out_close_status;
    }
    link_log(&o, h);
    if (!wait_ready(h, &rec, &o)) {
        fprintf(stderr, "lars-run: %s did not send READY=1 within %d s; its log:\n", o.name,
                o.ready_timeout_s);
        harness_dump_log(h);
        harness_stop(h, STOP_TIMEOUT_MS);
        goto out_free;
    }
    if (write_pid_and_ports(&o, h) < 0)
        goto out_stop;
    describe(&o, h);
    ret = supervise(h, &rec, &o, &set);
    goto out_free;

out_stop:
    harness_stop(h, STOP_TIMEOUT_MS);
out_free:
    keep_log(&o, h);
    if (o.pid_file)
        unlink(o.pid_file);
    harness_free(h);
out_close_status:
    if (rec.status)
        fclose(rec.status);
    return ret;
}
