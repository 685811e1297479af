#!/bin/bash
# Installs the Lars .debs into a booted systemd (a Debian 12 container that
# systemd-nspawn boots even where PID 1 is not systemd; container/lib.sh
# says what that needs) and checks the units as an operator would use them:
# socket activation, STATUS=, journal priorities, reload, watchdog restart,
# clean stop, `systemd-analyze security` exposure, and a host answered by
# the whole chain (lars -> lars-agent -> lars-dns -> MariaDB).
#
# Needs root, cgroups, debootstrap and systemd-nspawn; the rootfs is built once
# into $LARS_ROOTFS (default /var/cache/lars-test/rootfs-bookworm, ~600 MB,
# ~3 min) and the .debs by `make deb` when missing or older than the sources.
# Skips with the reason when it cannot run. TAP output.
set -u
cd "$(dirname "$0")/../.." || exit 1
REPO=$PWD
BUILD=${BUILD:-build}
PKGDIR=$REPO/$BUILD/packages
ROOTFS=${LARS_ROOTFS:-/var/cache/lars-test/rootfs-bookworm}
LOGDIR=$REPO/$BUILD/test-logs/systemd_container
DAEMONS="lars-dns lars-reporter lars-agent"

n=0
ok()   { n=$((n + 1)); echo "ok $n - $1"; }
nok()  { n=$((n + 1)); echo "not ok $n - $1"; shift; local l; for l in "$@"; do echo "#   $l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
skip_all() { echo "1..1"; echo "ok 1 # SKIP $1"; exit 0; }
bail() { nok "$@"; finish; }
note() { sed 's/^/# /'; }
finish() { ct_teardown; echo "1..$n"; echo "# total $((SECONDS - T0)) s"; exit 0; }

T0=$SECONDS
[ "$(id -u)" = 0 ] || skip_all "no root"
source tests/system/container/lib.sh
[ -n "$(ct_cgroup_roots)" ] || skip_all "no cgroups (no v1 name=systemd, unified or v2 hierarchy)"
for tool in debootstrap systemd-nspawn nsenter unshare; do
    command -v "$tool" >/dev/null || skip_all "no $tool (scripts/install-deps.sh installs it)"
done
tests/system/container/build-rootfs.sh "$ROOTFS" >&2 || skip_all "no debootstrap possible (rootfs build failed, see above)"
mkdir -p "$LOGDIR"
trap 'ct_teardown; exit 1' INT TERM
trap ct_teardown EXIT

# --- packages ---------------------------------------------------------------
stale=1
if ls "$PKGDIR"/lars-dns_*.deb >/dev/null 2>&1; then
    newest=$(ls -t "$PKGDIR"/lars-dns_*.deb | head -n1)
    [ -z "$(find Makefile api daemons libreactor proto tools units conf sql packaging \
             -type f -newer "$newest" -print -quit 2>/dev/null)" ] && stale=0
fi
if [ "$stale" = 1 ]; then
    echo "# building packages: make deb" >&2
    mkdir -p "$PKGDIR"
    if ! flock "$PKGDIR/.lock" make --no-print-directory BUILD="$BUILD" deb >"$LOGDIR/make-deb.log" 2>&1; then
        echo "1..1"
        nok "packages_build" "make deb failed:" "$(tail -n 15 "$LOGDIR/make-deb.log")"
        exit 0
    fi
fi
debs=()
for p in lars-tools liblars0 $DAEMONS; do
    f=$(ls -t "$PKGDIR"/${p}_*.deb 2>/dev/null | head -n1)
    if [ -z "$f" ]; then
        echo "1..1"; nok "packages_build" "no $p .deb in $PKGDIR"; exit 0
    fi
    debs+=("$f")
done
ok "packages_build ($(basename -a "${debs[@]}" | tr '\n' ' '))"

# --- boot -------------------------------------------------------------------
t=$SECONDS
ct_boot "$ROOTFS" "$LOGDIR/console.log" || bail "container_boots" "nspawn did not start: $(tail -n 5 "$LOGDIR/console.log")"
state=$(ct_wait_running 60) || bail "container_boots" "is-system-running: $state"
ok "container_boots ($state, $((SECONDS - t)) s)"
[ "$state" = degraded ] && ct_exec systemctl --failed --no-legend | note

in_ct() { ct_exec bash -c "$1"; }
unit_prop() { ct_exec systemctl show -P "$2" "$1"; }
wait_for() {    # wait_for SECS 'shell condition run inside'
    local i
    for ((i = 0; i < $1 * 4; i++)); do in_ct "$2" >/dev/null 2>&1 && return 0; sleep 0.25; done
    return 1
}

mkdir -p "/proc/$CT_LEADER/root/opt/lars-debs"
cp "${debs[@]}" "/proc/$CT_LEADER/root/opt/lars-debs/"
apt_install() { in_ct "cd /opt/lars-debs && apt-get install -y -q $(printf './%s_*.deb ' "$@")" \
                   >>"$LOGDIR/apt.log" 2>&1; }

# --- database: schema, a password-less lars account, sample routes ------------
check "tools_package_installs" apt_install lars-tools liblars0
wait_for 60 'mariadb -e "SELECT 1"' || bail "mariadb_runs" "$(ct_exec systemctl status mariadb 2>&1 | tail -5)"
if in_ct 'set -e
    mariadb </usr/share/lars/sql/schema.sql
    mariadb -e "CREATE USER IF NOT EXISTS lars@localhost; CREATE USER IF NOT EXISTS lars@127.0.0.1;
                GRANT SELECT, INSERT, UPDATE, DELETE ON lars.* TO lars@localhost;
                GRANT SELECT, INSERT, UPDATE, DELETE ON lars.* TO lars@127.0.0.1;"
    mariadb lars </usr/share/lars/sql/sample-routes.sql
    [ "$(mariadb -N lars -e "SELECT COUNT(*) FROM RouteData WHERE modid=1 AND cmdid=1")" -ge 1 ]' \
    >"$LOGDIR/sql.log" 2>&1; then
    ok "sql_schema_user_and_sample_routes_apply"
else
    nok "sql_schema_user_and_sample_routes_apply" "$(tail -n 5 "$LOGDIR/sql.log")"
fi

# --- lars-dns and lars-reporter: installed, socket-activated ----------------
if apt_install lars-dns lars-reporter; then
    ok "daemon_packages_install"
else
    bail "daemon_packages_install" "$(tail -n 10 "$LOGDIR/apt.log")"
fi
check "postinst_creates_empty_root_0600_db_password" \
    in_ct '[ "$(stat -c "%U %a %s" /etc/lars/db-password)" = "root 600 0" ]'

# A short watchdog for the freeze test; it takes effect at the next start.
in_ct 'mkdir -p /run/systemd/system/lars-dns.service.d &&
       printf "[Service]\nWatchdogSec=3s\nTimeoutAbortSec=5s\n" >/run/systemd/system/lars-dns.service.d/test.conf &&
       systemctl daemon-reload'

ct_exec systemctl start lars-dns.socket lars-reporter.socket
check "sockets_active" in_ct 'systemctl is-active -q lars-dns.socket lars-reporter.socket'
s=$(unit_prop lars-dns.service ActiveState)
if [ "$s" = inactive ]; then ok "lars_dns_inactive_before_first_connection"
else nok "lars_dns_inactive_before_first_connection" "ActiveState=$s"; fi

in_ct 'exec 3<>/dev/tcp/127.0.0.1/7778' 2>/dev/null
if wait_for 30 'systemctl is-active -q lars-dns.service'; then
    ok "first_connection_activates_lars_dns"
else
    nok "first_connection_activates_lars_dns" "$(ct_exec systemctl status lars-dns 2>&1 | tail -n 8)"
fi
in_ct 'exec 3<>/dev/tcp/127.0.0.1/7779' 2>/dev/null
check "first_connection_activates_lars_reporter" wait_for 30 'systemctl is-active -q lars-reporter.service'

ct_exec systemctl status --no-pager -n 0 lars-dns lars-reporter 2>&1 | note
status=$(unit_prop lars-dns.service StatusText)
if [ -n "$status" ]; then ok "systemctl_status_shows_daemon_status_line ($status)"
else nok "systemctl_status_shows_daemon_status_line" "StatusText is empty"; fi
status=$(unit_prop lars-reporter.service StatusText)
if [ -n "$status" ]; then ok "lars_reporter_status_line ($status)"
else nok "lars_reporter_status_line" "StatusText is empty"; fi

# The daemon's own start-up lines (not systemd's) carry syslog priorities:
# some at info/notice, none at crit or worse on a healthy start.
journal=$(ct_exec journalctl -o json --no-pager _SYSTEMD_UNIT=lars-dns.service _COMM=lars-dns 2>/dev/null)
echo "$journal" | grep -o '"PRIORITY":"[0-9]"\|"MESSAGE":"[^"]*"' | paste - - | head -n 20 | note
if echo "$journal" | grep -q '"PRIORITY":"[56]"' && ! echo "$journal" | grep -q '"PRIORITY":"[012]"'; then
    ok "journal_holds_startup_lines_with_priorities"
else
    nok "journal_holds_startup_lines_with_priorities" "no info/notice line from lars-dns, or one at crit or worse"
fi

# --- lars-agent and the whole chain ------------------------------------------
if apt_install lars-agent && ct_exec systemctl start lars-agent.service; then
    ok "lars_agent_installs_and_starts"
else
    nok "lars_agent_installs_and_starts" "$(tail -n 5 "$LOGDIR/apt.log")" \
        "$(ct_exec systemctl status lars-agent 2>&1 | tail -n 8)"
fi
host=
for ((i = 0; i < 20; i++)); do
    host=$(ct_exec timeout 5 lars get-host 1 1 2>>"$LOGDIR/lars.log") && [ -n "$host" ] && break
    host=
    sleep 0.5
done
case $host in
    127.0.0.1:900[123]) ok "lars_get_host_returns_a_sample_route_host ($host)" ;;
    *) nok "lars_get_host_returns_a_sample_route_host" "got '$host'; $(tail -n 3 "$LOGDIR/lars.log")" ;;
esac

# --- reload -------------------------------------------------------------------
# systemd logs "Reloaded" once the daemon answered RELOADING=1 .. READY=1;
# the daemon itself logs the reload.
pid=$(unit_prop lars-dns.service MainPID)
cursor=$(ct_exec journalctl -n 1 -o cat --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
ct_exec timeout 30 systemctl reload lars-dns; rc=$?
wait_for 15 '[ "$(systemctl show -P ActiveState lars-dns)" = active ]'
state=$(unit_prop lars-dns.service ActiveState) newpid=$(unit_prop lars-dns.service MainPID)
# (journalctl 252 returns nothing for --after-cursor plus field matches: filter here.)
since=$(ct_exec journalctl --no-pager -o json --after-cursor="$cursor")
reloaded=$(echo "$since" | grep -c '"MESSAGE":"Reloaded lars-dns.service')
own=$(echo "$since" | grep '"_SYSTEMD_UNIT":"lars-dns.service"' | grep -c "\"_PID\":\"$pid\"")
if [ "$rc" = 0 ] && [ "$state" = active ] && [ "$newpid" = "$pid" ] && [ "$reloaded" -ge 1 ] && [ "$own" -ge 1 ]; then
    ok "reload_keeps_lars_dns_active_with_same_pid"
else
    nok "reload_keeps_lars_dns_active_with_same_pid" \
        "reload exit $rc, ActiveState $state, MainPID $pid -> $newpid, 'Reloaded' lines $reloaded, daemon lines $own"
fi

# --- watchdog: a frozen daemon is aborted and restarted ----------------------
restarts=$(unit_prop lars-dns.service NRestarts)
pid=$(unit_prop lars-dns.service MainPID)
ct_exec kill -STOP "$pid"
if wait_for 40 "p=\$(systemctl show -P MainPID lars-dns); [ \"\$p\" != 0 ] && [ \"\$p\" != $pid ] &&
               systemctl is-active -q lars-dns"; then
    ok "watchdog_restarts_frozen_lars_dns (pid $pid -> $(unit_prop lars-dns.service MainPID), NRestarts $restarts -> $(unit_prop lars-dns.service NRestarts))"
else
    nok "watchdog_restarts_frozen_lars_dns" "$(ct_exec systemctl status lars-dns 2>&1 | tail -n 8)"
    ct_exec kill -CONT "$pid" 2>/dev/null
fi
ct_exec journalctl -u lars-dns --no-pager -o cat | grep -i 'watchdog' | note

# --- without /etc/lars/db-password the unit still starts, with an empty password
in_ct 'rm -f /etc/lars/db-password && systemctl restart lars-dns.service'
if wait_for 20 'systemctl show -P StatusText lars-dns | grep -q "DB up"'; then
    ok "missing_db_password_file_falls_back_to_empty_password"
else
    nok "missing_db_password_file_falls_back_to_empty_password" "$(ct_exec systemctl status lars-dns 2>&1 | tail -n 8)"
fi
in_ct '(umask 077 && : >/etc/lars/db-password)'

# --- the installed units verify -------------------------------------------------
v=$(ct_exec bash -c 'cd /lib/systemd/system && systemd-analyze verify --man=no lars-*.socket lars-*.service' 2>&1)
if [ -z "$v" ]; then ok "installed_units_pass_systemd_analyze_verify"
else nok "installed_units_pass_systemd_analyze_verify" "$v"; fi

# --- security exposure --------------------------------------------------------
for u in $DAEMONS; do
    line=$(ct_exec systemd-analyze security --no-pager "$u.service" 2>&1 | grep 'Overall exposure level')
    echo "# $line"
    score=$(echo "$line" | grep -o 'service: [0-9.]*' | cut -d' ' -f2)
    if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
        ok "security_exposure_${u}_at_most_2.5 ($score)"
    else
        nok "security_exposure_${u}_at_most_2.5" "${line:-no score}"
    fi
done

# --- the documented bring-up, from nothing --------------------------------------
# docs/operations.md, First start: `systemctl start lars-dns.socket lars-agent.service` brings up a
# working system; the agent's service pulls in its own socket unit.
get_host_ok() {    # get_host_ok [--port BASE]
    local i h
    for ((i = 0; i < 20; i++)); do
        h=$(ct_exec timeout 5 lars "$@" get-host 1 1 2>>"$LOGDIR/lars.log") &&
            [[ $h == 127.0.0.1:900[123] ]] && return 0
        sleep 0.5
    done
    return 1
}
in_ct 'systemctl stop lars-agent.service lars-agent.socket lars-dns.service lars-dns.socket \
           lars-reporter.service lars-reporter.socket' 2>&1 | grep -v 'Warning: Stopping' | note
ct_exec systemctl start lars-dns.socket lars-agent.service
check "spec_bring_up_starts_agent_socket_and_dns_socket" \
    in_ct 'systemctl is-active -q lars-agent.socket lars-agent.service lars-dns.socket'
check "spec_bring_up_answers_get_host" get_host_ok

# State changes are journal entries with structured fields: an operator
# finds a pair's and a host's lines by field.
in_ct 'for i in $(seq 16); do lars report 1 1 127.0.0.1 9001 fail; done'
check "journal_finds_agent_state_change_by_LARS_MODID_and_LARS_HOST" wait_for 10 \
    'journalctl -u lars-agent --no-pager -o cat LARS_MODID=1 LARS_CMDID=1 LARS_HOST=127.0.0.1:9001 |
         grep -q "1/1 host 127.0.0.1:9001 overloaded"'

# An operator moves the agent's ports with a drop-in and keeps base_port: the
# agent serves the three sockets in port order and says so.
in_ct 'mkdir -p /run/systemd/system/lars-agent.socket.d &&
       printf "[Socket]\nListenDatagram=\nListenDatagram=127.0.0.1:9888\nListenDatagram=127.0.0.1:9889\nListenDatagram=127.0.0.1:9890\n" \
           >/run/systemd/system/lars-agent.socket.d/ports.conf &&
       systemctl daemon-reload && systemctl stop lars-agent.service lars-agent.socket &&
       systemctl start lars-agent.service'
check "agent_serves_socket_ports_moved_by_a_drop_in" get_host_ok --port 9888
check "agent_logs_the_moved_ports" \
    in_ct 'journalctl -u lars-agent --no-pager -o cat | grep -q "ports 9888, 9889, 9890, not base_port 8888..8890"'
in_ct 'rm -r /run/systemd/system/lars-agent.socket.d && systemctl daemon-reload &&
       systemctl stop lars-agent.service lars-agent.socket && systemctl start lars-agent.service'

# --- clean stop -----------------------------------------------------------------
# The agent first: it would reconnect and so socket-activate the others again.
for u in lars-agent lars-reporter lars-dns; do
    cursor=$(ct_exec journalctl -n 1 -o cat --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
    ct_exec timeout 40 systemctl stop "$u.service" 2>&1 | grep -v 'Warning: Stopping\|can still be activated by\|^  lars-' | note
    r="$(unit_prop "$u.service" Result) $(unit_prop "$u.service" ExecMainCode) $(unit_prop "$u.service" ExecMainStatus)"
    killed=$(ct_exec journalctl --no-pager -o cat --after-cursor="$cursor" | grep -c "^$u.service: .*\(SIGKILL\|timed out\)")
    if [ "$r" = "success 1 0" ] && [ "$killed" = 0 ]; then
        ok "stop_is_clean_$u"
    else
        nok "stop_is_clean_$u" "Result ExecMainCode ExecMainStatus: $r (want success 1 0); SIGKILL lines: $killed" \
            "$(ct_exec journalctl --no-pager -o cat --after-cursor="$cursor" | tail -n 8)"
    fi
done

ct_exec journalctl --no-pager -o short-monotonic -u 'lars-*' >"$LOGDIR/journal.log" 2>&1
finish
