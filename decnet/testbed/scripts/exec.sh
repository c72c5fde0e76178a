#!/usr/bin/env bash
# Run a command "on" a host: in its cgroups (so freeze and teardown reach it) and in all its
# namespaces (net, mount, uts, ipc, pid).  Usage: exec.sh hN CMD [ARG...]
# Exit status: the command's own, or 125 when the host is not running.
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
[ $# -ge 2 ] || tb_usage "usage: exec.sh hN CMD [ARG...]"
n=$1
shift
tb_check_host "$n"
p=$(tb_init_pid "$n")
if [ -z "$p" ]; then
  echo "testbed: host $n is not running" >&2
  exit 125
fi
for c in $TB_CONTROLLERS; do echo $$ >"$(tb_cg "$c" "$n")/cgroup.procs"; done
exec nsenter -t "$p" -a -- "$@"
