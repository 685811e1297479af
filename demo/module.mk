# demo: `make demo` runs the whole system on this machine with the sample
# routes (a private MariaDB, the three daemons socket-activated through the
# test harness, a scripted scenario) and stops it all again; `make demo-stop`
# stops what an interrupted demo left. demo/lars-run.c is the harness's
# command-line front end the script starts each daemon with.
DEMO_RUN := $(BUILD)/demo/lars-run
DEMO_DB  := $(BUILD)/harness/progs/test-mariadb

$(DEMO_RUN): $(OBJ)/demo/lars-run.o $$(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) -lm

# tests/system/test_demo.sh runs the demo too.
TEST_HELPERS += $(DEMO_RUN)

# Builds in parallel unless the user chose -j himself.
DEMO_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))

.PHONY: demo-stop demo-build
demo:
	@scripts/install-deps.sh
	@$(MAKE) $(DEMO_JOBS) --no-print-directory demo-build
	@BUILD=$(BUILD) demo/demo.sh $(DEMO_ARGS)

# A recipe of its own, so an up-to-date build prints nothing.
demo-build: all $(DEMO_RUN) $(DEMO_DB)
	@:

demo-stop:
	@BUILD=$(BUILD) demo/demo.sh --stop
