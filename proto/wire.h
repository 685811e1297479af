/*
 * The Lars wire protocol (docs/protocol.md): the message ids of the frame header and
 * the protobuf (proto3) bodies of every message, encoded and decoded by hand
 * with proto/lars.proto's field numbers. Depends on libc only; the daemons,
 * liblars, the tools and the benchmarks all use it.
 *
 * Hand-written rather than protobuf-c because the hot paths (an agent's
 * get_host, a reporter's batch, a lars-dns reply of thousands of hosts)
 * must not allocate, and protobuf-c's unpack allocates every message and
 * submessage; the messages are a few varints, so a small codec is simpler
 * than an arena. protobuf-c stays as the reference the tests and the fuzz
 * target check these bytes against.
 *
 * Decoding follows the protobuf rules: unknown fields of every wire type are
 * skipped, a scalar given twice keeps its last value, a singular submessage
 * given twice is merged field by field, absent fields are 0. A known field
 * with the wrong wire type, a truncated or over-long varint, a length past
 * the end, a group, field number 0 or one above 2^32 - 1 is -EBADMSG.
 * Encoding writes what protobuf-c writes for the same message, byte for
 * byte: fields in number order, zero scalars left out, int32 as a
 * sign-extended varint (10 bytes when negative).
 *
 * The message structs are generic: a new field (a host's weight, an IPv6
 * address) gets a new field number and a new struct member, and peers that
 * do not know it skip it.
 */
#ifndef LARS_PROTO_WIRE_H
#define LARS_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The msgid of the frame header. Never renumber; new messages take 9 and
 * up. ID_API_GetRouteRequest/Response carry GetRouteRequest/Response. */
typedef enum wire_msg_id {
    WIRE_ID_GET_ROUTE_REQUEST = 1,      /* agent -> dns (TCP) */
    WIRE_ID_GET_ROUTE_RESPONSE = 2,     /* dns -> agent (reply or push) */
    WIRE_ID_REPORT_STATUS_REQUEST = 3,  /* agent -> reporter (TCP, no reply) */
    WIRE_ID_GET_HOST_REQUEST = 4,       /* api -> agent (UDP) */
    WIRE_ID_GET_HOST_RESPONSE = 5,      /* agent -> api */
    WIRE_ID_REPORT_REQUEST = 6,         /* api -> agent (UDP, no reply) */
    WIRE_ID_API_GET_ROUTE_REQUEST = 7,  /* api -> agent (UDP) */
    WIRE_ID_API_GET_ROUTE_RESPONSE = 8, /* agent -> api */
} wire_msg_id_t;

/* The largest body of the single-host messages (GetRouteRequest,
 * GetHostRequest/Response, ReportRequest). */
#define WIRE_SMALL_MAX 64
/* The largest HostInfo field inside a GetRouteResponse. */
#define WIRE_HOST_MAX 24
/* The largest HostCallResult field inside a ReportStatusRequest. */
#define WIRE_CALL_RESULT_MAX 40

/* HostInfo. ip is the IPv4 number (INET_ATON) as its two's-complement
 * value: addresses from 128.0.0.0 up are negative. */
typedef struct wire_host {
    int32_t ip;   /* 1 */
    int32_t port; /* 2 */
} wire_host_t;

/* HostCallResult: one host's line of a ReportStatusRequest. */
typedef struct wire_call_result {
    int32_t ip;    /* 1 */
    int32_t port;  /* 2 */
    uint32_t succ; /* 3 */
    uint32_t err;  /* 4 */
    bool overload; /* 5 */
} wire_call_result_t;

/* GetRouteRequest (ids 1 and 7). */
typedef struct wire_get_route_req {
    int32_t modid; /* 1 */
    int32_t cmdid; /* 2 */
} wire_get_route_req_t;

typedef struct wire_get_host_req {
    uint32_t seq;  /* 1 */
    int32_t modid; /* 2 */
    int32_t cmdid; /* 3 */
} wire_get_host_req_t;

typedef struct wire_get_host_resp {
    uint32_t seq;    /* 1 */
    int32_t modid;   /* 2 */
    int32_t cmdid;   /* 3 */
    int32_t retcode; /* 4 */
    bool has_host;   /* whether field 5 is present */
    wire_host_t host;
} wire_get_host_resp_t;

typedef struct wire_report_req {
    int32_t modid; /* 1 */
    int32_t cmdid; /* 2 */
    bool has_host; /* whether field 3 is present */
    wire_host_t host;
    int32_t retcode;      /* 4 */
    uint32_t timecost_ms; /* 5, extension: 0 = not given */
} wire_report_req_t;

/* A GetRouteResponse (ids 2 and 8) as decoded: its scalars, and its hosts
 * read in place from the body by wire_get_route_resp_next(). */
typedef struct wire_get_route_resp {
    int32_t modid; /* 1 */
    int32_t cmdid; /* 2 */
    size_t nhosts; /* occurrences of field 3 */
    const uint8_t *cur, *end;
} wire_get_route_resp_t;

/* A ReportStatusRequest as decoded: its scalars (which may follow the
 * results in the body), and its results read in place by
 * wire_report_status_next(). */
typedef struct wire_report_status {
    int32_t modid;   /* 1 */
    int32_t cmdid;   /* 2 */
    int32_t caller;  /* 3 */
    uint32_t ts;     /* 5 */
    size_t nresults; /* occurrences of field 4 */
    const uint8_t *cur, *end;
} wire_report_status_t;

/* Decoders: 0 or -EBADMSG; they allocate nothing. The two with an iterator
 * check the whole body first, so the iteration cannot fail; it reads the
 * body, which must stay in place until it ends. */
int wire_decode_get_route_req(const uint8_t *p, size_t n, wire_get_route_req_t *ret);
int wire_decode_get_host_req(const uint8_t *p, size_t n, wire_get_host_req_t *ret);
int wire_decode_get_host_resp(const uint8_t *p, size_t n, wire_get_host_resp_t *ret);
int wire_decode_report_req(const uint8_t *p, size_t n, wire_report_req_t *ret);
int wire_decode_get_route_resp(const uint8_t *p, size_t n, wire_get_route_resp_t *ret);
int wire_decode_report_status(const uint8_t *p, size_t n, wire_report_status_t *ret);

/* The next host / result in body order; false after the last one. */
bool wire_get_route_resp_next(wire_get_route_resp_t *m, wire_host_t *ret);
bool wire_report_status_next(wire_report_status_t *m, wire_call_result_t *ret);

/* Encoders of the single-host messages: return the body length. */
size_t wire_encode_get_route_req(uint8_t out[WIRE_SMALL_MAX], const wire_get_route_req_t *m);
size_t wire_encode_get_host_req(uint8_t out[WIRE_SMALL_MAX], const wire_get_host_req_t *m);
size_t wire_encode_get_host_resp(uint8_t out[WIRE_SMALL_MAX], const wire_get_host_resp_t *m);
size_t wire_encode_report_req(uint8_t out[WIRE_SMALL_MAX], const wire_report_req_t *m);

/* The exact size of GetRouteResponse{modid, cmdid, hosts[0, n)}. */
size_t wire_get_route_resp_size(int32_t modid, int32_t cmdid, const wire_host_t *hosts, size_t n);
/* Writes GetRouteResponse{modid, cmdid, hosts[0, n)} into out[0, cap) with
 * as many whole hosts as fit, and stores their number in *ret_written;
 * returns the body length (0, nothing written, when not even modid and
 * cmdid fit). With cap = wire_get_route_resp_size() every host fits. */
size_t wire_encode_get_route_resp(uint8_t *out, size_t cap, int32_t modid, int32_t cmdid,
                                  const wire_host_t *hosts, size_t n, size_t *ret_written);

/* A bound on the size of a ReportStatusRequest of n results. */
size_t wire_report_status_size(size_t n);
/* Writes ReportStatusRequest{...} into out[0, wire_report_status_size(n)). */
size_t wire_encode_report_status(uint8_t *out, int32_t modid, int32_t cmdid, int32_t caller,
                                 const wire_call_result_t *results, size_t n, uint32_t ts);

#endif
