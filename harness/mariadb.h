/*
 * A private MariaDB server for tests: its own data directory under /tmp, a
 * Unix socket there and a free TCP port on 127.0.0.1, the Lars schema
 * applied, and a `lars` user with a random password (so tests exercise
 * password logins over TCP the way the daemons log in).
 *
 * The server dies with the thread that started it (PR_SET_PDEATHSIG), so a
 * crashed or killed test leaves nothing behind; still, always call
 * test_mariadb_stop(). Not thread-safe: drive one test_mariadb_t from one
 * thread.
 */
#ifndef LARS_HARNESS_MARIADB_H
#define LARS_HARNESS_MARIADB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "daemons/common/db.h"

typedef struct test_mariadb {
    char dir[128]; /* mkdtemp() directory holding everything below */
    char datadir[160];
    char socket[160];
    char log[160];
    char host[16]; /* "127.0.0.1" */
    int port;
    char user[16];     /* "lars" */
    char password[40]; /* random */
    char name[16];     /* "lars" */
    pid_t pid;         /* mariadbd, 0 when not running */
    MYSQL *root;       /* root over the socket, database `name`; NULL when not running */
    /* TCP login as `user` with `password`; the strings point into this struct
     * (do not lars_conf_free them). */
    lars_db_settings_t settings;
} test_mariadb_t;

/* Initialises a data directory, starts mariadbd, creates the user and
 * applies sql/schema.sql. Returns 0 or -errno (diagnostics on stderr,
 * including the tail of the server log). */
int test_mariadb_start(test_mariadb_t *db);

/* True when LARS_TEST_MARIADB_PROFILE=production: servers started from
 * then on keep MariaDB's durable defaults (innodb_flush_log_at_trx_commit=1,
 * 128M buffer pool, 96M redo log) instead of the fast test settings. For
 * benchmarks; tests leave it unset. */
bool test_mariadb_production_like(void);

/* Clean shutdown (SIGKILL after a timeout) and removal of the directory.
 * Safe on a stopped or never started server. */
void test_mariadb_stop(test_mariadb_t *db);

/* SIGKILLs the server and reaps it; data and directory stay. */
int test_mariadb_kill(test_mariadb_t *db);

/* Starts the server again on the same port and data directory (after
 * test_mariadb_kill, or while running: kill first). */
int test_mariadb_restart(test_mariadb_t *db);

/* SIGSTOP / SIGCONT the server: a hung database (connections stay open,
 * nothing answers). test_mariadb_stop() resumes a paused server first. */
int test_mariadb_pause(test_mariadb_t *db);
int test_mariadb_resume(test_mariadb_t *db);

/* Runs SQL as root in database `name` (several ';'-separated statements
 * allowed). Returns 0 or -errno; prints the server's error on stderr. */
int test_mariadb_exec(test_mariadb_t *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* First column of the first row as a number (-ENOENT: no row or NULL). */
int test_mariadb_query_u64(test_mariadb_t *db, uint64_t *ret_value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* First column of the first row as text ("" for NULL; -ENOENT: no row). */
int test_mariadb_query_str(test_mariadb_t *db, char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Runs a .sql file (as the mariadb client would, without DELIMITER) as root. */
int test_mariadb_apply_file(test_mariadb_t *db, const char *path);

/* Writes `db = { host = ...; port = ...; ... };` for the lars user, with the
 * password inline, into `out`. */
void test_mariadb_conf_snippet(const test_mariadb_t *db, FILE *out);

/* Writes the snippet to a new file `path` (mode 0600). */
int test_mariadb_write_conf(const test_mariadb_t *db, const char *path);

/* Path of a file in the source tree ("sql/schema.sql"): $LARS_SRCDIR, the
 * current directory, or a parent of $LARS_BUILD holding it. */
int test_source_path(const char *relpath, char *buf, size_t size);

#endif
