# bench-edge: a well-behaved client's get_route rate and p99 against
# lars-dns, and lars-dns's RSS, with each network-edge attack running and
# without, alternating in one run (bench/edge/bench_edge.c). Prints its own
# RESULT lines; asserts nothing.
$(BUILD)/bench/bench_edge: $(OBJ)/bench/edge/bench_edge.o $$(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) -lm

check-build: $(BUILD)/bench/bench_edge

.PHONY: bench-edge
bench-edge: $(BUILD)/bench/bench_edge $(BIN)/lars-dns
	@LARS_BUILD=$(abspath $(BUILD)) $(BUILD)/bench/bench_edge
