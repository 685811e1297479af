#!/bin/bash
# Runs build/bench/bench_dns (make bench-dns) and adds RESULT lines for
# bench/collect.sh after its human-readable output, read from the lines it
# prints. Usage: bench/dns/dns-results.sh BENCH_DNS_BINARY
set -u
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$1" | tee "$out"
rc=${PIPESTATUS[0]}
awk '
function num(s) { gsub(/[^0-9.]/, "", s); return s }
/^dns: start to READY/ {
    v = $0; sub(/.*: /, "", v)
    ready = num(v)
}
/^dns: first load:/ {
    match($0, /RSS after it: [0-9]+/); rss = num(substr($0, RSTART, RLENGTH))
    printf "RESULT bench=dns metric=rss_kib_after_load value=%s baseline=- ratio=- target=\"<=98304\" unit=KiB note=\"1,000,000 routes loaded\"\n", rss
}
/^dns: full reload \+ diff:/ {
    match($0, /diff: [0-9]+/); v = num(substr($0, RSTART, RLENGTH))
    match($0, /bare client: [0-9]+/); b = num(substr($0, RSTART, RLENGTH))
    r = (b > 0) ? sprintf("%.2f", v / b) : "-"
    bare = b
    if (ready != "") {
        rr = (b > 0) ? sprintf("%.2f", ready / b) : "-"
        printf "RESULT bench=dns metric=start_to_ready_ms value=%s baseline=%s ratio=%s target=- unit=ms note=\"first load of 1,000,000 routes included; baseline: the same SELECT streamed by a bare client (as for full_reload_ms); ratio = start to READY / baseline, lower is better\"\n", ready, b, rr
    }
    printf "RESULT bench=dns metric=full_reload_ms value=%s baseline=%s ratio=%s target=- unit=ms note=\"baseline: the same SELECT streamed by a bare client; ratio = reload / baseline, lower is better\"\n", v, b, r
}
/^dns: get_route, / {
    match($0, /each: [0-9.]+ req\/s/); v = num(substr($0, RSTART, RLENGTH))
    match($0, /frames: [0-9.]+ req\/s/); b = num(substr($0, RSTART, RLENGTH))
    match($0, /ratio [0-9.]+/); r = num(substr($0, RSTART, RLENGTH))
    match($0, /medians of [0-9]+ rounds of [0-9]+ s/); rounds = substr($0, RSTART, RLENGTH)
    match($0, /with [0-9]+ threads/); th = num(substr($0, RSTART, RLENGTH))
    printf "RESULT bench=dns metric=get_route_per_s value=%s baseline=%s ratio=%s target=- unit=req/s note=\"16 TCP connections, one request in flight each, %s, ratio = median of per-round ratios, alternating rounds; baseline: bare-epoll server with %s threads, as many as lars-dns runs worker loops, answering pre-encoded frames\"\n", v, b, r, rounds, th
}
/^dns: push latency,/ && /p50/ {
    match($0, /p50 [0-9]+/); p50 = num(substr($0, RSTART + 4, RLENGTH - 4))
    match($0, /p99 [0-9]+/); p99 = num(substr($0, RSTART + 4, RLENGTH - 4))
    # the baseline: the poll interval bench_dns configured (and prints)
    poll = 100
    if (match($0, /version_poll_ms [0-9]+/)) poll = num(substr($0, RSTART + 16, RLENGTH - 16))
    printf "RESULT bench=dns metric=push_p50_ms value=%s baseline=%s ratio=%.2f target=- unit=ms note=\"commit to subscriber; baseline: version_poll_ms %s, the lower bound a poll-based push can promise; ratio = value / %s, lower is better\"\n", p50, poll, p50 / poll, poll, poll
    printf "RESULT bench=dns metric=push_p99_ms value=%s baseline=%s ratio=%.2f target=\"value<=600\" unit=ms note=\"commit to subscriber; baseline: version_poll_ms %s, the lower bound of a poll-based push; ratio = value / %s; target on the value: version_poll_ms + 500 ms (issue)\"\n", p99, poll, p99 / poll, poll, poll
}
/^dns: RSS at the end/ {
    v = $0; sub(/.*: /, "", v)
    printf "RESULT bench=dns metric=rss_kib_end value=%s baseline=- ratio=- target=- unit=KiB note=\"after the rate, push and reload phases\"\n", num(v)
}
' "$out"
if [ "$rc" -ne 0 ]; then
    echo "RESULT bench=dns metric=run value=FAILED baseline=- ratio=- target=- unit=- note=\"bench_dns exited with $rc\""
fi
exit "$rc"
