/*
 * Replays, through the same functions libFuzzer drives (fuzz/fuzz.h), every
 * target's seeds, its committed corpus (fuzz/corpus/<target>/) and every
 * crash input found so far (fuzz/regressions/<target>/), so make check runs
 * them under gcc, clang and SANITIZE=1 without libFuzzer. A target aborts on
 * a broken invariant, and ASan/UBSan stop on memory errors: the test then
 * fails with the file named on stdout.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fuzz/fuzz.h"

static const fuzz_target_t *find_target(const char *name)
{
    for (const fuzz_target_t *t = fuzz_targets; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

typedef struct replay {
    const fuzz_target_t *t;
    unsigned runs;
} replay_t;

static void replay_seed(const uint8_t *data, size_t size, void *arg)
{
    replay_t *r = arg;
    /* An exact copy, so a read past the end trips ASan as under libFuzzer. */
    uint8_t *copy = malloc(size ? size : 1);

    assert_non_null(copy);
    memcpy(copy, data, size);
    assert_int_equal(r->t->fn(copy, size), 0);
    free(copy);
    r->runs++;
}

static void replay_file(replay_t *r, const char *path)
{
    struct stat st;
    uint8_t *buf;
    FILE *f;

    assert_int_equal(stat(path, &st), 0);
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    assert_non_null(buf);
    f = fopen(path, "re");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    printf("# replay %s (%lld bytes)\n", path, (long long)st.st_size);
    fflush(stdout);
    assert_int_equal(r->t->fn(buf, (size_t)st.st_size), 0);
    free(buf);
    r->runs++;
}

/* Every regular file of dir (absent dir: none). */
static unsigned replay_dir(replay_t *r, const char *kind)
{
    char dir[512], path[1024];
    unsigned before = r->runs;
    struct dirent *e;
    DIR *d;

    snprintf(dir, sizeof(dir), "fuzz/%s/%s", kind, r->t->name);
    d = opendir(dir);
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            replay_file(r, path);
    }
    closedir(d);
    return r->runs - before;
}

static void replay_target(const char *name)
{
    replay_t r = {.t = find_target(name)};

    assert_non_null(r.t);
    fuzz_seeds(name, replay_seed, &r);
    /* Every target has seeds: an empty list would test nothing. */
    assert_true(r.runs > 0);
    replay_dir(&r, "corpus");
    replay_dir(&r, "regressions");
}

static void frame_inputs_keep_invariants(void **state)
{
    replay_target("frame");
}

static void wire_inputs_keep_invariants(void **state)
{
    replay_target("wire");
}

static void agent_inputs_keep_invariants(void **state)
{
    replay_target("agent");
}

static void conf_inputs_keep_invariants(void **state)
{
    replay_target("conf");
}

static void liblars_inputs_keep_invariants(void **state)
{
    replay_target("liblars");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_inputs_keep_invariants),
        cmocka_unit_test(wire_inputs_keep_invariants),
        cmocka_unit_test(agent_inputs_keep_invariants),
        cmocka_unit_test(conf_inputs_keep_invariants),
        cmocka_unit_test(liblars_inputs_keep_invariants),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
