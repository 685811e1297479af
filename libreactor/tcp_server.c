/*
 * TCP message server: accepts on one loop, hands each connection to a worker
 * loop (round-robin through rx_loop_post), where an rx_stream reads frames,
 * dispatches them through the router and buffers replies.
 *
 * Ownership. A connection belongs to its shard (one per worker loop) and is
 * touched only by that loop's thread. The server outlives everything that may
 * still reach it through a loop: every connection and every posted task holds
 * a reference (srv->refs), and rx_tcp_server_shutdown() waits for them all.
 *
 * Draining relies on the order of each loop's task queue: the accept loop
 * hands over the backlog's connections and only then posts the drain to each
 * shard, so a shard's drain runs after every hand-over to it.
 *
 * Steady state allocates nothing per message: input and output use rx_buf
 * storage (a per-thread pool), cross-thread sends go through a per-shard
 * inbox whose two byte arrays are swapped and reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libreactor/internal.h"
#include "libreactor/map.h"
#include "libreactor/stream.h"
/* How long accepting pauses when the process is out of fds and cannot shed. */
#define ACCEPT_PAUSE_MS 100
/* Bytes of rx_conn_send_ref traffic a shard may hold before refusing. */
#define INBOX_MAX (64u << 20)
/* Most bytes a drain reads from one connection. */
#define DRAIN_READ_MAX ((size_t)64 << 20)

typedef struct conn_shard conn_shard_t;

/* Open connections of one source address (max_conns_per_source). The key
 * is the IPv6 form of the host: an IPv4 peer as its IPv4-mapped address, so
 * that the same host counts once on IPv4 and dual-stack listeners. */
typedef struct conn_source {
    rx_map_node_t node;
    uint8_t key[16];
    unsigned count;
} conn_source_t;

/* Moves only forward, once: RUNNING to DRAINING or CLOSING. */
typedef enum server_state {
    SRV_RUNNING,
    SRV_DRAINING, /* rx_tcp_server_drain: the backlog is still taken */
    SRV_CLOSING,  /* rx_tcp_server_shutdown */
} server_state_t;

struct rx_conn {
    rx_stream_t stream; /* its loop is the shard's */
    rx_tcp_server_t *srv;
    conn_shard_t *shard;
    uint64_t id;
    rx_addr_t peer;
    void *data;
    rx_timer_t *idle_timer;
    rx_timer_t *first_frame_timer; /* until the first frame or its deadline */
    conn_source_t *source;         /* counted in srv->sources, or NULL */
    bool opened;                   /* on_open ran, so on_close will */
};

/* Open addressing (linear probing, backward-shift delete) keyed by id, so
 * that send_ref finds a connection without a lock or a per-connection
 * allocation. */
typedef struct conn_table {
    rx_conn_t **slots;
    size_t cap;
    size_t count;
    unsigned shift;
} conn_table_t;

typedef struct inbox {
    uint8_t *data;
    size_t len;
    size_t cap;
} inbox_t;

/* One frame for rx_conn_send_ref, followed by its body padded to 8 bytes. */
typedef struct inbox_rec {
    uint64_t id;
    int32_t msgid;
    uint32_t len;
} inbox_rec_t;

struct conn_shard {
    rx_tcp_server_t *srv;
    rx_loop_t *loop;
    conn_table_t table; /* loop thread only */
    pthread_mutex_t lock;
    inbox_t pending;   /* guarded by lock */
    bool drain_posted; /* guarded by lock */
    inbox_t draining;  /* loop thread only */
};

struct rx_tcp_server {
    rx_tcp_server_config_t cfg;
    int listen_fd;
    int reserve_fd; /* closed to make room for shedding when out of fds */
    int port;
    bool started;
    bool listening;           /* accept loop only */
    rx_timer_t *resume_timer; /* accept loop only */
    unsigned next_shard;      /* accept loop only */
    conn_shard_t *shards;
    unsigned nshards;
    _Atomic uint64_t next_id;
    atomic_uint nconns;
    atomic_uint refs;
    atomic_int state; /* server_state_t */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    rx_stream_config_t stream_cfg; /* of every connection */
    rx_stats_t stats;
    /* Taken by the accept loop and by the shards when a connection goes:
     * both are rare next to the traffic, so one lock does. */
    pthread_mutex_t sources_lock;
    rx_map_t sources; /* conn_source_t by key; guarded by sources_lock */
};

static const rx_map_type_t source_map_type = {
    .key_len = sizeof(((conn_source_t *)0)->key),
    .key_offset = RX_MAP_KEY_OFFSET(conn_source_t, key, node),
};

static void conn_close(rx_conn_t *conn);

/* Shutdown or drain began: no new work from outside. */
static bool server_stopping(rx_tcp_server_t *srv)
{
    return atomic_load(&srv->state) != SRV_RUNNING;
}

/* New connections are refused (a drain still takes what the backlog holds). */
static bool server_closing(rx_tcp_server_t *srv)
{
    return atomic_load(&srv->state) == SRV_CLOSING;
}

static bool server_set_state(rx_tcp_server_t *srv, server_state_t to)
{
    int from = SRV_RUNNING;

    return atomic_compare_exchange_strong(&srv->state, &from, (int)to);
}

/* ------------------------------------------------------------ refcount -- */

static void server_ref(rx_tcp_server_t *srv)
{
    atomic_fetch_add(&srv->refs, 1);
}

/* The caller must not touch srv afterwards: shutdown may be waiting. */
static void server_unref(rx_tcp_server_t *srv)
{
    if (atomic_fetch_sub(&srv->refs, 1) == 1) {
        pthread_mutex_lock(&srv->lock);
        pthread_cond_broadcast(&srv->cond);
        pthread_mutex_unlock(&srv->lock);
    }
}

/* Posts a task that holds a reference on srv; the task drops it. */
static int server_post(rx_tcp_server_t *srv, rx_loop_t *loop, rx_task_cb cb, void *arg)
{
    int err;

    server_ref(srv);
    err = rx_loop_post(loop, cb, arg);
    if (err < 0)
        server_unref(srv);
    return err;
}

/* --------------------------------------------------------------- table -- */

static size_t table_home(const conn_table_t *t, uint64_t id)
{
    /* Fibonacci hashing: ids of one shard are strided, so use high bits. */
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> t->shift);
}

static int table_grow(conn_table_t *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 64;
    conn_table_t n = {.cap = ncap, .shift = 64 - (unsigned)__builtin_ctzll(ncap)};

    n.slots = calloc(ncap, sizeof(*n.slots));
    if (!n.slots)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        rx_conn_t *c = t->slots[i];
        if (!c)
            continue;
        size_t j = table_home(&n, c->id);
        while (n.slots[j])
            j = (j + 1) & (ncap - 1);
        n.slots[j] = c;
        n.count++;
    }
    free(t->slots);
    *t = n;
    return 0;
}

static int table_insert(conn_table_t *t, rx_conn_t *conn)
{
    size_t i;

    if ((t->count + 1) * 2 > t->cap) {
        int err = table_grow(t);
        if (err < 0)
            return err;
    }
    i = table_home(t, conn->id);
    while (t->slots[i])
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = conn;
    t->count++;
    return 0;
}

static size_t table_index(const conn_table_t *t, uint64_t id)
{
    size_t i;

    if (t->count == 0)
        return SIZE_MAX;
    for (i = table_home(t, id); t->slots[i]; i = (i + 1) & (t->cap - 1))
        if (t->slots[i]->id == id)
            return i;
    return SIZE_MAX;
}

static rx_conn_t *table_find(const conn_table_t *t, uint64_t id)
{
    size_t i = table_index(t, id);

    return i == SIZE_MAX ? NULL : t->slots[i];
}

static void table_remove(conn_table_t *t, uint64_t id)
{
    size_t mask = t->cap - 1, i = table_index(t, id), j;

    if (i == SIZE_MAX)
        return;
    t->slots[i] = NULL;
    t->count--;
    /* Pull back every later entry of the run whose home is not in (i, j]. */
    for (j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        size_t k = table_home(t, t->slots[j]->id);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        t->slots[j] = NULL;
        i = j;
    }
}

/* ------------------------------------------------------------- sources -- */

static void source_key(const rx_addr_t *a, uint8_t key[16])
{
    uint32_t ip4;

    memset(key, 0, 16);
    if (rx_addr_ipv4(a, &ip4) == 0) {
        key[10] = key[11] = 0xff;
        key[12] = (uint8_t)(ip4 >> 24);
        key[13] = (uint8_t)(ip4 >> 16);
        key[14] = (uint8_t)(ip4 >> 8);
        key[15] = (uint8_t)ip4;
    } else if (a->ss.ss_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, 16);
    }
}

/* Accept loop: counts the connection against its source; -EUSERS over the
 * cap, -ENOMEM (the connection is then refused too: a server short of
 * memory for 40 bytes is no place for it). */
static int source_take(rx_tcp_server_t *srv, const rx_addr_t *peer, conn_source_t **ret)
{
    uint8_t key[16];
    conn_source_t *src;
    rx_map_node_t *node;
    int err = 0;

    source_key(peer, key);
    pthread_mutex_lock(&srv->sources_lock);
    node = rx_map_find(&srv->sources, key);
    src = node ? rx_map_entry(node, conn_source_t, node) : NULL;
    if (src && src->count >= srv->cfg.max_conns_per_source) {
        err = -EUSERS;
    } else if (!src) {
        src = calloc(1, sizeof(*src));
        if (src)
            memcpy(src->key, key, sizeof(key));
        if (!src || rx_map_insert(&srv->sources, &src->node, src->key) < 0) {
            free(src);
            err = -ENOMEM;
        }
    }
    if (err == 0)
        src->count++;
    pthread_mutex_unlock(&srv->sources_lock);
    *ret = err == 0 ? src : NULL;
    return err;
}

/* Any loop: the connection is gone. */
static void source_put(rx_tcp_server_t *srv, conn_source_t *src)
{
    if (!src)
        return;
    pthread_mutex_lock(&srv->sources_lock);
    if (--src->count == 0) {
        rx_map_remove(&srv->sources, &src->node);
        free(src);
    }
    pthread_mutex_unlock(&srv->sources_lock);
}

/* ---------------------------------------------------------- connection -- */

/* The stream closed: the connection leaves the shard. */
static void conn_on_stream_close(rx_stream_t *s, void *arg)
{
    rx_conn_t *conn = arg;

    if (conn->opened) {
        table_remove(&conn->shard->table, conn->id);
        rx_stat_inc(&conn->srv->stats.conns_closed);
    }
    rx_timer_free(conn->idle_timer);
    conn->idle_timer = NULL;
    rx_timer_free(conn->first_frame_timer);
    conn->first_frame_timer = NULL;
    /* The source's slot is free once the fd is. */
    source_put(conn->srv, conn->source);
    conn->source = NULL;
}

/* No handler of the closed connection is left on the stack. */
static void conn_on_stream_release(rx_stream_t *s, void *arg)
{
    rx_conn_t *conn = arg;
    rx_tcp_server_t *srv = conn->srv;

    if (conn->opened && srv->cfg.on_close)
        srv->cfg.on_close(conn, srv->cfg.arg);
    free(conn);
    atomic_fetch_sub(&srv->nconns, 1);
    server_unref(srv);
}

/* May free the connection (when no handler of it runs). */
static void conn_close(rx_conn_t *conn)
{
    rx_stream_close(&conn->stream);
}

/* The timer fires idle_timeout after it was armed; reads only note the time
 * (no heap operation per read), and the timer moves itself to the real
 * deadline when it finds the connection was active meanwhile. */
static void conn_on_idle(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    rx_conn_t *conn = arg;
    uint64_t idle = conn->srv->cfg.idle_timeout_ms;
    uint64_t since = rx_loop_now(loop) - conn->stream.last_read_ms;

    if (since < idle) {
        rx_timer_arm(timer, idle - since, 0);
        return;
    }
    rx_stat_inc(&conn->srv->stats.conns_idle_closed);
    conn_close(conn);
}

/* Fires once, first_frame_timeout after the connection was handed over. A
 * client that trickles bytes keeps an idle timer happy but not this one. */
static void conn_on_first_frame(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    rx_conn_t *conn = arg;

    rx_timer_free(timer);
    conn->first_frame_timer = NULL;
    if (conn->stream.frames_in > 0)
        return;
    rx_stat_inc(&conn->srv->stats.conns_first_frame_closed);
    conn_close(conn);
}

/* On the connection's loop: registers it and runs on_open. */
static void conn_attach(rx_conn_t *conn)
{
    rx_tcp_server_t *srv = conn->srv;
    rx_loop_t *loop = conn->stream.loop;

    if (server_closing(srv) || table_insert(&conn->shard->table, conn) < 0)
        goto out_close;
    if (srv->cfg.idle_timeout_ms) {
        conn->idle_timer = rx_timer_add(loop, srv->cfg.idle_timeout_ms, 0, conn_on_idle, conn);
        if (!conn->idle_timer)
            goto out_table_remove;
    }
    if (srv->cfg.first_frame_timeout_ms) {
        conn->first_frame_timer =
            rx_timer_add(loop, srv->cfg.first_frame_timeout_ms, 0, conn_on_first_frame, conn);
        if (!conn->first_frame_timer)
            goto out_table_remove;
    }
    if (rx_stream_watch(&conn->stream) < 0)
        goto out_table_remove;
    conn->opened = true;
    rx_stat_inc(&srv->stats.conns_accepted);
    rx_stream_hold(&conn->stream);
    if (srv->cfg.on_open)
        srv->cfg.on_open(conn, srv->cfg.arg);
    rx_stream_unhold(&conn->stream);
    return;

out_table_remove:
    table_remove(&conn->shard->table, conn->id);
out_close:
    conn_close(conn);
}

static void conn_attach_task(rx_loop_t *loop, void *arg)
{
    rx_conn_t *conn = arg;
    rx_tcp_server_t *srv = conn->srv;

    /* The connection holds its own reference; drop the task's. */
    conn_attach(conn);
    server_unref(srv);
}

/* -------------------------------------------------------------- accept -- */

/* Best effort: a connection without keepalive still works. */
static void server_set_keepalive(const rx_tcp_server_t *srv, int fd)
{
    int one = 1, idle = (int)srv->cfg.keepalive_idle_s;
    int intvl = (int)(srv->cfg.keepalive_interval_s ? srv->cfg.keepalive_interval_s : 10);
    int cnt = (int)(srv->cfg.keepalive_count ? srv->cfg.keepalive_count : 6);

    if (!idle)
        return;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static void server_accept_one(rx_tcp_server_t *srv, int fd, const rx_addr_t *peer)
{
    conn_source_t *source = NULL;
    conn_shard_t *shard;
    rx_conn_t *conn;
    int one = 1;

    if (server_closing(srv) ||
        (srv->cfg.max_conns && atomic_load(&srv->nconns) >= srv->cfg.max_conns))
        goto out_refuse;
    if (srv->cfg.max_conns_per_source && source_take(srv, peer, &source) < 0) {
        rx_stat_inc(&srv->stats.conns_source_refused);
        close(fd);
        return;
    }
    conn = calloc(1, sizeof(*conn));
    if (!conn) {
        source_put(srv, source);
        goto out_refuse;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    server_set_keepalive(srv, fd);
    shard = &srv->shards[srv->next_shard++ % srv->nshards];
    conn->srv = srv;
    conn->shard = shard;
    conn->id = atomic_fetch_add(&srv->next_id, 1) + 1;
    conn->peer = *peer;
    conn->source = source;
    rx_stream_init(&conn->stream, shard->loop, &srv->stream_cfg, conn);
    conn->stream.from = (rx_peer_t){.type = RX_PEER_CONN, .conn = conn, .addr = &conn->peer};
    rx_stream_attach(&conn->stream, fd);
    atomic_fetch_add(&srv->nconns, 1);
    server_ref(srv);
    if (shard->loop == srv->cfg.accept_loop)
        conn_attach(conn);
    else if (server_post(srv, shard->loop, conn_attach_task, conn) < 0)
        conn_close(conn);
    return;

out_refuse:
    rx_stat_inc(&srv->stats.conns_refused);
    close(fd);
}

static void server_on_accept(rx_loop_t *loop, int fd, uint32_t events, void *arg);
static void server_on_resume(rx_loop_t *loop, rx_timer_t *timer, void *arg);

/* Tries server_listen again in a moment; false when out of memory. */
static bool server_resume_later(rx_tcp_server_t *srv)
{
    if (!srv->resume_timer)
        srv->resume_timer = rx_timer_new(srv->cfg.accept_loop, server_on_resume, srv);
    if (!srv->resume_timer)
        return false;
    if (!rx_timer_armed(srv->resume_timer))
        rx_timer_arm(srv->resume_timer, ACCEPT_PAUSE_MS, 0);
    return true;
}

/* A failure to register (out of memory, epoll's watch limit) is retried:
 * start cannot report it, and a server that went deaf silently is worse. */
static void server_listen(rx_tcp_server_t *srv)
{
    if (srv->listening || srv->listen_fd < 0 || server_stopping(srv))
        return;
    if (rx_io_add(srv->cfg.accept_loop, srv->listen_fd, RX_READ, server_on_accept, srv) == 0) {
        srv->listening = true;
        return;
    }
    server_resume_later(srv);
}

static void server_on_resume(rx_loop_t *loop, rx_timer_t *timer, void *arg)
{
    server_listen(arg);
}

/* Stops accepting for a moment: level-triggered epoll would otherwise report
 * the pending connection again at once and spin. */
static void server_pause(rx_tcp_server_t *srv)
{
    if (rx_timer_armed(srv->resume_timer))
        return;
    if (!server_resume_later(srv))
        return; /* keep listening: spinning beats going deaf */
    rx_io_del(srv->cfg.accept_loop, srv->listen_fd);
    srv->listening = false;
}

/* Out of fds: give the spare fd back, accept one connection and close it at
 * once, so the client is told instead of waiting in the backlog. */
static bool server_shed(rx_tcp_server_t *srv)
{
    int fd;

    if (srv->reserve_fd < 0)
        return false;
    close(srv->reserve_fd);
    fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        rx_stat_inc(&srv->stats.conns_refused);
    }
    srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0;
}

static void server_on_accept(rx_loop_t *loop, int fd, uint32_t events, void *arg)
{
    rx_tcp_server_t *srv = arg;

    for (;;) {
        rx_addr_t peer;
        int cfd;

        peer.len = sizeof(peer.ss);
        cfd = accept4(fd, (struct sockaddr *)&peer.ss, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd >= 0) {
            server_accept_one(srv, cfd, &peer);
            continue;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
            continue;
        case EMFILE:
        case ENFILE:
            if (server_shed(srv))
                continue;
            server_pause(srv);
            return;
        case ENOBUFS:
        case ENOMEM:
            server_pause(srv);
            return;
        default: /* EAGAIN, or nothing we could do better than wait */
            return;
        }
    }
}

static void server_start_task(rx_loop_t *loop, void *arg)
{
    rx_tcp_server_t *srv = arg;

    server_listen(srv);
    server_unref(srv);
}

static void server_stop_accepting(rx_tcp_server_t *srv)
{
    rx_loop_t *loop = srv->cfg.accept_loop;

    rx_timer_free(srv->resume_timer);
    srv->resume_timer = NULL;
    if (srv->listening)
        rx_io_del(loop, srv->listen_fd);
    srv->listening = false;
    /* Free the port now: a restarted server may want it at once. */
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    srv->listen_fd = -1;
}

static void server_stop_accept_task(rx_loop_t *loop, void *arg)
{
    rx_tcp_server_t *srv = arg;

    server_stop_accepting(srv);
    server_unref(srv);
}

/* ------------------------------------------------------------ send_ref -- */

static size_t inbox_rec_size(uint32_t len)
{
    return sizeof(inbox_rec_t) + (((size_t)len + 7) & ~(size_t)7);
}

static int inbox_append(inbox_t *ib, uint64_t id, int32_t msgid, const void *body, uint32_t len)
{
    size_t need = ib->len + inbox_rec_size(len);
    inbox_rec_t rec = {.id = id, .msgid = msgid, .len = len};

    if (need > INBOX_MAX)
        return -ENOBUFS;
    if (need > ib->cap) {
        size_t ncap = ib->cap ? ib->cap : 4096;
        uint8_t *p;
        while (ncap < need)
            ncap *= 2;
        p = realloc(ib->data, ncap);
        if (!p)
            return -ENOMEM;
        ib->data = p;
        ib->cap = ncap;
    }
    memcpy(ib->data + ib->len, &rec, sizeof(rec));
    if (len)
        memcpy(ib->data + ib->len + sizeof(rec), body, len);
    ib->len = need;
    return 0;
}

static void shard_drain_task(rx_loop_t *loop, void *arg)
{
    conn_shard_t *shard = arg;
    rx_tcp_server_t *srv = shard->srv;
    inbox_t tmp;

    pthread_mutex_lock(&shard->lock);
    tmp = shard->pending;
    shard->pending = shard->draining;
    shard->draining = tmp;
    shard->drain_posted = false;
    pthread_mutex_unlock(&shard->lock);

    for (size_t off = 0; off < shard->draining.len;) {
        inbox_rec_t rec;
        rx_conn_t *conn;

        memcpy(&rec, shard->draining.data + off, sizeof(rec));
        conn = table_find(&shard->table, rec.id);
        if (conn)
            rx_stream_send(&conn->stream, rec.msgid, shard->draining.data + off + sizeof(rec),
                           rec.len);
        else
            rx_stat_inc(&srv->stats.sends_refused);
        off += inbox_rec_size(rec.len);
    }
    shard->draining.len = 0;
    server_unref(srv);
}

static conn_shard_t *server_shard_of(rx_tcp_server_t *srv, const rx_loop_t *loop)
{
    for (unsigned i = 0; i < srv->nshards; i++)
        if (srv->shards[i].loop == loop)
            return &srv->shards[i];
    return NULL;
}

int rx_conn_send_ref(rx_tcp_server_t *srv, rx_conn_ref_t ref, int32_t msgid, const void *body,
                     uint32_t len)
{
    conn_shard_t *shard = server_shard_of(srv, ref.loop);
    bool post;
    int err;

    if (!shard || len > INT32_MAX)
        return -EINVAL;
    /* The reference before the check: shutdown sets state, then waits for
     * refs to drop to 0, so one of the two sees the other. */
    server_ref(srv);
    if (server_stopping(srv)) {
        err = -ESHUTDOWN;
        goto out_unref;
    }
    pthread_mutex_lock(&shard->lock);
    err = inbox_append(&shard->pending, ref.id, msgid, body, len);
    post = err == 0 && !shard->drain_posted;
    if (post)
        shard->drain_posted = true;
    pthread_mutex_unlock(&shard->lock);
    if (err < 0)
        goto out_unref;
    if (!post)
        goto out_unref_ok;
    /* The posted drain takes over our reference. */
    err = rx_loop_post(shard->loop, shard_drain_task, shard);
    if (err == 0)
        return 0;
    pthread_mutex_lock(&shard->lock);
    shard->drain_posted = false;
    pthread_mutex_unlock(&shard->lock);
out_unref:
    rx_stat_inc(&srv->stats.sends_refused);
out_unref_ok:
    server_unref(srv);
    return err;
}

/* ------------------------------------------------------------ shutdown -- */

static void shard_close_all_task(rx_loop_t *loop, void *arg)
{
    conn_shard_t *shard = arg;
    conn_table_t *t = &shard->table;
    rx_tcp_server_t *srv = shard->srv;

    /* Closing removes from the table, which may shift a later entry into
     * the slot just emptied: look at each slot until it stays empty. */
    while (t->count > 0)
        for (size_t i = 0; i < t->cap; i++)
            while (t->slots[i])
                conn_close(t->slots[i]);
    server_unref(srv);
}

/* Reads what the connection holds and dispatches it, then closes it. A
 * handler may close it meanwhile. */
static void conn_drain(rx_conn_t *conn)
{
    rx_stream_drain(&conn->stream, DRAIN_READ_MAX);
}

static void shard_drain_all_task(rx_loop_t *loop, void *arg)
{
    conn_shard_t *shard = arg;
    conn_table_t *t = &shard->table;
    rx_tcp_server_t *srv = shard->srv;

    /* As in shard_close_all_task; a handler may close other connections. */
    while (t->count > 0)
        for (size_t i = 0; i < t->cap; i++)
            while (t->slots[i])
                conn_drain(t->slots[i]);
    server_unref(srv);
}

static void server_post_shards(rx_tcp_server_t *srv, rx_task_cb cb)
{
    for (unsigned i = 0; i < srv->nshards; i++)
        server_post(srv, srv->shards[i].loop, cb, &srv->shards[i]);
}

/* Takes the backlog until EAGAIN (each connection is handed to its shard as
 * usual), stops listening, then queues the shards' drains behind the
 * hand-overs. */
static void server_drain_accept_task(rx_loop_t *loop, void *arg)
{
    rx_tcp_server_t *srv = arg;

    if (srv->listen_fd >= 0)
        server_on_accept(loop, srv->listen_fd, RX_READ, srv);
    server_stop_accepting(srv);
    server_post_shards(srv, shard_drain_all_task);
    server_unref(srv);
}

static void server_wait_idle(rx_tcp_server_t *srv)
{
    pthread_mutex_lock(&srv->lock);
    while (atomic_load(&srv->refs) > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&srv->cond, &srv->lock, &ts);
    }
    pthread_mutex_unlock(&srv->lock);
}

void rx_tcp_server_shutdown(rx_tcp_server_t *srv)
{
    if (!srv || !server_set_state(srv, SRV_CLOSING))
        return;
    if (srv->started)
        server_post(srv, srv->cfg.accept_loop, server_stop_accept_task, srv);
    server_post_shards(srv, shard_close_all_task);
    server_wait_idle(srv);
}

void rx_tcp_server_drain(rx_tcp_server_t *srv)
{
    if (!srv || !server_set_state(srv, SRV_DRAINING))
        return;
    if (!srv->started || server_post(srv, srv->cfg.accept_loop, server_drain_accept_task, srv) < 0)
        server_post_shards(srv, shard_drain_all_task);
    server_wait_idle(srv);
}

/* --------------------------------------------------------- public API -- */

static int server_open_listener(rx_tcp_server_t *srv, const char *addr)
{
    rx_addr_t sa;
    int fd, one = 1, err;

    err = rx_addr_parse(addr, &sa);
    if (err < 0)
        return err;
    fd = socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, rx_addr_sa(&sa), sa.len) < 0 || listen(fd, SOMAXCONN) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    srv->listen_fd = fd;
    return 0;
}

/* A given fd must listen already: start could not report it later. */
static int server_check_listener(int fd)
{
    int listening = 0;
    socklen_t len = sizeof(listening);

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
        return -errno;
    if (!listening)
        return -EINVAL;
    return rx_fd_set_nonblock(fd);
}

static int server_init_shards(rx_tcp_server_t *srv)
{
    const rx_tcp_server_config_t *cfg = &srv->cfg;

    srv->nshards = cfg->workers ? rx_pool_size(cfg->workers) : 1;
    if (srv->nshards == 0)
        return -EINVAL;
    srv->shards = calloc(srv->nshards, sizeof(*srv->shards));
    if (!srv->shards)
        return -ENOMEM;
    for (unsigned i = 0; i < srv->nshards; i++) {
        conn_shard_t *shard = &srv->shards[i];
        shard->srv = srv;
        shard->loop = cfg->workers ? rx_pool_loop(cfg->workers, i) : cfg->accept_loop;
        pthread_mutex_init(&shard->lock, NULL);
    }
    return 0;
}

rx_tcp_server_t *rx_tcp_server_new(const rx_tcp_server_config_t *cfg, int *ret_err)
{
    rx_tcp_server_t *srv;
    rx_addr_t bound;
    int err;

    if (!cfg->accept_loop || !cfg->router || (cfg->listen_fd < 0 && !cfg->listen_addr) ||
        cfg->max_frame > RX_FRAME_MAX) {
        err = -EINVAL;
        goto out;
    }
    srv = calloc(1, sizeof(*srv));
    if (!srv) {
        err = -ENOMEM;
        goto out;
    }
    srv->cfg = *cfg;
    if (!srv->cfg.max_frame)
        srv->cfg.max_frame = RX_FRAME_MAX_DEFAULT;
    if (!srv->cfg.max_output || srv->cfg.max_output > RX_BUF_MAX)
        srv->cfg.max_output = RX_BUF_MAX;
    srv->stream_cfg = (rx_stream_config_t){
        .router = srv->cfg.router,
        .stats = &srv->stats,
        .max_frame = srv->cfg.max_frame,
        .max_output = srv->cfg.max_output,
        .on_close = conn_on_stream_close,
        .on_release = conn_on_stream_release,
    };
    srv->listen_fd = cfg->listen_fd; /* ours, also on failure */
    srv->reserve_fd = -1;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->sources_lock, NULL);
    rx_map_init(&srv->sources, &source_map_type);
    pthread_cond_init(&srv->cond, NULL);
    err = server_init_shards(srv);
    if (err < 0)
        goto out_free;
    if (cfg->listen_fd >= 0) {
        err = server_check_listener(srv->listen_fd);
    } else {
        err = server_open_listener(srv, cfg->listen_addr);
    }
    if (err < 0)
        goto out_free;
    err = rx_addr_of_socket(srv->listen_fd, &bound);
    if (err < 0)
        goto out_free;
    /* systemd's "ListenStream=7778" gives a dual-stack IPv6 socket. */
    srv->port = rx_addr_port(&bound);
    srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return srv;

out_free:
    rx_tcp_server_free(srv);
    if (ret_err)
        *ret_err = err;
    return NULL;
out:
    if (cfg->listen_fd >= 0)
        close(cfg->listen_fd);
    if (ret_err)
        *ret_err = err;
    return NULL;
}

int rx_tcp_server_start(rx_tcp_server_t *srv)
{
    int err;

    if (srv->started)
        return -EALREADY;
    /* Always through the queue: the caller may run before the loop's thread
     * took the loop, and the fd table is the loop thread's alone. Hence no
     * error from the registration itself (server_listen retries it). */
    err = server_post(srv, srv->cfg.accept_loop, server_start_task, srv);
    if (err == 0)
        srv->started = true;
    return err;
}

void rx_tcp_server_free(rx_tcp_server_t *srv)
{
    if (!srv)
        return;
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->reserve_fd >= 0)
        close(srv->reserve_fd);
    for (unsigned i = 0; srv->shards && i < srv->nshards; i++) {
        conn_shard_t *shard = &srv->shards[i];
        free(shard->table.slots);
        free(shard->pending.data);
        free(shard->draining.data);
        pthread_mutex_destroy(&shard->lock);
    }
    free(srv->shards);
    /* Every connection is gone, and took its source's count with it. */
    rx_map_free(&srv->sources);
    pthread_mutex_destroy(&srv->sources_lock);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}

const rx_stats_t *rx_tcp_server_stats(const rx_tcp_server_t *srv)
{
    return &srv->stats;
}

unsigned rx_tcp_server_conn_count(const rx_tcp_server_t *srv)
{
    return atomic_load(&((rx_tcp_server_t *)srv)->nconns);
}

int rx_tcp_server_port(const rx_tcp_server_t *srv)
{
    return srv->port;
}

rx_loop_t *rx_conn_loop(const rx_conn_t *conn)
{
    return conn->stream.loop;
}

uint64_t rx_conn_id(const rx_conn_t *conn)
{
    return conn->id;
}

const rx_addr_t *rx_conn_peer(const rx_conn_t *conn)
{
    return &conn->peer;
}

void rx_conn_set_data(rx_conn_t *conn, void *data)
{
    conn->data = data;
}

void *rx_conn_data(const rx_conn_t *conn)
{
    return conn->data;
}

int rx_conn_send(rx_conn_t *conn, int32_t msgid, const void *body, uint32_t len)
{
    return rx_stream_send(&conn->stream, msgid, body, len);
}

uint8_t *rx_conn_frame_begin(rx_conn_t *conn, int32_t msgid, uint32_t len, int *ret_err)
{
    return rx_stream_frame_begin(&conn->stream, msgid, len, ret_err);
}

void rx_conn_frame_commit(rx_conn_t *conn)
{
    rx_stream_frame_commit(&conn->stream);
}

void rx_conn_close(rx_conn_t *conn)
{
    conn_close(conn);
}

rx_conn_ref_t rx_conn_ref(const rx_conn_t *conn)
{
    return (rx_conn_ref_t){.loop = conn->stream.loop, .id = conn->id};
}
