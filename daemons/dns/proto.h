/*
 * lars-dns wire bodies: GetRouteRequest decoding through protobuf-c (with a
 * stack arena, so a request allocates nothing) and a direct GetRouteResponse
 * encoder that writes the protobuf bytes from a snapshot's host array without
 * building protobuf-c message structs (one per host) first.
 */
#ifndef LARS_DNS_PROTO_H
#define LARS_DNS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "daemons/dns/route_table.h"

/* 0, or -EBADMSG when the body is not a GetRouteRequest. */
int dns_route_request_decode(const uint8_t *body, size_t len, int32_t *ret_modid,
                             int32_t *ret_cmdid);

/* Exact encoded size of GetRouteResponse{modid, cmdid, hosts}. */
size_t dns_route_response_size(int32_t modid, int32_t cmdid, const route_host_t *hosts, size_t n);
/* Writes it to p (dns_route_response_size() bytes); returns the bytes written. */
size_t dns_route_response_write(uint8_t *p, int32_t modid, int32_t cmdid, const route_host_t *hosts,
                                size_t n);

#endif
