/*
 * SipHash-1-3 and the process key (see siphash.h).
 *
 * Why 1-3 and not 2-4: a hash table needs its hash to be unpredictable to
 * someone who never sees a hash value, not a MAC that resists forgery by
 * someone who sees many. SipHash-1-3 is what Python (3.11+) and Rust's
 * HashMap use for exactly this; it costs about a third less than 2-4 on the
 * short keys we hash (8 to 20 bytes), and the agent hashes one per request.
 */
#include "libreactor/siphash.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define SIPROUND RX_SIPROUND(v0, v1, v2, v3)

#define SIP_INIT(key)                                                                              \
    uint64_t v0 = 0x736f6d6570736575ULL ^ (key)->k0;                                               \
    uint64_t v1 = 0x646f72616e646f6dULL ^ (key)->k1;                                               \
    uint64_t v2 = 0x6c7967656e657261ULL ^ (key)->k0;                                               \
    uint64_t v3 = 0x7465646279746573ULL ^ (key)->k1

#define SIP_COMPRESS(m)                                                                            \
    do {                                                                                           \
        v3 ^= (m);                                                                                 \
        SIPROUND;                                                                                  \
        v0 ^= (m);                                                                                 \
    } while (0)

#define SIP_FINISH()                                                                               \
    do {                                                                                           \
        v2 ^= 0xff;                                                                                \
        SIPROUND;                                                                                  \
        SIPROUND;                                                                                  \
        SIPROUND;                                                                                  \
    } while (0)

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t w;

    memcpy(&w, p, sizeof(w));
    return le64toh(w);
}

uint64_t rx_siphash(const rx_siphash_key_t *key, const void *data, size_t len)
{
    const uint8_t *p = data, *end = p + (len & ~(size_t)7);
    uint64_t last = (uint64_t)len << 56;
    SIP_INIT(key);

    for (; p != end; p += 8)
        SIP_COMPRESS(load_le64(p));
    switch (len & 7) {
    case 7:
        last |= (uint64_t)p[6] << 48;
        /* fallthrough */
    case 6:
        last |= (uint64_t)p[5] << 40;
        /* fallthrough */
    case 5:
        last |= (uint64_t)p[4] << 32;
        /* fallthrough */
    case 4:
        last |= (uint64_t)p[3] << 24;
        /* fallthrough */
    case 3:
        last |= (uint64_t)p[2] << 16;
        /* fallthrough */
    case 2:
        last |= (uint64_t)p[1] << 8;
        /* fallthrough */
    case 1:
        last |= p[0];
    }
    SIP_COMPRESS(last);
    SIP_FINISH();
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------- process key -- */

static rx_siphash_key_t process_key;
static pthread_once_t process_key_once = PTHREAD_ONCE_INIT;

static int read_random(uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == len)
        return 0;

    /* Kernels before 3.17 have no getrandom(). */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (got = 0; got < len;) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got == len ? 0 : -EIO;
}

static void process_key_init(void)
{
    uint8_t b[16];

    if (read_random(b, sizeof(b)) == 0) {
        process_key = (rx_siphash_key_t){load_le64(b), load_le64(b + 8)};
        return;
    }
    /* No randomness at all: still differs per process and per boot, which
     * is better than a constant key. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rx_siphash_key_t k = {(uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts,
                          (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32)};
    process_key = (rx_siphash_key_t){rx_siphash_u64(&k, 1), rx_siphash_u64(&k, 2)};
}

void rx_siphash_process_key(rx_siphash_key_t *ret_key)
{
    pthread_once(&process_key_once, process_key_init);
    *ret_key = process_key;
}

void rx_siphash_set_process_key(const rx_siphash_key_t *key)
{
    pthread_once(&process_key_once, process_key_init);
    process_key = *key;
}
