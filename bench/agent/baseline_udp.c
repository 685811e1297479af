/*
 * Baseline for bench-agent: the least a UDP agent can do. Three threads on
 * base_port + 0..2, each a blocking recvfrom/sendto loop that answers every
 * GetHostRequest with a fixed host (echoing seq and pair, which liblars
 * matches) and every API GetRouteRequest with that one host; reports and
 * anything else are ignored. Usage: baseline_udp BASE_PORT (runs until
 * killed).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libreactor/reactor.h"
#include "proto/wire.h"

static const wire_host_t fixed_host = {(int32_t)0x0A000001, 9000};

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    uint8_t in[2048], out[256];

    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
        rx_frame_t f;
        size_t len = 0, written;
        int32_t id;

        if (n <= 0 || rx_frame_parse(in, (size_t)n, sizeof(in), &f) != n)
            continue;
        if (f.msgid == WIRE_ID_GET_HOST_REQUEST) {
            wire_get_host_req_t req;
            if (wire_decode_get_host_req(f.body, f.len, &req) < 0)
                continue;
            wire_get_host_resp_t resp = {.seq = req.seq,
                                         .modid = req.modid,
                                         .cmdid = req.cmdid,
                                         .has_host = true,
                                         .host = fixed_host};
            len = wire_encode_get_host_resp(out + RX_FRAME_HDR, &resp);
            id = WIRE_ID_GET_HOST_RESPONSE;
        } else if (f.msgid == WIRE_ID_API_GET_ROUTE_REQUEST) {
            wire_get_route_req_t req;
            if (wire_decode_get_route_req(f.body, f.len, &req) < 0)
                continue;
            len = wire_encode_get_route_resp(out + RX_FRAME_HDR, sizeof(out) - RX_FRAME_HDR,
                                             req.modid, req.cmdid, &fixed_host, 1, &written);
            id = WIRE_ID_API_GET_ROUTE_RESPONSE;
        } else {
            continue;
        }
        rx_frame_put_header(out, id, (uint32_t)len);
        sendto(fd, out, RX_FRAME_HDR + len, 0, (struct sockaddr *)&from, flen);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int base = argc > 1 ? atoi(argv[1]) : 0;
    pthread_t t[3];

    if (base <= 0 || base > 65533) {
        fprintf(stderr, "usage: baseline_udp BASE_PORT\n");
        return 64;
    }
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(base + i))};
        int fd = socket(AF_INET, SOCK_DGRAM, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            perror("baseline_udp: bind");
            return 1;
        }
        pthread_create(&t[i], NULL, serve, (void *)(intptr_t)fd);
    }
    printf("ready\n");
    fflush(stdout);
    pthread_join(t[0], NULL);
    return 0;
}
