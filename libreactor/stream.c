/*
 * Framed streams (see stream.h). Lifetime: rx_stream_close closes the fd at
 * once and tells the owner (on_close); the buffers go, and on_release
 * lets the owner free the stream, only when no hold is left, so nothing
 * below touches a stream after the call that may release it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libreactor/internal.h"
#include "libreactor/stream.h"

#define READ_HINT 4096

static void stream_on_io(rx_loop_t *loop, int fd, uint32_t events, void *arg);

void rx_stream_init(rx_stream_t *s, rx_loop_t *loop, const rx_stream_config_t *cfg, void *arg)
{
    *s = (rx_stream_t){.cfg = cfg, .arg = arg, .loop = loop, .fd = -1};
}

static void stream_release(rx_stream_t *s)
{
    s->closing = false;
    rx_buf_release(&s->in);
    if (!s->cfg->keep_output) {
        rx_buf_release(&s->out);
        s->frame_len = 0;
    }
    if (s->cfg->on_release)
        s->cfg->on_release(s, s->arg);
}

void rx_stream_close(rx_stream_t *s)
{
    if (s->fd < 0)
        return;
    if (s->watched)
        rx_io_del(s->loop, s->fd);
    close(s->fd);
    s->fd = -1;
    s->watched = false;
    s->want_write = false;
    /* The peer got the start of this frame on a connection that is gone;
     * the rest alone would be garbage on the next one. */
    if (s->head_left) {
        rx_buf_consume(&s->out, s->head_left);
        s->head_left = 0;
    }
    s->closing = true;
    s->held++;
    if (s->cfg->on_close)
        s->cfg->on_close(s, s->arg);
    if (--s->held == 0)
        stream_release(s);
}

void rx_stream_destroy(rx_stream_t *s)
{
    if (s->fd >= 0) {
        if (s->watched)
            rx_io_del(s->loop, s->fd);
        close(s->fd);
        s->fd = -1;
    }
    rx_buf_release(&s->in);
    rx_buf_release(&s->out);
}

int rx_stream_attach(rx_stream_t *s, int fd)
{
    if (s->fd >= 0 || s->closing)
        return -EBUSY;
    s->fd = fd;
    s->watched = false;
    s->want_write = false;
    s->head_left = 0;
    return 0;
}

static uint32_t frame_size_at(const uint8_t *p)
{
    return RX_FRAME_HDR +
           ((uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24);
}

/* keep_output: works out where the frame boundaries fell in the n bytes
 * just written from p, so that head_left says how much of a frame is still
 * owed. */
static void stream_track_sent(rx_stream_t *s, const uint8_t *p, size_t n)
{
    size_t left = s->head_left, off = 0;

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
    s->head_left = left;
}

static void stream_update_interest(rx_stream_t *s)
{
    bool pending = rx_buf_len(&s->out) > 0;

    if (pending == s->want_write || !s->watched)
        return;
    if (rx_io_mod(s->loop, s->fd, pending ? RX_READ | RX_WRITE : RX_READ) < 0) {
        rx_stream_close(s);
        return;
    }
    s->want_write = pending;
}

/* Writes what the kernel takes; EPOLLOUT is asked for only while output is
 * left over. May close (and release) the stream. */
static void stream_flush(rx_stream_t *s)
{
    while (rx_buf_len(&s->out) > 0) {
        const uint8_t *p = rx_buf_peek(&s->out);
        ssize_t n = rx_buf_write_fd(&s->out, s->fd);
        if (n == -EAGAIN || n == 0)
            break;
        if (n < 0) {
            rx_stream_close(s);
            return;
        }
        if (s->cfg->keep_output)
            stream_track_sent(s, p, (size_t)n);
    }
    if (rx_buf_len(&s->out) == 0 && s->frame_len == 0)
        rx_buf_release(&s->out);
    stream_update_interest(s);
}

int rx_stream_watch(rx_stream_t *s)
{
    bool pending = rx_buf_len(&s->out) > 0;
    int err;

    err = rx_io_add(s->loop, s->fd, pending ? RX_READ | RX_WRITE : RX_READ, stream_on_io, s);
    if (err < 0)
        return err;
    s->watched = true;
    s->want_write = pending;
    s->last_read_ms = rx_loop_now(s->loop);
    return 0;
}

void rx_stream_hold(rx_stream_t *s)
{
    s->held++;
}

void rx_stream_unhold(rx_stream_t *s)
{
    if (--s->held > 0)
        return;
    if (s->fd >= 0)
        stream_flush(s);
    else if (s->closing)
        stream_release(s);
}

/* ---------------------------------------------------------------- input -- */

/* Hot path: no allocation; the message's body points into the buffer. */
static void stream_dispatch(rx_stream_t *s)
{
    const rx_stream_config_t *cfg = s->cfg;

    while (s->fd >= 0) {
        rx_frame_t f;
        ssize_t n = rx_frame_parse(rx_buf_peek(&s->in), rx_buf_len(&s->in), cfg->max_frame, &f);
        if (n == 0)
            break;
        if (n < 0) {
            rx_stat_inc(&cfg->stats->frames_bad);
            rx_stream_close(s);
            return;
        }
        rx_msg_t msg = {
            .msgid = f.msgid,
            .len = f.len,
            .body = f.body,
            .loop = s->loop,
            .from = s->from,
        };
        if (rx_router_dispatch(cfg->router, &msg) == -ENOENT) {
            rx_stat_inc(&cfg->stats->frames_unknown);
        } else {
            rx_stat_inc(&cfg->stats->frames_in);
            s->frames_in++;
        }
        /* Even when the handler closed the stream: held, it keeps its input. */
        rx_buf_consume(&s->in, (size_t)n);
    }
}

static void stream_read(rx_stream_t *s)
{
    ssize_t n = rx_buf_read_fd(&s->in, s->fd, rx_frame_read_hint(&s->in, READ_HINT));

    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        rx_stream_close(s);
        return;
    }
    s->last_read_ms = rx_loop_now(s->loop);
    stream_dispatch(s);
    if (rx_buf_len(&s->in) == 0)
        rx_buf_release(&s->in);
}

static void stream_on_io(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    rx_stream_t *s = arg;

    s->held++;
    if (events & (RX_READ | RX_HUP | RX_ERROR))
        stream_read(s);
    rx_stream_unhold(s);
}

void rx_stream_drain(rx_stream_t *s, size_t max_read)
{
    size_t budget = max_read;

    s->held++;
    while (s->fd >= 0 && budget > 0) {
        ssize_t n = rx_buf_read_fd(&s->in, s->fd, rx_frame_read_hint(&s->in, READ_HINT));
        if (n <= 0)
            break; /* EAGAIN, EOF or an error: nothing more to get */
        budget -= (size_t)n < budget ? (size_t)n : budget;
        stream_dispatch(s);
    }
    if (s->fd >= 0 && rx_buf_len(&s->in) > 0)
        rx_stat_inc(&s->cfg->stats->frames_truncated);
    if (s->fd >= 0)
        stream_flush(s);
    rx_stream_close(s);
    rx_stream_unhold(s);
}

/* --------------------------------------------------------------- output -- */

/* Room for one frame of len body bytes, header written; NULL with *ret_err.
 * Without keep_output, going over max_output closes the stream as a slow
 * reader. */
static uint8_t *stream_reserve(rx_stream_t *s, int32_t msgid, uint32_t len, int *ret_err)
{
    const rx_stream_config_t *cfg = s->cfg;
    size_t total = RX_FRAME_HDR + (size_t)len;
    uint8_t *p = NULL;
    int err = 0;

    if (s->fd < 0 && !cfg->keep_output)
        err = -ENOTCONN;
    else if (len > INT32_MAX) {
        *ret_err = -EINVAL;
        return NULL;
    } else if (rx_buf_len(&s->out) + total > cfg->max_output)
        err = -ENOBUFS;
    else if (!(p = rx_buf_reserve(&s->out, total, &err)))
        err = err ? err : -ENOMEM;
    if (err < 0) {
        rx_stat_inc(&cfg->stats->sends_refused);
        if (err == -ENOBUFS && !cfg->keep_output) {
            rx_stat_inc(&cfg->stats->conns_slow_closed);
            rx_stream_close(s);
        }
        *ret_err = err;
        return NULL;
    }
    rx_frame_put_header(p, msgid, len);
    return p + RX_FRAME_HDR;
}

static void stream_queued(rx_stream_t *s)
{
    rx_stat_inc(&s->cfg->stats->frames_out);
    /* Held, the flush comes once at the end; while the socket is full,
     * EPOLLOUT does it. */
    if (s->held == 0 && s->fd >= 0 && !s->want_write)
        stream_flush(s);
}

int rx_stream_send(rx_stream_t *s, int32_t msgid, const void *body, uint32_t len)
{
    int err;
    uint8_t *p = stream_reserve(s, msgid, len, &err);

    if (!p)
        return err;
    if (len)
        memcpy(p, body, len);
    rx_buf_commit(&s->out, RX_FRAME_HDR + (size_t)len);
    stream_queued(s);
    return 0;
}

uint8_t *rx_stream_frame_begin(rx_stream_t *s, int32_t msgid, uint32_t len, int *ret_err)
{
    int err;
    uint8_t *p = stream_reserve(s, msgid, len, &err);

    if (!p) {
        if (ret_err)
            *ret_err = err;
        return NULL;
    }
    s->frame_len = RX_FRAME_HDR + (size_t)len;
    return p;
}

void rx_stream_frame_commit(rx_stream_t *s)
{
    if (s->frame_len == 0 || (s->fd < 0 && !s->cfg->keep_output))
        return;
    rx_buf_commit(&s->out, s->frame_len);
    s->frame_len = 0;
    stream_queued(s);
}
