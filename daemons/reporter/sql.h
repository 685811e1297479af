/*
 * Builds the multi-row upsert a writer sends to MariaDB:
 *
 *   INSERT INTO ServerCallStatus (modid,cmdid,ip,port,caller,succ_cnt,err_cnt,ts,overload)
 *   VALUES (...),(...) ON DUPLICATE KEY UPDATE succ_cnt=VALUES(succ_cnt), ...
 *
 * into a buffer the writer keeps between statements: it grows to the largest
 * batch once and then allocates nothing. Every value is a number (the key
 * columns as the unsigned 32-bit number MariaDB stores, overload as '1'/'0'),
 * so nothing needs escaping.
 */
#ifndef LARS_REPORTER_SQL_H
#define LARS_REPORTER_SQL_H

#include <stddef.h>

#include "daemons/reporter/pending.h"

typedef struct rp_sql {
    char *buf;
    size_t len;
    size_t cap;
} rp_sql_t;

/* Most bytes one row adds to the statement. */
#define RP_SQL_ROW_MAX 128

/* Replaces the buffer's content with the upsert of rows[0, n), n >= 1, NUL
 * terminated (len excludes the NUL). Returns 0, -EINVAL, -ENOMEM. */
int rp_sql_build_upsert(rp_sql_t *sql, const rp_row_t *rows, size_t n);
void rp_sql_release(rp_sql_t *sql);

#endif
