#!/bin/sh
# Installs the Debian packages Lars needs to build and test, only those that
# are missing. Quiet when everything is present. Services that packages would
# start (mariadb) are held back with a temporary policy-rc.d: tests start their
# own private servers.
set -eu

PKGS="make gcc clang pkg-config protobuf-c-compiler libprotobuf-c-dev
libsystemd-dev libmariadb-dev libconfig-dev libcmocka-dev
mariadb-server mariadb-client systemd iproute2 procps"
# Packaging (make deb/rpm) and tests/system/test_systemd_container.sh.
PKGS="$PKGS debhelper dpkg-dev rpm lintian help2man debootstrap systemd-container"
# `install-deps.sh fuzz` (make fuzz): libFuzzer for clang as well.
if [ "${1:-}" = fuzz ]; then
    PKGS="$PKGS libfuzzer-14-dev"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && $SUDO rm -f "$policy"; return 0; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
