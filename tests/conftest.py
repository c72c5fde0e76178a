"""Groups for parallel runs (`pytest -n N --dist loadgroup`, what scripts/check.sh runs).

Most tests stand alone: each has its own database and DECNET_HOME, unique topology names and
subnets no concurrent test holds (tests/subnet_pools.py) on the shared Docker engine, so they
run side by side. Two kinds share something and stay together on one worker, in file order:
- `testbed`: the network-namespace hosts are one per machine (a session fixture with a lock);
- `ansible`: tests/ansible applies fixed bundles (`mt-x`) with plain ansible-playbook;
- `browser`: tests/browser share one `decnet serve` and one Chromium (session fixtures);
- `sensor`: tests/sensor/test_sensor_image.py shares one sensor container per module, its
  tests read what the earlier ones left in its events file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The sensor's package lives in images/sensor (it runs in the sensor image's venv); its pure
# modules (the line writer, the environment contract) are tested here directly.
_SENSOR_SRC = str(Path(__file__).resolve().parents[1] / "images" / "sensor")
if _SENSOR_SRC not in sys.path:
    sys.path.insert(0, _SENSOR_SRC)

_ANSIBLE = Path(__file__).parent / "ansible"
_BROWSER = Path(__file__).parent / "browser"
_SENSOR_IMAGE = Path(__file__).parent / "sensor" / "test_sensor_image.py"


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "testbed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("testbed"))
        elif _ANSIBLE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("ansible"))
        elif _BROWSER in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("browser"))
        elif Path(str(item.fspath)) == _SENSOR_IMAGE:
            item.add_marker(pytest.mark.xdist_group("sensor"))
