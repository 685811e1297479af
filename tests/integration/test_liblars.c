/*
 * Tests of liblars (api/) and the `lars` tool over real UDP sockets on
 * 127.0.0.1. A responder thread plays the agent on three consecutive ports:
 * it decodes the real protobuf requests, records them, and answers, and can
 * misbehave on demand (drop requests, send stale or malformed answers) in
 * ways a real agent cannot be made to do deterministically.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/lars.h"
#include "proto/lars.pb-c.h"

#define IP_192_168_1_177 3232235953u /* INET_ATON('192.168.1.177'), negative as int32 */
#define IP_10_0_0_1      167772161u
#define MAX_DROPPED      16

typedef struct responder {
    int fds[3];
    int base_port;
    int stop_pipe[2];
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t cond;

    /* behaviour, set before the call under test */
    uint32_t answer_ip;
    int drop_next;        /* requests to ignore before answering again */
    bool replay_dropped;  /* answer dropped get_host requests (with port 1) first */
    bool garbage_first;   /* send malformed datagrams before each answer */
    int route_hosts;      /* hosts in a get_route answer */
    int route_empty_next; /* get_route answers that are empty before route_hosts */

    /* recordings */
    int requests[3]; /* per shard: datagrams received */
    int get_host_requests;
    int get_route_requests;
    int reports;
    uint8_t report_body[256];
    size_t report_len;
    int32_t report_msgid;
    uint32_t dropped_seq[MAX_DROPPED];
    int dropped_modid[MAX_DROPPED], dropped_cmdid[MAX_DROPPED];
    int n_dropped;
} responder_t;

/* The port a responder names for (modid, cmdid): lets a caller check that
 * the answer it got is the answer to its own question. */
static int answer_port(int modid, int cmdid)
{
    return 1000 + (int)(((uint32_t)modid * 31u + (uint32_t)cmdid) % 60000u);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Binds three consecutive UDP ports on 127.0.0.1; returns the base port. */
static int bind_three_ports(int fds[3])
{
    unsigned seed = (unsigned)getpid() ^ (unsigned)now_ms();

    for (int attempt = 0; attempt < 500; attempt++) {
        int base = 20000 + (int)(rand_r(&seed) % 40000);
        int i;

        for (i = 0; i < 3; i++) {
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(base + i)};

            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
                break;
        }
        if (i == 3)
            return base;
        for (int k = 0; k <= i && k < 3; k++)
            if (fds[k] >= 0)
                close(fds[k]);
    }
    return -1;
}

/* A base port with nobody listening on base..base+2. */
static int free_base_port(void)
{
    int fds[3], base = bind_three_ports(fds);

    for (int i = 0; base > 0 && i < 3; i++)
        close(fds[i]);
    return base;
}

static void put_header(uint8_t *p, int32_t msgid, uint32_t len)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)((uint32_t)msgid >> (8 * i));
        p[4 + i] = (uint8_t)(len >> (8 * i));
    }
}

static void send_frame(int fd, const struct sockaddr_in *to, int32_t msgid,
                       const ProtobufCMessage *msg)
{
    static __thread uint8_t buf[65536];
    size_t len = protobuf_c_message_pack(msg, buf + 8);

    put_header(buf, msgid, (uint32_t)len);
    sendto(fd, buf, len + 8, 0, (const struct sockaddr *)to, sizeof(*to));
}

static void send_host_answer(int fd, const struct sockaddr_in *to, uint32_t seq, int modid,
                             int cmdid, uint32_t ip, int port)
{
    Lars__GetHostResponse rsp = LARS__GET_HOST_RESPONSE__INIT;
    Lars__HostInfo hi = LARS__HOST_INFO__INIT;

    hi.ip = (int32_t)ip;
    hi.port = port;
    rsp.seq = seq;
    rsp.modid = modid;
    rsp.cmdid = cmdid;
    rsp.retcode = LARS__LARS_RET_CODE__RET_SUCC;
    rsp.host = &hi;
    send_frame(fd, to, LARS__MESSAGE_ID__ID_GetHostResponse, &rsp.base);
}

static void send_garbage(int fd, const struct sockaddr_in *to)
{
    static const uint8_t bad_proto[] = {5, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff};
    static const uint8_t too_long[] = {5, 0, 0, 0, 100, 0, 0, 0, 0x08, 0x01};
    static const uint8_t short_dgram[] = {5, 0, 0};
    static const uint8_t wrong_id[] = {9, 0, 0, 0, 2, 0, 0, 0, 0x08, 0x01};
    static const uint8_t negative_len[] = {5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    const struct {
        const uint8_t *p;
        size_t n;
    } dgrams[] = {{bad_proto, sizeof(bad_proto)},
                  {too_long, sizeof(too_long)},
                  {short_dgram, sizeof(short_dgram)},
                  {wrong_id, sizeof(wrong_id)},
                  {negative_len, sizeof(negative_len)}};

    for (size_t i = 0; i < sizeof(dgrams) / sizeof(dgrams[0]); i++)
        sendto(fd, dgrams[i].p, dgrams[i].n, 0, (const struct sockaddr *)to, sizeof(*to));
}

/* Called with r->lock held. */
static void on_get_host(responder_t *r, int fd, const struct sockaddr_in *from,
                        const Lars__GetHostRequest *req)
{
    r->get_host_requests++;
    if (r->drop_next > 0) {
        r->drop_next--;
        if (r->n_dropped < MAX_DROPPED) {
            r->dropped_seq[r->n_dropped] = req->seq;
            r->dropped_modid[r->n_dropped] = req->modid;
            r->dropped_cmdid[r->n_dropped++] = req->cmdid;
        }
        return;
    }
    if (r->replay_dropped) {
        for (int i = 0; i < r->n_dropped; i++)
            send_host_answer(fd, from, r->dropped_seq[i], r->dropped_modid[i], r->dropped_cmdid[i],
                             r->answer_ip, 1);
        r->n_dropped = 0;
    }
    if (r->garbage_first)
        send_garbage(fd, from);
    send_host_answer(fd, from, req->seq, req->modid, req->cmdid, r->answer_ip,
                     answer_port(req->modid, req->cmdid));
}

static void on_get_route(responder_t *r, int fd, const struct sockaddr_in *from,
                         const Lars__GetRouteRequest *req)
{
    Lars__GetRouteResponse rsp = LARS__GET_ROUTE_RESPONSE__INIT;
    Lars__HostInfo his[64], *hp[64];
    int n = r->route_empty_next > 0 ? 0 : r->route_hosts;

    r->get_route_requests++;
    if (r->drop_next > 0) {
        r->drop_next--;
        return;
    }
    if (r->route_empty_next > 0)
        r->route_empty_next--;
    for (int i = 0; i < n && i < 64; i++) {
        his[i] = (Lars__HostInfo)LARS__HOST_INFO__INIT;
        his[i].ip = (int32_t)(r->answer_ip + (uint32_t)i);
        his[i].port = 9000 + i;
        hp[i] = &his[i];
    }
    rsp.modid = req->modid;
    rsp.cmdid = req->cmdid;
    rsp.n_host = (size_t)n;
    rsp.host = hp;
    if (r->garbage_first)
        send_garbage(fd, from);
    send_frame(fd, from, LARS__MESSAGE_ID__ID_API_GetRouteResponse, &rsp.base);
}

static void on_datagram(responder_t *r, int shard, const uint8_t *p, size_t n,
                        const struct sockaddr_in *from)
{
    int32_t msgid;
    uint32_t len;

    r->requests[shard]++;
    if (n < 8)
        return;
    msgid = (int32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
    len = p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24;
    if (len != n - 8)
        return;
    if (msgid == LARS__MESSAGE_ID__ID_GetHostRequest) {
        Lars__GetHostRequest *req = lars__get_host_request__unpack(NULL, len, p + 8);

        if (req)
            on_get_host(r, r->fds[shard], from, req);
        lars__get_host_request__free_unpacked(req, NULL);
    } else if (msgid == LARS__MESSAGE_ID__ID_API_GetRouteRequest) {
        Lars__GetRouteRequest *req = lars__get_route_request__unpack(NULL, len, p + 8);

        if (req)
            on_get_route(r, r->fds[shard], from, req);
        lars__get_route_request__free_unpacked(req, NULL);
    } else if (msgid == LARS__MESSAGE_ID__ID_ReportRequest && len <= sizeof(r->report_body)) {
        memcpy(r->report_body, p + 8, len);
        r->report_len = len;
        r->report_msgid = msgid;
        r->reports++;
    }
    pthread_cond_broadcast(&r->cond);
}

static void *responder_run(void *arg)
{
    responder_t *r = arg;
    uint8_t buf[65536];

    for (;;) {
        struct pollfd pfds[4];

        for (int i = 0; i < 3; i++)
            pfds[i] = (struct pollfd){.fd = r->fds[i], .events = POLLIN};
        pfds[3] = (struct pollfd){.fd = r->stop_pipe[0], .events = POLLIN};
        if (poll(pfds, 4, 1000) < 0)
            continue;
        if (pfds[3].revents)
            return NULL;
        for (int i = 0; i < 3; i++) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n;

            if (!(pfds[i].revents & POLLIN))
                continue;
            n = recvfrom(r->fds[i], buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
            if (n < 0)
                continue;
            pthread_mutex_lock(&r->lock);
            on_datagram(r, i, buf, (size_t)n, &from);
            pthread_mutex_unlock(&r->lock);
        }
    }
}

static responder_t *responder_start(uint32_t answer_ip)
{
    responder_t *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->answer_ip = answer_ip;
    r->route_hosts = 3;
    r->base_port = bind_three_ports(r->fds);
    assert_true(r->base_port > 0);
    assert_int_equal(pipe2(r->stop_pipe, O_CLOEXEC), 0);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    assert_int_equal(pthread_create(&r->tid, NULL, responder_run, r), 0);
    return r;
}

static void responder_stop(responder_t *r)
{
    if (!r)
        return;
    assert_int_equal(write(r->stop_pipe[1], "x", 1), 1);
    pthread_join(r->tid, NULL);
    for (int i = 0; i < 3; i++)
        close(r->fds[i]);
    close(r->stop_pipe[0]);
    close(r->stop_pipe[1]);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

/* Waits (generously) until the responder has recorded `reports` reports. */
static bool responder_wait_reports(responder_t *r, int reports)
{
    struct timespec deadline;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&r->lock);
    while (r->reports < reports)
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) != 0)
            break;
    ok = r->reports >= reports;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

#define WITH_LOCK(r, stmt)                                                                         \
    do {                                                                                           \
        pthread_mutex_lock(&(r)->lock);                                                            \
        stmt;                                                                                      \
        pthread_mutex_unlock(&(r)->lock);                                                          \
    } while (0)

static int locked_int(responder_t *r, const int *field)
{
    int v;

    WITH_LOCK(r, v = *field);
    return v;
}

/* timeout_ms 0: a generous per-try wait, so that a slow CI machine does not
 * turn into a spurious timeout. */
static lars_client_t *open_to(int base_port, int timeout_ms, int tries)
{
    lars_options_t o = {.agent_host = "127.0.0.1",
                        .base_port = base_port,
                        .timeout_ms = timeout_ms ? timeout_ms : 1000,
                        .tries = tries};
    int err = 1;
    lars_client_t *c = lars_open(&o, &err);

    assert_non_null(c);
    assert_int_equal(err, 0);
    return c;
}

/* ------------------------------------------------------------- tests -- */

static void get_host_round_trip_decodes_high_ip_and_port(void **state)
{
    responder_t *r = responder_start(IP_192_168_1_177);
    lars_client_t *c = open_to(r->base_port, 0, 3);
    lars_host_t h = {0};

    assert_int_equal(lars_get_host(c, 7, 11, &h), LARS_SUCC);
    assert_int_equal(h.ip, IP_192_168_1_177);
    assert_string_equal(h.ip_str, "192.168.1.177");
    assert_int_equal(h.port, answer_port(7, 11));

    WITH_LOCK(r, r->answer_ip = IP_10_0_0_1);
    assert_int_equal(lars_get_host(c, 7, 12, &h), LARS_SUCC);
    assert_int_equal(h.ip, IP_10_0_0_1);
    assert_string_equal(h.ip_str, "10.0.0.1");
    assert_int_equal(h.port, answer_port(7, 12));
    lars_close(c);
    responder_stop(r);
}

static void get_host_skips_stale_answers_of_timed_out_call(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 30, 2);
    lars_host_t h = {0};

    /* The first call's two tries go unanswered; the next call then first
     * receives (late) answers to them, with port 1, then its own. */
    WITH_LOCK(r, r->drop_next = 2; r->replay_dropped = true);
    assert_int_equal(lars_get_host(c, 1, 2, &h), LARS_TIMEOUT);
    assert_int_equal(lars_get_host(c, 1, 2, &h), LARS_SUCC);
    assert_int_equal(h.port, answer_port(1, 2));
    assert_int_equal(locked_int(r, &r->n_dropped), 0); /* the stale answers were sent */
    lars_stats_t st;
    lars_get_stats(c, &st, sizeof(st));
    assert_int_equal(st.stale_answers, 2);
    assert_int_equal(st.malformed_answers, 0);
    assert_int_equal(st.retries, 1); /* the first call's second try */
    assert_int_equal(st.timeouts, 1);
    lars_close(c);
    responder_stop(r);
}

static void get_host_skips_malformed_answers(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 0, 1);
    lars_host_t h = {0};

    WITH_LOCK(r, r->garbage_first = true);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(lars_get_host(c, 3, i, &h), LARS_SUCC);
        assert_int_equal(h.port, answer_port(3, i));
    }
    /* Per answer: a bad body, a length beyond the datagram, a short
     * datagram, an unknown msgid and a negative length. */
    lars_stats_t st;
    lars_get_stats(c, &st, sizeof(st));
    assert_int_equal(st.malformed_answers, 20 * 5);
    assert_int_equal(st.stale_answers, 0);
    assert_int_equal(st.timeouts, 0);
    /* A caller built against a shorter struct gets only its fields. */
    lars_stats_t part;
    memset(&part, 0xab, sizeof(part));
    lars_get_stats(c, &part, offsetof(lars_stats_t, malformed_answers));
    assert_int_equal(part.stale_answers, 0);
    assert_int_equal(part.malformed_answers, 0xababababababababULL);
    lars_close(c);
    responder_stop(r);
}

static void get_host_times_out_within_budget_without_agent(void **state)
{
    int base = free_base_port();
    lars_client_t *c = open_to(base, 50, 3);
    lars_host_t h = {0};
    uint64_t t0, elapsed;

    assert_true(base > 0);
    /* The first call provokes ICMP "port unreachable"; the following calls
     * see ECONNREFUSED on send and receive: still timeouts, never a crash. */
    for (int i = 0; i < 3; i++) {
        t0 = now_ms();
        assert_int_equal(lars_get_host(c, 1, 1, &h), LARS_TIMEOUT);
        elapsed = now_ms() - t0;
        /* Lower bound: refusals were waited out like lost answers, not
         * taken as an immediate failure. Upper: a safety bound. */
        assert_true(elapsed >= 140);
        assert_true(elapsed < 10000);
    }
    lars_stats_t st;
    lars_get_stats(c, &st, sizeof(st));
    assert_int_equal(st.timeouts, 3);
    assert_int_equal(st.retries, 3 * 2);
    lars_close(c);
}

static void get_host_retries_after_lost_answer(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 200, 3);
    lars_host_t h = {0};

    WITH_LOCK(r, r->drop_next = 1);
    assert_int_equal(lars_get_host(c, 5, 5, &h), LARS_SUCC);
    assert_int_equal(h.port, answer_port(5, 5));
    assert_int_equal(locked_int(r, &r->get_host_requests), 2);

    WITH_LOCK(r, r->drop_next = 3; r->get_host_requests = 0);
    assert_int_equal(lars_get_host(c, 5, 5, &h), LARS_TIMEOUT);
    assert_int_equal(locked_int(r, &r->get_host_requests), 3);
    lars_close(c);
    responder_stop(r);
}

static Lars__ReportRequest *last_report(responder_t *r, size_t *ret_len, uint8_t *ret_body)
{
    Lars__ReportRequest *req;

    pthread_mutex_lock(&r->lock);
    memcpy(ret_body, r->report_body, r->report_len);
    *ret_len = r->report_len;
    req = lars__report_request__unpack(NULL, r->report_len, r->report_body);
    pthread_mutex_unlock(&r->lock);
    return req;
}

static void report_sends_original_message_without_cost(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 0, 1);
    Lars__ReportRequest want = LARS__REPORT_REQUEST__INIT, *got;
    Lars__HostInfo hi = LARS__HOST_INFO__INIT;
    uint8_t body[256], packed[256];
    lars_host_t h;
    size_t len;

    assert_int_equal(lars_host_set(&h, "192.168.1.177", 8080), 0);
    assert_int_equal(lars_report(c, 4, 6, &h, LARS_OVERLOAD), 0);
    assert_true(responder_wait_reports(r, 1));
    got = last_report(r, &len, body);
    assert_non_null(got);
    assert_int_equal(got->modid, 4);
    assert_int_equal(got->cmdid, 6);
    assert_non_null(got->host);
    assert_int_equal((uint32_t)got->host->ip, IP_192_168_1_177);
    assert_int_equal(got->host->port, 8080);
    assert_int_equal(got->retcode, LARS_OVERLOAD);
    assert_int_equal(got->timecost_ms, 0);
    lars__report_request__free_unpacked(got, NULL);

    /* Byte for byte what an original client sends (no field 5). */
    hi.ip = (int32_t)IP_192_168_1_177;
    hi.port = 8080;
    want.modid = 4;
    want.cmdid = 6;
    want.host = &hi;
    want.retcode = LARS_OVERLOAD;
    assert_int_equal(lars__report_request__pack(&want, packed), len);
    assert_memory_equal(packed, body, len);
    /* ... and it reached the shard of (4 + 6) % 3. */
    assert_int_equal(locked_int(r, &r->requests[1]), 1);
    lars_close(c);
    responder_stop(r);
}

static void report_cost_sends_timecost_field(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 0, 1);
    Lars__ReportRequest *got;
    uint8_t body[256];
    lars_host_t h;
    size_t len;

    assert_int_equal(lars_host_set(&h, "10.1.2.3", 99), 0);
    assert_int_equal(lars_report_cost(c, 0, 0, &h, LARS_SUCC, 1500), 0);
    assert_true(responder_wait_reports(r, 1));
    got = last_report(r, &len, body);
    assert_non_null(got);
    assert_int_equal(got->modid, 0);
    assert_int_equal(got->cmdid, 0);
    assert_int_equal(got->host->ip, (int32_t)((10u << 24) | (1 << 16) | (2 << 8) | 3));
    assert_int_equal(got->host->port, 99);
    assert_int_equal(got->retcode, LARS_SUCC);
    assert_int_equal(got->timecost_ms, 1500);
    lars__report_request__free_unpacked(got, NULL);
    lars_close(c);
    responder_stop(r);
}

static void get_route_reports_truncation(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 0, 1);
    lars_host_t buf[3];
    size_t n = 99;

    WITH_LOCK(r, r->route_hosts = 5; r->garbage_first = true);
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(lars_get_route(c, 2, 2, buf, 2, &n), LARS_SUCC);
    assert_int_equal(n, 5);
    assert_int_equal(buf[0].ip, IP_10_0_0_1);
    assert_int_equal(buf[0].port, 9000);
    assert_string_equal(buf[1].ip_str, "10.0.0.2");
    assert_int_equal(buf[1].port, 9001);
    assert_int_equal(buf[2].port, (int)0xeeeeeeee); /* beyond cap: untouched */

    assert_int_equal(lars_get_route(c, 2, 2, NULL, 0, &n), LARS_SUCC);
    assert_int_equal(n, 5);
    WITH_LOCK(r, r->route_hosts = 0);
    assert_int_equal(lars_get_route(c, 2, 2, buf, 3, &n), LARS_NOEXIST);
    assert_int_equal(n, 0);
    lars_close(c);
    responder_stop(r);
}

static void reg_init_gives_up_after_three_empty_routes(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 0, 1);
    uint64_t t0 = now_ms();

    WITH_LOCK(r, r->route_hosts = 0);
    assert_int_equal(lars_reg_init(c, 8, 9), LARS_NOEXIST);
    assert_int_equal(locked_int(r, &r->get_route_requests), 3);
    assert_true(now_ms() - t0 >= 2 * LARS_REG_INIT_INTERVAL_MS - 5); /* it paused between */
    lars_close(c);
    responder_stop(r);
}

static void reg_init_succeeds_when_route_appears(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 0, 1);

    WITH_LOCK(r, r->route_hosts = 2; r->route_empty_next = 2);
    assert_int_equal(lars_reg_init(c, 8, 9), LARS_SUCC);
    assert_int_equal(locked_int(r, &r->get_route_requests), 3);

    WITH_LOCK(r, r->get_route_requests = 0);
    assert_int_equal(lars_reg_init(c, 8, 9), LARS_SUCC);
    assert_int_equal(locked_int(r, &r->get_route_requests), 1);
    lars_close(c);
    responder_stop(r);
}

static void requests_go_to_shard_of_pair_sum(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    lars_client_t *c = open_to(r->base_port, 0, 1);
    const int pairs[][2] = {{0, 0}, {1, 0}, {1, 1}, {5, 7}, {100, 2}, {2147483647, 2147483647}};
    lars_host_t h;
    size_t n;

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        int m = pairs[i][0], k = pairs[i][1];
        int shard = (int)(((int64_t)m + k) % 3);
        int before[3];

        WITH_LOCK(r, memcpy(before, r->requests, sizeof(before)));
        assert_int_equal(lars_get_host(c, m, k, &h), LARS_SUCC);
        assert_int_equal(lars_get_route(c, m, k, NULL, 0, &n), LARS_SUCC);
        for (int s = 0; s < 3; s++)
            assert_int_equal(locked_int(r, &r->requests[s]) - before[s], s == shard ? 2 : 0);
    }
    lars_close(c);
    responder_stop(r);
}

typedef struct worker {
    pthread_t tid;
    int base_port;
    int id;
    int ok, wrong;
} worker_t;

static void *worker_run(void *arg)
{
    worker_t *w = arg;
    lars_options_t o = {.base_port = w->base_port, .timeout_ms = 2000, .tries = 3};
    lars_client_t *c = lars_open(&o, NULL);

    for (int i = 0; c && i < 1000; i++) {
        lars_host_t h;
        int cmdid = i % 50;

        if (lars_get_host(c, w->id, cmdid, &h) == LARS_SUCC &&
            h.port == answer_port(w->id, cmdid) && h.ip == IP_10_0_0_1)
            w->ok++;
        else
            w->wrong++;
        if (i % 10 == 0)
            lars_report(c, w->id, cmdid, &h, LARS_SUCC);
    }
    lars_close(c);
    return NULL;
}

static void threads_with_own_handles_work_concurrently(void **state)
{
    responder_t *r = responder_start(IP_10_0_0_1);
    worker_t w[8];

    for (int i = 0; i < 8; i++) {
        w[i] = (worker_t){.base_port = r->base_port, .id = 100 + i};
        assert_int_equal(pthread_create(&w[i].tid, NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(w[i].tid, NULL);
        assert_int_equal(w[i].wrong, 0);
        assert_int_equal(w[i].ok, 1000);
    }
    responder_stop(r);
}

static void two_handles_talk_to_different_agents(void **state)
{
    responder_t *a = responder_start(IP_10_0_0_1);
    responder_t *b = responder_start(IP_192_168_1_177);
    lars_client_t *ca = open_to(a->base_port, 0, 1);
    lars_client_t *cb = open_to(b->base_port, 0, 1);
    lars_host_t h;

    for (int i = 0; i < 5; i++) {
        assert_int_equal(lars_get_host(ca, 1, i, &h), LARS_SUCC);
        assert_int_equal(h.ip, IP_10_0_0_1);
        assert_int_equal(lars_get_host(cb, 1, i, &h), LARS_SUCC);
        assert_int_equal(h.ip, IP_192_168_1_177);
    }
    assert_int_equal(locked_int(a, &a->get_host_requests), 5);
    assert_int_equal(locked_int(b, &b->get_host_requests), 5);
    lars_close(ca);
    lars_close(cb);
    responder_stop(a);
    responder_stop(b);
}

static void open_rejects_bad_options(void **state)
{
    const lars_options_t bad[] = {
        {.base_port = 65534},  {.base_port = -1}, {.timeout_ms = -5},
        {.timeout_ms = 60001}, {.tries = -1},     {.tries = 101},
    };
    int err;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = 0;
        assert_null(lars_open(&bad[i], &err));
        assert_int_equal(err, LARS_EINVAL);
    }
    lars_close(NULL);
}

static void calls_reject_bad_arguments(void **state)
{
    lars_client_t *c = open_to(free_base_port(), 10, 1);
    lars_host_t h = {0};
    size_t n;

    assert_int_equal(lars_get_host(NULL, 1, 1, &h), LARS_EINVAL);
    assert_int_equal(lars_get_host(c, -1, 1, &h), LARS_EINVAL);
    assert_int_equal(lars_get_host(c, 1, 1, NULL), LARS_EINVAL);
    assert_int_equal(lars_get_route(c, 1, 1, NULL, 4, &n), LARS_EINVAL);
    assert_int_equal(lars_get_route(c, 1, 1, &h, 1, NULL), LARS_EINVAL);
    assert_int_equal(lars_report(c, 1, -2, &h, 0), LARS_EINVAL);
    assert_int_equal(lars_report(c, 1, 1, NULL, 0), LARS_EINVAL);
    assert_int_equal(lars_reg_init(c, -1, 1), LARS_EINVAL);
    lars_close(c);
}

static void ip_conversion_round_trips(void **state)
{
    char buf[16];
    uint32_t ip;
    lars_host_t h;

    assert_int_equal(lars_ip_from_str("192.168.1.177", &ip), 0);
    assert_int_equal(ip, IP_192_168_1_177);
    assert_string_equal(lars_ip_to_str(ip, buf), "192.168.1.177");
    assert_string_equal(lars_ip_to_str(0xffffffffu, buf), "255.255.255.255");
    assert_string_equal(lars_ip_to_str(0, buf), "0.0.0.0");
    assert_int_equal(lars_ip_from_str("1.2.3", &ip), LARS_EINVAL);
    assert_int_equal(lars_ip_from_str("256.0.0.1", &ip), LARS_EINVAL);
    assert_int_equal(lars_ip_from_str("", &ip), LARS_EINVAL);
    assert_int_equal(lars_host_set(&h, "10.0.0.1", 0), LARS_EINVAL);
    assert_int_equal(lars_host_set(&h, "10.0.0.1", 65535), 0);
    assert_int_equal(h.ip, IP_10_0_0_1);
}

static void strerror_names_every_code(void **state)
{
    const int codes[] = {LARS_SUCC,    LARS_OVERLOAD, LARS_SYSTEM_ERROR, LARS_NOEXIST,
                         LARS_TIMEOUT, LARS_EINVAL,   -EMFILE,           42,
                         -99999};

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_non_null(lars_strerror(codes[i]));
        assert_true(strlen(lars_strerror(codes[i])) > 0);
    }
    assert_string_not_equal(lars_strerror(LARS_TIMEOUT), lars_strerror(LARS_NOEXIST));
}

/* ----------------------------------------------------------- lars tool -- */

typedef struct tool_result {
    int status;
    char out[4096];
} tool_result_t;

/* Runs build/bin/lars with args; collects stdout and the exit status. */
static void run_tool(tool_result_t *ret, const char *const *args)
{
    const char *build = getenv("LARS_BUILD");
    char path[4096];
    char *argv[32];
    posix_spawn_file_actions_t fa;
    int pipefd[2], n = 0;
    size_t got = 0;
    pid_t pid;
    ssize_t k;

    snprintf(path, sizeof(path), "%s/bin/lars", build ? build : "build");
    argv[n++] = path;
    while (*args && n < 31)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    assert_int_equal(posix_spawn(&pid, path, &fa, NULL, argv, NULL), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    while (got < sizeof(ret->out) - 1 &&
           (k = read(pipefd[0], ret->out + got, sizeof(ret->out) - 1 - got)) > 0)
        got += (size_t)k;
    ret->out[got] = '\0';
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &ret->status, 0), pid);
    assert_true(WIFEXITED(ret->status));
    ret->status = WEXITSTATUS(ret->status);
}

static void tool_rejects_bad_usage_with_status_2(void **state)
{
    const char *const cases[][8] = {
        {NULL},
        {"frobnicate", NULL},
        {"get-host", "1", NULL},
        {"get-host", "x", "2", NULL},
        {"get-host", "1", "2", "3", NULL},
        {"--timeout", "0", "get-host", "1", "2", NULL},
        {"--no-such-option", "get-host", "1", "2", NULL},
        {"report", "1", "2", "10.0.0.1", "80", "maybe", NULL},
        {"report", "1", "2", "10.0.0", "80", "succ", NULL},
        {"simulate", "1", "2", "--err-rate", "1.5", NULL},
        {"get-host", "1", "2", "--cost", "5", NULL},
    };
    tool_result_t res;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_tool(&res, cases[i]);
        assert_int_equal(res.status, 2);
    }
    run_tool(&res, (const char *const[]){"--help", NULL});
    assert_int_equal(res.status, 0);
    assert_non_null(strstr(res.out, "get-host"));
    assert_non_null(strstr(res.out, "bench"));
    assert_non_null(strstr(res.out, "Exit status"));
}

static void tool_get_host_prints_ip_port(void **state)
{
    responder_t *r = responder_start(IP_192_168_1_177);
    char port[16], want[64];
    tool_result_t res;

    snprintf(port, sizeof(port), "%d", r->base_port);
    run_tool(&res, (const char *const[]){"--port", port, "--timeout", "1000", "get-host", "3", "4",
                                         NULL});
    assert_int_equal(res.status, 0);
    snprintf(want, sizeof(want), "192.168.1.177:%d\n", answer_port(3, 4));
    assert_string_equal(res.out, want);

    run_tool(&res, (const char *const[]){"--port", port, "--timeout", "1000", "get-route", "3", "4",
                                         NULL});
    assert_int_equal(res.status, 0);
    assert_string_equal(res.out, "192.168.1.177:9000\n192.168.1.178:9001\n192.168.1.179:9002\n");

    run_tool(&res, (const char *const[]){"--port", port, "report", "3", "4", "10.0.0.1", "80",
                                         "fail", "--cost", "250", NULL});
    assert_int_equal(res.status, 0);
    assert_true(responder_wait_reports(r, 1));
    responder_stop(r);
}

static void tool_exits_3_without_agent(void **state)
{
    char port[16];
    tool_result_t res;

    snprintf(port, sizeof(port), "%d", free_base_port());
    run_tool(&res, (const char *const[]){"--port", port, "--timeout", "10", "--retries", "0",
                                         "get-host", "1", "2", NULL});
    assert_int_equal(res.status, 3);
    assert_string_equal(res.out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_host_round_trip_decodes_high_ip_and_port),
        cmocka_unit_test(get_host_skips_stale_answers_of_timed_out_call),
        cmocka_unit_test(get_host_skips_malformed_answers),
        cmocka_unit_test(get_host_times_out_within_budget_without_agent),
        cmocka_unit_test(get_host_retries_after_lost_answer),
        cmocka_unit_test(report_sends_original_message_without_cost),
        cmocka_unit_test(report_cost_sends_timecost_field),
        cmocka_unit_test(get_route_reports_truncation),
        cmocka_unit_test(reg_init_gives_up_after_three_empty_routes),
        cmocka_unit_test(reg_init_succeeds_when_route_appears),
        cmocka_unit_test(requests_go_to_shard_of_pair_sum),
        cmocka_unit_test(threads_with_own_handles_work_concurrently),
        cmocka_unit_test(two_handles_talk_to_different_agents),
        cmocka_unit_test(open_rejects_bad_options),
        cmocka_unit_test(calls_reject_bad_arguments),
        cmocka_unit_test(ip_conversion_round_trips),
        cmocka_unit_test(strerror_names_every_code),
        cmocka_unit_test(tool_rejects_bad_usage_with_status_2),
        cmocka_unit_test(tool_get_host_prints_ip_port),
        cmocka_unit_test(tool_exits_3_without_agent),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
