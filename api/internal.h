/*
 * liblars internals shared by its source files: the handle, the frame header
 * codec and the request/answer exchange over the shard sockets. Nothing here
 * is exported from the shared library (-fvisibility=hidden, version script).
 */
#ifndef LARS_API_INTERNAL_H
#define LARS_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/lars.h"

/* 8-byte header, int32 msgid and int32 msglen, little-endian (docs/protocol.md,
 * Frames). */
#define LARS_FRAME_HEADER 8
/* The largest UDP payload; an answer never exceeds one datagram. */
#define LARS_DGRAM_MAX 65535
/* Requests are a few small varints: far below this. */
#define LARS_REQUEST_MAX 256

/* Owned by the one thread that uses it (see lars.h). */
struct lars_client {
    int fds[LARS_SHARDS]; /* connected to agent:base_port + i */
    int timeout_ms;
    int tries;
    uint32_t seq; /* next get_host sequence number */
    lars_stats_t stats;
    uint8_t rbuf[LARS_DGRAM_MAX + 1]; /* one spare byte detects oversize datagrams */
};

/* What an answer callback says of one body. */
typedef enum lars_answer {
    LARS_ANSWER_MALFORMED = -1, /* not a valid message: skipped and counted */
    LARS_ANSWER_OTHER = 0,      /* valid, but another call's (seq, pair): skipped, counted */
    LARS_ANSWER_TAKEN = 1,      /* the awaited answer (kept in ctx): the wait ends */
} lars_answer_t;

typedef lars_answer_t (*lars_answer_fn)(const uint8_t *body, size_t len, void *ctx);

static inline void lars_frame_put_header(uint8_t *p, int32_t msgid, uint32_t len)
{
    uint32_t id = (uint32_t)msgid;

    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(id >> (8 * i));
        p[4 + i] = (uint8_t)(len >> (8 * i));
    }
}

static inline uint32_t lars_frame_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline int lars_shard(int modid, int cmdid)
{
    /* Both are >= 0 (checked by the callers), so the sum fits in uint32. */
    return (int)(((uint32_t)modid + (uint32_t)cmdid) % LARS_SHARDS);
}

/* Sends one frame (header + body) on a shard socket. 0 or -errno. */
int lars_io_send(lars_client_t *c, int shard, const uint8_t *frame, size_t len);

/* Sends the frame up to c->tries times and waits c->timeout_ms after each
 * send for a datagram with answer_msgid that answer() accepts. Returns 0,
 * LARS_TIMEOUT, or -errno for a failure that waiting cannot cure. */
int lars_io_request(lars_client_t *c, int shard, const uint8_t *frame, size_t len,
                    int32_t answer_msgid, lars_answer_fn answer, void *ctx);

#endif
