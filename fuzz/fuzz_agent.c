/*
 * lars-agent in-process through its public entry points (agent.h): a real
 * agent_new() (three shards on UDP sockets of ours, the lars-dns and
 * lars-reporter clients, never connected) whose loops run on their threads
 * but whose transports are not started; the input is a list of operations
 * whose frames are handed, on the right loop's thread, to the same routers
 * the UDP server and the lars-dns client use (so the shards' and the dns
 * client's own handlers decode them); after each, every loop has run the
 * tasks it caused (forwarded requests, route updates, pulls, snapshots).
 *
 * Replies go to a socket of ours and must be frames protobuf-c decodes:
 * a GetHostResponse with a known retcode, a host on success, and only hosts
 * from the route lars-dns last sent for the pair; an API GetRouteResponse
 * only with such hosts, each once.
 *
 * Operations (at most MAX_OPS), first byte % 4:
 *   0  raw request: shard, msgid, u8 length, body
 *   1  well-formed GetHost / Report / API GetRoute request on a small pair
 *   2  well-formed GetRouteResponse from lars-dns on a small pair
 *   3  raw frame from lars-dns: msgid, u8 length, body
 */
#include <arpa/inet.h>
#include <errno.h>
#include <semaphore.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemons/agent/agent.h"
#include "daemons/common/log.h"
#include "fuzz/fuzz.h"
#include "proto/lars.pb-c.h"
#include "proto/wire.h"

#define MAX_OPS   64
#define MAX_PAIRS 32
#define MAX_ROUTE 64

typedef struct model_route {
    int32_t modid, cmdid;
    bool unknown; /* more hosts than we track: not checked */
    size_t n;
    lb_host_t hosts[MAX_ROUTE];
} model_route_t;

typedef struct run {
    agent_t *a;
    int sink; /* receives the agent's replies */
    rx_addr_t sink_addr;
    model_route_t routes[MAX_PAIRS];
    size_t nroutes;
    bool model_full;
} run_t;

static agent_settings_t settings;
static bool settings_ready;

static void setup_settings(void)
{
    if (settings_ready)
        return;
    FUZZ_CHECK(lars_conf_defaults(agent_conf_keys, agent_conf_nkeys, &settings) == 0);
    free(settings.caller_ip);
    settings.caller_ip = strdup("10.0.0.1");
    FUZZ_CHECK(settings.caller_ip);
    lars_log_set_level(LOG_EMERG); /* the agent logs every bad frame */
    settings_ready = true;
}

static int udp_socket(rx_addr_t *ret_addr)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    if (ret_addr)
        FUZZ_CHECK(rx_addr_of_socket(fd, ret_addr) == 0);
    return fd;
}

static void barrier_task(rx_loop_t *loop, void *arg)
{
    sem_post(arg);
}

/* Returns once the loop ran every task queued before this call. */
static void barrier(rx_loop_t *loop)
{
    struct timespec ts;
    sem_t sem;
    int r;

    FUZZ_CHECK(sem_init(&sem, 0, 0) == 0);
    FUZZ_CHECK(rx_loop_post(loop, barrier_task, &sem) == 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30;
    /* libFuzzer's -timeout alarm interrupts the wait. */
    while ((r = sem_timedwait(&sem, &ts)) < 0 && errno == EINTR)
        ;
    FUZZ_CHECK(r == 0);
    sem_destroy(&sem);
}

/* Every task an operation caused has run: shards (forwards, routes) and
 * the dns loop (pulls, routes) pass work both ways, the reporter last. */
static void settle(run_t *r)
{
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < AGENT_SHARDS; i++)
            barrier(r->a->shards[i].loop);
        barrier(r->a->dns.loop);
    }
    for (unsigned i = 0; i < AGENT_SHARDS; i++)
        barrier(r->a->shards[i].loop);
    barrier(rx_pool_loop(r->a->rep_pool, 0));
}

typedef struct dispatch {
    rx_router_t *router;
    rx_msg_t msg;
} dispatch_t;

static void dispatch_task(rx_loop_t *loop, void *arg)
{
    dispatch_t *d = arg;

    (void)rx_router_dispatch(d->router, &d->msg);
}

/* Handlers run on their loop's thread, as the transports call them. */
static void dispatch_on(rx_loop_t *loop, rx_router_t *router, const rx_msg_t *msg)
{
    dispatch_t d = {router, *msg};

    FUZZ_CHECK(rx_loop_post(loop, dispatch_task, &d) == 0);
    barrier(loop);
}

static model_route_t *model_find(run_t *r, int32_t modid, int32_t cmdid)
{
    for (size_t i = 0; i < r->nroutes; i++)
        if (r->routes[i].modid == modid && r->routes[i].cmdid == cmdid)
            return &r->routes[i];
    return NULL;
}

/* What lars-dns said last about a pair, as protobuf-c reads it. */
static void model_update(run_t *r, const uint8_t *body, size_t len)
{
    Lars__GetRouteResponse *rsp = lars__get_route_response__unpack(NULL, len, body);
    model_route_t *m;

    if (!rsp)
        return;
    m = model_find(r, rsp->modid, rsp->cmdid);
    if (!m && r->nroutes < MAX_PAIRS) {
        m = &r->routes[r->nroutes++];
        m->modid = rsp->modid;
        m->cmdid = rsp->cmdid;
    } else if (!m) {
        r->model_full = true;
    }
    if (m) {
        m->unknown = rsp->n_host > MAX_ROUTE;
        m->n = m->unknown ? 0 : rsp->n_host;
        for (size_t i = 0; i < m->n; i++)
            m->hosts[i] = (lb_host_t){rsp->host[i]->ip, rsp->host[i]->port};
    }
    lars__get_route_response__free_unpacked(rsp, NULL);
}

/* Whether (ip, port) may be served for the pair. */
static bool model_allows(run_t *r, int32_t modid, int32_t cmdid, int32_t ip, int32_t port)
{
    model_route_t *m = model_find(r, modid, cmdid);

    if (!m)
        return r->model_full;
    if (m->unknown)
        return true;
    for (size_t i = 0; i < m->n; i++)
        if (m->hosts[i].ip == ip && m->hosts[i].port == port)
            return true;
    return false;
}

static void check_reply(run_t *r, const uint8_t *p, size_t n)
{
    rx_frame_t f;

    FUZZ_CHECK(rx_frame_parse(p, n, RX_FRAME_MAX_DEFAULT, &f) == (ssize_t)n);
    if (f.msgid == WIRE_ID_GET_HOST_RESPONSE) {
        Lars__GetHostResponse *rsp = lars__get_host_response__unpack(NULL, f.len, f.body);
        FUZZ_CHECK(rsp);
        FUZZ_CHECK(rsp->retcode >= 0 && rsp->retcode <= 3);
        FUZZ_CHECK((rsp->retcode == 0) == (rsp->host != NULL));
        if (rsp->host)
            FUZZ_CHECK(model_allows(r, rsp->modid, rsp->cmdid, rsp->host->ip, rsp->host->port));
        lars__get_host_response__free_unpacked(rsp, NULL);
    } else {
        Lars__GetRouteResponse *rsp;

        FUZZ_CHECK(f.msgid == WIRE_ID_API_GET_ROUTE_RESPONSE);
        rsp = lars__get_route_response__unpack(NULL, f.len, f.body);
        FUZZ_CHECK(rsp);
        for (size_t i = 0; i < rsp->n_host; i++) {
            const Lars__HostInfo *h = rsp->host[i];
            FUZZ_CHECK(model_allows(r, rsp->modid, rsp->cmdid, h->ip, h->port));
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(rsp->host[j]->ip != h->ip || rsp->host[j]->port != h->port);
        }
        lars__get_route_response__free_unpacked(rsp, NULL);
    }
}

static void check_replies(run_t *r)
{
    static uint8_t buf[65536];
    ssize_t n;

    while ((n = recv(r->sink, buf, sizeof(buf), MSG_DONTWAIT)) >= 0)
        check_reply(r, buf, (size_t)n);
}

static void to_shard(run_t *r, unsigned shard, int32_t msgid, const uint8_t *body, size_t len)
{
    agent_shard_t *sh = &r->a->shards[shard % AGENT_SHARDS];
    rx_msg_t msg = {
        .msgid = msgid,
        .len = (uint32_t)len,
        .body = body,
        .loop = sh->loop,
        .from = {.type = RX_PEER_UDP_SERVER, .udp_server = sh->udp, .addr = &r->sink_addr},
    };

    dispatch_on(sh->loop, sh->router, &msg);
}

static void to_dns_client(run_t *r, int32_t msgid, const uint8_t *body, size_t len)
{
    rx_msg_t msg = {
        .msgid = msgid,
        .len = (uint32_t)len,
        .body = body,
        .loop = r->a->dns.loop,
        .from = {.type = RX_PEER_TCP_CLIENT, .tcp_client = r->a->dns.cli},
    };

    if (msgid == WIRE_ID_GET_ROUTE_RESPONSE)
        model_update(r, body, len);
    dispatch_on(r->a->dns.loop, r->a->dns.router, &msg);
}

static void op_request(run_t *r, fuzz_input_t *in)
{
    unsigned shard = fuzz_u8(in), kind = fuzz_u8(in) % 3;
    int32_t modid = fuzz_u8(in) % 4, cmdid = fuzz_u8(in) % 4;
    uint8_t body[256];
    size_t len;

    if (kind == 0) {
        Lars__GetHostRequest m = LARS__GET_HOST_REQUEST__INIT;
        m.seq = fuzz_u8(in);
        m.modid = modid;
        m.cmdid = cmdid;
        len = lars__get_host_request__pack(&m, body);
        to_shard(r, shard, WIRE_ID_GET_HOST_REQUEST, body, len);
    } else if (kind == 1) {
        Lars__ReportRequest m = LARS__REPORT_REQUEST__INIT;
        Lars__HostInfo h = LARS__HOST_INFO__INIT;
        h.ip = 0x0a000001 + fuzz_u8(in) % 4;
        h.port = 8000 + fuzz_u8(in) % 4;
        m.modid = modid;
        m.cmdid = cmdid;
        m.host = &h;
        m.retcode = fuzz_u8(in) % 5;
        m.timecost_ms = fuzz_u8(in) * 10u;
        len = lars__report_request__pack(&m, body);
        to_shard(r, shard, WIRE_ID_REPORT_REQUEST, body, len);
    } else {
        Lars__GetRouteRequest m = LARS__GET_ROUTE_REQUEST__INIT;
        m.modid = modid;
        m.cmdid = cmdid;
        len = lars__get_route_request__pack(&m, body);
        to_shard(r, shard, WIRE_ID_API_GET_ROUTE_REQUEST, body, len);
    }
}

static void op_route(run_t *r, fuzz_input_t *in)
{
    Lars__GetRouteResponse m = LARS__GET_ROUTE_RESPONSE__INIT;
    Lars__HostInfo hosts[8], *ptrs[8];
    uint8_t body[512];
    size_t len;

    m.modid = fuzz_u8(in) % 4;
    m.cmdid = fuzz_u8(in) % 4;
    m.n_host = fuzz_u8(in) % 9;
    for (size_t i = 0; i < m.n_host; i++) {
        lars__host_info__init(&hosts[i]);
        hosts[i].ip = 0x0a000001 + fuzz_u8(in) % 4;
        hosts[i].port = 8000 + fuzz_u8(in) % 4;
        ptrs[i] = &hosts[i];
    }
    m.host = ptrs;
    len = lars__get_route_response__pack(&m, body);
    to_dns_client(r, WIRE_ID_GET_ROUTE_RESPONSE, body, len);
}

static void op_raw(run_t *r, fuzz_input_t *in, bool dns)
{
    unsigned shard = fuzz_u8(in);
    int32_t msgid = fuzz_u8(in) % 9;
    size_t want = fuzz_u8(in), len;
    const uint8_t *p = fuzz_bytes(in, want, &len);
    uint8_t *body = malloc(len ? len : 1);

    /* An exact copy, so a read past the body trips ASan. */
    FUZZ_CHECK(body);
    memcpy(body, p, len);
    if (dns)
        to_dns_client(r, msgid, body, len);
    else
        to_shard(r, shard, msgid, body, len);
    free(body);
}

int fuzz_agent(const uint8_t *data, size_t size)
{
    static run_t r;
    fuzz_input_t in = {data, size};
    int fds[AGENT_SHARDS];

    setup_settings();
    memset(&r, 0, sizeof(r));
    r.sink = udp_socket(&r.sink_addr);
    for (int i = 0; i < AGENT_SHARDS; i++)
        fds[i] = udp_socket(NULL);
    FUZZ_CHECK(agent_new(&settings, fds, &r.a) == 0);
    /* The loops run on their threads; the transports stay unstarted, so
     * nothing but our operations reaches the handlers. */
    FUZZ_CHECK(rx_pool_start(r.a->shard_pool) == 0);
    FUZZ_CHECK(rx_pool_start(r.a->dns_pool) == 0);
    FUZZ_CHECK(rx_pool_start(r.a->rep_pool) == 0);

    for (int i = 0; i < MAX_OPS && in.n > 0; i++) {
        switch (fuzz_u8(&in) % 4) {
        case 0:
            op_raw(&r, &in, false);
            break;
        case 1:
            op_request(&r, &in);
            break;
        case 2:
            op_route(&r, &in);
            break;
        default:
            op_raw(&r, &in, true);
            break;
        }
        settle(&r);
        check_replies(&r);
    }
    agent_free(r.a);
    close(r.sink);
    return 0;
}
