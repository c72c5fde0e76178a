"""decnet's sensor: one process per decky serving its services through Cowrie, OpenCanary and
decnet's own emulators, every event a line of the sensor line format v1 (docs/sensors.md)."""

VERSION = "0.1.0"
