/*
 * Named network namespaces for multi-host tests (see netns.h). Deleting a
 * namespace is what `ip netns del` does -- a lazy unmount of its bind mount
 * and an unlink -- done here with plain syscalls so that it is also safe in
 * a signal handler.
 */
#include "harness/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#define NETNS_DIR  "/var/run/netns"
#define PREFIX     "lars-e2e-"
#define MAX_NETNS  16
#define MAX_IPARGS 32

static char created[MAX_NETNS][NETNS_NAME_MAX];
static volatile sig_atomic_t ncreated;
static __thread int home_fd = -1;

static void delete_one(const char *name)
{
    char path[sizeof(NETNS_DIR) + NETNS_NAME_MAX + 1];
    size_t d = strlen(NETNS_DIR), n = strlen(name);

    /* No snprintf: this runs in signal handlers too. */
    memcpy(path, NETNS_DIR, d);
    path[d] = '/';
    memcpy(path + d + 1, name, n + 1);
    umount2(path, MNT_DETACH);
    unlink(path);
}

void netns_cleanup(void)
{
    while (ncreated > 0) {
        ncreated--;
        delete_one(created[ncreated]);
    }
}

static void on_fatal_signal(int sig)
{
    netns_cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_cleanup(void)
{
    static bool installed;
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

    if (installed)
        return;
    installed = true;
    atexit(netns_cleanup);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], on_fatal_signal);
}

/* Namespaces of earlier runs killed before they could clean up. */
static void delete_stale(void)
{
    DIR *dir = opendir(NETNS_DIR);
    struct dirent *e;

    if (!dir)
        return;
    while ((e = readdir(dir))) {
        if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
            continue;
        long pid = strtol(e->d_name + strlen(PREFIX), NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
            delete_one(e->d_name);
    }
    closedir(dir);
}

static void child_exec(const char *name, const char *const *argv, int outfd)
{
    if (name) {
        char path[sizeof(NETNS_DIR) + NETNS_NAME_MAX + 1];
        snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            _exit(126);
    }
    if (outfd >= 0)
        dup2(outfd, 1);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

int netns_run(const char *name, const char *const *argv, char *out, size_t size)
{
    int pipefd[2] = {-1, -1}, status;
    size_t len = 0;
    pid_t pid;

    if (out && pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        int r = -errno;
        if (out) {
            close(pipefd[0]);
            close(pipefd[1]);
        }
        return r;
    }
    if (pid == 0)
        child_exec(name, argv, pipefd[1]);
    if (out) {
        close(pipefd[1]);
        for (;;) {
            char discard[256];
            char *p = len + 1 < size ? out + len : discard;
            size_t room = len + 1 < size ? size - 1 - len : sizeof(discard);
            ssize_t n = read(pipefd[0], p, room);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (p == out + len)
                len += (size_t)n;
        }
        close(pipefd[0]);
        if (size)
            out[len] = '\0';
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(status))
        return -EINTR;
    return WEXITSTATUS(status);
}

int netns_ip(const char *fmt, ...)
{
    char line[512], *save = NULL;
    const char *argv[MAX_IPARGS + 2];
    size_t argc = 0;
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    argv[argc++] = "ip";
    for (char *tok = strtok_r(line, " ", &save); tok && argc <= MAX_IPARGS;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    r = netns_run(NULL, argv, NULL, 0);
    if (r == 127)
        return -ENOENT;
    return r == 0 ? 0 : r < 0 ? r : -EIO;
}

int netns_create(const char *tag, char *ret_name)
{
    char name[NETNS_NAME_MAX];
    int r;

    if (ncreated >= MAX_NETNS)
        return -ENOSPC;
    install_cleanup();
    delete_stale();
    snprintf(name, sizeof(name), PREFIX "%ld-%s", (long)getpid(), tag);
    r = netns_ip("netns add %s", name);
    if (r < 0)
        return r;
    memcpy(created[ncreated], name, sizeof(name));
    ncreated++;
    r = netns_ip("-n %s link set lo up", name);
    if (r < 0)
        return r;
    memcpy(ret_name, name, sizeof(name));
    return 0;
}

bool netns_supported(char *why, size_t size)
{
    char name[NETNS_NAME_MAX];
    int r;

    if (access("/proc/thread-self/ns/net", R_OK) < 0) {
        snprintf(why, size, "no network namespaces in this kernel");
        return false;
    }
    r = netns_create("probe", name);
    if (r == -ENOENT) {
        snprintf(why, size, "no ip(8) command");
        return false;
    }
    if (r < 0) {
        snprintf(why, size, "no CAP_NET_ADMIN (cannot create a network namespace)");
        return false;
    }
    r = netns_enter(name);
    if (r == 0)
        r = netns_leave();
    ncreated--;
    delete_one(name);
    if (r < 0) {
        snprintf(why, size, "no CAP_SYS_ADMIN (cannot enter a network namespace)");
        return false;
    }
    return true;
}

int netns_enter(const char *name)
{
    char path[sizeof(NETNS_DIR) + NETNS_NAME_MAX + 1];
    int fd, r = 0;

    if (home_fd < 0) {
        home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home_fd < 0)
            return -errno;
    }
    snprintf(path, sizeof(path), NETNS_DIR "/%s", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (setns(fd, CLONE_NEWNET) < 0)
        r = -errno;
    close(fd);
    return r;
}

int netns_leave(void)
{
    if (home_fd < 0)
        return 0;
    return setns(home_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}
