/*
 * The bare route server bench-dns measures lars-dns' get_route rate against
 * (bench/dns/baseline_dns.c).
 */
#ifndef LARS_BENCH_BASELINE_DNS_H
#define LARS_BENCH_BASELINE_DNS_H

#include <stddef.h>
#include <stdint.h>

#define BASELINE_DNS_MAX_HOSTS 64

typedef struct baseline_dns baseline_dns_t;

/* Gives the next pair's hosts (at most BASELINE_DNS_MAX_HOSTS); returns
 * how many, 0 at the end. */
typedef size_t (*baseline_dns_route_fn)(void *ctx, int32_t *ret_modid, int32_t *ret_cmdid,
                                        int32_t *ret_ips, int32_t *ret_ports);

/* Encodes every pair's answer, listens on 127.0.0.1 (any port) and serves
 * with `threads` threads until baseline_dns_free. 0 or -1. */
int baseline_dns_new(baseline_dns_route_fn next, void *ctx, int32_t modid_max, int32_t cmdid_span,
                     unsigned threads, baseline_dns_t **ret);
int baseline_dns_port(const baseline_dns_t *b);
void baseline_dns_free(baseline_dns_t *b);

#endif
