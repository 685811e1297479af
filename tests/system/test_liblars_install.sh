#!/bin/bash
# liblars as an application sees it after `make install`: a program built
# with `pkg-config --cflags --libs lars` against the staged tree, linked
# dynamically (SONAME liblars.so.0, only the lars_* calls exported) and
# statically, runs and gets LARS_TIMEOUT from an agent that is not there.
# TAP output.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
CC=${CC:-cc}

n=0
ok()  { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; local l; for l in "$@"; do echo "#   $l"; done; }
finish() { echo "1..$n"; exit 0; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
san=
[[ $BUILD == *sanitize* ]] && san="-fsanitize=address,undefined"

if make -s --no-print-directory BUILD="$BUILD" install-liblars DESTDIR="$stage" PREFIX=/usr \
        LIBDIR=/usr/lib >"$tmp/install.log" 2>&1; then
    ok "make_install_stages_liblars"
else
    nok "make_install_stages_liblars" "$(tail -n 10 "$tmp/install.log")"; finish
fi

cat >"$tmp/app.c" <<'EOF'
#include <stdio.h>
#include <lars.h>

int main(void)
{
    lars_options_t o = {.base_port = 9, .timeout_ms = 20, .tries = 2};
    lars_client_t *c = lars_open(&o, NULL);
    lars_stats_t st;
    lars_host_t h;
    int r;

    if (!c)
        return 1;
    r = lars_get_host(c, 1, 1, &h);
    lars_get_stats(c, &st, sizeof(st));
    printf("%s timeouts=%llu retries=%llu\n", lars_strerror(r), (unsigned long long)st.timeouts,
           (unsigned long long)st.retries);
    lars_close(c);
    return r == LARS_TIMEOUT ? 0 : 2;
}
EOF

export PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_LIBDIR=$stage/usr/lib/pkgconfig:$(pkg-config --variable pc_path pkg-config)
cflags=$(pkg-config --cflags lars) libs=$(pkg-config --libs lars) static=$(pkg-config --static --libs lars)
if [[ $libs == *"-L$stage/usr/lib "*-llars* ]]; then
    ok "pkg_config_finds_lars ($cflags $libs)"
else
    nok "pkg_config_finds_lars" "cflags '$cflags' libs '$libs'"; finish
fi

# shellcheck disable=SC2086
if $CC $san $cflags -o "$tmp/app-dyn" "$tmp/app.c" $libs >"$tmp/cc-dyn.log" 2>&1; then
    ok "app_builds_against_the_shared_library"
else
    nok "app_builds_against_the_shared_library" "$(head -n 10 "$tmp/cc-dyn.log")"; finish
fi
needed=$(readelf -d "$tmp/app-dyn" | sed -n 's/.*(NEEDED).*\[\(liblars[^]]*\)\].*/\1/p')
soname=$(readelf -d "$stage/usr/lib/liblars.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$needed" = liblars.so.0 ] && [ "$soname" = liblars.so.0 ]; then
    ok "app_needs_liblars.so.0_its_soname"
else
    nok "app_needs_liblars.so.0_its_soname" "NEEDED '$needed', SONAME '$soname'"
fi
out=$(LD_LIBRARY_PATH=$stage/usr/lib "$tmp/app-dyn" 2>&1)
if [ $? = 0 ] && [[ $out == *"timeouts=1 retries=1"* ]]; then
    ok "dynamic_app_times_out_without_agent ($out)"
else
    nok "dynamic_app_times_out_without_agent" "$out"
fi
exported=$(nm -D --defined-only "$stage/usr/lib/liblars.so" | awk '$2 ~ /[TDBR]/ {print $3}' | sort | tr '\n' ' ')
if [ -n "$exported" ] && ! echo "$exported" | tr ' ' '\n' | grep -v '^$' | grep -qv '^lars_'; then
    ok "shared_library_exports_only_lars_calls"
else
    nok "shared_library_exports_only_lars_calls" "$exported"
fi

# shellcheck disable=SC2086
if $CC $san $cflags -o "$tmp/app-static" "$tmp/app.c" "$stage/usr/lib/liblars.a" \
        ${static/-llars/} >"$tmp/cc-static.log" 2>&1; then
    out=$("$tmp/app-static" 2>&1)
    if [ $? = 0 ] && ! readelf -d "$tmp/app-static" | grep -q 'liblars'; then
        ok "static_app_times_out_without_agent ($out)"
    else
        nok "static_app_times_out_without_agent" "$out"
    fi
else
    nok "static_app_times_out_without_agent" "$(head -n 10 "$tmp/cc-static.log")"
fi
finish
