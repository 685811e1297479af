/*
 * Tests for daemons/common/db.c: password resolution (password_file and the
 * systemd credential beat the inline password), the db config keys, and
 * connections to a private MariaDB: password login, socket login, lost
 * connections reported as -ENOTCONN, a hung server bounded by the timeouts.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <errmsg.h>

#include "daemons/common/conf.h"
#include "daemons/common/db.h"
#include "harness/mariadb.h"

static test_mariadb_t db;
static char tmpdir[64];

typedef struct daemon_settings {
    int64_t other;
    lars_db_settings_t db;
} daemon_settings_t;

static const lars_conf_key_t keys[] = {
    LARS_CONF_INT_KEY("other", daemon_settings_t, other, 5, 0, 10, "unrelated key"),
    LARS_DB_CONF_KEYS(daemon_settings_t, db),
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];

    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/lars-test-db-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    unsetenv("CREDENTIALS_DIRECTORY");
    return test_mariadb_start(&db) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    test_mariadb_stop(&db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int unset_credentials(void **state)
{
    (void)state;
    unsetenv("CREDENTIALS_DIRECTORY");
    return 0;
}

static char *resolve(const char *password, const char *password_file)
{
    lars_db_settings_t s = {.password = (char *)password, .password_file = (char *)password_file};
    lars_db_error_t err = {0};
    char *out = NULL;

    assert_int_equal(lars_db_resolve_password(&s, &out, &err), 0);
    assert_non_null(out);
    return out;
}

static void password_inline_used_without_file(void **state)
{
    char *p = resolve("inline", "");

    (void)state;
    assert_string_equal(p, "inline");
    free(p);
}

static void password_file_beats_password_and_loses_newline(void **state)
{
    char *p;

    (void)state;
    write_file(tmp_path("pw"), "from-file\n");
    p = resolve("inline", tmp_path("pw"));
    assert_string_equal(p, "from-file");
    free(p);
    write_file(tmp_path("pw-crlf"), "crlf\r\n");
    p = resolve("inline", tmp_path("pw-crlf"));
    assert_string_equal(p, "crlf");
    free(p);
    write_file(tmp_path("pw-two"), "keep\n\n");
    p = resolve("", tmp_path("pw-two"));
    assert_string_equal(p, "keep\n"); /* only one trailing newline is stripped */
    free(p);
}

static void credential_beats_password(void **state)
{
    char *p;

    (void)state;
    mkdir(tmp_path("creds"), 0700);
    write_file(tmp_path("creds/db-password"), "from-credential\n");
    setenv("CREDENTIALS_DIRECTORY", tmp_path("creds"), 1);
    p = resolve("inline", "");
    assert_string_equal(p, "from-credential");
    free(p);
}

static void empty_credential_does_not_hide_config_password(void **state)
{
    char *p;

    (void)state;
    mkdir(tmp_path("creds3"), 0700);
    write_file(tmp_path("creds3/db-password"), "\n");
    setenv("CREDENTIALS_DIRECTORY", tmp_path("creds3"), 1);
    p = resolve("inline", "");
    assert_string_equal(p, "inline");
    free(p);
    p = resolve("", "");
    assert_string_equal(p, "");
    free(p);
}

static void password_file_beats_credential(void **state)
{
    char *p;

    (void)state;
    mkdir(tmp_path("creds2"), 0700);
    write_file(tmp_path("creds2/db-password"), "from-credential");
    write_file(tmp_path("pw2"), "from-file");
    setenv("CREDENTIALS_DIRECTORY", tmp_path("creds2"), 1);
    p = resolve("inline", tmp_path("pw2"));
    assert_string_equal(p, "from-file");
    free(p);
}

static void credentials_dir_without_credential_falls_back(void **state)
{
    char *p;

    (void)state;
    mkdir(tmp_path("empty-creds"), 0700);
    setenv("CREDENTIALS_DIRECTORY", tmp_path("empty-creds"), 1);
    p = resolve("inline", "");
    assert_string_equal(p, "inline");
    free(p);
}

static void missing_password_file_is_error_naming_it(void **state)
{
    lars_db_settings_t s = {.password = "inline", .password_file = tmp_path("no-such-file")};
    lars_db_error_t err = {0};
    char *out = NULL;

    (void)state;
    assert_int_equal(lars_db_resolve_password(&s, &out, &err), -ENOENT);
    assert_null(out);
    assert_non_null(strstr(err.msg, "no-such-file"));
    assert_int_equal(err.code, 0);
}

static void conf_keys_default_to_spec_values(void **state)
{
    daemon_settings_t s;

    (void)state;
    assert_int_equal(lars_conf_defaults(keys, LARS_CONF_NKEYS(keys), &s), 0);
    assert_string_equal(s.db.host, "127.0.0.1");
    assert_int_equal(s.db.port, 3306);
    assert_string_equal(s.db.socket, "");
    assert_string_equal(s.db.user, "lars");
    assert_string_equal(s.db.password, "");
    assert_string_equal(s.db.password_file, "");
    assert_string_equal(s.db.name, "lars");
    assert_int_equal(s.other, 5);
    lars_conf_free(keys, LARS_CONF_NKEYS(keys), &s);
}

static void conf_keys_load_db_group_and_connect(void **state)
{
    daemon_settings_t s = {0};
    lars_conf_error_t cerr;
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    uint64_t v = 0;

    (void)state;
    assert_int_equal(test_mariadb_write_conf(&db, tmp_path("daemon.conf")), 0);
    assert_int_equal(lars_conf_load(tmp_path("daemon.conf"), true, keys, LARS_CONF_NKEYS(keys), &s,
                                    NULL, NULL, &cerr),
                     0);
    assert_int_equal(s.db.port, db.port);
    assert_string_equal(s.db.password, db.password);
    assert_int_equal(lars_db_connect(&s.db, &conn, &err), 0);
    assert_int_equal(lars_db_query_u64(conn, "SELECT 42", &v, &err), 0);
    assert_int_equal(v, 42);
    lars_db_free(conn);
    lars_conf_free(keys, LARS_CONF_NKEYS(keys), &s);
}

static void conf_rejects_port_out_of_range(void **state)
{
    daemon_settings_t s = {0};
    lars_conf_error_t cerr;

    (void)state;
    write_file(tmp_path("bad.conf"), "db = {\n  port = 70000;\n};\n");
    assert_int_equal(lars_conf_load(tmp_path("bad.conf"), true, keys, LARS_CONF_NKEYS(keys), &s,
                                    NULL, NULL, &cerr),
                     -EINVAL);
    assert_int_equal(cerr.line, 2);
    assert_string_equal(cerr.key, "db.port");
}

static void conn_lost_classification(void **state)
{
    (void)state;
    assert_true(lars_db_is_conn_lost(CR_SERVER_GONE_ERROR));
    assert_true(lars_db_is_conn_lost(CR_SERVER_LOST));
    assert_true(lars_db_is_conn_lost(CR_CONNECTION_ERROR));
    assert_true(lars_db_is_conn_lost(CR_CONN_HOST_ERROR));
    assert_false(lars_db_is_conn_lost(1062)); /* duplicate key */
    assert_false(lars_db_is_conn_lost(1045)); /* access denied */
    assert_false(lars_db_is_conn_lost(0));
}

static void connect_with_password_over_tcp(void **state)
{
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    char charset[64];

    (void)state;
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_string_equal(mysql_character_set_name(conn), "utf8mb4");
    snprintf(charset, sizeof(charset), "%s", mysql_get_host_info(conn));
    assert_non_null(strstr(charset, "TCP"));
    lars_db_free(conn);
}

static void connect_through_socket(void **state)
{
    lars_db_settings_t s = db.settings;
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    uint64_t v = 0;

    (void)state;
    s.socket = db.socket;
    s.port = 1; /* ignored with a socket */
    assert_int_equal(lars_db_connect(&s, &conn, &err), 0);
    assert_non_null(strstr(mysql_get_host_info(conn), "socket"));
    assert_int_equal(lars_db_query_u64(conn, "SELECT COUNT(*) FROM RouteVersion", &v, &err), 0);
    assert_int_equal(v, 1);
    lars_db_free(conn);
}

static void connect_with_wrong_password_is_eacces(void **state)
{
    lars_db_settings_t s = db.settings;
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;

    (void)state;
    s.password = "wrong";
    assert_int_equal(lars_db_connect(&s, &conn, &err), -EACCES);
    assert_null(conn);
    assert_non_null(strstr(err.msg, "Access denied"));
    assert_false(lars_db_is_conn_lost(err.code));
}

static void connect_password_file_wins_over_wrong_inline(void **state)
{
    lars_db_settings_t s = db.settings;
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    char text[64];

    (void)state;
    snprintf(text, sizeof(text), "%s\n", db.password);
    write_file(tmp_path("right-pw"), text);
    s.password = "wrong";
    s.password_file = tmp_path("right-pw");
    assert_int_equal(lars_db_connect(&s, &conn, &err), 0);
    lars_db_free(conn);
}

static void connect_to_closed_port_is_conn_lost(void **state)
{
    lars_db_settings_t s = db.settings;
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;

    (void)state;
    s.port = 1;
    assert_int_equal(lars_db_connect(&s, &conn, &err), -ENOTCONN);
    assert_true(lars_db_is_conn_lost(err.code));
    assert_non_null(strstr(err.msg, "127.0.0.1:1/lars"));
}

/* One statement of what failed and why, the way an operator reads it. */
static void connect_error_names_the_server_once(void **state)
{
    lars_db_settings_t s = db.settings;
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    const char *prefix = "cannot connect to MariaDB at 127.0.0.1:1/lars: ", *first;
    char code[16];

    (void)state;
    s.port = 1;
    assert_int_equal(lars_db_connect(&s, &conn, &err), -ENOTCONN);
    first = strstr(err.msg, prefix);
    assert_ptr_equal(first, err.msg);
    assert_null(strstr(first + strlen(prefix), "cannot connect"));
    assert_null(strstr(first + strlen(prefix), "127.0.0.1:1/lars"));
    /* the MariaDB code is in err.code; the text keeps the OS error only */
    snprintf(code, sizeof(code), "(%u)", err.code);
    assert_null(strstr(err.msg, code));
}

static void exec_counts_rows_and_transactions_roll_back(void **state)
{
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    uint64_t n = 99;

    (void)state;
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_int_equal(lars_db_exec(conn,
                                  "INSERT INTO RouteData (modid, cmdid, serverip, serverport) "
                                  "VALUES (90, 1, 1, 1), (90, 1, 1, 2)",
                                  &err),
                     2);
    assert_int_equal(lars_db_begin(conn, &err), 0);
    assert_int_equal(lars_db_exec(conn, "DELETE FROM RouteData WHERE modid = 90", &err), 2);
    lars_db_rollback(conn);
    assert_int_equal(
        lars_db_query_u64(conn, "SELECT COUNT(*) FROM RouteData WHERE modid = 90", &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(lars_db_begin(conn, &err), 0);
    assert_int_equal(lars_db_exec(conn, "DELETE FROM RouteData WHERE modid = 90", &err), 2);
    assert_int_equal(lars_db_commit(conn, &err), 0);
    assert_int_equal(
        lars_db_query_u64(conn, "SELECT COUNT(*) FROM RouteData WHERE modid = 90", &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        lars_db_query_u64(conn, "SELECT modid FROM RouteData WHERE modid = 90", &n, &err), -ENOENT);
    assert_int_equal(lars_db_exec(conn, "SELEC nonsense", &err), -EIO);
    assert_int_equal(err.code, 1064);
    lars_db_free(conn);
}

static void exec_script_names_failing_statement(void **state)
{
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    uint64_t n = 0;

    (void)state;
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_int_equal(lars_db_exec_script(conn, "SELECT 1; DO 2;\n-- comment\nSELECT 3;", &err), 0);
    assert_int_equal(lars_db_exec_script(conn, "DO 1; DO 2; SELECT * FROM NoSuchTable; DO 4", &err),
                     -EIO);
    assert_non_null(strstr(err.msg, "statement 3"));
    /* The handle stays usable, and single statements again reject ';' lists. */
    assert_int_equal(lars_db_query_u64(conn, "SELECT 7", &n, &err), 0);
    assert_int_equal(n, 7);
    assert_int_equal(lars_db_exec(conn, "DO 1; DO 2", &err), -EIO);
    lars_db_free(conn);
}

static void hung_server_bounded_by_read_timeout(void **state)
{
    lars_db_settings_t s = db.settings;
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    int r;

    (void)state;
    s.rw_timeout_s = 1;
    assert_int_equal(lars_db_connect(&s, &conn, &err), 0);
    assert_int_equal(test_mariadb_pause(&db), 0);
    r = (int)lars_db_exec(conn, "SELECT 1", &err);
    assert_int_equal(test_mariadb_resume(&db), 0);
    assert_int_equal(r, -ENOTCONN);
    assert_true(lars_db_is_conn_lost(err.code));
    lars_db_free(conn);
}

static void lost_connection_is_enotconn_and_reconnect_works(void **state)
{
    lars_db_error_t err = {0};
    MYSQL *conn = NULL;
    uint64_t v = 0;

    (void)state;
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_int_equal(test_mariadb_kill(&db), 0);
    assert_int_equal(lars_db_query_u64(conn, "SELECT 1", &v, &err), -ENOTCONN);
    lars_db_free(conn);
    conn = NULL;
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), -ENOTCONN);
    assert_int_equal(test_mariadb_restart(&db), 0);
    assert_int_equal(lars_db_connect(&db.settings, &conn, &err), 0);
    assert_int_equal(lars_db_query_u64(conn, "SELECT 5", &v, &err), 0);
    assert_int_equal(v, 5);
    lars_db_free(conn);
}

static void describe_names_socket_or_address(void **state)
{
    lars_db_settings_t s = {.host = "db.example", .port = 3307, .socket = "", .name = "lars"};
    char buf[128];

    (void)state;
    assert_string_equal(lars_db_describe(&s, buf, sizeof(buf)), "db.example:3307/lars");
    s.socket = "/run/mysqld/mysqld.sock";
    assert_string_equal(lars_db_describe(&s, buf, sizeof(buf)), "/run/mysqld/mysqld.sock/lars");
}

#define T(f) cmocka_unit_test_teardown(f, unset_credentials)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(password_inline_used_without_file),
        T(password_file_beats_password_and_loses_newline),
        T(credential_beats_password),
        T(empty_credential_does_not_hide_config_password),
        T(password_file_beats_credential),
        T(credentials_dir_without_credential_falls_back),
        T(missing_password_file_is_error_naming_it),
        T(conf_keys_default_to_spec_values),
        T(conf_keys_load_db_group_and_connect),
        T(conf_rejects_port_out_of_range),
        T(conn_lost_classification),
        T(connect_with_password_over_tcp),
        T(connect_through_socket),
        T(connect_with_wrong_password_is_eacces),
        T(connect_password_file_wins_over_wrong_inline),
        T(connect_to_closed_port_is_conn_lost),
        T(connect_error_names_the_server_once),
        T(exec_counts_rows_and_transactions_roll_back),
        T(exec_script_names_failing_statement),
        T(hung_server_bounded_by_read_timeout),
        T(lost_connection_is_enotconn_and_reconnect_works),
        T(describe_names_socket_or_address),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
