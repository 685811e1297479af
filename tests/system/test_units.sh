#!/bin/bash
# systemd-analyze verify on every unit, pointed at the binaries of this build;
# the example drop-ins on their units; then what the network edge needs
# from them (docs/security.md, Hardening in the units): a LimitNOFILE= that fits max_conns, and TCP keepalive
# that notices a dead peer within about two minutes.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bindir=$PWD/$BUILD/bin
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; local l; for l in "$@"; do echo "# $l"; done; }
for src in units/*.socket units/*.service.in; do
    name=$(basename "$src" .in)
    sed "s|@bindir@|$bindir|g" "$src" >"$dir/$name"
done
for u in "$dir"/*; do
    name=$(basename "$u")
    # verify needs the unit's socket/service partner in the same directory.
    if out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$u" 2>&1) && [ -z "$out" ]; then
        ok "$name verifies"
    else
        nok "$name verifies" "$out"
    fi
done

# The example drop-ins (units/examples/UNIT.d/*.conf), each on its unit.
ex=$(mktemp -d)
trap 'rm -rf "$dir" "$ex"' EXIT
cp "$dir"/* "$ex"/
for d in units/examples/*.d; do
    cp -r "$d" "$ex"/
done
for d in "$ex"/*.d; do
    unit=$(basename "$d" .d)
    if out=$(cd "$ex" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$ex/$unit" 2>&1) &&
        [ -z "$out" ] && grep -q '^IPAddressDeny=any$' "$d"/*.conf; then
        ok "example drop-in $unit.d verifies and denies by default"
    else
        nok "example drop-in $unit.d verifies and denies by default" "$out"
    fi
done

# unit_value FILE KEY: the last KEY= of FILE (the one systemd keeps).
unit_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# seconds VALUE: a plain number or one with an "s" suffix (what the units use).
seconds() { [[ $1 =~ ^([0-9]+)s?$ ]] && echo "${BASH_REMATCH[1]}"; }

for d in lars-dns lars-reporter; do
    max_conns=$(sed -n 's/^max_conns *= *\([0-9]*\);.*/\1/p' "conf/$d.conf")
    limit=$(unit_value "$dir/$d.service" LimitNOFILE)
    soft=${limit%%:*}
    # 1024 covers the daemon's own descriptors (32 + 4 per thread) up to 248 threads.
    if [ -n "$max_conns" ] && [[ $soft =~ ^[0-9]+$ ]] && [ "$soft" -ge $((max_conns + 1024)) ]; then
        ok "$d.service LimitNOFILE=$limit fits max_conns $max_conns + reserve"
    else
        nok "$d.service LimitNOFILE= fits max_conns + reserve" \
            "LimitNOFILE='$limit', max_conns in conf/$d.conf '$max_conns'"
    fi

    s=$dir/$d.socket
    time=$(seconds "$(unit_value "$s" KeepAliveTimeSec)")
    intvl=$(seconds "$(unit_value "$s" KeepAliveIntervalSec)")
    probes=$(unit_value "$s" KeepAliveProbes)
    if [ "$(unit_value "$s" KeepAlive)" = yes ] && [ -n "$time" ] && [ -n "$intvl" ] &&
        [[ $probes =~ ^[0-9]+$ ]] && [ $((time + intvl * probes)) -le 150 ] && [ "$probes" -gt 0 ]; then
        ok "$d.socket keepalive notices a dead peer within $((time + intvl * probes)) s"
    else
        nok "$d.socket keepalive notices a dead peer within about 2 minutes" \
            "KeepAlive='$(unit_value "$s" KeepAlive)' time '$time' interval '$intvl' probes '$probes'"
    fi
done
echo "1..$n"
