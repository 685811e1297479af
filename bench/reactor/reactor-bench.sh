#!/bin/bash
# Echo benchmark: libreactor (build/bench/echo_reactor) against a minimal
# bare-epoll server (build/bench/echo_epoll), same load generator, same run.
# For each client count, BENCH_ROUNDS rounds alternate which server goes
# first; the table shows the median requests/s of each, the ratio (the
# median of the per-round ratios: a round's two runs are adjacent in time
# and share the machine's load of the moment) and the 1-minute load average
# when the point finished. One RESULT line per point for bench/collect.sh.
#
#   BENCH_SECONDS=2 BENCH_ROUNDS=7 BENCH_CONNS="1 2 16" BENCH_BODY=64 \
#   BENCH_WORKERS=1 bench/reactor/reactor-bench.sh
set -u
cd "$(dirname "$0")/../.."
bin=${BENCH_BIN:-build/bench}
secs=${BENCH_SECONDS:-2}
rounds=${BENCH_ROUNDS:-7}
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
    r_all= e_all= ratios=
    for r in $(seq "$rounds"); do
        if [ $((r % 2)) -eq 1 ]; then
            rq=$(run_one reactor "$c")
            eq=$(run_one epoll "$c")
        else
            eq=$(run_one epoll "$c")
            rq=$(run_one reactor "$c")
        fi
        r_all="$r_all $rq"
        e_all="$e_all $eq"
        ratios="$ratios $(awk -v a="$rq" -v b="$eq" 'BEGIN { printf("%.3f", (b > 0) ? a / b : 0) }')"
    done
    rm_=$(echo "$r_all" | median)
    em_=$(echo "$e_all" | median)
    ratio=$(echo "$ratios" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END {
        if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }')
    load=$(cut -d' ' -f1 /proc/loadavg)
    printf '%-6s %12s %12s %7s %8s   reactor:%s epoll:%s ratios:%s\n' "$c" "$rm_" "$em_" "$ratio" "$load" "$r_all" "$e_all" "$ratios"
    echo "RESULT bench=reactor metric=qps_c$c value=$rm_ baseline=$em_ ratio=$ratio target=\">=0.9\" unit=req/s note=\"echo ping-pong, $c connection(s), ${body}-byte bodies, medians of $rounds x ${secs}s, ratio = median of per-round ratios; baseline: bare epoll echo server\""
    awk -v r="$ratio" 'BEGIN { exit !(r < 0.9) }' && below="$below $c"
done
if [ -n "${below:-}" ]; then
    echo "below the 0.9 x baseline target at:$below client(s)"
else
    echo "libreactor >= 0.9 x baseline at every point"
fi
