#!/usr/bin/env bash
# Every check CI runs: lint, types, Ansible lint, molecule, the editor's checks, the test suite
# (the browser tests in it drive the built editor: scripts/bootstrap.sh builds it).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export PATH="$PWD/.venv/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }
# One command per line: under set -e a failure inside `a && b` does not stop the script.
step ruff;         ruff check decnet tests bench roles images/sensor
                   ruff format --check decnet tests bench roles images/sensor
step mypy;         mypy   # pyproject's files: decnet, bench, the roles' modules and fact script
step ansible-lint; ansible-lint --offline roles playbooks
step web;          (cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } \
                     && npm run --silent typecheck && npm run --silent lint && npm test --silent)
step molecule;     (cd roles/decnet_topology && molecule test)
# Three workers: most real-engine tests wait on Docker and Ansible, not on the 2 cores; the
# testbed and the fixed-name Ansible bundles each stay on one worker (tests/conftest.py).
# The slowest tests are listed at the end: what to split when the run grows.
step pytest;       pytest -p no:cacheprovider -n "${DECNET_TEST_WORKERS:-3}" --dist loadgroup \
                     --durations=40 "$@"
