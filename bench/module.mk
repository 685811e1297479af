# bench: benchmark programs (build/bench/) and the targets that run them.
# `make bench-reactor` compares an echo server on libreactor with a minimal
# bare-epoll one, both driven by the same load generator in the same run.
# `make bench` runs bench-reactor, bench-dns, bench-agent and bench-reporter
# one after the other (bench/run-all.sh) and regenerates bench/RESULTS.md
# from their RESULT lines (bench/collect.sh); BENCH_QUICK=1 for a short
# smoke run, BENCH_ONLY="agent reporter" for a subset.
BENCH_BIN := $(BUILD)/bench
BENCH_REACTOR_PROGS := $(BENCH_BIN)/echo_reactor $(BENCH_BIN)/echo_epoll $(BENCH_BIN)/loadgen

$(BENCH_REACTOR_PROGS): $(BENCH_BIN)/%: $(OBJ)/bench/%.o $(LIB)/libreactor.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB)/libreactor.a

# Built with the tests, so that they keep compiling (bench_dns' rule is in
# daemons/dns/bench.mk).
check-build: $(BENCH_REACTOR_PROGS) $(BUILD)/bench/bench_dns

.PHONY: bench-reactor
bench-reactor: $(BENCH_REACTOR_PROGS)
	@BENCH_BIN=$(BENCH_BIN) bench/reactor-bench.sh

.PHONY: bench
bench: all
	@MAKE="$(MAKE)" BUILD=$(BUILD) bench/run-all.sh

# `make bench-map`: rx_map lookups next to the unkeyed open-addressing table
# the agent's route cache used before, and inserts of keys chosen to collide
# under the old mixer (bench/bench_map.c).
$(BENCH_BIN)/bench_map: $(OBJ)/bench/bench_map.o $(LIB)/libreactor.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB)/libreactor.a

check-build: $(BENCH_BIN)/bench_map

.PHONY: bench-map
bench-map: $(BENCH_BIN)/bench_map
	@$(BENCH_BIN)/bench_map
