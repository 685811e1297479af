# bench: benchmark programs (build/bench/) and the targets that run them.
# `make bench-reactor` compares an echo server on libreactor with a minimal
# bare-epoll one, both driven by the same load generator in the same run.
BENCH_BIN := $(BUILD)/bench
BENCH_REACTOR_PROGS := $(BENCH_BIN)/echo_reactor $(BENCH_BIN)/echo_epoll $(BENCH_BIN)/loadgen

$(BENCH_REACTOR_PROGS): $(BENCH_BIN)/%: $(OBJ)/bench/%.o $(LIB)/libreactor.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB)/libreactor.a

# Built with the tests, so that they keep compiling.
check-build: $(BENCH_REACTOR_PROGS)

.PHONY: bench-reactor
bench-reactor: $(BENCH_REACTOR_PROGS)
	@BENCH_BIN=$(BENCH_BIN) bench/reactor-bench.sh

bench: bench-reactor
