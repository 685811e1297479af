#!/bin/bash
# Echo benchmark: libreactor (build/bench/echo_reactor) against a minimal
# bare-epoll server (build/bench/echo_epoll), same load generator, same run.
# For each client count, BENCH_ROUNDS rounds alternate which server goes
# first; the table shows the median requests/s of each, their ratio and the
# 1-minute load average when the point finished.
#
#   BENCH_SECONDS=3 BENCH_ROUNDS=3 BENCH_CONNS="1 2 16" BENCH_BODY=64 \
#   BENCH_WORKERS=1 bench/reactor-bench.sh
set -u
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-build/bench}
secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}
conns_list=${BENCH_CONNS:-1 2 16}
body=${BENCH_BODY:-64}
workers=${BENCH_WORKERS:-1}
tmp=$(mktemp -d)
server_pid=

cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# run_one reactor|epoll CONNS -> prints requests/s
run_one() {
    local kind=$1 conns=$2 out=$tmp/port port= i
    : >"$out"
    if [ "$kind" = reactor ]; then
        "$bin/echo_reactor" 127.0.0.1:0 "$workers" >"$out" &
    else
        "$bin/echo_epoll" 127.0.0.1:0 >"$out" &
    fi
    server_pid=$!
    for i in $(seq 100); do
        port=$(awk '/^port/ {print $2}' "$out")
        [ -n "$port" ] && break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "bench: $kind server did not start" >&2
        exit 1
    fi
    local res
    res=$("$bin/loadgen" "$port" "$conns" "$secs" "$body") || {
        echo "bench: loadgen against $kind failed: $res" >&2
        exit 1
    }
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null
    server_pid=
    echo "$res" | awk '{print $2}'
}

median() {
    tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {
        if (NR % 2) print v[(NR+1)/2]; else printf "%.0f\n", (v[NR/2]+v[NR/2+1])/2 }'
}

echo "reactor echo benchmark: ping-pong, ${body}-byte bodies, ${secs}s x ${rounds} rounds per point,"
echo "echo_reactor: accept loop thread + ${workers} worker loop(s); echo_epoll: 1 thread; loadgen: 1 thread"
printf '%-6s %12s %12s %7s %8s   %s\n' conns reactor_qps epoll_qps ratio loadavg rounds
below=
for c in $conns_list; do
    r_all= e_all=
    for r in $(seq "$rounds"); do
        if [ $((r % 2)) -eq 1 ]; then
            r_all="$r_all $(run_one reactor "$c")"
            e_all="$e_all $(run_one epoll "$c")"
        else
            e_all="$e_all $(run_one epoll "$c")"
            r_all="$r_all $(run_one reactor "$c")"
        fi
    done
    rm_=$(echo "$r_all" | median)
    em_=$(echo "$e_all" | median)
    ratio=$(awk -v a="$rm_" -v b="$em_" 'BEGIN { printf("%.3f", (b > 0) ? a / b : 0) }')
    load=$(cut -d' ' -f1 /proc/loadavg)
    printf '%-6s %12s %12s %7s %8s   reactor:%s epoll:%s\n' "$c" "$rm_" "$em_" "$ratio" "$load" "$r_all" "$e_all"
    awk -v r="$ratio" 'BEGIN { exit !(r < 0.9) }' && below="$below $c"
done
if [ -n "${below:-}" ]; then
    echo "below the 0.9 x baseline target at:$below client(s)"
else
    echo "libreactor >= 0.9 x baseline at every point"
fi
