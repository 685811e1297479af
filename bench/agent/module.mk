# bench-agent: lars-agent behind `lars bench` next to a minimal blocking UDP
# baseline in the same run, plus its RSS with 10,000 pairs cached (see
# bench/agent/bench_agent.c). Prints numbers, asserts nothing.
AGENT_BENCH := $(BUILD)/bench/bench_agent $(BUILD)/bench/baseline_udp

$(BUILD)/bench/bench_agent: $(OBJ)/bench/agent/bench_agent.o $$(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) -lm

$(BUILD)/bench/baseline_udp: $(OBJ)/bench/agent/baseline_udp.o $(LIB)/liblarswire.a \
		$(LIB)/libreactor.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB)/liblarswire.a $(LIB)/libreactor.a

check-build: $(AGENT_BENCH)

.PHONY: bench-agent
bench-agent: $(AGENT_BENCH) $(BIN)/lars-agent $(BIN)/lars-dns $(BIN)/lars-reporter $(BIN)/lars
	@LARS_BUILD=$(abspath $(BUILD)) $(BUILD)/bench/bench_agent
