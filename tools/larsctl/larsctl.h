/*
 * larsctl internals: exit codes, argument parsing and the commands, which
 * all work on one MariaDB connection and print to stdout (results) or
 * stderr (one line per error, prefixed "larsctl: ").
 */
#ifndef LARS_TOOLS_LARSCTL_H
#define LARS_TOOLS_LARSCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemons/common/db.h"

/* Exit codes (documented in --help). */
enum {
    LARSCTL_EX_OK = 0,
    LARSCTL_EX_NOCHANGE = 1, /* route not found, or already there: nothing changed */
    LARSCTL_EX_USAGE = 2,
    LARSCTL_EX_DATAERR = 65,     /* import file has a bad line */
    LARSCTL_EX_NOINPUT = 66,     /* import file cannot be read */
    LARSCTL_EX_UNAVAILABLE = 69, /* cannot connect to MariaDB, or the connection was lost */
    LARSCTL_EX_SOFTWARE = 70,    /* MariaDB refused a statement (schema missing, privileges) */
    LARSCTL_EX_CONFIG = 78,
};

/* A modid, cmdid, IPv4 (host-order INET_ATON number) and port. */
typedef struct larsctl_route {
    uint32_t modid;
    uint32_t cmdid;
    uint32_t ip;
    uint32_t port;
} larsctl_route_t;

void larsctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* modid/cmdid: 0..2147483647 (the wire carries int32). Returns 0 or -EINVAL
 * with a message for `what` in msg. */
int larsctl_parse_id(const char *s, const char *what, uint32_t *ret, char *msg, size_t size);
/* 1..65535 */
int larsctl_parse_port(const char *s, uint32_t *ret, char *msg, size_t size);
/* Dotted IPv4, or a host name resolved to its first IPv4 address. */
int larsctl_parse_ip(const char *s, uint32_t *ret, char *msg, size_t size);
int larsctl_parse_route(char *const argv[4], larsctl_route_t *ret, char *msg, size_t size);

char *larsctl_ip_str(uint32_t ip, char buf[16]);
/* A result column as unsigned number (NULL reads as 0). */
uint32_t larsctl_col_u32(MYSQL_ROW row, unsigned int i);
/* A result column as text (NULL reads as "-"). */
const char *larsctl_col(MYSQL_ROW row, unsigned int i);

/* Maps a failed lars_db_* call (-ENOTCONN etc.) to an exit code, printing err. */
int larsctl_db_fail(int r, const lars_db_error_t *err);

/* The database a command works on; commands check their arguments first and
 * connect only then, so a usage error never waits for the database. */
typedef struct larsctl {
    const lars_db_settings_t *db;
    MYSQL *conn;
} larsctl_t;

/* Connects ctl->conn; returns LARSCTL_EX_OK or prints why and returns
 * LARSCTL_EX_UNAVAILABLE / LARSCTL_EX_CONFIG. */
int larsctl_connect(larsctl_t *ctl);

/* Commands; argv holds the command's own arguments. Return an exit code. */
int larsctl_route_add(larsctl_t *ctl, int argc, char **argv);
int larsctl_route_del(larsctl_t *ctl, int argc, char **argv);
int larsctl_route_list(larsctl_t *ctl, int argc, char **argv);
int larsctl_route_import(larsctl_t *ctl, int argc, char **argv);
int larsctl_version(larsctl_t *ctl, int argc, char **argv);
int larsctl_status(larsctl_t *ctl, int argc, char **argv);

/* Parses the optional "[MODID [CMDID]]" filter of list/status. */
int larsctl_parse_filter(int argc, char **argv, int *ret_n, uint32_t *ret_modid,
                         uint32_t *ret_cmdid);

#endif
