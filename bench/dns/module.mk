# bench-dns: lars-dns figures (load 1,000,000 routes, start to READY, reload,
# RSS, get_route rate, push latency). Prints numbers, asserts nothing;
# bench/dns/dns-results.sh adds the RESULT lines for `make bench`.
.PHONY: bench-dns
bench-dns: $(BUILD)/bench/bench_dns $(BIN)/lars-dns
	@LARS_BUILD=$(abspath $(BUILD)) bench/dns/dns-results.sh $(BUILD)/bench/bench_dns

$(BUILD)/bench/bench_dns: $(OBJ)/bench/dns/bench_dns.o $(OBJ)/bench/dns/baseline_dns.o \
		$$(TEST_ARCHIVES)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(OBJ)/bench/dns/baseline_dns.o -Wl,--start-group $(TEST_ARCHIVES) -Wl,--end-group $(PKG_LIBS) -lm

check-build: $(BUILD)/bench/bench_dns
