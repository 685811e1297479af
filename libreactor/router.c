/*
 * msgid -> handler. The protocol's ids are small, so they index a direct
 * array; any other id (large or negative) lives in a sorted array searched
 * by bisection. Dispatch is lock-free and allocation-free: the router is
 * filled before the transports start and only read afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libreactor/router.h"

#define ROUTER_DIRECT 256

typedef struct route {
    int32_t msgid;
    rx_msg_cb cb;
    void *arg;
} route_t;

struct rx_router {
    route_t direct[ROUTER_DIRECT]; /* cb NULL: no handler */
    route_t *sparse;               /* sorted by msgid */
    size_t nsparse;
    size_t sparse_cap;
};

rx_router_t *rx_router_new(void)
{
    return calloc(1, sizeof(rx_router_t));
}

void rx_router_free(rx_router_t *r)
{
    if (!r)
        return;
    free(r->sparse);
    free(r);
}

/* Index of the first sparse route with msgid >= id. */
static size_t sparse_lower_bound(const rx_router_t *r, int32_t id)
{
    size_t lo = 0, hi = r->nsparse;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->sparse[mid].msgid < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int sparse_add(rx_router_t *r, int32_t msgid, rx_msg_cb cb, void *arg)
{
    size_t i = sparse_lower_bound(r, msgid);

    if (i < r->nsparse && r->sparse[i].msgid == msgid) {
        r->sparse[i] = (route_t){msgid, cb, arg};
        return 0;
    }
    if (r->nsparse == r->sparse_cap) {
        size_t ncap = r->sparse_cap ? r->sparse_cap * 2 : 8;
        route_t *s = realloc(r->sparse, ncap * sizeof(*s));
        if (!s)
            return -ENOMEM;
        r->sparse = s;
        r->sparse_cap = ncap;
    }
    memmove(&r->sparse[i + 1], &r->sparse[i], (r->nsparse - i) * sizeof(*r->sparse));
    r->sparse[i] = (route_t){msgid, cb, arg};
    r->nsparse++;
    return 0;
}

int rx_router_add(rx_router_t *r, int32_t msgid, rx_msg_cb cb, void *arg)
{
    if (!cb)
        return -EINVAL;
    if (msgid >= 0 && msgid < ROUTER_DIRECT) {
        r->direct[msgid] = (route_t){msgid, cb, arg};
        return 0;
    }
    return sparse_add(r, msgid, cb, arg);
}

static const route_t *router_find(const rx_router_t *r, int32_t msgid)
{
    size_t i;

    if (msgid >= 0 && msgid < ROUTER_DIRECT)
        return r->direct[msgid].cb ? &r->direct[msgid] : NULL;
    i = sparse_lower_bound(r, msgid);
    return i < r->nsparse && r->sparse[i].msgid == msgid ? &r->sparse[i] : NULL;
}

int rx_router_dispatch(const rx_router_t *r, const rx_msg_t *msg)
{
    const route_t *route = router_find(r, msg->msgid);

    if (!route)
        return -ENOENT;
    route->cb(msg, route->arg);
    return 0;
}
