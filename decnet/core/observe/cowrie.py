"""`cowrie` lines: Cowrie 3.1's own JSON events, as its event dispatcher makes them.

Logins, commands and file transfers become attack events. The connection itself is the
launcher's `connect` line (it precedes every protocol's first word), so
`cowrie.session.connect` adds nothing; neither do Cowrie's bookkeeping events (terminal size,
key exchange, closed) nor `cowrie.command.failed`, which repeats a `cowrie.command.input`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from decnet import events as ev
from decnet.core.observe.base import Base, short
from decnet.core.observe.native import download_fields
from decnet.events import LONG


def _ends(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e.get(k) for k in ("src_ip", "src_port", "dst_ip", "dst_port")}


def _login(outcome: str) -> Callable[[Base, dict[str, Any]], ev.AttackEvent | None]:
    def make(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
        return b.make(
            ev.AttackLogin,
            **_ends(e),
            username=short(e.get("username")) or "",
            password=short(e.get("password")),
            outcome=outcome,
            mechanism="password",
        )

    return make


def _publickey(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    """A public key offered (and refused): the login was tried, with no password."""
    return b.make(
        ev.AttackLogin,
        **_ends(e),
        username=short(e.get("username")) or "",
        outcome="failure",
        mechanism="publickey",
    )


def _command(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    return b.make(ev.AttackCommand, **_ends(e), command=short(e.get("input"), LONG) or "")


def _download(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    return b.make(ev.AttackDownload, **_ends(e), **download_fields(e, "url", "shasum", "size"))


def _upload(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    """A file the intruder pushed (SFTP/SCP): its name stands where a URL would."""
    return b.make(ev.AttackDownload, **_ends(e), **download_fields(e, "filename", "shasum", "size"))


def _tunnel(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    """A port-forward request: the event's dst_ip/dst_port name the tunnel's target, not the
    decky, so they go into `path` and the decky's own address stays unknown."""
    target = f"{short(e.get('dst_ip'), 255) or ''}:{short(e.get('dst_port'), 8) or ''}"
    return b.make(
        ev.AttackRequest,
        src_ip=e.get("src_ip"),
        src_port=e.get("src_port"),
        method="direct-tcpip",
        path=target,
    )


EVENTS: dict[str, Callable[[Base, dict[str, Any]], ev.AttackEvent | None]] = {
    "cowrie.login.success": _login("success"),
    "cowrie.login.failed": _login("failure"),
    "cowrie.client.fingerprint": _publickey,
    "cowrie.command.input": _command,
    "cowrie.session.file_download": _download,
    "cowrie.session.file_download.failed": _download,
    "cowrie.session.file_upload": _upload,
    "cowrie.direct-tcpip.request": _tunnel,
}
"""Cowrie eventid -> its attack event; every other eventid is bookkeeping."""


def normalise(b: Base) -> list[ev.AttackEvent]:
    handler = EVENTS.get(str(b.line.event.get("eventid")))
    made = handler(b, b.line.event) if handler is not None else None
    return [made] if made is not None else []
