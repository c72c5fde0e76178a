#!/usr/bin/env bash
# The two newcomer commands (see README.md), on a fresh Debian 12 machine as root:
#   scripts/bootstrap.sh demo   install everything, then deploy the demo topology locally
#   scripts/bootstrap.sh test   install everything (with dev tools), then run every check
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
what=${1:-}
case $what in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

setup_args=(); [ "$what" = test ] && setup_args=(--browser)
bash scripts/setup-host.sh "${setup_args[@]}"
[ -x .venv/bin/python ] || python3 -m venv .venv
extras=""; [ "$what" = test ] && extras="[dev]"
.venv/bin/pip install -q --disable-pip-version-check -e ".$extras"
export PATH="$PWD/.venv/bin:$PATH"
# The lure, the Debian base and the sensor image; skipped when present and current. Wheels and
# Debian packages are cached under DECNET_HOME/cache, so a rebuild needs no network.
decnet image build --all --if-missing
# The web editor `decnet serve` serves at / (docs/editor.md): lockfile install, then build.
(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)

if [ "$what" = demo ]; then
  exec decnet demo
fi
exec bash scripts/check.sh
