/*
 * lars-agent config keys (docs/configuration.md, lars-agent) and what is
 * derived from them: the balancer settings and the caller IP reported to
 * lars-reporter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemons/agent/agent.h"

const lars_conf_key_t agent_conf_keys[] = {
    LARS_CONF_LOG_LEVEL_KEY(agent_settings_t, log_level),
    LARS_CONF_STRING_KEY("listen_host", agent_settings_t, listen_host, "127.0.0.1",
                         "address of the three UDP shards when systemd passes no sockets"),
    LARS_CONF_INT_KEY("base_port", agent_settings_t, base_port, 8888, 1, 65533,
                      "shard i listens on base_port + i (restart to change)"),
    LARS_CONF_STRV_KEY("dns.servers", agent_settings_t, dns_servers, "127.0.0.1:7778",
                       "lars-dns addresses, tried in turn (restart to change)"),
    LARS_CONF_STRV_KEY("reporter.servers", agent_settings_t, reporter_servers, "127.0.0.1:7779",
                       "lars-reporter addresses, tried in turn (restart to change)"),
    LARS_CONF_STRING_KEY("caller_ip", agent_settings_t, caller_ip, "",
                         "this host's IPv4 in statistics; empty: detected (restart to change)"),
    LARS_CONF_INT_KEY("report_interval_ms", agent_settings_t, report_interval_ms, 1000, 1, 86400000,
                      "least time between two statistics of one pair"),
    LARS_CONF_INT_KEY("max_frame", agent_settings_t, max_frame, 4194304, 65527, 4194304,
                      "largest frame body accepted from lars-dns (restart to change)"),
    LARS_CONF_INT_KEY("max_pairs", agent_settings_t, max_pairs, 3000000, 3, 300000000,
                      "pairs the agent caches at most (restart to change)"),
    LARS_CONF_INT_KEY("loadbalance.probe_num", agent_settings_t, probe_num, 10, 0, 1000000000,
                      "picks between two probes of an overloaded host"),
    LARS_CONF_INT_KEY("loadbalance.init_succ_cnt", agent_settings_t, init_succ_cnt, 180, 0,
                      1000000000, "virtual successes of a host that becomes idle"),
    LARS_CONF_INT_KEY("loadbalance.init_err_cnt", agent_settings_t, init_err_cnt, 5, 0, 1000000000,
                      "virtual errors of a host that becomes overloaded"),
    LARS_CONF_FLOAT_KEY("loadbalance.err_rate", agent_settings_t, err_rate, 0.1, 0.0, 1.0,
                        "idle host: overloaded above this virtual error rate"),
    LARS_CONF_FLOAT_KEY("loadbalance.succ_rate", agent_settings_t, succ_rate, 0.95, 0.0, 1.0,
                        "overloaded host: idle above this virtual success rate"),
    LARS_CONF_INT_KEY("loadbalance.contin_err_limit", agent_settings_t, contin_err_limit, 15, 1,
                      1000000000, "consecutive failures that overload an idle host"),
    LARS_CONF_INT_KEY("loadbalance.contin_succ_limit", agent_settings_t, contin_succ_limit, 15, 1,
                      1000000000, "consecutive successes that free an overloaded host"),
    LARS_CONF_FLOAT_KEY("loadbalance.window_err_rate", agent_settings_t, window_err_rate, 0.7, 0.0,
                        1.0, "real error rate that overloads a host at its window's end"),
    LARS_CONF_INT_KEY("loadbalance.idle_timeout", agent_settings_t, idle_timeout, 15, 1, 86400,
                      "seconds of an idle host's statistics window"),
    LARS_CONF_INT_KEY("loadbalance.overload_timeout", agent_settings_t, overload_timeout, 15, 1,
                      86400, "seconds after which an overloaded host is idle again"),
    LARS_CONF_INT_KEY("loadbalance.update_timeout", agent_settings_t, update_timeout, 15, 1, 86400,
                      "seconds after which a route is pulled again on use"),
    LARS_CONF_INT_KEY("loadbalance.err_amplify_ms", agent_settings_t, err_amplify_ms, 100, 0,
                      86400000, "a failure weighs timecost_ms / this (0: always 1)"),
    LARS_CONF_INT_KEY("loadbalance.max_err_weight", agent_settings_t, max_err_weight, 100, 0,
                      1000000000, "most one failure may weigh, whatever its timecost (0: no cap)"),
    LARS_CONF_INT_KEY("pull_timeout_ms", agent_settings_t, pull_timeout_ms, 3000, 0, 86400000,
                      "a route request unanswered this long is sent again, backing off (0: never)"),
    LARS_CONF_INT_KEY("pair_idle_timeout_s", agent_settings_t, pair_idle_timeout_s, 3600, 0,
                      31536000, "pairs nobody asked for this long are evicted (0: never)"),
    LARS_CONF_INT_KEY("negative_ttl_s", agent_settings_t, negative_ttl_s, 60, 0, 31536000,
                      "pairs without hosts are evicted after this long (0: never)"),
    LARS_CONF_INT_KEY("dns.dead_peer_timeout_ms", agent_settings_t, dns_dead_peer_timeout_ms, 20000,
                      0, 3600000,
                      "a silent lars-dns is given up within this bound (0: kernel default; "
                      "restart to change)"),
    LARS_CONF_INT_KEY("reporter.dead_peer_timeout_ms", agent_settings_t,
                      reporter_dead_peer_timeout_ms, 20000, 0, 3600000,
                      "a silent lars-reporter is given up within this bound (0: kernel default; "
                      "restart to change)"),
};
const size_t agent_conf_nkeys = LARS_CONF_NKEYS(agent_conf_keys);

void agent_settings_lb_config(const agent_settings_t *s, lb_config_t *ret)
{
    *ret = (lb_config_t){
        .probe_num = (uint32_t)s->probe_num,
        .init_succ_cnt = (uint32_t)s->init_succ_cnt,
        .init_err_cnt = (uint32_t)s->init_err_cnt,
        .err_rate = s->err_rate,
        .succ_rate = s->succ_rate,
        .contin_err_limit = (uint32_t)s->contin_err_limit,
        .contin_succ_limit = (uint32_t)s->contin_succ_limit,
        .window_err_rate = s->window_err_rate,
        .idle_timeout_ms = (uint64_t)s->idle_timeout * 1000,
        .overload_timeout_ms = (uint64_t)s->overload_timeout * 1000,
        .update_timeout_ms = (uint64_t)s->update_timeout * 1000,
        .err_amplify_ms = (uint32_t)s->err_amplify_ms,
        .max_err_weight = (uint32_t)s->max_err_weight,
        .report_interval_ms = (uint64_t)s->report_interval_ms,
        .pull_timeout_ms = (uint64_t)s->pull_timeout_ms,
        .pair_idle_timeout_ms = (uint64_t)s->pair_idle_timeout_s * 1000,
        .negative_ttl_ms = (uint64_t)s->negative_ttl_s * 1000,
    };
}

static bool is_loopback(uint32_t ip)
{
    return (ip >> 24) == 127;
}

/* The source address the kernel picks toward `addr` (no packet is sent);
 * -EAFNOSUPPORT when it is not IPv4 (the reported caller is an IPv4
 * address). */
static int route_source(const char *addr, uint32_t *ret_ip)
{
    rx_addr_t sa, src;
    int fd, r;

    r = rx_addr_parse(addr, &sa);
    if (r < 0)
        return r;
    fd = socket(sa.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    r = connect(fd, rx_addr_sa(&sa), sa.len) < 0 ? -errno : rx_addr_of_socket(fd, &src);
    close(fd);
    if (r == 0)
        r = rx_addr_ipv4(&src, ret_ip);
    return r;
}

static int first_interface_ip(uint32_t *ret_ip)
{
    struct ifaddrs *list, *i;
    int r = -ENOENT;

    if (getifaddrs(&list) < 0)
        return -errno;
    for (i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
            continue;
        uint32_t ip = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if (is_loopback(ip))
            continue;
        *ret_ip = ip;
        r = 0;
        break;
    }
    freeifaddrs(list);
    return r;
}

/* caller_ip when set; otherwise the source address toward the first
 * lars-dns server, unless that is loopback (lars-dns on this host), then
 * the first non-loopback IPv4 of an interface that is up, and 127.0.0.1
 * as the last resort. */
int agent_settings_caller_ip(const agent_settings_t *s, uint32_t *ret_ip)
{
    struct in_addr in;
    uint32_t ip = 0;

    if (s->caller_ip && s->caller_ip[0]) {
        if (inet_pton(AF_INET, s->caller_ip, &in) != 1)
            return -EINVAL;
        *ret_ip = ntohl(in.s_addr);
        return 0;
    }
    if (s->dns_servers.n > 0 && route_source(s->dns_servers.v[0], &ip) == 0 && ip &&
        !is_loopback(ip)) {
        *ret_ip = ip;
        return 0;
    }
    if (first_interface_ip(&ip) == 0) {
        *ret_ip = ip;
        return 0;
    }
    *ret_ip = INADDR_LOOPBACK;
    return 0;
}
