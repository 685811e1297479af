/*
 * lars-reporter: the network side (TCP server on `threads` loops that decode
 * ReportStatusRequest frames) and the writers (one MariaDB connection each)
 * the consistent hash ring routes each (modid, cmdid) pair to.
 *
 * Ownership: an rp_reporter_t is created, started, reloaded and stopped by the
 * daemon's main thread; the network loops only call rp_writer_put() and bump
 * atomic counters.
 */
#ifndef LARS_REPORTER_REPORTER_H
#define LARS_REPORTER_REPORTER_H

#include <stdint.h>
#include <stdio.h>

#include "daemons/common/conf.h"
#include "daemons/common/db.h"
#include "libreactor/reactor.h"

typedef struct rp_settings {
    char *log_level;
    lars_db_settings_t db;
    char *listen;
    int64_t threads;
    int64_t max_conns;
    int64_t db_threads;
    int64_t batch_rows;
    int64_t batch_ms;
    int64_t queue_limit;
} rp_settings_t;

extern const lars_conf_key_t rp_conf_keys[];
extern const size_t rp_conf_nkeys;

#define RP_RING_VNODES 160

typedef struct rp_reporter rp_reporter_t;

/* listen_fd: a listening stream socket (socket activation; owned by the
 * reporter from now on), or -1 to bind s->listen. */
int rp_reporter_new(const rp_settings_t *s, int listen_fd, rx_loop_t *main_loop,
                    rp_reporter_t **ret_rp);
/* Starts the writers, the network loops and accepting. */
int rp_reporter_start(rp_reporter_t *rp);
/* SIGHUP: the settings that apply without a restart (batch_rows, batch_ms). */
void rp_reporter_reload(rp_reporter_t *rp, const rp_settings_t *s);
/* One human line for STATUS= (rows/s since the previous call). */
void rp_reporter_status(rp_reporter_t *rp, char *buf, size_t size);
/* SIGUSR1: every counter, one journal line per writer plus a summary. */
void rp_reporter_log_counters(rp_reporter_t *rp);
/* The network loops (for the watchdog). */
rx_pool_t *rp_reporter_pool(rp_reporter_t *rp);
/* Whether every writer thread iterated within max_age_ms. */
bool rp_reporter_writers_alive(rp_reporter_t *rp, uint64_t max_age_ms);
int rp_reporter_port(rp_reporter_t *rp);
/* SIGTERM (docs/operations.md, Stopping): reads what the connections already
 * hold, closes them, then flushes every pending row until flush_timeout_ms. Returns the keys
 * that could not be flushed (logged). From the main thread. */
size_t rp_reporter_stop(rp_reporter_t *rp, uint64_t flush_timeout_ms);
void rp_reporter_free(rp_reporter_t *rp);

#endif
