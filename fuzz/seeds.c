/*
 * The seed inputs of every target (see fuzz_seeds() in fuzz.h), built from
 * valid messages packed by protobuf-c so the fuzzer starts from the shapes
 * real peers send; and the table of targets.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "libreactor/reactor.h"
#include "proto/lars.pb-c.h"

const fuzz_target_t fuzz_targets[] = {
    {"frame", fuzz_frame}, {"wire", fuzz_wire},       {"agent", fuzz_agent},
    {"conf", fuzz_conf},   {"liblars", fuzz_liblars}, {NULL, NULL},
};

typedef void (*seed_cb)(const uint8_t *data, size_t size, void *arg);

typedef struct seed {
    uint8_t b[1024];
    size_t n;
} seed_t;

static void put(seed_t *s, const void *p, size_t n)
{
    FUZZ_CHECK(s->n + n <= sizeof(s->b));
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void put_u8(seed_t *s, uint8_t v)
{
    put(s, &v, 1);
}

static void put_u32(seed_t *s, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(s, (uint8_t)(v >> (8 * i)));
}

static void put_msg(seed_t *s, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);

    FUZZ_CHECK(s->n + n <= sizeof(s->b));
    s->n += protobuf_c_message_pack(m, s->b + s->n);
}

static void put_frame(seed_t *s, int32_t msgid, const ProtobufCMessage *m)
{
    uint8_t hdr[RX_FRAME_HDR];

    rx_frame_put_header(hdr, msgid, (uint32_t)protobuf_c_message_get_packed_size(m));
    put(s, hdr, sizeof(hdr));
    put_msg(s, m);
}

/* A route of n hosts (ips from 192.168.1.1, so negative int32 too). */
static void route(Lars__GetRouteResponse *r, Lars__HostInfo *h, Lars__HostInfo **ptrs, size_t n,
                  int32_t modid, int32_t cmdid)
{
    lars__get_route_response__init(r);
    r->modid = modid;
    r->cmdid = cmdid;
    for (size_t i = 0; i < n; i++) {
        lars__host_info__init(&h[i]);
        h[i].ip = (int32_t)(0xc0a80101u + (uint32_t)i);
        h[i].port = 9000 + (int32_t)i;
        ptrs[i] = &h[i];
    }
    r->n_host = n;
    r->host = ptrs;
}

static void report_status(Lars__ReportStatusRequest *r, Lars__HostCallResult *res,
                          Lars__HostCallResult **ptrs, size_t n)
{
    lars__report_status_request__init(r);
    r->modid = 1;
    r->cmdid = 2;
    r->caller = (int32_t)0xc0a80001u;
    r->ts = 1700000000;
    for (size_t i = 0; i < n; i++) {
        lars__host_call_result__init(&res[i]);
        res[i].ip = (int32_t)(0x0a000001u + (uint32_t)i);
        res[i].port = 8000 + (int32_t)i;
        res[i].succ = 100 * (uint32_t)i;
        res[i].err = (uint32_t)i;
        res[i].overload = i % 2;
        ptrs[i] = &res[i];
    }
    r->n_results = n;
    r->results = ptrs;
}

static void seeds_frame(seed_cb cb, void *arg)
{
    Lars__GetRouteRequest rq = LARS__GET_ROUTE_REQUEST__INIT;
    Lars__GetRouteResponse rs;
    Lars__HostInfo h[3], *p[3];
    seed_t s = {0};
    uint8_t bad[RX_FRAME_HDR];

    rq.modid = 1;
    rq.cmdid = 2;
    route(&rs, h, p, 3, 1, 2);
    put_u8(&s, 0);
    put_u32(&s, 12345);
    put_frame(&s, 1, &rq.base);
    put_frame(&s, 2, &rs.base);
    cb(s.b, s.n, arg);
    /* an empty body, then a frame cut short */
    rq.modid = rq.cmdid = 0;
    put_frame(&s, 1, &rq.base);
    put_frame(&s, 2, &rs.base);
    cb(s.b, s.n - 3, arg);
    /* a small limit, then a negative length */
    s.b[0] = 4 + 16;
    rx_frame_put_header(bad, 3, 0x80000000u);
    put(&s, bad, sizeof(bad));
    cb(s.b, s.n, arg);
}

/* One valid body per message (packed by protobuf-c, negative ints among
 * the values), then inputs of the two encoder modes (see fuzz_wire.c). */
static void seeds_wire(seed_cb cb, void *arg)
{
    Lars__GetRouteRequest gr = LARS__GET_ROUTE_REQUEST__INIT;
    Lars__GetRouteResponse rs;
    Lars__HostInfo hs[3], *hp[3];
    Lars__ReportStatusRequest st;
    Lars__HostCallResult res[3], *rp[3];
    Lars__GetHostRequest gh = LARS__GET_HOST_REQUEST__INIT;
    Lars__GetHostResponse ghr = LARS__GET_HOST_RESPONSE__INIT;
    Lars__ReportRequest rq = LARS__REPORT_REQUEST__INIT;
    Lars__HostInfo h = LARS__HOST_INFO__INIT;
    const ProtobufCMessage *msgs[] = {&gr.base, &rs.base, &st.base, &gh.base, &ghr.base, &rq.base};
    seed_t s;

    gr.modid = 10;
    gr.cmdid = -1;
    route(&rs, hs, hp, 3, 1, 2);
    report_status(&st, res, rp, 3);
    gh.seq = 77;
    gh.modid = 1;
    gh.cmdid = 2;
    h.ip = (int32_t)0xc0a801b1u;
    h.port = 9000;
    ghr.seq = 77;
    ghr.modid = 1;
    ghr.cmdid = 2;
    ghr.host = &h;
    rq.modid = 1;
    rq.cmdid = 2;
    rq.host = &h;
    rq.retcode = 1;
    rq.timecost_ms = 1000;
    for (uint8_t mode = 0; mode < 6; mode++) {
        s.n = 0;
        put_u8(&s, mode);
        put_msg(&s, msgs[mode]);
        cb(s.b, s.n, arg);
    }
    /* a route into a buffer of 40 bytes: two of three hosts fit */
    s.n = 0;
    put_u8(&s, 6);
    put_u8(&s, 40);
    put_u8(&s, 0);
    put_u32(&s, 1);
    put_u32(&s, 2);
    for (uint32_t i = 0; i < 3; i++) {
        put_u32(&s, 0xc0a80101u + i);
        put_u32(&s, 9000 + i);
    }
    cb(s.b, s.n, arg);
    s.n = 0;
    put_u8(&s, 7);
    for (int i = 0; i < 4 + 2 * 17; i++)
        put_u32(&s, 0x01020304u * (uint32_t)i);
    cb(s.b, s.n, arg);
}

static void seeds_agent(seed_cb cb, void *arg)
{
    seed_t s = {0};
    static const uint8_t ops[] = {
        2, 1, 2, 3, 0,    0,    1,    1, 2,  2, /* route of 1/2: 3 hosts */
        1, 0, 0, 1, 2,    7,                    /* get_host 1/2 on shard 0 */
        1, 0, 1, 1, 2,    0,    0,    1, 50,    /* report: failure */
        1, 0, 2, 1, 2,                          /* get_route 1/2 */
        1, 1, 0, 3, 3,    9,                    /* get_host of an unknown pair */
        2, 3, 3, 0,                             /* an empty route */
        0, 2, 4, 3, 0x08, 0x01, 0x10,           /* a truncated GetHostRequest */
        3, 0, 2, 2, 0x1a, 0x05,                 /* a truncated route */
    };

    put(&s, ops, sizeof(ops));
    cb(s.b, s.n, arg);
}

static void seeds_conf(seed_cb cb, void *arg)
{
    static const char *const texts[] = {
        "\x00log_level = \"debug\";\nlisten_host = \"127.0.0.1\";\nbase_port = 8888;\n"
        "dns = { servers = [\"127.0.0.1:7778\", \"127.0.0.2:7778\"]; };\n"
        "loadbalance = { probe_num = 10; err_rate = 0.1; succ_rate = 0.95; };\n",
        "\x01listen = \"0.0.0.0:7778\";\nthreads = 4;\nmax_frame = 4194304;\n"
        "db = { host = \"127.0.0.1\"; port = 3306; user = \"lars\"; password = \"p\\\"w\"; };\n",
        "\x02listen = \"0.0.0.0:7779\";\ndb_threads = 3;\nbatch_rows = 500;\n"
        "queue_limit = 1000000L;\nunknown_key = 1;\n",
        "\x02threads = \"two\";\n",
    };

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        cb((const uint8_t *)texts[i], 1 + strlen(texts[i] + 1), arg);
}

static void seeds_liblars(seed_cb cb, void *arg)
{
    Lars__GetHostResponse gh = LARS__GET_HOST_RESPONSE__INIT;
    Lars__HostInfo h = LARS__HOST_INFO__INIT;
    Lars__GetRouteResponse rs;
    Lars__HostInfo hs[3], *p[3];
    seed_t s = {0};
    uint8_t hdr[RX_FRAME_HDR];
    size_t len;

    /* get_host: a stale answer, then the one awaited */
    put_u8(&s, 0);
    put_u8(&s, 0);
    put_u32(&s, 41);
    put_u32(&s, 1);
    put_u32(&s, 2);
    gh.modid = 1;
    gh.cmdid = 2;
    h.ip = (int32_t)0xc0a801b1u;
    h.port = 9000;
    gh.host = &h;
    for (uint32_t seq = 40; seq <= 41; seq++) {
        gh.seq = seq;
        len = RX_FRAME_HDR + lars__get_host_response__get_packed_size(&gh);
        put_u8(&s, (uint8_t)len);
        put_u8(&s, (uint8_t)(len >> 8));
        put_frame(&s, 5, &gh.base);
    }
    cb(s.b, s.n, arg);

    /* get_route into a buffer of 2 */
    s.n = 0;
    put_u8(&s, 1);
    put_u8(&s, 2);
    put_u32(&s, 0);
    put_u32(&s, 1);
    put_u32(&s, 2);
    route(&rs, hs, p, 3, 1, 2);
    len = RX_FRAME_HDR + lars__get_route_response__get_packed_size(&rs);
    put_u8(&s, (uint8_t)len);
    put_u8(&s, (uint8_t)(len >> 8));
    put_frame(&s, 8, &rs.base);
    rx_frame_put_header(hdr, 8, 1000);
    put_u8(&s, sizeof(hdr));
    put_u8(&s, 0);
    put(&s, hdr, sizeof(hdr));
    cb(s.b, s.n, arg);

    /* report */
    s.n = 0;
    put_u8(&s, 2);
    put_u8(&s, 0);
    put_u32(&s, 0);
    put_u32(&s, 1);
    put_u32(&s, 2);
    put_u32(&s, 0xc0a801b1u);
    put_u32(&s, 9000);
    put_u32(&s, 1);
    put_u32(&s, 1000);
    cb(s.b, s.n, arg);
}

void fuzz_seeds(const char *target, seed_cb cb, void *arg)
{
    static const struct {
        const char *name;
        void (*fn)(seed_cb cb, void *arg);
    } all[] = {
        {"frame", seeds_frame}, {"wire", seeds_wire},       {"agent", seeds_agent},
        {"conf", seeds_conf},   {"liblars", seeds_liblars},
    };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i].name, target) == 0)
            all[i].fn(cb, arg);
}
