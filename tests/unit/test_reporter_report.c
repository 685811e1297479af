/*
 * Unit tests of the ReportStatusRequest decoder (daemons/reporter/report.c),
 * checked against bodies packed by protobuf-c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemons/reporter/report.h"
#include "proto/lars.pb-c.h"

static size_t pack_report(int32_t modid, int32_t cmdid, int32_t caller, uint32_t ts,
                          const Lars__HostCallResult *res, size_t n, uint8_t *buf)
{
    Lars__ReportStatusRequest req = LARS__REPORT_STATUS_REQUEST__INIT;
    Lars__HostCallResult *ptrs[64];

    for (size_t i = 0; i < n; i++)
        ptrs[i] = (Lars__HostCallResult *)&res[i];
    req.modid = modid;
    req.cmdid = cmdid;
    req.caller = caller;
    req.ts = ts;
    req.n_results = n;
    req.results = ptrs;
    return lars__report_status_request__pack(&req, buf);
}

static Lars__HostCallResult result(int32_t ip, int32_t port, uint32_t succ, uint32_t err,
                                   bool overload)
{
    Lars__HostCallResult r = LARS__HOST_CALL_RESULT__INIT;

    r.ip = ip;
    r.port = port;
    r.succ = succ;
    r.err = err;
    r.overload = overload;
    return r;
}

static void report_decodes_every_field(void **state)
{
    uint8_t buf[1024];
    Lars__HostCallResult res[2] = {result((int32_t)3232235953u, 8080, 10, 2, true),
                                   result(167772161, 9000, 4294967295u, 0, false)};
    size_t len = pack_report(7, -3, (int32_t)0xc0a80001u, 1700000000, res, 2, buf);
    rp_report_t rep;
    rp_row_t row;

    assert_int_equal(rp_report_parse(buf, len, &rep), 0);
    assert_int_equal(rep.modid, 7);
    assert_int_equal(rep.cmdid, -3);
    assert_int_equal(rep.caller, (int32_t)0xc0a80001u);
    assert_int_equal(rep.ts, 1700000000);
    assert_int_equal(rep.nresults, 2);

    assert_int_equal(rp_report_next(&rep, &row), 1);
    assert_int_equal(row.modid, 7);
    assert_int_equal(row.cmdid, -3);
    assert_int_equal(row.caller, (int32_t)0xc0a80001u);
    assert_int_equal(row.ts, 1700000000);
    assert_int_equal(row.ip, (int32_t)3232235953u);
    assert_int_equal(row.port, 8080);
    assert_int_equal(row.succ, 10);
    assert_int_equal(row.err, 2);
    assert_true(row.overload);
    assert_int_equal(rp_report_next(&rep, &row), 1);
    assert_int_equal(row.ip, 167772161);
    assert_int_equal(row.succ, 4294967295u);
    assert_false(row.overload);
    assert_int_equal(rp_report_next(&rep, &row), 0);
}

static void report_empty_body_is_all_zero(void **state)
{
    rp_report_t rep;
    rp_row_t row;

    assert_int_equal(rp_report_parse((const uint8_t *)"", 0, &rep), 0);
    assert_int_equal(rep.modid, 0);
    assert_int_equal(rep.nresults, 0);
    assert_int_equal(rp_report_next(&rep, &row), 0);
}

static void report_scalars_after_results_apply_to_rows(void **state)
{
    /* results(4){ip=5} then modid(1)=9, ts(5)=77, and an unknown field 9 */
    const uint8_t body[] = {0x22, 0x02, 0x08, 0x05, 0x08, 0x09, 0x28, 77, 0x4a, 0x03, 'x',
                            'y',  'z',  0x51, 1,    2,    3,    4,    5,  6,    7,    8};
    rp_report_t rep;
    rp_row_t row;

    assert_int_equal(rp_report_parse(body, sizeof(body), &rep), 0);
    assert_int_equal(rp_report_next(&rep, &row), 1);
    assert_int_equal(row.ip, 5);
    assert_int_equal(row.modid, 9);
    assert_int_equal(row.ts, 77);
    assert_int_equal(rp_report_next(&rep, &row), 0);
}

static void report_rejects_truncated_bodies(void **state)
{
    uint8_t buf[1024];
    Lars__HostCallResult res[3] = {result(-1, 1, 2, 3, true), result(4, 5, 6, 7, false),
                                   result(8, 9, 10, 11, true)};
    size_t len = pack_report(-100, 2, -5, 99, res, 3, buf);
    rp_report_t rep;

    /* Every strict prefix either is invalid for both decoders or valid for both. */
    for (size_t n = 0; n < len; n++) {
        Lars__ReportStatusRequest *ref = lars__report_status_request__unpack(NULL, n, buf);
        int r = rp_report_parse(buf, n, &rep);
        assert_int_equal(r == 0, ref != NULL);
        if (ref) {
            assert_int_equal(rep.nresults, ref->n_results);
            lars__report_status_request__free_unpacked(ref, NULL);
        }
    }
}

static void report_rejects_bad_wire_data(void **state)
{
    rp_report_t rep;
    const uint8_t overlong_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t field_zero[] = {0x00, 0x01};
    const uint8_t results_as_varint[] = {0x20, 0x01};
    const uint8_t modid_as_string[] = {0x0a, 0x01, 'a'};
    const uint8_t length_past_end[] = {0x22, 0x05, 0x08, 0x01};
    const uint8_t group[] = {0x33, 0x34};
    const uint8_t bad_inner[] = {0x22, 0x02, 0x0a, 0x00}; /* ip as bytes */

    assert_int_equal(rp_report_parse(overlong_varint, sizeof(overlong_varint), &rep), -EBADMSG);
    assert_int_equal(rp_report_parse(field_zero, sizeof(field_zero), &rep), -EBADMSG);
    assert_int_equal(rp_report_parse(results_as_varint, sizeof(results_as_varint), &rep), -EBADMSG);
    assert_int_equal(rp_report_parse(modid_as_string, sizeof(modid_as_string), &rep), -EBADMSG);
    assert_int_equal(rp_report_parse(length_past_end, sizeof(length_past_end), &rep), -EBADMSG);
    assert_int_equal(rp_report_parse(group, sizeof(group), &rep), -EBADMSG);
    assert_int_equal(rp_report_parse(bad_inner, sizeof(bad_inner), &rep), -EBADMSG);
}

/* Random bodies: whatever protobuf-c accepts we accept with the same rows. */
static void report_agrees_with_protobuf_c_on_random_bytes(void **state)
{
    uint8_t buf[64];
    unsigned seed = 12345;
    rp_report_t rep;
    rp_row_t row;
    int agreed_valid = 0;

    for (int iter = 0; iter < 100000; iter++) {
        size_t n = rand_r(&seed) % sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        /* Bias towards our field tags so that valid bodies are common. */
        if (n > 0 && rand_r(&seed) % 2)
            buf[0] = (uint8_t)(((rand_r(&seed) % 5) + 1) << 3 | (rand_r(&seed) % 3 ? 0 : 2));
        Lars__ReportStatusRequest *ref = lars__report_status_request__unpack(NULL, n, buf);
        int r = rp_report_parse(buf, n, &rep);
        if (!ref) {
            continue; /* we may be laxer (e.g. unknown wire types protobuf-c rejects) */
        }
        assert_int_equal(r, 0);
        assert_int_equal(rep.modid, ref->modid);
        assert_int_equal(rep.cmdid, ref->cmdid);
        assert_int_equal(rep.caller, ref->caller);
        assert_int_equal(rep.ts, ref->ts);
        assert_int_equal(rep.nresults, ref->n_results);
        for (size_t i = 0; i < ref->n_results; i++) {
            assert_int_equal(rp_report_next(&rep, &row), 1);
            assert_int_equal(row.ip, ref->results[i]->ip);
            assert_int_equal(row.port, ref->results[i]->port);
            assert_int_equal(row.succ, ref->results[i]->succ);
            assert_int_equal(row.err, ref->results[i]->err);
            assert_int_equal(row.overload, ref->results[i]->overload);
        }
        assert_int_equal(rp_report_next(&rep, &row), 0);
        agreed_valid++;
        lars__report_status_request__free_unpacked(ref, NULL);
    }
    assert_true(agreed_valid > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_decodes_every_field),
        cmocka_unit_test(report_empty_body_is_all_zero),
        cmocka_unit_test(report_scalars_after_results_apply_to_rows),
        cmocka_unit_test(report_rejects_truncated_bodies),
        cmocka_unit_test(report_rejects_bad_wire_data),
        cmocka_unit_test(report_agrees_with_protobuf_c_on_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
