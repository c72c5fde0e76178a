#!/usr/bin/env bash
# Boot hosts h1..hN in parallel, wait until every one accepts ssh and runs dockerd, write the
# inventory to $TB_STATE/inventory.yml. On any failure everything is torn down again.
# Usage: up.sh N
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
if [ $# -ne 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || ((10#$1 < 1 || 10#$1 > TB_MAX_HOSTS)); then
  tb_usage "usage: up.sh N (1..$TB_MAX_HOSTS)"
fi
N=$1
[ "$(id -u)" = 0 ] || tb_die "needs root (network namespaces, cgroups, mounts)"
[ -d "/sys/fs/cgroup/freezer" ] || tb_die "needs cgroup v1 with the freezer controller"
case $TB_STATE/ in
  /*) ;;
  *) tb_die "the state dir must be an absolute path: $TB_STATE" ;;
esac
# Inside a host these are overlays: a state dir there would be seen through the overlay, and
# the host's docker data root would land on overlayfs, where overlay2 cannot work.
case $TB_STATE/ in
  /etc/* | /opt/* | /root/* | /var/* | /usr/*) tb_die "the state dir must not be under /etc /opt /root /var /usr: $TB_STATE" ;;
esac
if ip link show "$TB_BRIDGE" >/dev/null 2>&1 || compgen -G "$TB_STATE/hosts/h*" >/dev/null; then
  tb_die "a testbed is already up (or left over): run down first"
fi

mkdir -p "$TB_STATE/keys" "$TB_MUX"
chmod 700 "$TB_STATE/keys" "$TB_MUX"
[ -f "$TB_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C decnet-testbed -f "$TB_KEY"

trap 'echo "testbed: boot failed, tearing down" >&2; bash "$TB_SCRIPTS/down.sh"' ERR
for i in $(seq 1 "$N"); do bash "$TB_SCRIPTS/host.sh" start "h$i"; done
for i in $(seq 1 "$N"); do bash "$TB_SCRIPTS/host.sh" wait "h$i"; done
bash "$TB_SCRIPTS/inventory.sh" "$N" >"$TB_STATE/inventory.yml.tmp"
mv "$TB_STATE/inventory.yml.tmp" "$TB_STATE/inventory.yml"
trap - ERR
echo "testbed: $N host(s) ready; inventory in $TB_STATE/inventory.yml"
