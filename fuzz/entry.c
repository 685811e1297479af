/*
 * The libFuzzer entry point of one target: built once per target with
 * -DFUZZ_TARGET=fuzz_<name> (see fuzz/module.mk).
 */
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return FUZZ_TARGET(data, size);
}
