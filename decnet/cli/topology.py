"""`decnet topology …`: generate, create, copy, list, show, validate, export, graph, delete.

Each command parses its input, calls one function of `decnet.engine.topologies`, and formats
the result. Errors are reported by `decnet.cli.errors`.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import typer
from pydantic import ValidationError

from decnet.cli import common
from decnet.core.secrets import MASK
from decnet.core.topofile import MAX_FILE_BYTES, parse_topology_file
from decnet.engine import topologies as engine
from decnet.errors import EXIT_ERROR, TopologyFileError, UsageError
from decnet.files import write_private
from decnet.models import GeneratorParams, Issue, Severity, Topology
from decnet.store import Store

app = typer.Typer(help="Generate, create, inspect and delete topologies.", no_args_is_help=True)

NAME = typer.Argument(..., metavar="NAME", help="A stored topology.")
_DECKIES_RE = re.compile(r"^([0-9]{1,3})-([0-9]{1,3})$")
_OPTION_OF = {
    "depth": "--depth",
    "branching": "--branching",
    "deckies_min": "--deckies",
    "deckies_max": "--deckies",
    "forward_p": "--forward-p",
    "cross_p": "--cross-p",
    "services": "--services",
    "publish": "--publish",
    "seed": "--seed",
    "name": "NAME",
}


def _deckies(value: str) -> tuple[int, int]:
    match = _DECKIES_RE.fullmatch(value)
    if not match:
        raise typer.BadParameter(f"{value!r} is not MIN-MAX, e.g. 1-3")
    return int(match.group(1)), int(match.group(2))


def _services(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [s.strip() for s in value.split(",") if s.strip()]


def _params(**fields: object) -> GeneratorParams:
    """GeneratorParams from options; its bounds are the one source, reported per option."""
    try:
        return GeneratorParams.model_validate(fields)
    except ValidationError as err:
        first = err.errors()[0]
        option = _OPTION_OF.get(str(first["loc"][0]), str(first["loc"][0]))
        raise UsageError(
            f"{option} {first.get('input')!r}: {first['msg']}",
            hint="see `decnet topology generate --help` for the bounds",
        ) from None


def _read(path: Path) -> str:
    """The file's text, reading at most MAX_FILE_BYTES + 1 bytes: `-f /dev/zero` or an endless
    pipe is refused once it passes the cap, never read forever."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise UsageError(
            f"cannot read topology file {path}: {err.strerror or err}", hint="check the path"
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise TopologyFileError(
            f"the file is over {MAX_FILE_BYTES // 2**20} MiB, the largest topology file read "
            "(is it the right file?)",
            source=str(path),
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TopologyFileError(
            f"not UTF-8 text (byte {err.start}); save the file as UTF-8", source=str(path)
        ) from None


@app.command()
def generate(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., metavar="NAME", help="Topology name, e.g. corp (^[a-z][a-z0-9-]{0,62}$)."
    ),
    depth: int = typer.Option(2, help="Levels of LANs below and including the DMZ (1-16)."),
    branching: int = typer.Option(2, help="Child LANs per LAN (1-8)."),
    deckies: str = typer.Option("1-3", help="Deckies per LAN as MIN-MAX (0-64)."),
    forward_p: float = typer.Option(0.5, help="Probability that a bridge decky forwards L3."),
    cross_p: float = typer.Option(0.0, help="Probability of an extra cross edge per LAN."),
    services: str | None = typer.Option(
        None, help="Comma-separated services for every decky (default: random archetypes)."
    ),
    publish: list[str] = typer.Option(
        [],
        "--publish",
        help="Host port the DMZ gateway publishes, HOST:CONTAINER (or HOST:CONTAINER/udp); repeat.",
    ),
    seed: int = typer.Option(0, help="Random seed: same seed and options, same topology."),
    host: str = typer.Option("localhost", help="Inventory host the topology is pinned to."),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Generate a random topology and store it (status pending)."""
    low, high = _deckies(deckies)
    params = _params(
        name=name,
        depth=depth,
        branching=branching,
        deckies_min=low,
        deckies_max=high,
        forward_p=forward_p,
        cross_p=cross_p,
        services=_services(services),
        publish=publish,
        seed=seed,
    )
    stored = engine.generate_topology(
        common.open_store(ctx, create=True), params, host=host, catalog=common.catalog()
    )
    _created(stored, json_out)


@app.command()
def create(
    ctx: typer.Context,
    file: Path = typer.Option(
        ...,
        "--file",
        "-f",
        help="Topology file (docs/topology-file.md).",
        callback=common.absolute,
    ),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Create a topology from a topology file; open subnets and IPs are allocated."""
    parsed = parse_topology_file(_read(file), str(file), catalog=common.catalog())
    stored = engine.create_topology(
        common.open_store(ctx, create=True), parsed, catalog=common.catalog()
    )
    _created(stored, json_out)


@app.command()
def copy(
    ctx: typer.Context,
    name: str = NAME,
    new_name: str = typer.Argument(..., metavar="NEW_NAME", help="The copy's name."),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Copy a topology (any status) to a new pending one: the same design, secrets included;
    how a torn-down topology is deployed again."""
    stored = engine.copy_topology(common.open_store(ctx), name, new_name, catalog=common.catalog())
    _created(stored, json_out)


def _created(t: Topology, json_out: bool) -> None:
    if json_out:
        common.print_json(
            {
                "name": t.name,
                "version": t.version,
                "status": t.status.value,
                "host": t.host,
                "lans": len(t.lans),
                "deckies": len(t.deckies),
            }
        )
        return
    common.echo(f"created {t.name}: {len(t.lans)} LANs, {len(t.deckies)} deckies on {t.host}")


@app.command("list")
def list_(ctx: typer.Context, json_out: bool = common.JSON_OPTION) -> None:
    """List stored topologies."""
    rows = engine.list_topologies(common.open_store(ctx))
    if json_out:
        common.print_json(rows)
        return
    columns = ["name", "status", "version", "host", "lans", "deckies", "resync", "created"]
    values = [
        [
            r.name,
            r.status.value,
            r.version,
            r.host,
            r.lans,
            r.deckies,
            "yes" if r.needs_resync else "",
            r.created_at,
        ]
        for r in rows
    ]
    common.stdout().print(common.table(None, columns, values))


@app.command()
def show(ctx: typer.Context, name: str = NAME, json_out: bool = common.JSON_OPTION) -> None:
    """Show one topology: status, desired hash, LANs and deckies (secrets masked)."""
    state = common.settings(ctx)
    view = engine.show_topology(
        common.open_store(ctx), name, catalog=common.catalog(), site_images=state.site_images
    )
    if json_out:
        common.print_json(view)
        return
    _print_view(view)


def _print_view(view: engine.TopologyView) -> None:
    console = common.stdout()
    lines = {
        "name": view.name,
        "status": view.status.value,
        "version": view.version,
        "host": view.host,
        "desired hash": view.desired_hash or "-",
        "needs resync": "yes" if view.needs_resync else "no",
        "created": view.created_at,
    }
    for key, value in lines.items():
        common.echo(f"{key + ':':<14}{value}")
    for p in view.problems:
        common.echo(f"{'problem:':<14}{p.code} at {p.path}: {p.message}")
    console.print(common.table("LANs", ["name", "subnet", "dmz", "deckies"], _lan_rows(view)))
    decky_rows = [
        [
            d.name,
            d.home_lan,
            " ".join(f"{m.lan}={m.ip}" for m in d.memberships),
            ",".join(d.services),
            "yes" if d.forwards_l3 else "",
            " ".join(d.publish),
        ]
        for d in view.deckies
    ]
    columns = ["name", "home", "addresses", "services", "forwards", "publish"]
    console.print(common.table("Deckies", columns, decky_rows))


def _lan_rows(view: engine.TopologyView) -> list[list[object]]:
    homed = Counter(d.home_lan for d in view.deckies)  # one pass: 10,000 deckies x 4,096 LANs
    return [
        [lan.name, lan.subnet, "yes" if lan.is_dmz else "", homed[lan.name]] for lan in view.lans
    ]


@app.command()
def validate(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, metavar="[NAME]", help="A stored topology."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="A topology file instead.", callback=common.absolute
    ),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """List every problem of a stored topology or a file; exit 1 if any is an error."""
    if (name is None) == (file is None):
        raise UsageError("give either NAME or -f FILE", hint="decnet topology validate corp")
    if file is not None:
        parsed = parse_topology_file(_read(file), str(file), catalog=common.catalog())
        issues = engine.validate_topology(_claims(ctx), parsed, catalog=common.catalog())
    else:
        issues = engine.validate_stored(common.open_store(ctx), str(name), catalog=common.catalog())
    _print_issues(issues, json_out)
    if any(i.severity is Severity.ERROR for i in issues):
        raise typer.Exit(EXIT_ERROR)


def _claims(ctx: typer.Context) -> Store | None:
    """The database whose topologies' claims on the host a file is checked against; without
    one the file is checked alone, and a note says so (never a new, empty database)."""
    path = common.settings(ctx).db_path
    if not os.path.lexists(path):
        common.note(
            f"note: no database at {path}: the file is checked without the claims of stored "
            "topologies (check --db or DECNET_DB if there should be one)"
        )
        return None
    return common.open_store(ctx)


def _print_issues(issues: list[Issue], json_out: bool) -> None:
    if json_out:
        common.print_json(issues)
        return
    if not issues:
        typer.echo("valid: no problems found")
        return
    rows = [[i.severity.value, i.code, i.path, i.message] for i in issues]
    columns = ["severity", "code", "path", "message"]
    common.stdout().print(common.table(f"{len(issues)} problems", columns, rows))


@app.command()
def export(
    ctx: typer.Context,
    name: str = NAME,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write here, not stdout.", callback=common.absolute
    ),
    include_secrets: bool = typer.Option(
        False, "--include-secrets", help=f"Write secret values instead of {MASK}."
    ),
) -> None:
    """Export a topology as a topology file (secrets masked unless --include-secrets)."""
    text = engine.export_topology(
        common.open_store(ctx), name, catalog=common.catalog(), include_secrets=include_secrets
    )
    if not include_secrets and MASK in text:
        common.note(
            "warning: secret values are masked; `create` refuses the file until they are "
            "filled in (or export with --include-secrets)"
        )
    if output is None:
        typer.echo(text, nl=False)
        return
    _write_private(output, text)
    common.note(f"wrote {output}")


def _write_private(path: Path, text: str) -> None:
    """Mode 0600 before the first byte, also over an existing file: it may hold secrets."""
    try:
        write_private(path, text)
    except OSError as err:
        raise UsageError(
            f"cannot write {path}: {err.strerror or err}", hint="check the path"
        ) from None


@app.command()
def graph(
    ctx: typer.Context,
    name: str = NAME,
    fmt: engine.GraphFormat = typer.Option(
        engine.GraphFormat.MERMAID, "--format", help="Output format."
    ),
) -> None:
    """Print the topology as a Mermaid or Graphviz DOT graph."""
    typer.echo(engine.graph_topology(common.open_store(ctx), name, fmt), nl=False)


@app.command()
def delete(
    ctx: typer.Context,
    name: str = NAME,
    expected_version: int | None = typer.Option(
        None, help="Refuse unless the topology is at this version (optimistic concurrency)."
    ),
) -> None:
    """Delete a pending, failed or torn-down topology and all of its rows."""
    engine.delete_topology(common.open_store(ctx), name, expected_version=expected_version)
    common.echo(f"deleted {name}")
