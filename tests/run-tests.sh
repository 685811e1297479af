#!/bin/bash
# Runs every test program ($BUILD/tests/test_*) and every shell test
# (tests/test_*.sh). Tests speak TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP);
# this script counts their "ok"/"not ok" lines, keeps each log in
# $BUILD/test-logs/, and ends with one line: "N passed, N failed, N skipped".
# A program that exits non-zero without reporting a failure counts as one.
#   tests/run-tests.sh [NAME_FILTER]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export LARS_BUILD=$PWD/$BUILD
export CMOCKA_MESSAGE_OUTPUT=TAP
filter=${1:-${TESTS:-}}
logs=$BUILD/test-logs
mkdir -p "$logs"

passed=0 failed=0 skipped=0
failed_names=()

run_one() {
    local name=$1; shift
    local log=$logs/$name.log
    local t0=$SECONDS
    timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
    local rc=$?
    local ok nok skip
    skip=$(grep -cE '^ok [0-9]+.*# *SKIP' "$log")
    ok=$(grep -cE '^ok [0-9]+' "$log")
    ok=$((ok - skip))
    nok=$(grep -cE '^not ok [0-9]+' "$log")
    if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
        nok=1
        echo "not ok - $name exited with status $rc" >>"$log"
    fi
    passed=$((passed + ok)); failed=$((failed + nok)); skipped=$((skipped + skip))
    local verdict=PASS
    [ "$nok" -gt 0 ] && { verdict=FAIL; failed_names+=("$name"); }
    printf '%-4s %-34s %3d ok %2d failed %2d skipped  (%ds)\n' \
        "$verdict" "$name" "$ok" "$nok" "$skip" $((SECONDS - t0))
    grep -E '^ok [0-9]+.*# *SKIP' "$log" | sed 's/^/       /'
    if [ "$nok" -gt 0 ]; then
        grep -E -A12 '^not ok' "$log" | head -40 | sed 's/^/       /'
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
    run_one "$name" "$t"
done
for t in tests/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
    run_one "$name" bash "$t"
done

echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]} (logs in $logs/)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
