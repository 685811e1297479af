/*
 * Fuzz targets of the parsers: every one is a plain function that takes one
 * input and returns 0, so the same code runs under libFuzzer (make fuzz, one
 * binary per target, see entry.c) and in the normal test build
 * (tests/unit/test_fuzz_regressions.c replays seeds and saved crash inputs).
 *
 * A target checks invariants beyond "does not crash" (decoders agree with
 * protobuf-c, frames re-encode identically, ...); a broken invariant calls
 * FUZZ_CHECK, which prints where and aborts, so both builds report it.
 */
#ifndef LARS_FUZZ_FUZZ_H
#define LARS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int fuzz_frame(const uint8_t *data, size_t size);
int fuzz_wire(const uint8_t *data, size_t size);
int fuzz_agent(const uint8_t *data, size_t size);
int fuzz_conf(const uint8_t *data, size_t size);
int fuzz_liblars(const uint8_t *data, size_t size);

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

typedef struct fuzz_target {
    const char *name; /* also the folder name under fuzz/corpus and fuzz/regressions */
    fuzz_fn fn;
} fuzz_target_t;

/* Every target, NULL-terminated. */
extern const fuzz_target_t fuzz_targets[];

/* Seed inputs built in C (valid messages packed by protobuf-c, frames...),
 * written to build/fuzz/corpus/<target>/ by gen_corpus and replayed by the
 * regression test. cb is called once per seed. */
void fuzz_seeds(const char *target, void (*cb)(const uint8_t *data, size_t size, void *arg),
                void *arg);

/* Whether every tag of the body (and of the submessages in the fields sub)
 * is one the protobuf spec allows, every length prefix has at most 5 bytes,
 * and fields 1..known (1..sub_known inside submessages) have their wire
 * type: LEN for sub, VARINT otherwise (see pbscan.c). *ret_nsub (may be
 * NULL) counts the submessages seen. */
bool fuzz_pb_tags_valid(const uint8_t *p, size_t n, uint32_t known, const uint32_t *sub,
                        size_t nsub, uint32_t sub_known, unsigned *ret_nsub);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads input bytes in order; past the end every read gives 0. */
typedef struct fuzz_input {
    const uint8_t *p;
    size_t n;
} fuzz_input_t;

static inline uint8_t fuzz_u8(fuzz_input_t *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint32_t fuzz_u32(fuzz_input_t *in)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fuzz_u8(in) << (8 * i);
    return v;
}

/* Up to n bytes (fewer at the end); *ret_len says how many. */
static inline const uint8_t *fuzz_bytes(fuzz_input_t *in, size_t n, size_t *ret_len)
{
    const uint8_t *p = in->p;

    if (n > in->n)
        n = in->n;
    in->p += n;
    in->n -= n;
    *ret_len = n;
    return p;
}

#endif
