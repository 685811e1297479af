/*
 * liblars transport: the handle's three connected UDP sockets (one per agent
 * shard) and the send / wait-for-answer loop with its time budget.
 *
 * A request is sent up to `tries` times; after each send we wait at most
 * timeout_ms for an accepted answer, so a call is bounded by about
 * timeout_ms * tries. Every try of one call carries the same request, so a
 * late answer to an earlier try is still accepted. Datagrams that are not
 * the awaited answer (stale answers of an earlier call, garbage) are read and
 * skipped without extending the try's deadline.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/internal.h"
#include "proto/wire.h"

static uint64_t monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int resolve_agent(const char *host, struct in_addr *ret)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res;

    if (inet_pton(AF_INET, host, ret) == 1)
        return 0;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return LARS_EINVAL;
    *ret = ((const struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

static int options_check(const lars_options_t *opts, lars_options_t *ret)
{
    lars_options_t o = opts ? *opts : (lars_options_t){0};

    if (!o.agent_host)
        o.agent_host = LARS_DEFAULT_AGENT_HOST;
    if (o.base_port == 0)
        o.base_port = LARS_DEFAULT_BASE_PORT;
    if (o.timeout_ms == 0)
        o.timeout_ms = LARS_DEFAULT_TIMEOUT_MS;
    if (o.tries == 0)
        o.tries = LARS_DEFAULT_TRIES;
    if (o.base_port < 1 || o.base_port > 65535 - (LARS_SHARDS - 1))
        return LARS_EINVAL;
    if (o.timeout_ms < 1 || o.timeout_ms > 60000 || o.tries < 1 || o.tries > 100)
        return LARS_EINVAL;
    *ret = o;
    return 0;
}

static int shard_socket(struct in_addr addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr};
    int fd, r;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

lars_client_t *lars_open(const lars_options_t *opts, int *ret_err)
{
    lars_options_t o;
    struct in_addr addr;
    lars_client_t *c;
    int r, i;

    r = options_check(opts, &o);
    if (r < 0)
        goto out_err;
    r = resolve_agent(o.agent_host, &addr);
    if (r < 0)
        goto out_err;

    c = calloc(1, sizeof(*c));
    if (!c) {
        r = -ENOMEM;
        goto out_err;
    }
    c->timeout_ms = o.timeout_ms;
    c->tries = o.tries;
    /* A random start keeps a new handle that inherits a recently closed
     * handle's port from taking that handle's late answers for its own. */
    if (getrandom(&c->seq, sizeof(c->seq), GRND_NONBLOCK) != sizeof(c->seq))
        c->seq = (uint32_t)monotonic_us();

    for (i = 0; i < LARS_SHARDS; i++) {
        r = shard_socket(addr, o.base_port + i);
        if (r < 0)
            goto out_close;
        c->fds[i] = r;
    }
    if (ret_err)
        *ret_err = 0;
    return c;

out_close:
    while (i-- > 0)
        close(c->fds[i]);
    free(c);
out_err:
    if (ret_err)
        *ret_err = r;
    return NULL;
}

void lars_close(lars_client_t *c)
{
    if (!c)
        return;
    for (int i = 0; i < LARS_SHARDS; i++)
        close(c->fds[i]);
    free(c);
}

int lars_io_send(lars_client_t *c, int shard, const uint8_t *frame, size_t len)
{
    /* A refused earlier datagram (ICMP port unreachable) is reported on the
     * next send and cleared by that: the second attempt is the real one. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (send(c->fds[shard], frame, len, 0) >= 0)
            return 0;
        if (errno != ECONNREFUSED && errno != EINTR)
            return -errno;
    }
    return -ECONNREFUSED;
}

/* What one received datagram is to a call waiting for answer_msgid. */
static lars_answer_t dgram_judge(const uint8_t *p, size_t n, int32_t answer_msgid,
                                 lars_answer_fn answer, void *ctx)
{
    uint32_t len;
    int32_t id;

    if (n < LARS_FRAME_HEADER || n > LARS_DGRAM_MAX)
        return LARS_ANSWER_MALFORMED;
    len = lars_frame_get_u32(p + 4);
    if (len != n - LARS_FRAME_HEADER)
        return LARS_ANSWER_MALFORMED;
    id = (int32_t)lars_frame_get_u32(p);
    if (id == answer_msgid)
        return answer(p + LARS_FRAME_HEADER, len, ctx);
    /* A late answer to the other kind of call, or no answer at all. */
    return id == WIRE_ID_GET_HOST_RESPONSE || id == WIRE_ID_API_GET_ROUTE_RESPONSE
               ? LARS_ANSWER_OTHER
               : LARS_ANSWER_MALFORMED;
}

/* Waits until deadline_us for an accepted answer: 0, LARS_TIMEOUT or -errno. */
static int wait_answer(lars_client_t *c, int fd, uint64_t deadline_us, int32_t answer_msgid,
                       lars_answer_fn answer, void *ctx)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = monotonic_us();
        ssize_t n;
        int r;

        if (now >= deadline_us)
            return LARS_TIMEOUT;
        r = poll(&pfd, 1, (int)((deadline_us - now + 999) / 1000));
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0)
            continue;

        n = recv(fd, c->rbuf, sizeof(c->rbuf), MSG_DONTWAIT);
        if (n < 0) {
            /* ECONNREFUSED: nobody listens (yet); like a lost answer, the
             * try's deadline decides. */
            if (errno == ECONNREFUSED || errno == EAGAIN || errno == EINTR)
                continue;
            return -errno;
        }
        switch (dgram_judge(c->rbuf, (size_t)n, answer_msgid, answer, ctx)) {
        case LARS_ANSWER_TAKEN:
            return 0;
        case LARS_ANSWER_OTHER:
            c->stats.stale_answers++;
            break;
        case LARS_ANSWER_MALFORMED:
            c->stats.malformed_answers++;
            break;
        }
    }
}

int lars_io_request(lars_client_t *c, int shard, const uint8_t *frame, size_t len,
                    int32_t answer_msgid, lars_answer_fn answer, void *ctx)
{
    for (int t = 0; t < c->tries; t++) {
        uint64_t deadline = monotonic_us() + (uint64_t)c->timeout_ms * 1000;
        int r;

        if (t > 0)
            c->stats.retries++;
        r = lars_io_send(c, shard, frame, len);
        /* A datagram the kernel could not take is a lost try, not a failure. */
        if (r < 0 && r != -ECONNREFUSED && r != -EAGAIN && r != -ENOBUFS)
            return r;
        r = wait_answer(c, c->fds[shard], deadline, answer_msgid, answer, ctx);
        if (r != LARS_TIMEOUT)
            return r;
    }
    c->stats.timeouts++;
    return LARS_TIMEOUT;
}

void lars_get_stats(const lars_client_t *c, lars_stats_t *ret, size_t size)
{
    if (!c || !ret)
        return;
    memcpy(ret, &c->stats, size < sizeof(c->stats) ? size : sizeof(c->stats));
}
