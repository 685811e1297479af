/*
 * Load generator for the echo benchmarks: C connections, each a closed loop
 * (send one frame, wait for its whole echo, check it, send the next) for S
 * seconds, all driven by one epoll thread. Prints "qps N errors N".
 *   loadgen PORT CONNS SECONDS [BODY_BYTES]
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct lconn {
    int fd;
    size_t got;
    uint8_t *req;
    uint8_t *resp;
} lconn_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: loadgen PORT CONNS SECONDS [BODY_BYTES]\n");
        return 2;
    }
    int port = atoi(argv[1]), nconns = atoi(argv[2]);
    double secs = atof(argv[3]);
    uint32_t body = argc > 4 ? (uint32_t)atoi(argv[4]) : 64;
    size_t flen = 8 + body;
    lconn_t *c = calloc((size_t)nconns, sizeof(*c));
    struct epoll_event evs[64];
    int ep = epoll_create1(0);
    uint64_t done = 0, errors = 0;
    double t0, end;

    for (int i = 0; i < nconns; i++) {
        int32_t id = 1;
        c[i].fd = dial(port);
        c[i].req = malloc(flen);
        c[i].resp = malloc(flen);
        if (c[i].fd < 0 || !c[i].req || !c[i].resp) {
            perror("loadgen: connect");
            return 1;
        }
        memcpy(c[i].req, &id, 4);
        memcpy(c[i].req + 4, &body, 4);
        for (uint32_t k = 0; k < body; k++)
            c[i].req[8 + k] = (uint8_t)(i + k);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
    }
    t0 = now_s();
    end = t0 + secs;
    for (int i = 0; i < nconns; i++)
        if (write(c[i].fd, c[i].req, flen) != (ssize_t)flen)
            errors++;
    while (now_s() < end) {
        int n = epoll_wait(ep, evs, 64, 100);
        for (int k = 0; k < n; k++) {
            lconn_t *x = &c[evs[k].data.u32];
            ssize_t r = read(x->fd, x->resp + x->got, flen - x->got);
            if (r <= 0) {
                fprintf(stderr, "loadgen: connection lost\n");
                return 1;
            }
            x->got += (size_t)r;
            if (x->got < flen)
                continue;
            errors += memcmp(x->resp, x->req, flen) != 0;
            x->got = 0;
            done++;
            if (write(x->fd, x->req, flen) != (ssize_t)flen)
                errors++;
        }
    }
    printf("qps %.0f errors %llu\n", (double)done / (now_s() - t0), (unsigned long long)errors);
    for (int i = 0; i < nconns; i++)
        close(c[i].fd);
    return errors ? 1 : 0;
}
