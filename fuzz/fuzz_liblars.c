/*
 * liblars reply handling (api/calls.c, api/io.c), driven in-process: a
 * handle's three UDP sockets are swapped for socketpairs whose other ends
 * play the agent. The input chooses a call (get_host, get_route into a
 * buffer of a given size, report) and the datagrams queued as answers
 * before it runs; a well-formed matching answer is queued last so every
 * call ends at once. The result must be what docs/protocol.md (Frames; Agent
 * ports and shards: matching answers) makes of the first datagram that is
 * exactly one frame of the awaited msgid whose body
 * protobuf-c decodes and whose seq (get_host) and pair match; stale and
 * malformed datagrams are skipped. A report must reach the agent as a frame
 * protobuf-c decodes to the values given.
 *
 * Input: u8 call, u8 cap, u32 seq, u32 modid, u32 cmdid, then datagrams as
 * u16 length + bytes (at most MAX_DGRAMS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/internal.h"
#include "fuzz/fuzz.h"
#include "proto/lars.pb-c.h"

#define MAX_DGRAMS 16
#define MAX_CAP    8

static lars_client_t *client;
static int agent_fds[LARS_SHARDS];

static void setup(void)
{
    lars_options_t o = {
        .agent_host = "127.0.0.1", .base_port = 40000, .timeout_ms = 200, .tries = 1};
    int err;

    if (client)
        return;
    client = lars_open(&o, &err);
    FUZZ_CHECK(client);
    for (int i = 0; i < LARS_SHARDS; i++) {
        int sv[2];

        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
        close(client->fds[i]);
        client->fds[i] = sv[0];
        agent_fds[i] = sv[1];
    }
}

static void drain(int fd)
{
    static uint8_t buf[LARS_DGRAM_MAX + 1];

    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
        ;
}

typedef struct expect {
    int call;
    uint32_t seq;
    int32_t modid, cmdid;
    bool found;
    bool unsure; /* a datagram before the answer is outside the agreement */
    int retcode; /* get_host */
    int32_t ip, port;
    size_t n; /* get_route */
    int32_t hosts[MAX_CAP][2];
} expect_t;

static const int32_t answer_ids[] = {LARS__MESSAGE_ID__ID_GetHostResponse,
                                     LARS__MESSAGE_ID__ID_API_GetRouteResponse};

/* Whether protobuf-c is a faithful oracle for this body: its tags and
 * length prefixes are ones both decoders read alike (fuzz/pbscan.c), and
 * a GetHostResponse names at most one host (protobuf-c keeps the last of a
 * repeated submessage where the spec, and liblars, merge them). */
static bool oracle_agrees(int call, const uint8_t *p, size_t n)
{
    static const uint32_t host_of[] = {5, 3};
    unsigned nsub = 0;

    if (!fuzz_pb_tags_valid(p, n, call == 0 ? 5 : 3, &host_of[call], 1, 2, &nsub))
        return false;
    return call != 0 || nsub <= 1;
}

/* The reference: what the first acceptable datagram says. */
static void expect_dgram(expect_t *e, const uint8_t *p, size_t n)
{
    uint32_t len;

    if (e->found || n < LARS_FRAME_HEADER || (int32_t)lars_frame_get_u32(p) != answer_ids[e->call])
        return;
    len = lars_frame_get_u32(p + 4);
    if (len != n - LARS_FRAME_HEADER) /* a datagram holds exactly one frame */
        return;
    p += LARS_FRAME_HEADER;
    if (!oracle_agrees(e->call, p, len)) {
        e->unsure = true;
        return;
    }
    if (e->call == 0) {
        Lars__GetHostResponse *r = lars__get_host_response__unpack(NULL, len, p);
        if (!r)
            return;
        if (r->seq == e->seq && r->modid == e->modid && r->cmdid == e->cmdid) {
            e->found = true;
            e->retcode = r->retcode >= 0 && r->retcode <= 3 ? r->retcode : LARS_SYSTEM_ERROR;
            if (e->retcode == LARS_SUCC && !r->host)
                e->retcode = LARS_SYSTEM_ERROR;
            if (r->host) {
                e->ip = r->host->ip;
                e->port = r->host->port;
            }
        }
        lars__get_host_response__free_unpacked(r, NULL);
    } else {
        Lars__GetRouteResponse *r = lars__get_route_response__unpack(NULL, len, p);
        if (!r)
            return;
        if (r->modid == e->modid && r->cmdid == e->cmdid) {
            e->found = true;
            e->n = r->n_host;
            for (size_t i = 0; i < r->n_host && i < MAX_CAP; i++) {
                e->hosts[i][0] = r->host[i]->ip;
                e->hosts[i][1] = r->host[i]->port;
            }
        }
        lars__get_route_response__free_unpacked(r, NULL);
    }
}

/* Queues one datagram for the client; false when the socket is full. */
static bool queue(int fd, expect_t *e, const uint8_t *p, size_t n)
{
    if (send(fd, p, n, MSG_DONTWAIT) != (ssize_t)n)
        return false;
    expect_dgram(e, p, n);
    return true;
}

static void queue_final_answer(int fd, expect_t *e)
{
    uint8_t frame[LARS_FRAME_HEADER + 64];
    size_t len;

    if (e->call == 0) {
        Lars__GetHostResponse r = LARS__GET_HOST_RESPONSE__INIT;
        r.seq = e->seq;
        r.modid = e->modid;
        r.cmdid = e->cmdid;
        r.retcode = LARS_NOEXIST;
        len = lars__get_host_response__pack(&r, frame + LARS_FRAME_HEADER);
    } else {
        Lars__GetRouteResponse r = LARS__GET_ROUTE_RESPONSE__INIT;
        r.modid = e->modid;
        r.cmdid = e->cmdid;
        len = lars__get_route_response__pack(&r, frame + LARS_FRAME_HEADER);
    }
    lars_frame_put_header(frame, answer_ids[e->call], (uint32_t)len);
    FUZZ_CHECK(queue(fd, e, frame, LARS_FRAME_HEADER + len));
}

static void check_ip_str(const lars_host_t *h)
{
    struct in_addr a = {htonl(h->ip)};
    char want[INET_ADDRSTRLEN];

    FUZZ_CHECK(inet_ntop(AF_INET, &a, want, sizeof(want)));
    FUZZ_CHECK(strcmp(h->ip_str, want) == 0);
}

static void run_get_host(expect_t *e)
{
    lars_host_t h;
    int r = lars_get_host(client, e->modid, e->cmdid, &h);

    if (e->unsure)
        return; /* nothing to compare against; the call must merely end */
    FUZZ_CHECK(e->found);
    FUZZ_CHECK(r == e->retcode);
    if (r == LARS_SUCC) {
        FUZZ_CHECK(h.ip == (uint32_t)e->ip && h.port == e->port);
        check_ip_str(&h);
    }
}

static void run_get_route(expect_t *e, size_t cap)
{
    lars_host_t *buf = cap ? malloc(cap * sizeof(*buf)) : NULL;
    size_t n = 99;
    int r = lars_get_route(client, e->modid, e->cmdid, buf, cap, &n);

    if (e->unsure) {
        free(buf); /* nothing to compare against; the call must merely end */
        return;
    }
    FUZZ_CHECK(e->found);
    FUZZ_CHECK(n == e->n);
    FUZZ_CHECK(r == (n > 0 ? LARS_SUCC : LARS_NOEXIST));
    for (size_t i = 0; i < n && i < cap; i++) {
        FUZZ_CHECK(buf[i].ip == (uint32_t)e->hosts[i][0] && buf[i].port == e->hosts[i][1]);
        check_ip_str(&buf[i]);
    }
    free(buf);
}

static void run_report(fuzz_input_t *in, int32_t modid, int32_t cmdid, int shard)
{
    lars_host_t h = {.ip = fuzz_u32(in), .port = (int32_t)fuzz_u32(in)};
    int retcode = (int32_t)fuzz_u32(in);
    uint32_t cost = fuzz_u32(in);
    uint8_t buf[LARS_DGRAM_MAX];
    Lars__ReportRequest *rq;
    ssize_t n;

    FUZZ_CHECK(lars_report_cost(client, modid, cmdid, &h, retcode, cost) == 0);
    n = recv(agent_fds[shard], buf, sizeof(buf), MSG_DONTWAIT);
    FUZZ_CHECK(n >= LARS_FRAME_HEADER);
    FUZZ_CHECK(lars_frame_get_u32(buf) == LARS__MESSAGE_ID__ID_ReportRequest);
    FUZZ_CHECK(lars_frame_get_u32(buf + 4) == (size_t)n - LARS_FRAME_HEADER);
    rq = lars__report_request__unpack(NULL, (size_t)n - LARS_FRAME_HEADER, buf + LARS_FRAME_HEADER);
    FUZZ_CHECK(rq && rq->modid == modid && rq->cmdid == cmdid && rq->retcode == retcode);
    FUZZ_CHECK(rq->timecost_ms == cost && rq->host);
    FUZZ_CHECK((uint32_t)rq->host->ip == h.ip && rq->host->port == h.port);
    lars__report_request__free_unpacked(rq, NULL);
}

int fuzz_liblars(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size};
    uint8_t call = fuzz_u8(&in) % 3;
    size_t cap = fuzz_u8(&in) % (MAX_CAP + 1);
    expect_t e = {.call = call};
    int shard;

    setup();
    client->seq = fuzz_u32(&in);
    e.seq = client->seq;
    e.modid = (int32_t)(fuzz_u32(&in) & 0x7fffffff);
    e.cmdid = (int32_t)(fuzz_u32(&in) & 0x7fffffff);
    shard = lars_shard(e.modid, e.cmdid);
    if (call == 2) {
        run_report(&in, e.modid, e.cmdid, shard);
        goto out;
    }
    for (int i = 0; i < MAX_DGRAMS && in.n > 0; i++) {
        size_t len = fuzz_u8(&in) | (size_t)fuzz_u8(&in) << 8, got;
        const uint8_t *p = fuzz_bytes(&in, len, &got);

        if (!queue(agent_fds[shard], &e, p, got))
            break;
    }
    queue_final_answer(agent_fds[shard], &e);
    if (call == 0)
        run_get_host(&e);
    else
        run_get_route(&e, cap);
out:
    for (int i = 0; i < LARS_SHARDS; i++) {
        drain(agent_fds[i]);
        drain(client->fds[i]);
    }
    return 0;
}
