# shellcheck shell=bash disable=SC2034  # every variable is used by the scripts sourcing this
# Settings and helpers shared by every testbed script. Sourced, never run.
#
# One testbed per machine: the bridge, the subnet and the cgroup name are fixed, only the state
# directory (keys, per-host disks, ssh control sockets, inventory) can be moved.

TB_SCRIPTS=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
TB_STATE=${DECNET_TESTBED_STATE:-/tmp/decnet-testbed}
TB_NET=10.213.0                 # the /24 used by nothing but testbed hosts
TB_GW=$TB_NET.1                 # the controller's address on the bridge
TB_BRIDGE=tbbr0                 # bridge in the root network namespace
TB_CGROUP=testbed               # cgroup v1 parent of every host: /testbed/hN
TB_CONTROLLERS="memory pids freezer cpu cpuacct"
TB_KEY=$TB_STATE/keys/id_ed25519
TB_MUX=$TB_STATE/mux            # ssh ControlPath directory named in the inventory
TB_MAX_HOSTS=16

tb_die() { echo "testbed: $*" >&2; exit 1; }
tb_usage() { echo "testbed: $*" >&2; exit 2; }

# h1..h16 only: the name becomes an interface name, a netns name and part of paths.
tb_check_host() {
  if ! [[ ${1:-} =~ ^h([1-9][0-9]?)$ ]] || ((BASH_REMATCH[1] > TB_MAX_HOSTS)); then
    tb_usage "bad host name '${1:-}' (expected h1..h$TB_MAX_HOSTS)"
  fi
}

tb_ip() { echo "$TB_NET.$((10 + ${1#h}))"; }               # h1 -> 10.213.0.11
tb_mac() { printf '02:00:0a:d5:00:%02x' "$((10 + ${1#h}))"; } # stable across reboots
tb_dir() { echo "$TB_STATE/hosts/$1"; }
tb_cg() { echo "/sys/fs/cgroup/$1/$TB_CGROUP/$2"; }          # tb_cg CONTROLLER HOST

# pid (root pid namespace) of the host's pid 1 (tini), empty when the host is off.
tb_init_pid() {
  local p
  p=$(cat "$(tb_dir "$1")/init.pid" 2>/dev/null) || return 0
  tb_is_ours "$p" "$1" && echo "$p"
  return 0
}

# True when pid $1 runs hostinit.sh for host $2 (guards every kill against pid reuse).
# The host name is the last argument of that command line; match it exactly (h1 is not h11).
tb_is_ours() {
  local args
  [ -r "/proc/$1/cmdline" ] || return 1
  mapfile -d '' -t args <"/proc/$1/cmdline" 2>/dev/null || return 1
  [ "${#args[@]}" -ge 2 ] || return 1
  [[ ${args[-2]} == */hostinit.sh && ${args[-1]} == "$2" ]]
}
