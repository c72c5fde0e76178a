"""`decnet attackers [list]` and `decnet attackers show IP`: the attacker's view of the maze.

Everything shown here was written by an intruder: values go out JSON-quoted when they are not
plain, and every line and cell through `terminal_safe`, so no escape sequence reaches the
terminal (`--json` is data, escaped by JSON)."""

from __future__ import annotations

import json
import re
from typing import Any

import typer

from decnet.cli import common
from decnet.core.observe.attackers import Attacker, AttackerDetail, Session
from decnet.engine import attackers as engine
from decnet.settings import parse_duration

app = typer.Typer(
    cls=common.DefaultCommandGroup,
    help="Who touched the maze: one row per source address, and one source's timeline.",
)

_PLAIN = re.compile(r"^[A-Za-z0-9._:/@+,=-]{1,200}$")
_SHOWN = {
    "attack.connect": ("transport", "dst_port"),
    "attack.login": ("username", "password", "outcome", "mechanism", "domain", "hash"),
    "attack.command": ("command",),
    "attack.request": ("method", "path", "query", "user_agent"),
    "attack.download": ("url", "sha256", "size"),
    "attack.scan": ("connects", "ports", "first_at", "last_at"),
}
"""The fields of each type that a timeline line shows (`--json` has them all)."""


def _value(value: Any) -> str:
    if isinstance(value, str) and _PLAIN.match(value):
        return value
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def path_text(attacker: Attacker) -> str:
    """`topology/decky@lan → …` in the order they were first touched."""
    return " → ".join(
        f"{s.topology}/{s.decky}" + (f"@{s.lan}" if s.lan else "") for s in attacker.path
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    topology: str | None = typer.Option(None, "--topology", help="Only this topology's events."),
    since: str | None = typer.Option(
        None, "--since", help="Only the last DURATION, e.g. 24h or 7d."
    ),
    limit: int = typer.Option(engine.MAX_ATTACKERS, "--limit", min=1, max=100_000),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """One row per source: first and last seen, events, the deckies and LANs it touched in
    order (its path through the maze), logins tried and succeeded, commands, downloads."""
    age = parse_duration(since, "--since") if since is not None else None
    rows = engine.list_attackers(common.open_store(ctx), topology=topology, since=age, limit=limit)
    if json_out:
        common.print_json([r.model_dump(mode="json") for r in rows])
        return
    cells = [
        [r.src_ip, r.first_seen, r.last_seen, r.events, path_text(r),
         f"{r.logins}/{r.logins_succeeded}", r.commands, r.downloads]
        for r in rows
    ]  # fmt: skip
    columns = ["source", "first seen", "last seen", "events", "path (in order)"]
    common.stdout().print(
        common.table(None, [*columns, "logins/ok", "commands", "downloads"], cells)
    )


def _event_line(event: dict[str, Any]) -> str:
    payload = event["payload"]
    shown = _SHOWN.get(event["type"], ())
    pairs = " ".join(f"{k}={_value(payload[k])}" for k in shown if payload.get(k) is not None)
    at = payload.get("observed_at", event["at"])
    return f"  {event['id']}  {at}  {event['type']}  {pairs}".rstrip()


def _session_line(session: Session) -> str:
    where = f"{session.topology}/{session.decky}" if session.decky else "-"
    name = session.session or "-"
    return (
        f"session {_value(name)}  {where}  {_value(session.service or '-')}  "
        f"{session.started_at} .. {session.ended_at}"
    )


def print_detail(detail: AttackerDetail) -> None:
    a = detail.attacker
    common.echo(f"source {a.src_ip}: {a.events} events, {a.first_seen} .. {a.last_seen}")
    common.echo(
        f"logins {a.logins} ({a.logins_succeeded} succeeded), commands {a.commands}, "
        f"downloads {a.downloads}"
    )
    common.echo(f"path: {path_text(a) or '-'}")
    if detail.truncated:
        common.note(f"only the newest {engine.TIMELINE} events are shown")
    for session in detail.sessions:
        common.echo("")
        common.echo(_session_line(session))
        for event in session.events:
            common.echo(_event_line(event))


@app.command()
def show(
    ctx: typer.Context,
    ip: str = typer.Argument(..., help="The source address."),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """The timeline of one source, session by session."""
    detail = engine.attacker(common.open_store(ctx), engine.source_address(ip))
    if json_out:
        common.print_json(detail)
        return
    print_detail(detail)
