/*
 * The wire codec (proto/wire.h) against protobuf-c, the reference.
 * The first byte % 8 picks:
 *   0..5  the rest is a body of GetRouteRequest, GetRouteResponse,
 *         ReportStatusRequest, GetHostRequest, GetHostResponse or
 *         ReportRequest. Both decoders read it; on bodies whose tags the
 *         protobuf spec allows (pbscan.c) they must agree on accept/reject,
 *         and whenever both accept, on every value. What ours accepts must
 *         re-encode within the documented bound to bytes that decode to the
 *         same values and are what protobuf-c packs for the same values.
 *   6     a GetRouteResponse of hosts from the input into a buffer of a
 *         size from the input: whole hosts only, as many as fit, and the
 *         bytes protobuf-c packs for those.
 *   7     a ReportStatusRequest of results from the input into a buffer of
 *         exactly wire_report_status_size(): the bytes protobuf-c packs.
 *
 * Known departures, outside the agreement: protobuf-c takes tags the spec
 * forbids (field 0 in two bytes, bools in fixed32...), and refuses tags and
 * length prefixes longer than 5 bytes, which ours reads; protobuf-c 1.4
 * keeps the last of a singular submessage given twice instead of merging
 * them as the spec says (ours merges).
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "proto/lars.pb-c.h"
#include "proto/wire.h"

#define MAX_ITEMS 512

/* Whether both accepted: on a body with valid tags they must agree. */
static bool both_accept(int r, const void *pc, bool tags_valid)
{
    if (tags_valid)
        FUZZ_CHECK((r == 0) == (pc != NULL));
    return r == 0 && pc;
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

/* An exact-size copy of a small encoding, so ASan sees any overrun. */
static uint8_t *small_buf(void)
{
    uint8_t *p = malloc(WIRE_SMALL_MAX);

    FUZZ_CHECK(p);
    return p;
}

static bool same_host(const wire_host_t *a, const wire_host_t *b)
{
    return a->ip == b->ip && a->port == b->port;
}

static bool same_result(const wire_call_result_t *a, const wire_call_result_t *b)
{
    return a->ip == b->ip && a->port == b->port && a->succ == b->succ && a->err == b->err &&
           a->overload == b->overload;
}

/* ------------------------------------------------- single-host bodies -- */

static void check_get_route_req(const uint8_t *p, size_t n)
{
    Lars__GetRouteRequest *pc = lars__get_route_request__unpack(NULL, n, p);
    bool valid = fuzz_pb_tags_valid(p, n, 2, NULL, 0, 0, NULL);
    wire_get_route_req_t m, back;
    int r = wire_decode_get_route_req(p, n, &m);
    uint8_t *out;
    size_t len;

    if (both_accept(r, pc, valid))
        FUZZ_CHECK(m.modid == pc->modid && m.cmdid == pc->cmdid);
    if (r == 0) {
        out = small_buf();
        len = wire_encode_get_route_req(out, &m);
        FUZZ_CHECK(wire_decode_get_route_req(out, len, &back) == 0);
        FUZZ_CHECK(back.modid == m.modid && back.cmdid == m.cmdid);
        Lars__GetRouteRequest ref = LARS__GET_ROUTE_REQUEST__INIT;
        ref.modid = m.modid;
        ref.cmdid = m.cmdid;
        check_same_bytes(&ref.base, out, len);
        free(out);
    }
    if (pc)
        lars__get_route_request__free_unpacked(pc, NULL);
}

static void check_get_host_req(const uint8_t *p, size_t n)
{
    Lars__GetHostRequest *pc = lars__get_host_request__unpack(NULL, n, p);
    bool valid = fuzz_pb_tags_valid(p, n, 3, NULL, 0, 0, NULL);
    wire_get_host_req_t m, back;
    int r = wire_decode_get_host_req(p, n, &m);
    uint8_t *out;
    size_t len;

    if (both_accept(r, pc, valid))
        FUZZ_CHECK(m.seq == pc->seq && m.modid == pc->modid && m.cmdid == pc->cmdid);
    if (r == 0) {
        out = small_buf();
        len = wire_encode_get_host_req(out, &m);
        FUZZ_CHECK(wire_decode_get_host_req(out, len, &back) == 0);
        FUZZ_CHECK(back.seq == m.seq && back.modid == m.modid && back.cmdid == m.cmdid);
        Lars__GetHostRequest ref = LARS__GET_HOST_REQUEST__INIT;
        ref.seq = m.seq;
        ref.modid = m.modid;
        ref.cmdid = m.cmdid;
        check_same_bytes(&ref.base, out, len);
        free(out);
    }
    if (pc)
        lars__get_host_request__free_unpacked(pc, NULL);
}

/* Our host as protobuf-c's (NULL: absent), in *buf. */
static Lars__HostInfo *pc_host(bool has, const wire_host_t *h, Lars__HostInfo *buf)
{
    if (!has)
        return NULL;
    buf->ip = h->ip;
    buf->port = h->port;
    return buf;
}

/* Whether ours and protobuf-c's host agree (pc may be NULL: absent). */
static bool same_pc_host(bool has, const wire_host_t *h, const Lars__HostInfo *pc)
{
    return has == (pc != NULL) && (!pc || (h->ip == pc->ip && h->port == pc->port));
}

static void check_get_host_resp(const uint8_t *p, size_t n)
{
    static const uint32_t sub[] = {5};
    Lars__GetHostResponse *pc = lars__get_host_response__unpack(NULL, n, p);
    unsigned nhost = 0;
    bool valid = fuzz_pb_tags_valid(p, n, 5, sub, 1, 2, &nhost);
    wire_get_host_resp_t m, back;
    int r = wire_decode_get_host_resp(p, n, &m);
    uint8_t *out;
    size_t len;

    if (both_accept(r, pc, valid)) {
        FUZZ_CHECK(m.seq == pc->seq && m.modid == pc->modid && m.cmdid == pc->cmdid);
        FUZZ_CHECK(m.retcode == pc->retcode && m.has_host == (pc->host != NULL));
        if (valid && nhost <= 1)
            FUZZ_CHECK(same_pc_host(m.has_host, &m.host, pc->host));
    }
    if (r == 0) {
        out = small_buf();
        len = wire_encode_get_host_resp(out, &m);
        FUZZ_CHECK(wire_decode_get_host_resp(out, len, &back) == 0);
        FUZZ_CHECK(back.seq == m.seq && back.modid == m.modid && back.cmdid == m.cmdid);
        FUZZ_CHECK(back.retcode == m.retcode && back.has_host == m.has_host);
        FUZZ_CHECK(same_host(&back.host, &m.host));
        Lars__GetHostResponse ref = LARS__GET_HOST_RESPONSE__INIT;
        Lars__HostInfo hi = LARS__HOST_INFO__INIT;
        ref.seq = m.seq;
        ref.modid = m.modid;
        ref.cmdid = m.cmdid;
        ref.retcode = m.retcode;
        ref.host = pc_host(m.has_host, &m.host, &hi);
        check_same_bytes(&ref.base, out, len);
        free(out);
    }
    if (pc)
        lars__get_host_response__free_unpacked(pc, NULL);
}

static void check_report_req(const uint8_t *p, size_t n)
{
    static const uint32_t sub[] = {3};
    Lars__ReportRequest *pc = lars__report_request__unpack(NULL, n, p);
    unsigned nhost = 0;
    bool valid = fuzz_pb_tags_valid(p, n, 5, sub, 1, 2, &nhost);
    wire_report_req_t m, back;
    int r = wire_decode_report_req(p, n, &m);
    uint8_t *out;
    size_t len;

    if (both_accept(r, pc, valid)) {
        FUZZ_CHECK(m.modid == pc->modid && m.cmdid == pc->cmdid);
        FUZZ_CHECK(m.retcode == pc->retcode && m.timecost_ms == pc->timecost_ms);
        FUZZ_CHECK(m.has_host == (pc->host != NULL));
        if (valid && nhost <= 1)
            FUZZ_CHECK(same_pc_host(m.has_host, &m.host, pc->host));
    }
    if (r == 0) {
        out = small_buf();
        len = wire_encode_report_req(out, &m);
        FUZZ_CHECK(wire_decode_report_req(out, len, &back) == 0);
        FUZZ_CHECK(back.modid == m.modid && back.cmdid == m.cmdid);
        FUZZ_CHECK(back.retcode == m.retcode && back.timecost_ms == m.timecost_ms);
        FUZZ_CHECK(back.has_host == m.has_host && same_host(&back.host, &m.host));
        Lars__ReportRequest ref = LARS__REPORT_REQUEST__INIT;
        Lars__HostInfo hi = LARS__HOST_INFO__INIT;
        ref.modid = m.modid;
        ref.cmdid = m.cmdid;
        ref.host = pc_host(m.has_host, &m.host, &hi);
        ref.retcode = m.retcode;
        ref.timecost_ms = m.timecost_ms;
        check_same_bytes(&ref.base, out, len);
        free(out);
    }
    if (pc)
        lars__report_request__free_unpacked(pc, NULL);
}

/* ------------------------------------------------------ repeated bodies -- */

/* Checks out[0, len) is what protobuf-c packs for GetRouteResponse{modid,
 * cmdid, hosts[0, n)}. */
static void check_route_bytes(int32_t modid, int32_t cmdid, const wire_host_t *hosts, size_t n,
                              const uint8_t *out, size_t len)
{
    Lars__GetRouteResponse ref = LARS__GET_ROUTE_RESPONSE__INIT;
    Lars__HostInfo *infos = malloc((n ? n : 1) * sizeof(*infos));
    Lars__HostInfo **ptrs = malloc((n ? n : 1) * sizeof(*ptrs));

    FUZZ_CHECK(infos && ptrs);
    for (size_t i = 0; i < n; i++) {
        lars__host_info__init(&infos[i]);
        infos[i].ip = hosts[i].ip;
        infos[i].port = hosts[i].port;
        ptrs[i] = &infos[i];
    }
    ref.modid = modid;
    ref.cmdid = cmdid;
    ref.n_host = n;
    ref.host = ptrs;
    check_same_bytes(&ref.base, out, len);
    free(ptrs);
    free(infos);
}

/* The same for ReportStatusRequest{m's scalars, res[0, m->nresults)}. */
static void check_status_bytes(const wire_report_status_t *m, const wire_call_result_t *res,
                               const uint8_t *out, size_t len)
{
    Lars__ReportStatusRequest ref = LARS__REPORT_STATUS_REQUEST__INIT;
    size_t n = m->nresults;
    Lars__HostCallResult *items = malloc((n ? n : 1) * sizeof(*items));
    Lars__HostCallResult **ptrs = malloc((n ? n : 1) * sizeof(*ptrs));

    FUZZ_CHECK(items && ptrs);
    for (size_t i = 0; i < n; i++) {
        lars__host_call_result__init(&items[i]);
        items[i].ip = res[i].ip;
        items[i].port = res[i].port;
        items[i].succ = res[i].succ;
        items[i].err = res[i].err;
        items[i].overload = res[i].overload;
        ptrs[i] = &items[i];
    }
    ref.modid = m->modid;
    ref.cmdid = m->cmdid;
    ref.caller = m->caller;
    ref.ts = m->ts;
    ref.n_results = n;
    ref.results = ptrs;
    check_same_bytes(&ref.base, out, len);
    free(ptrs);
    free(items);
}

/* Our hosts in body order; exactly m->nhosts of them. */
static wire_host_t *route_hosts(wire_get_route_resp_t *m)
{
    wire_host_t *hosts = malloc((m->nhosts ? m->nhosts : 1) * sizeof(*hosts)), h;
    size_t i = 0;

    FUZZ_CHECK(hosts);
    for (; wire_get_route_resp_next(m, &h); i++) {
        FUZZ_CHECK(i < m->nhosts);
        hosts[i] = h;
    }
    FUZZ_CHECK(i == m->nhosts);
    return hosts;
}

static void check_get_route_resp(const uint8_t *p, size_t n)
{
    static const uint32_t sub[] = {3};
    Lars__GetRouteResponse *pc = lars__get_route_response__unpack(NULL, n, p);
    bool valid = fuzz_pb_tags_valid(p, n, 3, sub, 1, 2, NULL);
    wire_get_route_resp_t m, back;
    wire_host_t *hosts, h;
    int r = wire_decode_get_route_resp(p, n, &m);
    size_t size, len, written;
    uint8_t *out;

    if (r < 0) {
        both_accept(r, pc, valid);
        goto out;
    }
    hosts = route_hosts(&m);
    if (both_accept(r, pc, valid)) {
        FUZZ_CHECK(m.modid == pc->modid && m.cmdid == pc->cmdid && m.nhosts == pc->n_host);
        for (size_t i = 0; i < m.nhosts; i++)
            FUZZ_CHECK(hosts[i].ip == pc->host[i]->ip && hosts[i].port == pc->host[i]->port);
    }
    size = wire_get_route_resp_size(m.modid, m.cmdid, hosts, m.nhosts);
    out = malloc(size ? size : 1);
    FUZZ_CHECK(out);
    len = wire_encode_get_route_resp(out, size, m.modid, m.cmdid, hosts, m.nhosts, &written);
    FUZZ_CHECK(len == size && written == m.nhosts);
    FUZZ_CHECK(wire_decode_get_route_resp(out, len, &back) == 0);
    FUZZ_CHECK(back.modid == m.modid && back.cmdid == m.cmdid && back.nhosts == m.nhosts);
    for (size_t i = 0; wire_get_route_resp_next(&back, &h); i++)
        FUZZ_CHECK(same_host(&h, &hosts[i]));
    check_route_bytes(m.modid, m.cmdid, hosts, m.nhosts, out, len);
    free(out);
    free(hosts);
out:
    if (pc)
        lars__get_route_response__free_unpacked(pc, NULL);
}

static wire_call_result_t *status_results(wire_report_status_t *m)
{
    wire_call_result_t *res = malloc((m->nresults ? m->nresults : 1) * sizeof(*res)), r;
    size_t i = 0;

    FUZZ_CHECK(res);
    for (; wire_report_status_next(m, &r); i++) {
        FUZZ_CHECK(i < m->nresults);
        res[i] = r;
    }
    FUZZ_CHECK(i == m->nresults);
    return res;
}

static void check_report_status(const uint8_t *p, size_t n)
{
    static const uint32_t sub[] = {4};
    Lars__ReportStatusRequest *pc = lars__report_status_request__unpack(NULL, n, p);
    bool valid = fuzz_pb_tags_valid(p, n, 5, sub, 1, 5, NULL);
    wire_report_status_t m, back;
    wire_call_result_t *res, one;
    int r = wire_decode_report_status(p, n, &m);
    size_t cap, len;
    uint8_t *out;

    if (r < 0) {
        both_accept(r, pc, valid);
        goto out;
    }
    res = status_results(&m);
    if (both_accept(r, pc, valid)) {
        FUZZ_CHECK(m.modid == pc->modid && m.cmdid == pc->cmdid && m.caller == pc->caller);
        FUZZ_CHECK(m.ts == pc->ts && m.nresults == pc->n_results);
        for (size_t i = 0; i < m.nresults; i++) {
            const Lars__HostCallResult *h = pc->results[i];
            wire_call_result_t want = {h->ip, h->port, h->succ, h->err, h->overload};
            FUZZ_CHECK(same_result(&res[i], &want));
        }
    }
    cap = wire_report_status_size(m.nresults);
    out = malloc(cap);
    FUZZ_CHECK(out);
    len = wire_encode_report_status(out, m.modid, m.cmdid, m.caller, res, m.nresults, m.ts);
    FUZZ_CHECK(len <= cap);
    FUZZ_CHECK(wire_decode_report_status(out, len, &back) == 0);
    FUZZ_CHECK(back.modid == m.modid && back.cmdid == m.cmdid && back.caller == m.caller);
    FUZZ_CHECK(back.ts == m.ts && back.nresults == m.nresults);
    for (size_t i = 0; wire_report_status_next(&back, &one); i++)
        FUZZ_CHECK(same_result(&one, &res[i]));
    check_status_bytes(&m, res, out, len);
    free(out);
    free(res);
out:
    if (pc)
        lars__report_status_request__free_unpacked(pc, NULL);
}

/* ------------------------------------------------------------ encoders -- */

static void check_route_fit(fuzz_input_t *in)
{
    static wire_host_t hosts[MAX_ITEMS];
    size_t cap = fuzz_u8(in) | (size_t)fuzz_u8(in) << 8, n = 0, written, len;
    int32_t modid = (int32_t)fuzz_u32(in), cmdid = (int32_t)fuzz_u32(in);
    uint8_t *out = malloc(cap ? cap : 1);

    FUZZ_CHECK(out);
    while (in->n > 0 && n < MAX_ITEMS) {
        hosts[n] = (wire_host_t){(int32_t)fuzz_u32(in), (int32_t)fuzz_u32(in)};
        n++;
    }
    len = wire_encode_get_route_resp(out, cap, modid, cmdid, hosts, n, &written);
    FUZZ_CHECK(len <= cap && written <= n);
    if (wire_get_route_resp_size(modid, cmdid, NULL, 0) > cap) {
        FUZZ_CHECK(len == 0 && written == 0); /* not even the pair fits */
    } else {
        FUZZ_CHECK(len == wire_get_route_resp_size(modid, cmdid, hosts, written));
        check_route_bytes(modid, cmdid, hosts, written, out, len);
        /* Whole hosts only, and as many as fit. */
        if (written < n)
            FUZZ_CHECK(len + wire_get_route_resp_size(0, 0, &hosts[written], 1) > cap);
    }
    free(out);
}

static void check_report_status_encoding(fuzz_input_t *in)
{
    static wire_call_result_t res[MAX_ITEMS];
    wire_report_status_t m = {0};
    size_t cap, len;
    uint8_t *out;

    m.modid = (int32_t)fuzz_u32(in);
    m.cmdid = (int32_t)fuzz_u32(in);
    m.caller = (int32_t)fuzz_u32(in);
    m.ts = fuzz_u32(in);
    while (in->n > 0 && m.nresults < MAX_ITEMS) {
        wire_call_result_t *r = &res[m.nresults++];

        r->ip = (int32_t)fuzz_u32(in);
        r->port = (int32_t)fuzz_u32(in);
        r->succ = fuzz_u32(in);
        r->err = fuzz_u32(in);
        r->overload = fuzz_u8(in) & 1;
    }
    cap = wire_report_status_size(m.nresults);
    out = malloc(cap);
    FUZZ_CHECK(out);
    len = wire_encode_report_status(out, m.modid, m.cmdid, m.caller, res, m.nresults, m.ts);
    FUZZ_CHECK(len <= cap);
    check_status_bytes(&m, res, out, len);
    free(out);
}

int fuzz_wire(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size};

    switch (fuzz_u8(&in) % 8) {
    case 0:
        check_get_route_req(in.p, in.n);
        break;
    case 1:
        check_get_route_resp(in.p, in.n);
        break;
    case 2:
        check_report_status(in.p, in.n);
        break;
    case 3:
        check_get_host_req(in.p, in.n);
        break;
    case 4:
        check_get_host_resp(in.p, in.n);
        break;
    case 5:
        check_report_req(in.p, in.n);
        break;
    case 6:
        check_route_fit(&in);
        break;
    default:
        check_report_status_encoding(&in);
        break;
    }
    return 0;
}
