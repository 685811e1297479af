/*
 * The `lars` command-line tool: shared types of its commands. Each command
 * gets the parsed options and its positional arguments and returns the
 * process exit status (see EXIT_* below and `lars --help`).
 */
#ifndef LARS_TOOL_H
#define LARS_TOOL_H

#include <stdbool.h>

#include "api/lars.h"

enum {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_ANSWER = 1, /* the agent answered, but not with success; or a local failure */
    TOOL_EXIT_USAGE = 2,
    TOOL_EXIT_TIMEOUT = 3, /* the agent did not answer */
};

#define TOOL_MAX_HOSTS_FAIL 64

typedef struct tool_opts {
    lars_options_t lars;
    /* report */
    unsigned cost_ms;
    bool cost_set;
    /* simulate */
    double err_rate;
    bool err_rate_set;
    long count;
    int interval_ms;
    lars_host_t hosts_fail[TOOL_MAX_HOSTS_FAIL];
    int n_hosts_fail;
    /* bench */
    int threads;
    int seconds;
    int modid_lo, modid_hi, cmdid_lo, cmdid_hi;
    bool pair_set;
} tool_opts_t;

/* Parses a decimal integer in [lo, hi]; false when it is not one. */
bool tool_parse_int(const char *s, long lo, long hi, long *ret);
/* "A" or "A-B" with lo <= A <= B <= hi. */
bool tool_parse_range(const char *s, long lo, long hi, int *ret_a, int *ret_b);
/* Exit status for a liblars result, after printing what failed to stderr. */
int tool_exit_for(int code, const char *what);
/* Prints "lars: MSG" and the usage hint to stderr; returns TOOL_EXIT_USAGE. */
int tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int tool_simulate(const tool_opts_t *o, int modid, int cmdid);
int tool_bench(const tool_opts_t *o);

#endif
