#!/bin/bash
# larsctl against a private MariaDB (build/harness/progs/test-mariadb): route
# add/del/list/import, version bumps, status output, and the exit codes of
# bad arguments, bad files and an unreachable database. Prints TAP.
set -u
cd "$(dirname "$0")/../.."
B=${LARS_BUILD:-$PWD/build}
LARSCTL=$B/bin/larsctl
HELPER=$B/harness/progs/test-mariadb
T=$(mktemp -d /tmp/lars-larsctl-XXXXXX)
HP=

cleanup() {
    if [ -n "$HP" ]; then
        kill "$HP" 2>/dev/null
        wait "$HP" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); echo "not ok $n - $1"
    echo "# rc=${rc:-} stdout:"; sed 's/^/#   /' "$T/out" 2>/dev/null
    echo "# stderr:"; sed 's/^/#   /' "$T/err" 2>/dev/null
}
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }

# larsctl with the private database's config; sets rc, output in $T/out, $T/err.
ctl() { timeout 30 "$LARSCTL" -c "$T/db.conf" "$@" >"$T/out" 2>"$T/err"; rc=$?; return $rc; }
sql() { mariadb --no-defaults -S "$LARS_TEST_DB_SOCKET" -uroot -N -B lars -e "$1"; }
version() { sql 'SELECT version FROM RouteVersion WHERE id = 1'; }

"$HELPER" --env-file "$T/env" --conf "$T/db.conf" --password-file "$T/pw" >/dev/null 2>"$T/helper.err" &
HP=$!
for _ in $(seq 600); do
    [ -f "$T/env" ] && break
    kill -0 "$HP" 2>/dev/null || break
    sleep 0.1
done
if [ ! -f "$T/env" ]; then
    echo "not ok 1 - private mariadb starts"
    sed 's/^/# /' "$T/helper.err"
    exit 1
fi
# shellcheck disable=SC1091
. "$T/env"

# --- add / list / del ---------------------------------------------------
add_list_del_round_trip() {
    ctl route add 10 1 127.0.0.1 9001 && ctl route add 10 1 127.0.0.1 9002 &&
        ctl route add 10 1 192.168.1.177 9003 && ctl route add 10 2 127.0.0.1 9009 || return 1
    ctl route list 10 1 || return 1
    [ "$(grep -c '^10 ' "$T/out")" -eq 3 ] || return 1
    grep -Eq '^10 +1 +192\.168\.1\.177:9003$' "$T/out" || return 1
    ctl route del 10 1 127.0.0.1 9002 || return 1
    ctl route list 10 || return 1
    [ "$(grep -c '^10 ' "$T/out")" -eq 3 ] && ! grep -q ':9002' "$T/out" || return 1
    [ "$(sql 'SELECT COUNT(*) FROM RouteData WHERE modid = 10 AND cmdid = 1')" = 2 ]
}
check "add_list_del_round_trip" add_list_del_round_trip

ip_stored_as_inet_aton_number() {
    ctl route add 11 1 255.255.255.255 65535 && ctl route add 11 1 192.168.1.177 1 || return 1
    [ "$(sql 'SELECT serverip FROM RouteData WHERE modid = 11 AND serverport = 65535')" = 4294967295 ] &&
        [ "$(sql 'SELECT serverip FROM RouteData WHERE modid = 11 AND serverport = 1')" = 3232235953 ] &&
        ctl route list 11 1 && grep -q '255\.255\.255\.255:65535' "$T/out"
}
check "ip_stored_as_inet_aton_number" ip_stored_as_inet_aton_number

add_existing_route_exits_1() {
    ctl route add 10 1 127.0.0.1 9001
    [ "$rc" -eq 1 ] && grep -q 'already exists' "$T/err"
}
check "add_existing_route_exits_1" add_existing_route_exits_1

del_missing_route_exits_1() {
    local v0; v0=$(version)
    ctl route del 10 1 127.0.0.1 4444
    [ "$rc" -eq 1 ] && grep -q 'does not exist' "$T/err" && [ "$(version)" = "$v0" ]
}
check "del_missing_route_exits_1_and_keeps_version" del_missing_route_exits_1

# --- versions --------------------------------------------------------------
version_strictly_increases_in_same_second() {
    local v1 v2 v3
    ctl route add 12 1 10.0.0.1 80 && v1=$(version) &&
        ctl route add 12 1 10.0.0.2 80 && v2=$(version) &&
        ctl route del 12 1 10.0.0.1 80 && v3=$(version) || return 1
    [ "$v2" -gt "$v1" ] && [ "$v3" -gt "$v2" ] || return 1
    ctl version && [ "$(cat "$T/out")" = "$v3" ]
}
check "version_strictly_increases_across_quick_changes" version_strictly_increases_in_same_second

version_grows_past_a_future_value() {
    local future=$(( $(date +%s) + 100000 ))
    sql "UPDATE RouteVersion SET version = $future WHERE id = 1" || return 1
    ctl route add 12 2 10.0.0.1 80 || return 1
    [ "$(version)" = $((future + 1)) ]
}
check "version_is_old_plus_one_when_clock_is_behind" version_grows_past_a_future_value

change_writes_route_change_row() {
    ctl route add 13 7 10.0.0.1 80 || return 1
    [ "$(sql "SELECT COUNT(*) FROM RouteChange WHERE modid = 13 AND cmdid = 7 AND version = $(version)")" = 1 ]
}
check "change_writes_route_change_row_with_new_version" change_writes_route_change_row

concurrent_changes_get_distinct_versions() {
    local pids=() i
    for i in $(seq 1 8); do
        timeout 60 "$LARSCTL" -c "$T/db.conf" route add 14 1 10.0.1.$i 80 >/dev/null 2>>"$T/err" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || return 1; done
    [ "$(sql 'SELECT COUNT(DISTINCT version) FROM RouteChange WHERE modid = 14')" = 8 ] &&
        [ "$(sql 'SELECT COUNT(*) FROM RouteData WHERE modid = 14')" = 8 ]
}
check "concurrent_changes_serialize_with_distinct_versions" concurrent_changes_get_distinct_versions

# --- import ----------------------------------------------------------------
import_adds_every_line() {
    local f=$T/routes.txt i
    {
        echo "# 1200 routes over 3 pairs"
        for i in $(seq 1 1200); do
            echo "20 $((i % 3)) 10.$((i / 250)).$((i % 250)).1 $((1000 + i))"
        done
        echo
        echo "20 0 10.9.9.9 1   # trailing comment"
    } >"$f"
    local v0; v0=$(version)
    ctl route import "$f" || return 1
    grep -q '1201 routes added' "$T/out" || return 1
    [ "$(sql 'SELECT COUNT(*) FROM RouteData WHERE modid = 20')" = 1201 ] || return 1
    [ "$(version)" -gt "$v0" ] || return 1
    [ "$(sql "SELECT COUNT(*) FROM RouteChange WHERE modid = 20 AND version = $(version)")" = 3 ] || return 1
    # Again: nothing new, nothing changed.
    ctl route import "$f"
    [ "$rc" -eq 1 ] && grep -q 'already exist' "$T/err"
}
check "import_adds_every_line_in_one_change" import_adds_every_line

import_bad_line_names_line_and_changes_nothing() {
    local f=$T/bad.txt v0 c0
    printf '21 1 10.0.0.1 80\n# comment\n21 1 10.0.0.300 80\n21 1 10.0.0.2 80\n' >"$f"
    v0=$(version); c0=$(sql 'SELECT COUNT(*) FROM RouteData')
    ctl route import "$f"
    [ "$rc" -eq 65 ] && grep -q "$f:3:.*10.0.0.300" "$T/err" || return 1
    printf '21 1 10.0.0.1 80\n21 1 10.0.0.2\n' >"$f"
    ctl route import "$f"
    [ "$rc" -eq 65 ] && grep -q "$f:2:" "$T/err" || return 1
    [ "$(version)" = "$v0" ] && [ "$(sql 'SELECT COUNT(*) FROM RouteData')" = "$c0" ]
}
check "import_bad_line_names_line_and_changes_nothing" import_bad_line_names_line_and_changes_nothing

import_missing_file_exits_66() {
    ctl route import "$T/does-not-exist"
    [ "$rc" -eq 66 ] && grep -q 'does-not-exist' "$T/err"
}
check "import_missing_file_exits_66" import_missing_file_exits_66

# --- bad arguments -----------------------------------------------------------
bad_args_exit_2() {
    local args
    for args in "route add x 1 10.0.0.1 80" "route add 1 -1 10.0.0.1 80" \
        "route add 1 1 10.0.0.1 0" "route add 1 1 10.0.0.1 65536" \
        "route add 1 1 1.2.3.256 80" "route add 1 1 1.2.3 80" "route add 1 1 10.0.0.1" \
        "route del 1 1 10.0.0.1 80x" "route list a" "route list 1 2 3" "route" "frobnicate" \
        "route add 2147483648 1 10.0.0.1 80" "version extra"; do
        # shellcheck disable=SC2086
        ctl $args
        if [ "$rc" -ne 2 ] || [ ! -s "$T/err" ]; then
            echo "# larsctl $args: rc=$rc"
            return 1
        fi
    done
    ctl route add 1 1 10.0.0.1 0 && return 1
    grep -q "port '0' out of range" "$T/err"
}
check "bad_args_exit_2_with_a_message" bad_args_exit_2

unknown_host_is_named() {
    ctl route add 1 1 no-such-host.invalid 80
    [ "$rc" -eq 2 ] && grep -q "no-such-host.invalid" "$T/err"
}
check "unknown_host_name_exits_2_naming_it" unknown_host_is_named

# --- database and config errors ---------------------------------------------
unreachable_db_exits_69() {
    local port p
    for p in 1 9 47 1023 2 3; do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
    done
    [ -n "${port:-}" ] || return 1
    timeout 20 "$LARSCTL" -c /dev/null --db-port "$port" version >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 69 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "cannot connect to MariaDB at 127.0.0.1:$port" "$T/err"
}
check "unreachable_db_exits_69_with_one_line" unreachable_db_exits_69

bad_usage_does_not_touch_db() {
    timeout 20 "$LARSCTL" -c /dev/null --db-port 1 route add x 1 10.0.0.1 80 >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 2 ]
}
check "usage_error_wins_over_unreachable_db" bad_usage_does_not_touch_db

wrong_password_exits_69() {
    echo wrong >"$T/wrong"
    ctl --db-password-file "$T/wrong" version
    [ "$rc" -eq 69 ] && grep -q 'Access denied' "$T/err"
}
check "wrong_password_exits_69" wrong_password_exits_69

password_file_option_works() {
    timeout 30 "$LARSCTL" --db-port "$LARS_TEST_DB_PORT" --db-password-file "$T/pw" version >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "$(version)" ]
}
check "db_options_override_config" password_file_option_works

credential_directory_password_works() {
    mkdir -p "$T/creds" && cp "$T/pw" "$T/creds/db-password"
    CREDENTIALS_DIRECTORY=$T/creds timeout 30 "$LARSCTL" -c /dev/null --db-port "$LARS_TEST_DB_PORT" version \
        >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ]
}
check "credentials_directory_password_is_used" credential_directory_password_works

missing_password_file_exits_78() {
    ctl --db-password-file "$T/nope" version
    [ "$rc" -eq 78 ] && grep -q "$T/nope" "$T/err"
}
check "missing_password_file_exits_78" missing_password_file_exits_78

bad_config_exits_78() {
    printf 'db = {\n  port = "abc";\n};\n' >"$T/bad.conf"
    timeout 20 "$LARSCTL" -c "$T/bad.conf" version >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 78 ] && grep -q 'bad.conf:2' "$T/err" || return 1
    timeout 20 "$LARSCTL" -c "$T/missing.conf" version >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 78 ]
}
check "bad_or_missing_config_exits_78" bad_config_exits_78

# --- status -----------------------------------------------------------------
status_prints_call_rows() {
    sql "INSERT INTO ServerCallStatus VALUES
         (30, 1, INET_ATON('10.0.0.1'), 80, INET_ATON('192.168.1.177'), 120, 3, 1700000000, '1'),
         (30, 2, INET_ATON('10.0.0.2'), 81, INET_ATON('10.1.1.1'), 7, 0, 1700000000, '0')" || return 1
    ctl status 30 || return 1
    [ "$(grep -c '^30 ' "$T/out")" -eq 2 ] || return 1
    local when; when=$(date -d @1700000000 '+%Y-%m-%d %H:%M:%S')
    grep -Eq "^30 +1 +10\.0\.0\.1:80 +192\.168\.1\.177 +120 +3 +yes +$when$" "$T/out" || return 1
    grep -Eq "^30 +2 +10\.0\.0\.2:81 +10\.1\.1\.1 +7 +0 +no " "$T/out" || return 1
    ctl status 30 2 || return 1
    [ "$(grep -c '^30 ' "$T/out")" -eq 1 ]
}
check "status_prints_call_status_rows" status_prints_call_rows

help_documents_commands_and_exit_codes() {
    timeout 10 "$LARSCTL" --help >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 0 ] || return 1
    local w
    for w in 'route add' 'route del' 'route list' 'route import' 'version' 'status' \
        '--db-host' '--db-port' '--db-socket' '--db-user' '--db-password-file' '--db-name' \
        ' 69 ' ' 78 ' ' 65 '; do
        grep -q -- "$w" "$T/out" || { echo "# --help lacks '$w'"; return 1; }
    done
}
check "help_documents_commands_options_and_exit_codes" help_documents_commands_and_exit_codes

echo "1..$n"
