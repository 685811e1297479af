/*
 * Baseline for the reactor benchmark: the simplest correct echo server with
 * the same framing. One thread, level-triggered epoll, one fixed input
 * buffer per connection; every complete frame in the buffer is written back
 * straight from it with one write per read, the partial rest kept.
 *   echo_epoll [ADDR]   prints "port N", runs until killed
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS  65536
#define IN_CAP   (8 + 65527)
#define MAX_BODY 65527u

typedef struct conn {
    size_t len;
    uint8_t in[IN_CAP];
} conn_t;

static conn_t *conns[MAX_FDS];

static void conn_close(int ep, int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(conns[fd]);
    conns[fd] = NULL;
}

/* Small ping-pong replies always fit the socket; should one not, wait. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, 1000) <= 0)
                return -1;
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void conn_readable(int ep, int fd)
{
    conn_t *c = conns[fd];
    ssize_t n = read(fd, c->in + c->len, IN_CAP - c->len);
    size_t off = 0;

    if (n <= 0) {
        conn_close(ep, fd);
        return;
    }
    c->len += (size_t)n;
    while (c->len - off >= 8) {
        uint32_t blen;
        memcpy(&blen, c->in + off + 4, 4); /* little-endian host */
        if (blen > MAX_BODY) {
            conn_close(ep, fd);
            return;
        }
        if (c->len - off < 8 + blen)
            break;
        off += 8 + blen;
    }
    if (off > 0 && write_all(fd, c->in, off) < 0) {
        conn_close(ep, fd);
        return;
    }
    memmove(c->in, c->in + off, c->len - off);
    c->len -= off;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t slen = sizeof(sa);
    struct epoll_event evs[256], ev = {.events = EPOLLIN};
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), ep = epoll_create1(0), one = 1;
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    char host[64];
    int port = 0;

    if (sscanf(addr, "%63[^:]:%d", host, &port) != 2 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return 2;
    sa.sin_port = htons((uint16_t)port);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, SOMAXCONN) < 0)
        return 1;
    getsockname(lfd, (struct sockaddr *)&sa, &slen);
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd != lfd) {
                if (conns[fd])
                    conn_readable(ep, fd);
                continue;
            }
            int cfd;
            while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                if (cfd >= MAX_FDS || !(conns[cfd] = calloc(1, sizeof(conn_t)))) {
                    close(cfd);
                    continue;
                }
                setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                ev.data.fd = cfd;
                epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
            }
        }
    }
}
