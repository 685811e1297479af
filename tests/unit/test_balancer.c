/*
 * Tests of daemons/agent/balancer.c and route_cache.c: every rule of
 * docs/balancing.md for the agent's load balancer, driven with an injected clock (the
 * `now` argument, milliseconds). Hosts are named by letters: host 'A' is
 * 192.168.1.0:8000 (a negative int32 on the wire), 'B' the next address, ...
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemons/agent/balancer.h"
#include "daemons/agent/route_cache.h"
#include "harness/colliding_keys.h"

#define IP_BASE 0xC0A80100u
#define MODID   7
#define CMDID   3

static lb_host_t H(char c)
{
    return (lb_host_t){(int32_t)(IP_BASE + (uint32_t)(c - 'A')), 8000 + (c - 'A')};
}

static char letter(lb_host_t h)
{
    return (char)('A' + ((uint32_t)h.ip - IP_BASE));
}

/* ---------------------------------------------------------- fixture -- */

#define MAX_REC 256

typedef struct fx {
    lb_ctx_t *ctx;
    route_cache_t *cache;
    lb_event_t ev[MAX_REC];
    size_t n_ev;
    size_t n_stats;
    lb_call_result_t last[64];
    size_t last_n;
    uint64_t last_now;
} fx_t;

static void on_stats(const lb_balancer_t *b, const lb_call_result_t *res, size_t n, uint64_t now,
                     void *arg)
{
    fx_t *f = arg;
    f->n_stats++;
    f->last_n = n < 64 ? n : 64;
    memcpy(f->last, res, f->last_n * sizeof(*res));
    f->last_now = now;
}

static void on_event(const lb_balancer_t *b, const lb_event_t *ev, void *arg)
{
    fx_t *f = arg;
    if (f->n_ev < MAX_REC)
        f->ev[f->n_ev++] = *ev;
}

static fx_t *fx_new(const lb_config_t *cfg)
{
    fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    lb_config_t def = LB_CONFIG_DEFAULTS;
    lb_callbacks_t cbs = {on_stats, on_event, f};
    assert_int_equal(lb_ctx_new(cfg ? cfg : &def, &cbs, &f->ctx), 0);
    assert_int_equal(route_cache_new(f->ctx, 0, &f->cache), 0);
    return f;
}

static void fx_free(fx_t *f)
{
    route_cache_free(f->cache);
    lb_ctx_free(f->ctx);
    free(f);
}

/* The pair MODID/CMDID with the hosts named in `names`, route received at `now`. */
static lb_balancer_t *fx_pair(fx_t *f, uint64_t now, const char *names)
{
    lb_host_t hosts[64], h;
    size_t n = strlen(names);
    bool pull;

    assert_int_equal(route_cache_get_host(f->cache, MODID, CMDID, now, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    for (size_t i = 0; i < n; i++)
        hosts[i] = H(names[i]);
    assert_int_equal(route_cache_update_route(f->cache, MODID, CMDID, now, hosts, n), 0);
    return route_cache_find(f->cache, MODID, CMDID);
}

/* One get_host: the host's letter, '-' for RET_OVERLOAD, '?' for RET_NOEXIST. */
static char pick(lb_balancer_t *b, uint64_t now)
{
    lb_host_t h;
    bool pull;
    int r = lb_get_host(b, now, &h, &pull);
    if (r == LB_RET_OVERLOAD)
        return '-';
    if (r == LB_RET_NOEXIST)
        return '?';
    assert_int_equal(r, LB_RET_SUCC);
    return letter(h);
}

static void picks(lb_balancer_t *b, uint64_t now, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = pick(b, now);
    out[n] = '\0';
}

static void list_str(const lb_balancer_t *b, bool overloaded, char *out)
{
    lb_host_t h;
    size_t i = 0;
    while (lb_list_host(b, overloaded, i, &h))
        out[i++] = letter(h);
    out[i] = '\0';
}

static void assert_lists(const lb_balancer_t *b, const char *idle, const char *over)
{
    char s[128];
    list_str(b, false, s);
    assert_string_equal(s, idle);
    list_str(b, true, s);
    assert_string_equal(s, over);
}

static void rep(lb_balancer_t *b, uint64_t now, char host, bool ok, uint32_t timecost)
{
    lb_host_t h = H(host);
    assert_int_equal(lb_report(b, now, h.ip, h.port, ok ? LB_RET_SUCC : LB_RET_OVERLOAD, timecost),
                     0);
}

/* "SFFS..." -> reports on `host` at `now`. */
static void reps(lb_balancer_t *b, uint64_t now, char host, const char *pattern)
{
    for (const char *p = pattern; *p; p++)
        rep(b, now, host, *p == 'S', 0);
}

static lb_host_info_t info(const lb_balancer_t *b, char host)
{
    lb_host_info_t hi;
    lb_host_t h = H(host);
    assert_int_equal(lb_host_info(b, h.ip, h.port, &hi), 0);
    return hi;
}

static bool overloaded(const lb_balancer_t *b, char host)
{
    return info(b, host).overload;
}

/* A 2100 ms failure weighs 21: 21 / (180 + 21) > 0.1 overloads an idle host. */
static void overload_now(lb_balancer_t *b, uint64_t now, char host)
{
    rep(b, now, host, false, 2100);
    assert_true(overloaded(b, host));
}

/* ------------------------------------------------------------ config -- */

static void config_defaults_match_spec(void **state)
{
    lb_config_t c;
    lb_config_defaults(&c);
    assert_int_equal(c.probe_num, 10);
    assert_int_equal(c.init_succ_cnt, 180);
    assert_int_equal(c.init_err_cnt, 5);
    assert_true(c.err_rate == 0.1);
    assert_true(c.succ_rate == 0.95);
    assert_int_equal(c.contin_err_limit, 15);
    assert_int_equal(c.contin_succ_limit, 15);
    assert_true(c.window_err_rate == 0.7);
    assert_int_equal(c.idle_timeout_ms, 15000);
    assert_int_equal(c.overload_timeout_ms, 15000);
    assert_int_equal(c.update_timeout_ms, 15000);
    assert_int_equal(c.err_amplify_ms, 100);
    assert_int_equal(c.report_interval_ms, 1000);
    assert_int_equal(lb_config_check(&c), 0);
    c.succ_rate = 1.5;
    assert_int_equal(lb_config_check(&c), -EINVAL);
    lb_ctx_t *ctx = NULL;
    assert_int_equal(lb_ctx_new(&c, NULL, &ctx), -EINVAL);
    assert_null(ctx);
}

/* ----------------------------------------------------- pulls, routes -- */

static void get_host_unknown_pair_answers_noexist_and_pulls_once(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_host_t h;
    bool pull;

    assert_null(route_cache_find(f->cache, MODID, CMDID));
    assert_int_equal(route_cache_get_host(f->cache, MODID, CMDID, 1000, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    lb_balancer_t *b = route_cache_find(f->cache, MODID, CMDID);
    assert_non_null(b);
    assert_true(lb_is_pulling(b));
    /* The pull is outstanding: no second request, however long it takes. */
    for (uint64_t t = 1001; t < 100000; t += 7000) {
        assert_int_equal(route_cache_get_host(f->cache, MODID, CMDID, t, &h, &pull),
                         LB_RET_NOEXIST);
        assert_false(pull);
    }
    assert_int_equal(lb_ctx_counters(f->ctx)->pulls, 1);
    assert_int_equal(route_cache_count(f->cache), 1);
    fx_free(f);
}

static void get_host_round_robins_over_route_in_order(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "ABC");
    char s[16];

    assert_false(lb_is_pulling(b));
    picks(b, 100, 7, s);
    assert_string_equal(s, "ABCABCA");
    /* get_host picks exactly one host: the list rotated by one per call. */
    assert_lists(b, "BCA", "");
    fx_free(f);
}

static void empty_route_is_negative_entry_repulled_after_update_timeout(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 1000, "");
    lb_host_t h;
    bool pull;

    assert_false(lb_is_pulling(b));
    assert_int_equal(lb_host_count(b), 0);
    assert_int_equal(lb_get_host(b, 2000, &h, &pull), LB_RET_NOEXIST);
    assert_false(pull);
    assert_int_equal(lb_get_host(b, 16000, &h, &pull), LB_RET_NOEXIST);
    assert_false(pull); /* not more than update_timeout yet */
    assert_int_equal(lb_get_host(b, 16001, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    assert_int_equal(lb_get_host(b, 16002, &h, &pull), LB_RET_NOEXIST);
    assert_false(pull);

    lb_host_t a = H('A');
    assert_int_equal(lb_update_route(b, 17000, &a, 1), 0);
    assert_int_equal(pick(b, 17001), 'A');
    fx_free(f);
}

static void new_pair_repulls_once_after_update_timeout_until_next_update(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");
    lb_host_t h, out[2], hosts[2] = {H('A'), H('B')};
    bool pull;

    assert_int_equal(lb_get_host(b, 15000, &h, &pull), LB_RET_SUCC);
    assert_false(pull);
    assert_int_equal(lb_get_host(b, 15001, &h, &pull), LB_RET_SUCC);
    assert_true(pull);
    assert_true(lb_is_pulling(b));
    /* While the pull is outstanding the cached route keeps serving, no new pull. */
    for (uint64_t t = 15002; t < 60000; t += 1000) {
        assert_int_equal(lb_get_host(b, t, &h, &pull), LB_RET_SUCC);
        assert_false(pull);
        assert_int_equal(lb_get_route(b, t, out, 2, &pull), 2);
        assert_false(pull);
    }
    assert_int_equal(lb_update_route(b, 60000, hosts, 2), 0);
    assert_false(lb_is_pulling(b));
    assert_int_equal(lb_get_host(b, 75000, &h, &pull), LB_RET_SUCC);
    assert_false(pull);
    assert_int_equal(lb_get_host(b, 75001, &h, &pull), LB_RET_SUCC);
    assert_true(pull);
    assert_int_equal(lb_ctx_counters(f->ctx)->pulls, 3); /* first pull + 2 re-pulls */
    fx_free(f);
}

static void get_route_lists_idle_then_overloaded_and_repulls_like_get_host(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_host_t out[8];
    bool pull;

    /* Unknown pair: same path as get_host step 1. */
    assert_int_equal(route_cache_get_route(f->cache, 1, 2, 0, out, 8, &pull), 0);
    assert_true(pull);
    assert_int_equal(route_cache_get_route(f->cache, 1, 2, 1, out, 8, &pull), 0);
    assert_false(pull);

    lb_balancer_t *b = fx_pair(f, 0, "ABC");
    overload_now(b, 10, 'A');
    assert_int_equal(lb_get_route(b, 100, out, 8, &pull), 3);
    assert_false(pull);
    assert_int_equal(letter(out[0]), 'B');
    assert_int_equal(letter(out[1]), 'C');
    assert_int_equal(letter(out[2]), 'A');
    /* A short buffer gets what fits, the count is the route's. */
    assert_int_equal(lb_get_route(b, 100, out, 1, &pull), 3);
    assert_int_equal(letter(out[0]), 'B');
    assert_int_equal(lb_get_route(b, 15001, out, 8, &pull), 3);
    assert_true(pull);
    assert_int_equal(lb_get_route(b, 15002, out, 8, &pull), 3);
    assert_false(pull);
    fx_free(f);
}

typedef struct pairs_seen {
    int n;
    int64_t keys[4];
} pairs_seen_t;

static void collect_pair(int32_t modid, int32_t cmdid, void *arg)
{
    pairs_seen_t *seen = arg;
    if (seen->n < 4)
        seen->keys[seen->n] = (int64_t)modid * 1000 + cmdid;
    seen->n++;
}

static void dns_reconnect_turns_pulling_into_new_and_lists_every_pair(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "A");
    lb_host_t h;
    bool pull;

    assert_int_equal(lb_get_host(b, 20000, &h, &pull), LB_RET_SUCC);
    assert_true(pull);
    assert_int_equal(route_cache_get_host(f->cache, 1, 1, 20000, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    lb_balancer_t *empty = route_cache_find(f->cache, 1, 1);
    assert_true(lb_is_pulling(b));
    assert_true(lb_is_pulling(empty));

    pairs_seen_t seen = {0};
    route_cache_on_dns_reconnect(f->cache, collect_pair, &seen);
    assert_int_equal(seen.n, 2);
    assert_true(seen.keys[0] + seen.keys[1] == MODID * 1000 + CMDID + 1001);
    assert_false(lb_is_pulling(b));
    assert_false(lb_is_pulling(empty));
    /* NEW again: the normal re-pull rule applies (last_update is the creation time). */
    assert_int_equal(lb_get_host(empty, 35001, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    fx_free(f);
}

static void report_for_unknown_host_or_pair_is_ignored_and_counted(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");
    lb_host_t z = H('Z'), a = H('A');

    assert_int_equal(lb_report(b, 10, z.ip, z.port, LB_RET_OVERLOAD, 5000), -ENOENT);
    assert_int_equal(lb_report(b, 10, a.ip, a.port + 1, LB_RET_OVERLOAD, 5000), -ENOENT);
    assert_int_equal(route_cache_report(f->cache, 99, 99, 10, a.ip, a.port, 0, 0), -ENOENT);
    assert_int_equal(lb_ctx_counters(f->ctx)->reports_unknown_host, 2);
    assert_int_equal(lb_ctx_counters(f->ctx)->reports_unknown_pair, 1);
    assert_null(route_cache_find(f->cache, 99, 99));
    /* Nothing counted: no snapshot becomes due. */
    lb_tick(b, 5000);
    assert_int_equal(f->n_stats, 0);
    assert_int_equal(info(b, 'A').rerr, 0);
    assert_int_equal(route_cache_report(f->cache, MODID, CMDID, 5000, a.ip, a.port, 0, 0), 0);
    assert_int_equal(info(b, 'A').rsucc, 1);
    fx_free(f);
}

static void update_route_keeps_staying_hosts_and_drops_gone_ones(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "ABCD");

    overload_now(b, 100, 'B');
    overload_now(b, 200, 'D');
    rep(b, 300, 'A', true, 0);
    rep(b, 300, 'A', false, 0);
    assert_lists(b, "AC", "BD");

    lb_host_t route[] = {H('E'), H('D'), H('A'), H('E'), H('A')};
    assert_int_equal(lb_update_route(b, 5000, route, 5), 0);
    assert_int_equal(lb_host_count(b), 3);
    assert_lists(b, "AE", "D");

    lb_host_info_t a = info(b, 'A'), d = info(b, 'D'), e = info(b, 'E');
    assert_int_equal(a.rsucc, 1);
    assert_int_equal(a.rerr, 1);
    assert_int_equal(a.idle_ts, 0);
    assert_true(d.overload);
    assert_int_equal(d.overload_ts, 200);
    assert_int_equal(d.verr, 5);
    assert_false(e.overload);
    assert_int_equal(e.idle_ts, 5000);
    assert_int_equal(e.vsucc, 180);
    lb_host_t gone = H('B');
    assert_int_equal(lb_report(b, 5001, gone.ip, gone.port, 0, 0), -ENOENT);
    gone = H('C');
    assert_int_equal(lb_host_info(b, gone.ip, gone.port, &a), -ENOENT);
    fx_free(f);
}

/* Many updates that add and drop hosts at random keep the lists and the
 * (ip, port) index consistent (exercises the swap-remove of the host array). */
static void update_route_random_changes_keep_lists_consistent(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "");
    uint32_t seed = 12345;
    lb_host_t route[300];
    bool in[300] = {0};

    for (int round = 0; round < 200; round++) {
        size_t n = 0;
        for (uint32_t i = 0; i < 300; i++) {
            seed = seed * 1103515245 + 12345;
            if ((seed >> 16) % 3 == 0)
                in[i] = !in[i];
            if (in[i])
                route[n++] = (lb_host_t){(int32_t)(i * 7919), (int32_t)i};
        }
        assert_int_equal(lb_update_route(b, round, route, n), 0);
        assert_int_equal(lb_host_count(b), n);
        for (size_t k = 0; k < n; k++) {
            lb_host_info_t hi;
            assert_int_equal(lb_host_info(b, route[k].ip, route[k].port, &hi), 0);
            if (round % 5 == 0 && k % 4 == 0)
                assert_int_equal(lb_report(b, round, route[k].ip, route[k].port, 1, 5000), 0);
        }
        size_t listed = 0;
        lb_host_t h;
        for (int l = 0; l < 2; l++)
            for (size_t i = 0; lb_list_host(b, l, i, &h); i++) {
                lb_host_info_t hi;
                assert_int_equal(lb_host_info(b, h.ip, h.port, &hi), 0);
                assert_int_equal(hi.overload, l);
                listed++;
            }
        assert_int_equal(listed, n);
        assert_int_equal(lb_overload_count(b) <= n, 1);
    }
    fx_free(f);
}

/* --------------------------------------------------------- selection -- */

static void probe_picks_overload_head_every_probe_num_plus_one(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "ABCD");
    char s[64];

    overload_now(b, 1, 'C');
    overload_now(b, 2, 'D');
    assert_lists(b, "AB", "CD");
    picks(b, 100, 34, s);
    assert_string_equal(s, "ABABABABAB"
                           "C"
                           "ABABABABAB"
                           "D"
                           "ABABABABAB"
                           "C"
                           "A");
    fx_free(f);
}

static void all_overloaded_answers_overload_except_every_probe(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");
    char s[64];

    overload_now(b, 1, 'B');
    overload_now(b, 2, 'A');
    picks(b, 100, 34, s);
    assert_string_equal(s, "----------"
                           "B"
                           "----------"
                           "A"
                           "----------"
                           "B"
                           "-");
    fx_free(f);
}

static void probe_counter_untouched_while_nothing_is_overloaded(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");
    char s[64];

    picks(b, 100, 25, s); /* step 4: access_cnt stays 0 */
    overload_now(b, 200, 'B');
    picks(b, 300, 12, s);
    assert_string_equal(s, "AAAAAAAAAABA");
    fx_free(f);
}

/* ------------------------------------------------- idle -> overload -- */

/* 189 successes' worth: 21 errors give exactly 0.1 (not above), 22 overload. */
static void err_rate_boundary_is_exclusive(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.contin_err_limit = 1000;
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    reps(b, 10, 'A', "SSSSSSSSS");
    for (int i = 0; i < 21; i++)
        rep(b, 10, 'A', false, 0);
    assert_false(overloaded(b, 'A'));
    assert_int_equal(info(b, 'A').verr, 21);
    rep(b, 10, 'A', false, 0);
    assert_true(overloaded(b, 'A'));
    assert_int_equal(f->n_ev, 1);
    assert_int_equal(f->ev[0].kind, LB_EV_OVERLOAD);
    assert_int_equal(f->ev[0].reason, LB_REASON_ERR_RATE);
    assert_int_equal(f->ev[0].vsucc, 189);
    assert_int_equal(f->ev[0].verr, 22);
    assert_int_equal(f->ev[0].ip, H('A').ip);
    assert_int_equal(f->ev[0].modid, MODID);
    assert_int_equal(f->ev[0].cmdid, CMDID);
    /* set_overload ran. */
    lb_host_info_t a = info(b, 'A');
    assert_int_equal(a.vsucc, 0);
    assert_int_equal(a.verr, 5);
    assert_int_equal(a.rsucc + a.rerr + a.contin_err + a.contin_succ, 0);
    assert_int_equal(a.overload_ts, 10);
    assert_lists(b, "B", "A");
    fx_free(f);
}

/* Default limits: successes interleaved keep contin_err low; with 3
 * successes, 20 errors are 20/203 (idle), the 21st makes 21/204 > 0.1. */
static void err_rate_overloads_with_interleaved_successes(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "A");

    reps(b, 10, 'A', "SFFFFFFFSFFFFFFFSFFFFFF");
    assert_false(overloaded(b, 'A'));
    assert_int_equal(info(b, 'A').verr, 20);
    rep(b, 10, 'A', false, 0);
    assert_true(overloaded(b, 'A'));
    assert_int_equal(f->ev[0].reason, LB_REASON_ERR_RATE);
    assert_int_equal(f->ev[0].verr, 21);
    assert_int_equal(f->ev[0].vsucc, 183);
    assert_int_equal(f->ev[0].contin_err, 7);
    fx_free(f);
}

/* The tutorial's FAQ: with init_succ_cnt 180 and err_rate 0.1 a host with
 * few calls needs a far higher real error rate to be overloaded than one
 * with many (10 successes: 22 errors, 69 %; 500 successes: 76, 13 %), so a
 * couple of early failures do not overload it. Errors only after the
 * successes, contin_err_limit out of the way: the err_rate rule alone. */
static void small_volumes_need_a_higher_error_rate_to_overload(void **state)
{
    static const struct {
        unsigned succ, errs; /* errors that overload: first verr/(180+succ+verr) > 0.1 */
    } faq[] = {{10, 22}, {20, 23}, {90, 31}, {200, 43}, {500, 76}};
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    double last_rate = 1.0;

    cfg.contin_err_limit = 100000;
    for (size_t k = 0; k < sizeof(faq) / sizeof(faq[0]); k++) {
        fx_t *f = fx_new(&cfg);
        lb_balancer_t *b = fx_pair(f, 0, "A");
        double rate;

        for (unsigned i = 0; i < faq[k].succ; i++)
            rep(b, 10, 'A', true, 0);
        for (unsigned i = 1; i < faq[k].errs; i++)
            rep(b, 10, 'A', false, 0);
        assert_false(overloaded(b, 'A'));
        rep(b, 10, 'A', false, 0);
        assert_true(overloaded(b, 'A'));
        assert_int_equal(f->ev[0].reason, LB_REASON_ERR_RATE);
        rate = (double)faq[k].errs / (faq[k].succ + faq[k].errs);
        printf("# %u successes: overloaded at %u errors, real error rate %.0f %%\n", faq[k].succ,
               faq[k].errs, 100 * rate);
        assert_true(rate < last_rate);
        assert_true(rate > cfg.err_rate);
        last_rate = rate;
        fx_free(f);
    }
    assert_true(last_rate < 0.14);
}

static void contin_err_limit_overloads(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    /* 15/195 is below err_rate: only the run of 15 overloads. */
    reps(b, 10, 'A', "FFFFFFFFFFFFFF");
    assert_false(overloaded(b, 'A'));
    rep(b, 10, 'A', false, 0);
    assert_true(overloaded(b, 'A'));
    assert_int_equal(f->ev[0].reason, LB_REASON_CONTIN_ERR);
    assert_int_equal(f->ev[0].contin_err, 15);
    assert_int_equal(f->ev[0].verr, 15);

    /* A success breaks the run (err_rate disabled to isolate the rule). */
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.err_rate = 1.0;
    fx_t *g = fx_new(&cfg);
    b = fx_pair(g, 0, "A");
    reps(b, 10, 'A', "FFFFFFFFFFFFFFSFFFFFFFFFFFFFF");
    assert_false(overloaded(b, 'A'));
    rep(b, 10, 'A', false, 0);
    assert_true(overloaded(b, 'A'));
    assert_int_equal(g->ev[0].reason, LB_REASON_CONTIN_ERR);
    fx_free(g);
    fx_free(f);
}

/* (f) A forged ReportRequest with timecost_ms = 0xffffffff weighs at most
 * max_err_weight (default 100: a 10 s timeout at err_amplify_ms 100). */
static void failure_weight_is_capped_at_max_err_weight(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.err_rate = 1.0;
    cfg.contin_err_limit = 1000;
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "A");

    rep(b, 10, 'A', false, 0xffffffffu);
    assert_int_equal(info(b, 'A').verr, 100);
    assert_int_equal(lb_ctx_counters(f->ctx)->weights_capped, 1);
    rep(b, 10, 'A', false, 10000); /* exactly the cap: not capped */
    assert_int_equal(info(b, 'A').verr, 200);
    assert_int_equal(lb_ctx_counters(f->ctx)->weights_capped, 1);
    rep(b, 10, 'A', false, 10100);
    assert_int_equal(info(b, 'A').verr, 300);
    assert_int_equal(lb_ctx_counters(f->ctx)->weights_capped, 2);
    /* The host is still balanced on its real successes: vsucc untouched. */
    assert_int_equal(info(b, 'A').vsucc, 180);
    assert_int_equal(info(b, 'A').rerr, 3);
    fx_free(f);
}

static void failure_weight_is_timecost_over_err_amplify_ms(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.err_rate = 1.0;
    cfg.contin_err_limit = 1000;
    cfg.max_err_weight = 0; /* uncapped: the original's rule */
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "A");
    static const struct {
        uint32_t timecost, w;
    } cases[] = {
        {1000, 10}, {150, 1}, {0, 1}, {99, 1}, {100, 1}, {250, 2}, {4000000000u, 40000000}};
    uint32_t verr = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rep(b, 10, 'A', false, cases[i].timecost);
        verr += cases[i].w;
        assert_int_equal(info(b, 'A').verr, verr);
        assert_int_equal(info(b, 'A').rerr, i + 1);
    }
    /* A success never weighs more than 1, whatever its time cost. */
    rep(b, 10, 'A', true, 5000);
    assert_int_equal(info(b, 'A').vsucc, 181);
    fx_free(f);

    cfg.err_amplify_ms = 0;
    f = fx_new(&cfg);
    b = fx_pair(f, 0, "A");
    rep(b, 10, 'A', false, 1000);
    assert_int_equal(info(b, 'A').verr, 1);
    fx_free(f);

    /* Defaults: a 2000 ms failure is 20/200 (idle), 2100 ms is 21/201 (overloaded). */
    f = fx_new(NULL);
    b = fx_pair(f, 0, "AB");
    rep(b, 10, 'A', false, 2000);
    assert_false(overloaded(b, 'A'));
    rep(b, 10, 'B', false, 2100);
    assert_true(overloaded(b, 'B'));
    fx_free(f);
}

static void success_on_idle_and_failure_on_overloaded_change_nothing(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    reps(b, 10, 'A', "SSSSSSSSSSSSSSSSSSSSSSSSS");
    overload_now(b, 20, 'B');
    reps(b, 30, 'B', "FFFFFFFFFFFFFFFFFFFFFFFFF");
    assert_false(overloaded(b, 'A'));
    assert_true(overloaded(b, 'B'));
    assert_int_equal(info(b, 'B').verr, 30);
    assert_int_equal(f->n_ev, 1);
    fx_free(f);
}

/* ------------------------------------------------- overload -> idle -- */

/* From vsucc 0, verr 5: 95 successes are exactly 0.95 (still overloaded), 96 go idle. */
static void overloaded_goes_idle_via_succ_rate(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.contin_succ_limit = 1000;
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "ABC");

    overload_now(b, 10, 'A');
    for (int i = 0; i < 95; i++)
        rep(b, 20, 'A', true, 0);
    assert_true(overloaded(b, 'A'));
    rep(b, 20, 'A', true, 0);
    assert_false(overloaded(b, 'A'));
    assert_int_equal(f->ev[1].kind, LB_EV_IDLE);
    assert_int_equal(f->ev[1].reason, LB_REASON_SUCC_RATE);
    assert_int_equal(f->ev[1].vsucc, 96);
    assert_int_equal(f->ev[1].verr, 5);
    /* set_idle ran; the host is at the idle list's tail. */
    lb_host_info_t a = info(b, 'A');
    assert_int_equal(a.vsucc, 180);
    assert_int_equal(a.verr + a.rsucc + a.rerr + a.contin_succ, 0);
    assert_int_equal(a.idle_ts, 20);
    assert_lists(b, "BCA", "");
    fx_free(f);
}

static void overloaded_goes_idle_via_contin_succ_limit(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "ABCD");

    overload_now(b, 10, 'B');
    overload_now(b, 10, 'C');
    reps(b, 20, 'B', "SSSSSSSSSSSSSS");
    rep(b, 20, 'B', false, 0); /* breaks the run */
    reps(b, 20, 'B', "SSSSSSSSSSSSSS");
    assert_true(overloaded(b, 'B'));
    rep(b, 20, 'B', true, 0);
    assert_false(overloaded(b, 'B'));
    assert_int_equal(f->ev[2].reason, LB_REASON_CONTIN_SUCC);
    assert_int_equal(f->ev[2].contin_succ, 15);
    assert_lists(b, "ADB", "C");
    fx_free(f);
}

static void overload_timeout_returns_idle_via_tick_without_traffic(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "ABC");

    overload_now(b, 1000, 'A');
    route_cache_tick(f->cache, 15999, NULL, NULL); /* ends B's and C's first windows */
    assert_true(overloaded(b, 'A'));
    assert_int_equal(f->n_ev, 3);
    route_cache_tick(f->cache, 16000, NULL, NULL);
    assert_false(overloaded(b, 'A'));
    assert_int_equal(f->n_ev, 4);
    assert_int_equal(f->ev[3].kind, LB_EV_IDLE);
    assert_int_equal(f->ev[3].reason, LB_REASON_OVERLOAD_TIMEOUT);
    assert_int_equal(info(b, 'A').idle_ts, 16000);
    assert_lists(b, "BCA", "");
    fx_free(f);
}

static void overload_timeout_applies_on_report(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    overload_now(b, 1000, 'A');
    rep(b, 15999, 'A', false, 0);
    assert_true(overloaded(b, 'A'));
    rep(b, 16000, 'A', false, 0); /* a failure: only the timeout can bring it back */
    assert_false(overloaded(b, 'A'));
    assert_int_equal(f->ev[1].reason, LB_REASON_OVERLOAD_TIMEOUT);
    fx_free(f);
}

/* ------------------------------------------------------------ windows -- */

/* Host A: 7 errors in 10 calls = 0.7, overloaded at the window's end (>=).
 * Host B: 6 in 10, window reset. Neither overloads during the window: the
 * virtual rate 7/190 is far below err_rate (docs/balancing.md, Worked
 * examples: small volumes need the window to overload). */
static void window_err_rate_overloads_at_window_end_inclusive(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "ABC");

    reps(b, 100, 'A', "FFFSFFFSFS");
    reps(b, 100, 'B', "FFFSFFFSSS");
    reps(b, 100, 'C', "FSFSFSFSFS"); /* 50 % errors */
    lb_tick(b, 14999);
    assert_false(overloaded(b, 'A'));
    assert_int_equal(f->n_ev, 0);
    lb_tick(b, 15000);
    assert_true(overloaded(b, 'A'));
    assert_false(overloaded(b, 'B'));
    assert_false(overloaded(b, 'C'));
    assert_int_equal(f->ev[0].kind, LB_EV_OVERLOAD);
    assert_int_equal(f->ev[0].reason, LB_REASON_WINDOW_ERR_RATE);
    assert_int_equal(f->ev[0].rsucc, 3);
    assert_int_equal(f->ev[0].rerr, 7);
    assert_int_equal(f->ev[1].kind, LB_EV_WINDOW_RESET);
    assert_int_equal(f->ev[1].rerr, 6);
    assert_int_equal(info(b, 'B').rerr, 0);
    assert_int_equal(info(b, 'B').vsucc, 180);
    assert_int_equal(info(b, 'B').idle_ts, 15000);
    assert_int_equal(info(b, 'C').idle_ts, 15000);
    assert_lists(b, "BC", "A");
    fx_free(f);
}

static void window_reset_keeps_position_in_idle_list(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "ABC");

    assert_int_equal(pick(b, 10), 'A');
    assert_int_equal(pick(b, 10), 'B');
    assert_lists(b, "CAB", "");
    reps(b, 100, 'A', "SF");
    /* A report only checks the reported host's window. */
    rep(b, 15000, 'A', true, 0);
    assert_int_equal(info(b, 'A').idle_ts, 15000);
    assert_int_equal(info(b, 'B').idle_ts, 0);
    assert_lists(b, "CAB", "");
    lb_tick(b, 15000);
    assert_int_equal(info(b, 'B').idle_ts, 15000);
    assert_int_equal(info(b, 'C').idle_ts, 15000);
    assert_lists(b, "CAB", "");
    assert_int_equal(lb_ctx_counters(f->ctx)->window_resets, 3);
    fx_free(f);
}

static void window_without_calls_resets_not_overloads(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.window_err_rate = 0.0;
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    rep(b, 5, 'B', true, 0); /* 0 errors of 1 >= 0.0 */
    lb_tick(b, 15000);
    assert_false(overloaded(b, 'A')); /* no calls: rsucc + rerr == 0 */
    assert_true(overloaded(b, 'B'));
    fx_free(f);
}

/* On a report: counts first, then the state check, then the window, so the
 * report that arrives after the window expired is counted in that window. */
static void report_counts_before_checking_window(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    reps(b, 100, 'A', "FFFSFFFSS"); /* 6/9 < 0.7 */
    reps(b, 100, 'B', "FFFSFFFSS");
    rep(b, 20000, 'A', false, 0); /* 7/10 */
    assert_true(overloaded(b, 'A'));
    assert_int_equal(f->ev[0].reason, LB_REASON_WINDOW_ERR_RATE);
    rep(b, 20000, 'B', true, 0); /* 6/10 */
    assert_false(overloaded(b, 'B'));
    assert_int_equal(f->ev[1].kind, LB_EV_WINDOW_RESET);
    assert_int_equal(f->ev[1].rsucc, 4);
    /* A state change starts a new window: no window check on that report. */
    rep(b, 40000, 'B', false, 2100);
    assert_true(overloaded(b, 'B'));
    assert_int_equal(f->ev[2].reason, LB_REASON_ERR_RATE);
    assert_int_equal(info(b, 'B').overload_ts, 40000);
    fx_free(f);
}

/* With overload_timeout 0 the window check would end an overload at once;
 * the state change on a report starts the new state without checking it. */
static void state_change_on_report_skips_window_check(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.overload_timeout_ms = 0;
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    rep(b, 10, 'A', false, 2100);
    assert_true(overloaded(b, 'A'));
    rep(b, 10, 'A', false, 0);
    assert_false(overloaded(b, 'A'));
    assert_int_equal(f->ev[1].reason, LB_REASON_OVERLOAD_TIMEOUT);
    fx_free(f);
}

static void only_ret_succ_counts_as_success(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "A");
    lb_host_t a = H('A');
    static const int codes[] = {LB_RET_OVERLOAD, LB_RET_SYSTEM_ERROR, LB_RET_NOEXIST, -1, 100};

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_int_equal(lb_report(b, 10, a.ip, a.port, codes[i], 0), 0);
    assert_int_equal(info(b, 'A').rerr, 5);
    assert_int_equal(info(b, 'A').rsucc, 0);
    assert_int_equal(lb_report(b, 10, a.ip, a.port, LB_RET_SUCC, 0), 0);
    assert_int_equal(info(b, 'A').rsucc, 1);
    assert_int_equal(info(b, 'A').contin_err, 0);
    fx_free(f);
}

/* --------------------------------------------------------- statistics -- */

static void stats_emitted_at_most_once_per_interval_and_only_after_reports(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    route_cache_tick(f->cache, 5000, NULL, NULL);
    assert_int_equal(f->n_stats, 0);
    rep(b, 5000, 'A', true, 0);
    assert_int_equal(f->n_stats, 1); /* the first one at once */
    assert_int_equal(f->last_n, 2);
    assert_int_equal(f->last_now, 5000);
    assert_int_equal(letter((lb_host_t){f->last[0].ip, 0}), 'A');
    assert_int_equal(f->last[0].port, H('A').port);
    assert_int_equal(f->last[0].succ, 1);
    assert_int_equal(f->last[1].succ, 0);
    rep(b, 5100, 'A', false, 0);
    rep(b, 5999, 'A', true, 0);
    route_cache_tick(f->cache, 5999, NULL, NULL);
    assert_int_equal(f->n_stats, 1);
    route_cache_tick(f->cache, 6000, NULL, NULL);
    assert_int_equal(f->n_stats, 2);
    assert_int_equal(f->last_now, 6000);
    assert_int_equal(f->last[0].succ, 2);
    assert_int_equal(f->last[0].err, 1);
    assert_false(f->last[0].overload);
    route_cache_tick(f->cache, 7000, NULL, NULL);
    route_cache_tick(f->cache, 9000, NULL, NULL);
    assert_int_equal(f->n_stats, 2); /* nothing reported since */
    rep(b, 9000, 'B', false, 2100);  /* overloads B: counts flushed before set_overload */
    assert_int_equal(f->n_stats, 3);
    assert_int_equal(f->last_n, 2);
    assert_int_equal(f->last[1].err, 1); /* B's count before set_overload cleared it */
    rep(b, 9500, 'B', true, 0);
    route_cache_tick(f->cache, 9999, NULL, NULL);
    assert_int_equal(f->n_stats, 3);
    route_cache_tick(f->cache, 10000, NULL, NULL);
    assert_int_equal(f->n_stats, 4);
    /* Idle list first, then overloaded, with the flag. */
    assert_int_equal(letter((lb_host_t){f->last[1].ip, 0}), 'B');
    assert_true(f->last[1].overload);
    assert_int_equal(f->last[1].succ, 1);
    assert_int_equal(lb_ctx_counters(f->ctx)->snapshots, 4);
    fx_free(f);
}

static void stats_flushed_before_window_reset_with_pre_reset_counts(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.report_interval_ms = 600000;
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "AB");

    rep(b, 100, 'A', true, 0);
    assert_int_equal(f->n_stats, 1);
    reps(b, 200, 'A', "SF");
    reps(b, 300, 'B', "S");
    assert_int_equal(f->n_stats, 1);
    lb_tick(b, 15000);
    assert_int_equal(f->n_stats, 2);
    assert_int_equal(f->last_now, 15000);
    assert_int_equal(f->last[0].succ, 2);
    assert_int_equal(f->last[0].err, 1);
    assert_int_equal(f->last[1].succ, 1);
    assert_int_equal(info(b, 'A').rsucc, 0);
    /* Nothing reported in the next window: its (empty) end sends nothing. */
    lb_tick(b, 30000);
    assert_int_equal(f->n_stats, 2);
    /* A report-triggered window end flushes too, with that report counted. */
    rep(b, 31000, 'A', false, 0);
    rep(b, 45000, 'A', true, 0);
    assert_int_equal(f->n_stats, 3);
    assert_int_equal(f->last[0].succ, 1);
    assert_int_equal(f->last[0].err, 1);
    assert_int_equal(info(b, 'A').rsucc + info(b, 'A').rerr, 0);
    fx_free(f);
}

static void stats_flushed_before_route_update_drops_a_host(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.report_interval_ms = 600000;
    fx_t *f = fx_new(&cfg);
    lb_balancer_t *b = fx_pair(f, 0, "AB");
    lb_host_t a = H('A');

    rep(b, 100, 'B', true, 0);
    rep(b, 200, 'B', false, 0);
    assert_int_equal(f->n_stats, 1);
    assert_int_equal(lb_update_route(b, 300, &a, 1), 0);
    assert_int_equal(f->n_stats, 2);
    assert_int_equal(f->last[1].err, 1);
    /* A route update that drops nothing sends nothing. */
    rep(b, 400, 'A', true, 0);
    assert_int_equal(lb_update_route(b, 500, &a, 1), 0);
    assert_int_equal(f->n_stats, 2);
    fx_free(f);
}

/* -------------------------------------------------------- route cache -- */

static void route_cache_refuses_pairs_beyond_max_pairs(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    lb_ctx_t *ctx;
    route_cache_t *c;
    lb_host_t h;
    bool pull;

    assert_int_equal(lb_ctx_new(&cfg, NULL, &ctx), 0);
    assert_int_equal(route_cache_new(ctx, 2, &c), 0);
    assert_int_equal(route_cache_get_host(c, 1, 1, 0, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    assert_int_equal(route_cache_get_host(c, 1, 2, 0, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    assert_int_equal(route_cache_get_host(c, 1, 3, 0, &h, &pull), LB_RET_NOEXIST);
    assert_false(pull);
    assert_null(route_cache_find(c, 1, 3));
    assert_int_equal(lb_ctx_counters(ctx)->pairs_refused, 1);
    assert_int_equal(route_cache_update_route(c, 1, 3, 0, &h, 0), -ENOENT);
    route_cache_free(c);
    lb_ctx_free(ctx);
}

/* Pairs an application chose to collide under the old mixer: on main,
 * 80,000 of them took seconds to create (one probe run); the chains of the
 * keyed map stay as short as for any keys. Structural, not timed. */
static void route_cache_chosen_pairs_keep_chains_short(void **state)
{
    enum { N = 80000 };
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    rx_map_stats_t st;
    lb_ctx_t *ctx;
    route_cache_t *c;
    lb_host_t h;
    bool pull;

    assert_int_equal(lb_ctx_new(&cfg, NULL, &ctx), 0);
    assert_int_equal(route_cache_new(ctx, 0, &c), 0);
    for (uint64_t i = 0; i < N; i++)
        assert_int_equal(
            route_cache_get_host(c, colliding_modid(i), colliding_cmdid(i), 0, &h, &pull),
            LB_RET_NOEXIST);
    assert_int_equal(route_cache_count(c), N);
    route_cache_map_stats(c, &st);
    printf("# route cache, %d chosen pairs: longest chain %zu in %zu buckets\n", N,
           st.longest_chain, st.buckets);
    assert_int_equal(st.count, N);
    assert_true(st.longest_chain <= 12);
    for (uint64_t i = 0; i < N; i += 101) {
        lb_balancer_t *b = route_cache_find(c, colliding_modid(i), colliding_cmdid(i));
        assert_non_null(b);
        assert_int_equal(lb_modid(b), colliding_modid(i));
        assert_int_equal(lb_cmdid(b), colliding_cmdid(i));
    }
    route_cache_free(c);
    lb_ctx_free(ctx);
}

#define PAIRS 10000
#define HOSTS 10

static lb_host_t pair_host(int32_t modid, int32_t cmdid, int k)
{
    return (lb_host_t){(int32_t)(0x0A000000u + (uint32_t)modid * 16 + (uint32_t)k), 9000 + cmdid};
}

static void route_cache_holds_10k_pairs_of_10_hosts(void **state)
{
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    lb_ctx_t *ctx;
    route_cache_t *c;
    struct mallinfo2 before = mallinfo2();

    assert_int_equal(lb_ctx_new(&cfg, NULL, &ctx), 0);
    assert_int_equal(route_cache_new(ctx, 0, &c), 0);
    for (int32_t p = 0; p < PAIRS; p++) {
        int32_t modid = p / 100 * 3, cmdid = p % 100 * 3; /* one shard's keys */
        lb_host_t hosts[HOSTS], h;
        bool pull;
        assert_int_equal(route_cache_get_host(c, modid, cmdid, 0, &h, &pull), LB_RET_NOEXIST);
        assert_true(pull);
        for (int k = 0; k < HOSTS; k++)
            hosts[k] = pair_host(modid, cmdid, k);
        assert_int_equal(route_cache_update_route(c, modid, cmdid, 1, hosts, HOSTS), 0);
    }
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(route_cache_count(c), PAIRS);

    for (int32_t p = 0; p < PAIRS; p++) {
        int32_t modid = p / 100 * 3, cmdid = p % 100 * 3;
        for (int k = 0; k < HOSTS; k++) {
            lb_host_t h;
            bool pull;
            assert_int_equal(route_cache_get_host(c, modid, cmdid, 2, &h, &pull), LB_RET_SUCC);
            assert_false(pull);
            lb_host_t want = pair_host(modid, cmdid, k);
            assert_int_equal(h.ip, want.ip);
            assert_int_equal(h.port, want.port);
        }
        lb_host_t want = pair_host(modid, cmdid, 4);
        assert_int_equal(route_cache_report(c, modid, cmdid, 3, want.ip, want.port, 0, 0), 0);
    }
    assert_null(route_cache_find(c, 1, 0));
    route_cache_tick(c, 20000, NULL, NULL);

    size_t own = route_cache_memory(c);
    size_t heap = after.uordblks > before.uordblks ? after.uordblks - before.uordblks : 0;
    printf("# route cache, %d pairs x %d hosts: %zu bytes accounted, %zu bytes malloc'd "
           "(mallinfo2; 0 under ASan)\n",
           PAIRS, HOSTS, own, heap);
    assert_true(own < 16u << 20);
    assert_true(heap < 16u << 20);
    route_cache_free(c);
    lb_ctx_free(ctx);
}

/* ------------------------------------------------- pull retry, eviction -- */

static void count_pull(int32_t modid, int32_t cmdid, void *arg)
{
    (*(int *)arg)++;
}

/* A pull that got no answer is asked again after pull_timeout_ms, then after
 * twice, four times ... as long (at most 16 times), until an answer. */
static void unanswered_pull_is_retried_with_backoff(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_host_t h, hosts[1] = {H('A')};
    bool pull;
    int pulls = 0;
    static const uint64_t due[] = {3000, 9000, 21000, 45000, 93000, 141000};

    assert_int_equal(route_cache_get_host(f->cache, MODID, CMDID, 0, &h, &pull), LB_RET_NOEXIST);
    assert_true(pull);
    /* Keep the pair asked for and not negative-evicted for this test. */
    lb_config_t cfg = LB_CONFIG_DEFAULTS;
    cfg.negative_ttl_ms = 0;
    assert_int_equal(lb_ctx_set_config(f->ctx, &cfg), 0);
    for (size_t i = 0; i < sizeof(due) / sizeof(due[0]); i++) {
        route_cache_tick(f->cache, due[i] - 1, count_pull, &pulls);
        assert_int_equal(pulls, (int)i);
        route_cache_tick(f->cache, due[i], count_pull, &pulls);
        assert_int_equal(pulls, (int)i + 1);
    }
    assert_int_equal(lb_ctx_counters(f->ctx)->pull_retries, 6);
    assert_int_equal(route_cache_update_route(f->cache, MODID, CMDID, 150000, hosts, 1), 0);
    route_cache_tick(f->cache, 400000, count_pull, &pulls);
    assert_int_equal(pulls, 6);
    fx_free(f);
}

/* Pairs nobody asked for go after pair_idle_timeout_ms; pairs without hosts
 * (answered empty, or never answered) after negative_ttl_ms. */
static void idle_and_negative_pairs_are_evicted(void **state)
{
    fx_t *f = fx_new(NULL);
    lb_host_t h, hosts[1] = {H('A')};
    bool pull;
    const lb_counters_t *c = lb_ctx_counters(f->ctx);

    /* 1/1: answered with a host, asked for now and then. 1/2: answered
     * empty. 1/3: never answered. */
    route_cache_get_host(f->cache, 1, 1, 0, &h, &pull);
    route_cache_get_host(f->cache, 1, 2, 0, &h, &pull);
    route_cache_get_host(f->cache, 1, 3, 0, &h, &pull);
    assert_int_equal(route_cache_update_route(f->cache, 1, 1, 100, hosts, 1), 0);
    assert_int_equal(route_cache_update_route(f->cache, 1, 2, 100, NULL, 0), 0);
    route_cache_tick(f->cache, 59999, NULL, NULL);
    assert_int_equal(route_cache_count(f->cache), 3);
    route_cache_tick(f->cache, 60000, NULL, NULL); /* 1/3 */
    assert_int_equal(route_cache_count(f->cache), 2);
    assert_null(route_cache_find(f->cache, 1, 3));
    route_cache_tick(f->cache, 60100, NULL, NULL); /* 1/2 */
    assert_int_equal(route_cache_count(f->cache), 1);
    assert_int_equal(c->evicted_negative, 2);
    assert_non_null(route_cache_find(f->cache, 1, 1));

    assert_int_equal(route_cache_get_host(f->cache, 1, 1, 1000000, &h, &pull), LB_RET_SUCC);
    route_cache_tick(f->cache, 1000000 + 3599999, NULL, NULL);
    assert_non_null(route_cache_find(f->cache, 1, 1));
    route_cache_tick(f->cache, 1000000 + 3600000, NULL, NULL);
    assert_null(route_cache_find(f->cache, 1, 1));
    assert_int_equal(c->evicted_idle, 1);
    assert_int_equal(route_cache_count(f->cache), 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults_match_spec),
        cmocka_unit_test(get_host_unknown_pair_answers_noexist_and_pulls_once),
        cmocka_unit_test(get_host_round_robins_over_route_in_order),
        cmocka_unit_test(empty_route_is_negative_entry_repulled_after_update_timeout),
        cmocka_unit_test(new_pair_repulls_once_after_update_timeout_until_next_update),
        cmocka_unit_test(get_route_lists_idle_then_overloaded_and_repulls_like_get_host),
        cmocka_unit_test(dns_reconnect_turns_pulling_into_new_and_lists_every_pair),
        cmocka_unit_test(report_for_unknown_host_or_pair_is_ignored_and_counted),
        cmocka_unit_test(update_route_keeps_staying_hosts_and_drops_gone_ones),
        cmocka_unit_test(update_route_random_changes_keep_lists_consistent),
        cmocka_unit_test(probe_picks_overload_head_every_probe_num_plus_one),
        cmocka_unit_test(all_overloaded_answers_overload_except_every_probe),
        cmocka_unit_test(probe_counter_untouched_while_nothing_is_overloaded),
        cmocka_unit_test(err_rate_boundary_is_exclusive),
        cmocka_unit_test(err_rate_overloads_with_interleaved_successes),
        cmocka_unit_test(small_volumes_need_a_higher_error_rate_to_overload),
        cmocka_unit_test(contin_err_limit_overloads),
        cmocka_unit_test(failure_weight_is_timecost_over_err_amplify_ms),
        cmocka_unit_test(failure_weight_is_capped_at_max_err_weight),
        cmocka_unit_test(unanswered_pull_is_retried_with_backoff),
        cmocka_unit_test(idle_and_negative_pairs_are_evicted),
        cmocka_unit_test(success_on_idle_and_failure_on_overloaded_change_nothing),
        cmocka_unit_test(overloaded_goes_idle_via_succ_rate),
        cmocka_unit_test(overloaded_goes_idle_via_contin_succ_limit),
        cmocka_unit_test(overload_timeout_returns_idle_via_tick_without_traffic),
        cmocka_unit_test(overload_timeout_applies_on_report),
        cmocka_unit_test(window_err_rate_overloads_at_window_end_inclusive),
        cmocka_unit_test(window_reset_keeps_position_in_idle_list),
        cmocka_unit_test(window_without_calls_resets_not_overloads),
        cmocka_unit_test(report_counts_before_checking_window),
        cmocka_unit_test(state_change_on_report_skips_window_check),
        cmocka_unit_test(only_ret_succ_counts_as_success),
        cmocka_unit_test(stats_emitted_at_most_once_per_interval_and_only_after_reports),
        cmocka_unit_test(stats_flushed_before_window_reset_with_pre_reset_counts),
        cmocka_unit_test(stats_flushed_before_route_update_drops_a_host),
        cmocka_unit_test(route_cache_refuses_pairs_beyond_max_pairs),
        cmocka_unit_test(route_cache_chosen_pairs_keep_chains_short),
        cmocka_unit_test(route_cache_holds_10k_pairs_of_10_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
