/*
 * TCP message client with automatic reconnect: non-blocking connect with a
 * timeout, the configured servers tried in turn, capped exponential backoff
 * with jitter between attempts, and an output queue that survives a lost
 * connection (minus a frame the old connection had half written, which the
 * peer could not make sense of).
 *
 * Everything runs on the client's loop. States: WAITING (a retry timer is
 * armed), CONNECTING (EPOLLOUT and a timeout timer), CONNECTED.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libreactor/internal.h"

#define READ_HINT               4096
#define MAX_PENDING_DEFAULT     (1u << 20)
#define CONNECT_TIMEOUT_DEFAULT 2000

enum cli_state { CLI_IDLE, CLI_WAITING, CLI_CONNECTING, CLI_CONNECTED };

struct rx_tcp_client {
    rx_tcp_client_config_t cfg;
    rx_addr_t *addrs;
    unsigned cur; /* index of the server tried last */
    enum cli_state state;
    int fd;
    rx_buf_t in;
    rx_buf_t out;
    /* Bytes of the frame at out's head the connection has not sent yet, when
     * it sent part of it (0 at a frame boundary). */
    size_t head_left;
    size_t frame_len;  /* reserved by frame_begin, not yet committed */
    rx_timer_t *timer; /* connect timeout or retry delay */
    rx_backoff_t backoff;
    bool tried; /* cur has been tried: the next attempt takes the next one */
    bool want_write;
    bool in_handler;
    rx_stats_t stats;
};

static void cli_connect(rx_tcp_client_t *cli);
static void cli_connect_failed(rx_tcp_client_t *cli);

static uint32_t frame_size_at(const uint8_t *p)
{
    return RX_FRAME_HDR +
           ((uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24);
}

static void cli_on_timer(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    rx_tcp_client_t *cli = arg;

    if (cli->state == CLI_WAITING)
        cli_connect(cli);
    else if (cli->state == CLI_CONNECTING)
        cli_connect_failed(cli); /* timed out */
}

static void cli_close_fd(rx_tcp_client_t *cli)
{
    if (cli->fd < 0)
        return;
    rx_io_del(cli->cfg.loop, cli->fd);
    close(cli->fd);
    cli->fd = -1;
    cli->want_write = false;
}

/* Next attempt (on the next server) after the backoff delay. */
static void cli_schedule_retry(rx_tcp_client_t *cli)
{
    uint32_t delay = rx_backoff_next_ms(&cli->backoff);

    cli->state = CLI_WAITING;
    rx_timer_arm(cli->timer, delay, 0);
}

static void cli_connect_failed(rx_tcp_client_t *cli)
{
    cli_close_fd(cli);
    rx_stat_inc(&cli->stats.connect_failures);
    cli_schedule_retry(cli);
}

static void cli_lost(rx_tcp_client_t *cli)
{
    cli_close_fd(cli);
    rx_buf_release(&cli->in);
    /* The peer got the start of this frame on a connection that is gone;
     * the rest alone would be garbage on the next one. */
    if (cli->head_left) {
        rx_buf_consume(&cli->out, cli->head_left);
        cli->head_left = 0;
    }
    cli_schedule_retry(cli);
    if (cli->cfg.on_close)
        cli->cfg.on_close(cli, cli->cfg.arg);
}

/* Works out where the frame boundaries fell in the n bytes just sent from
 * p, so that head_left says how much of a frame is still owed. */
static void cli_track_sent(rx_tcp_client_t *cli, const uint8_t *p, size_t n)
{
    size_t left = cli->head_left, off = 0;

    for (;;) {
        if (left == 0) {
            if (off >= n)
                break;
            left = frame_size_at(p + off);
        }
        size_t take = left < n - off ? left : n - off;
        left -= take;
        off += take;
        if (off == n)
            break;
    }
    cli->head_left = left;
}

static void cli_update_interest(rx_tcp_client_t *cli)
{
    bool pending = rx_buf_len(&cli->out) > 0;

    if (pending == cli->want_write)
        return;
    if (rx_io_mod(cli->cfg.loop, cli->fd, pending ? RX_READ | RX_WRITE : RX_READ) == 0)
        cli->want_write = pending;
}

/* Returns false when the connection was lost (and handled). */
static bool cli_flush(rx_tcp_client_t *cli)
{
    while (rx_buf_len(&cli->out) > 0) {
        const uint8_t *p = rx_buf_peek(&cli->out);
        ssize_t n = rx_buf_write_fd(&cli->out, cli->fd);
        if (n == -EAGAIN || n == 0)
            break;
        if (n < 0) {
            cli_lost(cli);
            return false;
        }
        cli_track_sent(cli, p, (size_t)n);
    }
    cli_update_interest(cli);
    return true;
}

static void cli_connected(rx_tcp_client_t *cli)
{
    rx_timer_stop(cli->timer);
    cli->state = CLI_CONNECTED;
    cli->want_write = true; /* registered for EPOLLOUT while connecting */
    rx_stat_inc(&cli->stats.connects);
    rx_backoff_reset(&cli->backoff);
    if (cli->cfg.on_connect) {
        cli->in_handler = true;
        cli->cfg.on_connect(cli, cli->cfg.arg);
        cli->in_handler = false;
    }
    if (cli->state == CLI_CONNECTED)
        cli_flush(cli);
}

static void cli_dispatch_frames(rx_tcp_client_t *cli)
{
    rx_loop_t *loop = cli->cfg.loop;

    cli->in_handler = true;
    while (cli->state == CLI_CONNECTED) {
        rx_frame_t f;
        ssize_t n =
            rx_frame_parse(rx_buf_peek(&cli->in), rx_buf_len(&cli->in), cli->cfg.max_frame, &f);
        if (n == 0)
            break;
        if (n < 0) {
            rx_stat_inc(&cli->stats.frames_bad);
            cli_lost(cli);
            break;
        }
        rx_msg_t msg = {
            .msgid = f.msgid,
            .len = f.len,
            .body = f.body,
            .loop = loop,
            .from = {.type = RX_PEER_TCP_CLIENT, .tcp_client = cli, .addr = &cli->addrs[cli->cur]},
        };
        if (rx_router_dispatch(cli->cfg.router, &msg) == -ENOENT)
            rx_stat_inc(&cli->stats.frames_unknown);
        else
            rx_stat_inc(&cli->stats.frames_in);
        rx_buf_consume(&cli->in, (size_t)n);
    }
    cli->in_handler = false;
}

static void cli_read(rx_tcp_client_t *cli)
{
    ssize_t n = rx_buf_read_fd(&cli->in, cli->fd, rx_frame_read_hint(&cli->in, READ_HINT));

    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        cli_lost(cli);
        return;
    }
    cli_dispatch_frames(cli);
    if (cli->state == CLI_CONNECTED && rx_buf_len(&cli->in) == 0)
        rx_buf_release(&cli->in);
}

static void cli_on_io(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    rx_tcp_client_t *cli = arg;

    if (cli->state == CLI_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
            cli_connect_failed(cli);
        else
            cli_connected(cli);
        return;
    }
    if (events & (RX_READ | RX_HUP | RX_ERROR))
        cli_read(cli);
    if (cli->state == CLI_CONNECTED)
        cli_flush(cli);
}

static void cli_connect(rx_tcp_client_t *cli)
{
    const rx_addr_t *sa;
    int one = 1;

    if (cli->tried)
        cli->cur = (cli->cur + 1) % cli->cfg.nservers;
    cli->tried = true;
    sa = &cli->addrs[cli->cur];
    cli->fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cli->fd < 0)
        goto out_failed;
    setsockopt(cli->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(cli->fd, rx_addr_sa(sa), sa->len) < 0 && errno != EINPROGRESS)
        goto out_failed;
    /* Even an immediate success goes through EPOLLOUT: one code path. */
    if (rx_io_add(cli->cfg.loop, cli->fd, RX_READ | RX_WRITE, cli_on_io, cli) < 0)
        goto out_failed;
    cli->state = CLI_CONNECTING;
    rx_timer_arm(cli->timer, cli->cfg.connect_timeout_ms, 0);
    return;

out_failed:
    if (cli->fd >= 0)
        close(cli->fd);
    cli->fd = -1;
    rx_stat_inc(&cli->stats.connect_failures);
    cli_schedule_retry(cli);
}

/* Room for one frame, header written; -ENOBUFS past max_pending. */
static uint8_t *cli_frame_reserve(rx_tcp_client_t *cli, int32_t msgid, uint32_t len, int *ret_err)
{
    size_t total = RX_FRAME_HDR + (size_t)len;
    uint8_t *p;
    int err = -ENOMEM;

    if (len > INT32_MAX) {
        *ret_err = -EINVAL;
        return NULL;
    }
    if (rx_buf_len(&cli->out) + total > cli->cfg.max_pending) {
        rx_stat_inc(&cli->stats.sends_refused);
        *ret_err = -ENOBUFS;
        return NULL;
    }
    p = rx_buf_reserve(&cli->out, total, &err);
    if (!p) {
        rx_stat_inc(&cli->stats.sends_refused);
        *ret_err = err;
        return NULL;
    }
    rx_frame_put_header(p, msgid, len);
    return p + RX_FRAME_HDR;
}

static void cli_frame_queued(rx_tcp_client_t *cli)
{
    rx_stat_inc(&cli->stats.frames_out);
    /* Inside a handler the flush comes once, when it returns; while the
     * socket is full, EPOLLOUT does it. */
    if (cli->state == CLI_CONNECTED && !cli->in_handler && !cli->want_write)
        cli_flush(cli);
}

/* --------------------------------------------------------- public API -- */

rx_tcp_client_t *rx_tcp_client_new(const rx_tcp_client_config_t *cfg, int *ret_err)
{
    rx_tcp_client_t *cli;
    int err = -EINVAL;

    if (!cfg->loop || !cfg->router || !cfg->servers || cfg->nservers == 0 ||
        cfg->max_frame > RX_FRAME_MAX)
        goto out;
    err = -ENOMEM;
    cli = calloc(1, sizeof(*cli));
    if (!cli)
        goto out;
    cli->addrs = calloc(cfg->nservers, sizeof(*cli->addrs));
    if (!cli->addrs)
        goto out_free;
    for (unsigned i = 0; i < cfg->nservers; i++) {
        err = rx_addr_parse(cfg->servers[i], &cli->addrs[i]);
        if (err < 0)
            goto out_free;
    }
    cli->cfg = *cfg;
    cli->cfg.servers = NULL; /* parsed; the caller's strings need not live on */
    if (!cli->cfg.max_frame)
        cli->cfg.max_frame = RX_FRAME_MAX_DEFAULT;
    if (!cli->cfg.max_pending)
        cli->cfg.max_pending = MAX_PENDING_DEFAULT;
    if (cli->cfg.max_pending > RX_BUF_MAX)
        cli->cfg.max_pending = RX_BUF_MAX;
    if (!cli->cfg.connect_timeout_ms)
        cli->cfg.connect_timeout_ms = CONNECT_TIMEOUT_DEFAULT;
    rx_backoff_init(&cli->backoff, cfg->backoff_min_ms, cfg->backoff_max_ms);
    cli->fd = -1;
    return cli;

out_free:
    free(cli->addrs);
    free(cli);
out:
    if (ret_err)
        *ret_err = err;
    return NULL;
}

int rx_tcp_client_start(rx_tcp_client_t *cli)
{
    if (cli->state != CLI_IDLE)
        return -EALREADY;
    cli->timer = rx_timer_new(cli->cfg.loop, cli_on_timer, cli);
    if (!cli->timer)
        return -ENOMEM;
    cli_connect(cli);
    return 0;
}

int rx_tcp_client_send(rx_tcp_client_t *cli, int32_t msgid, const void *body, uint32_t len)
{
    int err;
    uint8_t *p = cli_frame_reserve(cli, msgid, len, &err);

    if (!p)
        return err;
    if (len)
        memcpy(p, body, len);
    rx_buf_commit(&cli->out, RX_FRAME_HDR + (size_t)len);
    cli_frame_queued(cli);
    return 0;
}

uint8_t *rx_tcp_client_frame_begin(rx_tcp_client_t *cli, int32_t msgid, uint32_t len, int *ret_err)
{
    int err;
    uint8_t *p = cli_frame_reserve(cli, msgid, len, &err);

    if (!p) {
        if (ret_err)
            *ret_err = err;
        return NULL;
    }
    cli->frame_len = RX_FRAME_HDR + (size_t)len;
    return p;
}

void rx_tcp_client_frame_commit(rx_tcp_client_t *cli)
{
    if (cli->frame_len == 0)
        return;
    rx_buf_commit(&cli->out, cli->frame_len);
    cli->frame_len = 0;
    cli_frame_queued(cli);
}

bool rx_tcp_client_connected(const rx_tcp_client_t *cli)
{
    return cli->state == CLI_CONNECTED;
}

unsigned rx_tcp_client_server_index(const rx_tcp_client_t *cli)
{
    return cli->cur;
}

const rx_stats_t *rx_tcp_client_stats(const rx_tcp_client_t *cli)
{
    return &cli->stats;
}

void rx_tcp_client_free(rx_tcp_client_t *cli)
{
    if (!cli)
        return;
    rx_timer_free(cli->timer);
    cli_close_fd(cli);
    rx_buf_release(&cli->in);
    rx_buf_release(&cli->out);
    free(cli->addrs);
    free(cli);
}
