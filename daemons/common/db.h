/*
 * MariaDB connections for the daemons and larsctl (MariaDB Connector/C).
 *
 * The `db` config group maps onto lars_db_settings_t; LARS_DB_CONF_KEYS()
 * expands to its key-table entries so every program can embed the struct in
 * its own settings and list the keys in its own table. Connections are made
 * with short timeouts and without automatic reconnection: a caller that sees
 * -ENOTCONN (lars_db_is_conn_lost) closes the handle and reconnects with its
 * own backoff, so a vanished database never blocks a thread for long.
 *
 * One MYSQL handle belongs to one thread at a time. Nothing here logs; errors
 * come back as -errno plus a lars_db_error_t the caller prints once.
 */
#ifndef LARS_COMMON_DB_H
#define LARS_COMMON_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "daemons/common/conf.h"

/* The `db` group. The strings are owned by the config loader (lars_conf_free)
 * or by whoever filled the struct. */
typedef struct lars_db_settings {
    char *host;
    int64_t port;
    char *socket; /* non-empty: connect through this Unix socket, not TCP */
    char *user;
    char *password;
    char *password_file;
    char *name;
    /* Not config keys; 0 means the defaults below. */
    unsigned int connect_timeout_s;
    unsigned int rw_timeout_s;
} lars_db_settings_t;

#define LARS_DB_CONNECT_TIMEOUT_S 3
#define LARS_DB_RW_TIMEOUT_S      5
#define LARS_DB_CREDENTIAL        "db-password"

/* Key-table entries for a lars_db_settings_t embedded as `member` of `T_`:
 *   static const lars_conf_key_t keys[] = { ..., LARS_DB_CONF_KEYS(settings_t, db), };
 */
#define LARS_DB_CONF_KEYS(T_, member)                                                              \
    LARS_CONF_STRING_KEY("db.host", T_, member.host, "127.0.0.1", "MariaDB host (TCP)"),           \
        LARS_CONF_INT_KEY("db.port", T_, member.port, 3306, 1, 65535, "MariaDB TCP port"),         \
        LARS_CONF_STRING_KEY("db.socket", T_, member.socket, "",                                   \
                             "Unix socket; when set, used instead of host and port"),              \
        LARS_CONF_STRING_KEY("db.user", T_, member.user, "lars", "MariaDB user"),                  \
        LARS_CONF_SECRET_KEY("db.password", T_, member.password, "",                               \
                             "password (password_file or the db-password credential win)"),        \
        LARS_CONF_STRING_KEY("db.password_file", T_, member.password_file, "",                     \
                             "file holding the password (one trailing newline ignored)"),          \
        LARS_CONF_STRING_KEY("db.name", T_, member.name, "lars", "database name")

typedef struct lars_db_error {
    unsigned int code; /* MariaDB client/server error number; 0 when not from MariaDB */
    char msg[512];
} lars_db_error_t;

/* The password to use: the contents of password_file if set, else of
 * $CREDENTIALS_DIRECTORY/db-password if that file exists, else `password`.
 * One trailing newline (or CRLF) is stripped. *ret_password is malloc'ed.
 * Returns 0, -ENOMEM, or the -errno of reading the file (message in ret_err). */
int lars_db_resolve_password(const lars_db_settings_t *s, char **ret_password,
                             lars_db_error_t *ret_err);

/* Connects (resolving the password) with utf8mb4, timeouts and no automatic
 * reconnect. Returns 0, -ENOTCONN when the server could not be reached or
 * refused the login, or another -errno; ret_err says why, naming the server
 * ("cannot connect to MariaDB at HOST:PORT/NAME: ...") or the password file:
 * a complete message, to be printed without more of the same context. */
int lars_db_connect(const lars_db_settings_t *s, MYSQL **ret_conn, lars_db_error_t *ret_err);

/* mysql_close(); accepts NULL. */
void lars_db_free(MYSQL *conn);

/* True for errors that mean the connection is gone or cannot be made
 * (server gone/lost, refused, timed out, shutting down): reconnect. */
bool lars_db_is_conn_lost(unsigned int code);

/* Fills ret_err from the handle; returns -ENOTCONN for a lost connection,
 * -EIO otherwise. */
int lars_db_error_from(MYSQL *conn, const char *what, lars_db_error_t *ret_err);

/* Runs one statement and discards any result. Returns the affected row count
 * (>= 0) or -ENOTCONN / -EIO. */
int64_t lars_db_exec(MYSQL *conn, const char *sql, lars_db_error_t *ret_err);

/* Runs a query whose first row's first column is an unsigned number. Returns 0,
 * -ENOENT for no row or NULL, -ENOTCONN / -EIO / -ERANGE. */
int lars_db_query_u64(MYSQL *conn, const char *sql, uint64_t *ret_value, lars_db_error_t *ret_err);

int lars_db_begin(MYSQL *conn, lars_db_error_t *ret_err);
int lars_db_commit(MYSQL *conn, lars_db_error_t *ret_err);
/* Best effort; a rollback on a lost connection is implicit. */
void lars_db_rollback(MYSQL *conn);

/* Runs every statement of `sql` (';'-separated, as a .sql file; no
 * DELIMITER). Returns 0 or -ENOTCONN / -EIO naming the failing statement's
 * position in ret_err. */
int lars_db_exec_script(MYSQL *conn, const char *sql, lars_db_error_t *ret_err);

/* "host:port/name" or "socket/name", for messages. */
const char *lars_db_describe(const lars_db_settings_t *s, char *buf, size_t size);

#endif
