#!/usr/bin/env bash
# Inject a fault into one host, or undo it.  Usage: fault.sh hN ACTION
#   sshd-stop      kill every sshd of the host: listener, sessions, ControlPersist peers
#                  (killing the listener alone is no outage: per-connection children live on)
#   sshd-start     start sshd again (waits until port 22 answers)
#   link-down/up   pull / plug the host's cable (the bridge side of its veth)
#   ssh-drop       silently drop incoming TCP/22 inside the host (connects time out)
#   ssh-undrop     remove that rule
#   dockerd-kill   SIGKILL the host's dockerd (its containerd and containers keep running)
#   dockerd-start  start dockerd again (waits until it answers); without live-restore, as by
#                  default, it stops the containers it finds still running
#   freeze/thaw    cgroup-freeze / thaw every process of the host, containers included
#   poweroff       SIGKILL the host's pid 1: every process, containers included, dies at once
#   poweron        boot it again on the same disks (overlay uppers, docker data root)
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
[ $# -eq 2 ] || tb_usage "usage: fault.sh hN ACTION"
n=$1
a=$2
tb_check_host "$n"
H=$(tb_dir "$n")
[ -d "$H" ] || tb_die "host $n is not part of the testbed"
on() { bash "$TB_SCRIPTS/exec.sh" "$n" "$@"; }
fz=$(tb_cg freezer "$n")/freezer.state

# Poll CMD until it succeeds, for at most $1 seconds.
until_ok() {
  local secs=$1 end
  shift
  end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || tb_die "$n: '$a' did not take effect within ${secs}s"
    sleep 0.1
  done
}
port22() { timeout 1 bash -c "exec 3<>/dev/tcp/$(tb_ip "$n")/22"; }
no_sshd() { ! on pidof sshd; }
host_empty() { [ -z "$(find "$(tb_cg pids "$n")" -name cgroup.procs -exec cat {} +)" ]; }

# The host must be running (and thawed) for every action that enters it.
case $a in
  sshd-* | ssh-* | dockerd-*)
    [ -n "$(tb_init_pid "$n")" ] || tb_die "host $n is powered off"
    [ "$(cat "$fz" 2>/dev/null)" = THAWED ] || tb_die "host $n is frozen (thaw it first)"
    ;;
esac

case $a in
  sshd-stop)
    # shellcheck disable=SC2016  # expanded inside the host
    on sh -c 'p=$(pidof sshd) || exit 0; kill $p'
    until_ok 5 no_sshd
    ;;
  sshd-start)
    on pidof sshd >/dev/null || on /usr/sbin/sshd -E /var/log/sshd.log
    until_ok 10 port22
    ;;
  link-down) ip link set "tb-$n" down ;;
  link-up) ip link set "tb-$n" up ;;
  ssh-drop)
    on iptables -C INPUT -p tcp --dport 22 -j DROP 2>/dev/null ||
      on iptables -I INPUT -p tcp --dport 22 -j DROP
    ;;
  ssh-undrop)
    while on iptables -C INPUT -p tcp --dport 22 -j DROP 2>/dev/null; do
      on iptables -D INPUT -p tcp --dport 22 -j DROP
    done
    ;;
  dockerd-kill)
    # shellcheck disable=SC2016  # expanded inside the host
    on sh -c 'p=$(cat /run/docker.pid 2>/dev/null) && kill -KILL "$p" 2>/dev/null || true'
    until_ok 5 on sh -c '! pidof dockerd'
    ;;
  dockerd-start)
    if ! on docker version >/dev/null 2>&1; then
      on setsid -f sh -c "exec dockerd --cgroup-parent=/$TB_CGROUP/$n/docker \
        >>/var/log/dockerd.log 2>&1 </dev/null"
    fi
    until_ok 30 on docker version
    ;;
  freeze)
    echo FROZEN >"$fz"
    until_ok 10 grep -qx FROZEN "$fz"   # FREEZING until every task stopped
    ;;
  thaw) echo THAWED >"$fz" ;;
  poweroff)
    p=$(tb_init_pid "$n")
    [ -n "$p" ] || exit 0   # already off
    [ "$(cat "$fz" 2>/dev/null)" = THAWED ] || echo THAWED >"$fz"   # frozen tasks die late
    kill -KILL "$p"
    # the pid namespace dies asynchronously; off means no process of the host is left
    until_ok 10 host_empty
    rm -f "$H/init.pid" "$H/unshare.pid"
    ;;
  poweron)
    [ -n "$(tb_init_pid "$n")" ] && exit 0   # already on
    bash "$TB_SCRIPTS/host.sh" start "$n"
    bash "$TB_SCRIPTS/host.sh" wait "$n"
    ;;
  *) tb_usage "unknown action '$a'" ;;
esac
