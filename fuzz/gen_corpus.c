/*
 * Writes the seed inputs of every target (fuzz_seeds) to DIR/<target>/,
 * one file per seed: the starting corpus of make fuzz.
 *   gen_corpus DIR
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

typedef struct writer {
    const char *dir;
    unsigned n;
    int failed;
} writer_t;

static void write_seed(const uint8_t *data, size_t size, void *arg)
{
    writer_t *w = arg;
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/seed-%02u", w->dir, w->n++);
    f = fopen(path, "we");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path, strerror(errno));
        w->failed = 1;
    }
}

int main(int argc, char **argv)
{
    int failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    for (const fuzz_target_t *t = fuzz_targets; t->name; t++) {
        char dir[4096];
        writer_t w = {.dir = dir};

        snprintf(dir, sizeof(dir), "%s/%s", argv[1], t->name);
        if (mkdir(argv[1], 0755) < 0 && errno != EEXIST)
            return 1;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "gen_corpus: cannot create %s: %s\n", dir, strerror(errno));
            return 1;
        }
        fuzz_seeds(t->name, write_seed, &w);
        failed |= w.failed;
    }
    return failed;
}
