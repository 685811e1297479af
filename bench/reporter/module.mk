# bench-reporter: rows/s lars-reporter upserts with batching next to the same
# daemon with batch_rows=1, in one run (bench/reporter/bench_reporter.c).
BENCH_REPORTER := $(BUILD)/bench/bench_reporter

BENCH_REPORTER_LIBS := $(LIB)/libharness.a $(LIB)/liblarscommon.a $(LIB)/libreactor.a \
	$(LIB)/liblarswire.a

$(BENCH_REPORTER): $(OBJ)/bench/reporter/bench_reporter.o $(BENCH_REPORTER_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(BENCH_REPORTER_LIBS) -Wl,--end-group $(PKG_LIBS) -lm

check-build: $(BENCH_REPORTER)

.PHONY: bench-reporter
bench-reporter: $(BENCH_REPORTER) $(BIN)/lars-reporter
	@LARS_BUILD=$(abspath $(BUILD)) $(BENCH_REPORTER)
