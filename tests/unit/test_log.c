/*
 * Tests for daemons/common/log.c: stderr format, level filtering, fields,
 * rate limiting. stderr is redirected into a temporary file per test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemons/common/log.h"

static int saved_stderr = -1;
static FILE *capture;

static int capture_start(void **state)
{
    fflush(stderr);
    capture = tmpfile();
    if (!capture)
        return -1;
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(capture), STDERR_FILENO);
    setenv("LARS_LOG_STDERR", "1", 1);
    lars_log_init("test-log", LOG_INFO, LARS_LOG_TARGET_AUTO);
    return 0;
}

static int capture_end(void **state)
{
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    fclose(capture);
    return 0;
}

/* Everything written so far (static buffer). */
static const char *captured(void)
{
    static char buf[65536];
    ssize_t n = pread(fileno(capture), buf, sizeof(buf) - 1, 0);

    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void log_stderr_line_has_level_message_and_fields(void **state)
{
    errno = ENOENT;
    lars_log(LOG_WARNING, "cannot open %s: %m", "x.conf");
    assert_int_equal(errno, ENOENT);
    lars_log_kv(LOG_ERR, LARS_FIELDS("LARS_MODID=1", "LARS_CMDID=2"), "bad frame from %s",
                "10.0.0.1");
    lars_log_pair(LOG_NOTICE, 7, 8, "host %d overloaded", 3);
    assert_string_equal(captured(), "warning: cannot open x.conf: No such file or directory\n"
                                    "error: bad frame from 10.0.0.1  LARS_MODID=1 LARS_CMDID=2\n"
                                    "notice: host 3 overloaded  LARS_MODID=7 LARS_CMDID=8\n");
    assert_int_equal(lars_log_get_target(), LARS_LOG_TARGET_STDERR);
}

static void log_level_filters_and_changes_at_runtime(void **state)
{
    lars_log(LOG_DEBUG, "hidden debug");
    lars_log(LOG_INFO, "shown info");
    lars_log_set_level(LOG_ERR);
    lars_log(LOG_WARNING, "hidden warning");
    lars_log(LOG_ERR, "shown error");
    lars_log_set_level(LOG_DEBUG);
    lars_log(LOG_DEBUG, "shown debug");
    assert_string_equal(captured(), "info: shown info\nerror: shown error\ndebug: shown debug\n");
}

static void log_level_names_parse(void **state)
{
    assert_int_equal(lars_log_level_parse("debug"), LOG_DEBUG);
    assert_int_equal(lars_log_level_parse("info"), LOG_INFO);
    assert_int_equal(lars_log_level_parse("notice"), LOG_NOTICE);
    assert_int_equal(lars_log_level_parse("warning"), LOG_WARNING);
    assert_int_equal(lars_log_level_parse("error"), LOG_ERR);
    assert_int_equal(lars_log_level_parse("WARN"), LOG_WARNING);
    assert_int_equal(lars_log_level_parse("loud"), -EINVAL);
    assert_string_equal(lars_log_level_name(LOG_WARNING), "warning");
}

static void log_long_message_is_truncated_to_one_line(void **state)
{
    char big[10000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    lars_log_kv(LOG_INFO, LARS_FIELDS("LARS_HOST=1.2.3.4:5"), "%s", big);
    lars_log(LOG_INFO, "after");
    assert_int_equal(count_lines(captured(), "\n"), 2);
    assert_non_null(strstr(captured(), "\ninfo: after\n"));
}

static void emit_rl(int i)
{
    lars_log_ratelimit(LOG_WARNING, 300, 5, NULL, "bad datagram %d", i);
}

static void log_ratelimit_caps_burst_and_reports_suppressed(void **state)
{
    for (int i = 0; i < 50; i++)
        emit_rl(i);
    assert_int_equal(count_lines(captured(), "warning: bad datagram"), 5);
    assert_non_null(strstr(captured(), "bad datagram 4\n"));
    assert_null(strstr(captured(), "bad datagram 5\n"));
    assert_null(strstr(captured(), "suppressed"));

    usleep(400 * 1000);
    emit_rl(99);
    assert_non_null(strstr(captured(), "warning: suppressed 45 messages like the next one\n"
                                       "warning: bad datagram 99\n"));
    assert_int_equal(count_lines(captured(), "suppressed"), 1);
}

static void log_ratelimit_sites_are_independent(void **state)
{
    for (int i = 0; i < 20; i++) {
        lars_log_ratelimit(LOG_ERR, 60000, 2, NULL, "site A %d", i);
        lars_log_ratelimit(LOG_ERR, 60000, 3, NULL, "site B %d", i);
    }
    assert_int_equal(count_lines(captured(), "site A"), 2);
    assert_int_equal(count_lines(captured(), "site B"), 3);
}

static void log_ratelimit_check_counts(void **state)
{
    lars_ratelimit_t rl = LARS_RATELIMIT_INIT;
    unsigned supp;

    assert_true(lars_ratelimit_check(&rl, 60000, 1, &supp));
    assert_int_equal(supp, 0);
    assert_false(lars_ratelimit_check(&rl, 60000, 1, &supp));
    assert_false(lars_ratelimit_check(&rl, 60000, 1, &supp));
    rl.begin_ms -= 60000; /* the interval has passed */
    assert_true(lars_ratelimit_check(&rl, 60000, 1, &supp));
    assert_int_equal(supp, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(log_stderr_line_has_level_message_and_fields, capture_start,
                                        capture_end),
        cmocka_unit_test_setup_teardown(log_level_filters_and_changes_at_runtime, capture_start,
                                        capture_end),
        cmocka_unit_test(log_level_names_parse),
        cmocka_unit_test_setup_teardown(log_long_message_is_truncated_to_one_line, capture_start,
                                        capture_end),
        cmocka_unit_test_setup_teardown(log_ratelimit_caps_burst_and_reports_suppressed,
                                        capture_start, capture_end),
        cmocka_unit_test_setup_teardown(log_ratelimit_sites_are_independent, capture_start,
                                        capture_end),
        cmocka_unit_test(log_ratelimit_check_counts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
