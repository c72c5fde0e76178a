"""`decnet outputs add|list|test|remove|run`: forward events to a SOC (docs/observe.md)."""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import typer

from decnet.cli import common
from decnet.core.output_request import Kind, OutputRequest, parse_size
from decnet.engine import outputs as engine
from decnet.engine.delivery import OutputRunner
from decnet.errors import EnvironmentProblem, UsageError

app = typer.Typer(
    help="Forward events to a SOC: RFC 5424 syslog (TCP, TLS), JSON lines, signed webhooks.",
    no_args_is_help=True,
)
NAME = typer.Argument(..., metavar="NAME", help="The output's name (^[a-z][a-z0-9-]{0,62}$).")


def _split(values: list[str] | None) -> list[str]:
    """Repeated options, each also comma-separated: `--types 'attack.*,collect.*'`."""
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def _secret(from_file: Path | None, env: str | None) -> str | None:
    if from_file is not None and env is not None:
        raise UsageError(
            "give --secret-from-file or --secret-env, not both", hint="one key per webhook"
        )
    if env is not None:
        if env not in os.environ:
            raise UsageError(
                f"--secret-env {env!r}: no such environment variable",
                hint=f"export {env}=… first (the value is stored; the name is not)",
            )
        return os.environ[env]
    if from_file is None:
        return None
    try:
        info = from_file.stat()
        text = from_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(
            f"--secret-from-file {str(from_file)!r} cannot be read: {err}",
            hint="give a readable text file holding the key",
        ) from None
    if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
        common.note(f"warning: {from_file} is readable by others; chmod 600 it")
    return text


@app.command()
def add(
    ctx: typer.Context,
    name: str = NAME,
    kind: str = typer.Option(..., "--kind", help="syslog, jsonl or webhook."),
    url: str | None = typer.Option(
        None,
        "--url",
        help="syslog: tcp://HOST:PORT (RFC 6587) or tls://HOST:PORT (RFC 5425); "
        "webhook: http(s)://HOST[:PORT]/PATH (shown as scheme://host:port/… only).",
    ),
    ca: Path | None = typer.Option(
        None,
        "--ca",
        help="PEM CA file that signed the receiver's certificate (TLS, HTTPS).",
        callback=common.absolute,
    ),
    cert: Path | None = typer.Option(
        None, "--cert", help="syslog over TLS: PEM client certificate.", callback=common.absolute
    ),
    key: Path | None = typer.Option(
        None, "--key", help="syslog over TLS: its private key.", callback=common.absolute
    ),
    app_name: str | None = typer.Option(None, "--app-name", help="syslog APP-NAME (decnet)."),
    hostname: str | None = typer.Option(
        None, "--hostname", help="syslog HOSTNAME (default: this machine's name)."
    ),
    facility: str | None = typer.Option(None, "--facility", help="syslog facility (local0)."),
    enterprise_id: int | None = typer.Option(
        None, "--enterprise-id", help="Private enterprise number of the SD-IDs (32473)."
    ),
    max_message: int | None = typer.Option(
        None, "--max-message", help="syslog: octets per message before long values are cut (8192)."
    ),
    path: Path | None = typer.Option(
        None, "--path", help="jsonl: the file to append to.", callback=common.absolute
    ),
    max_bytes: str | None = typer.Option(
        None, "--max-bytes", help="jsonl: rotate past this size, e.g. 100M (default 100M)."
    ),
    keep: int | None = typer.Option(None, "--keep", help="jsonl: rotated files kept (5)."),
    secret_from_file: Path | None = typer.Option(
        None, "--secret-from-file", help="webhook: a file holding the HMAC key (16+ characters)."
    ),
    secret_env: str | None = typer.Option(
        None, "--secret-env", help="webhook: an environment variable holding the HMAC key."
    ),
    header: list[str] | None = typer.Option(
        None, "--header", help="webhook: an extra header 'Name: value' (repeatable; secret)."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="webhook: seconds to wait for an answer (10)."
    ),
    types: list[str] | None = typer.Option(
        None, "--types", help="Event type globs, repeatable or comma-separated (attack.*)."
    ),
    topology: list[str] | None = typer.Option(
        None, "--topology", help="Only this topology's events (repeatable; default: all)."
    ),
    aggregate: str | None = typer.Option(
        None,
        "--aggregate",
        help="One delivery per source ip, topology and type per window, e.g. 60s.",
    ),
    since: int | None = typer.Option(
        None, "--since", min=0, help="Start after this event id (default: the next event)."
    ),
    json_out: bool = common.JSON_OPTION,
) -> None:
    """Add an output: each has its own cursor and delivers at least once, with retries."""
    request = OutputRequest(
        name=name,
        kind=_kind(kind),
        url=url,
        ca=None if ca is None else str(ca),
        cert=None if cert is None else str(cert),
        key=None if key is None else str(key),
        app_name=app_name,
        hostname=hostname,
        facility=facility,
        enterprise_id=enterprise_id,
        max_message=max_message,
        path=None if path is None else str(path),
        max_bytes=None if max_bytes is None else parse_size(max_bytes),
        keep=keep,
        secret=_secret(secret_from_file, secret_env),
        headers=list(header or []),
        timeout=timeout,
        types=_split(types),
        topologies=_split(topology),
        aggregate=aggregate,
        since=since,
    )
    view = engine.add_output(common.open_store(ctx, create=True), request)
    if json_out:
        common.print_json(view)
        return
    common.echo(f"added {view.kind} output {view.name} to {view.target}, after event {view.cursor}")
    common.note("it delivers while `decnet serve` or `decnet outputs run` runs")


def _kind(text: str) -> Kind:
    if text not in ("syslog", "jsonl", "webhook"):
        raise UsageError(
            f"--kind {text[:40]!r} is not an output kind", hint="one of syslog, jsonl, webhook"
        )
    return text  # type: ignore[return-value]  # checked just above


@app.command("list")
def list_(ctx: typer.Context, json_out: bool = common.JSON_OPTION) -> None:
    """Outputs: state, lag (events, seconds), delivered/failed/dropped/lost, last error."""
    views = engine.list_outputs(common.open_store(ctx))
    if json_out:
        common.print_json(views)
        return
    rows = [
        [
            v.name,
            v.kind,
            v.target,
            _filter(v),
            v.state,
            f"{v.lag_events}{'+' if v.lag_capped else ''} / {v.lag_seconds:.0f}s",
            f"{v.delivered}/{v.failed}/{v.dropped}/{v.lost}",
            f"{v.last_error_at}: {v.last_error}" if v.last_error else "",
        ]
        for v in views
    ]
    columns = ["name", "kind", "target", "filter", "state", "lag", "ok/failed/dropped/lost",
               "last error"]  # fmt: skip
    common.stdout().print(common.table(None, columns, rows))


def _filter(view: engine.OutputView) -> str:
    spec = view.spec
    where = f" in {','.join(spec.topologies)}" if spec.topologies else ""
    every = f" per {spec.aggregate}s" if spec.aggregate else ""
    return ",".join(spec.types) + where + every


@app.command()
def test(ctx: typer.Context, name: str = NAME, json_out: bool = common.JSON_OPTION) -> None:
    """Send one synthetic `output.test` event (id 0) and say whether it arrived (exit 1 if not)."""
    result = engine.test_output(common.open_store(ctx), name)
    if json_out:
        common.print_json(result)
        if not result.arrived:
            raise typer.Exit(1)
        return
    if not result.arrived:
        raise EnvironmentProblem(
            f"output {name}: the test event did not arrive: {result.detail}",
            hint="check that the receiver runs and listens there (and its TLS names/CA)",
        )
    common.echo(f"output {name}: the test event arrived at {result.target} ({result.detail})")


@app.command()
def remove(ctx: typer.Context, name: str = NAME) -> None:
    """Remove an output (a running worker stops at its next step); its file or receiver stays."""
    view = engine.remove_output(common.open_store(ctx), name)
    common.echo(f"removed output {view.name} (delivered {view.delivered} in all)")


@app.command()
def run(
    ctx: typer.Context,
    once: bool = typer.Option(
        False, "--once", help="Deliver what is pending (windows closed early) and exit."
    ),
    names: list[str] | None = typer.Argument(
        None, metavar="[NAME]...", help="With --once: only these outputs."
    ),
) -> None:
    """Deliver to every output until stopped (SIGTERM or Ctrl-C); `decnet serve` does this
    in-process unless --no-outputs."""
    runner = OutputRunner(common.settings(ctx).db_path)
    common.open_store(ctx)  # migrate (and fail clearly) before any thread starts
    if once:
        results = runner.run_once(names or None)
        for output, error in results.items():
            common.echo(f"{output}: {'caught up' if error is None else 'error: ' + error}")
        if any(error is not None for error in results.values()):
            raise typer.Exit(1)
        return
    if names:
        raise UsageError("NAME is for --once", hint="without --once every output is delivered")
    with _stop_signals() as stop:
        common.note("delivering to every output (Ctrl-C or SIGTERM stops)")
        runner.run(stop)


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM end the run after the deliveries in flight (their cursors committed)."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
