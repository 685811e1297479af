# tests: every tests/test_*.c becomes $(BUILD)/tests/test_*, linked against
# all archives (see the generic rule in the Makefile). tests/lib holds the
# shared test helpers (daemon harness, private MariaDB, TAP for shell tests).
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_PROGS += $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(TESTLIB_SRCS))
ifneq ($(TESTLIB_SRCS),)
$(LIB)/liblarstest.a: $(TESTLIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
TEST_ARCHIVES := $(LIB)/liblarstest.a $(TEST_ARCHIVES)
endif

# tests/progs/NAME.c: helper programs that tests start (not tests themselves),
# built to $(BUILD)/tests/progs/NAME.
TEST_HELPER_SRCS := $(wildcard tests/progs/*.c)
TEST_HELPERS += $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(TEST_HELPER_SRCS))

$(BUILD)/tests/progs/%: $(OBJ)/tests/progs/%.o $(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) -lm

# test_map makes calloc fail on demand (the -ENOMEM paths of libreactor/map.c).
$(BUILD)/tests/test_map: LDFLAGS += -Wl,--wrap=calloc
