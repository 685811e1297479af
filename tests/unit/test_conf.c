/*
 * Tests for daemons/common/conf.c: key tables read from libconfig files.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemons/common/conf.h"

typedef struct settings {
    char *log_level;
    int64_t threads;
    int64_t big;
    bool verbose;
    double err_rate;
    char *db_host;
    int64_t db_port;
    char *db_password;
    lars_strv_t dns_servers;
    int64_t probe_num;
    double succ_rate;
} settings_t;

static const lars_conf_key_t keys[] = {
    LARS_CONF_LOG_LEVEL_KEY(settings_t, log_level),
    LARS_CONF_INT_KEY("threads", settings_t, threads, 4, 1, 256, "worker loops"),
    LARS_CONF_INT_KEY("big", settings_t, big, 0, 0, 0, "no range"),
    LARS_CONF_BOOL_KEY("verbose", settings_t, verbose, false, "chatty"),
    LARS_CONF_FLOAT_KEY("err_rate", settings_t, err_rate, 0.1, 0.0, 1.0, "ratio"),
    LARS_CONF_STRING_KEY("db.host", settings_t, db_host, "127.0.0.1", "MariaDB host"),
    LARS_CONF_INT_KEY("db.port", settings_t, db_port, 3306, 1, 65535, "MariaDB port"),
    LARS_CONF_SECRET_KEY("db.password", settings_t, db_password, "", "MariaDB password"),
    LARS_CONF_STRV_KEY("dns.servers", settings_t, dns_servers, "127.0.0.1:7778,127.0.0.2:7778",
                       "lars-dns addresses"),
    LARS_CONF_INT_KEY("loadbalance.probe_num", settings_t, probe_num, 10, 0, 1000000, "probe"),
    LARS_CONF_FLOAT_KEY("loadbalance.succ_rate", settings_t, succ_rate, 0.95, 0, 0, "ratio"),
};
#define NKEYS LARS_CONF_NKEYS(keys)

static char tmpdir[] = "/tmp/lars-test-conf-XXXXXX";

typedef struct warnings {
    int n;
    int line[8];
    char key[8][128];
} warnings_t;

static void record_warning(const char *file, int line, const char *key, void *arg)
{
    warnings_t *w = arg;

    assert_non_null(strstr(file, tmpdir));
    if (w->n < 8) {
        w->line[w->n] = line;
        snprintf(w->key[w->n], sizeof(w->key[0]), "%s", key);
    }
    w->n++;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int load(const char *text, settings_t *s, warnings_t *w, lars_conf_error_t *err)
{
    const char *path = write_file("t.conf", text);

    memset(s, 0xa5, sizeof(*s));
    memset(err, 0, sizeof(*err));
    return lars_conf_load(path, true, keys, NKEYS, s, record_warning, w, err);
}

static void conf_missing_file_gives_defaults(void **state)
{
    settings_t s;
    lars_conf_error_t err = {0};
    warnings_t w = {0};

    assert_int_equal(
        lars_conf_load("/nonexistent/lars.conf", false, keys, NKEYS, &s, record_warning, &w, &err),
        0);
    assert_string_equal(s.log_level, "info");
    assert_int_equal(s.threads, 4);
    assert_false(s.verbose);
    assert_true(s.err_rate == 0.1);
    assert_string_equal(s.db_host, "127.0.0.1");
    assert_int_equal(s.db_port, 3306);
    assert_int_equal(s.dns_servers.n, 2);
    assert_string_equal(s.dns_servers.v[0], "127.0.0.1:7778");
    assert_string_equal(s.dns_servers.v[1], "127.0.0.2:7778");
    assert_int_equal(s.probe_num, 10);
    assert_true(s.succ_rate == 0.95);
    assert_int_equal(w.n, 0);
    lars_conf_free(keys, NKEYS, &s);
    assert_null(s.db_host);
    lars_conf_free(keys, NKEYS, &s);
}

static void conf_missing_file_fails_when_it_must_exist(void **state)
{
    settings_t s;
    lars_conf_error_t err = {0};
    char buf[1024];

    assert_int_equal(
        lars_conf_load("/nonexistent/lars.conf", true, keys, NKEYS, &s, NULL, NULL, &err), -ENOENT);
    assert_string_equal(err.file, "/nonexistent/lars.conf");
    assert_int_equal(err.line, 0);
    assert_null(s.db_host);
    lars_conf_error_format(&err, buf, sizeof(buf));
    assert_non_null(strstr(buf, "/nonexistent/lars.conf: "));
}

static void conf_reads_every_type_and_nested_groups(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};

    assert_int_equal(load("log_level = \"debug\";\n"
                          "threads = 8;\n"
                          "big = 10000000000L;\n"
                          "verbose = true;\n"
                          "err_rate = 0.25;\n"
                          "db = { host = \"db.example\"; port = 3307; };\n"
                          "dns = { servers = [\"10.0.0.1:7778\", \"10.0.0.2:7778\", \"x:1\"]; };\n"
                          "loadbalance = { probe_num = 3; succ_rate = 1; };\n",
                          &s, &w, &err),
                     0);
    assert_string_equal(s.log_level, "debug");
    assert_int_equal(s.threads, 8);
    assert_true(s.big == 10000000000LL);
    assert_true(s.verbose);
    assert_true(s.err_rate == 0.25);
    assert_string_equal(s.db_host, "db.example");
    assert_int_equal(s.db_port, 3307);
    assert_int_equal(s.dns_servers.n, 3);
    assert_string_equal(s.dns_servers.v[2], "x:1");
    assert_int_equal(s.probe_num, 3);
    assert_true(s.succ_rate == 1.0);
    assert_int_equal(w.n, 0);
    lars_conf_free(keys, NKEYS, &s);
}

static void conf_string_list_accepts_list_syntax_and_empty(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};

    assert_int_equal(load("dns = { servers = ( \"a:1\", \"b:2\" ); };\n", &s, &w, &err), 0);
    assert_int_equal(s.dns_servers.n, 2);
    assert_string_equal(s.dns_servers.v[1], "b:2");
    lars_conf_free(keys, NKEYS, &s);

    assert_int_equal(load("dns = { servers = []; };\n", &s, &w, &err), 0);
    assert_int_equal(s.dns_servers.n, 0);
    lars_conf_free(keys, NKEYS, &s);

    assert_int_equal(load("dns = { servers = \"only:1\"; };\n", &s, &w, &err), 0);
    assert_int_equal(s.dns_servers.n, 1);
    assert_string_equal(s.dns_servers.v[0], "only:1");
    lars_conf_free(keys, NKEYS, &s);
}

static void conf_syntax_error_reports_file_and_line(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};
    char buf[1024];

    assert_int_equal(load("threads = 8;\n\nverbose = true\ndb = { host = ; };\n", &s, &w, &err),
                     -EINVAL);
    assert_non_null(strstr(err.file, "t.conf"));
    assert_true(err.line == 3 || err.line == 4);
    assert_null(s.db_host);
    lars_conf_error_format(&err, buf, sizeof(buf));
    assert_non_null(strstr(buf, "t.conf:"));
}

static void conf_wrong_type_names_key_and_line(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};
    char buf[1024], want[600];

    assert_int_equal(
        load("threads = 8;\ndb = {\n  host = \"h\";\n  port = \"3306\";\n};\n", &s, &w, &err),
        -EINVAL);
    assert_string_equal(err.key, "db.port");
    assert_int_equal(err.line, 4);
    assert_null(s.db_host);
    lars_conf_error_format(&err, buf, sizeof(buf));
    snprintf(want, sizeof(want), "%s:4: db.port: expected an integer", err.file);
    assert_string_equal(buf, want);

    assert_int_equal(load("threads = 1.5;\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "threads");
    assert_int_equal(err.line, 1);

    assert_int_equal(load("\nverbose = 1;\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "verbose");
    assert_int_equal(err.line, 2);

    assert_int_equal(load("dns = { servers = [1, 2]; };\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "dns.servers");

    assert_int_equal(load("err_rate = \"x\";\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "err_rate");
}

static void conf_scalar_where_group_expected_is_an_error(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};

    assert_int_equal(load("threads = 2;\ndb = 5;\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "db");
    assert_int_equal(err.line, 2);
}

static void conf_out_of_range_is_an_error(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};

    assert_int_equal(load("threads = 0;\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "threads");
    assert_non_null(strstr(err.msg, "range"));

    assert_int_equal(load("threads = 257;\n", &s, &w, &err), -EINVAL);
    assert_int_equal(load("threads = 256;\n", &s, &w, &err), 0);
    lars_conf_free(keys, NKEYS, &s);

    assert_int_equal(load("\n\nerr_rate = 1.5;\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "err_rate");
    assert_int_equal(err.line, 3);

    assert_int_equal(load("loadbalance = { succ_rate = -7.5; };\n", &s, &w, &err), 0);
    assert_true(s.succ_rate == -7.5);
    lars_conf_free(keys, NKEYS, &s);
}

static void conf_choice_rejects_unknown_value(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};

    assert_int_equal(load("log_level = \"loud\";\n", &s, &w, &err), -EINVAL);
    assert_string_equal(err.key, "log_level");
    assert_int_equal(load("log_level = \"warning\";\n", &s, &w, &err), 0);
    assert_string_equal(s.log_level, "warning");
    lars_conf_free(keys, NKEYS, &s);
}

static void conf_unknown_keys_are_warned_with_line_not_errors(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};

    assert_int_equal(load("threads = 3;\n"
                          "thread = 4;\n"
                          "db = {\n"
                          "  hots = \"x\";\n"
                          "  port = 1;\n"
                          "};\n"
                          "nosuch = { a = 1; b = 2; };\n",
                          &s, &w, &err),
                     0);
    assert_int_equal(s.threads, 3);
    assert_int_equal(s.db_port, 1);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.key[0], "thread");
    assert_int_equal(w.line[0], 2);
    assert_string_equal(w.key[1], "db.hots");
    assert_int_equal(w.line[1], 4);
    assert_string_equal(w.key[2], "nosuch");
    assert_int_equal(w.line[2], 7);
    lars_conf_free(keys, NKEYS, &s);
}

static void conf_print_reloads_to_same_settings(void **state)
{
    settings_t s, s2;
    lars_conf_error_t err;
    warnings_t w = {0};
    char path[256], *text = NULL;
    size_t len = 0;
    FILE *f;

    assert_int_equal(load("log_level = \"notice\";\nthreads = 9;\nbig = -5000000000L;\n"
                          "verbose = true;\nerr_rate = 0.3;\n"
                          "db = { host = \"quote\\\"back\\\\slash\"; };\n"
                          "dns = { servers = [\"a:1\"]; };\n"
                          "loadbalance = { succ_rate = 2; probe_num = 0; };\n",
                          &s, &w, &err),
                     0);
    f = open_memstream(&text, &len);
    lars_conf_print(f, keys, NKEYS, &s);
    fclose(f);
    assert_non_null(strstr(text, "db = {\n"));
    assert_non_null(strstr(text, "# worker loops\nthreads = 9;\n"));

    snprintf(path, sizeof(path), "%s", write_file("printed.conf", text));
    memset(&s2, 0, sizeof(s2));
    assert_int_equal(lars_conf_load(path, true, keys, NKEYS, &s2, record_warning, &w, &err), 0);
    assert_int_equal(w.n, 0);
    assert_string_equal(s2.log_level, "notice");
    assert_int_equal(s2.threads, 9);
    assert_true(s2.big == -5000000000LL);
    assert_true(s2.verbose);
    assert_true(s2.err_rate == 0.3);
    assert_string_equal(s2.db_host, "quote\"back\\slash");
    assert_int_equal(s2.db_port, 3306);
    assert_int_equal(s2.dns_servers.n, 1);
    assert_string_equal(s2.dns_servers.v[0], "a:1");
    assert_true(s2.succ_rate == 2.0);
    assert_int_equal(s2.probe_num, 0);
    free(text);
    lars_conf_free(keys, NKEYS, &s);
    lars_conf_free(keys, NKEYS, &s2);
}

static char *print_to_string(const settings_t *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    lars_conf_print(f, keys, NKEYS, s);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void conf_print_redacts_a_secret_and_shows_an_empty_one(void **state)
{
    settings_t s;
    lars_conf_error_t err;
    warnings_t w = {0};
    char *text;

    assert_int_equal(load("db = { password = \"hunter2-xyz\"; };\n", &s, &w, &err), 0);
    assert_string_equal(s.db_password, "hunter2-xyz");
    text = print_to_string(&s);
    assert_null(strstr(text, "hunter2"));
    assert_non_null(strstr(text, "  password = \"" LARS_CONF_REDACTED "\";\n"));
    free(text);
    lars_conf_free(keys, NKEYS, &s);

    assert_int_equal(load("threads = 2;\n", &s, &w, &err), 0);
    text = print_to_string(&s);
    assert_non_null(strstr(text, "  password = \"\";\n"));
    free(text);
    lars_conf_free(keys, NKEYS, &s);
}

static int exposed(const char *text, mode_t mode, const char **ret_key, unsigned *ret_mode)
{
    lars_conf_error_t err;
    warnings_t w = {0};
    settings_t s;
    char path[256];
    int r;

    assert_int_equal(load(text, &s, &w, &err), 0);
    snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
    assert_int_equal(chmod(path, mode), 0);
    r = lars_conf_secret_exposed(path, keys, NKEYS, &s, ret_key, ret_mode);
    lars_conf_free(keys, NKEYS, &s);
    return r;
}

static void conf_secret_in_a_file_others_can_read_is_exposed(void **state)
{
    const char *pw = "db = { password = \"hunter2\"; };\n";
    const char *key = NULL;
    unsigned mode = 0;

    assert_int_equal(exposed(pw, 0644, &key, &mode), 1);
    assert_string_equal(key, "db.password");
    assert_int_equal(mode, 0644);
    assert_int_equal(exposed(pw, 0640, &key, &mode), 1);
    assert_int_equal(mode, 0640);
    assert_int_equal(exposed(pw, 0604, &key, &mode), 1);
    assert_int_equal(exposed(pw, 0600, &key, &mode), 0);
    assert_int_equal(exposed(pw, 0400, &key, &mode), 0);
    assert_int_equal(exposed("db = { password = \"\"; };\n", 0644, &key, &mode), 0);
    assert_int_equal(exposed("threads = 3;\n", 0644, &key, &mode), 0);
}

/* A real program (the scaffolding in daemons/common/daemon.c) started with a
 * broken config prints one line naming file, line and key, and exits 78. */
static void conf_broken_config_makes_program_exit_78(void **state)
{
    const char *build = getenv("LARS_BUILD");
    char prog[512], out[4096] = "", want[600];
    const char *path;
    int fds[2], status;
    ssize_t n, got = 0;
    pid_t pid;

    if (!build)
        skip();
    snprintf(prog, sizeof(prog), "%s/tests/progs/sd_probe", build);
    path = write_file("broken.conf", "log_level = \"info\";\nthreads = \"many\";\n");
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execl(prog, prog, "-c", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while ((n = read(fds[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), LARS_EX_CONFIG);
    snprintf(want, sizeof(want), "%s:2: threads: expected an integer", path);
    assert_non_null(strstr(out, want));
}

static int setup(void **state)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conf_missing_file_gives_defaults),
        cmocka_unit_test(conf_missing_file_fails_when_it_must_exist),
        cmocka_unit_test(conf_reads_every_type_and_nested_groups),
        cmocka_unit_test(conf_string_list_accepts_list_syntax_and_empty),
        cmocka_unit_test(conf_syntax_error_reports_file_and_line),
        cmocka_unit_test(conf_wrong_type_names_key_and_line),
        cmocka_unit_test(conf_scalar_where_group_expected_is_an_error),
        cmocka_unit_test(conf_out_of_range_is_an_error),
        cmocka_unit_test(conf_choice_rejects_unknown_value),
        cmocka_unit_test(conf_unknown_keys_are_warned_with_line_not_errors),
        cmocka_unit_test(conf_print_reloads_to_same_settings),
        cmocka_unit_test(conf_print_redacts_a_secret_and_shows_an_empty_one),
        cmocka_unit_test(conf_secret_in_a_file_others_can_read_is_exposed),
        cmocka_unit_test(conf_broken_config_makes_program_exit_78),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
