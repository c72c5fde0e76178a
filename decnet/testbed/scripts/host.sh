#!/usr/bin/env bash
# One test host at a time.
#   host.sh start   hN   create its netns + cable if missing, boot it (disk state is kept)
#   host.sh wait    hN   block until sshd answers and dockerd is ready (TB_BOOT_TIMEOUT, 30 s)
#   host.sh stop    hN   power off for good: kill everything in its cgroup, delete netns and cable
#   host.sh destroy hN   stop, then delete its disk state
set -uo pipefail   # no -e: stop/destroy must go on past every failed step
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
[ $# -eq 2 ] || tb_usage "usage: host.sh start|wait|stop|destroy hN"
cmd=$1
n=$2
tb_check_host "$n"
H=$(tb_dir "$n")
ip=$(tb_ip "$n")

ensure_bridge() {
  if ! ip link show "$TB_BRIDGE" >/dev/null 2>&1; then
    ip link add "$TB_BRIDGE" type bridge || return 1
    ip addr add "$TB_GW/24" dev "$TB_BRIDGE"
    ip link set "$TB_BRIDGE" up
  fi
  # br_netfilter (loaded by the system dockerd) sends bridged host<->host frames through
  # FORWARD, whose policy is DROP there: accept what stays on the bridge ...
  iptables -C FORWARD -i "$TB_BRIDGE" -o "$TB_BRIDGE" -j ACCEPT 2>/dev/null ||
    iptables -I FORWARD 1 -i "$TB_BRIDGE" -o "$TB_BRIDGE" -j ACCEPT
  # ... and never route anything from the testbed elsewhere, whatever the FORWARD policy is.
  iptables -C FORWARD -i "$TB_BRIDGE" ! -o "$TB_BRIDGE" -j DROP 2>/dev/null ||
    iptables -I FORWARD 2 -i "$TB_BRIDGE" ! -o "$TB_BRIDGE" -j DROP
}

ensure_netns() {
  ip netns list | grep -qE "^$n( |$)" && return 0
  # a previous incarnation's netns may still be dying and hold our end of the cable
  ip link del "tb-$n" 2>/dev/null
  ip netns add "$n" || return 1
  ip link add "tb-$n" type veth peer name eth0 netns "$n" || return 1
  ip link set "tb-$n" master "$TB_BRIDGE" up
  # A fixed MAC per host: after a power cycle the controller's ARP entry is still right (with a
  # fresh random MAC a stale REACHABLE entry made ssh hang).
  ip -n "$n" link set eth0 address "$(tb_mac "$n")"
  ip -n "$n" addr add "$ip/24" dev eth0
  ip -n "$n" link set lo up
  ip -n "$n" link set eth0 up
  # A default route makes Ansible facts look like a real machine's; FORWARD drops it anyway.
  ip -n "$n" route add default via "$TB_GW"
  # nothing of the testbed needs IPv6; without it the hosts stay silent on the link
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
  return 0
}

start() {
  [ -n "$(tb_init_pid "$n")" ] && tb_die "$n is already running"
  [ -f "$TB_KEY.pub" ] || tb_die "no ssh key at $TB_KEY (run up.sh)"
  ensure_bridge || tb_die "cannot create bridge $TB_BRIDGE"
  mkdir -p "$H"/{etc,opt,root,var,usr}.{upper,work} "$H"/{docker,tmp,mnt,log}
  rm -f "$H/init.pid" "$H/unshare.pid"
  ensure_netns || tb_die "cannot create network namespace $n"
  local c
  for c in $TB_CONTROLLERS; do mkdir -p "$(tb_cg "$c" "$n")"; done
  (
    # join the host's cgroups first, so every process of the host (and of its containers)
    # is found there by freeze and by teardown, even when pid files are lost
    for c in $TB_CONTROLLERS; do echo "$BASHPID" >"$(tb_cg "$c" "$n")/cgroup.procs"; done
    exec setsid nsenter --net="/run/netns/$n" -- \
      unshare --mount --uts --ipc --pid --fork --propagation private --kill-child=SIGKILL -- \
      /usr/bin/tini -s -- bash "$TB_SCRIPTS/hostinit.sh" "$n"
  ) </dev/null >>"$H/log/init.log" 2>&1 &
  echo $! >"$H/unshare.pid"
}

wait_ready() {
  local end p u
  end=$((SECONDS + ${TB_BOOT_TIMEOUT:-30}))
  while [ $SECONDS -lt $end ]; do
    # unshare forked tini: the host's pid 1 is the only child of the unshare process
    u=$(cat "$H/unshare.pid" 2>/dev/null)
    p=$(cat /proc/"$u"/task/*/children 2>/dev/null | awk '{print $1; exit}')
    if [ -n "$p" ] && tb_is_ours "$p" "$n" &&
      timeout 5 nsenter -t "$p" -a docker version >/dev/null 2>&1 &&
      timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null; then
      echo "$p" >"$H/init.pid"
      return 0
    fi
    [ -n "$u" ] && [ ! -d "/proc/$u" ] && break   # the boot died: no use waiting
    sleep 0.1
  done
  echo "testbed: host $n did not come up; see $H/log/init.log and $H/var.upper/log/" >&2
  tail -5 "$H/log/init.log" >&2 2>/dev/null
  return 1
}

# Kill every process of the host. Pid files first (fast path), then the cgroup, which holds
# whatever is left: processes entered with exec.sh, containers, orphans of a lost pid file.
kill_all() {
  local f p k left fz
  for f in init.pid unshare.pid; do
    p=$(cat "$H/$f" 2>/dev/null) || continue
    tb_is_ours "$p" "$n" && kill -KILL "$p" 2>/dev/null
  done
  fz=$(tb_cg freezer "$n")
  for k in $(seq 1 100); do   # pid-namespace teardown is asynchronous
    left=$(find "$(tb_cg pids "$n")" -name cgroup.procs -exec cat {} + 2>/dev/null)
    [ -z "$left" ] && return 0
    if [ "$k" -ge 10 ] && [ -d "$fz" ]; then
      # freeze first so nothing forks away between reading the list and the kill
      echo FROZEN >"$fz/freezer.state"
      # shellcheck disable=SC2086  # one pid per word
      kill -KILL $left 2>/dev/null
      echo THAWED >"$fz/freezer.state"
    fi
    sleep 0.1
  done
  echo "testbed: processes of $n survived SIGKILL: $left" >&2
  return 1
}

stop() {
  local rc=0 k c d
  kill_all || rc=1
  ip netns del "$n" 2>/dev/null
  # The kernel frees a netns (and its half of the cable) asynchronously; sockets orphaned by the
  # kill may keep it for minutes. Give it 3 s, then cut the cable from our side.
  for k in $(seq 1 30); do
    ip link show "tb-$n" >/dev/null 2>&1 || break
    sleep 0.1
  done
  ip link del "tb-$n" 2>/dev/null
  ip neigh flush to "$ip" dev "$TB_BRIDGE" 2>/dev/null
  for c in $TB_CONTROLLERS; do
    d=$(tb_cg "$c" "$n")
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -f "$H/init.pid" "$H/unshare.pid"
  return $rc
}

case $cmd in
  start) start ;;
  wait) wait_ready ;;
  stop) stop ;;
  destroy)
    stop
    rc=$?
    rm -rf "$H"
    exit $rc
    ;;
  *) tb_usage "usage: host.sh start|wait|stop|destroy hN" ;;
esac
