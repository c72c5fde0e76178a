#!/usr/bin/env bash
# Close the ssh ControlPersist masters of the testbed's inventory (only ours: they live in
# $TB_MUX). Must run before hosts die: a killed sshd leaves the master's TCP socket orphaned
# in FIN_WAIT, which keeps the dead host's netns (and its cable) alive for minutes.
set -uo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
for s in "$TB_MUX"/*; do
  [ -S "$s" ] || continue
  # the host argument is required but unused with -O; a literal loopback address never
  # needs a name lookup
  timeout 5 ssh -o ControlPath="$s" -O exit 127.0.0.1 >/dev/null 2>&1
  rm -f "$s"
done
exit 0
