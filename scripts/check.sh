#!/usr/bin/env bash
# Every check CI runs: lint, types, Ansible lint, molecule, the test suite.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export PATH="$PWD/.venv/bin:$PATH"
step() { printf '\n== %s\n' "$*"; }
step ruff;         ruff check decnet tests bench && ruff format --check decnet tests bench
step mypy;         mypy
step ansible-lint; ansible-lint --offline roles playbooks
step molecule;     (cd roles/decnet_topology && molecule test)
step pytest;       pytest -p no:cacheprovider "$@"
