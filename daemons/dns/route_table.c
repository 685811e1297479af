/*
 * Route snapshots: building (streamed rows, sorted or not), the hash index,
 * lookup and diff. See route_table.h for the layout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/dns/route_table.h"

#define SLOT_EMPTY UINT32_MAX

typedef struct route_row {
    uint32_t modid, cmdid, ip, port;
} route_row_t;

/* Sorted input (the DB query orders its rows) is appended straight into the
 * final arrays. Rows out of order switch the builder to collecting rows
 * that finish() sorts: correct for any input, lean for the usual one. */
struct route_builder {
    route_pair_t *pairs;
    size_t npairs, pairs_cap;
    route_host_t *hosts;
    size_t nhosts, hosts_cap;
    route_row_t last;
    bool have_last;

    bool unsorted;
    route_row_t *rows;
    size_t nrows, rows_cap;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n;
    void *q;

    if (need <= *cap)
        return 0;
    n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    q = realloc(*p, n * elem);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static int row_cmp(const route_row_t *a, const route_row_t *b)
{
    if (a->modid != b->modid)
        return a->modid < b->modid ? -1 : 1;
    if (a->cmdid != b->cmdid)
        return a->cmdid < b->cmdid ? -1 : 1;
    if (a->ip != b->ip)
        return a->ip < b->ip ? -1 : 1;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return 0;
}

static int row_qsort_cmp(const void *a, const void *b)
{
    return row_cmp(a, b);
}

route_builder_t *route_builder_new(void)
{
    return calloc(1, sizeof(route_builder_t));
}

void route_builder_free(route_builder_t *b)
{
    if (!b)
        return;
    free(b->pairs);
    free(b->hosts);
    free(b->rows);
    free(b);
}

static int append_sorted(route_builder_t *b, const route_row_t *r)
{
    route_pair_t *p = b->npairs ? &b->pairs[b->npairs - 1] : NULL;
    int err;

    err = grow((void **)&b->hosts, &b->hosts_cap, b->nhosts + 1, sizeof(route_host_t));
    if (err < 0)
        return err;
    if (!p || (uint32_t)p->modid != r->modid || (uint32_t)p->cmdid != r->cmdid) {
        err = grow((void **)&b->pairs, &b->pairs_cap, b->npairs + 1, sizeof(route_pair_t));
        if (err < 0)
            return err;
        p = &b->pairs[b->npairs++];
        *p = (route_pair_t){(int32_t)r->modid, (int32_t)r->cmdid, (uint32_t)b->nhosts, 0};
    }
    b->hosts[b->nhosts++] = (route_host_t){(int32_t)r->ip, (int32_t)r->port};
    p->count++;
    return 0;
}

static int push_row(route_builder_t *b, const route_row_t *r)
{
    int err = grow((void **)&b->rows, &b->rows_cap, b->nrows + 1, sizeof(route_row_t));

    if (err < 0)
        return err;
    b->rows[b->nrows++] = *r;
    return 0;
}

/* Moves what was appended so far into rows; from now on finish() sorts. */
static int switch_to_rows(route_builder_t *b)
{
    for (size_t i = 0; i < b->npairs; i++) {
        const route_pair_t *p = &b->pairs[i];
        for (uint32_t j = 0; j < p->count; j++) {
            const route_host_t *h = &b->hosts[p->first + j];
            route_row_t r = {(uint32_t)p->modid, (uint32_t)p->cmdid, (uint32_t)h->ip,
                             (uint32_t)h->port};
            int err = push_row(b, &r);
            if (err < 0)
                return err;
        }
    }
    b->npairs = b->nhosts = 0;
    b->unsorted = true;
    return 0;
}

int route_builder_add(route_builder_t *b, int32_t modid, int32_t cmdid, int32_t ip, int32_t port)
{
    route_row_t r = {(uint32_t)modid, (uint32_t)cmdid, (uint32_t)ip, (uint32_t)port};
    int c, err;

    if (b->unsorted)
        return push_row(b, &r);
    c = b->have_last ? row_cmp(&r, &b->last) : 1;
    if (c == 0)
        return 0;
    if (c < 0) {
        err = switch_to_rows(b);
        return err < 0 ? err : push_row(b, &r);
    }
    b->last = r;
    b->have_last = true;
    return append_sorted(b, &r);
}

static uint64_t pair_hash(const route_table_t *t, int32_t modid, int32_t cmdid)
{
    return rx_siphash_u64(&t->hash_key, ((uint64_t)(uint32_t)modid << 32) | (uint32_t)cmdid);
}

static int build_index(route_table_t *t)
{
    size_t cap = 16;

    while (cap < t->npairs * 2)
        cap *= 2;
    t->index = malloc(cap * sizeof(uint32_t));
    if (!t->index)
        return -ENOMEM;
    memset(t->index, 0xff, cap * sizeof(uint32_t));
    t->index_mask = cap - 1;
    rx_siphash_process_key(&t->hash_key);
    for (size_t i = 0; i < t->npairs; i++) {
        size_t s = pair_hash(t, t->pairs[i].modid, t->pairs[i].cmdid) & t->index_mask;
        while (t->index[s] != SLOT_EMPTY)
            s = (s + 1) & t->index_mask;
        t->index[s] = (uint32_t)i;
    }
    return 0;
}

/* Shrinks the arrays to their size: a reload must not keep the doubling
 * slack of a table that may hold a million hosts. */
static void shrink(void **p, size_t n, size_t elem)
{
    void *q;

    if (!*p || n == 0)
        return;
    q = realloc(*p, n * elem);
    if (q)
        *p = q;
}

int route_builder_finish(route_builder_t *b, uint64_t version, route_table_t **ret)
{
    route_table_t *t;
    int err;

    if (b->unsorted) {
        route_row_t *rows = b->rows;
        size_t n = b->nrows;

        qsort(rows, n, sizeof(*rows), row_qsort_cmp);
        b->rows = NULL;
        b->nrows = b->rows_cap = 0;
        b->unsorted = false;
        b->have_last = false;
        err = 0;
        for (size_t i = 0; i < n && err == 0; i++)
            err = route_builder_add(b, (int32_t)rows[i].modid, (int32_t)rows[i].cmdid,
                                    (int32_t)rows[i].ip, (int32_t)rows[i].port);
        free(rows);
        if (err < 0)
            goto out_free_builder;
    }

    t = calloc(1, sizeof(*t));
    if (!t) {
        err = -ENOMEM;
        goto out_free_builder;
    }
    shrink((void **)&b->pairs, b->npairs, sizeof(route_pair_t));
    shrink((void **)&b->hosts, b->nhosts, sizeof(route_host_t));
    t->pairs = b->pairs;
    t->npairs = b->npairs;
    t->hosts = b->hosts;
    t->nhosts = b->nhosts;
    t->version = version;
    b->pairs = NULL;
    b->hosts = NULL;
    err = build_index(t);
    if (err < 0) {
        route_table_free(t);
        goto out_free_builder;
    }
    route_builder_free(b);
    *ret = t;
    return 0;

out_free_builder:
    route_builder_free(b);
    return err;
}

route_table_t *route_table_new_empty(void)
{
    route_builder_t *b = route_builder_new();
    route_table_t *t = NULL;

    if (!b || route_builder_finish(b, 0, &t) < 0)
        return NULL;
    return t;
}

void route_table_free(route_table_t *t)
{
    if (!t)
        return;
    free(t->pairs);
    free(t->hosts);
    free(t->index);
    free(t);
}

const route_pair_t *route_table_lookup(const route_table_t *t, int32_t modid, int32_t cmdid)
{
    size_t s = pair_hash(t, modid, cmdid) & t->index_mask;

    for (;;) {
        uint32_t i = t->index[s];
        if (i == SLOT_EMPTY)
            return NULL;
        if (t->pairs[i].modid == modid && t->pairs[i].cmdid == cmdid)
            return &t->pairs[i];
        s = (s + 1) & t->index_mask;
    }
}

size_t route_table_bytes(const route_table_t *t)
{
    return sizeof(*t) + t->npairs * sizeof(route_pair_t) + t->nhosts * sizeof(route_host_t) +
           (t->index_mask + 1) * sizeof(uint32_t);
}

size_t route_table_longest_probe(const route_table_t *t)
{
    size_t longest = 0;

    for (size_t s = 0; s <= t->index_mask; s++) {
        uint32_t i = t->index[s];
        if (i == SLOT_EMPTY)
            continue;
        size_t home = pair_hash(t, t->pairs[i].modid, t->pairs[i].cmdid) & t->index_mask;
        size_t d = (s - home) & t->index_mask;
        if (d > longest)
            longest = d;
    }
    return longest;
}

static int pair_key_cmp(const route_pair_t *a, const route_pair_t *b)
{
    if (a->modid != b->modid)
        return (uint32_t)a->modid < (uint32_t)b->modid ? -1 : 1;
    if (a->cmdid != b->cmdid)
        return (uint32_t)a->cmdid < (uint32_t)b->cmdid ? -1 : 1;
    return 0;
}

static bool same_hosts(const route_table_t *a, const route_pair_t *pa, const route_table_t *b,
                       const route_pair_t *pb)
{
    return pa->count == pb->count && memcmp(a->hosts + pa->first, b->hosts + pb->first,
                                            pa->count * sizeof(route_host_t)) == 0;
}

size_t route_table_diff(const route_table_t *old, const route_table_t *new, route_diff_cb cb,
                        void *arg)
{
    size_t i = 0, j = 0, changed = 0;
    size_t no = old ? old->npairs : 0, nn = new ? new->npairs : 0;

    while (i < no || j < nn) {
        const route_pair_t *a = i < no ? &old->pairs[i] : NULL;
        const route_pair_t *b = j < nn ? &new->pairs[j] : NULL;
        int c = !a ? 1 : !b ? -1 : pair_key_cmp(a, b);

        if (c < 0) {
            cb(a->modid, a->cmdid, arg);
            i++;
        } else if (c > 0) {
            cb(b->modid, b->cmdid, arg);
            j++;
        } else {
            if (!same_hosts(old, a, new, b)) {
                cb(a->modid, a->cmdid, arg);
                changed++;
            }
            i++;
            j++;
            continue;
        }
        changed++;
    }
    return changed;
}

static int key_cmp(int32_t am, int32_t ac, int32_t bm, int32_t bc)
{
    if (am != bm)
        return (uint32_t)am < (uint32_t)bm ? -1 : 1;
    if (ac != bc)
        return (uint32_t)ac < (uint32_t)bc ? -1 : 1;
    return 0;
}

static int key_qsort_cmp(const void *a, const void *b)
{
    const route_key_t *x = a, *y = b;

    return key_cmp(x->modid, x->cmdid, y->modid, y->cmdid);
}

size_t route_keys_sort_unique(route_key_t *keys, size_t n)
{
    size_t out = 0;

    if (n == 0)
        return 0;
    qsort(keys, n, sizeof(*keys), key_qsort_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_qsort_cmp(&keys[out], &keys[i]) != 0)
            keys[++out] = keys[i];
    return out + 1;
}

/* Appends one pair to t; with t->pairs NULL it only counts. */
static void patch_emit(route_table_t *t, int32_t modid, int32_t cmdid, const route_host_t *h,
                       uint32_t count)
{
    if (count == 0)
        return;
    if (t->pairs) {
        t->pairs[t->npairs] = (route_pair_t){modid, cmdid, (uint32_t)t->nhosts, count};
        memcpy(t->hosts + t->nhosts, h, count * sizeof(*h));
    }
    t->npairs++;
    t->nhosts += count;
}

static void patch_emit_delta(route_table_t *t, const route_table_t *delta, const route_key_t *k)
{
    const route_pair_t *p = route_table_lookup(delta, k->modid, k->cmdid);

    if (p)
        patch_emit(t, p->modid, p->cmdid, route_pair_hosts(delta, p), p->count);
}

/* The merge walk of base's pairs and the keys, run once to count and once
 * to fill. */
static void patch_walk(route_table_t *t, const route_table_t *base, const route_table_t *delta,
                       const route_key_t *keys, size_t nkeys)
{
    size_t i = 0, k = 0;

    t->npairs = t->nhosts = 0;
    while (i < base->npairs || k < nkeys) {
        const route_pair_t *p = i < base->npairs ? &base->pairs[i] : NULL;
        int c = !p           ? 1
                : k == nkeys ? -1
                             : key_cmp(p->modid, p->cmdid, keys[k].modid, keys[k].cmdid);

        if (c < 0) {
            patch_emit(t, p->modid, p->cmdid, route_pair_hosts(base, p), p->count);
            i++;
            continue;
        }
        patch_emit_delta(t, delta, &keys[k]);
        k++;
        i += c == 0;
    }
}

int route_table_patch(const route_table_t *base, const route_table_t *delta,
                      const route_key_t *keys, size_t nkeys, uint64_t version, route_table_t **ret)
{
    route_table_t *t = calloc(1, sizeof(*t));
    size_t npairs, nhosts;
    int err;

    if (!t)
        return -ENOMEM;
    patch_walk(t, base, delta, keys, nkeys);
    npairs = t->npairs;
    nhosts = t->nhosts;
    /* +1: malloc(0) may return NULL */
    t->pairs = malloc((npairs + 1) * sizeof(route_pair_t));
    t->hosts = malloc((nhosts + 1) * sizeof(route_host_t));
    if (!t->pairs || !t->hosts) {
        err = -ENOMEM;
        goto out_free_table;
    }
    patch_walk(t, base, delta, keys, nkeys);
    t->version = version;
    err = build_index(t);
    if (err < 0)
        goto out_free_table;
    *ret = t;
    return 0;

out_free_table:
    route_table_free(t);
    return err;
}

size_t route_table_diff_keys(const route_table_t *old, const route_table_t *new,
                             const route_key_t *keys, size_t nkeys, route_diff_cb cb, void *arg)
{
    size_t changed = 0;

    for (size_t k = 0; k < nkeys; k++) {
        const route_pair_t *a = old ? route_table_lookup(old, keys[k].modid, keys[k].cmdid) : NULL;
        const route_pair_t *b = new ? route_table_lookup(new, keys[k].modid, keys[k].cmdid) : NULL;

        if (!a && !b)
            continue;
        if (a && b && same_hosts(old, a, new, b))
            continue;
        cb(keys[k].modid, keys[k].cmdid, arg);
        changed++;
    }
    return changed;
}
