# bench: one folder per component, each with its programs, scripts and
# module.mk: bench/reactor (libreactor echo against bare epoll), bench/dns,
# bench/agent, bench/reporter, bench/edge (lars-dns under attack). Programs
# are built to $(BUILD)/bench/ and with check-build, so that they keep
# compiling. Every figure is measured next to a baseline in the same run.
# `make bench` runs bench-reactor, bench-dns, bench-agent, bench-reporter
# and bench-edge one after the other (bench/run-all.sh) and regenerates
# bench/RESULTS.md from their RESULT lines (bench/collect.sh); BENCH_QUICK=1
# for a short smoke run, BENCH_ONLY="agent reporter" for a subset.
BENCH_BIN := $(BUILD)/bench

include $(wildcard bench/*/module.mk)

.PHONY: bench
bench: all
	@MAKE="$(MAKE)" BUILD=$(BUILD) bench/run-all.sh
