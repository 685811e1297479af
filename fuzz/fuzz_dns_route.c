/*
 * lars-dns bodies (daemons/dns/proto.h). Even first byte: the rest is a
 * GetRouteRequest body for dns_route_request_decode(), which must accept
 * exactly what protobuf-c accepts and read the same values (it is
 * protobuf-c with a stack arena). Odd first byte: modid, cmdid and up to 512
 * hosts from the input go through the direct GetRouteResponse encoder, whose
 * output must have the announced size, stay inside a buffer of that size
 * and be byte for byte what protobuf-c packs for the same message.
 */
#include <string.h>

#include "daemons/dns/proto.h"
#include "fuzz/fuzz.h"
#include "proto/lars.pb-c.h"

#define MAX_HOSTS 512

static void check_request(const uint8_t *body, size_t len)
{
    Lars__GetRouteRequest *pc = lars__get_route_request__unpack(NULL, len, body);
    int32_t modid = -1, cmdid = -1;
    int r = dns_route_request_decode(body, len, &modid, &cmdid);

    FUZZ_CHECK((r == 0) == (pc != NULL));
    if (pc) {
        FUZZ_CHECK(modid == pc->modid && cmdid == pc->cmdid);
        lars__get_route_request__free_unpacked(pc, NULL);
    }
}

static void check_response(fuzz_input_t *in)
{
    static route_host_t hosts[MAX_HOSTS];
    static Lars__HostInfo infos[MAX_HOSTS];
    static Lars__HostInfo *info_ptrs[MAX_HOSTS];
    Lars__GetRouteResponse msg = LARS__GET_ROUTE_RESPONSE__INIT, *back;
    int32_t modid = (int32_t)fuzz_u32(in), cmdid = (int32_t)fuzz_u32(in);
    size_t n = 0, size, written;
    uint8_t *buf, *want;

    while (in->n > 0 && n < MAX_HOSTS) {
        hosts[n] = (route_host_t){(int32_t)fuzz_u32(in), (int32_t)fuzz_u32(in)};
        lars__host_info__init(&infos[n]);
        infos[n].ip = hosts[n].ip;
        infos[n].port = hosts[n].port;
        info_ptrs[n] = &infos[n];
        n++;
    }
    size = dns_route_response_size(modid, cmdid, hosts, n);
    buf = malloc(size ? size : 1);
    FUZZ_CHECK(buf);
    written = dns_route_response_write(buf, modid, cmdid, hosts, n);
    FUZZ_CHECK(written == size);

    msg.modid = modid;
    msg.cmdid = cmdid;
    msg.n_host = n;
    msg.host = info_ptrs;
    FUZZ_CHECK(lars__get_route_response__get_packed_size(&msg) == size);
    want = malloc(size ? size : 1);
    FUZZ_CHECK(want);
    lars__get_route_response__pack(&msg, want);
    FUZZ_CHECK(memcmp(buf, want, size) == 0);

    back = lars__get_route_response__unpack(NULL, size, buf);
    FUZZ_CHECK(back && back->modid == modid && back->cmdid == cmdid && back->n_host == n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(back->host[i]->ip == hosts[i].ip && back->host[i]->port == hosts[i].port);
    lars__get_route_response__free_unpacked(back, NULL);
    free(want);
    free(buf);
}

int fuzz_dns_route(const uint8_t *data, size_t size)
{
    fuzz_input_t in = {data, size};

    if (fuzz_u8(&in) % 2 == 0)
        check_request(in.p, in.n);
    else
        check_response(&in);
    return 0;
}
