/*
 * Tests for daemons/common/limits.c: RLIMIT_NOFILE raised towards
 * max_conns + reserve. Each test lowers this process's soft limit with
 * setrlimit (raising it back needs no privilege); lowering the hard limit
 * cannot be undone, so that test runs in a child.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemons/common/limits.h"

static struct rlimit saved;

static void set_soft(rlim_t soft)
{
    struct rlimit rl = {.rlim_cur = soft, .rlim_max = saved.rlim_max};

    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static rlim_t get_soft(void)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    return rl.rlim_cur;
}

static void limits_nofile_raises_a_low_soft_limit_to_the_hard_limit(void **state)
{
    lars_limits_nofile_t nf;

    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 2048)
        skip();
    set_soft(256);
    assert_int_equal(lars_limits_nofile_ensure(1000, 32, &nf), 0);
    assert_int_equal(nf.need, 1032);
    assert_int_equal(nf.before, 256);
    assert_int_equal(nf.raise_error, 0);
    assert_true(nf.soft >= 1032);
    if (saved.rlim_max != RLIM_INFINITY)
        assert_int_equal(nf.soft, saved.rlim_max);
    assert_int_equal(get_soft(), (rlim_t)nf.soft);
}

static void limits_nofile_leaves_a_sufficient_limit_alone(void **state)
{
    lars_limits_nofile_t nf;

    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 1024)
        skip();
    set_soft(512);
    assert_int_equal(lars_limits_nofile_ensure(400, 100, &nf), 0);
    assert_int_equal(nf.before, 512);
    assert_int_equal(nf.soft, 512);
    assert_int_equal(get_soft(), 512);
}

/* The child's verdict, as an exit status: 0 passed, else the failed step. */
static int too_low_child(void)
{
    struct rlimit rl = {.rlim_cur = 100, .rlim_max = 200};
    lars_limits_nofile_t nf;

    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1;
    if (lars_limits_nofile_ensure(1000, lars_limits_nofile_reserve(4), &nf) != -EMFILE)
        return 2;
    if (nf.before != 100 || nf.soft != 200 || nf.hard != 200)
        return 3;
    if (nf.need != 1000 + lars_limits_nofile_reserve(4))
        return 4;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 200)
        return 5;
    return 0;
}

static void limits_nofile_reports_a_hard_limit_below_max_conns(void **state)
{
    int status;
    pid_t pid;

    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 200)
        skip();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(too_low_child());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void limits_nofile_reserve_grows_with_threads(void **state)
{
    assert_true(lars_limits_nofile_reserve(0) >= 16);
    assert_true(lars_limits_nofile_reserve(8) >= lars_limits_nofile_reserve(0) + 16);
}

static int setup(void **state)
{
    return getrlimit(RLIMIT_NOFILE, &saved);
}

static int restore(void **state)
{
    return setrlimit(RLIMIT_NOFILE, &saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(limits_nofile_raises_a_low_soft_limit_to_the_hard_limit, restore),
        cmocka_unit_test_teardown(limits_nofile_leaves_a_sufficient_limit_alone, restore),
        cmocka_unit_test(limits_nofile_reports_a_hard_limit_below_max_conns),
        cmocka_unit_test(limits_nofile_reserve_grows_with_threads),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
