/*
 * `lars simulate`: plays an application that calls a service through Lars
 * (get_host, "call", report) where calls fail at random or only on chosen
 * hosts, to watch the agent steer traffic: it prints when a host leaves or
 * joins the rotation and, at the end, per-host successes and failures.
 *
 * "In rotation" is judged per window of calls: a host is being chosen when it
 * got at least half of a fair share (1 / hosts) of the window's calls. An
 * overloaded host that the agent only probes now and then stays below that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tools/lars/tool.h"

#define SIM_MAX_HOSTS 1024

typedef struct sim_host {
    lars_host_t h;
    long succ, fail;
    long window_picks;
    bool chosen;
} sim_host_t;

typedef struct sim {
    sim_host_t hosts[SIM_MAX_HOSTS];
    int n_hosts;
    long untracked; /* picks of hosts beyond SIM_MAX_HOSTS */
    long overload, noexist, timeout, other;
    size_t route_size;
    struct timespec t0;
} sim_t;

static double elapsed_s(const sim_t *s)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - s->t0.tv_sec) + (double)(now.tv_nsec - s->t0.tv_nsec) / 1e9;
}

static sim_host_t *sim_host_find(sim_t *s, const lars_host_t *h)
{
    for (int i = 0; i < s->n_hosts; i++)
        if (s->hosts[i].h.ip == h->ip && s->hosts[i].h.port == h->port)
            return &s->hosts[i];
    if (s->n_hosts == SIM_MAX_HOSTS)
        return NULL;
    s->hosts[s->n_hosts] = (sim_host_t){.h = *h};
    return &s->hosts[s->n_hosts++];
}

static bool host_listed(const tool_opts_t *o, const lars_host_t *h)
{
    for (int i = 0; i < o->n_hosts_fail; i++)
        if (o->hosts_fail[i].ip == h->ip && o->hosts_fail[i].port == h->port)
            return true;
    return false;
}

static bool call_fails(const tool_opts_t *o, const lars_host_t *h, unsigned short rng[3])
{
    double p = o->err_rate_set ? o->err_rate : (o->n_hosts_fail ? 1.0 : 0.2);

    if (o->n_hosts_fail && !host_listed(o, h))
        return false;
    return erand48(rng) < p;
}

static int sim_window(const sim_t *s)
{
    int k = s->n_hosts > (int)s->route_size ? s->n_hosts : (int)s->route_size;

    return k * 10 < 20 ? 20 : k * 10;
}

static void sim_window_end(sim_t *s, long call, int window)
{
    long k = s->n_hosts > (long)s->route_size ? s->n_hosts : (long)s->route_size;

    for (int i = 0; i < s->n_hosts; i++) {
        sim_host_t *h = &s->hosts[i];
        bool chosen = h->window_picks * 2 * k >= window;

        if (chosen != h->chosen)
            printf("call %6ld  t=%7.3fs  %s:%d %s being chosen (%ld of the last %d calls)\n", call,
                   elapsed_s(s), h->h.ip_str, h->h.port, chosen ? "starts" : "stops",
                   h->window_picks, window);
        h->chosen = chosen;
        h->window_picks = 0;
    }
}

static void sim_one_call(sim_t *s, const tool_opts_t *o, lars_client_t *c, int modid, int cmdid,
                         unsigned short rng[3])
{
    lars_host_t h;
    sim_host_t *sh;
    bool fails;
    int r;

    r = lars_get_host(c, modid, cmdid, &h);
    if (r != LARS_SUCC) {
        s->overload += r == LARS_OVERLOAD;
        s->noexist += r == LARS_NOEXIST;
        s->timeout += r == LARS_TIMEOUT;
        s->other += r != LARS_OVERLOAD && r != LARS_NOEXIST && r != LARS_TIMEOUT;
        return;
    }
    fails = call_fails(o, &h, rng);
    lars_report(c, modid, cmdid, &h, fails ? LARS_OVERLOAD : LARS_SUCC);
    sh = sim_host_find(s, &h);
    if (!sh) {
        s->untracked++;
        return;
    }
    sh->window_picks++;
    if (fails)
        sh->fail++;
    else
        sh->succ++;
}

static void sim_print_summary(const sim_t *s, long count)
{
    printf("\n%-22s %8s %8s  %s\n", "host", "success", "failure", "chosen at the end");
    for (int i = 0; i < s->n_hosts; i++) {
        char addr[32];

        snprintf(addr, sizeof(addr), "%s:%d", s->hosts[i].h.ip_str, s->hosts[i].h.port);
        printf("%-22s %8ld %8ld  %s\n", addr, s->hosts[i].succ, s->hosts[i].fail,
               s->hosts[i].chosen ? "yes" : "no");
    }
    if (s->untracked)
        printf("(%ld calls to hosts beyond the first %d not listed)\n", s->untracked,
               SIM_MAX_HOSTS);
    printf("\n%ld calls: %ld overload answers, %ld no host, %ld timeouts, %ld other errors\n",
           count, s->overload, s->noexist, s->timeout, s->other);
}

int tool_simulate(const tool_opts_t *o, int modid, int cmdid)
{
    long count = o->count ? o->count : 100;
    int interval_ms = o->interval_ms >= 0 ? o->interval_ms : 6;
    unsigned short rng[3];
    lars_client_t *c;
    sim_t *s;
    int r, window, in_window = 0;
    long i;

    c = lars_open(&o->lars, &r);
    if (!c)
        return tool_exit_for(r, "simulate");
    s = calloc(1, sizeof(*s));
    if (!s) {
        lars_close(c);
        return tool_exit_for(-ENOMEM, "simulate");
    }
    r = lars_reg_init(c, modid, cmdid);
    if (r == LARS_TIMEOUT)
        goto out;
    if (r != LARS_SUCC)
        printf("pair %d/%d has no host yet (%s); simulating anyway\n", modid, cmdid,
               lars_strerror(r));
    lars_get_route(c, modid, cmdid, NULL, 0, &s->route_size);

    clock_gettime(CLOCK_MONOTONIC, &s->t0);
    rng[0] = (unsigned short)s->t0.tv_nsec;
    rng[1] = (unsigned short)getpid();
    rng[2] = (unsigned short)(s->t0.tv_nsec >> 16);
    window = sim_window(s);
    for (i = 1; i <= count; i++) {
        sim_one_call(s, o, c, modid, cmdid, rng);
        if (++in_window == window || i == count) {
            sim_window_end(s, i, in_window);
            in_window = 0;
            window = sim_window(s);
        }
        if (interval_ms > 0 && i < count)
            usleep((useconds_t)interval_ms * 1000);
    }
    sim_print_summary(s, count);
    r = LARS_SUCC;
out:
    free(s);
    lars_close(c);
    return tool_exit_for(r, "simulate");
}
