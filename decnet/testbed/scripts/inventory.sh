#!/usr/bin/env bash
# Print the Ansible inventory (YAML) of hosts h1..hN, group decnet_hosts.  Usage: inventory.sh N
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
if [ $# -ne 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || ((10#$1 < 1 || 10#$1 > TB_MAX_HOSTS)); then
  tb_usage "usage: inventory.sh N (1..$TB_MAX_HOSTS)"
fi
# Known-hosts checks are off: every host makes a fresh key on its first boot. The short
# timeouts turn a dead or frozen host into UNREACHABLE within seconds instead of minutes.
# ansible_ssh_timeout too: Ansible puts its own ConnectTimeout (default 10) before these
# arguments, and ssh takes the first value it is given.
ssh_args="-o ControlPath=$TB_MUX/%C -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no"
ssh_args="$ssh_args -o ConnectTimeout=5 -o ServerAliveInterval=2 -o ServerAliveCountMax=2"
cat <<YAML
# decnet testbed: $1 host(s) on $TB_BRIDGE ($TB_NET.0/24). Written by the testbed; do not edit.
all:
  children:
    decnet_hosts:
      hosts:
YAML
for i in $(seq 1 "$1"); do
  printf '        h%s:\n          ansible_host: %s\n' "$i" "$(tb_ip "h$i")"
done
cat <<YAML
      vars:
        ansible_user: root
        ansible_ssh_private_key_file: "$TB_KEY"
        ansible_ssh_common_args: "$ssh_args"
        ansible_ssh_timeout: 5
        ansible_python_interpreter: /usr/bin/python3
        ansible_pipelining: true
YAML
