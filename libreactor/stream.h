/*
 * A framed connection over a non-blocking stream socket: what the TCP
 * server's connections and the TCP client share. It holds the input buffer
 * and cuts frames from it (with the body limit), dispatches them through a
 * router, queues output up to a bound, asks for EPOLLOUT only while output
 * is left over, and can read what is left, flush and close (drain). It
 * knows nothing of accepting, connecting or reconnecting: its owner hands
 * it a connected fd and is told when it closes.
 *
 * Handlers run with the stream held: frames they queue are written once,
 * when the outermost hold ends, and a stream closed meanwhile keeps its
 * memory until then, so a handler may close it and still read its message.
 * Steady traffic allocates nothing (rx_buf storage, a per-thread pool).
 * Everything on the stream's loop.
 */
#ifndef LIBREACTOR_STREAM_H
#define LIBREACTOR_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libreactor/buf.h"
#include "libreactor/loop.h"
#include "libreactor/router.h"
#include "libreactor/stats.h"

typedef struct rx_stream rx_stream_t;

/* What the streams of one owner share. */
typedef struct rx_stream_config {
    rx_router_t *router;
    /* Counts frames_in/out/bad/unknown, sends_refused, conns_slow_closed and
     * frames_truncated. */
    rx_stats_t *stats;
    uint32_t max_frame; /* body limit; a longer frame closes the stream */
    size_t max_output;  /* unsent bytes, frame headers included */
    /* false (a server's connection): once closed, the stream refuses frames
     * (-ENOTCONN) and drops its output; output over max_output closes it as
     * a slow reader (-ENOBUFS).
     * true (a client that reconnects): frames queue while no fd is
     * attached; output survives a close, except a frame the old fd had
     * partly written (the peer could not make sense of the rest), and goes
     * out on the next fd; output over max_output is refused (-ENOBUFS). */
    bool keep_output;
    /* The stream closed, by itself (EOF, a read or write error, a bad
     * frame, a slow reader) or by rx_stream_close; its fd is closed
     * already. Once per attached fd; the stream is held meanwhile. */
    void (*on_close)(rx_stream_t *s, void *arg);
    /* Optional: a closed stream is no longer held; its owner may free it
     * now (and nothing of the stream is touched afterwards). */
    void (*on_release)(rx_stream_t *s, void *arg);
} rx_stream_config_t;

/* Embedded in its owner. The owner sets `from` (stamped on every message
 * it dispatches) and may read last_read_ms and frames_in; the rest is the
 * stream's. */
struct rx_stream {
    rx_peer_t from;
    uint64_t last_read_ms; /* rx_loop_now of the last read that got bytes */
    uint64_t frames_in;    /* complete frames dispatched to a handler */
    const rx_stream_config_t *cfg;
    void *arg; /* for cfg's callbacks */
    rx_loop_t *loop;
    int fd; /* -1: none */
    rx_buf_t in;
    rx_buf_t out;
    size_t frame_len; /* reserved by rx_stream_frame_begin, not yet committed */
    size_t head_left; /* keep_output: unwritten bytes of a partly written first frame */
    unsigned held;
    bool watched;    /* fd registered on the loop */
    bool want_write; /* EPOLLOUT asked for */
    bool closing;    /* closed while held: released when the hold ends */
};

/* No fd yet. cfg must outlive the stream. */
void rx_stream_init(rx_stream_t *s, rx_loop_t *loop, const rx_stream_config_t *cfg, void *arg);
/* Hands the stream a connected non-blocking fd, which it closes from now
 * on; nothing is read or written before rx_stream_watch. -EBUSY when the
 * stream has an fd or is still held after a close. */
int rx_stream_attach(rx_stream_t *s, int fd);
/* Registers the fd on the loop: reading starts, queued output goes out. On
 * failure (-errno) the fd stays attached and unwatched. */
int rx_stream_watch(rx_stream_t *s);
static inline bool rx_stream_is_open(const rx_stream_t *s)
{
    return s->fd >= 0;
}

/* Queues one frame (see keep_output for the errors); written at once
 * unless the stream is held or the socket is full (then EPOLLOUT does it). */
int rx_stream_send(rx_stream_t *s, int32_t msgid, const void *body, uint32_t len);
/* Zero-copy variant: where to write len body bytes (NULL with *ret_err);
 * the frame is queued by rx_stream_frame_commit. */
uint8_t *rx_stream_frame_begin(rx_stream_t *s, int32_t msgid, uint32_t len, int *ret_err);
void rx_stream_frame_commit(rx_stream_t *s);

/* Holds must nest; the last rx_stream_unhold writes what was queued, or
 * releases a stream closed meanwhile (on_release). */
void rx_stream_hold(rx_stream_t *s);
void rx_stream_unhold(rx_stream_t *s);
/* Closes the fd now (on_close runs); unsent output is dropped unless
 * keep_output. Nothing when the stream has no fd. */
void rx_stream_close(rx_stream_t *s);
/* Reads what the socket holds until EAGAIN or EOF (at most max_read bytes),
 * dispatches every complete frame, counts a partial one left in
 * frames_truncated, writes what is queued as far as the socket takes it
 * without waiting, and closes. */
void rx_stream_drain(rx_stream_t *s, size_t max_read);
/* For an owner going away: closes the fd without on_close and frees the
 * buffers. Not while held. */
void rx_stream_destroy(rx_stream_t *s);

#endif
