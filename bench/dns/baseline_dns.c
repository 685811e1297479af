/*
 * Baseline for the get_route rate of bench-dns: the least a route server
 * can do. Every pair's GetRouteResponse frame is encoded once from the
 * routes the daemon serves (the same SELECT); `threads` threads, each with
 * its own epoll instance, share one listening socket (EPOLLEXCLUSIVE); the
 * thread that accepts hands the connection to the next thread round-robin,
 * as lars-dns' accept loop spreads connections over its workers, so neither
 * side gains from an uneven spread. Each GetRouteRequest is answered by
 * writing the stored frame. No reactor, no snapshots, no subscriptions, no
 * limits: the figure lars-dns is measured against.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/dns/baseline_dns.h"
#include "proto/wire.h"

#define HDR        8
#define MAX_EVENTS 64
#define IN_MAX     4096

typedef struct frame {
    uint8_t *p;
    uint32_t len;
} frame_t;

typedef struct worker {
    struct baseline_dns *b;
    int ep; /* this thread's epoll; a connection belongs to the thread that
             * polls it */
    pthread_t thread;
} worker_t;

/* Built before the threads start and read-only while they run, except
 * next and stop. */
struct baseline_dns {
    int listen_fd, port;
    unsigned nworkers, nstarted;
    worker_t *workers;
    frame_t *frames; /* by modid * cmdid_span + cmdid */
    int32_t modid_max, cmdid_span;
    frame_t empty;
    atomic_uint next; /* the worker the next accepted connection goes to */
    atomic_int stop;
};

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int encode(frame_t *f, int32_t modid, int32_t cmdid, const int32_t *ips,
                  const int32_t *ports, size_t n)
{
    wire_host_t hosts[BASELINE_DNS_MAX_HOSTS];
    size_t len, written;

    for (size_t i = 0; i < n; i++)
        hosts[i] = (wire_host_t){ips[i], ports[i]};
    len = wire_get_route_resp_size(modid, cmdid, hosts, n);
    f->p = malloc(HDR + len);
    if (!f->p)
        return -ENOMEM;
    put_u32(f->p, WIRE_ID_GET_ROUTE_RESPONSE);
    put_u32(f->p + 4, (uint32_t)len);
    wire_encode_get_route_resp(f->p + HDR, len, modid, cmdid, hosts, n, &written);
    f->len = (uint32_t)(HDR + len);
    return 0;
}

static const frame_t *lookup(const baseline_dns_t *b, const uint8_t *body, uint32_t len)
{
    wire_get_route_req_t req;

    if (wire_decode_get_route_req(body, len, &req) < 0)
        return NULL;
    if (req.modid >= 0 && req.modid <= b->modid_max && req.cmdid >= 0 &&
        req.cmdid < b->cmdid_span) {
        const frame_t *g = &b->frames[(size_t)req.modid * (size_t)b->cmdid_span + req.cmdid];
        if (g->p)
            return g;
    }
    return &b->empty;
}

typedef struct conn {
    int fd;
    uint32_t used;
    uint8_t in[IN_MAX];
} conn_t;

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            usleep(50);
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads what is there and answers every whole request; -1 closes. */
static int serve(const baseline_dns_t *b, conn_t *c)
{
    ssize_t n = read(c->fd, c->in + c->used, sizeof(c->in) - c->used);
    uint32_t off = 0;

    if (n <= 0)
        return n < 0 && errno == EAGAIN ? 0 : -1;
    c->used += (uint32_t)n;
    while (c->used - off >= HDR) {
        uint32_t len = get_u32(c->in + off + 4);
        const frame_t *f;
        if (len > IN_MAX - HDR)
            return -1;
        if (c->used - off < HDR + len)
            break;
        f = lookup(b, c->in + off + HDR, len);
        if (!f || write_all(c->fd, f->p, f->len) < 0)
            return -1;
        off += HDR + len;
    }
    memmove(c->in, c->in + off, c->used - off);
    c->used -= off;
    return 0;
}

/* Accepts one connection and gives it to the next thread's epoll. */
static void accept_one(baseline_dns_t *b)
{
    int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
    struct epoll_event ev = {.events = EPOLLIN};
    conn_t *c;

    if (fd < 0)
        return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c = calloc(1, sizeof(*c));
    if (!c)
        goto out_close_fd;
    c->fd = fd;
    ev.data.ptr = c;
    if (epoll_ctl(b->workers[atomic_fetch_add(&b->next, 1) % b->nworkers].ep, EPOLL_CTL_ADD, fd,
                  &ev) == 0)
        return;
    free(c);
out_close_fd:
    close(fd);
}

static void *thread_main(void *arg)
{
    worker_t *w = arg;
    baseline_dns_t *b = w->b;
    struct epoll_event evs[MAX_EVENTS];

    while (!atomic_load(&b->stop)) {
        int n = epoll_wait(w->ep, evs, MAX_EVENTS, 100);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (!c) {
                accept_one(b);
            } else if (serve(b, c) < 0) {
                close(c->fd);
                free(c);
            }
        }
    }
    /* Connections still open at the stop are the bench's own: it closed
     * them already; their memory goes with the process. */
    return NULL;
}

int baseline_dns_new(baseline_dns_route_fn next, void *ctx, int32_t modid_max, int32_t cmdid_span,
                     unsigned threads, baseline_dns_t **ret)
{
    baseline_dns_t *b = calloc(1, sizeof(*b));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof(sa);
    int32_t modid, cmdid, ips[BASELINE_DNS_MAX_HOSTS], ports[BASELINE_DNS_MAX_HOSTS];
    size_t n;

    if (!b)
        return -ENOMEM;
    b->modid_max = modid_max;
    b->cmdid_span = cmdid_span;
    b->frames = calloc((size_t)(modid_max + 1) * (size_t)cmdid_span, sizeof(*b->frames));
    if (!b->frames || encode(&b->empty, 0, 0, NULL, NULL, 0) < 0)
        goto fail;
    while ((n = next(ctx, &modid, &cmdid, ips, ports)) > 0) {
        frame_t *f;
        if (modid < 0 || modid > modid_max || cmdid < 0 || cmdid >= cmdid_span)
            continue;
        f = &b->frames[(size_t)modid * (size_t)cmdid_span + cmdid];
        free(f->p);
        if (encode(f, modid, cmdid, ips, ports, n) < 0)
            goto fail;
    }
    b->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(b->listen_fd, 128) < 0 ||
        getsockname(b->listen_fd, (struct sockaddr *)&sa, &slen) < 0)
        goto fail;
    b->port = ntohs(sa.sin_port);
    if (threads == 0 || !(b->workers = calloc(threads, sizeof(*b->workers))))
        goto fail;
    for (; b->nworkers < threads; b->nworkers++) {
        worker_t *w = &b->workers[b->nworkers];
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL};
        w->b = b;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (w->ep < 0)
            goto fail;
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, b->listen_fd, &ev) < 0) {
            close(w->ep);
            goto fail;
        }
    }
    for (; b->nstarted < b->nworkers; b->nstarted++)
        if (pthread_create(&b->workers[b->nstarted].thread, NULL, thread_main,
                           &b->workers[b->nstarted]) != 0)
            goto fail;
    *ret = b;
    return 0;
fail:
    baseline_dns_free(b);
    return -1;
}

int baseline_dns_port(const baseline_dns_t *b)
{
    return b->port;
}

void baseline_dns_free(baseline_dns_t *b)
{
    size_t nframes;

    if (!b)
        return;
    atomic_store(&b->stop, 1);
    for (unsigned i = 0; i < b->nstarted; i++)
        pthread_join(b->workers[i].thread, NULL);
    for (unsigned i = 0; i < b->nworkers; i++)
        close(b->workers[i].ep);
    if (b->listen_fd > 0)
        close(b->listen_fd);
    nframes = b->frames ? (size_t)(b->modid_max + 1) * (size_t)b->cmdid_span : 0;
    for (size_t i = 0; i < nframes; i++)
        free(b->frames[i].p);
    free(b->frames);
    free(b->empty.p);
    free(b->workers);
    free(b);
}
