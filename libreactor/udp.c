/*
 * UDP transports. A datagram holds exactly one frame; anything else is
 * dropped and counted. The server reads up to `batch` datagrams per recvmmsg
 * and sends the replies its handlers made after each batch: one sendto when
 * there is one, else one sendmmsg. A batch that came back full is followed
 * by a few more reads in the same wakeup; a short one is not (the socket is
 * drained, and level-triggered epoll wakes us for the next datagram). A
 * server configured to linger instead waits for the next datagram in a
 * blocking recvmmsg, which under request/reply traffic halves the system
 * calls per datagram; the loop's wakeups kick that receive with an empty
 * datagram from a socket of the server's own. All buffers are allocated
 * when the transport is created; the receive and reply paths allocate
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "libreactor/internal.h"

#define BATCH_DEFAULT 32
#define CLIENT_BATCH  8
/* Full batches read per wakeup before yielding to the loop's other fds. */
#define SERVER_READS_PER_WAKEUP 4
/* Longest a lingering server keeps the thread in one wakeup. */
#define SERVER_LINGER_BUDGET_MS 5
/* The largest IPv4 UDP payload (IPv6 allows 20 bytes more; we keep one
 * limit for both). */
#define DGRAM_MAX 65507

/* Receive side: `batch` slots of `slot` bytes each, with their senders. */
typedef struct udp_rx {
    struct mmsghdr *msgs;
    struct iovec *iov;
    rx_addr_t *from;
    uint8_t *bufs;
    size_t slot;
    unsigned batch;
    unsigned used; /* headers the last recvmmsg wrote into */
} udp_rx_t;

/* Replies queued during a receive batch; `data` holds the frames back to
 * back, off/len locate each (data may move while it grows). */
typedef struct udp_tx {
    struct mmsghdr *msgs;
    struct iovec *iov;
    rx_addr_t *to;
    size_t *off;
    rx_buf_t data;
    unsigned n;
    unsigned cap;
} udp_tx_t;

struct rx_udp_server {
    rx_udp_server_config_t cfg;
    int fd;
    int port;
    int kick_fd; /* lingering servers: connected to fd, see rx_loop_set_kick */
    rx_addr_t kick_addr;
    uint64_t rcvtimeo_us; /* SO_RCVTIMEO now set on fd (0: none) */
    bool registered;
    bool in_batch;
    udp_rx_t rx;
    udp_tx_t tx;
    rx_stats_t stats;
};

struct rx_udp_client {
    rx_udp_client_config_t cfg;
    int fd;
    rx_addr_t server;
    bool registered;
    udp_rx_t rx;
    rx_stats_t stats;
};

/* ------------------------------------------------------------- batches -- */

static int udp_rx_init(udp_rx_t *rx, unsigned batch, uint32_t max_frame)
{
    size_t slot = RX_FRAME_HDR + (size_t)max_frame;

    rx->slot = slot < DGRAM_MAX ? slot : DGRAM_MAX;
    rx->batch = batch;
    rx->used = batch;
    rx->msgs = calloc(batch, sizeof(*rx->msgs));
    rx->iov = calloc(batch, sizeof(*rx->iov));
    rx->from = calloc(batch, sizeof(*rx->from));
    rx->bufs = malloc(batch * rx->slot);
    if (!rx->msgs || !rx->iov || !rx->from || !rx->bufs)
        return -ENOMEM;
    for (unsigned i = 0; i < batch; i++) {
        rx->iov[i] = (struct iovec){rx->bufs + i * rx->slot, rx->slot};
        rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
        rx->msgs[i].msg_hdr.msg_iovlen = 1;
        rx->msgs[i].msg_hdr.msg_name = &rx->from[i].ss;
    }
    return 0;
}

static void udp_rx_free(udp_rx_t *rx)
{
    free(rx->msgs);
    free(rx->iov);
    free(rx->from);
    free(rx->bufs);
}

/* One recvmmsg (flags MSG_DONTWAIT, or MSG_WAITFORONE to wait for the
 * first datagram up to the socket's SO_RCVTIMEO); returns the number of
 * datagrams (0 when none). */
static int udp_rx_fill(udp_rx_t *rx, int fd, int flags)
{
    int n;

    /* The kernel rewrote only the headers of the datagrams it returned. */
    for (unsigned i = 0; i < rx->used; i++) {
        rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->from[i].ss);
        rx->msgs[i].msg_hdr.msg_flags = 0;
    }
    do
        n = recvmmsg(fd, rx->msgs, rx->batch, flags, NULL);
    while (n < 0 && errno == EINTR);
    rx->used = n > 0 ? (unsigned)n : 0;
    for (unsigned i = 0; i < rx->used; i++)
        rx->from[i].len = rx->msgs[i].msg_hdr.msg_namelen;
    return n < 0 ? 0 : n;
}

/* The frame of datagram i, or false when it is not exactly one frame. */
static bool udp_rx_frame(const udp_rx_t *rx, unsigned i, uint32_t max_frame, rx_frame_t *ret)
{
    const struct mmsghdr *m = &rx->msgs[i];
    ssize_t n;

    if (m->msg_hdr.msg_flags & MSG_TRUNC)
        return false;
    n = rx_frame_parse(rx->bufs + i * rx->slot, m->msg_len, max_frame, ret);
    return n > 0 && (size_t)n == m->msg_len;
}

static int udp_tx_init(udp_tx_t *tx, unsigned cap)
{
    tx->cap = cap;
    tx->msgs = calloc(cap, sizeof(*tx->msgs));
    tx->iov = calloc(cap, sizeof(*tx->iov));
    tx->to = calloc(cap, sizeof(*tx->to));
    tx->off = calloc(cap, sizeof(*tx->off));
    if (!tx->msgs || !tx->iov || !tx->to || !tx->off)
        return -ENOMEM;
    return 0;
}

static void udp_tx_free(udp_tx_t *tx)
{
    free(tx->msgs);
    free(tx->iov);
    free(tx->to);
    free(tx->off);
    rx_buf_release(&tx->data);
}

/* The common case of one reply per wakeup: sendto skips sendmmsg's
 * per-call header copies. */
static void udp_server_send_one(rx_udp_server_t *srv)
{
    udp_tx_t *tx = &srv->tx;
    ssize_t n;

    do
        n = sendto(srv->fd, rx_buf_peek(&tx->data), rx_buf_len(&tx->data),
                   MSG_DONTWAIT | MSG_NOSIGNAL, rx_addr_sa(&tx->to[0]), tx->to[0].len);
    while (n < 0 && errno == EINTR);
    rx_stat_inc(n < 0 ? &srv->stats.dgrams_send_failed : &srv->stats.dgrams_out);
}

static void udp_server_flush(rx_udp_server_t *srv)
{
    udp_tx_t *tx = &srv->tx;
    unsigned i = 0;

    if (tx->n == 1) {
        udp_server_send_one(srv);
        tx->n = 0;
        rx_buf_consume(&tx->data, rx_buf_len(&tx->data));
        return;
    }

    for (unsigned k = 0; k < tx->n; k++) {
        size_t end = k + 1 < tx->n ? tx->off[k + 1] : rx_buf_len(&tx->data);
        tx->iov[k] = (struct iovec){rx_buf_peek(&tx->data) + tx->off[k], end - tx->off[k]};
        tx->msgs[k].msg_hdr = (struct msghdr){
            .msg_name = &tx->to[k].ss,
            .msg_namelen = tx->to[k].len,
            .msg_iov = &tx->iov[k],
            .msg_iovlen = 1,
        };
    }
    while (i < tx->n) {
        int n = sendmmsg(srv->fd, tx->msgs + i, tx->n - i, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            rx_stat_add(&srv->stats.dgrams_out, (uint64_t)n);
            i += (unsigned)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            /* This one datagram failed (e.g. EMSGSIZE); the rest may not. */
            rx_stat_inc(&srv->stats.dgrams_send_failed);
            i++;
        } else {
            rx_stat_add(&srv->stats.dgrams_send_failed, tx->n - i);
            break;
        }
    }
    tx->n = 0;
    rx_buf_consume(&tx->data, rx_buf_len(&tx->data));
}

/* -------------------------------------------------------------- server -- */

static bool udp_is_kick(const rx_udp_server_t *srv, const rx_addr_t *from)
{
    return srv->kick_fd >= 0 && rx_addr_equal(from, &srv->kick_addr);
}

/* Reads and dispatches one batch, then sends its replies; returns how many
 * datagrams it read. */
static int udp_server_read_batch(rx_udp_server_t *srv, rx_loop_t *loop, int flags)
{
    int n = udp_rx_fill(&srv->rx, srv->fd, flags), kicks = 0;

    srv->in_batch = true;
    for (int i = 0; i < n; i++) {
        rx_frame_t f;
        if (srv->rx.msgs[i].msg_len == 0 && udp_is_kick(srv, &srv->rx.from[i])) {
            kicks++;
            continue;
        }
        if (!udp_rx_frame(&srv->rx, (unsigned)i, srv->cfg.max_frame, &f)) {
            rx_stat_inc(&srv->stats.frames_bad);
            continue;
        }
        rx_msg_t msg = {
            .msgid = f.msgid,
            .len = f.len,
            .body = f.body,
            .loop = loop,
            .from = {.type = RX_PEER_UDP_SERVER, .udp_server = srv, .addr = &srv->rx.from[i]},
        };
        if (rx_router_dispatch(srv->cfg.router, &msg) == -ENOENT)
            rx_stat_inc(&srv->stats.frames_unknown);
        else
            rx_stat_inc(&srv->stats.frames_in);
    }
    srv->in_batch = false;
    rx_stat_add(&srv->stats.dgrams_in, (uint64_t)(n - kicks));
    if (srv->tx.n)
        udp_server_flush(srv);
    return n;
}

/* The socket's receive timeout: linger_us, or less when a timer is due
 * sooner; set only when it changes. -ETIME: a timer is due now. */
static int udp_server_set_rcvtimeo(rx_udp_server_t *srv, rx_loop_t *loop)
{
    uint64_t us = (uint64_t)rx_timer_next_timeout(loop, INT_MAX) * 1000;
    struct timeval tv;

    if (us > srv->cfg.linger_us)
        us = srv->cfg.linger_us;
    if (us == 0)
        return -ETIME; /* a timer just fell due (0 would mean no timeout) */
    if (us == srv->rcvtimeo_us)
        return 0;
    tv = (struct timeval){.tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000)};
    if (setsockopt(srv->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        return -errno;
    srv->rcvtimeo_us = us;
    return 0;
}

/* The socket is drained: wait for the next datagram in a blocking recvmmsg
 * rather than in epoll_wait, which would cost a second system call per
 * datagram. A post or stop meanwhile kicks the receive awake; a due timer
 * or the budget sends the thread back to the loop. */
static void udp_server_linger(rx_udp_server_t *srv, rx_loop_t *loop)
{
    uint64_t start = rx_loop_now(loop);

    rx_loop_set_kick(loop, srv->kick_fd);
    while (!rx_loop_wants_thread(loop) && rx_loop_now(loop) - start < SERVER_LINGER_BUDGET_MS) {
        int n;
        if (udp_server_set_rcvtimeo(srv, loop) < 0)
            break;
        n = udp_server_read_batch(srv, loop, MSG_WAITFORONE);
        rx_loop_touch(loop);
        if (n == 0)
            break; /* quiet: sleep in epoll_wait */
    }
    rx_loop_set_kick(loop, -1);
}

static void udp_server_on_io(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    rx_udp_server_t *srv = arg;
    int n = 0;

    for (int i = 0; i < SERVER_READS_PER_WAKEUP; i++)
        if ((n = udp_server_read_batch(srv, loop, MSG_DONTWAIT)) < (int)srv->rx.batch)
            break;
    if (srv->cfg.linger_us && n < (int)srv->rx.batch)
        udp_server_linger(srv, loop);
}

static int udp_open(const char *addr, int fd, rx_addr_t *ret_bound)
{
    rx_addr_t sa;
    int err;

    if (fd >= 0) {
        err = rx_fd_set_nonblock(fd);
        if (err < 0)
            return err;
    } else {
        err = rx_addr_parse(addr, &sa);
        if (err < 0)
            return err;
        fd = socket(sa.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (bind(fd, rx_addr_sa(&sa), sa.len) < 0) {
            err = -errno;
            close(fd);
            return err;
        }
    }
    if (rx_addr_of_socket(fd, ret_bound) < 0)
        *ret_bound = (rx_addr_t){0};
    return fd;
}

/* A datagram socket bound to `to`'s address (any port) and connected to
 * `to`; its fd, or -errno. *ret_from: the address it sends from. */
static int kick_open(const rx_addr_t *to, rx_addr_t *ret_from)
{
    rx_addr_t from = *to;
    int fd, err;

    if (from.ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&from.ss)->sin_port = 0;
    else
        ((struct sockaddr_in6 *)&from.ss)->sin6_port = 0;
    fd = socket(to->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, rx_addr_sa(&from), from.len) < 0 || connect(fd, rx_addr_sa(to), to->len) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    err = rx_addr_of_socket(fd, ret_from);
    if (err < 0) {
        close(fd);
        return err;
    }
    return fd;
}

/* A lingering server's socket blocks (every other call on it passes
 * MSG_DONTWAIT), and gets a kick socket connected to it: from the
 * loopback address for a wildcard address, else from the server's own. A
 * wildcard IPv6 socket without ::1 is kicked from 127.0.0.1 (it must be
 * dual-stack then; its sender shows as IPv4-mapped, which rx_addr_equal
 * sees through). */
static int udp_server_set_linger(rx_udp_server_t *srv, const rx_addr_t *bound)
{
    rx_addr_t to = *bound;
    int fl = fcntl(srv->fd, F_GETFL), fd = -EAFNOSUPPORT;

    if (to.ss.ss_family == AF_INET) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&to.ss;
        if (sa->sin_addr.s_addr == htonl(INADDR_ANY))
            sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = kick_open(&to, &srv->kick_addr);
    } else if (to.ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&to.ss;
        bool any = IN6_IS_ADDR_UNSPECIFIED(&sa6->sin6_addr);
        if (any)
            sa6->sin6_addr = in6addr_loopback;
        fd = kick_open(&to, &srv->kick_addr);
        if (fd < 0 && any) {
            struct sockaddr_in v4 = {
                .sin_family = AF_INET,
                .sin_port = sa6->sin6_port,
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
            };
            to = (rx_addr_t){.len = sizeof(v4)};
            memcpy(&to.ss, &v4, sizeof(v4));
            fd = kick_open(&to, &srv->kick_addr);
        }
    }
    if (fd < 0)
        return fd;
    srv->kick_fd = fd;
    if (fl < 0 || fcntl(srv->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

rx_udp_server_t *rx_udp_server_new(const rx_udp_server_config_t *cfg, int *ret_err)
{
    rx_udp_server_t *srv;
    rx_addr_t bound = {0};
    int err = -EINVAL;

    if (!cfg->loop || !cfg->router || (cfg->fd < 0 && !cfg->bind_addr))
        goto out;
    err = -ENOMEM;
    srv = calloc(1, sizeof(*srv));
    if (!srv)
        goto out;
    srv->cfg = *cfg;
    srv->fd = -1;
    srv->kick_fd = -1;
    if (!srv->cfg.max_frame)
        srv->cfg.max_frame = RX_FRAME_MAX_DEFAULT;
    if (!srv->cfg.batch)
        srv->cfg.batch = BATCH_DEFAULT;
    err = udp_rx_init(&srv->rx, srv->cfg.batch, srv->cfg.max_frame);
    if (err < 0)
        goto out_free;
    err = udp_tx_init(&srv->tx, srv->cfg.batch);
    if (err < 0)
        goto out_free;
    err = udp_open(cfg->bind_addr, cfg->fd, &bound);
    if (err < 0)
        goto out_free;
    srv->fd = err;
    if (srv->cfg.linger_us) {
        err = udp_server_set_linger(srv, &bound);
        if (err < 0)
            goto out_free;
    }
    srv->port = rx_addr_port(&bound);
    return srv;

out_free:
    rx_udp_server_free(srv);
out:
    if (ret_err)
        *ret_err = err;
    return NULL;
}

/* Registers fd for reading once; the server's and the client's start. */
static int udp_register(rx_loop_t *loop, int fd, rx_io_cb cb, void *arg, bool *registered)
{
    int err;

    if (*registered)
        return -EALREADY;
    err = rx_io_add(loop, fd, RX_READ, cb, arg);
    if (err == 0)
        *registered = true;
    return err;
}

int rx_udp_server_start(rx_udp_server_t *srv)
{
    return udp_register(srv->cfg.loop, srv->fd, udp_server_on_io, srv, &srv->registered);
}

void rx_udp_server_free(rx_udp_server_t *srv)
{
    if (!srv)
        return;
    if (srv->registered)
        rx_io_del(srv->cfg.loop, srv->fd);
    if (srv->fd >= 0)
        close(srv->fd);
    if (srv->kick_fd >= 0)
        close(srv->kick_fd);
    udp_rx_free(&srv->rx);
    udp_tx_free(&srv->tx);
    free(srv);
}

int rx_udp_server_fd(const rx_udp_server_t *srv)
{
    return srv->fd;
}

int rx_udp_server_port(const rx_udp_server_t *srv)
{
    return srv->port;
}

const rx_stats_t *rx_udp_server_stats(const rx_udp_server_t *srv)
{
    return &srv->stats;
}

static int udp_server_queue(rx_udp_server_t *srv, const rx_addr_t *to, int32_t msgid,
                            const void *body, uint32_t len)
{
    udp_tx_t *tx = &srv->tx;
    uint8_t *p;
    int err = -ENOMEM;

    if (tx->n == tx->cap)
        udp_server_flush(srv);
    tx->off[tx->n] = rx_buf_len(&tx->data);
    p = rx_buf_reserve(&tx->data, RX_FRAME_HDR + (size_t)len, &err);
    if (!p)
        return err;
    rx_frame_put_header(p, msgid, len);
    if (len)
        memcpy(p + RX_FRAME_HDR, body, len);
    rx_buf_commit(&tx->data, RX_FRAME_HDR + (size_t)len);
    tx->to[tx->n++] = *to;
    return 0;
}

int rx_udp_reply(const rx_msg_t *msg, int32_t msgid, const void *body, uint32_t len)
{
    rx_udp_server_t *srv = rx_msg_udp_server(msg);
    int err;

    if (msg->from.type == RX_PEER_UDP_CLIENT)
        return rx_udp_client_send(msg->from.udp_client, msgid, body, len);
    if (!srv || !msg->from.addr)
        return -EINVAL;
    if (len > DGRAM_MAX - RX_FRAME_HDR)
        return -EMSGSIZE;
    if (!srv->in_batch) {
        err = rx_udp_sendto(srv->fd, msg->from.addr, msgid, body, len);
        rx_stat_inc(err < 0 ? &srv->stats.dgrams_send_failed : &srv->stats.dgrams_out);
    } else {
        err = udp_server_queue(srv, msg->from.addr, msgid, body, len);
        if (err < 0)
            rx_stat_inc(&srv->stats.dgrams_send_failed);
    }
    if (err == 0)
        rx_stat_inc(&srv->stats.frames_out);
    return err;
}

int rx_udp_sendto(int fd, const rx_addr_t *to, int32_t msgid, const void *body, uint32_t len)
{
    uint8_t hdr[RX_FRAME_HDR];
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)body, len}};
    struct msghdr mh = {
        .msg_name = to ? (void *)&to->ss : NULL,
        .msg_namelen = to ? to->len : 0,
        .msg_iov = iov,
        .msg_iovlen = len ? 2 : 1,
    };
    ssize_t n;

    if (len > DGRAM_MAX - RX_FRAME_HDR)
        return -EMSGSIZE;
    rx_frame_put_header(hdr, msgid, len);
    do
        n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/* -------------------------------------------------------------- client -- */

static void udp_client_on_io(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    rx_udp_client_t *cli = arg;
    int n = udp_rx_fill(&cli->rx, fd, MSG_DONTWAIT);

    rx_stat_add(&cli->stats.dgrams_in, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        rx_frame_t f;
        if (!udp_rx_frame(&cli->rx, (unsigned)i, cli->cfg.max_frame, &f)) {
            rx_stat_inc(&cli->stats.frames_bad);
            continue;
        }
        rx_msg_t msg = {
            .msgid = f.msgid,
            .len = f.len,
            .body = f.body,
            .loop = loop,
            .from = {.type = RX_PEER_UDP_CLIENT, .udp_client = cli, .addr = &cli->server},
        };
        if (rx_router_dispatch(cli->cfg.router, &msg) == -ENOENT)
            rx_stat_inc(&cli->stats.frames_unknown);
        else
            rx_stat_inc(&cli->stats.frames_in);
    }
}

rx_udp_client_t *rx_udp_client_new(const rx_udp_client_config_t *cfg, int *ret_err)
{
    rx_udp_client_t *cli;
    int err = -EINVAL;

    if (!cfg->loop || !cfg->router || !cfg->server_addr)
        goto out;
    err = -ENOMEM;
    cli = calloc(1, sizeof(*cli));
    if (!cli)
        goto out;
    cli->cfg = *cfg;
    cli->cfg.server_addr = NULL;
    cli->fd = -1;
    if (!cli->cfg.max_frame)
        cli->cfg.max_frame = RX_FRAME_MAX_DEFAULT;
    err = rx_addr_parse(cfg->server_addr, &cli->server);
    if (err < 0)
        goto out_free;
    err = udp_rx_init(&cli->rx, CLIENT_BATCH, cli->cfg.max_frame);
    if (err < 0)
        goto out_free;
    cli->fd = socket(cli->server.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cli->fd < 0 || connect(cli->fd, rx_addr_sa(&cli->server), cli->server.len) < 0) {
        err = -errno;
        goto out_free;
    }
    return cli;

out_free:
    rx_udp_client_free(cli);
out:
    if (ret_err)
        *ret_err = err;
    return NULL;
}

int rx_udp_client_start(rx_udp_client_t *cli)
{
    return udp_register(cli->cfg.loop, cli->fd, udp_client_on_io, cli, &cli->registered);
}

int rx_udp_client_send(rx_udp_client_t *cli, int32_t msgid, const void *body, uint32_t len)
{
    int err = rx_udp_sendto(cli->fd, NULL, msgid, body, len);

    if (err < 0) {
        rx_stat_inc(&cli->stats.dgrams_send_failed);
        return err;
    }
    rx_stat_inc(&cli->stats.frames_out);
    rx_stat_inc(&cli->stats.dgrams_out);
    return 0;
}

const rx_stats_t *rx_udp_client_stats(const rx_udp_client_t *cli)
{
    return &cli->stats;
}

void rx_udp_client_free(rx_udp_client_t *cli)
{
    if (!cli)
        return;
    if (cli->registered)
        rx_io_del(cli->cfg.loop, cli->fd);
    if (cli->fd >= 0)
        close(cli->fd);
    udp_rx_free(&cli->rx);
    free(cli);
}
