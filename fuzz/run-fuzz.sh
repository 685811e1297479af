#!/bin/bash
# Runs every libFuzzer target built in BUILD/fuzz-bin for FUZZ_SECONDS each
# (default 30), starting from the generated seeds, fuzz/corpus/<target> and
# fuzz/regressions/<target>; new inputs accumulate in BUILD/corpus/<target>.
# Prints one line per target and fails when any target found a crash (kept
# in BUILD/crashes/<target>/; minimise it with
# `BUILD/fuzz-bin/fuzz_<target> -minimize_crash=1 -runs=10000 FILE`).
#   fuzz/run-fuzz.sh BUILD TARGET...
set -u
cd "$(dirname "$0")/.."
build=$1
shift
secs=${FUZZ_SECONDS:-30}
mkdir -p "$build/logs" "$build/crashes"
"$build/fuzz-bin/gen_corpus" "$build/seeds" || exit 1

export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
failed=()
for t in "$@"; do
    bin=$build/fuzz-bin/fuzz_$t
    log=$build/logs/$t.log
    crashes=$build/crashes/$t
    mkdir -p "$build/corpus/$t" "$crashes"
    dirs=("$build/corpus/$t" "$build/seeds/$t")
    for d in "fuzz/corpus/$t" "fuzz/regressions/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    before=$(find "$crashes" -type f | wc -l)
    timeout --kill-after=10 $((secs + 120)) "$bin" -max_total_time="$secs" \
        -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$crashes/" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    new=$(($(find "$crashes" -type f | wc -l) - before))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    ft=$(grep -oE ' ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    corp=$(grep -oE ' corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    verdict=ok
    if [ "$rc" -ne 0 ] || [ "$new" -gt 0 ]; then
        verdict=CRASH
        failed+=("$t")
    fi
    printf '%-5s %-16s %9s execs (%s/s)  cov %5s  ft %6s  corpus %5s  crashes %d\n' \
        "$verdict" "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$new"
    if [ "$verdict" = CRASH ]; then
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz invariant failed|    #[0-9] )' "$log" |
            head -12 | sed 's/^/      /'
        echo "      log: $log  inputs: $crashes/"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]}"
    exit 1
fi
echo "fuzz: no crashes in ${#@} targets (${secs}s each)"
