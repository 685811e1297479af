/*
 * Incremental reloads of lars-dns. A route change (larsctl) writes one
 * RouteChange row per changed pair in the transaction that bumps
 * RouteVersion, so when the version moved, the rows after the last one this
 * instance has seen name every pair that may differ: only those pairs'
 * RouteData rows are read, patched into a copy of the current table
 * (route_table_patch) and diffed. Each instance keeps its own last seen id,
 * so several instances on one database need nothing from each other.
 *
 * The list is not trusted, and the caller reloads everything instead, when
 * the last seen row is gone (pruned: rows after it may be gone too), when it
 * is longer than a tenth of the pairs (a full reload costs about the same
 * then), or when its newest version is not the one RouteVersion holds (a
 * writer bumped the version without rows). Everything is read in one
 * consistent snapshot, so the rows and the version agree. A change with
 * neither a row nor a version bump is left to the periodic full reload.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/common/log.h"
#include "daemons/dns/internal.h"

#define MIN_LIST_LIMIT  1000 /* small tables: a full reload is cheap anyway */
#define PAIRS_PER_QUERY 500

typedef struct change_list {
    route_key_t *keys;
    size_t n, cap;
    uint64_t max_version;
    uint64_t last_id;
} change_list_t;

static uint64_t parse_u64(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

static int change_list_add(change_list_t *c, MYSQL_ROW row)
{
    uint64_t version = parse_u64(row[3]);

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        route_key_t *p = realloc(c->keys, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        c->keys = p;
        c->cap = cap;
    }
    c->keys[c->n++] = (route_key_t){(int32_t)parse_u64(row[1]), (int32_t)parse_u64(row[2])};
    c->last_id = parse_u64(row[0]);
    if (version > c->max_version)
        c->max_version = version;
    return 0;
}

/* Reads the rows from the last seen one on. 1: read; 0: unusable (why in
 * *ret_why); -errno. */
static int read_list(dns_t *d, size_t limit, change_list_t *c, const char **ret_why)
{
    lars_db_error_t e = {0};
    MYSQL_RES *res;
    MYSQL_ROW row;
    char sql[200];
    bool first = true;
    int err = 0;

    /* +2: the last seen row and one past the limit */
    snprintf(sql, sizeof(sql),
             "SELECT id, modid, cmdid, version FROM RouteChange WHERE id >= %" PRIu64
             " ORDER BY id LIMIT %zu",
             d->last_change_id, limit + 2);
    if (mysql_real_query(d->conn, sql, strlen(sql)) != 0 || !(res = mysql_store_result(d->conn))) {
        err = lars_db_error_from(d->conn, "reading RouteChange", &e);
        dns_set_db_error(d, e.msg);
        return err;
    }
    c->last_id = d->last_change_id;
    while ((row = mysql_fetch_row(res)) && err == 0) {
        bool seen = first && d->last_change_id > 0;
        if (seen && parse_u64(row[0]) != d->last_change_id) {
            *ret_why = "the last seen RouteChange row was pruned";
            mysql_free_result(res);
            return 0;
        }
        first = false;
        if (!seen)
            err = change_list_add(c, row);
    }
    mysql_free_result(res);
    if (err < 0)
        return err;
    if (first && d->last_change_id > 0)
        *ret_why = "the last seen RouteChange row was pruned";
    else if (c->n > limit)
        *ret_why = "too many changed pairs";
    else
        return 1;
    return 0;
}

/* "(modid = 1 AND cmdid = 2) OR ..." for keys[0..n). */
static char *pairs_sql(const route_key_t *keys, size_t n, size_t *ret_len)
{
    static const char head[] = "SELECT modid, cmdid, serverip, serverport FROM RouteData WHERE ";
    static const char tail[] = " ORDER BY modid, cmdid, serverip, serverport";
    size_t cap = sizeof(head) + sizeof(tail) + n * 56, len;
    char *sql = malloc(cap);

    if (!sql)
        return NULL;
    len = (size_t)snprintf(sql, cap, "%s", head);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(sql + len, cap - len,
                                "%s(modid = %" PRIu32 " AND cmdid = %" PRIu32 ")", i ? " OR " : "",
                                (uint32_t)keys[i].modid, (uint32_t)keys[i].cmdid);
    len += (size_t)snprintf(sql + len, cap - len, "%s", tail);
    *ret_len = len;
    return sql;
}

/* The changed pairs' rows, in key order (keys sorted), into one table. */
static int load_pairs(dns_t *d, const change_list_t *c, uint64_t version, route_table_t **ret)
{
    route_builder_t *b = route_builder_new();
    int err = 0;

    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < c->n && err == 0; i += PAIRS_PER_QUERY) {
        size_t n = c->n - i < PAIRS_PER_QUERY ? c->n - i : PAIRS_PER_QUERY, len;
        char *sql = pairs_sql(c->keys + i, n, &len);
        err = sql ? dns_load_rows(d, sql, len, b) : -ENOMEM;
        free(sql);
    }
    if (err < 0) {
        route_builder_free(b);
        return err;
    }
    return route_builder_finish(b, version, ret);
}

static int read_snapshot(dns_t *d, change_list_t *c, uint64_t *ret_version,
                         route_table_t **ret_delta, const char **ret_why)
{
    const route_table_t *cur = atomic_load(&d->current);
    size_t limit = cur->npairs / 10 > MIN_LIST_LIMIT ? cur->npairs / 10 : MIN_LIST_LIMIT;
    int r;

    r = dns_query_u64(d, "SELECT version FROM RouteVersion WHERE id = 1", ret_version);
    if (r < 0)
        return r;
    r = read_list(d, limit, c, ret_why);
    if (r <= 0)
        return r;
    if (c->n == 0 || c->max_version != *ret_version) {
        *ret_why = "RouteVersion moved without RouteChange rows";
        return 0;
    }
    c->n = route_keys_sort_unique(c->keys, c->n);
    r = load_pairs(d, c, *ret_version, ret_delta);
    return r < 0 ? r : 1;
}

int dns_load_incremental(dns_t *d, dns_load_t *l)
{
    change_list_t c = {0};
    route_table_t *delta = NULL;
    const char *why = NULL;
    uint64_t version = 0;
    int r;

    r = dns_snapshot_begin(d);
    if (r < 0)
        return r;
    r = read_snapshot(d, &c, &version, &delta, &why);
    r = dns_snapshot_end(d, r);
    if (r <= 0)
        goto out_free;
    /* The DB loop is the only publisher: current stays alive meanwhile. */
    r = route_table_patch(atomic_load(&d->current), delta, c.keys, c.n, version, &l->table);
    if (r < 0)
        goto out_free;
    route_table_free(delta);
    l->keys = c.keys;
    l->nkeys = c.n;
    l->version = version;
    l->last_change_id = c.last_id;
    return 1;

out_free:
    if (r == 0)
        lars_log(LOG_DEBUG, "full reload: %s", why);
    route_table_free(delta);
    free(c.keys);
    return r;
}
