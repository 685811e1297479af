/*
 * TCP message client with automatic reconnect: non-blocking connect with a
 * timeout, the configured servers tried in turn, capped exponential backoff
 * with jitter between attempts. A connected socket is handed to an
 * rx_stream whose output queue survives a lost connection (minus a frame
 * the old connection had half written, which the peer could not make sense
 * of).
 *
 * Everything runs on the client's loop. States: WAITING (the timer waits
 * for the next attempt), CONNECTING (EPOLLOUT on `fd`, the timer is the
 * timeout), CONNECTED (the stream has the socket).
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libreactor/internal.h"
#include "libreactor/stream.h"

#define MAX_PENDING_DEFAULT     (1u << 20)
#define CONNECT_TIMEOUT_DEFAULT 2000
#define ALIVE_AFTER_DEFAULT     3000

enum cli_state { CLI_IDLE, CLI_WAITING, CLI_CONNECTING, CLI_CONNECTED };

struct rx_tcp_client {
    rx_tcp_client_config_t cfg;
    rx_addr_t *addrs;
    unsigned cur; /* index of the server tried last */
    enum cli_state state;
    int fd;            /* while connecting */
    rx_timer_t *timer; /* connect timeout or retry delay */
    rx_backoff_t backoff;
    bool tried;                 /* cur has been tried: the next attempt takes the next one */
    uint64_t connected_at;      /* rx_loop_now() of the current connection */
    uint64_t frames_at_connect; /* stats.frames_in then */
    rx_stream_config_t stream_cfg;
    rx_stream_t stream;
    rx_stats_t stats;
};

static void cli_connect(rx_tcp_client_t *cli);
static void cli_connect_failed(rx_tcp_client_t *cli);

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
}

/* Next attempt (on the next server) after the backoff delay. */
static void cli_schedule_retry(rx_tcp_client_t *cli)
{
    cli->state = CLI_WAITING;
    rx_timer_arm(cli->timer, rx_backoff_next_ms(&cli->backoff), 0);
}

static void cli_connect_failed(rx_tcp_client_t *cli)
{
    cli_close_fd(cli);
    rx_stat_inc(&cli->stats.connect_failures);
    cli_schedule_retry(cli);
}

/* The stream lost the connection, or could not take it. */
static void cli_on_stream_close(rx_stream_t *s, void *arg)
{
    rx_tcp_client_t *cli = arg;
    uint64_t frames;

    if (cli->state != CLI_CONNECTED) {
        rx_stat_inc(&cli->stats.connect_failures);
        cli_schedule_retry(cli);
        return;
    }
    /* Only a connection that proved alive resets the backoff: a server
     * that accepts and closes at once must not be hammered. */
    frames = atomic_load_explicit(&cli->stats.frames_in, memory_order_relaxed);
    if (frames != cli->frames_at_connect ||
        rx_loop_now(cli->cfg.loop) - cli->connected_at >= cli->cfg.alive_after_ms)
        rx_backoff_reset(&cli->backoff);
    cli_schedule_retry(cli);
    if (cli->cfg.on_close)
        cli->cfg.on_close(cli, cli->cfg.arg);
}

/* The socket moves from the connect handler to the stream. */
static void cli_connected(rx_tcp_client_t *cli)
{
    rx_stream_t *s = &cli->stream;

    rx_timer_stop(cli->timer);
    rx_io_del(cli->cfg.loop, cli->fd);
    rx_stream_attach(s, cli->fd);
    cli->fd = -1;
    s->from.addr = &cli->addrs[cli->cur];
    if (rx_stream_watch(s) < 0) {
        rx_stream_close(s);
        return;
    }
    cli->state = CLI_CONNECTED;
    rx_stat_inc(&cli->stats.connects);
    cli->connected_at = rx_loop_now(cli->cfg.loop);
    cli->frames_at_connect = atomic_load_explicit(&cli->stats.frames_in, memory_order_relaxed);
    /* Frames sent by on_connect go out after what was queued before. */
    rx_stream_hold(s);
    if (cli->cfg.on_connect)
        cli->cfg.on_connect(cli, cli->cfg.arg);
    rx_stream_unhold(s);
}

static void cli_on_connect_io(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    rx_tcp_client_t *cli = arg;
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
        cli_connect_failed(cli);
    else
        cli_connected(cli);
}

/* Keepalive probes an idle connection (first after a quarter of the
 * bound, then every sixth of it) so that something is outstanding; with
 * TCP_USER_TIMEOUT set, Linux aborts once nothing was acknowledged for
 * that long, probes or data: a silent peer is dropped after the bound plus
 * at most one probe interval. Best effort: a failure leaves the defaults. */
static void cli_set_dead_peer_timeout(int fd, uint32_t timeout_ms)
{
    int one = 1, idle, intvl, cnt = 6;
    unsigned int user_timeout = timeout_ms;

    if (!timeout_ms)
        return;
    idle = (int)(timeout_ms / 4000);
    intvl = (int)(timeout_ms / 6000);
    if (idle < 1)
        idle = 1;
    if (intvl < 1)
        intvl = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
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
    cli_set_dead_peer_timeout(cli->fd, cli->cfg.dead_peer_timeout_ms);
    if (connect(cli->fd, rx_addr_sa(sa), sa->len) < 0 && errno != EINPROGRESS)
        goto out_failed;
    /* Even an immediate success goes through EPOLLOUT: one code path. */
    if (rx_io_add(cli->cfg.loop, cli->fd, RX_WRITE, cli_on_connect_io, cli) < 0)
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
    if (!cli->cfg.alive_after_ms)
        cli->cfg.alive_after_ms = ALIVE_AFTER_DEFAULT;
    rx_backoff_init(&cli->backoff, cfg->backoff_min_ms, cfg->backoff_max_ms);
    cli->fd = -1;
    cli->stream_cfg = (rx_stream_config_t){
        .router = cli->cfg.router,
        .stats = &cli->stats,
        .max_frame = cli->cfg.max_frame,
        .max_output = cli->cfg.max_pending,
        .keep_output = true,
        .on_close = cli_on_stream_close,
    };
    rx_stream_init(&cli->stream, cli->cfg.loop, &cli->stream_cfg, cli);
    cli->stream.from = (rx_peer_t){.type = RX_PEER_TCP_CLIENT, .tcp_client = cli};
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
    return rx_stream_send(&cli->stream, msgid, body, len);
}

uint8_t *rx_tcp_client_frame_begin(rx_tcp_client_t *cli, int32_t msgid, uint32_t len, int *ret_err)
{
    return rx_stream_frame_begin(&cli->stream, msgid, len, ret_err);
}

void rx_tcp_client_frame_commit(rx_tcp_client_t *cli)
{
    rx_stream_frame_commit(&cli->stream);
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
    rx_stream_destroy(&cli->stream);
    free(cli->addrs);
    free(cli);
}
