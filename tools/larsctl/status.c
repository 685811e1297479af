/*
 * larsctl status: the call statistics lars-reporter keeps in
 * ServerCallStatus, one line per (node, caller), newest report time shown in
 * local time.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/larsctl/larsctl.h"

static const char *format_ts(const char *text, char *buf, size_t size)
{
    time_t t = text ? (time_t)strtoll(text, NULL, 10) : 0;
    struct tm tm;

    if (t <= 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, size, "-");
    return buf;
}

static void print_row(MYSQL_ROW row)
{
    char host[32], caller[16], ip[16], ts[32];

    snprintf(host, sizeof(host), "%s:%s", larsctl_ip_str(larsctl_col_u32(row, 2), ip),
             larsctl_col(row, 3));
    larsctl_ip_str(larsctl_col_u32(row, 4), caller);
    printf("%-10s %-10s %-21s %-15s %10s %10s %-8s %s\n", larsctl_col(row, 0), larsctl_col(row, 1),
           host, caller, larsctl_col(row, 5), larsctl_col(row, 6),
           row[7] && row[7][0] == '1' ? "yes" : "no", format_ts(row[8], ts, sizeof(ts)));
}

int larsctl_status(larsctl_t *ctl, int argc, char **argv)
{
    lars_db_error_t err = {0};
    uint32_t modid = 0, cmdid = 0;
    char sql[512];
    MYSQL_RES *res;
    MYSQL_ROW row;
    MYSQL *conn;
    size_t len;
    int n, r;

    if (larsctl_parse_filter(argc, argv, &n, &modid, &cmdid) < 0)
        return LARSCTL_EX_USAGE;
    r = larsctl_connect(ctl);
    if (r != LARSCTL_EX_OK)
        return r;
    conn = ctl->conn;

    len = (size_t)snprintf(sql, sizeof(sql),
                           "SELECT modid, cmdid, ip, port, caller, succ_cnt, err_cnt, overload, ts "
                           "FROM ServerCallStatus");
    if (n >= 1)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " WHERE modid = %u", modid);
    if (n >= 2)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND cmdid = %u", cmdid);
    snprintf(sql + len, sizeof(sql) - len, " ORDER BY modid, cmdid, ip, port, caller");

    if (mysql_query(conn, sql) != 0 || !(res = mysql_use_result(conn)))
        return larsctl_db_fail(lars_db_error_from(conn, "reading call status failed", &err), &err);
    printf("%-10s %-10s %-21s %-15s %10s %10s %-8s %s\n", "MODID", "CMDID", "HOST", "CALLER",
           "SUCC", "ERR", "OVERLOAD", "TIME");
    while ((row = mysql_fetch_row(res)))
        print_row(row);
    r = LARSCTL_EX_OK;
    if (mysql_errno(conn))
        r = larsctl_db_fail(lars_db_error_from(conn, "reading call status failed", &err), &err);
    mysql_free_result(res);
    return r;
}
