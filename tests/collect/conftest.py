"""The sensor's own pure modules (its line writer) live in images/sensor/decnet_sensor; the
collector's tests write their lines with it, as a sensor does."""

from __future__ import annotations

import sys
from pathlib import Path

SENSOR_SRC = Path(__file__).resolve().parents[2] / "images" / "sensor"
if str(SENSOR_SRC) not in sys.path:
    sys.path.insert(0, str(SENSOR_SRC))
