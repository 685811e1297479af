/*
 * Zero-allocation decoder of ReportStatusRequest bodies (proto3 wire format,
 * field numbers of proto/lars.proto). The network loops run it on every
 * frame, so it reads the body in place: rp_report_parse() checks the whole
 * body and collects the scalar fields (which may come after the results),
 * then rp_report_next() walks the HostCallResult entries as rows.
 * Unknown fields are skipped, as protobuf requires.
 */
#ifndef LARS_REPORTER_REPORT_H
#define LARS_REPORTER_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "daemons/reporter/pending.h"

typedef struct rp_report {
    int32_t modid, cmdid, caller;
    uint32_t ts;
    uint32_t nresults;
    const uint8_t *cur, *end; /* iteration cursor */
} rp_report_t;

/* Returns 0, or -EBADMSG for a body that is not a valid ReportStatusRequest
 * (truncated, bad varint, wrong wire type for a known field). */
int rp_report_parse(const uint8_t *body, size_t len, rp_report_t *ret);

/* Fills the next result as a row (modid, cmdid, caller and ts from the
 * request); returns 1, or 0 when there are no more. */
int rp_report_next(rp_report_t *rep, rp_row_t *ret_row);

#endif
