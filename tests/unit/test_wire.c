/*
 * The wire codec (proto/wire.c) against protobuf-c, the reference: every
 * message round trips, int32 travels as protobuf-c writes it, our bytes are
 * protobuf-c's for the same message, unknown fields are skipped, repeated
 * fields follow the protobuf rules and every malformed body is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuzz/fuzz.h"
#include "proto/lars.pb-c.h"
#include "proto/wire.h"

#define assert_host_equal(a, b)                                                                    \
    do {                                                                                           \
        assert_int_equal((a).ip, (b).ip);                                                          \
        assert_int_equal((a).port, (b).port);                                                      \
    } while (0)

#define assert_result_equal(a, b)                                                                  \
    do {                                                                                           \
        assert_int_equal((a).ip, (b).ip);                                                          \
        assert_int_equal((a).port, (b).port);                                                      \
        assert_int_equal((a).succ, (b).succ);                                                      \
        assert_int_equal((a).err, (b).err);                                                        \
        assert_int_equal((a).overload, (b).overload);                                              \
    } while (0)

/* 192.168.1.177, negative as int32 */
#define IP_NEG ((int32_t)0xc0a801b1u)

/* Packs m with protobuf-c into buf and checks it is what ours wrote. */
static void assert_protobuf_c_packs(const ProtobufCMessage *m, const uint8_t *ours, size_t len)
{
    uint8_t buf[8192];

    assert_int_equal(protobuf_c_message_get_packed_size(m), len);
    assert_true(len <= sizeof(buf));
    protobuf_c_message_pack(m, buf);
    assert_memory_equal(buf, ours, len);
}

/* The decoder of one message by number, for tables of bodies. */
enum {
    M_GET_ROUTE_REQ,
    M_GET_ROUTE_RESP,
    M_REPORT_STATUS,
    M_GET_HOST_REQ,
    M_GET_HOST_RESP,
    M_REPORT_REQ,
    M_COUNT
};

static int decode_as(int type, const uint8_t *p, size_t n)
{
    union {
        wire_get_route_req_t grq;
        wire_get_route_resp_t grs;
        wire_report_status_t rs;
        wire_get_host_req_t ghq;
        wire_get_host_resp_t ghs;
        wire_report_req_t rq;
    } u;

    switch (type) {
    case M_GET_ROUTE_REQ:
        return wire_decode_get_route_req(p, n, &u.grq);
    case M_GET_ROUTE_RESP:
        return wire_decode_get_route_resp(p, n, &u.grs);
    case M_REPORT_STATUS:
        return wire_decode_report_status(p, n, &u.rs);
    case M_GET_HOST_REQ:
        return wire_decode_get_host_req(p, n, &u.ghq);
    case M_GET_HOST_RESP:
        return wire_decode_get_host_resp(p, n, &u.ghs);
    default:
        return wire_decode_report_req(p, n, &u.rq);
    }
}

/* -------------------------------------------------------- round trips -- */

static void wire_round_trips_every_message(void **state)
{
    const wire_host_t hosts[] = {{IP_NEG, 8080}, {0, 0}, {1, 65535}, {-1, -1}};
    const wire_call_result_t res[] = {
        {IP_NEG, 8080, 10, 2, true}, {0, 0, 0, 0, false}, {-5, INT32_MIN, UINT32_MAX, 1, false}};
    uint8_t buf[1024];
    size_t n, written, i;

    wire_get_route_req_t grq = {-7, INT32_MAX}, grq2;
    n = wire_encode_get_route_req(buf, &grq);
    assert_int_equal(wire_decode_get_route_req(buf, n, &grq2), 0);
    assert_int_equal(grq2.modid, -7);
    assert_int_equal(grq2.cmdid, INT32_MAX);

    wire_get_host_req_t ghq = {4000000000u, INT32_MIN, 3}, ghq2;
    n = wire_encode_get_host_req(buf, &ghq);
    assert_int_equal(wire_decode_get_host_req(buf, n, &ghq2), 0);
    assert_int_equal(ghq2.seq, 4000000000u);
    assert_int_equal(ghq2.modid, INT32_MIN);
    assert_int_equal(ghq2.cmdid, 3);

    wire_get_host_resp_t ghs = {9, -1, 3, 1, true, {IP_NEG, 80}}, ghs2;
    n = wire_encode_get_host_resp(buf, &ghs);
    assert_int_equal(wire_decode_get_host_resp(buf, n, &ghs2), 0);
    assert_int_equal(ghs2.seq, 9);
    assert_int_equal(ghs2.modid, -1);
    assert_int_equal(ghs2.cmdid, 3);
    assert_int_equal(ghs2.retcode, 1);
    assert_true(ghs2.has_host);
    assert_host_equal(ghs2.host, ghs.host);
    /* An absent host and a host of zeros differ. */
    ghs.host = (wire_host_t){0, 0};
    n = wire_encode_get_host_resp(buf, &ghs);
    assert_int_equal(wire_decode_get_host_resp(buf, n, &ghs2), 0);
    assert_true(ghs2.has_host);
    ghs.has_host = false;
    n = wire_encode_get_host_resp(buf, &ghs);
    assert_int_equal(wire_decode_get_host_resp(buf, n, &ghs2), 0);
    assert_false(ghs2.has_host);

    wire_report_req_t rq = {-3, 2, true, {IP_NEG, 9000}, 2, 1000}, rq2;
    n = wire_encode_report_req(buf, &rq);
    assert_int_equal(wire_decode_report_req(buf, n, &rq2), 0);
    assert_int_equal(rq2.modid, -3);
    assert_int_equal(rq2.cmdid, 2);
    assert_true(rq2.has_host);
    assert_host_equal(rq2.host, rq.host);
    assert_int_equal(rq2.retcode, 2);
    assert_int_equal(rq2.timecost_ms, 1000);

    wire_get_route_resp_t grs;
    wire_host_t h;
    n = wire_encode_get_route_resp(buf, sizeof(buf), 5, -6, hosts, 4, &written);
    assert_int_equal(written, 4);
    assert_int_equal(n, wire_get_route_resp_size(5, -6, hosts, 4));
    assert_int_equal(wire_decode_get_route_resp(buf, n, &grs), 0);
    assert_int_equal(grs.modid, 5);
    assert_int_equal(grs.cmdid, -6);
    assert_int_equal(grs.nhosts, 4);
    for (i = 0; wire_get_route_resp_next(&grs, &h); i++)
        assert_host_equal(h, hosts[i]);
    assert_int_equal(i, 4);
    assert_false(wire_get_route_resp_next(&grs, &h));

    wire_report_status_t rs;
    wire_call_result_t r;
    n = wire_encode_report_status(buf, 1, 2, IP_NEG, res, 3, 1700000000u);
    assert_true(n <= wire_report_status_size(3));
    assert_int_equal(wire_decode_report_status(buf, n, &rs), 0);
    assert_int_equal(rs.modid, 1);
    assert_int_equal(rs.cmdid, 2);
    assert_int_equal(rs.caller, IP_NEG);
    assert_int_equal(rs.ts, 1700000000u);
    assert_int_equal(rs.nresults, 3);
    for (i = 0; wire_report_status_next(&rs, &r); i++)
        assert_result_equal(r, res[i]);
    assert_int_equal(i, 3);
}

static void wire_empty_bodies_are_messages_of_zeros(void **state)
{
    wire_get_route_resp_t grs;
    wire_report_status_t rs;
    wire_get_host_resp_t ghs;
    wire_report_req_t rq;
    wire_host_t h;
    wire_call_result_t r;
    uint8_t buf[WIRE_SMALL_MAX];

    for (int t = 0; t < M_COUNT; t++)
        assert_int_equal(decode_as(t, (const uint8_t *)"", 0), 0);
    assert_int_equal(wire_decode_get_route_resp((const uint8_t *)"", 0, &grs), 0);
    assert_int_equal(grs.nhosts, 0);
    assert_false(wire_get_route_resp_next(&grs, &h));
    assert_int_equal(wire_decode_report_status((const uint8_t *)"", 0, &rs), 0);
    assert_int_equal(rs.modid, 0);
    assert_int_equal(rs.nresults, 0);
    assert_false(wire_report_status_next(&rs, &r));
    assert_int_equal(wire_decode_get_host_resp((const uint8_t *)"", 0, &ghs), 0);
    assert_false(ghs.has_host);
    assert_int_equal(wire_decode_report_req((const uint8_t *)"", 0, &rq), 0);
    assert_false(rq.has_host);
    /* and encode to nothing (docs/protocol.md, Frames: msglen 0 is a valid frame) */
    assert_int_equal(wire_encode_get_route_req(buf, &(wire_get_route_req_t){0, 0}), 0);
    assert_int_equal(wire_get_route_resp_size(0, 0, NULL, 0), 0);
}

/* ---------------------------------------------------------- int32 rule -- */

static void wire_negative_int32_travels_as_ten_byte_varint(void **state)
{
    const uint8_t want[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                            0x10, 0xb1, 0x83, 0xa0, 0x85, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x01};
    /* The same -1 as a 5-byte varint: readers keep the low 32 bits. */
    const uint8_t short_form[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0x0f};
    Lars__GetRouteRequest pc = LARS__GET_ROUTE_REQUEST__INIT, *back;
    wire_get_route_req_t m;
    uint8_t buf[WIRE_SMALL_MAX];
    size_t n;

    n = wire_encode_get_route_req(buf, &(wire_get_route_req_t){-1, IP_NEG});
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(buf, want, n);
    pc.modid = -1;
    pc.cmdid = IP_NEG;
    assert_protobuf_c_packs(&pc.base, buf, n);
    assert_int_equal(wire_decode_get_route_req(want, sizeof(want), &m), 0);
    assert_int_equal(m.modid, -1);
    assert_int_equal((uint32_t)m.cmdid, 3232235953u);

    assert_int_equal(wire_decode_get_route_req(short_form, sizeof(short_form), &m), 0);
    assert_int_equal(m.modid, -1);
    back = lars__get_route_request__unpack(NULL, sizeof(short_form), short_form);
    assert_non_null(back);
    assert_int_equal(back->modid, -1);
    lars__get_route_request__free_unpacked(back, NULL);

    /* a HostInfo of a negative ip: 2 + 11 + 3 bytes inside a route */
    n = wire_get_route_resp_size(0, 0, &(wire_host_t){IP_NEG, 8080}, 1);
    assert_int_equal(n, 2 + 11 + 3);
}

/* ------------------------------------------- the same bytes as protobuf-c -- */

static int32_t rand_i32(unsigned *seed)
{
    switch (rand_r(seed) % 6) {
    case 0:
        return 0;
    case 1:
        return rand_r(seed) % 200;
    case 2:
        return -(rand_r(seed) % 200) - 1;
    case 3:
        return rand_r(seed) % 2 ? INT32_MIN : INT32_MAX;
    default:
        return (int32_t)((uint32_t)rand_r(seed) << 16 ^ (uint32_t)rand_r(seed));
    }
}

static uint32_t rand_u32(unsigned *seed)
{
    return (uint32_t)rand_i32(seed);
}

static void random_host(unsigned *seed, wire_host_t *h, Lars__HostInfo *pc)
{
    *h = (wire_host_t){rand_i32(seed), rand_i32(seed)};
    lars__host_info__init(pc);
    pc->ip = h->ip;
    pc->port = h->port;
}

static void wire_bytes_match_protobuf_c_for_random_messages(void **state)
{
    enum { MAXN = 20 };
    unsigned seed = 4242;
    uint8_t buf[4096];
    wire_host_t hosts[MAXN];
    Lars__HostInfo his[MAXN], *hp[MAXN], hi;
    wire_call_result_t res[MAXN];
    Lars__HostCallResult rcs[MAXN], *rp[MAXN];
    size_t n, written;

    for (int iter = 0; iter < 300; iter++) {
        Lars__GetRouteRequest grq = LARS__GET_ROUTE_REQUEST__INIT;
        grq.modid = rand_i32(&seed);
        grq.cmdid = rand_i32(&seed);
        n = wire_encode_get_route_req(buf, &(wire_get_route_req_t){grq.modid, grq.cmdid});
        assert_protobuf_c_packs(&grq.base, buf, n);

        Lars__GetHostRequest ghq = LARS__GET_HOST_REQUEST__INIT;
        ghq.seq = rand_u32(&seed);
        ghq.modid = rand_i32(&seed);
        ghq.cmdid = rand_i32(&seed);
        n = wire_encode_get_host_req(buf, &(wire_get_host_req_t){ghq.seq, ghq.modid, ghq.cmdid});
        assert_protobuf_c_packs(&ghq.base, buf, n);

        Lars__GetHostResponse ghs = LARS__GET_HOST_RESPONSE__INIT;
        wire_get_host_resp_t ghm = {.seq = rand_u32(&seed),
                                    .modid = rand_i32(&seed),
                                    .cmdid = rand_i32(&seed),
                                    .retcode = rand_i32(&seed),
                                    .has_host = rand_r(&seed) % 2};
        random_host(&seed, &ghm.host, &hi);
        ghs.seq = ghm.seq;
        ghs.modid = ghm.modid;
        ghs.cmdid = ghm.cmdid;
        ghs.retcode = ghm.retcode;
        ghs.host = ghm.has_host ? &hi : NULL;
        n = wire_encode_get_host_resp(buf, &ghm);
        assert_true(n <= WIRE_SMALL_MAX);
        assert_protobuf_c_packs(&ghs.base, buf, n);

        Lars__ReportRequest rq = LARS__REPORT_REQUEST__INIT;
        wire_report_req_t rqm = {.modid = rand_i32(&seed),
                                 .cmdid = rand_i32(&seed),
                                 .has_host = rand_r(&seed) % 2,
                                 .retcode = rand_i32(&seed),
                                 .timecost_ms = rand_u32(&seed)};
        random_host(&seed, &rqm.host, &hi);
        rq.modid = rqm.modid;
        rq.cmdid = rqm.cmdid;
        rq.host = rqm.has_host ? &hi : NULL;
        rq.retcode = rqm.retcode;
        rq.timecost_ms = rqm.timecost_ms;
        n = wire_encode_report_req(buf, &rqm);
        assert_true(n <= WIRE_SMALL_MAX);
        assert_protobuf_c_packs(&rq.base, buf, n);

        Lars__GetRouteResponse grs = LARS__GET_ROUTE_RESPONSE__INIT;
        grs.modid = rand_i32(&seed);
        grs.cmdid = rand_i32(&seed);
        grs.n_host = (size_t)rand_r(&seed) % MAXN;
        for (size_t i = 0; i < grs.n_host; i++) {
            random_host(&seed, &hosts[i], &his[i]);
            hp[i] = &his[i];
        }
        grs.host = hp;
        n = wire_encode_get_route_resp(buf, sizeof(buf), grs.modid, grs.cmdid, hosts, grs.n_host,
                                       &written);
        assert_int_equal(written, grs.n_host);
        assert_int_equal(n, wire_get_route_resp_size(grs.modid, grs.cmdid, hosts, grs.n_host));
        assert_protobuf_c_packs(&grs.base, buf, n);

        Lars__ReportStatusRequest rs = LARS__REPORT_STATUS_REQUEST__INIT;
        rs.modid = rand_i32(&seed);
        rs.cmdid = rand_i32(&seed);
        rs.caller = rand_i32(&seed);
        rs.ts = rand_u32(&seed);
        rs.n_results = (size_t)rand_r(&seed) % MAXN;
        for (size_t i = 0; i < rs.n_results; i++) {
            res[i] = (wire_call_result_t){rand_i32(&seed), rand_i32(&seed), rand_u32(&seed),
                                          rand_u32(&seed), rand_r(&seed) % 2};
            lars__host_call_result__init(&rcs[i]);
            rcs[i].ip = res[i].ip;
            rcs[i].port = res[i].port;
            rcs[i].succ = res[i].succ;
            rcs[i].err = res[i].err;
            rcs[i].overload = res[i].overload;
            rp[i] = &rcs[i];
        }
        rs.results = rp;
        n = wire_encode_report_status(buf, rs.modid, rs.cmdid, rs.caller, res, rs.n_results, rs.ts);
        assert_true(n <= wire_report_status_size(rs.n_results));
        assert_protobuf_c_packs(&rs.base, buf, n);
    }
}

static void wire_decodes_what_protobuf_c_packs_including_negative_ids(void **state)
{
    Lars__HostInfo host = LARS__HOST_INFO__INIT;
    Lars__ReportRequest rr = LARS__REPORT_REQUEST__INIT;
    Lars__GetHostRequest gh = LARS__GET_HOST_REQUEST__INIT;
    wire_report_req_t r;
    wire_get_host_req_t g;
    uint8_t buf[128];
    size_t n;

    host.ip = IP_NEG;
    host.port = 8080;
    rr.modid = -7;
    rr.cmdid = 2147483647;
    rr.host = &host;
    rr.retcode = 1;
    rr.timecost_ms = 1000;
    n = lars__report_request__pack(&rr, buf);
    assert_int_equal(wire_decode_report_req(buf, n, &r), 0);
    assert_int_equal(r.modid, -7);
    assert_int_equal(r.cmdid, 2147483647);
    assert_int_equal((uint32_t)r.host.ip, 3232235953u);
    assert_int_equal(r.host.port, 8080);
    assert_int_equal(r.retcode, 1);
    assert_int_equal(r.timecost_ms, 1000);

    gh.seq = 4000000000u;
    gh.modid = 1;
    gh.cmdid = 0;
    n = lars__get_host_request__pack(&gh, buf);
    assert_int_equal(wire_decode_get_host_req(buf, n, &g), 0);
    assert_int_equal(g.seq, 4000000000u);
    assert_int_equal(g.modid, 1);
    assert_int_equal(g.cmdid, 0);
    /* An empty body is a message of zeros. */
    assert_int_equal(wire_decode_get_host_req(buf, 0, &g), 0);
    assert_int_equal(g.seq, 0);
}

static void wire_encodes_what_protobuf_c_decodes(void **state)
{
    const wire_host_t host = {IP_NEG, 80}, hosts[3] = {{1, 2}, {-1, 0}, {0, 65535}};
    const wire_call_result_t res[2] = {{-5, 1, 10, 2, true}, {7, 8, 0, 0, false}};
    uint8_t buf[1024];
    size_t n, written;

    n = wire_encode_get_host_resp(buf, &(wire_get_host_resp_t){9, -1, 3, 0, true, host});
    Lars__GetHostResponse *gh = lars__get_host_response__unpack(NULL, n, buf);
    assert_non_null(gh);
    assert_int_equal(gh->seq, 9);
    assert_int_equal(gh->modid, -1);
    assert_int_equal(gh->cmdid, 3);
    assert_non_null(gh->host);
    assert_int_equal((uint32_t)gh->host->ip, 0xC0A801B1u);
    assert_int_equal(gh->host->port, 80);
    lars__get_host_response__free_unpacked(gh, NULL);

    n = wire_encode_get_route_resp(buf, sizeof(buf), 5, 6, hosts, 3, &written);
    assert_int_equal(written, 3);
    Lars__GetRouteResponse *gr = lars__get_route_response__unpack(NULL, n, buf);
    assert_non_null(gr);
    assert_int_equal(gr->n_host, 3);
    assert_int_equal(gr->host[1]->ip, -1);
    assert_int_equal(gr->host[2]->port, 65535);
    lars__get_route_response__free_unpacked(gr, NULL);

    n = wire_encode_report_status(buf, 1, 2, (int32_t)0x0A010203, res, 2, 1700000000u);
    assert_true(n <= wire_report_status_size(2));
    Lars__ReportStatusRequest *rs = lars__report_status_request__unpack(NULL, n, buf);
    assert_non_null(rs);
    assert_int_equal(rs->caller, 0x0A010203);
    assert_int_equal(rs->ts, 1700000000u);
    assert_int_equal(rs->n_results, 2);
    assert_int_equal(rs->results[0]->ip, -5);
    assert_int_equal(rs->results[0]->succ, 10);
    assert_int_equal(rs->results[0]->err, 2);
    assert_true(rs->results[0]->overload);
    assert_false(rs->results[1]->overload);
    lars__report_status_request__free_unpacked(rs, NULL);
}

/* ---------------------------------------------------------- route bodies -- */

static void check_route_response(int32_t modid, int32_t cmdid, const wire_host_t *h, size_t n)
{
    size_t size = wire_get_route_resp_size(modid, cmdid, h, n), written;
    uint8_t *buf = malloc(size + 1);
    Lars__GetRouteResponse ref = LARS__GET_ROUTE_RESPONSE__INIT, *got;
    Lars__HostInfo *infos = calloc(n + 1, sizeof(*infos));
    Lars__HostInfo **ptrs = calloc(n + 1, sizeof(*ptrs));

    /* an exact-size buffer takes every host */
    assert_int_equal(wire_encode_get_route_resp(buf, size, modid, cmdid, h, n, &written), size);
    assert_int_equal(written, n);
    ref.modid = modid;
    ref.cmdid = cmdid;
    ref.n_host = n;
    ref.host = ptrs;
    for (size_t i = 0; i < n; i++) {
        lars__host_info__init(&infos[i]);
        infos[i].ip = h[i].ip;
        infos[i].port = h[i].port;
        ptrs[i] = &infos[i];
    }
    assert_protobuf_c_packs(&ref.base, buf, size);

    got = lars__get_route_response__unpack(NULL, size, buf);
    assert_non_null(got);
    assert_int_equal(got->modid, modid);
    assert_int_equal(got->cmdid, cmdid);
    assert_int_equal(got->n_host, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got->host[i]->ip, h[i].ip);
        assert_int_equal(got->host[i]->port, h[i].port);
    }
    lars__get_route_response__free_unpacked(got, NULL);
    free(ptrs);
    free(infos);
    free(buf);
}

static void wire_route_response_size_is_exact_and_matches_protobuf_c(void **state)
{
    const wire_host_t h[] = {{IP_NEG, 8080}, {0, 0}, {1, 65535}, {-1, -1}};

    check_route_response(1, 2, h, 4);
    check_route_response(0, 0, NULL, 0);
    check_route_response(-5, 300, h, 1);
}

static void wire_route_reply_carries_only_whole_hosts_that_fit(void **state)
{
    wire_host_t hosts[100];
    uint8_t buf[200];
    size_t n, written;

    for (int i = 0; i < 100; i++)
        hosts[i] = (wire_host_t){-(i + 1), 1000 + i}; /* 2 + 11 + 3 = 16 bytes each */
    n = wire_encode_get_route_resp(buf, sizeof(buf), 1, 1, hosts, 100, &written);
    assert_int_equal(written, (200 - 4) / 16);
    assert_true(n <= sizeof(buf));
    Lars__GetRouteResponse *gr = lars__get_route_response__unpack(NULL, n, buf);
    assert_non_null(gr);
    assert_int_equal(gr->n_host, written);
    lars__get_route_response__free_unpacked(gr, NULL);
    /* not even the pair fits: nothing */
    n = wire_encode_get_route_resp(buf, 3, -1, 1, hosts, 100, &written);
    assert_int_equal(n, 0);
    assert_int_equal(written, 0);
}

static void wire_route_request_decode_accepts_valid_and_rejects_garbage(void **state)
{
    Lars__GetRouteRequest req = LARS__GET_ROUTE_REQUEST__INIT;
    uint8_t buf[64];
    size_t n;
    wire_get_route_req_t m = {-1, -1};
    const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    const uint8_t truncated[] = {0x08};

    req.modid = 123456;
    req.cmdid = -3;
    n = lars__get_route_request__pack(&req, buf);
    assert_int_equal(wire_decode_get_route_req(buf, n, &m), 0);
    assert_int_equal(m.modid, 123456);
    assert_int_equal(m.cmdid, -3);
    assert_int_equal(wire_decode_get_route_req(buf, 0, &m), 0);
    assert_int_equal(m.modid, 0);
    assert_int_equal(m.cmdid, 0);
    assert_int_equal(wire_decode_get_route_req(garbage, sizeof(garbage), &m), -EBADMSG);
    assert_int_equal(wire_decode_get_route_req(truncated, sizeof(truncated), &m), -EBADMSG);
}

/* -------------------------------------------------- ReportStatusRequest -- */

static size_t pack_report(int32_t modid, int32_t cmdid, int32_t caller, uint32_t ts,
                          const Lars__HostCallResult *res, size_t n, uint8_t *buf)
{
    Lars__ReportStatusRequest req = LARS__REPORT_STATUS_REQUEST__INIT;
    Lars__HostCallResult *ptrs[64];

    for (size_t i = 0; i < n; i++)
        ptrs[i] = (Lars__HostCallResult *)&res[i];
    req.modid = modid;
    req.cmdid = cmdid;
    req.caller = caller;
    req.ts = ts;
    req.n_results = n;
    req.results = ptrs;
    return lars__report_status_request__pack(&req, buf);
}

static Lars__HostCallResult result(int32_t ip, int32_t port, uint32_t succ, uint32_t err,
                                   bool overload)
{
    Lars__HostCallResult r = LARS__HOST_CALL_RESULT__INIT;

    r.ip = ip;
    r.port = port;
    r.succ = succ;
    r.err = err;
    r.overload = overload;
    return r;
}

static void report_status_decodes_every_field(void **state)
{
    uint8_t buf[1024];
    Lars__HostCallResult res[2] = {result(IP_NEG, 8080, 10, 2, true),
                                   result(167772161, 9000, 4294967295u, 0, false)};
    size_t len = pack_report(7, -3, (int32_t)0xc0a80001u, 1700000000, res, 2, buf);
    wire_report_status_t rep;
    wire_call_result_t r;

    assert_int_equal(wire_decode_report_status(buf, len, &rep), 0);
    assert_int_equal(rep.modid, 7);
    assert_int_equal(rep.cmdid, -3);
    assert_int_equal(rep.caller, (int32_t)0xc0a80001u);
    assert_int_equal(rep.ts, 1700000000);
    assert_int_equal(rep.nresults, 2);

    assert_true(wire_report_status_next(&rep, &r));
    assert_int_equal(r.ip, IP_NEG);
    assert_int_equal(r.port, 8080);
    assert_int_equal(r.succ, 10);
    assert_int_equal(r.err, 2);
    assert_true(r.overload);
    assert_true(wire_report_status_next(&rep, &r));
    assert_int_equal(r.ip, 167772161);
    assert_int_equal(r.succ, 4294967295u);
    assert_false(r.overload);
    assert_false(wire_report_status_next(&rep, &r));
}

static void report_status_scalars_after_results_are_read_first(void **state)
{
    /* results(4){ip=5} then modid(1)=9, ts(5)=77, and unknown fields 9, 10 */
    const uint8_t body[] = {0x22, 0x02, 0x08, 0x05, 0x08, 0x09, 0x28, 77, 0x4a, 0x03, 'x',
                            'y',  'z',  0x51, 1,    2,    3,    4,    5,  6,    7,    8};
    wire_report_status_t rep;
    wire_call_result_t r;

    assert_int_equal(wire_decode_report_status(body, sizeof(body), &rep), 0);
    assert_int_equal(rep.modid, 9);
    assert_int_equal(rep.ts, 77);
    assert_true(wire_report_status_next(&rep, &r));
    assert_int_equal(r.ip, 5);
    assert_false(wire_report_status_next(&rep, &r));
}

static void report_status_prefixes_are_valid_exactly_when_protobuf_c_says_so(void **state)
{
    uint8_t buf[1024];
    Lars__HostCallResult res[3] = {result(-1, 1, 2, 3, true), result(4, 5, 6, 7, false),
                                   result(8, 9, 10, 11, true)};
    size_t len = pack_report(-100, 2, -5, 99, res, 3, buf);
    wire_report_status_t rep;

    for (size_t n = 0; n < len; n++) {
        Lars__ReportStatusRequest *ref = lars__report_status_request__unpack(NULL, n, buf);
        int r = wire_decode_report_status(buf, n, &rep);
        assert_int_equal(r == 0, ref != NULL);
        if (ref) {
            assert_int_equal(rep.nresults, ref->n_results);
            lars__report_status_request__free_unpacked(ref, NULL);
        }
    }
}

/* Random bodies: whatever protobuf-c accepts we accept with the same rows. */
static void report_status_agrees_with_protobuf_c_on_random_bytes(void **state)
{
    uint8_t buf[64];
    unsigned seed = 12345;
    wire_report_status_t rep;
    wire_call_result_t r;
    int agreed_valid = 0;

    for (int iter = 0; iter < 100000; iter++) {
        size_t n = rand_r(&seed) % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        /* Bias towards our field tags so that valid bodies are common. */
        if (n > 0 && rand_r(&seed) % 2)
            buf[0] = (uint8_t)(((rand_r(&seed) % 5) + 1) << 3 | (rand_r(&seed) % 3 ? 0 : 2));
        Lars__ReportStatusRequest *ref = lars__report_status_request__unpack(NULL, n, buf);
        int ret = wire_decode_report_status(buf, n, &rep);
        if (!ref)
            continue; /* we may be laxer (e.g. over-long tags protobuf-c rejects) */
        assert_int_equal(ret, 0);
        assert_int_equal(rep.modid, ref->modid);
        assert_int_equal(rep.cmdid, ref->cmdid);
        assert_int_equal(rep.caller, ref->caller);
        assert_int_equal(rep.ts, ref->ts);
        assert_int_equal(rep.nresults, ref->n_results);
        for (size_t i = 0; i < ref->n_results; i++) {
            assert_true(wire_report_status_next(&rep, &r));
            assert_int_equal(r.ip, ref->results[i]->ip);
            assert_int_equal(r.port, ref->results[i]->port);
            assert_int_equal(r.succ, ref->results[i]->succ);
            assert_int_equal(r.err, ref->results[i]->err);
            assert_int_equal(r.overload, ref->results[i]->overload);
        }
        assert_false(wire_report_status_next(&rep, &r));
        agreed_valid++;
        lars__report_status_request__free_unpacked(ref, NULL);
    }
    assert_true(agreed_valid > 1000);
}

/* Every decoder on random bodies biased to its tags, through the fuzz
 * target (fuzz/fuzz_wire.c), which aborts with the failed check: the same
 * accept/reject and values as protobuf-c on bodies with valid tags, and
 * round trips of whatever ours accepts. */
static void wire_every_decoder_agrees_with_protobuf_c_on_random_bytes(void **state)
{
    uint8_t buf[65];
    unsigned seed = 777;

    for (int iter = 0; iter < 60000; iter++) {
        size_t n = 1 + rand_r(&seed) % (sizeof(buf) - 1);
        buf[0] = (uint8_t)(iter % M_COUNT);
        for (size_t i = 1; i < n; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        for (size_t i = 1; i < n; i += 1 + rand_r(&seed) % 4)
            if (rand_r(&seed) % 2)
                buf[i] = (uint8_t)(((rand_r(&seed) % 6) + 1) << 3 | (rand_r(&seed) % 3 ? 0 : 2));
        assert_int_equal(fuzz_wire(buf, n), 0);
    }
}

/* ----------------------------------------------------- decoding rules -- */

static void wire_skips_unknown_fields_of_every_wire_type(void **state)
{
    /* fields 9 (varint), 10 (fixed64), 11 (bytes), 12 (fixed32) and
     * 2^29 - 1 (varint) */
    const uint8_t unknown[] = {0x48, 0x96, 0x01, 0x51, 1,    2,    3,    4,    5,
                               6,    7,    8,    0x5a, 0x02, 'a',  'b',  0x65, 1,
                               2,    3,    4,    0xf8, 0xff, 0xff, 0xff, 0x0f, 0x05};
    Lars__HostInfo hi = LARS__HOST_INFO__INIT;
    Lars__ReportRequest rr = LARS__REPORT_REQUEST__INIT;
    Lars__GetHostResponse gh = LARS__GET_HOST_RESPONSE__INIT;
    Lars__GetRouteResponse gr;
    Lars__HostInfo his[2], *hp[2] = {&his[0], &his[1]};
    uint8_t buf[512];
    size_t n;

    hi.ip = IP_NEG;
    hi.port = 8080;
    rr.modid = 1;
    rr.cmdid = -2;
    rr.host = &hi;
    rr.retcode = 3;
    rr.timecost_ms = 4;
    /* unknowns before and after the fields */
    memcpy(buf, unknown, sizeof(unknown));
    n = sizeof(unknown);
    n += lars__report_request__pack(&rr, buf + n);
    memcpy(buf + n, unknown, sizeof(unknown));
    n += sizeof(unknown);
    wire_report_req_t r;
    assert_int_equal(wire_decode_report_req(buf, n, &r), 0);
    assert_int_equal(r.modid, 1);
    assert_int_equal(r.cmdid, -2);
    assert_host_equal(r.host, hi);
    assert_int_equal(r.retcode, 3);
    assert_int_equal(r.timecost_ms, 4);

    /* inside a submessage: host{unknowns, ip, port} */
    const uint8_t inner[] = {0x2a, 0x0d, 0x48, 0x01, 0x65, 1,    2,   3,
                             4,    0x08, 0x07, 0x10, 0x09, 0x5a, 0x00};
    wire_get_host_resp_t g;
    gh.seq = 5;
    n = lars__get_host_response__pack(&gh, buf);
    memcpy(buf + n, inner, sizeof(inner));
    n += sizeof(inner);
    assert_int_equal(wire_decode_get_host_resp(buf, n, &g), 0);
    assert_int_equal(g.seq, 5);
    assert_true(g.has_host);
    assert_int_equal(g.host.ip, 7);
    assert_int_equal(g.host.port, 9);

    /* between the hosts of a route, which the iterator steps over */
    lars__get_route_response__init(&gr);
    for (int i = 0; i < 2; i++) {
        lars__host_info__init(&his[i]);
        his[i].ip = -i - 1;
        his[i].port = i + 1;
    }
    gr.modid = 3;
    gr.n_host = 1;
    gr.host = hp;
    n = lars__get_route_response__pack(&gr, buf);
    memcpy(buf + n, unknown, sizeof(unknown));
    n += sizeof(unknown);
    gr.modid = 0;
    gr.host = hp + 1;
    n += lars__get_route_response__pack(&gr, buf + n);
    wire_get_route_resp_t rs;
    wire_host_t h;
    assert_int_equal(wire_decode_get_route_resp(buf, n, &rs), 0);
    assert_int_equal(rs.modid, 3);
    assert_int_equal(rs.nhosts, 2);
    assert_true(wire_get_route_resp_next(&rs, &h));
    assert_host_equal(h, his[0]);
    assert_true(wire_get_route_resp_next(&rs, &h));
    assert_host_equal(h, his[1]);
    assert_false(wire_get_route_resp_next(&rs, &h));

    /* and in every other message */
    for (int t = 0; t < M_COUNT; t++)
        assert_int_equal(decode_as(t, unknown, sizeof(unknown)), 0);
}

static void wire_last_scalar_wins_and_submessages_merge(void **state)
{
    const uint8_t seq_twice[] = {0x08, 0x01, 0x10, 0x05, 0x08, 0x02};
    /* host{ip=5} then host{port=7}: one host {5, 7} */
    const uint8_t host_twice[] = {0x1a, 0x02, 0x08, 0x05, 0x1a, 0x02, 0x10, 0x07};
    const uint8_t resp_host_twice[] = {0x2a, 0x04, 0x08, 0x05, 0x10, 0x09, 0x2a, 0x02, 0x10, 0x07};
    wire_get_host_req_t g;
    wire_report_req_t r;
    wire_get_host_resp_t s;

    assert_int_equal(wire_decode_get_host_req(seq_twice, sizeof(seq_twice), &g), 0);
    assert_int_equal(g.seq, 2);
    assert_int_equal(g.modid, 5);
    assert_int_equal(wire_decode_report_req(host_twice, sizeof(host_twice), &r), 0);
    assert_true(r.has_host);
    assert_int_equal(r.host.ip, 5);
    assert_int_equal(r.host.port, 7);
    assert_int_equal(wire_decode_get_host_resp(resp_host_twice, sizeof(resp_host_twice), &s), 0);
    assert_int_equal(s.host.ip, 5);
    assert_int_equal(s.host.port, 7);
}

static void wire_rejects_truncated_and_wrong_wire_types(void **state)
{
    const uint8_t truncated_varint[] = {0x08, 0xff};
    const uint8_t long_len[] = {0x1a, 0x05, 0x08};
    const uint8_t group[] = {0x0b};
    const uint8_t seq_as_len[] = {0x0a, 0x00};
    const uint8_t unknown_field_ok[] = {0x08, 0x05, 0xfa, 0x01, 0x02, 0xaa, 0xbb, 0x10, 0x03};
    wire_get_host_req_t g;
    wire_report_req_t r;

    assert_int_equal(wire_decode_get_host_req(truncated_varint, 2, &g), -EBADMSG);
    assert_int_equal(wire_decode_report_req(long_len, 3, &r), -EBADMSG);
    assert_int_equal(wire_decode_get_host_req(group, 1, &g), -EBADMSG);
    assert_int_equal(wire_decode_get_host_req(seq_as_len, 2, &g), -EBADMSG);
    assert_int_equal(wire_decode_get_host_req(unknown_field_ok, sizeof(unknown_field_ok), &g), 0);
    assert_int_equal(g.seq, 5);
    assert_int_equal(g.modid, 3);
}

typedef struct bad_body {
    const char *what;
    uint8_t b[16];
    size_t n;
} bad_body_t;

#define BAD(what, ...)                                                                             \
    {                                                                                              \
        what, {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})                                      \
    }

static void wire_rejects_malformed_bodies_in_every_message(void **state)
{
    static const bad_body_t any[] = {
        BAD("truncated varint", 0x08, 0xff),
        BAD("11-byte varint", 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0x01),
        BAD("truncated tag", 0x80),
        BAD("length past the end", 0x5a, 0x05, 0x01),
        BAD("start group", 0x0b),
        BAD("end group", 0x0c),
        BAD("wire type 6", 0x0e, 0x00),
        BAD("wire type 7", 0x0f, 0x00),
        BAD("field 0", 0x00, 0x01),
        BAD("field 0 in two bytes", 0x80, 0x00, 0x01),
        BAD("field above 2^32 - 1", 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x01),
        BAD("truncated fixed64", 0x51, 1, 2, 3),
        BAD("truncated fixed32", 0x55, 1),
        BAD("field 1 as bytes", 0x0a, 0x00),
        BAD("field 1 as fixed32", 0x0d, 1, 2, 3, 4),
        BAD("field 2 as fixed64", 0x11, 1, 2, 3, 4, 5, 6, 7, 8),
        BAD("valid field, then garbage", 0x08, 0x01, 0x0f),
    };
    static const struct {
        int type;
        bad_body_t body;
    } one[] = {
        {M_GET_ROUTE_RESP, BAD("host as varint", 0x18, 0x01)},
        {M_GET_ROUTE_RESP, BAD("host ip as bytes", 0x1a, 0x02, 0x0a, 0x00)},
        {M_GET_ROUTE_RESP, BAD("host cut short", 0x1a, 0x01, 0x08)},
        {M_GET_ROUTE_RESP, BAD("good host, bad host", 0x1a, 0x00, 0x1a, 0x01, 0x0b)},
        {M_REPORT_STATUS, BAD("result as varint", 0x20, 0x01)},
        {M_REPORT_STATUS, BAD("overload as fixed32", 0x22, 0x05, 0x2d, 1, 0, 0, 0)},
        {M_REPORT_STATUS, BAD("ts as bytes", 0x2a, 0x00)},
        {M_GET_HOST_RESP, BAD("host as varint", 0x28, 0x01)},
        {M_GET_HOST_RESP, BAD("host port as fixed64", 0x2a, 0x09, 0x11, 1, 2, 3, 4, 5, 6, 7, 8)},
        {M_GET_HOST_REQ, BAD("cmdid as fixed32", 0x1d, 1, 2, 3, 4)},
        {M_REPORT_REQ, BAD("host as fixed32", 0x1d, 1, 2, 3, 4)},
        {M_REPORT_REQ, BAD("timecost as bytes", 0x2a, 0x00)},
        {M_REPORT_REQ, BAD("host with a group", 0x1a, 0x01, 0x0b)},
    };

    for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++)
        for (int t = 0; t < M_COUNT; t++) {
            print_message("%s as message %d\n", any[i].what, t);
            assert_int_equal(decode_as(t, any[i].b, any[i].n), -EBADMSG);
        }
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
        print_message("%s\n", one[i].body.what);
        assert_int_equal(decode_as(one[i].type, one[i].body.b, one[i].body.n), -EBADMSG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_round_trips_every_message),
        cmocka_unit_test(wire_empty_bodies_are_messages_of_zeros),
        cmocka_unit_test(wire_negative_int32_travels_as_ten_byte_varint),
        cmocka_unit_test(wire_bytes_match_protobuf_c_for_random_messages),
        cmocka_unit_test(wire_decodes_what_protobuf_c_packs_including_negative_ids),
        cmocka_unit_test(wire_encodes_what_protobuf_c_decodes),
        cmocka_unit_test(wire_route_response_size_is_exact_and_matches_protobuf_c),
        cmocka_unit_test(wire_route_reply_carries_only_whole_hosts_that_fit),
        cmocka_unit_test(wire_route_request_decode_accepts_valid_and_rejects_garbage),
        cmocka_unit_test(report_status_decodes_every_field),
        cmocka_unit_test(report_status_scalars_after_results_are_read_first),
        cmocka_unit_test(report_status_prefixes_are_valid_exactly_when_protobuf_c_says_so),
        cmocka_unit_test(report_status_agrees_with_protobuf_c_on_random_bytes),
        cmocka_unit_test(wire_every_decoder_agrees_with_protobuf_c_on_random_bytes),
        cmocka_unit_test(wire_skips_unknown_fields_of_every_wire_type),
        cmocka_unit_test(wire_last_scalar_wins_and_submessages_merge),
        cmocka_unit_test(wire_rejects_truncated_and_wrong_wire_types),
        cmocka_unit_test(wire_rejects_malformed_bodies_in_every_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
