#!/bin/bash
# The command line every daemon shares (docs/configuration.md): --help, --version,
# --check-config with defaults and with broken files (exit 78 naming file,
# line and key), and the tools' --help texts. The DB password never shows in
# what the programs print, and a config file that holds one and that others
# can read gets a warning.
set -u
cd "$(dirname "$0")/../.."
bin=${LARS_BUILD:-$PWD/${BUILD:-build}}/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
check() { # name, condition...
    local name=$1; shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $name"; else echo "not ok $n - $name"; fi
}
expect() { # status, file-of-output, regex, command...
    local want=$1 out=$2 re=$3; shift 3
    "$@" >"$out" 2>&1
    local rc=$?
    [ "$rc" -eq "$want" ] || { echo "# exit $rc, wanted $want: $*"; sed 's/^/# /' "$out"; return 1; }
    grep -qE -- "$re" "$out" || { echo "# output lacks /$re/: $*"; sed 's/^/# /' "$out"; return 1; }
}

printf 'log_level = "info";\nmax_conns = ;\n' >"$tmp/syntax.conf"
printf '\nlog_level = "verbose";\n' >"$tmp/level.conf"
printf 'no_such_key = 1;\n' >"$tmp/unknown.conf"
secret=Pw-$RANDOM-$RANDOM-secret
printf 'db = { password = "%s"; };\n' "$secret" >"$tmp/pw-open.conf"
cp "$tmp/pw-open.conf" "$tmp/pw-closed.conf"
chmod 0644 "$tmp/pw-open.conf"
chmod 0600 "$tmp/pw-closed.conf"
lacks() { # file, fixed string
    ! grep -qF -- "$2" "$1" || { echo "# output shows '$2':"; sed 's/^/# /' "$1"; return 1; }
}
exposed_warning="pw-open.conf \(mode 0644\) is readable by others and holds a password"

for d in lars-dns lars-reporter lars-agent; do
    key=threads
    [ "$d" = lars-agent ] && key=base_port
    printf '%s = "four";\n' "$key" >"$tmp/type.conf"
    check "$d --help" expect 0 "$tmp/o" "--check-config" "$bin/$d" --help
    check "$d --version" expect 0 "$tmp/o" "[0-9]+\.[0-9]+" "$bin/$d" --version
    check "$d --check-config with defaults prints the settings" \
        expect 0 "$tmp/o" "log_level" "$bin/$d" -c /dev/null --check-config
    check "$d rejects a wrong type with file, line and key (78)" \
        expect 78 "$tmp/o" "type.conf:1: $key" "$bin/$d" -c "$tmp/type.conf" --check-config
    check "$d rejects a syntax error with file and line (78)" \
        expect 78 "$tmp/o" "syntax.conf:2" "$bin/$d" -c "$tmp/syntax.conf" --check-config
    check "$d rejects an unknown log level (78)" \
        expect 78 "$tmp/o" "level.conf:2: log_level" "$bin/$d" -c "$tmp/level.conf" --check-config
    check "$d warns about an unknown key and goes on" \
        expect 0 "$tmp/o" "no_such_key" "$bin/$d" -c "$tmp/unknown.conf" --check-config
    check "$d fails on a missing explicit config (78)" \
        expect 78 "$tmp/o" "nonexistent" "$bin/$d" -c "$tmp/nonexistent.conf" --check-config
    [ "$d" = lars-agent ] && continue # no db group
    check "$d --check-config redacts the password" \
        expect 0 "$tmp/o" 'password = "\(redacted\)";' "$bin/$d" -c "$tmp/pw-closed.conf" --check-config
    check "$d --check-config output lacks the password" lacks "$tmp/o" "$secret"
    check "$d warns nothing about a 0600 file with a password" lacks "$tmp/o" "readable by others"
    check "$d warns about a 0644 file with a password" \
        expect 0 "$tmp/o" "$exposed_warning" "$bin/$d" -c "$tmp/pw-open.conf" --check-config
    check "$d --check-config of a 0644 file lacks the password" lacks "$tmp/o" "$secret"
    printf 'listen = "127.0.0.1:0";\ndb = { host = "127.0.0.1"; port = 1; };\n' >"$tmp/nofile.conf"
    timeout -s TERM 3 prlimit --nofile=64:64 "$bin/$d" -c "$tmp/nofile.conf" >"$tmp/o" 2>&1
    check "$d warns at start when the fd limit is below max_conns" \
        grep -qE "fd limit 64 is below max_conns 10000" "$tmp/o"
done
# larsctl prints no settings; a failed connection (no such socket) must not show the password either.
check "larsctl warns about a 0644 file with a password" \
    expect 69 "$tmp/o" "$exposed_warning" "$bin/larsctl" -c "$tmp/pw-open.conf" --db-socket "$tmp/nosock" version
check "larsctl output lacks the password" lacks "$tmp/o" "$secret"
check "larsctl warns nothing about a 0600 file with a password" \
    expect 69 "$tmp/o" "cannot connect" "$bin/larsctl" -c "$tmp/pw-closed.conf" --db-socket "$tmp/nosock" version
check "larsctl output for a 0600 file lacks the warning and the password" \
    bash -c "! grep -qE 'readable by others|$secret' '$tmp/o'"
check "lars --help documents every command" \
    expect 0 "$tmp/o" "get-host.*" "$bin/lars" --help
for c in get-host get-route report simulate bench; do
    check "lars --help mentions $c" grep -q -- "$c" "$tmp/o"
done
check "larsctl --help documents commands and exit codes" \
    expect 0 "$tmp/o" "route add" "$bin/larsctl" --help
for c in "route del" "route list" "route import" "version" "status" "69"; do
    check "larsctl --help mentions $c" grep -q -- "$c" "$tmp/o"
done
echo "1..$n"
