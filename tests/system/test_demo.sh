#!/bin/bash
# `make demo` (demo/demo.sh) run non-interactively in a private directory on
# kernel-chosen ports: every step ends OK, the story it tells is true (a host
# overloaded and idle again, a pushed route, reporter rows), logs are kept,
# and nothing it started outlives it: not after a normal end, not after
# `demo.sh --stop` (make demo-stop) from outside, not after a SIGKILL of the
# script. Prints TAP.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${LARS_BUILD:-$PWD/build}
T=$(mktemp -d /tmp/lars-demo-test-XXXXXX)
export BUILD=$B LARS_DEMO_DIR=$T/demo LARS_DEMO_ANY_PORTS=1
RUN=$T/demo/run
LOGS=$T/demo/logs
DP=

cleanup() {
    if [ -n "$DP" ]; then
        kill -TERM "$DP" 2>/dev/null
        wait "$DP" 2>/dev/null
    fi
    demo/demo.sh --stop >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); echo "not ok $n - $1"
    echo "# demo output (tail):"; tail -n 40 "$T/out" 2>/dev/null | sed 's/^/#   /'
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

if [ ! -x "$B/demo/lars-run" ] || [ ! -x "$B/harness/progs/test-mariadb" ]; then
    echo "ok 1 # SKIP $B/demo/lars-run or test-mariadb not built (make check-build)"
    exit 0
fi

# Processes of this test's demo: each has $T in its command line, except
# mariadbd, whose pid the helper wrote into mariadb.log.
leftovers() {
    local pids db
    pids=$(pgrep -f -- "$T/" | grep -vx "$$")
    db=$(sed -n 's/^LARS_TEST_DB_PID=//p' "$LOGS/mariadb.log" 2>/dev/null)
    [ -n "$db" ] && kill -0 "$db" 2>/dev/null && pids="$pids $db"
    # shellcheck disable=SC2086 # one line, the words joined
    echo $pids
}
nothing_left() {
    local i
    for ((i = 0; i < 300; i++)); do
        [ -z "$(leftovers)" ] && return 0
        sleep 0.1
    done
    echo "# still running: $(leftovers)"
    ps -o pid,args -p "$(leftovers | tr ' ' ',')" 2>/dev/null | sed 's/^/#   /'
    return 1
}
db_dir_removed() {
    local dir
    dir=$(sed -n 's/^LARS_TEST_DB_DIR=//p' "$LOGS/mariadb.log")
    [ -n "$dir" ] && [ ! -e "$dir" ]
}

# --- one whole run ------------------------------------------------------
timeout --kill-after=10 170 demo/demo.sh --no-color </dev/null >"$T/out" 2>&1
rc=$?

demo_runs_to_the_end() { [ "$rc" -eq 0 ] && grep -q '^Demo finished in [0-9]* s\.' "$T/out"; }
check "demo_runs_to_the_end" demo_runs_to_the_end

every_step_ends_ok() {
    local k total
    total=$(sed -n 's/^==> Step 1\/\([0-9]*\):.*/\1/p' "$T/out")
    [ -n "$total" ] && [ "$(grep -c '^==> Step ' "$T/out")" -eq "$total" ] || return 1
    for ((k = 1; k <= total; k++)); do
        awk -v k="$k" '$0 ~ "^==> Step " k "/" {on = 1; next} /^==> / {on = 0} on && /^    OK /' \
            "$T/out" | grep -q . || { echo "# step $k has no OK line"; return 1; }
    done
    ! grep -q 'FAIL' "$T/out"
}
check "every_step_ends_ok" every_step_ends_ok

steps_show_their_commands() {
    grep -q '^    \$ .*/lars-run --tcp 127\.0\.0\.1:[0-9]*=lars-dns\.socket -- .*/lars-dns -c ' "$T/out" &&
        grep -q '^    \$ .*/bin/lars --port [0-9]* get-route 1 1$' "$T/out" &&
        grep -q '^    \$ .*/bin/larsctl -c .* route add 1 1 127\.0\.0\.1 9010$' "$T/out" &&
        grep -q '^    \$ .*/bin/larsctl -c .* status 1 1$' "$T/out"
}
check "steps_show_their_commands" steps_show_their_commands

failing_host_overloaded_then_idle_again() {
    grep -q 'host 127\.0\.0\.1:9002 overloaded' "$LOGS/lars-agent.log" &&
        grep -q 'host 127\.0\.0\.1:9002 idle again (overload timeout)' "$LOGS/lars-agent.log" &&
        grep -q 'agent log: .*127\.0\.0\.1:9002 overloaded' "$T/out" &&
        grep -Eq '^ +127\.0\.0\.1:9002 +chosen +([89]|1[0-9]) times' "$T/out"
}
check "failing_host_overloaded_then_idle_again" failing_host_overloaded_then_idle_again

added_route_pushed_to_agent() {
    grep -q '^      127\.0\.0\.1:9010$' "$T/out" &&
        grep -q 'reached the agent [0-9]* ms after larsctl' "$T/out" &&
        grep -Eq 'published [0-9]+ routes .* 1 pairs changed' "$LOGS/lars-dns.log"
}
check "added_route_pushed_to_agent" added_route_pushed_to_agent

status_lists_reporter_rows_with_caller() {
    # MODID CMDID HOST CALLER SUCC ERR OVERLOAD: the three hosts of 1/1,
    # 9002 with errors only.
    [ "$(grep -Ec '^ +1 +1 +127\.0\.0\.1:900[123] +[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+ +[0-9]+ +[0-9]+ ' "$T/out")" -eq 3 ] &&
        grep -Eq '^ +1 +1 +127\.0\.0\.1:9002 +[0-9.]+ +0 +[1-9][0-9]* ' "$T/out"
}
check "status_lists_reporter_rows_with_caller" status_lists_reporter_rows_with_caller

check "nothing_left_running_after_demo" nothing_left
run_dir_and_db_dir_removed() { [ ! -e "$RUN" ] && db_dir_removed; }
check "run_dir_and_db_dir_removed" run_dir_and_db_dir_removed

logs_kept_with_status_history() {
    local d
    grep -q "^Logs are in $LOGS/" "$T/out" || return 1
    for d in lars-dns lars-reporter lars-agent; do
        [ -f "$LOGS/$d.log" ] && [ ! -L "$LOGS/$d.log" ] && [ -s "$LOGS/$d.log" ] || return 1
        grep -q ' READY=1$' "$LOGS/$d.status" && grep -q ' STOPPING=1$' "$LOGS/$d.status" || return 1
        grep -q 'stopped (status 0)' "$LOGS/$d.run" || return 1
    done
}
check "logs_kept_with_status_history" logs_kept_with_status_history

no_colour_without_terminal() { ! grep -q $'\e\\[' "$T/out"; }
check "no_colour_without_terminal" no_colour_without_terminal

# --- interrupted runs ---------------------------------------------------
# Starts the demo in the background and waits until the agent runs.
start_background_demo() {
    rm -f "$RUN/lars-agent.pid"
    demo/demo.sh --no-color </dev/null >"$T/out" 2>&1 &
    DP=$!
    for ((i = 0; i < 1200; i++)); do
        [ -f "$RUN/lars-agent.pid" ] && return 0
        kill -0 "$DP" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

demo_stop_ends_a_running_demo() {
    start_background_demo || return 1
    demo/demo.sh --stop >"$T/stop.out" 2>&1 || return 1
    for ((i = 0; i < 100; i++)); do
        kill -0 "$DP" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$DP" 2>/dev/null && return 1
    wait "$DP"
    DP=
    grep -q 'stopping the running demo' "$T/stop.out" && nothing_left &&
        [ ! -e "$RUN" ] && db_dir_removed
}
check "demo_stop_ends_a_running_demo" demo_stop_ends_a_running_demo

killed_demo_takes_its_daemons_along() {
    start_background_demo || return 1
    kill -KILL "$DP"
    wait "$DP" 2>/dev/null
    DP=
    # lars-run --die-with-parent and test-mariadb stop when the script dies.
    nothing_left || return 1
    demo/demo.sh --stop >"$T/stop.out" 2>&1 && [ ! -e "$RUN" ] && db_dir_removed
}
check "killed_demo_takes_its_daemons_along" killed_demo_takes_its_daemons_along

echo "1..$n"
