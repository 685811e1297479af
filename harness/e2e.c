/*
 * Helpers shared by the end-to-end tests (see e2e.h).
 */
#include "harness/e2e.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness/netns.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

const char *e2e_bin(const char *name)
{
    static char buf[8][256];
    static int k;
    const char *build = getenv("LARS_BUILD");

    k = (k + 1) % 8;
    if (strncmp(name, "progs/", 6) == 0)
        snprintf(buf[k], sizeof(buf[k]), "%s/tests/%s", build ? build : "build", name);
    else
        snprintf(buf[k], sizeof(buf[k]), "%s/bin/%s", build ? build : "build", name);
    return buf[k];
}

harness_t *e2e_start(const char *dir, const char *name, const char *file, const char *conf,
                     const test_mariadb_t *db, const harness_socket_t *socks, size_t nsocks,
                     int timeout_ms)
{
    char path[256];
    harness_t *h;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.conf", dir, file ? file : name);
    f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(conf, f);
    if (db)
        test_mariadb_conf_snippet(db, f);
    fclose(f);
    const char *argv[] = {e2e_bin(name), "-c", path, NULL};
    harness_opts_t o = {.argv = argv, .sockets = socks, .nsockets = nsocks};
    h = harness_start(&o);
    if (h && !harness_wait_notify(h, "READY=1", timeout_ms)) {
        fprintf(stderr, "e2e: %s (%s) sent no READY=1\n", name, path);
        harness_dump_log(h);
        harness_free(h);
        return NULL;
    }
    return h;
}

unsigned long long e2e_status_counter(harness_t *h, const char *label)
{
    char buf[1024];
    const char *p;

    harness_last_status(h, buf, sizeof(buf));
    p = strstr(buf, label);
    return p ? strtoull(p + strlen(label), NULL, 10) : 0;
}

unsigned long long e2e_status_counter_before(harness_t *h, const char *label)
{
    char buf[1024];
    const char *p;

    harness_last_status(h, buf, sizeof(buf));
    p = strstr(buf, label);
    if (!p)
        return 0;
    while (p > buf && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return strtoull(p, NULL, 10);
}

bool e2e_wait_counter(harness_t *h, const char *label, unsigned long long want, int timeout_ms)
{
    uint64_t until = harness_now_ms() + (uint64_t)timeout_ms;
    char buf[1024];

    do {
        if (e2e_status_counter(h, label) >= want)
            return true;
        usleep(100 * 1000);
    } while (harness_now_ms() < until);
    fprintf(stderr, "e2e: STATUS \"%s\" < %llu: %s\n", label, want,
            harness_last_status(h, buf, sizeof(buf)));
    return false;
}

int e2e_larsctl(const char *netns, const char *conf, const char *fmt, ...)
{
    char line[256], *save = NULL;
    const char *argv[24];
    size_t argc = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    argv[argc++] = e2e_bin("larsctl");
    argv[argc++] = "-c";
    argv[argc++] = conf;
    for (char *tok = strtok_r(line, " ", &save); tok && argc < 23; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    return netns_run(netns, argv, NULL, 0);
}

bool e2e_wait_route(lars_client_t *c, int modid, int cmdid, size_t n, int timeout_ms)
{
    uint64_t until = harness_now_ms() + (uint64_t)timeout_ms;
    lars_host_t buf[16];
    size_t got = 0;

    do {
        lars_get_route(c, modid, cmdid, buf, 16, &got);
        if (got == n)
            return true;
        usleep(50 * 1000);
    } while (harness_now_ms() < until);
    fprintf(stderr, "e2e: route %d/%d has %zu hosts, want %zu\n", modid, cmdid, got, n);
    return false;
}

int e2e_set_rcvbuf(harness_t *h, size_t n, int bytes)
{
    int pidfd = (int)syscall(SYS_pidfd_open, harness_pid(h), 0), r = 0;

    if (pidfd < 0)
        return -errno;
    for (size_t i = 0; i < n && r == 0; i++) {
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, 3 + (int)i, 0);
        if (fd < 0) {
            r = -errno;
            break;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0 &&
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0)
            r = -errno;
        close(fd);
    }
    close(pidfd);
    return r;
}

uint64_t e2e_udp_drops(int port)
{
    char line[512], want[16];
    uint64_t drops = 0;
    FILE *f = fopen("/proc/net/udp", "r");

    if (!f)
        return 0;
    /* local_address is "0100007F:PORT" for 127.0.0.1 (little-endian hex). */
    snprintf(want, sizeof(want), "0100007F:%04X", port);
    while (fgets(line, sizeof(line), f)) {
        if (!strstr(line, want))
            continue;
        /* The drops counter is the last field. */
        char *end = line + strlen(line);
        while (end > line && (end[-1] == '\n' || end[-1] == ' '))
            *--end = '\0';
        char *last = strrchr(line, ' ');
        if (last)
            drops = strtoull(last + 1, NULL, 10);
        break;
    }
    fclose(f);
    return drops;
}
