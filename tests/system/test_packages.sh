#!/bin/bash
# Builds the .debs and .rpms (`make deb rpm`) and checks what they hold as
# dpkg and rpm see it: the six packages of each kind, lintian on the .debs,
# the files each package owns (with the example drop-ins), configs as conffiles / %config(noreplace),
# the systemd scriptlets of the RPMs and the library's SONAME. Installing the
# .debs on a booted systemd is tests/system/test_systemd_container.sh.
# TAP output.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
PKGDIR=$BUILD/packages
LOGDIR=$BUILD/test-logs/packages
VERSION=$(sed -n 's/^LIBLARS_VERSION *:\?= *//p' api/module.mk)
DAEMONS="lars-dns lars-reporter lars-agent"

n=0
ok()  { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; local l; for l in "$@"; do echo "#   $l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
skip_all() { echo "1..1"; echo "ok 1 # SKIP $1"; exit 0; }

for tool in dpkg-buildpackage rpmbuild lintian rpm dpkg-deb readelf; do
    command -v "$tool" >/dev/null || skip_all "no $tool (scripts/install-deps.sh installs it)"
done
[ -n "$VERSION" ] || { echo "1..1"; nok "version_known" "no LIBLARS_VERSION in api/module.mk"; exit 0; }
mkdir -p "$LOGDIR" "$PKGDIR"

# --- build ----------------------------------------------------------------------
for kind in deb rpm; do
    if flock "$PKGDIR/.lock" make --no-print-directory BUILD="$BUILD" "$kind" >"$LOGDIR/make-$kind.log" 2>&1; then
        ok "make_${kind}_succeeds"
    else
        nok "make_${kind}_succeeds" "$(tail -n 15 "$LOGDIR/make-$kind.log")"
    fi
done

deb() { echo "$PKGDIR/${1}_${VERSION}-1_amd64.deb"; }
rpmf() { echo "$PKGDIR/$1-${VERSION}-1.x86_64.rpm"; }
missing=
for p in lars-tools liblars0 liblars-dev $DAEMONS; do [ -f "$(deb "$p")" ] || missing+=" $p.deb"; done
for p in lars-tools liblars0 liblars-devel $DAEMONS; do [ -f "$(rpmf "$p")" ] || missing+=" $p.rpm"; done
if [ -z "$missing" ]; then ok "six_debs_and_six_rpms_built"
else nok "six_debs_and_six_rpms_built" "missing:$missing"; echo "1..$n"; exit 0; fi

# --- lintian ------------------------------------------------------------------------
# initial-upload-closes-no-bugs: there is no Debian bug to close for a package
# that is not in the archive.
lintian --suppress-tags initial-upload-closes-no-bugs "$PKGDIR/lars_${VERSION}-1_amd64.changes" \
    >"$LOGDIR/lintian.log" 2>&1
tags=$(grep -E '^[EW]: ' "$LOGDIR/lintian.log")
if [ -z "$tags" ]; then ok "lintian_reports_no_errors_or_warnings"
else nok "lintian_reports_no_errors_or_warnings" "$(echo "$tags" | head -n 10)"; fi

# --- what each package owns ---------------------------------------------------------
# has_files LISTING PATH... : every PATH (a grep -x pattern) is in LISTING
has_files() {
    local listing=$1 f miss=; shift
    for f in "$@"; do echo "$listing" | grep -qx "$f" || miss+=" $f"; done
    [ -z "$miss" ] || { echo "#   missing:$miss"; return 1; }
}
deb_files() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|; s|/$||'; }
rpm_files() { rpm -qpl "$1" 2>/dev/null; }

for d in $DAEMONS; do
    want=("/usr/sbin/$d" "/lib/systemd/system/$d.socket" "/lib/systemd/system/$d.service"
          "/etc/lars/$d.conf" "/usr/share/man/man8/$d.8.gz")
    check "deb_${d}_holds_daemon_units_config_and_man_page" has_files "$(deb_files "$(deb "$d")")" "${want[@]}"
    want[1]=/usr/lib/systemd/system/$d.socket want[2]=/usr/lib/systemd/system/$d.service
    check "rpm_${d}_holds_daemon_units_config_and_man_page" has_files "$(rpm_files "$(rpmf "$d")")" \
        "${want[0]}" "${want[1]}" "${want[2]}" "${want[3]}" "/usr/share/man/man8/$d.8.*"
    check "deb_${d}_holds_the_ip_allow_example_drop_ins" has_files "$(deb_files "$(deb "$d")")" \
        "/usr/share/doc/$d/examples/$d.socket.d/ip-allow.conf" \
        "/usr/share/doc/$d/examples/$d.service.d/ip-allow.conf"
    check "rpm_${d}_holds_the_ip_allow_example_drop_ins" has_files "$(rpm_files "$(rpmf "$d")")" \
        "/usr/share/doc/lars/examples/$d.socket.d/ip-allow.conf" \
        "/usr/share/doc/lars/examples/$d.service.d/ip-allow.conf"
    check "deb_${d}_config_is_a_conffile" \
        bash -c "dpkg-deb --info '$(deb "$d")' conffiles | grep -qx /etc/lars/$d.conf"
    # FILEFLAGS: 1 = %config, 16 = noreplace
    flags=$(rpm -qp --qf '[%{FILEFLAGS} %{FILENAMES}\n]' "$(rpmf "$d")" 2>/dev/null | awk -v f="/etc/lars/$d.conf" '$2 == f {print $1}')
    if [ -n "$flags" ] && [ $((flags & 17)) = 17 ]; then ok "rpm_${d}_config_is_config_noreplace"
    else nok "rpm_${d}_config_is_config_noreplace" "FILEFLAGS of /etc/lars/$d.conf: '${flags}'"; fi
    scripts=$(rpm -qp --scripts "$(rpmf "$d")" 2>/dev/null)
    if echo "$scripts" | grep -q "systemctl --no-reload preset $d.socket" &&
       echo "$scripts" | grep -q "systemctl --no-reload disable --now $d.socket" &&
       echo "$scripts" | grep -q "systemctl daemon-reload"; then
        ok "rpm_${d}_scriptlets_come_from_the_systemd_macros"
    else
        nok "rpm_${d}_scriptlets_come_from_the_systemd_macros" "$(echo "$scripts" | head -n 8)"
    fi
done

tools=(/usr/bin/lars /usr/bin/larsctl /etc/lars/larsctl.conf /usr/share/lars/sql/schema.sql
       /usr/share/lars/sql/sample-routes.sql /usr/share/lars/sql/tables.sql)
check "deb_lars_tools_holds_tools_config_and_sql" has_files "$(deb_files "$(deb lars-tools)")" "${tools[@]}"
check "rpm_lars_tools_holds_tools_config_and_sql" has_files "$(rpm_files "$(rpmf lars-tools)")" "${tools[@]}"

check "deb_liblars0_holds_the_shared_library" has_files "$(deb_files "$(deb liblars0)")" \
    '/usr/lib/x86_64-linux-gnu/liblars\.so\.0' '/usr/lib/x86_64-linux-gnu/liblars\.so\.0\..*'
check "deb_liblars_dev_holds_header_static_library_link_and_pkg_config" \
    has_files "$(deb_files "$(deb liblars-dev)")" /usr/include/lars.h \
    '/usr/lib/x86_64-linux-gnu/liblars\.a' '/usr/lib/x86_64-linux-gnu/liblars\.so' \
    '/usr/lib/x86_64-linux-gnu/pkgconfig/lars\.pc'
check "rpm_liblars0_holds_the_shared_library" has_files "$(rpm_files "$(rpmf liblars0)")" \
    '/usr/lib64/liblars\.so\.0' '/usr/lib64/liblars\.so\.0\..*'
check "rpm_liblars_devel_holds_header_static_library_link_and_pkg_config" \
    has_files "$(rpm_files "$(rpmf liblars-devel)")" /usr/include/lars.h '/usr/lib64/liblars\.a' \
    '/usr/lib64/liblars\.so' '/usr/lib64/pkgconfig/lars\.pc'

# --- the library's SONAME, as shipped -------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$(deb liblars0)" "$tmp"
so=$(ls "$tmp"/usr/lib/x86_64-linux-gnu/liblars.so.0.* 2>/dev/null | head -n1)
soname=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = liblars.so.0 ]; then ok "shipped_liblars_has_soname_liblars.so.0"
else nok "shipped_liblars_has_soname_liblars.so.0" "SONAME of ${so:-no library}: '$soname'"; fi
check "deb_liblars0_declares_its_shlibs" \
    bash -c "dpkg-deb --info '$(deb liblars0)' shlibs | grep -q '^liblars 0 liblars0'"

echo "1..$n"
