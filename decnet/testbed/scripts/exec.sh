#!/usr/bin/env bash
# Run a command "on" a host: in its cgroups (so freeze and teardown reach it) and in all its
# namespaces (net, mount, uts, ipc, pid).  Usage: exec.sh [--net] hN CMD [ARG...]
# --net: in the host's network namespace only — this machine's files and programs on the host's
# networks (its decky LANs included), the view of a process that got onto the host.
# Exit status: the command's own, or 125 when the host is not running.
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
spaces=(-a)
if [ "${1:-}" = --net ]; then
  spaces=(-n)
  shift
fi
[ $# -ge 2 ] || tb_usage "usage: exec.sh [--net] hN CMD [ARG...]"
n=$1
shift
tb_check_host "$n"
p=$(tb_init_pid "$n")
if [ -z "$p" ]; then
  echo "testbed: host $n is not running" >&2
  exit 125
fi
for c in $TB_CONTROLLERS; do echo $$ >"$(tb_cg "$c" "$n")/cgroup.procs"; done
exec nsenter -t "$p" "${spaces[@]}" -- "$@"
