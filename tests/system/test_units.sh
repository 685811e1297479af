#!/bin/bash
# systemd-analyze verify on every unit, pointed at the binaries of this build.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bindir=$PWD/$BUILD/bin
n=0
for src in units/*.socket units/*.service.in; do
    name=$(basename "$src" .in)
    sed "s|@bindir@|$bindir|g" "$src" >"$dir/$name"
done
echo "1..$(ls "$dir" | wc -l)"
for u in "$dir"/*; do
    n=$((n + 1))
    name=$(basename "$u")
    # verify needs the unit's socket/service partner in the same directory.
    if out=$(cd "$dir" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$u" 2>&1) && [ -z "$out" ]; then
        echo "ok $n - $name verifies"
    else
        echo "not ok $n - $name verifies"
        echo "$out" | sed 's/^/# /'
    fi
done
