/*
 * The agent's protobuf messages, encoded and decoded by hand.
 *
 * The UDP side answers every request without allocating (SPEC §6 hot path),
 * which protobuf-c's unpack cannot do; these messages are a few varints, so
 * a small decoder is simpler than an arena allocator. The decoder follows
 * protobuf rules: unknown fields of any wire type are skipped, a repeated
 * scalar keeps its last value, a known field with the wrong wire type, a
 * truncated varint or a length past the end is an error (-EBADMSG).
 * int32 fields travel as sign-extended varints (10 bytes when negative),
 * exactly as protobuf-c writes them, so original peers read ours.
 */
#ifndef LARS_AGENT_WIRE_H
#define LARS_AGENT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemons/agent/balancer.h"

enum {
    WIRE_ID_GET_ROUTE_REQUEST = 1,
    WIRE_ID_GET_ROUTE_RESPONSE = 2,
    WIRE_ID_REPORT_STATUS_REQUEST = 3,
    WIRE_ID_GET_HOST_REQUEST = 4,
    WIRE_ID_GET_HOST_RESPONSE = 5,
    WIRE_ID_REPORT_REQUEST = 6,
    WIRE_ID_API_GET_ROUTE_REQUEST = 7,
    WIRE_ID_API_GET_ROUTE_RESPONSE = 8,
};

/* Largest encoded HostInfo inside a GetRouteResponse: tag, length, two
 * 10-byte varints with their tags. */
#define WIRE_HOST_MAX 24
/* Largest GetHostResponse / GetRouteRequest body. */
#define WIRE_SMALL_MAX 64

typedef struct wire_get_host_req {
    uint32_t seq;
    int32_t modid, cmdid;
} wire_get_host_req_t;

typedef struct wire_report_req {
    int32_t modid, cmdid;
    int32_t ip, port;
    int32_t retcode;
    uint32_t timecost_ms;
} wire_report_req_t;

typedef struct wire_pair {
    int32_t modid, cmdid;
} wire_pair_t;

/* Each returns 0 or -EBADMSG; absent fields are 0. */
int wire_decode_get_host_req(const uint8_t *p, size_t n, wire_get_host_req_t *ret);
int wire_decode_report_req(const uint8_t *p, size_t n, wire_report_req_t *ret);
/* GetRouteRequest (from lars-dns's view, or ID_API_GetRouteRequest). */
int wire_decode_get_route_req(const uint8_t *p, size_t n, wire_pair_t *ret);

/* Encoders return the body length written to out. */
size_t wire_encode_get_host_resp(uint8_t out[WIRE_SMALL_MAX], uint32_t seq, int32_t modid,
                                 int32_t cmdid, int32_t retcode, const lb_host_t *host);
size_t wire_encode_get_route_req(uint8_t out[WIRE_SMALL_MAX], int32_t modid, int32_t cmdid);

/* A GetRouteResponse of hosts[0, n) into out[0, cap): writes as many whole
 * hosts as fit and stores their number in *ret_written. */
size_t wire_encode_get_route_resp(uint8_t *out, size_t cap, int32_t modid, int32_t cmdid,
                                  const lb_host_t *hosts, size_t n, size_t *ret_written);

/* The size wire_encode_report_status() needs for n results. */
size_t wire_report_status_size(size_t n);
size_t wire_encode_report_status(uint8_t *out, int32_t modid, int32_t cmdid, int32_t caller,
                                 const lb_call_result_t *results, size_t n, uint32_t ts);

#endif
