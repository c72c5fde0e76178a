"""`decnet mutate`, `decnet mutations …` and `decnet watch`: edits with ops, and the reconciler.

`mutate NAME OP KEY=VALUE…` builds one op from its arguments (dotted keys nest:
`config.ssh.banner=x`, `canvas.x=10`; list keys split on commas; `null` removes a config key);
`mutate NAME -f BATCH.yml` sends a batch file (docs/mutations.md). Each command is one call of
`decnet.engine.mutations` or `decnet.engine.watch`.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any

import typer
import yaml

from decnet.cli import common
from decnet.cli.lifecycle import INVENTORY_OPTION
from decnet.core.ops import OP_TYPES, Batch, parse_batch, parse_ops
from decnet.core.plan import plan_text
from decnet.engine import mutations as engine
from decnet.engine.watch import TopologyRound, Watcher, WatchOptions
from decnet.errors import EXIT_ERROR, EXIT_INTERRUPTED, UsageError
from decnet.models import Catalog
from decnet.store.rows import MutationState

app = typer.Typer()
mutations_app = typer.Typer(
    cls=common.DefaultCommandGroup,
    help="List a topology's mutations (`decnet mutations NAME`), or cancel a pending one.",
    no_args_is_help=True,
)

MAX_BATCH_BYTES = 16 * 1024 * 1024
_LISTS = frozenset({"services", "publish"})
_BOOLS = frozenset({"dmz", "forwards_l3", "force"})
_FLOATS = frozenset({"x", "y", "w", "h"})


# --- building one op from the command line ------------------------------------------------------


def _bool(key: str, text: str) -> bool:
    if text not in ("true", "false"):
        raise UsageError(f"{key}={text!r}: expected true or false", hint=f"write {key}=true")
    return text == "true"


def _float(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (text.isascii() and value == value and abs(value) != float("inf")):
        raise UsageError(f"{key}={text!r}: expected a number", hint=f"write {key}=120")
    return value


def _config_value(catalog: Catalog, service: str, key: str, text: str) -> object:
    """Typed by the service's config schema, so `port=2222` is an int and `banner=1` a str."""
    if text == "null":
        return None
    spec = catalog.services.get(service)
    param = spec.param(key) if spec is not None else None
    where = f"config.{service}.{key}"
    if param is not None and param.type == "bool":
        return _bool(where, text)
    if param is not None and param.type == "int":
        if not (text.isascii() and text.lstrip("-").isdigit()):
            raise UsageError(f"{where}: expected an integer", hint=f"write {where}=42")
        return int(text)
    return text


def _value(catalog: Catalog, path: list[str], text: str) -> object:
    key = path[-1]
    if path[0] == "config" and len(path) == 3:
        return _config_value(catalog, path[1], path[2], text)
    if path[0] == "canvas" and key in _FLOATS:
        return _float(".".join(path), text)
    if len(path) == 1 and key in _LISTS:
        return [item.strip() for item in text.split(",") if item.strip()]
    if len(path) == 1 and key in _BOOLS:
        return _bool(key, text)
    return text


def _assign(target: dict[str, Any], path: list[str], value: object, raw: str) -> None:
    for part in path[:-1]:
        nested = target.setdefault(part, {})
        if not isinstance(nested, dict):
            raise UsageError(f"{raw!r} nests under a key that has a value", hint="check the keys")
        target = nested
    target[path[-1]] = value


def build_op(op: str, pairs: list[str], payload: str | None, catalog: Catalog) -> dict[str, Any]:
    """One op as data from `KEY=VALUE` pairs over an optional JSON `--payload`."""
    if op not in OP_TYPES:
        raise UsageError(f"unknown op {op[:40]!r}", hint="ops: " + ", ".join(OP_TYPES))
    data: dict[str, Any] = {}
    if payload is not None:
        loaded = common.parse_json_option("--payload", payload)
        if not isinstance(loaded, dict):
            raise UsageError("--payload must be a JSON object", hint="e.g. --payload '{\"x\": 1}'")
        data.update(loaded)
    for pair in pairs:
        key, sep, text = pair.partition("=")
        path = key.split(".")
        if not sep or not all(path):
            raise UsageError(f"{pair[:60]!r} is not KEY=VALUE", hint="e.g. name=web3 lan=dmz")
        _assign(data, path, _value(catalog, path, text), pair)
    return {**data, "op": op}


def _read_batch(file: Path) -> Batch:
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_BATCH_BYTES + 1)
    except OSError as err:
        raise UsageError(
            f"cannot read batch file {file}: {err.strerror}", hint="check the path"
        ) from None
    if len(raw) > MAX_BATCH_BYTES:
        raise UsageError(f"batch file {file} is over {MAX_BATCH_BYTES} bytes", hint="split it")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise UsageError(
            f"batch file {file}{where} is not valid YAML", hint="see docs/mutations.md"
        ) from None
    return parse_batch(data)


# --- output ---------------------------------------------------------------------------------


def _print_plan(view: engine.PlanView) -> None:
    console = common.stdout()
    state = "valid" if view.valid else "INVALID"
    where = "live" if view.live else "pending (nothing on a host changes)"
    common.echo(f"{view.topology}: {state} batch on a {where} topology ({view.status})")
    if view.issues:
        rows = [[i.severity.value, i.code, i.path, i.message] for i in view.issues]
        console.print(common.table("problems", ["severity", "code", "path", "message"], rows))
    if view.plan is not None:
        for line in plan_text(view.plan).splitlines():
            common.echo(line)


def _print_submit(result: engine.SubmitResult) -> None:
    for note in result.notes:
        common.note(f"note: {note}")
    for warning in result.warnings:
        common.note(f"warning: {warning.code} at {warning.path}: {warning.message}")
    if result.mode == "unchanged":
        common.echo(
            f"unchanged: the batch changes nothing in {result.topology} "
            f"(still at version {result.version}; nothing written or queued)"
        )
        return
    if result.mutation is None:
        common.echo(
            f"applied to pending topology {result.topology}: now at version {result.version}"
        )
        return
    common.echo(
        f"enqueued mutation {result.mutation.id} on {result.topology} "
        f"(version {result.version}); follow it with `decnet mutations {result.topology}`"
    )


def _print_mutations(rows: list[engine.MutationView]) -> None:
    table = [
        [m.id, m.op, m.state.value, m.version, m.requested_at, m.finished_at, m.reason]
        for m in rows
    ]
    columns = ["id", "op", "state", "version", "requested", "finished", "reason"]
    common.stdout().print(common.table(None, columns, table))


# --- commands ---------------------------------------------------------------------------------


@app.command(no_args_is_help=True)
def mutate(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="The topology to change."),
    op: str | None = typer.Argument(None, metavar="[OP]", help="One op: " + ", ".join(OP_TYPES)),
    pairs: list[str] = typer.Argument(None, metavar="[KEY=VALUE]...", help="The op's keys."),
    file: Path | None = typer.Option(None, "--file", "-f", help="A batch file of ops instead."),
    payload: str | None = typer.Option(None, "--payload", help="The op's keys as JSON."),
    expected_version: int | None = typer.Option(
        None, "--expected-version", min=1, help="Refuse unless the topology is at this version."
    ),
    plan: bool = typer.Option(False, "--plan", help="Validate and show the plan; change nothing."),
    wait: bool = typer.Option(
        False, "--wait", help="Block until a live change is applied (exit 0) or failed (exit 1)."
    ),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Change a topology with ops: at once when pending, through the queue when live."""
    context = common.open_context(ctx)
    batch = _batch(op, pairs or [], payload, file, expected_version, context.catalog)
    if plan:
        view = engine.plan_ops(context, name, batch.ops, expected_version=batch.expected_version)
        common.print_json(view) if json_out else _print_plan(view)
        if not view.valid:
            raise typer.Exit(EXIT_ERROR)
        return
    result = engine.submit_batch(context, name, batch)
    if wait and result.mutation is not None:
        common.note(f"waiting for mutation {result.mutation.id} (a `decnet watch` applies it)")
        result.mutation = engine.wait_mutation(context, result.mutation.id)
    common.print_json(result) if json_out else _print_submit(result)
    if result.mutation is not None and wait:
        _report_wait(result.mutation, json_out)


def _report_wait(mutation: engine.MutationView, json_out: bool) -> None:
    if not json_out:
        common.echo(f"mutation {mutation.id}: {mutation.state} ({mutation.reason or ''})")
    if mutation.state != MutationState.APPLIED:
        raise typer.Exit(EXIT_ERROR)


def _batch(
    op: str | None,
    pairs: list[str],
    payload: str | None,
    file: Path | None,
    expected_version: int | None,
    catalog: Catalog,
) -> Batch:
    if (file is None) == (op is None):
        raise UsageError("give an OP with its KEY=VALUE pairs, or -f BATCH.yml", hint=_EXAMPLE)
    if file is not None:
        if pairs or payload is not None:
            raise UsageError("-f BATCH.yml takes no OP, KEY=VALUE or --payload", hint=_EXAMPLE)
        batch = _read_batch(file)
        if expected_version is not None and batch.expected_version not in (None, expected_version):
            raise UsageError(
                "--expected-version differs from the batch file's expected_version",
                hint="drop one of them",
            )
        version = expected_version or batch.expected_version
        return Batch.model_construct(ops=batch.ops, expected_version=version)
    ops = parse_ops([build_op(str(op), pairs, payload, catalog)])
    return Batch.model_construct(ops=ops, expected_version=expected_version)


_EXAMPLE = "decnet mutate corp add_decky name=web3 lan=dmz services=ssh,http"


@mutations_app.command("list")
def list_(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="A stored topology."),
    state: MutationState | None = typer.Option(None, "--state", help="Only this state."),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """A topology's mutations, oldest first (secret config values masked)."""
    rows = engine.list_mutations(common.open_context(ctx), name, state=state)
    common.print_json(rows) if json_out else _print_mutations(rows)


@mutations_app.command()
def cancel(
    ctx: typer.Context,
    mutation_id: str = typer.Argument(..., metavar="ID", help="A pending mutation."),
) -> None:
    """Cancel a pending mutation (one being applied cannot be)."""
    row = engine.cancel_mutation(common.open_context(ctx), mutation_id)
    common.echo(f"cancelled mutation {row.id} of {row.topology}")


@app.command()
def watch(
    ctx: typer.Context,
    inventory: Path | None = INVENTORY_OPTION,
    interval: float = typer.Option(2.0, "--interval", min=0.1, help="Seconds between rounds."),
    drift_every: float = typer.Option(
        300.0, "--drift-every", min=0.0, help="Seconds between drift scans (0: never)."
    ),
    once: bool = typer.Option(False, "--once", help="Drain every queue, converge, and exit."),
) -> None:
    """The reconciler: apply queued mutations, converge what drifted, until stopped."""
    context = common.open_context(ctx, create=True)
    opts = WatchOptions(inventory=inventory, interval=interval, drift_every=drift_every)
    watcher = Watcher(context, opts)
    stopped: dict[str, int] = {}

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stopped:
            raise KeyboardInterrupt
        stopped["signal"] = signum
        common.note("stopping after the current round (again to abort)")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        watcher.run(lambda: bool(stopped), once=once, on_round=_print_round)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopped.get("signal") == signal.SIGINT:
        raise typer.Exit(EXIT_INTERRUPTED)


def _print_round(results: list[TopologyRound]) -> None:
    for r in results:
        what = "resync" if r.converged else f"{len(r.applied)} applied, {len(r.failed)} failed"
        common.echo(f"{r.topology}: {what}; {r.status} ({r.reason})")
