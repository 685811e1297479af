/*
 * Named network namespaces for multi-host tests: each test run creates its
 * own (`ip netns add`, names carrying the test's pid), wires them with veth
 * pairs, and moves the calling thread in and out of them with setns(), so
 * that everything the thread then creates -- sockets, and children forked
 * from it such as daemons started through the harness or MariaDB -- lives
 * "on that host". Only private addresses on links inside the namespaces are
 * used: no traffic leaves them.
 *
 * Every namespace created here is deleted by netns_cleanup(), which also
 * runs at exit() and on SIGINT/SIGTERM/SIGHUP; namespaces left over by an
 * earlier run that was SIGKILLed (its pid gone) are deleted on the next
 * netns_create(). The functions are meant for one thread (the test's main
 * thread) except netns_enter/netns_leave, which act on the calling thread.
 */
#ifndef LARS_HARNESS_NETNS_H
#define LARS_HARNESS_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#define NETNS_NAME_MAX 48

/* Whether namespaces can be created here; if not, why in `why`. */
bool netns_supported(char *why, size_t size);

/* Creates "lars-e2e-<pid>-<tag>" with loopback up; its name goes to
 * ret_name (NETNS_NAME_MAX bytes). 0 or -errno. */
int netns_create(const char *tag, char *ret_name);

/* Runs `ip` with the arguments (split on spaces), e.g.
 * netns_ip("-n %s addr add 10.250.1.1/24 dev va", ns). 0 or -errno
 * (-EIO when ip failed; its stderr shows the reason). */
int netns_ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Moves the calling thread into namespace `name` / back to the namespace it
 * was in before its first netns_enter(). 0 or -errno. */
int netns_enter(const char *name);
int netns_leave(void);

/* Runs argv in namespace `name` (NULL: the current one), waits for it, and
 * returns its exit status (0..255), or -errno when it could not run or was
 * killed. Its stdout goes to out (NUL-terminated, truncated) when out is
 * not NULL, its stderr to ours. */
int netns_run(const char *name, const char *const *argv, char *out, size_t size);

/* Deletes every namespace this process created. Safe to call twice. */
void netns_cleanup(void);

#endif
