#!/bin/bash
# demo/demo.sh: the whole of Lars on this machine in a few minutes (`make demo`).
# Starts a private MariaDB on 127.0.0.1 with the schema and sample routes,
# then lars-dns, lars-reporter and lars-agent, socket-activated through
# build/demo/lars-run (the test harness), and walks through a scenario:
# get-route, get-host spread, a failing host that becomes overloaded and
# recovers, a route pushed by larsctl, call statistics in the reporter's table.
# Everything it starts is stopped at the end (also on Ctrl-C); logs stay in
# $LARS_DEMO_DIR/logs (default build/demo/logs).
#
#   demo/demo.sh [--step] [--no-color]   run the demo (--step: wait for Enter)
#   demo/demo.sh --stop                  stop what an interrupted demo left
#
# Environment: BUILD (build dir, default build), LARS_DEMO_DIR (default
# $BUILD/demo: logs/ is kept, run/ holds pid files and configs while it runs),
# LARS_DEMO_ANY_PORTS=1 (do not try the default ports 7778, 7779, 8888-8890).
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
DEMO_DIR=${LARS_DEMO_DIR:-$BUILD/demo}
RUN=$DEMO_DIR/run
LOGS=$DEMO_DIR/logs
LARS_RUN=$BUILD/demo/lars-run
DB_HELPER=$BUILD/harness/progs/test-mariadb
LARS=$BUILD/bin/lars
LARSCTL=$BUILD/bin/larsctl

# Short balancer timeouts, so that the story fits in a minute or two (the
# defaults are 15 s and 1000 ms).
OVERLOAD_TIMEOUT=5
IDLE_TIMEOUT=5
REPORT_INTERVAL_MS=500
FAIL_HOST=127.0.0.1:9002
NEW_HOST_PORT=9010

step_mode=0
color=auto
stop_only=0
for arg in "$@"; do
    case $arg in
    --step) step_mode=1 ;;
    --no-color) color=never ;;
    --stop) stop_only=1 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$color" = auto ] && [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' C=$'\e[36m' D=$'\e[2m' N=$'\e[0m'
else
    B='' G='' R='' Y='' C='' D='' N=''
fi

# ------------------------------------------------------------- stopping --

# Whether pid runs one of the programs the demo starts (a pid file may be old).
is_demo_process() {
    local pid=$1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -Eq 'lars-run|test-mariadb|mariadbd|lars-(dns|reporter|agent)'
}

# SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_pid() {
    local pid=$1 secs=$2 i
    is_demo_process "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        # A zombie child of ours counts as stopped; wait reaps it below.
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
        echo "demo: pid $pid did not stop in ${secs}s, killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# Stops in reverse order of starting, by the pid files in $RUN: the runner
# (lars-run, which stops its daemon) first, then the daemon itself in case
# the runner was killed.
stop_all() {
    local name f
    for name in lars-agent lars-reporter lars-dns; do
        for f in "$RUN/$name.run.pid" "$RUN/$name.pid"; do
            [ -f "$f" ] && stop_pid "$(cat "$f")" 10
            rm -f "$f"
        done
    done
    f=$RUN/mariadb.pid
    [ -f "$f" ] && stop_pid "$(cat "$f")" 30
    rm -f "$f"
    f=$RUN/mariadbd.pid
    [ -f "$f" ] && stop_pid "$(cat "$f")" 10
    rm -f "$f" "$RUN/demo.pid"
}

# Whether the demo script of $RUN/demo.pid still runs.
demo_running() {
    local pid
    pid=$(cat "$RUN/demo.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'demo\.sh'
}

if [ "$stop_only" = 1 ]; then
    if [ ! -d "$RUN" ]; then
        echo "demo-stop: nothing to stop ($RUN does not exist)"
        exit 0
    fi
    if demo_running; then
        pid=$(cat "$RUN/demo.pid")
        echo "demo-stop: stopping the running demo (pid $pid); it stops what it started"
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 600; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    stop_all
    # MariaDB's own temp dir goes with test-mariadb; leftovers of a SIGKILL:
    if [ -f "$RUN/db.env" ]; then
        dir=$(sed -n 's/^LARS_TEST_DB_DIR=//p' "$RUN/db.env")
        case $dir in /tmp/lars-mariadb-*) rm -rf "$dir" ;; esac
    fi
    rm -rf "$RUN"
    echo "demo-stop: done; logs (if any) are in $LOGS/"
    exit 0
fi

# -------------------------------------------------------------- output --

T0=$SECONDS
nstep=0
TOTAL_STEPS=11
failed=0

step() {
    nstep=$((nstep + 1))
    if [ "$step_mode" = 1 ] && [ "$nstep" -gt 1 ] && [ -t 0 ]; then
        read -r -p "${D}(Enter for the next step)${N}" _
    fi
    printf '\n%s==> Step %d/%d: %s%s  %s[%ds]%s\n' "$B" "$nstep" "$TOTAL_STEPS" "$1" "$N" \
        "$D" $((SECONDS - T0)) "$N"
    shift
    local line
    for line in "$@"; do printf '    %s\n' "$line"; done
}
# Shows a command the reader can copy, then runs it with indented output.
show() { printf '    %s$ %s%s\n' "$C" "$*" "$N"; }
run() {
    show "$*"
    "$@" 2>&1 | sed 's/^/      /'
    return "${PIPESTATUS[0]}"
}
ok() { printf '    %sOK%s %s\n' "$G" "$N" "$*"; }
note() { printf '    %s%s%s\n' "$Y" "$*" "$N"; }
fail() {
    printf '    %sFAIL%s %s\n' "$R" "$N" "$*"
    failed=1
    exit 1
}

finish() {
    local rc=$?
    trap - EXIT INT TERM
    [ "$failed" = 1 ] && rc=1
    printf '\n%s==> Stopping everything%s\n' "$B" "$N"
    stop_all
    for name in lars-agent lars-reporter lars-dns; do
        [ -f "$RUN/$name.conf" ] && cp "$RUN/$name.conf" "$LOGS/"
    done
    rm -rf "$RUN"
    local left
    left=$(pgrep -f -- "$RUN/" 2>/dev/null | grep -vx "$$" || true)
    [ -n "${LARS_TEST_DB_PID:-}" ] && kill -0 "$LARS_TEST_DB_PID" 2>/dev/null && left="$left $LARS_TEST_DB_PID"
    if [ -z "$left" ]; then
        ok "nothing left running: agent, reporter, lars-dns and MariaDB stopped, temp dirs removed"
    else
        printf '    %sFAIL%s still running: %s\n' "$R" "$N" "$left"
        rc=1
    fi
    printf '\n%sLogs%s are in %s/:\n' "$B" "$N" "$LOGS"
    printf '    %-22s %s\n' "lars-*.log" "each daemon's own log (stderr), kept after it stopped" \
        "lars-*.status" "every STATUS=/READY=/STOPPING= it sent to systemd (here: lars-run)" \
        "lars-*.run" "lars-run's output (socket, pid, ready)" \
        "lars-*.conf" "the configs the demo used" \
        "mariadb.log" "the private MariaDB helper's output"
    if [ "$rc" = 0 ]; then
        printf '\n%sDemo finished in %d s.%s\n' "$G$B" $((SECONDS - T0)) "$N"
    elif [ "$rc" = 130 ] || [ "$rc" = 143 ]; then
        printf '\n%sDemo interrupted after %d s.%s\n' "$Y$B" $((SECONDS - T0)) "$N"
    else
        printf '\n%sDemo failed after %d s (status %d); see the logs above.%s\n' "$R$B" \
            $((SECONDS - T0)) "$rc" "$N"
    fi
    exit "$rc"
}

# ------------------------------------------------------------ helpers --

for f in "$LARS_RUN" "$DB_HELPER" "$LARS" "$LARSCTL" "$BUILD"/bin/lars-{dns,reporter,agent}; do
    if [ ! -x "$f" ]; then
        echo "demo.sh: $f is missing; run \`make demo\` (it builds everything first)" >&2
        exit 1
    fi
done
if demo_running; then
    echo "demo.sh: a demo is already running (pid $(cat "$RUN/demo.pid")); \`make demo-stop\` stops it" >&2
    exit 1
fi
# Leftovers of a killed demo would hold the ports and MariaDB.
[ -d "$RUN" ] && LARS_DEMO_DIR=$DEMO_DIR BUILD=$BUILD "$0" --stop >/dev/null
mkdir -p "$RUN" "$LOGS"
rm -f "$LOGS"/*
echo $$ >"$RUN/demo.pid"
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Whether nothing uses port $2 (tcp or udp) on 127.0.0.1 (or any address).
port_free() {
    local proto=$1 port=$2 opt
    [ "$proto" = tcp ] && opt=-Hltn || opt=-Hlun
    command -v ss >/dev/null || return 0
    [ -z "$(ss $opt "sport = :$port" 2>/dev/null)" ]
}

# wait_for SECONDS COMMAND...: polls every 0.2 s.
wait_for() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 5; i++)); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}

# start_daemon NAME CONF_TEXT SOCKET_OPTS...: lars-run in the background,
# waits for its READY=1. Sets RC_START (0, 3: address in use, 1: failed).
start_daemon() {
    local name=$1 i
    shift
    rm -f "$RUN/$name.pid" "$RUN/$name.ports"
    "$LARS_RUN" --die-with-parent "$@" --pid-file "$RUN/$name.pid" --ports-file "$RUN/$name.ports" \
        --status-file "$LOGS/$name.status" --log "$LOGS/$name.log" \
        -- "$BUILD/bin/$name" -c "$RUN/$name.conf" >>"$LOGS/$name.run" 2>&1 &
    local rpid=$!
    echo "$rpid" >"$RUN/$name.run.pid"
    for ((i = 0; i < 300; i++)); do
        [ -f "$RUN/$name.pid" ] && { RC_START=0; return 0; }
        kill -0 "$rpid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$rpid"
    RC_START=$?
    [ "$RC_START" = 0 ] && RC_START=1
    rm -f "$RUN/$name.run.pid"
    return 1
}

# A TCP daemon on the preferred port when free, else on one the kernel picks.
start_tcp_daemon() {
    local name=$1 port=$2 sockname=$3
    RC_START=3
    local cmd="-- $BUILD/bin/$name -c $RUN/$name.conf"
    if [ -z "${LARS_DEMO_ANY_PORTS:-}" ] && port_free tcp "$port" &&
        show "$LARS_RUN --tcp 127.0.0.1:$port=$sockname $cmd" &&
        start_daemon "$name" --tcp "127.0.0.1:$port=$sockname"; then
        :
    elif [ "$RC_START" = 3 ]; then
        [ -z "${LARS_DEMO_ANY_PORTS:-}" ] &&
            note "port $port is taken (a Lars already running here?): the kernel picks a free one"
        show "$LARS_RUN --tcp 127.0.0.1:0=$sockname $cmd"
        start_daemon "$name" --tcp "127.0.0.1:0=$sockname" || return 1
    else
        return 1
    fi
    PORT=$(head -n1 "$RUN/$name.ports")
}

status_of() { sed -n 's/^[0-9:.]* STATUS=//p' "$LOGS/$1.status" | tail -n1; }

lars() { "$LARS" "${LARS_PORT_OPT[@]}" "$@"; }
larsctl() { "$LARSCTL" -c "$RUN/larsctl.conf" "$@"; }
LARS_SHOW="$LARS"

# spread N MODID CMDID: N get-host calls, one line per host with its count.
spread() {
    local n=$1 i
    for ((i = 0; i < n; i++)); do lars get-host "$2" "$3" 2>&1; done | sort | uniq -c |
        awk '{printf "%-22s chosen %2d times\n", $2, $1}'
}

# ============================================================= the demo ==

printf '%sLars demo%s: a private MariaDB and the three daemons on 127.0.0.1, then a short scenario.\n' "$B" "$N"
printf 'Each step shows the command it runs (%s$ ...%s); you can type them yourself while the\n' "$C" "$N"
printf 'demo runs with %s--step%s (make demo DEMO_ARGS=--step).\n' "$B" "$N"

# ---------------------------------------------------------------- 1 --
step "Start a private MariaDB with the schema and the sample routes" \
    "A throw-away server in a temp dir on a free port of 127.0.0.1 (your own MariaDB is not touched):" \
    "sql/schema.sql, then sql/sample-routes.sql (4 pairs, 8 hosts)."
show "$DB_HELPER --sample --env-file $RUN/db.env --conf $RUN/db.conf"
"$DB_HELPER" --sample --env-file "$RUN/db.env" --conf "$RUN/db.conf" >"$LOGS/mariadb.log" 2>&1 &
echo $! >"$RUN/mariadb.pid"
wait_for 120 test -f "$RUN/db.env" || { sed 's/^/      /' "$LOGS/mariadb.log"; fail "MariaDB did not start (log: $LOGS/mariadb.log)"; }
# shellcheck disable=SC1091
. "$RUN/db.env"
echo "$LARS_TEST_DB_PID" >"$RUN/mariadbd.pid"
cp "$RUN/db.conf" "$RUN/larsctl.conf"
ok "MariaDB on 127.0.0.1:$LARS_TEST_DB_PORT, data in $LARS_TEST_DB_DIR"
run "$LARSCTL" -c "$RUN/larsctl.conf" route list || fail "larsctl route list"

# ---------------------------------------------------------------- 2 --
step "Start lars-dns, socket-activated" \
    "lars-run opens the listening socket and passes it as fd 3 (LISTEN_FDS=1), as systemd's" \
    "lars-dns.socket would, and waits for READY=1 on a private NOTIFY_SOCKET. lars-dns polls" \
    "RouteVersion every 500 ms here (version_poll_ms) and pushes changed routes to agents."
{ echo 'log_level = "info";'; echo 'version_poll_ms = 500;'; cat "$RUN/db.conf"; } >"$RUN/lars-dns.conf"
start_tcp_daemon lars-dns 7778 lars-dns.socket || { sed 's/^/      /' "$LOGS/lars-dns.run"; fail "lars-dns did not become ready"; }
DNS_PORT=$PORT
ok "lars-dns ready (pid $(cat "$RUN/lars-dns.pid")) on 127.0.0.1:$DNS_PORT"
note "STATUS=$(status_of lars-dns)"

# ---------------------------------------------------------------- 3 --
step "Start lars-reporter, socket-activated" \
    "It takes call statistics from agents and writes them to the table ServerCallStatus."
{ echo 'log_level = "info";'; echo 'batch_ms = 100;'; cat "$RUN/db.conf"; } >"$RUN/lars-reporter.conf"
start_tcp_daemon lars-reporter 7779 lars-reporter.socket || { sed 's/^/      /' "$LOGS/lars-reporter.run"; fail "lars-reporter did not become ready"; }
REP_PORT=$PORT
reporter_db_up() { status_of lars-reporter | grep -q 'DB up'; }
wait_for 10 reporter_db_up || note "its writers are not connected to MariaDB yet"
ok "lars-reporter ready (pid $(cat "$RUN/lars-reporter.pid")) on 127.0.0.1:$REP_PORT"
note "STATUS=$(status_of lars-reporter)"

# ---------------------------------------------------------------- 4 --
step "Start lars-agent with three UDP shards" \
    "Applications (liblars, the lars tool) ask the agent on this host; shard i serves the" \
    "pairs with (modid + cmdid) % 3 == i on base_port + i. Short timeouts for the demo:" \
    "overload_timeout = $OVERLOAD_TIMEOUT s, idle_timeout = $IDLE_TIMEOUT s, report_interval_ms = $REPORT_INTERVAL_MS (defaults 15, 15, 1000)."
write_agent_conf() {
    cat >"$RUN/lars-agent.conf" <<EOF
log_level = "info";
base_port = $1;
dns = { servers = [ "127.0.0.1:$DNS_PORT" ]; };
reporter = { servers = [ "127.0.0.1:$REP_PORT" ]; };
report_interval_ms = $REPORT_INTERVAL_MS;
loadbalance = {
  overload_timeout = $OVERLOAD_TIMEOUT;
  idle_timeout = $IDLE_TIMEOUT;
};
EOF
}
agent_started=0
for try in 1 2 3 4 5 6 7 8 9 10; do
    if [ "$try" = 1 ] && [ -z "${LARS_DEMO_ANY_PORTS:-}" ]; then base=8888; else base=$((20000 + RANDOM % 30000)); fi
    port_free udp "$base" && port_free udp $((base + 1)) && port_free udp $((base + 2)) || continue
    write_agent_conf "$base"
    [ "$try" -le 2 ] && show "$LARS_RUN --udp 127.0.0.1:$base=shard0 --udp 127.0.0.1:$((base + 1))=shard1 --udp 127.0.0.1:$((base + 2))=shard2 -- $BUILD/bin/lars-agent -c $RUN/lars-agent.conf"
    if start_daemon lars-agent --udp "127.0.0.1:$base=shard0" --udp "127.0.0.1:$((base + 1))=shard1" \
        --udp "127.0.0.1:$((base + 2))=shard2"; then
        agent_started=1
        break
    fi
    [ "$RC_START" = 3 ] || break
done
[ "$agent_started" = 1 ] || { sed 's/^/      /' "$LOGS/lars-agent.run"; fail "lars-agent did not become ready"; }
AGENT_PORT=$base
LARS_PORT_OPT=()
if [ "$AGENT_PORT" != 8888 ]; then
    note "UDP 8888-8890 is taken (a Lars already running here?): the agent uses $AGENT_PORT-$((AGENT_PORT + 2))"
    LARS_PORT_OPT=(--port "$AGENT_PORT")
    LARS_SHOW="$LARS --port $AGENT_PORT"
fi
ok "lars-agent ready (pid $(cat "$RUN/lars-agent.pid")) on UDP 127.0.0.1:$AGENT_PORT-$((AGENT_PORT + 2))"
grep -m1 'serving on ports' "$LOGS/lars-agent.log" | sed 's/^/      agent log: /'

# ---------------------------------------------------------------- 5 --
step "get-route: the agent asks lars-dns for a route it does not know yet" \
    "The first request for pair 1/1 makes the agent pull the route from lars-dns (and" \
    "subscribe to it); the tool retries briefly, as liblars's reg_init does."
show "$LARS_SHOW get-route 1 1"
out=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    out=$(lars get-route 1 1 2>&1)
    [ "$(printf '%s\n' "$out" | grep -c ':900[123]$')" = 3 ] && break
    sleep 0.3
done
printf '%s\n' "$out" | sed 's/^/      /'
[ "$(printf '%s\n' "$out" | grep -c ':900[123]$')" = 3 ] || fail "get-route 1 1 did not list the 3 sample hosts"
ok "the agent has the route of 1/1: 3 hosts, as in the database"

# ---------------------------------------------------------------- 6 --
step "get-host spreads the calls over the hosts" \
    "Each get-host asks the agent for one host; with every host healthy it takes them in turn."
show "for i in \$(seq 30); do $LARS_SHOW get-host 1 1; done | sort | uniq -c"
spread_out=$(spread 30 1 1)
printf '%s\n' "$spread_out" | sed 's/^/      /'
[ "$(printf '%s\n' "$spread_out" | grep -c ':900[123] ')" = 3 ] || fail "get-host did not use all 3 hosts"
ok "all 3 hosts chosen"

# ---------------------------------------------------------------- 7 --
step "A failing host becomes overloaded" \
    "lars simulate plays an application: get-host, call, report. Only $FAIL_HOST fails. After" \
    "15 failures in a row (contin_err_limit) or an error rate above 10 % the agent marks it" \
    "overloaded and stops handing it out, except one probe every 11 calls (probe_num = 10)."
show "$LARS_SHOW simulate 1 1 --hosts-fail $FAIL_HOST --count 150 --interval 10"
lars simulate 1 1 --hosts-fail "$FAIL_HOST" --count 150 --interval 10 2>&1 | sed 's/^/      /'
wait_for 5 grep -q "host $FAIL_HOST overloaded" "$LOGS/lars-agent.log" ||
    fail "the agent did not log $FAIL_HOST as overloaded"
printf '      agent log: %s\n' "$(grep "host $FAIL_HOST overloaded" "$LOGS/lars-agent.log" | tail -n1)"
ok "the agent marked $FAIL_HOST overloaded"
show "for i in \$(seq 30); do $LARS_SHOW get-host 1 1; done | sort | uniq -c"
spread_out=$(spread 30 1 1)
printf '%s\n' "$spread_out" | sed 's/^/      /'
n_fail=$(printf '%s\n' "$spread_out" | awk -v h="$FAIL_HOST" '$1 == h {print $3}')
if [ "${n_fail:-0}" -le 3 ]; then
    ok "$FAIL_HOST chosen ${n_fail:-0} times of 30 (probes only); the others take the load"
elif grep -q "host $FAIL_HOST idle again" "$LOGS/lars-agent.log"; then
    note "$FAIL_HOST was chosen ${n_fail} times: its overload had already timed out (slow machine?)"
else
    fail "$FAIL_HOST was chosen ${n_fail} times of 30 while overloaded"
fi

# ---------------------------------------------------------------- 8 --
step "...and recovers after overload_timeout" \
    "Nobody calls it now. After overload_timeout ($OVERLOAD_TIMEOUT s here) the agent's once-a-second" \
    "timer makes it idle again and it gets its share of the calls back."
show "grep 'idle again' $LOGS/lars-agent.log"
t_wait=$SECONDS
wait_for $((OVERLOAD_TIMEOUT + 10)) grep -q "host $FAIL_HOST idle again" "$LOGS/lars-agent.log" ||
    fail "$FAIL_HOST did not become idle again within $((OVERLOAD_TIMEOUT + 10)) s"
printf '      agent log: %s\n' "$(grep "host $FAIL_HOST idle again" "$LOGS/lars-agent.log" | tail -n1)"
note "(waited $((SECONDS - t_wait)) s for it)"
show "for i in \$(seq 30); do $LARS_SHOW get-host 1 1; done | sort | uniq -c"
spread_out=$(spread 30 1 1)
printf '%s\n' "$spread_out" | sed 's/^/      /'
n_fail=$(printf '%s\n' "$spread_out" | awk -v h="$FAIL_HOST" '$1 == h {print $3}')
[ "${n_fail:-0}" -ge 8 ] || fail "$FAIL_HOST got only ${n_fail:-0} of 30 calls after recovering"
ok "$FAIL_HOST is back: chosen $n_fail times of 30"

# ---------------------------------------------------------------- 9 --
step "A new host, added with larsctl, reaches the agent by push" \
    "larsctl writes RouteData and bumps RouteVersion in one transaction; lars-dns sees the new" \
    "version, reloads, and pushes the changed route to every subscribed agent. No restart."
run "$LARSCTL" -c "$RUN/larsctl.conf" route add 1 1 127.0.0.1 "$NEW_HOST_PORT" || fail "larsctl route add"
t_add=$(date +%s%N)
show "$LARS_SHOW get-route 1 1"
has_new_host() { lars get-route 1 1 2>/dev/null | grep -q ":$NEW_HOST_PORT\$"; }
wait_for 10 has_new_host
t_seen=$(date +%s%N)
out=$(lars get-route 1 1 2>&1)
printf '%s\n' "$out" | sed 's/^/      /'
printf '%s\n' "$out" | grep -q ":$NEW_HOST_PORT\$" || fail "the agent did not get 127.0.0.1:$NEW_HOST_PORT within 10 s"
printf '      lars-dns log: %s\n' "$(grep 'published' "$LOGS/lars-dns.log" | tail -n1)"
note "lars-dns STATUS=$(status_of lars-dns)"
ok "127.0.0.1:$NEW_HOST_PORT reached the agent $(((t_seen - t_add) / 1000000)) ms after larsctl, pushed by lars-dns"

# --------------------------------------------------------------- 10 --
step "Call statistics: larsctl status shows the reporter's table" \
    "The agent sends each pair's successes, failures and overload state to lars-reporter every" \
    "report_interval_ms; it writes them to ServerCallStatus, one row per host and caller IP."
has_rows() { larsctl status 1 1 2>/dev/null | grep -q '127\.0\.0\.1:9002'; }
wait_for 15 has_rows || fail "no ServerCallStatus rows for 1/1 after 15 s"
run "$LARSCTL" -c "$RUN/larsctl.conf" status 1 1 || fail "larsctl status"
printf '    %s\n' "SUCC/ERR: the calls of the host's current statistics window, as the agent last sent them;" \
    "OVERLOAD: its state then (the agent sends a pair's rows again only after new reports)."
note "reporter STATUS=$(status_of lars-reporter)"
caller=$(sed -n 's/.*caller ip \([0-9.]*\).*/\1/p' "$LOGS/lars-agent.log" | head -n1)
ok "the reporter wrote the agent's statistics; CALLER is this host's IP as the agent detected it (${caller:-?})"

# --------------------------------------------------------------- 11 --
step "The daemons' STATUS lines (what systemctl status would show)" \
    "Each daemon sends one every 2 s; $LOGS/*.status keeps every change."
agent_has_4() { status_of lars-agent | grep -q ' 4 hosts'; }
wait_for 5 agent_has_4
for name in lars-dns lars-reporter lars-agent; do
    printf '      %-14s %s\n' "$name:" "$(status_of "$name")"
done
ok "scenario complete"
exit 0
