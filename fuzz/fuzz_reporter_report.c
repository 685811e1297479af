/*
 * lars-reporter's ReportStatusRequest decoder (daemons/reporter/report.h).
 * Even first byte: the rest is a body. Whatever protobuf-c accepts the
 * decoder must accept too, with the same scalars and the same rows in the
 * same order (rp_report_next must walk exactly nresults rows). It may be
 * more lenient than protobuf-c (e.g. over-long tag varints), never stricter,
 * except on tags the protobuf spec forbids (pbscan.c).
 * Odd first byte: the agent's encoder (wire_encode_report_status) writes a
 * request made from the input into a buffer of exactly
 * wire_report_status_size() bytes, and the reporter must read it back.
 */
#include <string.h>

#include "daemons/agent/wire.h"
#include "daemons/reporter/report.h"
#include "fuzz/fuzz.h"
#include "proto/lars.pb-c.h"

#define MAX_RESULTS 256

static void check_rows(rp_report_t *rep, size_t n, const lb_call_result_t *want)
{
    rp_row_t row;
    size_t i = 0;

    while (rp_report_next(rep, &row) == 1) {
        FUZZ_CHECK(i < n);
        FUZZ_CHECK(row.modid == rep->modid && row.cmdid == rep->cmdid);
        FUZZ_CHECK(row.caller == rep->caller && row.ts == rep->ts);
        FUZZ_CHECK(row.ip == want[i].ip && row.port == want[i].port);
        FUZZ_CHECK(row.succ == want[i].succ && row.err == want[i].err);
        FUZZ_CHECK(row.overload == want[i].overload);
        i++;
    }
    FUZZ_CHECK(i == n);
}

static void check_body(const uint8_t *body, size_t len)
{
    static lb_call_result_t want[MAX_RESULTS];
    static const uint32_t sub[] = {4};
    Lars__ReportStatusRequest *pc = lars__report_status_request__unpack(NULL, len, body);
    rp_report_t rep;
    int r = rp_report_parse(body, len, &rep);

    if (r == 0 && !pc) {
        /* Accepted leniently: the walk must still stay inside the body. */
        rp_row_t row;
        uint32_t k = 0;

        while (rp_report_next(&rep, &row) == 1)
            k++;
        FUZZ_CHECK(k == rep.nresults);
        return;
    }
    if (!pc) {
        FUZZ_CHECK(r < 0);
        return;
    }
    if (r < 0 && !fuzz_pb_tags_valid(body, len, 5, sub, 1, 5, NULL)) {
        /* protobuf-c took a tag the spec forbids; refusing it is fine. */
        lars__report_status_request__free_unpacked(pc, NULL);
        return;
    }
    FUZZ_CHECK(r == 0);
    FUZZ_CHECK(rep.modid == pc->modid && rep.cmdid == pc->cmdid && rep.caller == pc->caller);
    FUZZ_CHECK(rep.ts == pc->ts && rep.nresults == pc->n_results);
    if (pc->n_results <= MAX_RESULTS) {
        for (size_t i = 0; i < pc->n_results; i++) {
            const Lars__HostCallResult *h = pc->results[i];
            want[i] = (lb_call_result_t){h->ip, h->port, h->succ, h->err, h->overload};
        }
        check_rows(&rep, pc->n_results, want);
    }
    lars__report_status_request__free_unpacked(pc, NULL);
}

static void check_agent_encoding(fuzz_input_t *in)
{
    static lb_call_result_t res[MAX_RESULTS];
    int32_t modid = (int32_t)fuzz_u32(in), cmdid = (int32_t)fuzz_u32(in);
    int32_t caller = (int32_t)fuzz_u32(in);
    uint32_t ts = fuzz_u32(in);
    size_t n = 0, cap, len;
    rp_report_t rep;
    uint8_t *buf;

    while (in->n > 0 && n < MAX_RESULTS) {
        res[n].ip = (int32_t)fuzz_u32(in);
        res[n].port = (int32_t)fuzz_u32(in);
        res[n].succ = fuzz_u32(in);
        res[n].err = fuzz_u32(in);
        res[n].overload = fuzz_u8(in) & 1;
        n++;
    }
    cap = wire_report_status_size(n);
    buf = malloc(cap);
    FUZZ_CHECK(buf);
    len = wire_encode_report_status(buf, modid, cmdid, caller, res, n, ts);
    FUZZ_CHECK(len <= cap);
    FUZZ_CHECK(rp_report_parse(buf, len, &rep) == 0);
    FUZZ_CHECK(rep.modid == modid && rep.cmdid == cmdid && rep.caller == caller);
    FUZZ_CHECK(rep.ts == ts && rep.nresults == n);
    check_rows(&rep, n, res);
    free(buf);
}

int fuzz_reporter_report(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size};

    if (fuzz_u8(&in) % 2 == 0)
        check_body(in.p, in.n);
    else
        check_agent_encoding(&in);
    return 0;
}
