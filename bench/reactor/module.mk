# bench-reactor: an echo server on libreactor against a minimal bare-epoll
# one, both driven by the same load generator in the same run
# (bench/reactor/reactor-bench.sh).
BENCH_REACTOR_PROGS := $(BENCH_BIN)/echo_reactor $(BENCH_BIN)/echo_epoll $(BENCH_BIN)/loadgen

$(BENCH_REACTOR_PROGS): $(BENCH_BIN)/%: $(OBJ)/bench/reactor/%.o $(LIB)/libreactor.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB)/libreactor.a

check-build: $(BENCH_REACTOR_PROGS)

.PHONY: bench-reactor
bench-reactor: $(BENCH_REACTOR_PROGS)
	@BENCH_BIN=$(BENCH_BIN) bench/reactor/reactor-bench.sh

# `make bench-map`: rx_map lookups next to the unkeyed open-addressing table
# the agent's route cache used before, and inserts of keys chosen to collide
# under the old mixer (bench/reactor/bench_map.c).
$(BENCH_BIN)/bench_map: $(OBJ)/bench/reactor/bench_map.o $(LIB)/libreactor.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB)/libreactor.a

check-build: $(BENCH_BIN)/bench_map

.PHONY: bench-map
bench-map: $(BENCH_BIN)/bench_map
	@$(BENCH_BIN)/bench_map
