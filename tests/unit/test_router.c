/*
 * Tests of libreactor/router.c: dispatch by msgid to the registered handler
 * with its arg, through the direct table and the sparse fallback.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "libreactor/reactor.h"

struct hit {
    int calls;
    int32_t last_msgid;
    const rx_msg_t *last_msg;
};

static void handler_a(const rx_msg_t *msg, void *arg)
{
    struct hit *h = arg;

    h->calls++;
    h->last_msgid = msg->msgid;
    h->last_msg = msg;
}

static void handler_b(const rx_msg_t *msg, void *arg)
{
    ((struct hit *)arg)->calls += 100;
}

static int dispatch(rx_router_t *r, int32_t msgid)
{
    rx_msg_t msg = {.msgid = msgid};

    return rx_router_dispatch(r, &msg);
}

static void router_dispatches_to_handler_with_its_arg(void **state)
{
    rx_router_t *r = rx_router_new();
    struct hit h1 = {0}, h2 = {0};
    rx_msg_t msg = {.msgid = 2, .len = 3, .body = (const uint8_t *)"abc"};

    assert_int_equal(rx_router_add(r, 1, handler_a, &h1), 0);
    assert_int_equal(rx_router_add(r, 2, handler_a, &h2), 0);
    assert_int_equal(rx_router_dispatch(r, &msg), 0);
    assert_int_equal(h1.calls, 0);
    assert_int_equal(h2.calls, 1);
    assert_ptr_equal(h2.last_msg, &msg);
    assert_int_equal(dispatch(r, 1), 0);
    assert_int_equal(h1.calls, 1);
    assert_int_equal(h1.last_msgid, 1);
    rx_router_free(r);
}

static void router_unknown_msgid_is_enoent(void **state)
{
    rx_router_t *r = rx_router_new();
    struct hit h = {0};

    assert_int_equal(dispatch(r, 1), -ENOENT);
    assert_int_equal(rx_router_add(r, 1, handler_a, &h), 0);
    assert_int_equal(rx_router_add(r, 70000, handler_a, &h), 0);
    assert_int_equal(dispatch(r, 0), -ENOENT);
    assert_int_equal(dispatch(r, 255), -ENOENT);
    assert_int_equal(dispatch(r, 256), -ENOENT);
    assert_int_equal(dispatch(r, 69999), -ENOENT);
    assert_int_equal(dispatch(r, -1), -ENOENT);
    assert_int_equal(h.calls, 0);
    assert_int_equal(rx_router_add(r, 3, NULL, NULL), -EINVAL);
    rx_router_free(r);
    rx_router_free(NULL);
}

static void router_add_replaces_handler(void **state)
{
    rx_router_t *r = rx_router_new();
    struct hit h1 = {0}, h2 = {0};

    assert_int_equal(rx_router_add(r, 5, handler_a, &h1), 0);
    assert_int_equal(rx_router_add(r, 5, handler_b, &h2), 0);
    assert_int_equal(rx_router_add(r, 1000000, handler_a, &h1), 0);
    assert_int_equal(rx_router_add(r, 1000000, handler_b, &h2), 0);
    assert_int_equal(dispatch(r, 5), 0);
    assert_int_equal(dispatch(r, 1000000), 0);
    assert_int_equal(h1.calls, 0);
    assert_int_equal(h2.calls, 200);
    rx_router_free(r);
}

static void router_handles_large_and_negative_msgids(void **state)
{
    static const int32_t ids[] = {INT32_MAX, -1, INT32_MIN, 256, 255, 0, 1 << 20, -300, 65536};
    enum { N = sizeof(ids) / sizeof(ids[0]) };
    rx_router_t *r = rx_router_new();
    struct hit h[N] = {{0}};

    for (int i = 0; i < N; i++)
        assert_int_equal(rx_router_add(r, ids[i], handler_a, &h[i]), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(dispatch(r, ids[i]), 0);
        assert_int_equal(h[i].calls, 1);
        assert_int_equal(h[i].last_msgid, ids[i]);
    }
    /* Many sparse ids, added out of order, stay findable. */
    for (int32_t id = 100000; id > 1000; id -= 997)
        assert_int_equal(rx_router_add(r, id, handler_a, &h[0]), 0);
    for (int32_t id = 100000; id > 1000; id -= 997)
        assert_int_equal(dispatch(r, id), 0);
    assert_int_equal(dispatch(r, 100001), -ENOENT);
    rx_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(router_dispatches_to_handler_with_its_arg),
        cmocka_unit_test(router_unknown_msgid_is_enoent),
        cmocka_unit_test(router_add_replaces_handler),
        cmocka_unit_test(router_handles_large_and_negative_msgids),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
