/*
 * liblars: the C client API of Lars. An application asks its local
 * lars-agent which node of a service (modid, cmdid) to call, then reports how
 * the call went so that the agent can steer traffic away from failing nodes.
 *
 *     lars_client_t *c = lars_open(NULL, &err);       // 127.0.0.1:8888-8890
 *     lars_reg_init(c, modid, cmdid);                  // once, warms the agent
 *     lars_host_t h;
 *     if (lars_get_host(c, modid, cmdid, &h) == LARS_SUCC) {
 *         int rc = call_the_node(h.ip_str, h.port);
 *         lars_report(c, modid, cmdid, &h, rc == 0 ? LARS_SUCC : LARS_OVERLOAD);
 *     }
 *     lars_close(c);
 *
 * Transport. The agent listens on three UDP ports, base_port + 0..2; a pair
 * is served by shard (modid + cmdid) % 3. A handle holds one connected UDP
 * socket per shard. A request is sent up to `tries` times, each try waiting
 * `timeout_ms` for the answer, so one call never takes much longer than
 * timeout_ms * tries and never blocks forever. get_host answers are matched
 * by a per-handle sequence number (and the pair); answers left over from an
 * earlier timed-out call, and datagrams that are not a valid answer, are
 * skipped. get_route answers carry no sequence number and are matched by the
 * pair. "Connection refused" (no agent listening) counts as a lost answer.
 * report is fire-and-forget: one datagram, no answer.
 *
 * Threads. The library has no global state. A handle is not thread-safe: use
 * one handle per thread (or serialise calls on a handle yourself). Any number
 * of handles may exist at once, also towards different agents.
 *
 * Return codes. Values >= 0 are the agent's answer (the protocol's codes
 * below); values < 0 are local failures, -errno style: LARS_TIMEOUT when the
 * agent did not answer within the budget, LARS_EINVAL for a bad argument, or
 * another -errno when the system refused (e.g. -EMFILE from socket()).
 * lars_strerror() describes any of them.
 */
#ifndef LARS_H
#define LARS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LARS_EXPORT __attribute__((visibility("default")))
#else
#define LARS_EXPORT
#endif

enum {
    LARS_SUCC = 0,             /* the agent answered with a host / a route */
    LARS_OVERLOAD = 1,         /* every host of the pair is overloaded */
    LARS_SYSTEM_ERROR = 2,     /* the agent failed (or answered a code we do not know) */
    LARS_NOEXIST = 3,          /* the pair has no host (yet: the agent may be pulling it) */
    LARS_TIMEOUT = -ETIMEDOUT, /* no answer within timeout_ms * tries */
    LARS_EINVAL = -EINVAL,     /* bad argument or option */
};

/* Defaults used for option fields left at 0 / NULL. */
#define LARS_DEFAULT_AGENT_HOST "127.0.0.1"
#define LARS_DEFAULT_BASE_PORT  8888
#define LARS_DEFAULT_TIMEOUT_MS 50
#define LARS_DEFAULT_TRIES      3
#define LARS_SHARDS             3
/* lars_reg_init(): route requests and the pause between them (original values). */
#define LARS_REG_INIT_TRIES       3
#define LARS_REG_INIT_INTERVAL_MS 50

/* Zero-initialise and set what you need: `lars_options_t o = {.timeout_ms = 20};` */
typedef struct lars_options {
    const char *agent_host; /* IPv4 address or name of the agent; NULL: 127.0.0.1 */
    int base_port;          /* shard i listens on base_port + i; 0: 8888 */
    int timeout_ms;         /* wait per try, 1..60000; 0: 50 */
    int tries;              /* sends per request, 1..100; 0: 3 */
} lars_options_t;

/* A node. ip is the IPv4 address as the host-order number (INET_ATON value:
 * 192.168.1.177 is 3232235953); ip_str is the same address as dotted text. */
typedef struct lars_host {
    uint32_t ip;
    int port;
    char ip_str[16];
} lars_host_t;

typedef struct lars_client lars_client_t;

/* Opens a handle (three UDP sockets; nothing is sent yet). opts may be NULL
 * for the defaults. Returns NULL on failure with *ret_err (if not NULL) set
 * to LARS_EINVAL or -errno. */
LARS_EXPORT lars_client_t *lars_open(const lars_options_t *opts, int *ret_err);
/* Closes the sockets and frees the handle. Accepts NULL. */
LARS_EXPORT void lars_close(lars_client_t *c);

/* Asks the agent for one host of (modid, cmdid). On LARS_SUCC, *ret holds the
 * host; otherwise *ret is left untouched. */
LARS_EXPORT int lars_get_host(lars_client_t *c, int modid, int cmdid, lars_host_t *ret);

/* Tells the agent how a call to host went: retcode LARS_SUCC for success,
 * any other value (the original tools send LARS_OVERLOAD) for a failure.
 * lars_report_cost() also sends how long the call took; a failure that took
 * long weighs more in the agent. timecost_ms 0 means "not given" and sends
 * exactly the original message. Only host->ip and host->port are used.
 * Returns 0 when the datagram was handed to the kernel, or -errno (the
 * report is then lost; nothing is retried). */
LARS_EXPORT int lars_report(lars_client_t *c, int modid, int cmdid, const lars_host_t *host,
                            int retcode);
LARS_EXPORT int lars_report_cost(lars_client_t *c, int modid, int cmdid, const lars_host_t *host,
                                 int retcode, unsigned timecost_ms);

/* Asks the agent for every host of (modid, cmdid). Up to cap hosts are
 * stored in buf (buf may be NULL when cap is 0); *ret_n is set to the number
 * of hosts in the route, which is more than cap when buf was too small (like
 * snprintf). Returns LARS_SUCC for a non-empty route, LARS_NOEXIST for an
 * empty one (*ret_n = 0), or a failure (*ret_n = 0). */
LARS_EXPORT int lars_get_route(lars_client_t *c, int modid, int cmdid, lars_host_t *buf, size_t cap,
                               size_t *ret_n);

/* Registers interest in (modid, cmdid) before the first get_host: asks for
 * the route up to LARS_REG_INIT_TRIES times, LARS_REG_INIT_INTERVAL_MS apart,
 * until the agent has it. Returns LARS_SUCC once the route is non-empty,
 * else the last get_route result (LARS_NOEXIST, LARS_TIMEOUT, ...). */
LARS_EXPORT int lars_reg_init(lars_client_t *c, int modid, int cmdid);

/* A static, human-readable description of any return code above. */
LARS_EXPORT const char *lars_strerror(int code);

/* What a handle skipped or retried since it was opened ("counted and
 * ignored": nothing here is an error the calls returned). New fields are
 * only ever appended, so pass sizeof(lars_stats_t): a program built with an
 * older header gets the fields it knows. */
typedef struct lars_stats {
    uint64_t stale_answers;     /* valid answers of an earlier call (seq or pair), skipped */
    uint64_t malformed_answers; /* datagrams that were no valid answer, skipped */
    uint64_t retries;           /* requests sent again after a try's timeout */
    uint64_t timeouts;          /* calls that returned LARS_TIMEOUT */
} lars_stats_t;

LARS_EXPORT void lars_get_stats(const lars_client_t *c, lars_stats_t *ret, size_t size);

/* Dotted text of a host-order IPv4 number into buf[16]; returns buf. */
LARS_EXPORT char *lars_ip_to_str(uint32_t ip, char buf[16]);
/* Parses dotted IPv4 text into the host-order number: 0 or LARS_EINVAL. */
LARS_EXPORT int lars_ip_from_str(const char *s, uint32_t *ret_ip);
/* Fills *ret from dotted text and a port (1..65535): 0 or LARS_EINVAL. */
LARS_EXPORT int lars_host_set(lars_host_t *ret, const char *ip, int port);

#ifdef __cplusplus
}
#endif

#endif
