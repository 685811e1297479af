/*
 * lars-dns under connection churn: 100,000 connect + GetRouteRequest + close
 * cycles from several client threads must leave no connection, no
 * subscription and no growing memory behind. Clients close with RST
 * (SO_LINGER {1, 0}) so that TIME_WAIT does not use up the ephemeral ports.
 * The daemon runs without a database (an empty table answers every pair):
 * the churn is what is tested, not the routes.
 *
 * Under AddressSanitizer (SANITIZE=1) freed memory sits in ASan's
 * quarantine (up to 256 MiB), so RSS grows by design and its bound is
 * skipped; there the leak check at exit (a non-zero exit status) is the
 * check that matters. All 100,000 cycles take about 15 s in either build.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/harness.h"
#include "harness/dns_client.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#endif

#define CYCLES         100000
#define WARMUP_CYCLES  10000
#define THREADS        4
#define WAIT_MS        10000
#define CYCLES_TIME_MS 120000 /* bound on the whole loop, never reached normally */
#define RSS_SLACK_KIB  8192

typedef struct client {
    int port;
    int id;
    int cycles;
    uint64_t deadline;
    int done;
    int err;
} client_t;

static int one_cycle(const client_t *c, int i)
{
    struct linger rst = {1, 0};
    dns_route_t r;
    int fd = dns_client_connect(c->port), err;

    if (fd < 0)
        return fd;
    err = dns_client_get_route(fd, 3000 + c->id, i % 100);
    if (err == 0)
        err = dns_client_recv_route(fd, WAIT_MS, &r);
    if (err == 0 && (r.modid != 3000 + c->id || r.cmdid != i % 100 || r.n != 0))
        err = -EBADMSG;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
    close(fd);
    return err;
}

static void *client_thread(void *arg)
{
    client_t *c = arg;

    for (c->done = 0; c->done < c->cycles && c->err == 0; c->done++) {
        if (dns_client_now_ms() >= c->deadline)
            c->err = -ETIMEDOUT;
        else
            c->err = one_cycle(c, c->done);
    }
    return NULL;
}

/* Runs n cycles spread over THREADS clients; returns how many succeeded. */
static int run_cycles(harness_t *h, int n)
{
    pthread_t t[THREADS];
    client_t c[THREADS];
    uint64_t deadline = dns_client_now_ms() + CYCLES_TIME_MS;
    int total = 0;

    for (int i = 0; i < THREADS; i++) {
        c[i] = (client_t){harness_port(h, 0), i, n / THREADS + (i < n % THREADS), deadline, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, client_thread, &c[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        if (c[i].err)
            print_message("# client %d stopped after %d cycles: %s\n", i, c[i].done,
                          strerror(-c[i].err));
        total += c[i].done - (c[i].err != 0);
    }
    return total;
}

static void wait_status(harness_t *h, const char *text)
{
    char buf[1024];

    if (!harness_wait_status(h, text, WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no STATUS with \"%s\"; last: %s", text, harness_last_status(h, buf, sizeof(buf)));
    }
}

static harness_t *start_dns(const char *dir)
{
    static char path[256], bin[256];
    const char *build = getenv("LARS_BUILD");
    const harness_socket_t sock = {"tcp:127.0.0.1:0", NULL};
    FILE *f;
    harness_t *h;

    snprintf(path, sizeof(path), "%s/cycles.conf", dir);
    snprintf(bin, sizeof(bin), "%s/bin/lars-dns", build ? build : "build");
    f = fopen(path, "w");
    assert_non_null(f);
    /* no database: port 1 is closed */
    fprintf(f, "threads = 2;\nlog_level = \"notice\";\n"
               "db = { host = \"127.0.0.1\"; port = 1; };\n");
    fclose(f);
    const char *argv[] = {bin, "-c", path, NULL};
    harness_opts_t o = {.argv = argv, .sockets = &sock, .nsockets = 1};
    h = harness_start(&o);
    assert_non_null(h);
    if (!harness_wait_notify(h, "READY=1", WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no READY=1");
    }
    return h;
}

static void dns_connect_close_cycles_leak_nothing(void **state)
{
    char dir[64] = "/tmp/test_dns_cycles.XXXXXX", counters[160], cmd[96];
    harness_t *h;
    long rss_warm, rss_end;
    int status;

    assert_non_null(mkdtemp(dir));
    h = start_dns(dir);

    assert_int_equal(run_cycles(h, WARMUP_CYCLES), WARMUP_CYCLES);
    wait_status(h, " 0 conns, 0 subscriptions");
    rss_warm = harness_rss_kib(harness_pid(h));
    assert_int_equal(run_cycles(h, CYCLES - WARMUP_CYCLES), CYCLES - WARMUP_CYCLES);
    wait_status(h, " 0 conns, 0 subscriptions");
    rss_end = harness_rss_kib(harness_pid(h));
    print_message("# %d cycles; daemon RSS %ld KiB after %d, %ld KiB at the end\n", CYCLES,
                  rss_warm, WARMUP_CYCLES, rss_end);

    snprintf(counters, sizeof(counters), "conns_accepted=%d conns_refused=0 conns_closed=%d ",
             CYCLES, CYCLES);
    assert_int_equal(harness_signal(h, SIGUSR1), 0);
    if (!harness_wait_log(h, counters, WAIT_MS)) {
        harness_dump_log(h);
        fail_msg("no counters line with \"%s\"", counters);
    }
    snprintf(counters, sizeof(counters), "requests=%d ", CYCLES);
    assert_true(harness_log_contains(h, counters));
#ifndef UNDER_ASAN
    assert_true(rss_warm > 0);
    assert_true(rss_end <= rss_warm + RSS_SLACK_KIB);
#endif

    status = harness_stop(h, WAIT_MS);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        harness_dump_log(h);
    harness_free(h);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    /* under ASan, a leak makes the exit status non-zero */
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dns_connect_close_cycles_leak_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
