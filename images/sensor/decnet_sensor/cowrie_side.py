"""SSH and Telnet through Cowrie 3.1: its factories, our listeners, our credential rule, our sink.

Cowrie is configured with `COWRIE_<SECTION>_<OPTION>` variables (read raw, so a `$` or `%` in
a banner needs no escaping), set before any cowrie module is imported: its config object is
built at import time. We do not run its twistd service maker (it binds its own endpoints and
loads output plugins from the config); we build the same factories and portals it builds
(`CowrieServiceMaker.pool_ready`), listen on the decky's ports through the tracked listener,
and hand its event dispatcher one sink: the line writer.

Credentials (docs/sensors.md): the service's configured password (`DECNET_SSH_PASSWORD`,
`DECNET_TELNET_PASSWORD`) succeeds for user `root` and gives Cowrie's fake shell; every other
pair fails, and so does everything when no password is configured. Public keys are recorded
and refused.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from twisted.application import service

from decnet_sensor.contract import ServicePorts, Settings
from decnet_sensor.track import Listener, Tracker

ACCEPTED_USER = b"root"
DEFAULT_SSH_VERSION = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"
DOWNLOAD_LIMIT = 10 * 1024 * 1024


def _one_line(text: str) -> str:
    return " ".join(text.split())


def ssh_version(banner: str | None) -> str:
    """An SSH identification string: `SSH-2.0-…`, one line, at most 253 characters."""
    text = _one_line(banner or "") or DEFAULT_SSH_VERSION
    if not text.startswith(("SSH-2.0-", "SSH-1.99-")):
        text = "SSH-2.0-" + text.replace(" ", "_")
    return text[:253]


def configure(settings: Settings, runtime: Path) -> None:
    """Set Cowrie's configuration; must run before the first `import cowrie…`."""
    ssh, telnet = settings.service("ssh"), settings.service("telnet")
    state = settings.state_dir / "cowrie"
    state.mkdir(parents=True, exist_ok=True)
    downloads = settings.directory / "downloads"
    hostname = (ssh.config.get("hostname") if ssh else None) or settings.hostname
    values = {
        "HONEYPOT_HOSTNAME": _one_line(hostname)[:64] or "localhost",
        "HONEYPOT_SENSOR_NAME": settings.decky or settings.hostname,
        "HONEYPOT_STATE_PATH": str(state),
        "HONEYPOT_LOG_PATH": str(runtime / "cowrie-log"),
        "HONEYPOT_ETC_PATH": str(runtime / "cowrie-etc"),
        "HONEYPOT_DOWNLOAD_PATH": str(downloads),
        "HONEYPOT_DOWNLOAD_LIMIT_SIZE": str(DOWNLOAD_LIMIT),
        "HONEYPOT_TTYLOG": "false",
        "HONEYPOT_LOGTYPE": "plain",
        "HONEYPOT_TIMEZONE": "UTC",
        "HONEYPOT_BACKEND": "shell",
        "SSH_ENABLED": "true" if ssh else "false",
        "SSH_VERSION": ssh_version(ssh.config.get("banner") if ssh else None),
        "SSH_SFTP_ENABLED": "true",
        # Port forwarding would open real connections from the decky: never.
        "SSH_FORWARDING": "false",
        "SSH_FORWARD_REDIRECT": "false",
        "SSH_FORWARD_TUNNEL": "false",
        "TELNET_ENABLED": "true" if telnet else "false",
        "OUTPUT_JSONLOG_ENABLED": "false",
    }
    for kind in ("rsa", "ecdsa", "ed25519"):
        values[f"SSH_{kind.upper()}_PRIVATE_KEY"] = str(state / f"ssh_host_{kind}_key")
        values[f"SSH_{kind.upper()}_PUBLIC_KEY"] = str(state / f"ssh_host_{kind}_key.pub")
    for key, value in values.items():
        os.environ["COWRIE_" + key] = value
    os.environ["TZ"] = "UTC"
    if settings.downloads == "capture":
        downloads.mkdir(parents=True, exist_ok=True)


def _deny_outbound() -> None:
    """DECNET_DOWNLOADS=fake: no command of the fake shell resolves or reaches any address.

    Cowrie gates every outbound path (wget, curl, tftp, ftpget, nc) on these two functions;
    they are rebound wherever a module imported them by name. The shell then answers like a
    host without name resolution. (The real containment is the decky's network: internal
    LANs only.)
    """
    import sys

    import cowrie.commands  # noqa: F401  (loads every command module, so all bindings exist)
    import cowrie.core.network as network
    from twisted.internet import defer

    originals = (network.resolve_allowed, network.communication_allowed)

    def resolve_nothing(address: str) -> defer.Deferred[Any]:
        return defer.succeed(None)

    def allow_nothing(address: str) -> defer.Deferred[Any]:
        return defer.succeed(False)

    for name, module in list(sys.modules.items()):
        if not name.startswith("cowrie") or module is None:
            continue
        if getattr(module, "resolve_allowed", None) is originals[0]:
            module.resolve_allowed = resolve_nothing  # type: ignore[attr-defined]
        if getattr(module, "communication_allowed", None) is originals[1]:
            module.communication_allowed = allow_nothing  # type: ignore[attr-defined]


class _Sink:
    """Cowrie's event dispatcher delivers every session event here: one `cowrie` line each.

    The envelope's session is the launcher's id of the connection (found by the event's
    src ip and port), as on every other line of that connection; Cowrie's own session id stays
    in the event. Without a tracked connection the envelope carries Cowrie's id.
    """

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def write(self, event: dict[str, Any]) -> None:
        port = event.get("dst_port")
        service_name = self.tracker.service_of(port) if isinstance(port, int) else None
        if service_name is None and event.get("protocol") in ("ssh", "telnet"):
            service_name = event["protocol"]
        src, sport = event.get("src_ip"), event.get("src_port")
        session = None
        if isinstance(src, str) and isinstance(sport, int):
            session = self.tracker.session_for(src, sport, "tcp")
        if session is None and event.get("session"):
            session = str(event["session"])
        self.tracker.emit("cowrie", event, service_name, session)


def _password_checker(accepted: str | None) -> Any:
    from cowrie.core import checkers
    from cowrie.core.utils import escape_nonprintable  # type: ignore[attr-defined]

    secret = accepted.encode("utf-8") if accepted else None

    class DecnetPasswordChecker(checkers.HoneypotPasswordChecker):  # type: ignore[misc]
        def checkUserPass(
            self, theusername: bytes, thepassword: bytes, ip: str, events: Any
        ) -> bool:
            ok = (
                secret is not None
                and hmac.compare_digest(theusername, ACCEPTED_USER)
                and hmac.compare_digest(thepassword, secret)
            )
            if events:
                events.dispatch(
                    "cowrie.login.success" if ok else "cowrie.login.failed",
                    "login attempt [%(username)s/%(password)s] "
                    + ("succeeded" if ok else "failed"),
                    username=escape_nonprintable(theusername),
                    password=escape_nonprintable(thepassword),
                )
            return ok

    return DecnetPasswordChecker()


def build(
    settings: Settings, tracker: Tracker, on_error: Callable[[str, str], None]
) -> list[service.Service]:
    """Listeners for the decky's ssh and telnet ports, all in this process's reactor."""
    import cowrie.shell.realm
    import cowrie.ssh.factory
    import cowrie.telnet.factory
    from cowrie.core import checkers
    from cowrie.core.events import EventDispatcher
    from cowrie.core.output import Output
    from twisted.cred import portal
    from twisted.internet import reactor

    if settings.downloads == "fake":
        _deny_outbound()

    dispatcher = EventDispatcher([_Sink(tracker)])
    dispatcher.registerShutdown(reactor)
    Output.dispatcher = dispatcher
    tac = SimpleNamespace(dispatcher=dispatcher, output_plugins=[])
    out: list[service.Service] = []

    ssh = settings.service("ssh")
    if ssh is not None:
        factory = cowrie.ssh.factory.CowrieSSHFactory("shell", None)
        factory.tac = tac
        factory.portal = portal.Portal(cowrie.shell.realm.HoneyPotRealm())
        factory.portal.registerChecker(checkers.HoneypotPublicKeyChecker())
        factory.portal.registerChecker(_password_checker(ssh.config.get("password")))
        out += _listeners(tracker, ssh, factory, on_error)

    telnet = settings.service("telnet")
    if telnet is not None:
        banner = _one_line(telnet.config.get("banner", ""))

        class TelnetFactory(cowrie.telnet.factory.HoneyPotTelnetFactory):  # type: ignore[misc]
            def startFactory(self) -> None:
                super().startFactory()
                if banner:
                    self.banner = banner.encode("utf-8") + b"\n"

        tfactory = TelnetFactory("shell", None)
        tfactory.tac = tac
        tfactory.portal = portal.Portal(cowrie.shell.realm.HoneyPotRealm())
        tfactory.portal.registerChecker(_password_checker(telnet.config.get("password")))
        out += _listeners(tracker, telnet, tfactory, on_error)
    return out


def _listeners(
    tracker: Tracker, svc: ServicePorts, factory: Any, on_error: Callable[[str, str], None]
) -> list[service.Service]:
    out: list[service.Service] = []
    for port, proto in svc.ports:
        if proto != "tcp":
            on_error(svc.name, f"{port}/{proto}: cowrie serves TCP only; port left closed")
            continue
        out.append(Listener(tracker, svc.name, port, proto, factory, on_error=on_error))
    return out
