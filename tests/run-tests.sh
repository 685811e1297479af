#!/bin/bash
# Runs the tests tier by tier (unit, integration, system): in each, every
# test program ($BUILD/tests/TIER/test_*) and every shell test
# (tests/TIER/test_*.sh). Tests speak TAP (cmocka with
# CMOCKA_MESSAGE_OUTPUT=TAP); this script counts their "ok"/"not ok" lines,
# keeps each log in $BUILD/test-logs/, prints a summary per tier and ends
# with one line: "N passed, N failed, N skipped".
# A program that exits non-zero without reporting a failure counts as one.
#   tests/run-tests.sh [--tier unit|integration|system]... [NAME_FILTER]
# --tier may be repeated or take a comma-separated list; NAME_FILTER keeps
# the tests whose name contains it.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export LARS_BUILD=$PWD/$BUILD
export CMOCKA_MESSAGE_OUTPUT=TAP
all_tiers=(unit integration system)

usage() {
    echo "usage: tests/run-tests.sh [--tier unit|integration|system]... [NAME_FILTER]" >&2
    exit 2
}

tiers=()
filter=${TESTS:-}
while [ $# -gt 0 ]; do
    case $1 in
        --tier|-t)
            [ $# -ge 2 ] || usage
            tiers+=(${2//,/ }); shift 2 ;;
        --tier=*)
            v=${1#--tier=}; tiers+=(${v//,/ }); shift ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) filter=$1; shift ;;
    esac
done
for t in "${tiers[@]}"; do
    [[ " ${all_tiers[*]} " == *" $t "* ]] || { echo "unknown tier: $t" >&2; usage; }
done
# Always in the order unit, integration, system.
selected=()
for t in "${all_tiers[@]}"; do
    if [ ${#tiers[@]} -eq 0 ] || [[ " ${tiers[*]} " == *" $t "* ]]; then
        selected+=("$t")
    fi
done

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

tier_lines=()
for tier in "${selected[@]}"; do
    p0=$passed f0=$failed s0=$skipped ran=0 t0=$SECONDS
    echo "=== $tier"
    for t in "$BUILD"/tests/"$tier"/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
        run_one "$name" "$t"
        ran=$((ran + 1))
    done
    for t in tests/"$tier"/test_*.sh; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .sh)
        [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
        run_one "$name" bash "$t"
        ran=$((ran + 1))
    done
    line=$(printf '%-12s %4d passed, %d failed, %d skipped  (%d tests, %ds)' "$tier:" \
        $((passed - p0)) $((failed - f0)) $((skipped - s0)) "$ran" $((SECONDS - t0)))
    echo "$line"
    echo
    tier_lines+=("$line")
done

[ ${#selected[@]} -gt 1 ] && printf '%s\n' "${tier_lines[@]}"
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]} (logs in $logs/)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
