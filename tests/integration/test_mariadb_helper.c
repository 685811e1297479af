/*
 * Tests for the private MariaDB helper (harness/mariadb.c) and the SQL
 * files it applies: the server starts with the schema and a password login,
 * survives kill + restart with its data, goes away without a trace, and the
 * schema and sample files are idempotent.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemons/common/db.h"
#include "harness/mariadb.h"

static test_mariadb_t db;

static int group_setup(void **state)
{
    (void)state;
    return test_mariadb_start(&db) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_mariadb_stop(&db);
    return 0;
}

static void start_gives_password_login_over_tcp(void **state)
{
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    uint64_t v = 0;

    (void)state;
    assert_true(db.port > 0);
    assert_string_equal(db.settings.host, "127.0.0.1");
    assert_true(strlen(db.password) >= 16);
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_int_equal(
        lars_db_query_u64(conn, "SELECT COUNT(*) FROM RouteVersion WHERE id = 1", &v, &err), 0);
    assert_int_equal(v, 1);
    lars_db_free(conn);
}

static void start_applies_schema(void **state)
{
    uint64_t n = 0;

    (void)state;
    assert_int_equal(test_mariadb_query_u64(&db, &n,
                                            "SELECT COUNT(*) FROM information_schema.tables "
                                            "WHERE table_schema = 'lars' AND table_name IN "
                                            "('RouteData','RouteVersion','RouteChange',"
                                            "'ServerCallStatus') AND engine = 'InnoDB'"),
                     0);
    assert_int_equal(n, 4);
}

static void schema_rejects_duplicate_route(void **state)
{
    (void)state;
    assert_int_equal(test_mariadb_exec(&db, "INSERT INTO RouteData (modid, cmdid, serverip, "
                                            "serverport) VALUES (77, 1, 1, 1)"),
                     0);
    assert_int_not_equal(test_mariadb_exec(&db, "INSERT INTO RouteData (modid, cmdid, serverip, "
                                                "serverport) VALUES (77, 1, 1, 1)"),
                         0);
    assert_int_equal(test_mariadb_exec(&db, "DELETE FROM RouteData WHERE modid = 77"), 0);
}

static void schema_applies_twice_keeping_data(void **state)
{
    char path[512];
    uint64_t n = 0, version = 0;

    (void)state;
    assert_int_equal(test_mariadb_exec(&db, "UPDATE RouteVersion SET version = 1234 WHERE id = 1;"
                                            "INSERT INTO RouteData (modid, cmdid, serverip, "
                                            "serverport) VALUES (50, 1, 2130706433, 80)"),
                     0);
    assert_int_equal(test_source_path("sql/schema.sql", path, sizeof(path)), 0);
    assert_int_equal(test_mariadb_apply_file(&db, path), 0);
    assert_int_equal(test_mariadb_apply_file(&db, path), 0);
    assert_int_equal(
        test_mariadb_query_u64(&db, &n, "SELECT COUNT(*) FROM RouteData WHERE modid = 50"), 0);
    assert_int_equal(n, 1);
    assert_int_equal(
        test_mariadb_query_u64(&db, &version, "SELECT version FROM RouteVersion WHERE id = 1"), 0);
    assert_int_equal(version, 1234);
    assert_int_equal(test_mariadb_exec(&db, "DELETE FROM RouteData WHERE modid = 50"), 0);
}

/* SHOW CREATE TABLE without the AUTO_INCREMENT=N counter, which depends on data. */
static void show_create(const char *table_ref, char *buf, size_t size)
{
    char *p;

    assert_int_equal(mysql_query(db.root, table_ref), 0);
    MYSQL_RES *res = mysql_store_result(db.root);
    assert_non_null(res);
    MYSQL_ROW row = mysql_fetch_row(res);
    assert_non_null(row);
    snprintf(buf, size, "%s", row[1]);
    mysql_free_result(res);
    p = strstr(buf, " AUTO_INCREMENT=");
    if (p) {
        char *end = p + strlen(" AUTO_INCREMENT=");
        while (*end >= '0' && *end <= '9')
            end++;
        memmove(p, end, strlen(end) + 1);
    }
}

static void tables_sql_matches_schema_sql(void **state)
{
    static const char *const tables[] = {"RouteData", "RouteVersion", "RouteChange",
                                         "ServerCallStatus"};
    char path[512], q[128], a[4096], b[4096];
    uint64_t n = 0;

    (void)state;
    /* make derives it from sql/schema.sql (sql/module.mk) */
    snprintf(path, sizeof(path), "%s/sql/tables.sql",
             getenv("LARS_BUILD") ? getenv("LARS_BUILD") : "build");
    assert_int_equal(
        test_mariadb_exec(&db, "CREATE DATABASE other CHARACTER SET utf8mb4; USE other"), 0);
    assert_int_equal(test_mariadb_apply_file(&db, path), 0);
    assert_int_equal(test_mariadb_apply_file(&db, path), 0);
    assert_int_equal(test_mariadb_query_u64(&db, &n, "SELECT COUNT(*) FROM other.RouteVersion"), 0);
    assert_int_equal(n, 1);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(q, sizeof(q), "SHOW CREATE TABLE lars.%s", tables[i]);
        show_create(q, a, sizeof(a));
        snprintf(q, sizeof(q), "SHOW CREATE TABLE other.%s", tables[i]);
        show_create(q, b, sizeof(b));
        assert_string_equal(a, b);
    }
    assert_int_equal(test_mariadb_exec(&db, "DROP DATABASE other; USE lars"), 0);
}

static void sample_routes_apply_twice_add_once(void **state)
{
    char path[512];
    uint64_t routes = 0, changes = 0, v1 = 0, v2 = 0;

    (void)state;
    assert_int_equal(test_source_path("sql/sample-routes.sql", path, sizeof(path)), 0);
    assert_int_equal(test_mariadb_exec(&db, "DELETE FROM RouteData; DELETE FROM RouteChange;"
                                            "UPDATE RouteVersion SET version = 0"),
                     0);
    assert_int_equal(test_mariadb_apply_file(&db, path), 0);
    assert_int_equal(test_mariadb_query_u64(&db, &v1, "SELECT version FROM RouteVersion"), 0);
    assert_int_equal(test_mariadb_apply_file(&db, path), 0);
    assert_int_equal(test_mariadb_query_u64(&db, &v2, "SELECT version FROM RouteVersion"), 0);
    assert_int_equal(test_mariadb_query_u64(&db, &routes,
                                            "SELECT COUNT(*) FROM RouteData WHERE modid = 1 AND "
                                            "cmdid = 1 AND serverip = INET_ATON('127.0.0.1')"),
                     0);
    assert_int_equal(test_mariadb_query_u64(&db, &changes, "SELECT COUNT(*) FROM RouteChange"), 0);
    assert_true(v1 > 0);
    assert_int_equal(v1, v2);
    assert_int_equal(routes, 3);
    assert_int_equal(changes, 4);
    assert_int_equal(test_mariadb_exec(&db, "DELETE FROM RouteData; DELETE FROM RouteChange"), 0);
}

static void query_str_returns_text_and_enoent(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(
        test_mariadb_query_str(&db, buf, sizeof(buf), "SELECT INET_NTOA(%u)", 3232235953u), 0);
    assert_string_equal(buf, "192.168.1.177");
    assert_int_equal(test_mariadb_query_str(&db, buf, sizeof(buf),
                                            "SELECT modid FROM RouteData WHERE modid = 999999"),
                     -ENOENT);
}

static void write_conf_writes_db_group(void **state)
{
    char path[] = "/tmp/lars-test-conf-XXXXXX", text[1024], expect[64];
    FILE *f;
    size_t n;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(test_mariadb_write_conf(&db, path), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    snprintf(expect, sizeof(expect), "port = %d;", db.port);
    assert_non_null(strstr(text, "db = {"));
    assert_non_null(strstr(text, expect));
    assert_non_null(strstr(text, db.password));
}

static void restart_keeps_data_and_port(void **state)
{
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    uint64_t n = 0;
    int port = db.port;

    (void)state;
    assert_int_equal(test_mariadb_exec(&db, "INSERT INTO RouteData (modid, cmdid, serverip, "
                                            "serverport) VALUES (60, 2, 16909060, 8080)"),
                     0);
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_int_equal(test_mariadb_kill(&db), 0);
    assert_int_equal(lars_db_exec(conn, "SELECT 1", &err), -ENOTCONN);
    assert_true(lars_db_is_conn_lost(err.code));
    lars_db_free(conn);
    conn = NULL;
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), -ENOTCONN);

    assert_int_equal(test_mariadb_restart(&db), 0);
    assert_int_equal(db.port, port);
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_int_equal(lars_db_query_u64(conn,
                                       "SELECT COUNT(*) FROM RouteData WHERE modid = 60 "
                                       "AND serverport = 8080",
                                       &n, &err),
                     0);
    assert_int_equal(n, 1);
    lars_db_free(conn);
    assert_int_equal(test_mariadb_exec(&db, "DELETE FROM RouteData WHERE modid = 60"), 0);
}

static void stop_removes_server_and_directory(void **state)
{
    test_mariadb_t other;
    char dir[sizeof(other.dir)];
    struct stat st;
    pid_t pid;

    (void)state;
    assert_int_equal(test_mariadb_start(&other), 0);
    pid = other.pid;
    snprintf(dir, sizeof(dir), "%s", other.dir);
    assert_true(pid > 0);
    assert_int_not_equal(other.port, db.port);
    assert_int_equal(stat(dir, &st), 0);
    test_mariadb_stop(&other);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(stat(dir, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(other.pid, 0);
    test_mariadb_stop(&other); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_gives_password_login_over_tcp),
        cmocka_unit_test(start_applies_schema),
        cmocka_unit_test(schema_rejects_duplicate_route),
        cmocka_unit_test(schema_applies_twice_keeping_data),
        cmocka_unit_test(tables_sql_matches_schema_sql),
        cmocka_unit_test(sample_routes_apply_twice_add_once),
        cmocka_unit_test(query_str_returns_text_and_enoent),
        cmocka_unit_test(write_conf_writes_db_group),
        cmocka_unit_test(restart_keeps_data_and_port),
        cmocka_unit_test(stop_removes_server_and_directory),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
