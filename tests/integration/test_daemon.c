/*
 * Tests for the daemons' shared life cycle (daemons/common/daemon.c) through
 * the real lars-dns, lars-agent and lars-reporter, started by the harness:
 * a start-up that fails says so in exactly one error line, exits with the
 * documented status (78 for the config, 1 for anything else) and never
 * sends READY=1, whichever step fails; database errors read once. No
 * database is needed: the daemons point at a closed port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/harness.h"

#define WAIT_MS 20000
#define PRLIMIT "/usr/bin/prlimit"
/* A closed port: the daemons start without a database. */
#define NO_DB "db = { host = \"127.0.0.1\"; port = 1; };\n"

static char dir[] = "/tmp/lars-test-daemon-XXXXXX";

static const char *const daemons[] = {"lars-dns", "lars-agent", "lars-reporter"};

static const char *bin(const char *name)
{
    static char buf[4][256];
    static int k;
    const char *build = getenv("LARS_BUILD");

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/bin/%s", build ? build : "build", name);
    return buf[k];
}

static const char *write_conf(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *write_conf(const char *name, const char *fmt, ...)
{
    static char path[4][300];
    static int k;
    va_list ap;
    FILE *f;

    k = (k + 1) % 4;
    snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
    f = fopen(path[k], "w");
    assert_non_null(f);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    return path[k];
}

/* A config that starts `name` on its own, binding `port` (the agent: three
 * ports from there) unless sockets are passed (then port 0: any; the agent
 * takes three in the order of their ports). */
static const char *conf_for(const char *name, int port)
{
    if (strcmp(name, "lars-agent") == 0)
        return write_conf("agent.conf",
                          "base_port = %d;\ncaller_ip = \"10.0.0.1\";\n"
                          "dns = { servers = [\"127.0.0.1:1\"]; };\n"
                          "reporter = { servers = [\"127.0.0.1:1\"]; };\n",
                          port ? port : 1);
    if (strcmp(name, "lars-dns") == 0)
        return write_conf("dns.conf", "listen = \"127.0.0.1:%d\";\nthreads = 1;\n" NO_DB, port);
    return write_conf("reporter.conf",
                      "listen = \"127.0.0.1:%d\";\nthreads = 1;\ndb_threads = 1;\n" NO_DB, port);
}

/* argv: [PRLIMIT --nofile=N:N] BIN -c CONF */
static harness_t *start(const char *name, const char *conf, int nofile,
                        const harness_socket_t *socks, size_t nsocks)
{
    char limit[64];
    const char *argv[] = {PRLIMIT, limit, bin(name), "-c", conf, NULL};
    harness_opts_t o = {.argv = nofile ? argv : argv + 2, .sockets = socks, .nsockets = nsocks};
    harness_t *h;

    snprintf(limit, sizeof(limit), "--nofile=%d:%d", nofile, nofile);
    h = harness_start(&o);
    assert_non_null(h);
    return h;
}

static unsigned count_lines_starting(const char *log, const char *prefix)
{
    unsigned n = 0;

    for (const char *p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, strlen(prefix)) == 0;
    return n;
}

static unsigned count_in(const char *s, size_t len, const char *what)
{
    unsigned n = 0;

    for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), what, strlen(what))); p++)
        n++;
    return n;
}

/* The child has exited with `want_status` after one error line holding
 * `text` (NULL: any), and never said READY=1. */
static void expect_one_error(harness_t *h, const char *what, int want_status, const char *text)
{
    int status = 0;
    char *log;

    if (!harness_wait_exit(h, WAIT_MS, &status)) {
        harness_dump_log(h);
        fail_msg("%s: still running", what);
    }
    log = harness_log(h);
    assert_non_null(log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != want_status ||
        count_lines_starting(log, "error: ") != 1 || (text && !strstr(log, text)) ||
        harness_count(h, "READY=1") != 0) {
        harness_dump_log(h);
        fail_msg("%s: status 0x%x, %u error lines, wanted exit %d and one error line with '%s'",
                 what, status, count_lines_starting(log, "error: "), want_status, text ? text : "");
    }
    free(log);
}

static int bound_socket(int type, int *ret_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *ret_port = ntohs(sa.sin_port);
    return fd;
}

/* ------------------------------------------------------------- tests -- */

static void bad_or_missing_config_is_one_line_and_exit_78(void **state)
{
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
        const char *key = strcmp(daemons[i], "lars-agent") == 0 ? "base_port" : "threads";
        const char *bad = write_conf("bad.conf", "\n%s = \"four\";\n", key);
        char want[128];
        harness_t *h;

        h = start(daemons[i], bad, 0, NULL, 0);
        snprintf(want, sizeof(want), "error: %s:2: %s", bad, key);
        expect_one_error(h, daemons[i], 78, want);
        harness_free(h);

        snprintf(want, sizeof(want), "%s/nonexistent.conf", dir);
        h = start(daemons[i], want, 0, NULL, 0);
        expect_one_error(h, daemons[i], 78, "nonexistent.conf");
        harness_free(h);
    }
}

static void address_in_use_is_one_line_and_exit_1(void **state)
{
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
        bool agent = strcmp(daemons[i], "lars-agent") == 0;
        char want[160];
        int port, fd = bound_socket(agent ? SOCK_DGRAM : SOCK_STREAM, &port);
        harness_t *h = start(daemons[i], conf_for(daemons[i], port), 0, NULL, 0);

        if (agent)
            snprintf(want, sizeof(want),
                     "error: cannot open the shard sockets on 127.0.0.1:%d..%d: Address already "
                     "in use\n",
                     port, port + 2);
        else
            snprintf(want, sizeof(want),
                     "error: cannot listen on 127.0.0.1:%d: Address already in use\n", port);
        expect_one_error(h, daemons[i], 1, want);
        harness_free(h);
        close(fd);
    }
}

/* Whether h got past start-up: READY=1, or the line logged just before it
 * (sd_notify itself may lack a descriptor). */
static bool started(harness_t *h, const char *name)
{
    const char *line = strcmp(name, "lars-agent") == 0 ? "serving on ports" : "listening on port";

    return harness_count(h, "READY=1") > 0 || harness_log_contains(h, line);
}

/* Every step of start-up that needs a descriptor fails in turn as the limit
 * grows; each failure is one line and exit 1 (78 when the config file
 * itself cannot be opened), until the daemon starts. */
static void every_early_failure_is_one_line(void **state)
{
    if (access(PRLIMIT, X_OK) != 0)
        skip();
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++) {
        bool agent = strcmp(daemons[i], "lars-agent") == 0;
        const harness_socket_t tcp = {"tcp:127.0.0.1:0", NULL};
        const harness_socket_t udp[3] = {
            {"udp:127.0.0.1:0", NULL}, {"udp:127.0.0.1:0", NULL}, {"udp:127.0.0.1:0", NULL}};
        const char *conf = conf_for(daemons[i], 0);
        bool up = false;
        int nofile;

        for (nofile = 4; nofile < 200 && !up; nofile++) {
            harness_t *h = start(daemons[i], conf, nofile, agent ? udp : &tcp, agent ? 3 : 1);
            uint64_t end = harness_now_ms() + WAIT_MS;
            char what[64];
            int status = 0;

            while (!harness_exited(h, &status) && !(up = started(h, daemons[i])) &&
                   harness_now_ms() < end)
                usleep(5 * 1000);
            snprintf(what, sizeof(what), "%s with %d descriptors", daemons[i], nofile);
            if (up) {
                status = harness_stop(h, WAIT_MS);
                assert_true(status != -1 && WIFEXITED(status));
            } else if (harness_log_contains(h, "error while loading shared libraries")) {
                /* too few for ld.so: our code never ran */
            } else {
                bool config = harness_log_contains(h, "Too many open files") &&
                              harness_exited(h, &status) && WIFEXITED(status) &&
                              WEXITSTATUS(status) == 78;
                expect_one_error(h, what, config ? 78 : 1, NULL);
            }
            harness_free(h);
        }
        print_message("# %s started with %d descriptors\n", daemons[i], nofile - 1);
        assert_true(up);
    }
}

/* The level that knows the server names it; nobody adds it again. */
static void database_errors_read_once(void **state)
{
    const harness_socket_t tcp = {"tcp:127.0.0.1:0", NULL};
    const char *want = "cannot connect to MariaDB at 127.0.0.1:1/lars: ";
    const char *names[] = {"lars-dns", "lars-reporter"};

    for (size_t i = 0; i < 2; i++) {
        harness_t *h = start(names[i], conf_for(names[i], 0), 0, &tcp, 1);
        char *log, *line, *eol;

        if (!harness_wait_log(h, want, WAIT_MS)) {
            harness_dump_log(h);
            fail_msg("%s: no '%s'", names[i], want);
        }
        log = harness_log(h);
        line = strstr(log, want);
        while (line > log && line[-1] != '\n')
            line--;
        eol = strchr(line, '\n');
        assert_non_null(eol);
        if (count_in(line, (size_t)(eol - line), "MariaDB") != 1 ||
            count_in(line, (size_t)(eol - line), "127.0.0.1:1") != 1)
            fail_msg("%s says it twice: %.*s", names[i], (int)(eol - line), line);
        free(log);
        assert_int_equal(harness_stop(h, WAIT_MS), 0);
        harness_free(h);
    }
}

static int setup_group(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown_group(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_or_missing_config_is_one_line_and_exit_78),
        cmocka_unit_test(address_in_use_is_one_line_and_exit_1),
        cmocka_unit_test(every_early_failure_is_one_line),
        cmocka_unit_test(database_errors_read_once),
    };

    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
