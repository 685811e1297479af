/*
 * The agent's hand-written protobuf codec (daemons/agent/wire.c) against
 * protobuf-c, the reference the rest of the project uses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemons/agent/agent.h"
#include "daemons/agent/wire.h"
#include "proto/lars.pb-c.h"

static void wire_decodes_what_protobuf_c_packs_including_negative_ids(void **state)
{
    Lars__HostInfo host = LARS__HOST_INFO__INIT;
    Lars__ReportRequest rr = LARS__REPORT_REQUEST__INIT;
    Lars__GetHostRequest gh = LARS__GET_HOST_REQUEST__INIT;
    wire_report_req_t r;
    wire_get_host_req_t g;
    uint8_t buf[128];
    size_t n;

    host.ip = (int32_t)3232235953u; /* 192.168.1.177: negative as int32 */
    host.port = 8080;
    rr.modid = -7;
    rr.cmdid = 2147483647;
    rr.host = &host;
    rr.retcode = 1;
    rr.timecost_ms = 1000;
    n = lars__report_request__pack(&rr, buf);
    assert_int_equal(wire_decode_report_req(buf, n, &r), 0);
    assert_int_equal(r.modid, -7);
    assert_int_equal(r.cmdid, 2147483647);
    assert_int_equal((uint32_t)r.ip, 3232235953u);
    assert_int_equal(r.port, 8080);
    assert_int_equal(r.retcode, 1);
    assert_int_equal(r.timecost_ms, 1000);

    gh.seq = 4000000000u;
    gh.modid = 1;
    gh.cmdid = 0;
    n = lars__get_host_request__pack(&gh, buf);
    assert_int_equal(wire_decode_get_host_req(buf, n, &g), 0);
    assert_int_equal(g.seq, 4000000000u);
    assert_int_equal(g.modid, 1);
    assert_int_equal(g.cmdid, 0);
    /* An empty body is a message of zeros. */
    assert_int_equal(wire_decode_get_host_req(buf, 0, &g), 0);
    assert_int_equal(g.seq, 0);
}

static void wire_rejects_truncated_and_wrong_wire_types(void **state)
{
    const uint8_t truncated_varint[] = {0x08, 0xff};
    const uint8_t long_len[] = {0x1a, 0x05, 0x08};
    const uint8_t group[] = {0x0b};
    const uint8_t seq_as_len[] = {0x0a, 0x00};
    const uint8_t unknown_field_ok[] = {0x08, 0x05, 0xfa, 0x01, 0x02, 0xaa, 0xbb, 0x10, 0x03};
    wire_get_host_req_t g;
    wire_report_req_t r;

    assert_int_equal(wire_decode_get_host_req(truncated_varint, 2, &g), -EBADMSG);
    assert_int_equal(wire_decode_report_req(long_len, 3, &r), -EBADMSG);
    assert_int_equal(wire_decode_get_host_req(group, 1, &g), -EBADMSG);
    assert_int_equal(wire_decode_get_host_req(seq_as_len, 2, &g), -EBADMSG);
    assert_int_equal(wire_decode_get_host_req(unknown_field_ok, sizeof(unknown_field_ok), &g), 0);
    assert_int_equal(g.seq, 5);
    assert_int_equal(g.modid, 3);
}

static void wire_encodes_what_protobuf_c_decodes(void **state)
{
    lb_host_t host = {(int32_t)0xC0A801B1u, 80}, hosts[3] = {{1, 2}, {-1, 0}, {0, 65535}};
    lb_call_result_t res[2] = {{-5, 1, 10, 2, true}, {7, 8, 0, 0, false}};
    uint8_t buf[1024];
    size_t n, written;

    n = wire_encode_get_host_resp(buf, 9, -1, 3, 0, &host);
    Lars__GetHostResponse *gh = lars__get_host_response__unpack(NULL, n, buf);
    assert_non_null(gh);
    assert_int_equal(gh->seq, 9);
    assert_int_equal(gh->modid, -1);
    assert_int_equal(gh->cmdid, 3);
    assert_non_null(gh->host);
    assert_int_equal((uint32_t)gh->host->ip, 0xC0A801B1u);
    assert_int_equal(gh->host->port, 80);
    lars__get_host_response__free_unpacked(gh, NULL);

    n = wire_encode_get_route_resp(buf, sizeof(buf), 5, 6, hosts, 3, &written);
    assert_int_equal(written, 3);
    Lars__GetRouteResponse *gr = lars__get_route_response__unpack(NULL, n, buf);
    assert_non_null(gr);
    assert_int_equal(gr->n_host, 3);
    assert_int_equal(gr->host[1]->ip, -1);
    assert_int_equal(gr->host[2]->port, 65535);
    lars__get_route_response__free_unpacked(gr, NULL);

    n = wire_encode_report_status(buf, 1, 2, (int32_t)0x0A010203, res, 2, 1700000000u);
    assert_true(n <= wire_report_status_size(2));
    Lars__ReportStatusRequest *rs = lars__report_status_request__unpack(NULL, n, buf);
    assert_non_null(rs);
    assert_int_equal(rs->caller, 0x0A010203);
    assert_int_equal(rs->ts, 1700000000u);
    assert_int_equal(rs->n_results, 2);
    assert_int_equal(rs->results[0]->ip, -5);
    assert_int_equal(rs->results[0]->succ, 10);
    assert_int_equal(rs->results[0]->err, 2);
    assert_true(rs->results[0]->overload);
    assert_false(rs->results[1]->overload);
    lars__report_status_request__free_unpacked(rs, NULL);
}

static void wire_route_reply_carries_only_whole_hosts_that_fit(void **state)
{
    lb_host_t hosts[100];
    uint8_t buf[200];
    size_t n, written;

    for (int i = 0; i < 100; i++)
        hosts[i] = (lb_host_t){-(i + 1), 1000 + i}; /* 2 + 11 + 3 = 16 bytes each */
    n = wire_encode_get_route_resp(buf, sizeof(buf), 1, 1, hosts, 100, &written);
    assert_int_equal(written, (200 - 4) / 16);
    assert_true(n <= sizeof(buf));
    Lars__GetRouteResponse *gr = lars__get_route_response__unpack(NULL, n, buf);
    assert_non_null(gr);
    assert_int_equal(gr->n_host, written);
    lars__get_route_response__free_unpacked(gr, NULL);
}

static void shard_of_matches_liblars_and_is_defined_for_negative_ids(void **state)
{
    assert_int_equal(agent_shard_of(1, 1), 2);
    assert_int_equal(agent_shard_of(105, 1), 1);
    assert_int_equal(agent_shard_of(0, 0), 0);
    /* (2^32 - 1 + 1) mod 2^32 = 0 */
    assert_int_equal(agent_shard_of(-1, 1), 0);
    assert_true(agent_shard_of(INT32_MIN, -1) < 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wire_decodes_what_protobuf_c_packs_including_negative_ids),
        cmocka_unit_test(wire_rejects_truncated_and_wrong_wire_types),
        cmocka_unit_test(wire_encodes_what_protobuf_c_decodes),
        cmocka_unit_test(wire_route_reply_carries_only_whole_hosts_that_fit),
        cmocka_unit_test(shard_of_matches_liblars_and_is_defined_for_negative_ids),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
