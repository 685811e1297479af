/*
 * liblars calls: get_host, get_route, reg_init and report, i.e. encoding the
 * requests (messages 4, 6, 7 of docs/protocol.md, Messages) and recognising
 * their answers (5, 8).
 */
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "proto/wire.h"

static bool ids_valid(const lars_client_t *c, int modid, int cmdid)
{
    return c && modid >= 0 && cmdid >= 0;
}

static void host_from_wire(lars_host_t *ret, int32_t ip, int32_t port)
{
    ret->ip = (uint32_t)ip;
    ret->port = port;
    lars_ip_to_str(ret->ip, ret->ip_str);
}

/* The agent's code as ours: unknown codes (a newer agent) are failures. */
static int retcode_from_wire(int32_t retcode)
{
    if (retcode >= LARS_SUCC && retcode <= LARS_NOEXIST)
        return retcode;
    return LARS_SYSTEM_ERROR;
}

_Static_assert(LARS_FRAME_HEADER + WIRE_SMALL_MAX <= LARS_REQUEST_MAX, "requests fit");

/* Puts the header of a body of len bytes (already at buf + LARS_FRAME_HEADER)
 * into buf; returns the frame length. */
static size_t frame_finish(uint8_t *buf, int32_t msgid, size_t len)
{
    lars_frame_put_header(buf, msgid, (uint32_t)len);
    return LARS_FRAME_HEADER + len;
}

/* ------------------------------------------------------------ get_host -- */

typedef struct host_answer {
    uint32_t seq;
    int modid, cmdid;
    int retcode;
    lars_host_t host;
} host_answer_t;

static lars_answer_t host_answer(const uint8_t *body, size_t len, void *ctx)
{
    host_answer_t *a = ctx;
    wire_get_host_resp_t rsp;

    if (wire_decode_get_host_resp(body, len, &rsp) < 0)
        return LARS_ANSWER_MALFORMED;
    if (rsp.seq != a->seq || rsp.modid != a->modid || rsp.cmdid != a->cmdid)
        return LARS_ANSWER_OTHER;
    a->retcode = retcode_from_wire(rsp.retcode);
    /* A success without a host is an agent bug; do not invent 0.0.0.0:0. */
    if (a->retcode == LARS_SUCC && !rsp.has_host)
        a->retcode = LARS_SYSTEM_ERROR;
    else if (rsp.has_host)
        host_from_wire(&a->host, rsp.host.ip, rsp.host.port);
    return LARS_ANSWER_TAKEN;
}

int lars_get_host(lars_client_t *c, int modid, int cmdid, lars_host_t *ret)
{
    host_answer_t a = {.modid = modid, .cmdid = cmdid};
    uint8_t frame[LARS_REQUEST_MAX];
    size_t len;
    int r;

    if (!ids_valid(c, modid, cmdid) || !ret)
        return LARS_EINVAL;
    a.seq = c->seq++;
    len = wire_encode_get_host_req(frame + LARS_FRAME_HEADER,
                                   &(wire_get_host_req_t){a.seq, modid, cmdid});
    len = frame_finish(frame, WIRE_ID_GET_HOST_REQUEST, len);

    r = lars_io_request(c, lars_shard(modid, cmdid), frame, len, WIRE_ID_GET_HOST_RESPONSE,
                        host_answer, &a);
    if (r < 0)
        return r;
    if (a.retcode == LARS_SUCC)
        *ret = a.host;
    return a.retcode;
}

/* ----------------------------------------------------------- get_route -- */

typedef struct route_answer {
    int modid, cmdid;
    lars_host_t *buf;
    size_t cap;
    size_t n;
} route_answer_t;

static lars_answer_t route_answer(const uint8_t *body, size_t len, void *ctx)
{
    route_answer_t *a = ctx;
    wire_get_route_resp_t rsp;
    wire_host_t h;

    if (wire_decode_get_route_resp(body, len, &rsp) < 0)
        return LARS_ANSWER_MALFORMED;
    if (rsp.modid != a->modid || rsp.cmdid != a->cmdid)
        return LARS_ANSWER_OTHER;
    a->n = rsp.nhosts;
    for (size_t i = 0; i < a->cap && wire_get_route_resp_next(&rsp, &h); i++)
        host_from_wire(&a->buf[i], h.ip, h.port);
    return LARS_ANSWER_TAKEN;
}

int lars_get_route(lars_client_t *c, int modid, int cmdid, lars_host_t *buf, size_t cap,
                   size_t *ret_n)
{
    route_answer_t a = {.modid = modid, .cmdid = cmdid, .buf = buf, .cap = cap};
    uint8_t frame[LARS_REQUEST_MAX];
    size_t len;
    int r;

    if (ret_n)
        *ret_n = 0;
    if (!ids_valid(c, modid, cmdid) || !ret_n || (!buf && cap > 0))
        return LARS_EINVAL;
    len =
        wire_encode_get_route_req(frame + LARS_FRAME_HEADER, &(wire_get_route_req_t){modid, cmdid});
    len = frame_finish(frame, WIRE_ID_API_GET_ROUTE_REQUEST, len);

    r = lars_io_request(c, lars_shard(modid, cmdid), frame, len, WIRE_ID_API_GET_ROUTE_RESPONSE,
                        route_answer, &a);
    if (r < 0)
        return r;
    *ret_n = a.n;
    return a.n > 0 ? LARS_SUCC : LARS_NOEXIST;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int lars_reg_init(lars_client_t *c, int modid, int cmdid)
{
    size_t n;
    int r = LARS_NOEXIST;

    for (int i = 0; i < LARS_REG_INIT_TRIES; i++) {
        if (i > 0)
            sleep_ms(LARS_REG_INIT_INTERVAL_MS);
        r = lars_get_route(c, modid, cmdid, NULL, 0, &n);
        if (r == LARS_SUCC || r == LARS_EINVAL)
            break;
    }
    return r;
}

/* -------------------------------------------------------------- report -- */

int lars_report_cost(lars_client_t *c, int modid, int cmdid, const lars_host_t *host, int retcode,
                     unsigned timecost_ms)
{
    uint8_t frame[LARS_REQUEST_MAX];
    size_t len;

    if (!ids_valid(c, modid, cmdid) || !host)
        return LARS_EINVAL;
    /* proto3 leaves a zero field out: timecost 0 is the original message. */
    len = wire_encode_report_req(frame + LARS_FRAME_HEADER,
                                 &(wire_report_req_t){
                                     .modid = modid,
                                     .cmdid = cmdid,
                                     .has_host = true,
                                     .host = {(int32_t)host->ip, host->port},
                                     .retcode = retcode,
                                     .timecost_ms = timecost_ms,
                                 });
    len = frame_finish(frame, WIRE_ID_REPORT_REQUEST, len);
    return lars_io_send(c, lars_shard(modid, cmdid), frame, len);
}

int lars_report(lars_client_t *c, int modid, int cmdid, const lars_host_t *host, int retcode)
{
    return lars_report_cost(c, modid, cmdid, host, retcode, 0);
}
