"""`python -m decnet_sensor`: one process, one reactor, exactly the decky's services.

Reads the environment contract (decnet_sensor.contract), opens the line writer, then builds
each service of DECNET_SERVICES with its implementation — Cowrie (ssh, telnet), OpenCanary
(canary.MODULES), or decnet's own emulator module `decnet_sensor.emulators.<service>` —
imported only when the decky has the service. A service that cannot start (no emulator yet, a
module error, a port taken) is reported in a `sensor.error` line and skipped; the others run.
Nothing is printed on stdout; stderr carries fatal errors and rate-limited internal errors.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from decnet_sensor import VERSION
from decnet_sensor.contract import ContractError, Settings, parse_environment, secret_values
from decnet_sensor.writer import LineWriter

EX_CONFIG = 78
EX_SOFTWARE = 70
COWRIE = ("ssh", "telnet")
STDERR_LINES_PER_MINUTE = 20
STDERR_LINE_CHARS = 1000


def fatal(message: str, hint: str, code: int) -> int:
    print(f"decnet-sensor: error: {message}\nhint: {hint}", file=sys.stderr, flush=True)
    return code


def implementation(service_name: str) -> str:
    from decnet_sensor.canary import MODULES

    if service_name in COWRIE:
        return "cowrie"
    if service_name in MODULES:
        return "opencanary"
    return "decnet"


class _StderrObserver:
    """Twisted's log: errors to stderr, one short line each, at most
    STDERR_LINES_PER_MINUTE a minute (attackers can provoke errors; stderr stays small)."""

    def __init__(self) -> None:
        self.window = 0.0
        self.count = 0
        self.suppressed = 0
        self.total = 0

    def __call__(self, event: dict[str, Any]) -> None:
        from twisted.logger import LogLevel, formatEvent

        level = event.get("log_level")
        if level is None or level < LogLevel.error:
            return
        self.total += 1
        now = time.monotonic()
        if now - self.window > 60:
            if self.suppressed:
                print(f"decnet-sensor: {self.suppressed} log lines suppressed", file=sys.stderr)
            self.window, self.count, self.suppressed = now, 0, 0
        self.count += 1
        if self.count > STDERR_LINES_PER_MINUTE:
            self.suppressed += 1
            return
        text = formatEvent(event)
        failure = event.get("log_failure")
        if failure is not None:
            text += f" [{failure.type.__name__}: {failure.getErrorMessage()}]"
        text = " ".join(text.split())
        if len(text) > STDERR_LINE_CHARS:  # a traceback: its head and its end say the most
            text = text[: STDERR_LINE_CHARS // 4] + " … " + text[-STDERR_LINE_CHARS * 3 // 4 :]
        print(f"decnet-sensor: {level.name}: {text}", file=sys.stderr, flush=True)


class Sensor:
    def __init__(self, settings: Settings, writer: LineWriter, runtime: Path) -> None:
        from decnet_sensor.track import Tracker

        self.settings, self.writer, self.runtime = settings, writer, runtime
        self.tracker = Tracker(writer, settings.port_map(), secret_values(settings))
        self.failed: dict[str, str] = {}
        self.started = time.monotonic()
        self.log_observer = _StderrObserver()

    def error(self, service_name: str | None, message: str) -> None:
        if service_name is not None:
            self.failed.setdefault(service_name, message)
        self.tracker.decnet(service_name, {"kind": "sensor.error", "message": message})

    def build(self) -> list[Any]:
        """Every listener of the decky's services, in the catalogue's implementation order:
        Cowrie first (its config must be in place before anything imports it)."""
        from decnet_sensor import canary, cowrie_side

        names = [s.name for s in self.settings.services]
        services: list[Any] = []
        cowrie_names = [n for n in names if implementation(n) == "cowrie"]
        if cowrie_names:
            try:
                cowrie_side.configure(self.settings, self.runtime)
                services += cowrie_side.build(self.settings, self.tracker, self.error)
            except Exception as err:
                for n in cowrie_names:
                    self.error(n, f"cowrie: {type(err).__name__}: {err}")
        canary_names = [n for n in names if implementation(n) == "opencanary"]
        if canary_names:
            try:
                services += canary.build(
                    self.settings, canary_names, self.tracker, self.runtime, self.error
                )
            except Exception as err:
                for n in canary_names:
                    self.error(n, f"opencanary: {type(err).__name__}: {err}")
        for n in names:
            if implementation(n) == "decnet":
                services += self._emulator(n)
        return services

    def _emulator(self, name: str) -> list[Any]:
        from decnet_sensor.emulators.base import EmulatorContext
        from decnet_sensor.track import Listener

        module_name = f"decnet_sensor.emulators.{name.replace('-', '_')}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                self.error(name, f"emulator {name}: {err}")
            else:
                self.error(name, f"no sensor implements {name} yet; its ports stay closed")
            return []
        except Exception as err:
            self.error(name, f"emulator {name}: {type(err).__name__}: {err}")
            return []
        svc = self.settings.service(name)
        assert svc is not None
        ctx = EmulatorContext(
            service=name,
            ports=list(svc.ports),
            config=dict(svc.config),
            hostname=self.settings.hostname,
            state_dir=self.settings.state_dir / name,
            emit=lambda event: self._emit(name, event),
        )
        try:
            ctx.state_dir.mkdir(parents=True, exist_ok=True)
            built = module.build(ctx)
        except Exception as err:
            self.error(name, f"emulator {name}: {type(err).__name__}: {err}")
            return []
        out: list[Any] = []
        for one in built:
            method, args = getattr(one, "method", ""), getattr(one, "args", ())
            if method in ("TCP", "SSL", "UDP") and len(args) >= 2:
                tls = args[2] if method == "SSL" and len(args) > 2 else None
                proto = "udp" if method == "UDP" else "tcp"
                out.append(
                    Listener(self.tracker, name, int(args[0]), proto, args[1], tls, self.error)
                )
            else:  # not a plain listener: run it as it is (its connections go untracked)
                out.append(one)
        return out

    def _emit(self, name: str, event: dict[str, Any]) -> None:
        """An emulator's event as a `decnet` line. The envelope's session is the launcher's id
        of the connection when the event's source finds one (behind TLS an emulator sees the
        TLS protocol, not our transport, and may have made up its own id), else the event's."""
        event = dict(event)
        given = event.pop("session", None)
        session = None
        src, sport = event.get("src_ip"), event.get("src_port")
        if isinstance(src, str) and isinstance(sport, int):
            session = self.tracker.session_for(src, sport)
        if session is None and given is not None:
            session = str(given)
        self.tracker.decnet(name, event, session)

    def heartbeat(self) -> None:
        self.tracker.decnet(
            None,
            {
                "kind": "sensor.heartbeat",
                "uptime_s": int(time.monotonic() - self.started),
                "connections": self.tracker.connections,
                "open": len(self.tracker.open),
                "udp_peers": self.tracker.datagram_peers,
                "dropped": self.writer.dropped,
                "errors": self.log_observer.total,
                "rss_bytes": _rss(),
            },
        )

    def start_line(self) -> None:
        self.tracker.decnet(
            None,
            {
                "kind": "sensor.start",
                "version": VERSION,
                "services": {
                    s.name: [f"{p}/{proto}" for p, proto in s.ports]
                    for s in self.settings.services
                    if s.name not in self.failed
                },
                "implementations": {s.name: implementation(s.name) for s in self.settings.services},
                "failed": sorted(self.failed),
                "topology": self.settings.topology,
                "decky": self.settings.decky,
                "hostname": self.settings.hostname,
                "downloads": self.settings.downloads,
                "pid": os.getpid(),
                "uid": os.getuid(),
            },
        )


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def main() -> int:
    os.umask(0o077)
    warnings.simplefilter("ignore")
    if os.geteuid() == 0:
        return fatal("refusing to run as root", "run the image as its user decnet (999:999)", 1)
    try:
        settings = parse_environment(os.environ, socket.gethostname())
    except ContractError as err:
        return fatal(str(err), err.hint, EX_CONFIG)
    try:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        writer = LineWriter(
            settings.directory, max_bytes=settings.log_max_bytes, files=settings.log_files
        )
    except OSError as err:
        return fatal(
            f"cannot write to {settings.directory}: {err.strerror or err}",
            "bind-mount a directory owned by 999:999 at /var/lib/decnet-sensor",
            EX_CONFIG,
        )
    runtime = Path(tempfile.mkdtemp(prefix="decnet-sensor-"))
    os.chdir(runtime)
    os.environ["HOME"] = str(runtime)
    return run(settings, writer, runtime)


def run(settings: Settings, writer: LineWriter, runtime: Path) -> int:
    from twisted.application import service
    from twisted.internet import reactor, task
    from twisted.logger import globalLogBeginner

    sensor = Sensor(settings, writer, runtime)
    globalLogBeginner.beginLoggingTo([sensor.log_observer], redirectStandardIO=False)
    try:
        listeners = sensor.build()
    except Exception as err:  # a bug of ours: say so in the events and on stderr
        sensor.error(None, f"sensor: {type(err).__name__}: {err}")
        return fatal(
            f"{type(err).__name__}: {err}", "report this with the events file", EX_SOFTWARE
        )
    top = service.MultiService()
    for one in listeners:
        one.setServiceParent(top)
    top.startService()
    sensor.start_line()
    if settings.heartbeat:
        beat = task.LoopingCall(sensor.heartbeat)
        beat.start(settings.heartbeat, now=False)
    reactor.addSystemEventTrigger("before", "shutdown", top.stopService)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    writer.close()
    return 0
