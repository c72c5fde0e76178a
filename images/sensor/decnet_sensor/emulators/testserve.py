"""Run one emulator alone on loopback, events as JSON lines on stdout (for tests).

    python -m decnet_sensor.emulators.testserve SERVICE PORT/PROTO[,PORT/PROTO…]
        [--tls PORT]… [--transport PORT]… [--idle S] [--hostname NAME] [--state DIR] [KEY=VALUE…]

Prints `{"ready": true}` once every port listens, then one line per emitted event.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
import tempfile

from . import _common
from .base import EmulatorContext


def _ports(spec: str) -> list[tuple[int, str]]:
    out = []
    for item in spec.split(","):
        port, _, proto = item.partition("/")
        out.append((int(port), proto or "tcp"))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="testserve")
    p.add_argument("service")
    p.add_argument("ports", type=_ports)
    p.add_argument("config", nargs="*", help="KEY=VALUE")
    p.add_argument("--tls", type=int, action="append", default=[])
    p.add_argument("--transport", type=int, action="append", default=[], help="ES node port")
    p.add_argument("--hostname", default="decky01")
    p.add_argument("--idle", type=float, help="idle timeout in seconds (default: the real one)")
    p.add_argument("--state", type=pathlib.Path)
    a = p.parse_intermixed_args(argv)

    from twisted.application.service import MultiService
    from twisted.internet import reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver

    # Twisted's own log (an exception inside a protocol handler lands here) goes to stderr
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)], redirectStandardIO=False)

    _common.LISTEN_INTERFACE = "127.0.0.1"
    _common.IMPLICIT_TLS_PORTS = set(a.tls)
    if a.idle:
        _common.IDLE_TIMEOUT = a.idle
    if a.transport:
        from . import elasticsearch

        elasticsearch.TRANSPORT_PORTS = set(a.transport)

    def emit(event: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(event, ensure_ascii=True) + "\n")
        sys.stdout.flush()

    config = dict(kv.split("=", 1) for kv in a.config)
    state = a.state or pathlib.Path(tempfile.mkdtemp(prefix="emu-state-"))
    ctx = EmulatorContext(a.service, a.ports, config, a.hostname, state, emit)
    top = MultiService()
    module = importlib.import_module(f"decnet_sensor.emulators.{a.service}")
    for svc in module.build(ctx):
        svc.setServiceParent(top)
    top.startService()
    emit({"ready": True})
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
