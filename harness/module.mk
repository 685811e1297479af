# harness: what the tests, `make demo` and the benchmarks share to run the
# real thing: a daemon started the way systemd would (sockets as fds 3..,
# LISTEN_FDS, a private NOTIFY_SOCKET; harness.h), a private MariaDB
# (mariadb.h), network namespaces (netns.h), end-to-end helpers (e2e.h) and
# a blocking lars-dns client (dns_client.h). harness/*.c make libharness.a,
# which every test links; harness/progs/NAME.c are programs built to
# $(BUILD)/harness/progs/NAME (test-mariadb: a private MariaDB for shell
# tests and the demo).
HARNESS_SRCS := $(wildcard harness/*.c)
HARNESS_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(HARNESS_SRCS))

$(LIB)/libharness.a: $(HARNESS_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# First: it uses every other archive.
TEST_ARCHIVES := $(LIB)/libharness.a $(TEST_ARCHIVES)

HARNESS_PROG_SRCS := $(wildcard harness/progs/*.c)
HARNESS_PROGS := $(patsubst harness/progs/%.c,$(BUILD)/harness/progs/%,$(HARNESS_PROG_SRCS))
TEST_HELPERS += $(HARNESS_PROGS)

$(HARNESS_PROGS): $(BUILD)/harness/progs/%: $(OBJ)/harness/progs/%.o $$(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) -lm
