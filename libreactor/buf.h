/*
 * Byte buffers whose storage comes from a per-thread pool of size classes:
 * the input and output queues of every transport.
 */
#ifndef LIBREACTOR_BUF_H
#define LIBREACTOR_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A contiguous byte buffer: data[head, tail) holds the bytes. Storage comes
 * from a per-thread size-class pool (4 KiB .. 4 MiB in powers of 4, then
 * RX_BUF_MAX) and goes back to it when the buffer is released, so a
 * connection's steady traffic allocates nothing. A zeroed rx_buf_t is an
 * empty buffer. */
typedef struct rx_buf {
    uint8_t *data;
    size_t head;
    size_t tail;
    size_t cap;
} rx_buf_t;

/* Big enough for one frame of a 4 MiB body (max_frame at most 4194304,
 * docs/protocol.md, Body limits) with
 * its header, which a 4 MiB buffer is not. */
#define RX_BUF_MAX (8u << 20)

static inline size_t rx_buf_len(const rx_buf_t *b)
{
    return b->tail - b->head;
}
static inline uint8_t *rx_buf_peek(const rx_buf_t *b)
{
    return b->data + b->head;
}
/* Ensures room for n more bytes at the tail (compacting or moving to a larger
 * class); -ENOBUFS past RX_BUF_MAX, -ENOMEM. Returns the write position. */
uint8_t *rx_buf_reserve(rx_buf_t *b, size_t n, int *ret_err);
static inline void rx_buf_commit(rx_buf_t *b, size_t n)
{
    b->tail += n;
}
int rx_buf_append(rx_buf_t *b, const void *p, size_t n);
/* Drops n bytes from the head; an emptied buffer rewinds to offset 0. */
void rx_buf_consume(rx_buf_t *b, size_t n);
/* Returns the storage to the pool and empties the buffer. */
void rx_buf_release(rx_buf_t *b);
/* One read(2) into the tail (at least `hint` bytes of room); returns bytes
 * read, 0 at EOF, -EAGAIN, -errno. */
ssize_t rx_buf_read_fd(rx_buf_t *b, int fd, size_t hint);
/* One write(2) from the head; consumes what was written. */
ssize_t rx_buf_write_fd(rx_buf_t *b, int fd);
/* Drops this thread's cached storage. Storage returns to the cache of the
 * thread that releases it; a thread's cache is also emptied when it exits. */
void rx_buf_pool_trim(void);

#endif
