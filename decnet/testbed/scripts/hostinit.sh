#!/usr/bin/env bash
# Boot of one test host. Runs under tini (pid 1) inside fresh mount/uts/ipc/pid namespaces and
# the host's network namespace; started by host.sh only.  Usage: hostinit.sh hN
#
# Builds the host's own view of the machine (copy-on-write system dirs, private /run, /tmp and
# docker data root, a sysfs of its own netns), then starts dockerd and sshd and parks.
set -euo pipefail
# shellcheck source=common.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/common.sh"
n=$1
H=$(tb_dir "$n")

forget_foreign_mounts() {
  # The new mount namespace starts as a copy of the root one, including the system dockerd's
  # netns handles/overlays and the other hosts' /run/netns entries. Drop them: they are hidden
  # by our own /run below anyway, and holding them would pin the other owners' resources.
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk '$5 ~ "^/(run|var/lib/docker)/" {print $5}' /proc/self/mountinfo | sort -ru)
}

mount_kernel_views() {
  mount -t proc proc /proc   # our own pid namespace
  # A sysfs of *this* network namespace (dockerd reads /sys/class/net), but the cgroup v1
  # hierarchies must stay visible: dockerd needs them. `ip netns exec` would remount /sys and
  # hide /sys/fs/cgroup, which is why host.sh uses nsenter --net + unshare --mount instead.
  mkdir -p "$H/mnt/cgroup"
  mount --rbind /sys/fs/cgroup "$H/mnt/cgroup"
  mount -t sysfs sysfs /sys
  mount --move "$H/mnt/cgroup" /sys/fs/cgroup
}

hide_controller_decnet() {
  # decnet's host side starts empty and stays the host's own: an opaque upper dir hides the
  # lower one, where the controller's own local deploys write (sensor lines, topologies, the
  # fact, the agent), and an overlay shows changes of its lower dir while mounted. Once per
  # disk: what the host made or removed there since (a whiteout) stays as it is.
  local p up
  for p in var/lib/decnet etc/ansible/facts.d usr/local/lib/decnet; do
    up="$H/${p%%/*}.upper/${p#*/}"
    [ -e "$up" ] && continue
    mkdir -p "$up"
    python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")' "$up"
  done
}

mount_disks() {
  # System dirs are copy-on-write: the host sees the controller's Debian (so /usr/bin/python3,
  # docker, sshd are there) and its writes land in $H/<dir>.upper, kept across power cycles.
  hide_controller_decnet
  local d
  for d in etc opt root var usr; do
    mount -t overlay "tb-$n-$d" -o "lowerdir=/$d,upperdir=$H/$d.upper,workdir=$H/$d.work" "/$d"
  done
  # overlay2 cannot stack on overlayfs: docker's data root is a plain directory of the state dir
  mount --bind "$H/docker" /var/lib/docker
  # private /run (docker.sock, docker.pid, sshd.pid, xtables.lock) and /dev/shm; gone at power-off
  mount -t tmpfs -o mode=755,size=64m "tb-$n-run" /run
  mount -t tmpfs -o mode=1777,size=64m "tb-$n-shm" /dev/shm
  mkdir -p /run/sshd /run/lock
}

set_identity() {
  hostname "$n"
  echo "$n" >/etc/hostname
  printf '127.0.0.1 localhost\n%s %s\n' "$(tb_ip "$n")" "$n" >/etc/hosts
}

configure_sshd() {
  # The host must not present the controller's host key: make its own once (the key lives in
  # the /etc overlay, so a power cycle keeps it, like a real machine).
  # Same for dockerd's identity key (it is the engine ID that `docker info` reports).
  if [ ! -e /etc/ssh/.testbed-hostkey ]; then
    rm -f /etc/ssh/ssh_host_* /etc/docker/key.json
    ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
    touch /etc/ssh/.testbed-hostkey
  fi
  cat >/etc/ssh/sshd_config <<CONF
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PidFile /run/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp /usr/lib/openssh/sftp-server
MaxStartups 50:30:100
CONF
  install -d -m 700 /root/.ssh
  install -m 600 "$TB_KEY.pub" /root/.ssh/authorized_keys
  # Debian's default dotfiles: the controller's own ones may run slow shell init (pyenv, conda),
  # and bash sources .bashrc for every ssh command -> seconds per Ansible task.
  cp /usr/share/base-files/dot.bashrc /root/.bashrc
  cp /usr/share/base-files/dot.profile /root/.profile
}

mount_tmp() {
  # Last: the private /tmp hides $H when the state dir is under /tmp.
  mount --bind "$H/tmp" /tmp
  chmod 1777 /tmp
}

forget_foreign_mounts
mount_kernel_views
mount_disks
set_identity
configure_sshd
mount_tmp

# dockerd runs its own containerd (under /run/docker). Containers go below the host's cgroup so
# freeze/power-off/teardown reach them too. `setsid -f` re-parents dockerd to tini, which reaps
# it when it is killed; as a child of this shell it would stay a zombie after dockerd-kill and
# its pid file would block the restart.
setsid -f dockerd --cgroup-parent="/$TB_CGROUP/$n/docker" >>/var/log/dockerd.log 2>&1 </dev/null
/usr/sbin/sshd -E /var/log/sshd.log
# Park. tini (pid 1) reaps orphans; killing tini ends the pid namespace = power-off.
exec sleep infinity
