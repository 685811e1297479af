/*
 * The agent's choice of shard for a pair (agent_shard_of() in
 * daemons/agent/agent.h), which liblars must make the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemons/agent/agent.h"

static void shard_of_matches_liblars_and_is_defined_for_negative_ids(void **state)
{
    assert_int_equal(agent_shard_of(1, 1), 2);
    assert_int_equal(agent_shard_of(105, 1), 1);
    assert_int_equal(agent_shard_of(0, 0), 0);
    /* (2^32 - 1 + 1) mod 2^32 = 0 */
    assert_int_equal(agent_shard_of(-1, 1), 0);
    assert_true(agent_shard_of(INT32_MIN, -1) < 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shard_of_matches_liblars_and_is_defined_for_negative_ids),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
