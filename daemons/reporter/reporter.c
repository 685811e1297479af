/*
 * lars-reporter core (see reporter.h).
 */
#include "daemons/reporter/reporter.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemons/common/log.h"
#include "daemons/reporter/ring.h"
#include "daemons/reporter/writer.h"
#include "proto/wire.h"

#define KEY_INT(name, field, def, lo, hi, text)                                                    \
    {                                                                                              \
        .path = name, .type = LARS_CONF_INT, .offset = offsetof(rp_settings_t, field),             \
        .def_int = (def), .min = (lo), .max = (hi), .help = (text)                                 \
    }

const lars_conf_key_t rp_conf_keys[] = {
    LARS_CONF_LOG_LEVEL_KEY(rp_settings_t, log_level),
    LARS_DB_CONF_KEYS(rp_settings_t, db),
    {.path = "listen",
     .type = LARS_CONF_STRING,
     .offset = offsetof(rp_settings_t, listen),
     .def_str = "0.0.0.0:7779",
     .help = "TCP address when not socket-activated"},
    KEY_INT("threads", threads, 2, 1, 64, "network loops"),
    KEY_INT("max_conns", max_conns, 10000, 1, 1000000, "connections above are closed at once"),
    KEY_INT("db_threads", db_threads, 3, 1, 64, "writer threads (MariaDB connections)"),
    KEY_INT("batch_rows", batch_rows, 500, 1, 100000, "most rows per INSERT"),
    KEY_INT("batch_ms", batch_ms, 100, 0, 60000, "longest wait before a flush (ms)"),
    KEY_INT("queue_limit", queue_limit, 1000000, 1, 100000000,
            "distinct pending keys of all writers together"),
};
const size_t rp_conf_nkeys = sizeof(rp_conf_keys) / sizeof(rp_conf_keys[0]);

/* Rows handed to a writer per lock (the rest of the request follows). */
#define PUT_CHUNK 64

struct rp_reporter {
    rx_loop_t *main_loop;
    rx_pool_t *pool;
    rx_router_t *router;
    rx_tcp_server_t *server;
    rp_ring_t *ring;
    rp_writer_t **writers;
    unsigned nwriters;
    bool pool_started;
    bool started;

    /* Network loops, relaxed atomics. */
    _Atomic uint64_t requests;
    _Atomic uint64_t rows_in;
    _Atomic uint64_t bad_bodies;
    _Atomic uint64_t drops_at_put;

    /* Main thread: rate of the STATUS line. */
    uint64_t status_ms;
    uint64_t status_upserted;
};

static void on_report(const rx_msg_t *msg, void *arg)
{
    rp_reporter_t *rp = arg;
    wire_report_status_t rep;
    wire_call_result_t res;
    rp_row_t rows[PUT_CHUNK];
    size_t n = 0, total = 0, dropped = 0;

    if (wire_decode_report_status(msg->body, msg->len, &rep) < 0) {
        char peer[RX_ADDR_STRLEN];
        atomic_fetch_add_explicit(&rp->bad_bodies, 1, memory_order_relaxed);
        lars_log_rl(LOG_WARNING,
                    "malformed ReportStatusRequest body (%" PRIu32 " bytes) from %s, ignored",
                    msg->len, rx_addr_format(msg->from.addr, peer, sizeof(peer)));
        return;
    }
    /* A report without ts is stamped with the receive time (docs/database.md,
     * ServerCallStatus). */
    uint32_t ts = rep.ts ? rep.ts : (uint32_t)time(NULL);
    rp_writer_t *w = rp->writers[rp_ring_lookup(rp->ring, rep.modid, rep.cmdid)];

    while (wire_report_status_next(&rep, &res)) {
        rows[n] = (rp_row_t){
            .modid = rep.modid,
            .cmdid = rep.cmdid,
            .ip = res.ip,
            .port = res.port,
            .caller = rep.caller,
            .succ = res.succ,
            .err = res.err,
            .ts = ts,
            .overload = res.overload,
        };
        if (++n == PUT_CHUNK) {
            dropped += rp_writer_put(w, rows, n);
            total += n;
            n = 0;
        }
    }
    if (n)
        dropped += rp_writer_put(w, rows, n);
    total += n;
    atomic_fetch_add_explicit(&rp->requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rp->rows_in, total, memory_order_relaxed);
    if (dropped) {
        atomic_fetch_add_explicit(&rp->drops_at_put, dropped, memory_order_relaxed);
        lars_log_rl(LOG_WARNING, "queue full: dropped %zu oldest pending rows (queue_limit)",
                    dropped);
    }
}

static size_t writer_limit(const rp_settings_t *s)
{
    size_t per = (size_t)s->queue_limit / (size_t)s->db_threads;
    return per ? per : 1;
}

static int reporter_new_writers(rp_reporter_t *rp, const rp_settings_t *s)
{
    rp->nwriters = (unsigned)s->db_threads;
    rp->writers = calloc(rp->nwriters, sizeof(*rp->writers));
    if (!rp->writers)
        return -ENOMEM;
    for (unsigned i = 0; i < rp->nwriters; i++) {
        rp_writer_config_t wc = {
            .index = i,
            .db = &s->db,
            .batch_rows = (size_t)s->batch_rows,
            .batch_ms = (uint32_t)s->batch_ms,
            .limit = writer_limit(s),
        };
        int r = rp_writer_new(&wc, &rp->writers[i]);
        if (r < 0)
            return r;
    }
    return rp_ring_new(rp->nwriters, RP_RING_VNODES, &rp->ring);
}

int rp_reporter_new(const rp_settings_t *s, int listen_fd, rx_loop_t *main_loop,
                    rp_reporter_t **ret_rp)
{
    rp_reporter_t *rp = calloc(1, sizeof(*rp));
    int r = -ENOMEM;

    if (!rp) {
        if (listen_fd >= 0)
            close(listen_fd);
        return -ENOMEM;
    }
    rp->main_loop = main_loop;

    r = reporter_new_writers(rp, s);
    if (r < 0)
        goto out_free;
    rp->pool = rx_pool_new((unsigned)s->threads, "rp-net");
    rp->router = rx_router_new();
    if (!rp->pool || !rp->router) {
        r = -ENOMEM;
        goto out_free;
    }
    r = rx_router_add(rp->router, 3 /* ID_ReportStatusRequest */, on_report, rp);
    if (r < 0)
        goto out_free;

    rx_tcp_server_config_t sc = {
        .listen_fd = listen_fd,
        .listen_addr = s->listen,
        .accept_loop = rx_pool_loop(rp->pool, 0),
        .workers = rp->pool,
        .router = rp->router,
        .max_conns = (unsigned)s->max_conns,
    };
    listen_fd = -1;
    rp->server = rx_tcp_server_new(&sc, &r);
    if (!rp->server)
        goto out_free;
    *ret_rp = rp;
    return 0;

out_free:
    if (listen_fd >= 0)
        close(listen_fd);
    rp_reporter_free(rp);
    return r;
}

int rp_reporter_start(rp_reporter_t *rp)
{
    int r;

    for (unsigned i = 0; i < rp->nwriters; i++) {
        r = rp_writer_start(rp->writers[i]);
        if (r < 0)
            return r;
    }
    r = rx_pool_start(rp->pool);
    if (r < 0)
        return r;
    rp->pool_started = true;
    r = rx_tcp_server_start(rp->server);
    if (r < 0)
        return r;
    rp->started = true;
    rp->status_ms = rx_time_ms();
    return 0;
}

void rp_reporter_reload(rp_reporter_t *rp, const rp_settings_t *s)
{
    for (unsigned i = 0; i < rp->nwriters; i++)
        rp_writer_set_batch(rp->writers[i], (size_t)s->batch_rows, (uint32_t)s->batch_ms);
}

rx_pool_t *rp_reporter_pool(rp_reporter_t *rp)
{
    return rp->pool;
}

int rp_reporter_port(rp_reporter_t *rp)
{
    return rx_tcp_server_port(rp->server);
}

bool rp_reporter_writers_alive(rp_reporter_t *rp, uint64_t max_age_ms)
{
    uint64_t now = rx_time_ms();

    for (unsigned i = 0; i < rp->nwriters; i++) {
        rp_writer_stats_t ws;
        rp_writer_stats(rp->writers[i], &ws);
        if (now > ws.heartbeat_ms + max_age_ms) {
            lars_log_rl(LOG_ERR, "writer %u has not iterated for %" PRIu64 " ms", i,
                        now - ws.heartbeat_ms);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ counters -- */

typedef struct totals {
    rp_writer_stats_t w; /* summed; connected counts in `up` */
    unsigned up;
    rx_stats_snapshot_t net;
} totals_t;

static void reporter_totals(rp_reporter_t *rp, totals_t *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned i = 0; i < rp->nwriters; i++) {
        rp_writer_stats_t ws;
        rp_writer_stats(rp->writers[i], &ws);
        t->w.rows_upserted += ws.rows_upserted;
        t->w.statements += ws.statements;
        t->w.db_errors += ws.db_errors;
        t->w.reconnects += ws.reconnects;
        t->w.drops += ws.drops;
        t->w.rows_in += ws.rows_in;
        t->w.coalesced += ws.coalesced;
        t->w.pending += ws.pending;
        t->up += ws.connected;
    }
    rx_stats_read(rx_tcp_server_stats(rp->server), &t->net);
}

void rp_reporter_status(rp_reporter_t *rp, char *buf, size_t size)
{
    totals_t t;
    uint64_t now = rx_time_ms();

    reporter_totals(rp, &t);
    uint64_t dt = now - rp->status_ms;
    uint64_t rate = dt ? (t.w.rows_upserted - rp->status_upserted) * 1000 / dt : 0;
    rp->status_ms = now;
    rp->status_upserted = t.w.rows_upserted;

    snprintf(buf, size,
             "%" PRIu64 " rows/s, %" PRIu64 " pending, %" PRIu64 " dropped, DB %s (%u/%u writers "
             "connected); %u conns, %" PRIu64 " reports, %" PRIu64 " rows upserted in %" PRIu64
             " statements, %" PRIu64 " DB errors, %" PRIu64 " reconnects, %" PRIu64
             " bad frames, %" PRIu64 " bad bodies, %" PRIu64 " unknown msgids, %" PRIu64
             " refused conns",
             rate, t.w.pending, t.w.drops,
             t.up == rp->nwriters ? "up"
             : t.up               ? "partly down"
                                  : "down",
             t.up, rp->nwriters, rx_tcp_server_conn_count(rp->server), atomic_load(&rp->requests),
             t.w.rows_upserted, t.w.statements, t.w.db_errors, t.w.reconnects, t.net.frames_bad,
             atomic_load(&rp->bad_bodies), t.net.frames_unknown, t.net.conns_refused);
}

void rp_reporter_log_counters(rp_reporter_t *rp)
{
    totals_t t;

    for (unsigned i = 0; i < rp->nwriters; i++) {
        rp_writer_stats_t ws;
        rp_writer_stats(rp->writers[i], &ws);
        lars_log(LOG_NOTICE,
                 "writer %u: %s, rows_in=%" PRIu64 " coalesced=%" PRIu64 " upserted=%" PRIu64
                 " statements=%" PRIu64 " db_errors=%" PRIu64 " reconnects=%" PRIu64
                 " drops=%" PRIu64 " pending=%" PRIu64,
                 i, ws.connected ? "connected" : "disconnected", ws.rows_in, ws.coalesced,
                 ws.rows_upserted, ws.statements, ws.db_errors, ws.reconnects, ws.drops,
                 ws.pending);
    }
    reporter_totals(rp, &t);
    lars_log(LOG_NOTICE,
             "network: reports=%" PRIu64 " rows=%" PRIu64 " bad_bodies=%" PRIu64
             " frames_in=%" PRIu64 " frames_bad=%" PRIu64 " frames_unknown=%" PRIu64
             " conns=%u conns_accepted=%" PRIu64 " conns_refused=%" PRIu64 " conns_closed=%" PRIu64,
             atomic_load(&rp->requests), atomic_load(&rp->rows_in), atomic_load(&rp->bad_bodies),
             t.net.frames_in, t.net.frames_bad, t.net.frames_unknown,
             rx_tcp_server_conn_count(rp->server), t.net.conns_accepted, t.net.conns_refused,
             t.net.conns_closed);
}

/* ------------------------------------------------------------ shutdown -- */

static void reporter_log_truncated(rp_reporter_t *rp)
{
    rx_stats_snapshot_t s;

    rx_stats_read(rx_tcp_server_stats(rp->server), &s);
    if (s.frames_truncated)
        lars_log(LOG_WARNING,
                 "stopping: %" PRIu64 " connections ended inside a frame; "
                 "their partial reports were dropped",
                 s.frames_truncated);
}

size_t rp_reporter_stop(rp_reporter_t *rp, uint64_t flush_timeout_ms)
{
    size_t left = 0;

    if (!rp->started)
        return 0;
    /* What reached our sockets is decoded before we close them
     * (docs/operations.md, Stopping). */
    rx_tcp_server_drain(rp->server);
    rx_pool_stop(rp->pool);
    reporter_log_truncated(rp);

    uint64_t deadline = rx_time_ms() + flush_timeout_ms;
    for (unsigned i = 0; i < rp->nwriters; i++)
        rp_writer_stop_begin(rp->writers[i], deadline);
    for (unsigned i = 0; i < rp->nwriters; i++) {
        size_t l = rp_writer_stop(rp->writers[i], deadline);
        if (l)
            lars_log(LOG_ERR, "writer %u: %zu rows could not be written to MariaDB before exit", i,
                     l);
        left += l;
    }
    rp->started = false;
    return left;
}

void rp_reporter_free(rp_reporter_t *rp)
{
    if (!rp)
        return;
    if (rp->started)
        rp_reporter_stop(rp, 0);
    else if (rp->server && rp->pool_started) {
        rx_tcp_server_shutdown(rp->server);
        rx_pool_stop(rp->pool);
    }
    /* Shut down only a server whose loops ran (stop did that already). */
    rx_tcp_server_free(rp->server);
    rx_pool_free(rp->pool);
    rx_router_free(rp->router);
    for (unsigned i = 0; rp->writers && i < rp->nwriters; i++)
        rp_writer_free(rp->writers[i]);
    free(rp->writers);
    rp_ring_free(rp->ring);
    free(rp);
}
