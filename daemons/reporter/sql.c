/*
 * Upsert statement builder (see sql.h).
 */
#include "daemons/reporter/sql.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char sql_head[] =
    "INSERT INTO ServerCallStatus (modid,cmdid,ip,port,caller,succ_cnt,err_cnt,ts,overload) "
    "VALUES ";
static const char sql_tail[] =
    " ON DUPLICATE KEY UPDATE succ_cnt=VALUES(succ_cnt), err_cnt=VALUES(err_cnt), "
    "ts=VALUES(ts), overload=VALUES(overload)";

/* Writes v in decimal at p; returns the end. snprintf costs several times
 * more, and this runs nine times per row. */
static char *put_u32(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_row(char *p, const rp_row_t *r)
{
    *p++ = '(';
    p = put_u32(p, (uint32_t)r->modid);
    *p++ = ',';
    p = put_u32(p, (uint32_t)r->cmdid);
    *p++ = ',';
    p = put_u32(p, (uint32_t)r->ip);
    *p++ = ',';
    p = put_u32(p, (uint32_t)r->port);
    *p++ = ',';
    p = put_u32(p, (uint32_t)r->caller);
    *p++ = ',';
    p = put_u32(p, r->succ);
    *p++ = ',';
    p = put_u32(p, r->err);
    *p++ = ',';
    p = put_u32(p, r->ts);
    memcpy(p, r->overload ? ",'1')" : ",'0')", 5);
    return p + 5;
}

int rp_sql_build_upsert(rp_sql_t *sql, const rp_row_t *rows, size_t n)
{
    if (n == 0)
        return -EINVAL;

    size_t need = sizeof(sql_head) + sizeof(sql_tail) + n * RP_SQL_ROW_MAX;
    if (need > sql->cap) {
        char *b = realloc(sql->buf, need);
        if (!b)
            return -ENOMEM;
        sql->buf = b;
        sql->cap = need;
    }

    char *p = sql->buf;
    memcpy(p, sql_head, sizeof(sql_head) - 1);
    p += sizeof(sql_head) - 1;
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        p = put_row(p, &rows[i]);
    }
    memcpy(p, sql_tail, sizeof(sql_tail));
    p += sizeof(sql_tail) - 1;
    sql->len = (size_t)(p - sql->buf);
    return 0;
}

void rp_sql_release(rp_sql_t *sql)
{
    free(sql->buf);
    *sql = (rp_sql_t){0};
}
