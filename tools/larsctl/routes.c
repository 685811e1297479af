/*
 * larsctl route commands. Every change is one transaction that first locks
 * RouteVersion id 1 (SELECT ... FOR UPDATE: concurrent writers serialize
 * there), changes RouteData, writes one RouteChange row per changed pair and
 * sets RouteVersion to max(unix time, old + 1), so the version strictly grows
 * even for several changes within one second.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/larsctl/larsctl.h"

#define IMPORT_BATCH_ROWS 500
#define IMPORT_MAX_ROWS   1000000
#define ROUTE_VERSION_MAX UINT32_MAX /* RouteVersion.version is INT UNSIGNED */

typedef struct change {
    uint64_t old_version;
    uint64_t new_version;
} change_t;

static int change_begin(MYSQL *conn, change_t *c, lars_db_error_t *err)
{
    int64_t n;
    int r;

    /* A database set up by hand may lack the seed row. Outside the
     * transaction: its shared lock on an existing row, upgraded by the
     * FOR UPDATE below, would deadlock concurrent writers. */
    n = lars_db_exec(conn, "INSERT IGNORE INTO RouteVersion (id, version) VALUES (1, 0)", err);
    if (n < 0)
        return (int)n;
    r = lars_db_begin(conn, err);
    if (r < 0)
        return r;
    r = lars_db_query_u64(conn, "SELECT version FROM RouteVersion WHERE id = 1 FOR UPDATE",
                          &c->old_version, err);
    if (r < 0)
        return r;
    uint64_t now = (uint64_t)time(NULL);
    c->new_version = c->old_version + 1 > now ? c->old_version + 1 : now;
    if (c->new_version > ROUTE_VERSION_MAX) {
        snprintf(err->msg, sizeof(err->msg), "RouteVersion %" PRIu64 " cannot grow any further",
                 c->old_version);
        err->code = 0;
        return -ERANGE;
    }
    return 0;
}

/* Writes the new version and commits. `changes_sql` inserts the RouteChange
 * rows; "%" PRIu64 in it receives the new version. */
static int change_commit(MYSQL *conn, const change_t *c, const char *changes_sql,
                         lars_db_error_t *err)
{
    char sql[512];
    int64_t n;

    snprintf(sql, sizeof(sql), "UPDATE RouteVersion SET version = %" PRIu64 " WHERE id = 1",
             c->new_version);
    n = lars_db_exec(conn, sql, err);
    if (n < 0)
        return (int)n;
    n = lars_db_exec(conn, changes_sql, err);
    if (n < 0)
        return (int)n;
    return lars_db_commit(conn, err);
}

static int pair_change_sql(char *buf, size_t size, uint32_t modid, uint32_t cmdid,
                           const change_t *c)
{
    return snprintf(buf, size,
                    "INSERT INTO RouteChange (modid, cmdid, version) VALUES (%u, %u, %" PRIu64 ")",
                    modid, cmdid, c->new_version);
}

static int parse_route_args(int argc, char **argv, const char *cmd, larsctl_route_t *ret)
{
    char msg[256];

    if (argc != 4) {
        larsctl_err("usage: larsctl route %s MODID CMDID IP PORT", cmd);
        return -EINVAL;
    }
    if (larsctl_parse_route(argv, ret, msg, sizeof(msg)) < 0) {
        larsctl_err("%s", msg);
        return -EINVAL;
    }
    return 0;
}

/* Runs `sql` (an INSERT or DELETE of one route) inside a change; returns
 * the exit code. */
static int change_one(larsctl_t *ctl, const larsctl_route_t *rt, const char *sql, const char *done,
                      const char *nothing)
{
    lars_db_error_t err = {0};
    char changes[256], ip[16];
    MYSQL *conn;
    change_t c;
    int64_t n;
    int r;

    r = larsctl_connect(ctl);
    if (r != LARSCTL_EX_OK)
        return r;
    conn = ctl->conn;
    r = change_begin(conn, &c, &err);
    if (r < 0)
        goto fail;
    n = lars_db_exec(conn, sql, &err);
    if (n < 0) {
        r = (int)n;
        goto fail;
    }
    if (n == 0) {
        lars_db_rollback(conn);
        larsctl_err("route %u %u %s:%u %s", rt->modid, rt->cmdid, larsctl_ip_str(rt->ip, ip),
                    rt->port, nothing);
        return LARSCTL_EX_NOCHANGE;
    }
    pair_change_sql(changes, sizeof(changes), rt->modid, rt->cmdid, &c);
    r = change_commit(conn, &c, changes, &err);
    if (r < 0)
        goto fail;
    printf("%s route %u %u %s:%u (version %" PRIu64 ")\n", done, rt->modid, rt->cmdid,
           larsctl_ip_str(rt->ip, ip), rt->port, c.new_version);
    return LARSCTL_EX_OK;
fail:
    lars_db_rollback(conn);
    return larsctl_db_fail(r, &err);
}

int larsctl_route_add(larsctl_t *ctl, int argc, char **argv)
{
    larsctl_route_t rt;
    char sql[256];

    if (parse_route_args(argc, argv, "add", &rt) < 0)
        return LARSCTL_EX_USAGE;
    snprintf(sql, sizeof(sql),
             "INSERT IGNORE INTO RouteData (modid, cmdid, serverip, serverport) "
             "VALUES (%u, %u, %u, %u)",
             rt.modid, rt.cmdid, rt.ip, rt.port);
    return change_one(ctl, &rt, sql, "added", "already exists, nothing changed");
}

int larsctl_route_del(larsctl_t *ctl, int argc, char **argv)
{
    larsctl_route_t rt;
    char sql[256];

    if (parse_route_args(argc, argv, "del", &rt) < 0)
        return LARSCTL_EX_USAGE;
    snprintf(sql, sizeof(sql),
             "DELETE FROM RouteData WHERE modid = %u AND cmdid = %u AND serverip = %u "
             "AND serverport = %u",
             rt.modid, rt.cmdid, rt.ip, rt.port);
    return change_one(ctl, &rt, sql, "deleted", "does not exist, nothing changed");
}

static void append_where(char *sql, size_t size, int n, uint32_t modid, uint32_t cmdid)
{
    size_t len = strlen(sql);

    if (n >= 1)
        len += (size_t)snprintf(sql + len, size - len, " WHERE modid = %u", modid);
    if (n >= 2)
        snprintf(sql + len, size - len, " AND cmdid = %u", cmdid);
}

int larsctl_route_list(larsctl_t *ctl, int argc, char **argv)
{
    lars_db_error_t err = {0};
    uint32_t modid = 0, cmdid = 0;
    char sql[256], ip[16];
    MYSQL_RES *res;
    MYSQL_ROW row;
    MYSQL *conn;
    int n, r;

    if (larsctl_parse_filter(argc, argv, &n, &modid, &cmdid) < 0)
        return LARSCTL_EX_USAGE;
    r = larsctl_connect(ctl);
    if (r != LARSCTL_EX_OK)
        return r;
    conn = ctl->conn;
    snprintf(sql, sizeof(sql), "SELECT modid, cmdid, serverip, serverport FROM RouteData");
    append_where(sql, sizeof(sql), n, modid, cmdid);
    strncat(sql, " ORDER BY modid, cmdid, serverip, serverport", sizeof(sql) - strlen(sql) - 1);

    if (mysql_query(conn, sql) != 0 || !(res = mysql_use_result(conn)))
        return larsctl_db_fail(lars_db_error_from(conn, "listing routes failed", &err), &err);
    printf("%-10s %-10s %s\n", "MODID", "CMDID", "HOST");
    while ((row = mysql_fetch_row(res)))
        printf("%-10s %-10s %s:%s\n", larsctl_col(row, 0), larsctl_col(row, 1),
               larsctl_ip_str(larsctl_col_u32(row, 2), ip), larsctl_col(row, 3));
    if (mysql_errno(conn)) {
        r = lars_db_error_from(conn, "listing routes failed", &err);
        mysql_free_result(res);
        return larsctl_db_fail(r, &err);
    }
    mysql_free_result(res);
    return LARSCTL_EX_OK;
}

int larsctl_version(larsctl_t *ctl, int argc, char **argv)
{
    lars_db_error_t err = {0};
    uint64_t v = 0;
    int r;

    if (argc != 0) {
        larsctl_err("usage: larsctl version");
        return LARSCTL_EX_USAGE;
    }
    r = larsctl_connect(ctl);
    if (r != LARSCTL_EX_OK)
        return r;
    r = lars_db_query_u64(ctl->conn, "SELECT version FROM RouteVersion WHERE id = 1", &v, &err);
    if (r == -ENOENT)
        v = 0;
    else if (r < 0)
        return larsctl_db_fail(r, &err);
    printf("%" PRIu64 "\n", v);
    return LARSCTL_EX_OK;
}

/* ---- import ---- */

typedef struct route_list {
    larsctl_route_t *v;
    size_t n, cap;
} route_list_t;

static int route_list_push(route_list_t *l, const larsctl_route_t *rt)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        larsctl_route_t *v = reallocarray(l->v, cap, sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *rt;
    return 0;
}

/* One line: "modid cmdid ip port", '#' starts a comment. Returns 1 for a
 * route, 0 for a blank line, -EINVAL with msg. */
static int parse_import_line(char *line, larsctl_route_t *ret, char *msg, size_t size)
{
    char *fields[5], *save = NULL, *hash = strchr(line, '#');
    int n = 0;

    if (hash)
        *hash = '\0';
    for (char *tok = strtok_r(line, " \t\r\n", &save); tok;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == 5)
            break;
        fields[n++] = tok;
    }
    if (n == 0)
        return 0;
    if (n != 4) {
        snprintf(msg, size, "expected 'MODID CMDID IP PORT', got %s fields",
                 n > 4 ? "more" : "fewer");
        return -EINVAL;
    }
    return larsctl_parse_route(fields, ret, msg, size) < 0 ? -EINVAL : 1;
}

static int read_import_file(const char *path, route_list_t *routes)
{
    char *line = NULL, msg[300];
    size_t cap = 0;
    unsigned long lineno = 0;
    larsctl_route_t rt;
    int r = LARSCTL_EX_OK;
    FILE *f;

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
    if (!f) {
        larsctl_err("cannot open %s: %s", path, strerror(errno));
        return LARSCTL_EX_NOINPUT;
    }
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        int p = parse_import_line(line, &rt, msg, sizeof(msg));
        if (p < 0) {
            larsctl_err("%s:%lu: %s", path, lineno, msg);
            r = LARSCTL_EX_DATAERR;
            break;
        }
        if (p == 0)
            continue;
        if (routes->n >= IMPORT_MAX_ROWS) {
            larsctl_err("%s:%lu: more than %d routes; split the file", path, lineno,
                        IMPORT_MAX_ROWS);
            r = LARSCTL_EX_DATAERR;
            break;
        }
        if (route_list_push(routes, &rt) < 0) {
            larsctl_err("out of memory");
            r = LARSCTL_EX_SOFTWARE;
            break;
        }
    }
    if (r == LARSCTL_EX_OK && ferror(f)) {
        larsctl_err("cannot read %s: %s", path, strerror(errno));
        r = LARSCTL_EX_NOINPUT;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return r;
}

/* INSERT IGNORE of routes[0..n); adds the inserted count to *added and keeps
 * the smallest new RouteData id in *first_id. */
static int insert_batch(MYSQL *conn, const larsctl_route_t *routes, size_t n, uint64_t *added,
                        uint64_t *first_id, lars_db_error_t *err)
{
    static const char head[] =
        "INSERT IGNORE INTO RouteData (modid, cmdid, serverip, serverport) VALUES ";
    char sql[sizeof(head) + IMPORT_BATCH_ROWS * 48];
    size_t len = sizeof(head) - 1;
    int64_t r;

    memcpy(sql, head, len);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s(%u,%u,%u,%u)", i ? "," : "",
                                routes[i].modid, routes[i].cmdid, routes[i].ip, routes[i].port);
    r = lars_db_exec(conn, sql, err);
    if (r < 0)
        return (int)r;
    if (r > 0) {
        uint64_t id = mysql_insert_id(conn);
        if (id && (*first_id == 0 || id < *first_id))
            *first_id = id;
    }
    *added += (uint64_t)r;
    return 0;
}

static int import_routes(MYSQL *conn, const char *path, const route_list_t *routes)
{
    lars_db_error_t err = {0};
    uint64_t added = 0, first_id = 0;
    char changes[256];
    change_t c;
    int r;

    r = change_begin(conn, &c, &err);
    for (size_t i = 0; r == 0 && i < routes->n; i += IMPORT_BATCH_ROWS) {
        size_t n = routes->n - i < IMPORT_BATCH_ROWS ? routes->n - i : IMPORT_BATCH_ROWS;
        r = insert_batch(conn, routes->v + i, n, &added, &first_id, &err);
    }
    if (r < 0)
        goto fail;
    if (added == 0) {
        lars_db_rollback(conn);
        larsctl_err("%s: all %zu routes already exist, nothing changed", path, routes->n);
        return LARSCTL_EX_NOCHANGE;
    }
    /* New rows have ids above every older row: their pairs are the changed ones. */
    snprintf(changes, sizeof(changes),
             "INSERT INTO RouteChange (modid, cmdid, version) SELECT DISTINCT modid, cmdid, "
             "%" PRIu64 " FROM RouteData WHERE id >= %" PRIu64,
             c.new_version, first_id);
    r = change_commit(conn, &c, changes, &err);
    if (r < 0)
        goto fail;
    printf("imported %s: %" PRIu64 " routes added, %" PRIu64 " already present (version %" PRIu64
           ")\n",
           path, added, (uint64_t)routes->n - added, c.new_version);
    return LARSCTL_EX_OK;
fail:
    lars_db_rollback(conn);
    return larsctl_db_fail(r, &err);
}

int larsctl_route_import(larsctl_t *ctl, int argc, char **argv)
{
    route_list_t routes = {0};
    int r;

    if (argc != 1) {
        larsctl_err("usage: larsctl route import FILE");
        return LARSCTL_EX_USAGE;
    }
    r = read_import_file(argv[0], &routes);
    if (r != LARSCTL_EX_OK)
        goto out;
    if (routes.n == 0) {
        larsctl_err("%s: no routes in file, nothing changed", argv[0]);
        r = LARSCTL_EX_NOCHANGE;
        goto out;
    }
    r = larsctl_connect(ctl);
    if (r == LARSCTL_EX_OK)
        r = import_routes(ctl->conn, argv[0], &routes);
out:
    free(routes.v);
    return r;
}
