# Boots a Debian rootfs as a systemd container on a host whose PID 1 is not
# systemd (where /run is on disk and cgroups may be hybrid v1 + v2), for
# tests/system/test_systemd_container.sh. What the recipe needs:
#   - a Debian rootfs made by debootstrap --variant=minbase with systemd,
#     dbus and what the test uses (build-rootfs.sh builds it once, outside
#     the repository);
#   - a cgroup of its own in every hierarchy (ct_cgroup_roots), which the
#     booting shell moves itself into, and a tmpfs on /run in a private mount
#     namespace (unshare --mount): without them nspawn leaves state on the
#     host, and teardown could not kill everything through the cgroup;
#   - systemd-nspawn --boot --register=no --keep-unit: there is no host
#     systemd to register the machine with or to create a scope (without
#     them nspawn fails with "Failed to open system bus"); --volatile=overlay
#     keeps the cached rootfs clean; --private-network keeps its ports off
#     the host's; --console=read-only because no terminal is attached.
# Enter it with nsenter into nspawn's child (the container's PID 1); stop it
# with SIGTERM to nspawn, a bounded wait, then a kill of the cgroup.
# Source it, then:
#   ct_boot ROOTFS LOG     boot; sets CT_LEADER (the container's PID 1)
#   ct_wait_running SECS   until systemctl is-system-running says running/degraded
#   ct_exec CMD...         run CMD inside (all namespaces, clean environment)
#   ct_teardown            poweroff, bounded wait, kill and remove the cgroup
# ct_teardown is safe to call twice and before ct_boot; call it from a trap.

CT_NSPAWN_PID=
CT_LEADER=
CT_CGROUPS=()

# The cgroup directories a new group needs: on a hybrid host the named v1
# "systemd" hierarchy and the controller-less unified one, on a pure v2 host
# the v2 root. Empty output: no usable cgroup hierarchy.
ct_cgroup_roots() {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo /sys/fs/cgroup
        return
    fi
    [ -f /sys/fs/cgroup/systemd/cgroup.procs ] && echo /sys/fs/cgroup/systemd
    [ -f /sys/fs/cgroup/unified/cgroup.procs ] && echo /sys/fs/cgroup/unified
}

ct_exec() {
    nsenter -t "$CT_LEADER" -a \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

ct_boot() {
    local rootfs=$1 log=$2 root cg name=lars-test-$$ i pid

    for root in $(ct_cgroup_roots); do
        cg=$root/$name
        mkdir -p "$cg" || return 1
        CT_CGROUPS+=("$cg")
    done
    [ ${#CT_CGROUPS[@]} -gt 0 ] || return 1

    # The subshell moves itself into the new cgroups, then becomes (by exec)
    # unshare, sh and finally systemd-nspawn: $! is nspawn's pid.
    (
        for cg in "${CT_CGROUPS[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
        exec unshare --mount --propagation private sh -c '
            mount -t tmpfs -o mode=0755 tmpfs /run &&
            exec systemd-nspawn --boot --register=no --keep-unit --volatile=overlay \
                --private-network --console=read-only --machine=lars-test -D "$1"' sh "$rootfs"
    ) </dev/null >"$log" 2>&1 &
    CT_NSPAWN_PID=$!

    # nspawn's child that runs systemd is the container's PID 1.
    for ((i = 0; i < 300; i++)); do
        for pid in $(cat /proc/"$CT_NSPAWN_PID"/task/*/children 2>/dev/null); do
            if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = systemd ]; then
                CT_LEADER=$pid
                return 0
            fi
        done
        kill -0 "$CT_NSPAWN_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

ct_wait_running() {
    local secs=$1 state i
    for ((i = 0; i < secs * 2; i++)); do
        state=$(ct_exec timeout 10 systemctl is-system-running --wait 2>/dev/null)
        case $state in
            running|degraded) echo "$state"; return 0 ;;
        esac
        sleep 0.5
    done
    echo "${state:-no answer}"
    return 1
}

ct_teardown() {
    local i cg
    if [ -n "$CT_NSPAWN_PID" ] && kill -0 "$CT_NSPAWN_PID" 2>/dev/null; then
        kill -TERM "$CT_NSPAWN_PID" 2>/dev/null
        for ((i = 0; i < 150; i++)); do
            kill -0 "$CT_NSPAWN_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    for cg in "${CT_CGROUPS[@]}"; do
        [ -d "$cg" ] || continue
        if [ -f "$cg/cgroup.kill" ]; then
            echo 1 >"$cg/cgroup.kill" 2>/dev/null
        else
            # cgroup v1: no cgroup.kill; SIGKILL every process of the subtree.
            find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        fi
    done
    for cg in "${CT_CGROUPS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            [ -d "$cg" ] || break
            find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$cg" ] && sleep 0.1
        done
    done
    [ -n "$CT_NSPAWN_PID" ] && wait "$CT_NSPAWN_PID" 2>/dev/null
    CT_NSPAWN_PID='' CT_LEADER='' CT_CGROUPS=()
    return 0
}
