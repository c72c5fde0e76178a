#!/usr/bin/env bash
# Re-resolve the sensor image's Python packages (images/sensor/requirements.in) into
# images/sensor/requirements.lock, hashes included, with Debian's /usr/bin/python3 (docs/images.md).
# Review the diff, then `decnet image build sensor` and the tests in tests/sensor.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
exec .venv/bin/decnet image lock "$@"
