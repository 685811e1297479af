/*
 * `lars`: the client-side command-line tool. It talks to the local lars-agent
 * through liblars, like an application would: ask for a host or a route,
 * report a call result, simulate an application's traffic, or measure QPS.
 * This file holds option parsing, help and the one-shot commands.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/lars/tool.h"

static const char help_text[] =
    "Usage: lars [OPTIONS] COMMAND ARGS...\n"
    "\n"
    "Client-side tool of Lars: asks the local lars-agent over UDP through liblars.\n"
    "\n"
    "Commands:\n"
    "  get-host MODID CMDID       register the pair (as reg_init does) and print one host\n"
    "                             chosen by the agent, as IP:PORT\n"
    "  get-route MODID CMDID      print every host of the pair, one IP:PORT per line\n"
    "  report MODID CMDID IP PORT succ|fail [--cost MS]\n"
    "                             report one call result (fail sends retcode 1, as the\n"
    "                             original tools; a number sends that retcode); --cost\n"
    "                             adds the call's duration in milliseconds\n"
    "  simulate MODID CMDID [--err-rate P] [--count N] [--interval MS]\n"
    "           [--hosts-fail IP:PORT,...]\n"
    "                             loop get-host + report like an application whose calls\n"
    "                             fail with probability P (0..1, default 0.2); with\n"
    "                             --hosts-fail only the listed hosts fail (with P, default\n"
    "                             1). N calls (default 100), MS ms apart (default 6).\n"
    "                             Prints when a host stops or starts being chosen and a\n"
    "                             per-host table of successes and failures\n"
    "  bench [--threads N] [--seconds S] [--modid A[-B]] [--cmdid C[-D]]\n"
    "                             N threads (default 1), each with its own handle, loop\n"
    "                             get-host + report for S seconds (default 5) over the\n"
    "                             pairs in the ranges (default 1 and 1); prints QPS per\n"
    "                             thread and in total, and get-host latency p50/p99\n"
    "\n"
    "Options (anywhere on the line):\n"
    "  --agent HOST     agent address (default 127.0.0.1)\n"
    "  --port BASE      agent base UDP port; shard i is BASE+i (default 8888)\n"
    "  --timeout MS     wait per try (default 50)\n"
    "  --retries N      resends after the first try (default 2, i.e. 3 tries)\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the agent answered without success (no host: NOEXIST; all hosts overloaded:\n"
    "     OVERLOAD; SYSTEM_ERROR), or a local failure\n"
    "  2  usage error\n"
    "  3  the agent did not answer in time (not running?)\n";

enum {
    OPT_AGENT = 256,
    OPT_PORT,
    OPT_TIMEOUT,
    OPT_RETRIES,
    OPT_COST,
    OPT_ERR_RATE,
    OPT_COUNT,
    OPT_INTERVAL,
    OPT_HOSTS_FAIL,
    OPT_THREADS,
    OPT_SECONDS,
    OPT_MODID,
    OPT_CMDID,
};

static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"agent", required_argument, NULL, OPT_AGENT},
    {"port", required_argument, NULL, OPT_PORT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"cost", required_argument, NULL, OPT_COST},
    {"err-rate", required_argument, NULL, OPT_ERR_RATE},
    {"count", required_argument, NULL, OPT_COUNT},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"hosts-fail", required_argument, NULL, OPT_HOSTS_FAIL},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"modid", required_argument, NULL, OPT_MODID},
    {"cmdid", required_argument, NULL, OPT_CMDID},
    {0},
};

bool tool_parse_int(const char *s, long lo, long hi, long *ret)
{
    char *end;
    long v;

    if (!s || !*s)
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *ret = v;
    return true;
}

bool tool_parse_range(const char *s, long lo, long hi, int *ret_a, int *ret_b)
{
    char buf[64];
    char *dash;
    long a, b;

    if (strlen(s) >= sizeof(buf))
        return false;
    strcpy(buf, s);
    dash = strchr(buf, '-');
    if (dash)
        *dash = '\0';
    if (!tool_parse_int(buf, lo, hi, &a))
        return false;
    b = a;
    if (dash && !tool_parse_int(dash + 1, a, hi, &b))
        return false;
    *ret_a = (int)a;
    *ret_b = (int)b;
    return true;
}

int tool_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("lars: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'lars --help'.\n", stderr);
    return TOOL_EXIT_USAGE;
}

int tool_exit_for(int code, const char *what)
{
    if (code == LARS_SUCC)
        return TOOL_EXIT_OK;
    fprintf(stderr, "lars: %s: %s\n", what, lars_strerror(code));
    return code == LARS_TIMEOUT ? TOOL_EXIT_TIMEOUT : TOOL_EXIT_ANSWER;
}

static bool parse_host_port(const char *s, lars_host_t *ret)
{
    char buf[64];
    char *colon;
    long port;

    if (strlen(s) >= sizeof(buf))
        return false;
    strcpy(buf, s);
    colon = strrchr(buf, ':');
    if (!colon)
        return false;
    *colon = '\0';
    return tool_parse_int(colon + 1, 1, 65535, &port) && lars_host_set(ret, buf, (int)port) == 0;
}

static bool parse_hosts_fail(char *list, tool_opts_t *o)
{
    char *save = NULL;

    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_hosts_fail == TOOL_MAX_HOSTS_FAIL ||
            !parse_host_port(tok, &o->hosts_fail[o->n_hosts_fail]))
            return false;
        o->n_hosts_fail++;
    }
    return o->n_hosts_fail > 0;
}

static bool parse_rate(const char *s, double *ret)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
        return false;
    *ret = v;
    return true;
}

/* Returns -1 to go on, or an exit status. */
static int parse_option(int opt, char *arg, tool_opts_t *o)
{
    long v;

    switch (opt) {
    case 'h':
        fputs(help_text, stdout);
        return TOOL_EXIT_OK;
    case OPT_AGENT:
        o->lars.agent_host = arg;
        return -1;
    case OPT_PORT:
        if (!tool_parse_int(arg, 1, 65533, &v))
            return tool_usage_error("--port: expected 1..65533, got '%s'", arg);
        o->lars.base_port = (int)v;
        return -1;
    case OPT_TIMEOUT:
        if (!tool_parse_int(arg, 1, 60000, &v))
            return tool_usage_error("--timeout: expected 1..60000 ms, got '%s'", arg);
        o->lars.timeout_ms = (int)v;
        return -1;
    case OPT_RETRIES:
        if (!tool_parse_int(arg, 0, 99, &v))
            return tool_usage_error("--retries: expected 0..99, got '%s'", arg);
        o->lars.tries = (int)v + 1;
        return -1;
    case OPT_COST:
        if (!tool_parse_int(arg, 0, 86400000, &v))
            return tool_usage_error("--cost: expected milliseconds, got '%s'", arg);
        o->cost_ms = (unsigned)v;
        o->cost_set = true;
        return -1;
    case OPT_ERR_RATE:
        if (!parse_rate(arg, &o->err_rate))
            return tool_usage_error("--err-rate: expected a probability 0..1, got '%s'", arg);
        o->err_rate_set = true;
        return -1;
    case OPT_COUNT:
        if (!tool_parse_int(arg, 1, 100000000, &o->count))
            return tool_usage_error("--count: expected 1..100000000, got '%s'", arg);
        return -1;
    case OPT_INTERVAL:
        if (!tool_parse_int(arg, 0, 60000, &v))
            return tool_usage_error("--interval: expected 0..60000 ms, got '%s'", arg);
        o->interval_ms = (int)v;
        return -1;
    case OPT_HOSTS_FAIL:
        if (!parse_hosts_fail(arg, o))
            return tool_usage_error("--hosts-fail: expected IP:PORT[,IP:PORT...], got '%s'", arg);
        return -1;
    case OPT_THREADS:
        if (!tool_parse_int(arg, 1, 256, &v))
            return tool_usage_error("--threads: expected 1..256, got '%s'", arg);
        o->threads = (int)v;
        return -1;
    case OPT_SECONDS:
        if (!tool_parse_int(arg, 1, 3600, &v))
            return tool_usage_error("--seconds: expected 1..3600, got '%s'", arg);
        o->seconds = (int)v;
        return -1;
    case OPT_MODID:
        if (!tool_parse_range(arg, 0, INT32_MAX, &o->modid_lo, &o->modid_hi))
            return tool_usage_error("--modid: expected ID or ID-ID, got '%s'", arg);
        o->pair_set = true;
        return -1;
    case OPT_CMDID:
        if (!tool_parse_range(arg, 0, INT32_MAX, &o->cmdid_lo, &o->cmdid_hi))
            return tool_usage_error("--cmdid: expected ID or ID-ID, got '%s'", arg);
        o->pair_set = true;
        return -1;
    default:
        /* getopt_long has said what was wrong. */
        fputs("Try 'lars --help'.\n", stderr);
        return TOOL_EXIT_USAGE;
    }
}

static bool parse_pair(char **argv, int *ret_modid, int *ret_cmdid)
{
    long m, c;

    if (!tool_parse_int(argv[0], 0, INT32_MAX, &m) || !tool_parse_int(argv[1], 0, INT32_MAX, &c))
        return false;
    *ret_modid = (int)m;
    *ret_cmdid = (int)c;
    return true;
}

static lars_client_t *open_client(const tool_opts_t *o)
{
    lars_client_t *c;
    int err;

    c = lars_open(&o->lars, &err);
    if (!c)
        fprintf(stderr, "lars: cannot open the client (agent %s): %s\n",
                o->lars.agent_host ? o->lars.agent_host : LARS_DEFAULT_AGENT_HOST,
                lars_strerror(err));
    return c;
}

static int cmd_get_host(const tool_opts_t *o, int modid, int cmdid)
{
    char what[64];
    lars_client_t *c;
    lars_host_t h;
    int r;

    c = open_client(o);
    if (!c)
        return TOOL_EXIT_ANSWER;
    snprintf(what, sizeof(what), "get-host %d %d", modid, cmdid);
    /* Like the original tool: a fresh agent answers NOEXIST until it has
     * pulled the route, so register first; only a silent agent stops us. */
    r = lars_reg_init(c, modid, cmdid);
    if (r != LARS_TIMEOUT)
        r = lars_get_host(c, modid, cmdid, &h);
    if (r == LARS_SUCC)
        printf("%s:%d\n", h.ip_str, h.port);
    lars_close(c);
    return tool_exit_for(r, what);
}

static int cmd_get_route(const tool_opts_t *o, int modid, int cmdid)
{
    lars_host_t *buf = NULL;
    size_t cap = 1024, n = 0;
    char what[64];
    lars_client_t *c;
    int r;

    c = open_client(o);
    if (!c)
        return TOOL_EXIT_ANSWER;
    snprintf(what, sizeof(what), "get-route %d %d", modid, cmdid);
    r = lars_reg_init(c, modid, cmdid);
    /* The route may grow between two answers: retry a few times with room
     * for what the agent said. */
    for (int attempt = 0; r != LARS_TIMEOUT && attempt < 3; attempt++) {
        lars_host_t *nbuf = realloc(buf, cap * sizeof(*buf));

        if (!nbuf) {
            r = -ENOMEM;
            break;
        }
        buf = nbuf;
        r = lars_get_route(c, modid, cmdid, buf, cap, &n);
        if (n <= cap)
            break;
        cap = n;
    }
    for (size_t i = 0; r == LARS_SUCC && i < n && i < cap; i++)
        printf("%s:%d\n", buf[i].ip_str, buf[i].port);
    free(buf);
    lars_close(c);
    return tool_exit_for(r, what);
}

static int cmd_report(const tool_opts_t *o, int modid, int cmdid, char **argv)
{
    lars_host_t h;
    lars_client_t *c;
    long port, retcode;
    int r;

    if (!tool_parse_int(argv[1], 1, 65535, &port) || lars_host_set(&h, argv[0], (int)port) < 0)
        return tool_usage_error("report: bad host '%s' port '%s'", argv[0], argv[1]);
    if (strcmp(argv[2], "succ") == 0)
        retcode = LARS_SUCC;
    else if (strcmp(argv[2], "fail") == 0)
        retcode = LARS_OVERLOAD;
    else if (!tool_parse_int(argv[2], INT32_MIN, INT32_MAX, &retcode))
        return tool_usage_error("report: expected succ, fail or a retcode, got '%s'", argv[2]);

    c = open_client(o);
    if (!c)
        return TOOL_EXIT_ANSWER;
    r = lars_report_cost(c, modid, cmdid, &h, (int)retcode, o->cost_ms);
    lars_close(c);
    if (r < 0) {
        fprintf(stderr, "lars: report: %s\n", lars_strerror(r));
        return TOOL_EXIT_ANSWER;
    }
    printf("reported %d %d %s:%d %s", modid, cmdid, h.ip_str, h.port,
           retcode == LARS_SUCC ? "succ" : "fail");
    if (o->cost_set)
        printf(" cost %u ms", o->cost_ms);
    putchar('\n');
    return TOOL_EXIT_OK;
}

static int check_args(const char *cmd, int nargs, int want, bool extra_opts_ok,
                      const tool_opts_t *o)
{
    if (nargs != want)
        return tool_usage_error("%s: expected %d arguments, got %d", cmd, want, nargs);
    if (!extra_opts_ok)
        return tool_usage_error("%s: option not valid for this command", cmd);
    return -1;
}

static int run_command(const tool_opts_t *o, int argc, char **argv)
{
    const char *cmd = argv[0];
    bool sim_opts = o->err_rate_set || o->count || o->interval_ms >= 0 || o->n_hosts_fail;
    bool bench_opts = o->threads || o->seconds || o->pair_set;
    int modid, cmdid, r;

    if (strcmp(cmd, "bench") == 0) {
        r = check_args(cmd, argc - 1, 0, !o->cost_set && !sim_opts, o);
        return r >= 0 ? r : tool_bench(o);
    }
    if (strcmp(cmd, "get-host") && strcmp(cmd, "get-route") && strcmp(cmd, "report") &&
        strcmp(cmd, "simulate"))
        return tool_usage_error("unknown command '%s'", cmd);
    if (argc < 3 || !parse_pair(argv + 1, &modid, &cmdid))
        return tool_usage_error("%s: expected MODID CMDID (numbers >= 0)", cmd);

    if (strcmp(cmd, "get-host") == 0) {
        r = check_args(cmd, argc - 1, 2, !o->cost_set && !sim_opts && !bench_opts, o);
        return r >= 0 ? r : cmd_get_host(o, modid, cmdid);
    }
    if (strcmp(cmd, "get-route") == 0) {
        r = check_args(cmd, argc - 1, 2, !o->cost_set && !sim_opts && !bench_opts, o);
        return r >= 0 ? r : cmd_get_route(o, modid, cmdid);
    }
    if (strcmp(cmd, "report") == 0) {
        r = check_args(cmd, argc - 1, 5, !sim_opts && !bench_opts, o);
        return r >= 0 ? r : cmd_report(o, modid, cmdid, argv + 3);
    }
    r = check_args(cmd, argc - 1, 2, !o->cost_set && !bench_opts, o);
    return r >= 0 ? r : tool_simulate(o, modid, cmdid);
}

int main(int argc, char **argv)
{
    /* bench's pair range defaults to modid 1, cmdid 1. */
    tool_opts_t o = {.interval_ms = -1, .modid_lo = 1, .modid_hi = 1, .cmdid_lo = 1, .cmdid_hi = 1};
    int opt, r;

    while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        r = parse_option(opt, optarg, &o);
        if (r >= 0)
            return r;
    }
    if (optind >= argc)
        return tool_usage_error("no command given");
    return run_command(&o, argc - optind, argv + optind);
}
