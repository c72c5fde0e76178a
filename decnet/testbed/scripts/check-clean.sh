#!/usr/bin/env bash
# List whatever the testbed may have left on this machine, one item per line on stdout.
# Exit 0 and print nothing when the machine is clean, exit 1 otherwise.
set -uo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
rc=0
left() { echo "$*"; rc=1; }

while read -r ns _; do left "netns $ns"; done < <(ip netns list | grep -E '^h[0-9]+( |$)')
while read -r l _; do left "link ${l%@*}"; done < <(ip -br link | grep -E "^($TB_BRIDGE|tb-h[0-9]+)[@ ]")
while read -r l _ a; do left "address $a on $l"; done < <(ip -br -4 addr | grep -F " $TB_NET.")
while read -r m; do left "mount $m"; done < <(
  awk -v st="$TB_STATE/hosts/" '$5 ~ /^\// && (index($5, st) == 1 || $0 ~ / tb-h[0-9]+-/) {print $5}' \
    /proc/self/mountinfo
)
for d in /sys/fs/cgroup/*/"$TB_CGROUP"; do [ -d "$d" ] && left "cgroup $d"; done
while read -r r; do left "iptables $r"; done < <(iptables -S FORWARD | grep -F -- "$TB_BRIDGE")
# processes: the hosts' pid 1 / unshare (they run hostinit.sh) and ssh mux masters on our
# sockets. ps runs alone first, so the filter never sees itself.
procs=$(ps -eo pid=,args=)
while read -r p c; do
  [ -n "$p" ] && left "process $p $c"
done < <(grep -F -e "$TB_SCRIPTS/hostinit.sh" -e "ssh: $TB_MUX/" <<<"$procs")
for d in "$TB_STATE"/hosts/h*; do [ -e "$d" ] && left "state $d"; done
for s in "$TB_MUX"/*; do [ -e "$s" ] && left "socket $s"; done
exit $rc
