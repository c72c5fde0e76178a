#!/usr/bin/env bash
# Prepare a fresh Debian 12 machine for decnet's tests and demo: Docker engine, compose v2,
# sshd/tini/iptables for the test hosts, busybox for the lure image, mmdebstrap and Debian's
# pip for the base and sensor images (docs/images.md), rsyslog (with its TLS drivers) as the
# SIEM side of the outputs tests; with --browser also
# Chromium for the web editor's browser tests. Checks that Node (for building the editor) is
# there; it is never apt-installed (Debian's Node 18 cannot build it). Idempotent; needs root.
set -euo pipefail
browser=0; [ "${1:-}" = --browser ] && browser=1

log() { printf '[setup-host] %s\n' "$*"; }

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_compose() {
  # Compose v2 is not in bookworm; Debian 13's package carries a self-contained plugin binary.
  if docker compose version >/dev/null 2>&1; then return 0; fi
  log "installing docker compose v2 from Debian 13's docker-compose package"
  local w uri o
  w=$(mktemp -d); mkdir -p "$w/lists/partial"
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" > "$w/sources.list"
  o="-o Dir::Etc::SourceList=$w/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$w/lists"
  # shellcheck disable=SC2086
  apt-get $o update -qq && (cd "$w" && apt-get $o download docker-compose >/dev/null)
  dpkg -x "$w"/docker-compose_*.deb "$w/x"
  install -D -m 755 "$w/x/usr/libexec/docker/cli-plugins/docker-compose" \
    /usr/local/lib/docker/cli-plugins/docker-compose
  rm -rf "$w"
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd"
  setsid -f dockerd >/var/log/dockerd.log 2>&1 </dev/null
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "dockerd did not start; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log; exit 1
}

check_node() {
  # Vite 8 needs Node ^20.19 or >=22.12 (web/package.json "engines").
  local v
  if ! v=$(node --version 2>/dev/null); then
    log "no node on PATH: install Node >= 20.19 (not Debian's nodejs package) to build the editor"; exit 1
  fi
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit((a===20&&b>=19)||(a===22&&b>=12)||a>22?0:1)'; then
    log "node $v is too old for the editor's build: need ^20.19 or >= 22.12"; exit 1
  fi
}

apt_install docker.io busybox-static openssh-server openssh-client tini iproute2 iptables bc sshpass python3-venv \
  mmdebstrap python3-pip
# A real syslog receiver for the outputs tests (tests/outputs): rsyslogd runs from a config of
# the tests' own on a loopback port; the service itself is never started by them.
apt_install rsyslog rsyslog-gnutls rsyslog-openssl
[ "$browser" = 1 ] && apt_install chromium
check_node
install_compose
start_dockerd
docker compose version
log "ready"
