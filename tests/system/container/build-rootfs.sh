#!/bin/bash
# Builds (once) the Debian 12 rootfs the systemd container test boots:
# minbase + systemd, MariaDB and the runtime libraries of the Lars packages,
# so that installing our .debs inside needs no network. The result is cached
# outside the repository, next to a stamp naming what it contains; the test
# boots it with --volatile=overlay, so it stays clean.
#   tests/system/container/build-rootfs.sh [ROOTFS]
#       (default: $LARS_ROOTFS or /var/cache/lars-test/rootfs-bookworm)
# Exit status: 0 ready, 1 failed.
set -euo pipefail

ROOTFS=${1:-${LARS_ROOTFS:-/var/cache/lars-test/rootfs-bookworm}}
SUITE=bookworm
# Bump when the package list changes: a stale cache is rebuilt.
STAMP_VERSION=1
INCLUDE=systemd,systemd-sysv,dbus,mariadb-server,mariadb-client,iproute2,procps,libprotobuf-c1,libconfig9,libmariadb3,libsystemd0
STAMP=$ROOTFS.stamp

fresh() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_VERSION $SUITE $INCLUDE" ]; }
fresh && exit 0

# Two test runs at once (gcc, clang, sanitizer builds): one builds, the other waits.
mkdir -p "$(dirname "$ROOTFS")"
exec 9>"$ROOTFS.lock"
flock 9
fresh && exit 0

# The mirror is the one this machine's apt uses: deb822 sources first, then
# one-line sources; the first "deb" entry for the suite wins.
find_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$SUITE" '
            /^[[:space:]]*$/ { if (uri != "" && ok && deb) { print uri; exit } uri=""; ok=0; deb=0; next }
            tolower($1) == "types:"  { for (i = 2; i <= NF; i++) if ($i == "deb") deb=1 }
            tolower($1) == "uris:"   { uri=$2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok=1 }
            END { if (uri != "" && ok && deb) print uri }' "$f" | head -n1
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v suite="$SUITE" '$1 == "deb" { u=2; if ($2 ~ /^\[/) { while ($u !~ /\]$/) u++; u++ }
                                             if ($(u+1) == suite) print $u }'
}
MIRROR=$(find_mirror 2>/dev/null | head -n1 || true)
if [ -z "$MIRROR" ]; then
    echo "build-rootfs: no apt source for $SUITE found in /etc/apt" >&2
    exit 1
fi

command -v debootstrap >/dev/null || { echo "build-rootfs: debootstrap is not installed" >&2; exit 1; }

tmp=$ROOTFS.tmp
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "build-rootfs: debootstrap $SUITE from $MIRROR into $ROOTFS (takes a few minutes)" >&2

# policy-rc.d from the start: debootstrap's second stage would otherwise
# try to start MariaDB inside the chroot.
mkdir -p "$tmp/usr/sbin"
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 755 "$tmp/usr/sbin/policy-rc.d"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" >"$tmp.log" 2>&1 || {
    echo "build-rootfs: debootstrap failed; last lines of $tmp.log:" >&2
    tail -n 20 "$tmp.log" >&2
    exit 1
}
rm -f "$tmp/usr/sbin/policy-rc.d"

# A quiet, fast boot: no login prompt on the read-only console, a fixed
# hostname and machine id (regenerated per boot by the volatile overlay).
echo lars-test >"$tmp/etc/hostname"
: >"$tmp/etc/machine-id"
ln -sf /dev/null "$tmp/etc/systemd/system/console-getty.service"
ln -sf /dev/null "$tmp/etc/systemd/system/getty@.service"
ln -sf /dev/null "$tmp/etc/systemd/system/systemd-networkd-wait-online.service"
rm -f "$tmp/var/cache/apt/archives/"*.deb

rm -rf "$ROOTFS"
mv "$tmp" "$ROOTFS"
mv "$tmp.log" "$ROOTFS.log"
trap - EXIT
echo "$STAMP_VERSION $SUITE $INCLUDE" >"$STAMP"
echo "build-rootfs: ready: $ROOTFS" >&2
