/*
 * Unit tests of the reporter's upsert builder (daemons/reporter/sql.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemons/reporter/sql.h"

static const char *head =
    "INSERT INTO ServerCallStatus (modid,cmdid,ip,port,caller,succ_cnt,err_cnt,ts,overload) "
    "VALUES ";
static const char *tail =
    " ON DUPLICATE KEY UPDATE succ_cnt=VALUES(succ_cnt), err_cnt=VALUES(err_cnt), "
    "ts=VALUES(ts), overload=VALUES(overload)";

static void sql_one_row_exact_text(void **state)
{
    rp_sql_t sql = {0};
    rp_row_t r = {.modid = 1,
                  .cmdid = 2,
                  .ip = (int32_t)3232235953u,
                  .port = 8080,
                  .caller = 167772161,
                  .succ = 10,
                  .err = 0,
                  .ts = 1700000000,
                  .overload = true};
    char want[512];

    assert_int_equal(rp_sql_build_upsert(&sql, &r, 1), 0);
    snprintf(want, sizeof(want), "%s(1,2,3232235953,8080,167772161,10,0,1700000000,'1')%s", head,
             tail);
    assert_string_equal(sql.buf, want);
    assert_int_equal(sql.len, strlen(want));
    rp_sql_release(&sql);
}

static void sql_negative_ip_is_written_unsigned(void **state)
{
    rp_sql_t sql = {0};
    /* 192.168.1.177 travels as the int32 -1062731343 */
    rp_row_t r = {.modid = 0,
                  .cmdid = 0,
                  .ip = (int32_t)3232235953u,
                  .port = 0,
                  .caller = -1,
                  .succ = 4294967295u,
                  .err = 7,
                  .ts = 0,
                  .overload = false};

    assert_int_equal(rp_sql_build_upsert(&sql, &r, 1), 0);
    assert_non_null(strstr(sql.buf, "(0,0,3232235953,0,4294967295,4294967295,7,0,'0')"));
    assert_null(strchr(sql.buf, '-'));
    rp_sql_release(&sql);
}

static void sql_rows_are_comma_separated_in_order(void **state)
{
    rp_sql_t sql = {0};
    rp_row_t rows[3] = {{.modid = 1}, {.modid = 2, .overload = true}, {.modid = 3}};
    char want[1024];

    assert_int_equal(rp_sql_build_upsert(&sql, rows, 3), 0);
    snprintf(want, sizeof(want),
             "%s(1,0,0,0,0,0,0,0,'0'),(2,0,0,0,0,0,0,0,'1'),(3,0,0,0,0,0,0,0,'0')%s", head, tail);
    assert_string_equal(sql.buf, want);
    rp_sql_release(&sql);
}

static void sql_rejects_empty_batch(void **state)
{
    rp_sql_t sql = {0};

    assert_int_equal(rp_sql_build_upsert(&sql, NULL, 0), -EINVAL);
    rp_sql_release(&sql);
}

static void sql_buffer_is_reused_for_smaller_batches(void **state)
{
    enum { N = 500 };
    rp_sql_t sql = {0};
    rp_row_t *rows = calloc(N, sizeof(*rows));

    for (int i = 0; i < N; i++)
        rows[i] = (rp_row_t){.modid = -1,
                             .cmdid = -1,
                             .ip = -1,
                             .port = -1,
                             .caller = -1,
                             .succ = 4294967295u,
                             .err = 4294967295u,
                             .ts = 4294967295u};
    assert_int_equal(rp_sql_build_upsert(&sql, rows, N), 0);
    assert_true(sql.len < sql.cap);
    char *buf = sql.buf;
    size_t cap = sql.cap;
    assert_int_equal(rp_sql_build_upsert(&sql, rows, 10), 0);
    assert_ptr_equal(sql.buf, buf);
    assert_int_equal(sql.cap, cap);
    assert_int_equal(strlen(sql.buf), sql.len);
    rp_sql_release(&sql);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sql_one_row_exact_text),
        cmocka_unit_test(sql_negative_ip_is_written_unsigned),
        cmocka_unit_test(sql_rows_are_comma_separated_in_order),
        cmocka_unit_test(sql_rejects_empty_batch),
        cmocka_unit_test(sql_buffer_is_reused_for_smaller_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
