/*
 * Benchmark echo server on libreactor: an rx_tcp_server whose one handler
 * sends every frame back. The accept loop runs on its own thread and hands
 * connections to `workers` pool loops (0: the accept loop serves them).
 *   echo_reactor [ADDR [WORKERS]]   prints "port N", runs until SIGTERM/SIGINT
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "libreactor/reactor.h"

static void on_echo(const rx_msg_t *msg, void *arg)
{
    rx_conn_send(msg->from.conn, msg->msgid, msg->body, msg->len);
}

static void *accept_main(void *arg)
{
    rx_loop_run(arg);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    unsigned workers = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
    rx_loop_t *accept_loop = rx_loop_new();
    rx_pool_t *pool = workers ? rx_pool_new(workers, "echo-w") : NULL;
    rx_router_t *router = rx_router_new();
    rx_tcp_server_t *srv;
    pthread_t accept_thread;
    sigset_t sigs;
    int err = 0, sig;

    /* Blocked before any thread starts, so only sigwait() below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (!accept_loop || !router || (workers && !pool))
        return 1;
    rx_router_add(router, 1, on_echo, NULL);
    srv = rx_tcp_server_new(
        &(rx_tcp_server_config_t){
            .listen_fd = -1,
            .listen_addr = addr,
            .accept_loop = accept_loop,
            .workers = pool,
            .router = router,
        },
        &err);
    if (!srv) {
        fprintf(stderr, "echo_reactor: %s: error %d\n", addr, err);
        return 1;
    }
    if ((pool && rx_pool_start(pool) < 0) ||
        pthread_create(&accept_thread, NULL, accept_main, accept_loop) != 0 ||
        rx_tcp_server_start(srv) < 0)
        return 1;
    printf("port %d\n", rx_tcp_server_port(srv));
    fflush(stdout);
    sigwait(&sigs, &sig);

    rx_tcp_server_shutdown(srv);
    rx_loop_stop(accept_loop);
    pthread_join(accept_thread, NULL);
    rx_pool_free(pool);
    rx_tcp_server_free(srv);
    rx_loop_free(accept_loop);
    rx_router_free(router);
    return 0;
}
