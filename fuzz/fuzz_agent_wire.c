/*
 * lars-agent's hand-written protobuf codec (daemons/agent/wire.h), against
 * protobuf-c as the reference. First byte % 6 picks:
 *   0..2  the rest is a GetHostRequest / ReportRequest / (API) GetRouteRequest
 *         body: whatever protobuf-c accepts (with tags the protobuf spec
 *         allows) the agent must accept with the same values (more lenient
 *         is fine, stricter is an interop bug);
 *   3..5  GetHostResponse / GetRouteRequest / GetRouteResponse built from the
 *         input are encoded into buffers of exactly the documented size and
 *         must be what protobuf-c packs (and, for GetRouteRequest, what
 *         lars-dns decodes).
 */
#include <string.h>

#include "daemons/agent/wire.h"
#include "daemons/dns/proto.h"
#include "fuzz/fuzz.h"
#include "proto/lars.pb-c.h"

#define MAX_HOSTS 512

static void check_get_host_req(const uint8_t *p, size_t n)
{
    Lars__GetHostRequest *pc = lars__get_host_request__unpack(NULL, n, p);
    wire_get_host_req_t req;
    int r = wire_decode_get_host_req(p, n, &req);

    if (!pc || !fuzz_pb_tags_valid(p, n, 3, NULL, 0, 0, NULL))
        goto out;
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(req.seq == pc->seq && req.modid == pc->modid && req.cmdid == pc->cmdid);
out:
    if (pc)
        lars__get_host_request__free_unpacked(pc, NULL);
}

static void check_report_req(const uint8_t *p, size_t n)
{
    Lars__ReportRequest *pc = lars__report_request__unpack(NULL, n, p);
    wire_report_req_t req;
    int r = wire_decode_report_req(p, n, &req);
    static const uint32_t sub[] = {3};

    unsigned nhost = 0;

    if (!pc || !fuzz_pb_tags_valid(p, n, 5, sub, 1, 2, &nhost))
        goto out;
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(req.modid == pc->modid && req.cmdid == pc->cmdid);
    FUZZ_CHECK(req.retcode == pc->retcode && req.timecost_ms == pc->timecost_ms);
    /* protobuf-c 1.4 does not merge a repeated singular submessage field
     * field by field as the spec says (the agent does): compare one only. */
    if (nhost > 1)
        goto out;
    FUZZ_CHECK(req.ip == (pc->host ? pc->host->ip : 0));
    FUZZ_CHECK(req.port == (pc->host ? pc->host->port : 0));
out:
    if (pc)
        lars__report_request__free_unpacked(pc, NULL);
}

static void check_get_route_req(const uint8_t *p, size_t n)
{
    Lars__GetRouteRequest *pc = lars__get_route_request__unpack(NULL, n, p);
    wire_pair_t req;
    int r = wire_decode_get_route_req(p, n, &req);

    if (!pc || !fuzz_pb_tags_valid(p, n, 2, NULL, 0, 0, NULL))
        goto out;
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(req.modid == pc->modid && req.cmdid == pc->cmdid);
out:
    if (pc)
        lars__get_route_request__free_unpacked(pc, NULL);
}

/* Packs msg with protobuf-c and compares with ours. */
static void check_same_bytes(const ProtobufCMessage *msg, const uint8_t *ours, size_t len)
{
    size_t want = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(want ? want : 1);

    FUZZ_CHECK(buf);
    FUZZ_CHECK(want == len);
    protobuf_c_message_pack(msg, buf);
    FUZZ_CHECK(memcmp(buf, ours, len) == 0);
    free(buf);
}

static void check_get_host_resp(fuzz_input_t *in)
{
    Lars__GetHostResponse msg = LARS__GET_HOST_RESPONSE__INIT;
    Lars__HostInfo hi = LARS__HOST_INFO__INIT;
    uint8_t *out = malloc(WIRE_SMALL_MAX);
    lb_host_t host;
    bool with_host;
    size_t len;

    FUZZ_CHECK(out);
    msg.seq = fuzz_u32(in);
    msg.modid = (int32_t)fuzz_u32(in);
    msg.cmdid = (int32_t)fuzz_u32(in);
    msg.retcode = (int32_t)fuzz_u32(in);
    with_host = fuzz_u8(in) & 1;
    host = (lb_host_t){(int32_t)fuzz_u32(in), (int32_t)fuzz_u32(in)};
    if (with_host) {
        hi.ip = host.ip;
        hi.port = host.port;
        msg.host = &hi;
    }
    len = wire_encode_get_host_resp(out, msg.seq, msg.modid, msg.cmdid, msg.retcode,
                                    with_host ? &host : NULL);
    FUZZ_CHECK(len <= WIRE_SMALL_MAX);
    check_same_bytes(&msg.base, out, len);
    free(out);
}

static void check_get_route_req_encoding(fuzz_input_t *in)
{
    Lars__GetRouteRequest msg = LARS__GET_ROUTE_REQUEST__INIT;
    uint8_t *out = malloc(WIRE_SMALL_MAX);
    int32_t modid, cmdid;
    size_t len;

    FUZZ_CHECK(out);
    msg.modid = (int32_t)fuzz_u32(in);
    msg.cmdid = (int32_t)fuzz_u32(in);
    len = wire_encode_get_route_req(out, msg.modid, msg.cmdid);
    FUZZ_CHECK(len <= WIRE_SMALL_MAX);
    check_same_bytes(&msg.base, out, len);
    FUZZ_CHECK(dns_route_request_decode(out, len, &modid, &cmdid) == 0);
    FUZZ_CHECK(modid == msg.modid && cmdid == msg.cmdid);
    free(out);
}

static void check_get_route_resp(fuzz_input_t *in)
{
    static lb_host_t hosts[MAX_HOSTS];
    static Lars__HostInfo infos[MAX_HOSTS];
    static Lars__HostInfo *ptrs[MAX_HOSTS];
    Lars__GetRouteResponse msg = LARS__GET_ROUTE_RESPONSE__INIT;
    size_t cap = fuzz_u8(in) | (size_t)fuzz_u8(in) << 8, n = 0, written, len;
    uint8_t *out = malloc(cap ? cap : 1);

    FUZZ_CHECK(out);
    msg.modid = (int32_t)fuzz_u32(in);
    msg.cmdid = (int32_t)fuzz_u32(in);
    while (in->n > 0 && n < MAX_HOSTS) {
        hosts[n] = (lb_host_t){(int32_t)fuzz_u32(in), (int32_t)fuzz_u32(in)};
        n++;
    }
    len = wire_encode_get_route_resp(out, cap, msg.modid, msg.cmdid, hosts, n, &written);
    FUZZ_CHECK(len <= cap && written <= n);
    if (len == 0 && written == 0 && (msg.modid || msg.cmdid))
        goto out; /* not even the pair fits */
    for (size_t i = 0; i < written; i++) {
        lars__host_info__init(&infos[i]);
        infos[i].ip = hosts[i].ip;
        infos[i].port = hosts[i].port;
        ptrs[i] = &infos[i];
    }
    msg.n_host = written;
    msg.host = ptrs;
    check_same_bytes(&msg.base, out, len);
    /* Whole hosts only, and as many as fit. */
    if (written < n) {
        Lars__GetRouteResponse one = LARS__GET_ROUTE_RESPONSE__INIT;
        Lars__HostInfo hi = LARS__HOST_INFO__INIT;
        Lars__HostInfo *p = &hi;

        hi.ip = hosts[written].ip;
        hi.port = hosts[written].port;
        one.n_host = 1;
        one.host = &p;
        FUZZ_CHECK(len + lars__get_route_response__get_packed_size(&one) > cap);
    }
out:
    free(out);
}

int fuzz_agent_wire(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size};

    switch (fuzz_u8(&in) % 6) {
    case 0:
        check_get_host_req(in.p, in.n);
        break;
    case 1:
        check_report_req(in.p, in.n);
        break;
    case 2:
        check_get_route_req(in.p, in.n);
        break;
    case 3:
        check_get_host_resp(&in);
        break;
    case 4:
        check_get_route_req_encoding(&in);
        break;
    default:
        check_get_route_resp(&in);
        break;
    }
    return 0;
}
