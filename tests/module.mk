# tests, in three tiers, each a folder:
#   tests/unit/         pure modules: no daemon, no MariaDB
#   tests/integration/  one real component with its real dependencies (a
#                       daemon and a private MariaDB, liblars, larsctl, ...)
#   tests/system/       several daemons end to end, network namespaces, the
#                       demo, packages, units, a booted systemd
# Every tests/TIER/test_*.c becomes $(BUILD)/tests/TIER/test_*, linked against
# all archives (see the generic rule in the Makefile); tests/TIER/test_*.sh
# run as they are. tests/run-tests.sh runs them (--tier TIER for one tier).
TEST_TIERS := unit integration system

$(foreach t,$(TEST_TIERS),$(eval TEST_PROGS_$(t) := \
	$(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/$(t)/test_*.c))))
TEST_PROGS += $(foreach t,$(TEST_TIERS),$(TEST_PROGS_$(t)))

# A test outside the tiers would silently not run.
TEST_UNTIERED := $(wildcard tests/test_*.c tests/test_*.sh)
ifneq ($(TEST_UNTIERED),)
$(error $(TEST_UNTIERED): move to tests/unit, tests/integration or tests/system)
endif

# tests/progs/NAME.c: helper programs that tests start (not tests themselves),
# built to $(BUILD)/tests/progs/NAME.
TEST_HELPER_SRCS := $(wildcard tests/progs/*.c)
TEST_HELPERS += $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(TEST_HELPER_SRCS))

$(BUILD)/tests/progs/%: $(OBJ)/tests/progs/%.o $(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) -lm

# test_map makes calloc fail on demand (the -ENOMEM paths of libreactor/map.c).
$(BUILD)/tests/unit/test_map: LDFLAGS += -Wl,--wrap=calloc
