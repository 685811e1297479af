#!/bin/bash
# `make bench`: runs every benchmark (reactor, dns, agent, reporter, edge) one
# after the other, keeps their human-readable output in
# $BUILD/bench/bench.log, and turns their RESULT lines into
# bench/RESULTS.md (bench/collect.sh). A benchmark that fails is recorded
# as FAILED and the others still run; the exit status is then 1.
#
#   BENCH_QUICK=1   shorter smoke run (fewer and shorter rounds)
#   BENCH_ONLY="reactor agent"   run a subset (RESULTS.md then lists only it)
set -u
cd "$(dirname "$0")/.."
make=${MAKE:-make}
build=${BUILD:-build}
quick=${BENCH_QUICK:-0}
[ "$quick" = 0 ] && quick=
list=${BENCH_ONLY:-reactor dns agent reporter edge}
log=$build/bench/bench.log
mkdir -p "$build/bench"

if [ -n "$quick" ]; then
    export BENCH_SECONDS=${BENCH_SECONDS:-1} BENCH_ROUNDS=${BENCH_ROUNDS:-1}
    mode="quick (BENCH_QUICK=1)"
else
    mode=full
fi
export BENCH_QUICK=${quick:-0}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
status=0
: >"$log"
for b in $list; do
    echo "=== bench-$b ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$log"
    "$make" --no-print-directory BUILD="$build" "bench-$b" 2>&1 | tee -a "$log"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        echo "RESULT bench=$b metric=run value=FAILED baseline=- ratio=- target=- unit=- note=\"make bench-$b exited with $rc\"" | tee -a "$log"
        status=1
    fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
bench/collect.sh "$log" bench/RESULTS.md "$load_before" "$load_after" "$mode" $(($(date +%s) - start))
echo "=== wrote bench/RESULTS.md ($(grep -c '^RESULT ' "$log") figures, $(($(date +%s) - start)) s)"
exit $status
