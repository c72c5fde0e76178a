#!/usr/bin/env bash
# Every check CI runs: lint, types, Ansible lint, molecule, the editor's checks, the test suite
# (the browser tests in it drive the built editor: scripts/bootstrap.sh builds it).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export PATH="$PWD/.venv/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }
step ruff;         ruff check decnet tests bench && ruff format --check decnet tests bench
step mypy;         mypy
step ansible-lint; ansible-lint --offline roles playbooks
step web;          (cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } \
                     && npm run --silent typecheck && npm run --silent lint && npm test --silent)
step molecule;     (cd roles/decnet_topology && molecule test)
step pytest;       pytest -p no:cacheprovider "$@"
