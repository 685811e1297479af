/*
 * Tests of libreactor/siphash.c: SipHash-1-3 against the reference
 * implementation's output, the one-word variant against the generic one,
 * and the process key (random, stable, settable for tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libreactor/siphash.h"

/* SipHash-1-3 of the bytes 0, 1, ..., len - 1 under the all-zero key, from
 * the reference implementation (github.com/veorq/SipHash with cROUNDS 1,
 * dROUNDS 3); CPython 3.11 with PYTHONHASHSEED=0 gives the same for
 * hash(bytes(range(len))), len > 0. */
static const uint64_t zero_key_vectors[] = {
    0xd1fba762150c532cULL, 0x68a914128e01e473ULL, 0x010bac45c41e3669ULL, 0x4d4c9a4a8ef6e0adULL,
    0x7cc43f98813e4dbdULL, 0x5abe2169dff36275ULL, 0xe3c25f87624f1cdbULL, 0x2f098ab0c751325aULL,
    0xead411e67ebe2eeaULL, 0x75927f9d95124362ULL, 0xaf9f77a65ab51a1dULL, 0xfe64ce8b6617fcffULL,
    0xa6baf4fb0f9fe1c2ULL, 0xa0cf3211850f8e0dULL, 0x7f86049379fbfe67ULL, 0xf30eb725bb91c9eaULL,
    0x8972188433a5c5b7ULL, 0x4883c49a2c009c1dULL, 0xadc2c0b63044067dULL, 0x091f4a3329f87d19ULL,
    0x639e355ae68c0100ULL, 0xb17bef2cb5213239ULL, 0xf8aeb1066236ccfeULL, 0x37332b1389daa4ffULL,
    0x31185a47af932f3aULL,
};

static void siphash13_matches_reference_vectors(void **state)
{
    const rx_siphash_key_t zero = {0, 0};
    uint8_t msg[32];

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)i;
    for (size_t len = 0; len < sizeof(zero_key_vectors) / sizeof(zero_key_vectors[0]); len++)
        assert_int_equal(rx_siphash(&zero, msg, len), zero_key_vectors[len]);
}

static void siphash_u64_equals_hash_of_its_little_endian_bytes(void **state)
{
    const rx_siphash_key_t k = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    const uint8_t bytes[8] = {0, 1, 2, 3, 4, 5, 6, 7};

    assert_int_equal(rx_siphash_u64(&(rx_siphash_key_t){0, 0}, 0x0706050403020100ULL),
                     zero_key_vectors[8]);
    assert_int_equal(rx_siphash_u64(&k, 0x0706050403020100ULL), rx_siphash(&k, bytes, 8));
    for (uint64_t w = 1; w < 1000000; w = w * 3 + 1) {
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(w >> (8 * i));
        assert_int_equal(rx_siphash_u64(&k, w), rx_siphash(&k, le, 8));
    }
}

static void siphash_depends_on_both_key_halves(void **state)
{
    const rx_siphash_key_t a = {1, 2}, b = {1, 3}, c = {0, 2};
    const char *msg = "modid/cmdid";

    assert_int_not_equal(rx_siphash(&a, msg, strlen(msg)), rx_siphash(&b, msg, strlen(msg)));
    assert_int_not_equal(rx_siphash(&a, msg, strlen(msg)), rx_siphash(&c, msg, strlen(msg)));
}

static void process_key_is_random_stable_and_settable(void **state)
{
    rx_siphash_key_t k1, k2;
    const rx_siphash_key_t fixed = {0x1234, 0x5678};

    rx_siphash_process_key(&k1);
    rx_siphash_process_key(&k2);
    assert_memory_equal(&k1, &k2, sizeof(k1));
    /* 2^-128 to fail by chance. */
    assert_false(k1.k0 == 0 && k1.k1 == 0);

    rx_siphash_set_process_key(&fixed);
    rx_siphash_process_key(&k2);
    assert_memory_equal(&k2, &fixed, sizeof(fixed));
    rx_siphash_set_process_key(&k1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(siphash13_matches_reference_vectors),
        cmocka_unit_test(siphash_u64_equals_hash_of_its_little_endian_bytes),
        cmocka_unit_test(siphash_depends_on_both_key_halves),
        cmocka_unit_test(process_key_is_random_stable_and_settable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
