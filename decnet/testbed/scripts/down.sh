#!/usr/bin/env bash
# Tear the whole testbed down: every host (also those whose state dir or pid files are gone),
# then the bridge, the FORWARD rules and the cgroup parent. Safe to run any number of times.
set -uo pipefail   # no -e: every step runs, whatever failed before
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
rc=0

# Hosts must be thawed to die promptly, and mux masters closed before the sshds go away.
for fz in /sys/fs/cgroup/freezer/"$TB_CGROUP"/h*/freezer.state; do
  [ -f "$fz" ] && echo THAWED >"$fz"
done
bash "$TB_SCRIPTS/mux-close.sh"

hosts=$(
  {
    for d in "$TB_STATE"/hosts/h* /sys/fs/cgroup/pids/"$TB_CGROUP"/h*; do
      [ -d "$d" ] && basename "$d"
    done
    ip netns list | awk '{print $1}'
  } | grep -E '^h[0-9]+$' | sort -u
)
for n in $hosts; do
  if [[ $n =~ ^h([1-9][0-9]?)$ ]] && ((BASH_REMATCH[1] <= TB_MAX_HOSTS)); then
    bash "$TB_SCRIPTS/host.sh" destroy "$n" || rc=1
  fi
done
for c in /sys/fs/cgroup/*/"$TB_CGROUP"; do
  [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
done

# Keep the bridge until every dead host's cable is gone: a socket orphaned by the kill still
# needs the link to finish its FIN handshake, or the netns (and the veth) lingers for minutes.
for _ in $(seq 1 50); do
  ip -br link | grep -q '^tb-h' || break
  sleep 0.2
done
for l in $(ip -br link | awk '/^tb-h/ {sub(/@.*/, "", $1); print $1}'); do
  echo "testbed: $l still there after 10 s; deleting it (the kernel frees its netns later)" >&2
  ip link del "$l"
done
ip link del "$TB_BRIDGE" 2>/dev/null
for rule in "-o $TB_BRIDGE -j ACCEPT" "! -o $TB_BRIDGE -j DROP"; do
  # shellcheck disable=SC2086  # the rule is split into words on purpose
  while iptables -C FORWARD -i "$TB_BRIDGE" $rule 2>/dev/null; do
    iptables -D FORWARD -i "$TB_BRIDGE" $rule || break
  done
done
rm -rf "$TB_STATE/hosts" "$TB_MUX" "$TB_STATE/images"
rm -f "$TB_STATE/inventory.yml" "$TB_STATE/inventory.yml.tmp"
exit $rc
