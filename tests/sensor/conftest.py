"""The sensor's own code lives in images/sensor/decnet_sensor (it runs in the image's venv);
its pure modules (writer, contract) are importable here too."""

from __future__ import annotations

import sys
from pathlib import Path

SENSOR_SRC = Path(__file__).resolve().parents[2] / "images" / "sensor"
if str(SENSOR_SRC) not in sys.path:
    sys.path.insert(0, str(SENSOR_SRC))
