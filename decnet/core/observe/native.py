"""`decnet` lines: the launcher's connects and the emulators' own vocabulary (SENSORS-DESIGN.md).

`kind` says what happened: connect, login, command, request, download become their attack
event; close adds nothing (the connect and the session say it all); sensor.start,
sensor.heartbeat and sensor.error are the sensor's health, not an intruder's act (the caller
keeps them apart: `HEALTH_KINDS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from decnet import events as ev
from decnet.core.observe.base import Base, short
from decnet.events import LONG, SHORT

HEALTH_KINDS = frozenset({"sensor.start", "sensor.heartbeat", "sensor.error"})
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _ends(e: dict[str, Any]) -> dict[str, Any]:
    return {k: e.get(k) for k in ("src_ip", "src_port", "dst_ip", "dst_port")}


def _connect(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    transport = "udp" if e.get("proto") == "udp" else "tcp"
    return b.make(ev.AttackConnect, **_ends(e), transport=transport)


def _login(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    return b.make(
        ev.AttackLogin,
        **_ends(e),
        username=short(e.get("username")) or "",
        password=short(e.get("password")),
        outcome="success" if e.get("outcome") == "success" else "failure",
        mechanism=short(e.get("mechanism"), 64),
        domain=short(e.get("domain")),
        hash=short(e.get("hash"), LONG),
    )


def _command(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    return b.make(ev.AttackCommand, **_ends(e), command=short(e.get("command"), LONG) or "")


def _request(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    return b.make(
        ev.AttackRequest,
        **_ends(e),
        method=short(e.get("method"), 64),
        path=short(e.get("path"), LONG),
        user_agent=short(e.get("user_agent"), SHORT),
        query=short(e.get("query"), LONG),
    )


def _download(b: Base, e: dict[str, Any]) -> ev.AttackEvent | None:
    return b.make(ev.AttackDownload, **_ends(e), **download_fields(e, "url", "sha256", "size"))


def download_fields(e: dict[str, Any], url: str, sha: str, size: str) -> dict[str, Any]:
    """url, sha256 (only a real lowercase hex digest) and size (only a whole number)."""
    digest = e.get(sha)
    length = e.get(size)
    return {
        "url": short(e.get(url), LONG),
        "sha256": digest.lower() if isinstance(digest, str) and _SHA256.fullmatch(digest.lower())
        else None,
        "size": length if type(length) is int and length >= 0 else None,
    }  # fmt: skip


_KINDS: dict[str, Callable[[Base, dict[str, Any]], ev.AttackEvent | None]] = {
    "connect": _connect,
    "login": _login,
    "command": _command,
    "request": _request,
    "download": _download,
}


def normalise(b: Base) -> list[ev.AttackEvent]:
    handler = _KINDS.get(str(b.line.event.get("kind")))
    made = handler(b, b.line.event) if handler is not None else None
    return [made] if made is not None else []
