/*
 * Byte buffers whose storage comes in seven size classes (4 KiB .. 4 MiB,
 * powers of 4, then RX_BUF_MAX for a frame of a 4 MiB body with its header)
 * and is recycled through per-thread free lists, so that a connection's
 * steady traffic allocates nothing and takes no lock. Each list keeps a
 * bounded number of blocks (fewer for the big classes, none of the top one:
 * such frames are rare and a cached 8 MiB block per thread is not worth it),
 * so an idle thread holds at most about 8 MiB; storage released on another
 * thread than the one that took it simply joins that thread's lists. A
 * thread's lists are emptied when it exits (or by rx_buf_pool_trim).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libreactor/internal.h"

#define BUF_CLASSES   7
#define BUF_MIN_SHIFT 12 /* 4 KiB */
#define BUF_CACHE_MAX 16

static const unsigned buf_cache_limit[BUF_CLASSES] = {16, 16, 8, 4, 2, 1, 0};
_Static_assert(RX_BUF_MAX > (size_t)1 << (BUF_MIN_SHIFT + 2 * (BUF_CLASSES - 2)),
               "the top class must be the largest");

typedef struct buf_cache {
    void *blocks[BUF_CLASSES][BUF_CACHE_MAX];
    unsigned count[BUF_CLASSES];
} buf_cache_t;

static _Thread_local buf_cache_t buf_cache;
static _Thread_local bool buf_cache_registered;
static pthread_key_t buf_cache_key;
static pthread_once_t buf_cache_once = PTHREAD_ONCE_INIT;

static size_t class_size(unsigned c)
{
    if (c == BUF_CLASSES - 1)
        return RX_BUF_MAX;
    return (size_t)1 << (BUF_MIN_SHIFT + 2 * c);
}

/* Smallest class holding n bytes (n <= RX_BUF_MAX). */
static unsigned class_for(size_t n)
{
    unsigned c = 0;

    while (class_size(c) < n)
        c++;
    return c;
}

static void buf_cache_exit(void *unused)
{
    rx_buf_pool_trim();
}

static void buf_cache_key_init(void)
{
    pthread_key_create(&buf_cache_key, buf_cache_exit);
}

/* A pthread key destructor empties the lists of a thread that exits. */
static void buf_cache_register(void)
{
    pthread_once(&buf_cache_once, buf_cache_key_init);
    pthread_setspecific(buf_cache_key, &buf_cache);
    buf_cache_registered = true;
}

static uint8_t *block_get(unsigned c)
{
    if (buf_cache.count[c] > 0)
        return buf_cache.blocks[c][--buf_cache.count[c]];
    return malloc(class_size(c));
}

static void block_put(uint8_t *p, size_t cap)
{
    unsigned c = class_for(cap);

    if (buf_cache.count[c] >= buf_cache_limit[c]) {
        free(p);
        return;
    }
    if (!buf_cache_registered)
        buf_cache_register();
    buf_cache.blocks[c][buf_cache.count[c]++] = p;
}

void rx_buf_pool_trim(void)
{
    for (unsigned c = 0; c < BUF_CLASSES; c++) {
        while (buf_cache.count[c] > 0)
            free(buf_cache.blocks[c][--buf_cache.count[c]]);
    }
}

uint8_t *rx_buf_reserve(rx_buf_t *b, size_t n, int *ret_err)
{
    size_t len = rx_buf_len(b);
    uint8_t *data;
    unsigned c;

    if (b->cap - b->tail >= n && b->data)
        return b->data + b->tail;
    if (n > RX_BUF_MAX - len) {
        if (ret_err)
            *ret_err = -ENOBUFS;
        return NULL;
    }
    if (b->data && len + n <= b->cap) {
        memmove(b->data, b->data + b->head, len);
        b->head = 0;
        b->tail = len;
        return b->data + b->tail;
    }
    c = class_for(len + n);
    data = block_get(c);
    if (!data) {
        if (ret_err)
            *ret_err = -ENOMEM;
        return NULL;
    }
    if (len)
        memcpy(data, b->data + b->head, len);
    if (b->data)
        block_put(b->data, b->cap);
    *b = (rx_buf_t){.data = data, .head = 0, .tail = len, .cap = class_size(c)};
    return data + len;
}

int rx_buf_append(rx_buf_t *b, const void *p, size_t n)
{
    int err = 0;
    uint8_t *w = rx_buf_reserve(b, n, &err);

    if (!w)
        return err;
    if (n)
        memcpy(w, p, n);
    b->tail += n;
    return 0;
}

void rx_buf_consume(rx_buf_t *b, size_t n)
{
    if (n >= rx_buf_len(b)) {
        b->head = b->tail = 0;
        return;
    }
    b->head += n;
}

void rx_buf_release(rx_buf_t *b)
{
    if (b->data)
        block_put(b->data, b->cap);
    *b = (rx_buf_t){0};
}

ssize_t rx_buf_read_fd(rx_buf_t *b, int fd, size_t hint)
{
    int err = 0;
    ssize_t n;

    if (!rx_buf_reserve(b, hint ? hint : 1, &err))
        return err;
    do
        n = read(fd, b->data + b->tail, b->cap - b->tail);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    b->tail += (size_t)n;
    return n;
}

ssize_t rx_buf_write_fd(rx_buf_t *b, int fd)
{
    size_t len = rx_buf_len(b);
    ssize_t n;

    if (len == 0)
        return 0;
    /* send() keeps a closed peer from raising SIGPIPE; pipes need write(). */
    do {
        n = send(fd, rx_buf_peek(b), len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, rx_buf_peek(b), len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    rx_buf_consume(b, (size_t)n);
    return n;
}
