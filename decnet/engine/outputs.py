"""Output use cases: the library calls behind `decnet outputs …` and `/api/v1/outputs`.

`add_output` checks the request (decnet/core/output_request.py) and the files it names (a CA,
a client certificate, the JSON lines file's directory) before it stores anything. Views never
carry a secret: a webhook shows its `scheme://host:port/…` and the names of its extra headers.
"""

from __future__ import annotations

import os
import ssl
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from decnet import events as ev
from decnet.core.output_request import OutputRequest, build
from decnet.core.outputs import (
    TEST_EVENT_ID,
    JsonlOptions,
    OutputSpec,
    SyslogOptions,
    WebhookOptions,
)
from decnet.engine.delivery import claim_is_dead
from decnet.engine.sinks import DeliveryError, make_sink, tls_context
from decnet.errors import InvalidRequest
from decnet.store import Store
from decnet.store import db as dbmod
from decnet.store.outputs import LAG_COUNT_CAP, OutputRow


class OutputView(BaseModel):
    """What `outputs list` shows of one output (no secret)."""

    name: str
    kind: str
    target: str
    """Where it delivers: `tls://host:port`, a file, or a webhook's `https://host:port/…`."""
    spec: OutputSpec
    state: str
    """running (a worker holds it and the last attempt went through), failing (retrying), or
    stopped (no `decnet serve` or `decnet outputs run` is delivering it)."""
    cursor: int
    lag_events: int
    """Matching events not delivered yet (counted up to 1,000,000; `lag_capped` above)."""
    lag_capped: bool
    lag_seconds: float
    """Age of the oldest undelivered event (0: caught up)."""
    delivered: int
    failed: int
    dropped: int
    lost: int
    failures: int
    last_error: str | None
    last_error_at: str | None
    last_delivered_at: str | None
    created_at: str


class DeliveryTest(BaseModel):
    output: str
    target: str
    arrived: bool
    detail: str
    """What the receiver acknowledged, or why it did not."""


def add_output(store: Store, req: OutputRequest, *, confine: Path | None = None) -> OutputView:
    """Check the request and the files it names, then store the output. With `confine` (the
    HTTP API) a JSON lines file must be a plain name, written under that directory."""
    if confine is not None and req.path is not None:
        req = req.model_copy(update={"path": str(_confined(req.path, confine))})
    spec, secret = build(req)
    _check_files(spec)
    cursor = _start(store, req.since)
    row = store.insert_output(spec, secret, cursor)
    return view(store, row)


def list_outputs(store: Store) -> list[OutputView]:
    return [view(store, row) for row in store.list_outputs()]


def get_output(store: Store, name: str) -> OutputView:
    return view(store, store.get_output(name))


def remove_output(store: Store, name: str) -> OutputView:
    """Delete the output; a worker delivering it stops at its next step."""
    return view(store, store.delete_output(name), lag=False)


def test_output(store: Store, name: str) -> DeliveryTest:
    """Send one synthetic `output.test` event (id 0) straight to the receiver, past the filter
    and without touching the cursor; report whether the receiver acknowledged it."""
    row = store.get_output(name)
    payload = ev.OutputTest(output=name, message="a test event from `decnet outputs test`")
    event = {
        "id": TEST_EVENT_ID,
        "at": dbmod.iso(store.clock()),
        "topic": payload.topic,
        "topology": None,
        "type": payload.type,
        "payload": payload.wire(),
    }
    sink = make_sink(row.spec, store.output_secret(row.id))
    try:
        sink.send([event])
        sink.linger(TEST_LINGER)
    except DeliveryError as err:
        return DeliveryTest(output=name, target=row.spec.target, arrived=False, detail=str(err))
    finally:
        sink.close()
    ack = _ACK[row.spec.kind]
    return DeliveryTest(output=name, target=row.spec.target, arrived=True, detail=ack)


TEST_LINGER = 1.0
"""Seconds `outputs test` waits after sending for a receiver to refuse (syslog)."""
_ACK = {
    "syslog": "written to the connection, which the receiver kept open (syslog has no "
    "acknowledgement of its own)",
    "jsonl": "written and fsync'ed",
    "webhook": "the receiver answered 2xx",
}


def view(store: Store, row: OutputRow, *, lag: bool = True) -> OutputView:
    count, oldest = store.output_lag(row.spec, row.cursor) if lag else (0, None)
    age = 0.0
    if oldest is not None:
        age = max(0.0, (store.clock() - datetime.fromisoformat(oldest)).total_seconds())
    return OutputView(
        name=row.name,
        kind=row.spec.kind,
        target=row.spec.target,
        spec=row.spec,
        state=_state(row),
        cursor=row.cursor,
        lag_events=min(count, LAG_COUNT_CAP),
        lag_capped=count > LAG_COUNT_CAP,
        lag_seconds=round(age, 3),
        delivered=row.delivered,
        failed=row.failed,
        dropped=row.dropped,
        lost=row.lost,
        failures=row.failures,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        last_delivered_at=row.last_delivered_at,
        created_at=row.created_at,
    )


def _state(row: OutputRow) -> str:
    held = row.lease_owner is not None and not claim_is_dead(row.lease_owner, row.lease_expires_at)
    if not held:
        return "stopped"
    return "failing" if row.failures else "running"


def _start(store: Store, since: int | None) -> int | None:
    """The cursor of a new output: after `since` (events retention deleted are skipped, not a
    gap), or None (after the newest event)."""
    if since is None:
        return None
    latest = store.latest_event_id()
    if since > latest:
        raise InvalidRequest(
            f"--since {since}: no event has that id yet (the newest is {latest})",
            field="since",
            hint="leave --since out to start with the next event, or 0 for every one kept",
        )
    return max(since, store.events_pruned_through())


def _confined(path: str, directory: Path) -> Path:
    if not path or "/" in path or path.startswith(".") or len(path) > 200:
        raise InvalidRequest(
            f"path {path[:80]!r} is not a plain file name",
            field="path",
            hint=f"over the API a JSON lines file is a name; it is written under {directory}",
        )
    return directory / path


def _check_files(spec: OutputSpec) -> None:
    """The files an output names are usable now (a typo fails here, not at 3 a.m.)."""
    opts = spec.options
    if isinstance(opts, SyslogOptions) and opts.transport == "tls":
        _tls_files(opts.ca, opts.cert, opts.key)
    elif isinstance(opts, WebhookOptions) and opts.ca:
        _tls_files(opts.ca, None, None)
    elif isinstance(opts, JsonlOptions):
        _jsonl_path(Path(opts.path))


def _tls_files(ca: str | None, cert: str | None, key: str | None) -> None:
    for field, path in (("ca", ca), ("cert", cert), ("key", key)):
        if path is not None and not os.access(path, os.R_OK):
            raise InvalidRequest(
                f"--{field} {path!r} cannot be read",
                field=field,
                hint="give a readable PEM file (the server reads it at every connection)",
            )
    try:
        tls_context(ca, cert, key)
    except (OSError, ssl.SSLError) as err:
        raise InvalidRequest(
            f"the TLS files do not load: {getattr(err, 'reason', None) or err}",
            field="ca" if cert is None else "cert",
            hint="--ca takes PEM CA certificates; --cert a PEM certificate (and --key its key)",
        ) from None


def _jsonl_path(path: Path) -> None:
    if path.is_dir():
        raise InvalidRequest(
            f"--path {str(path)!r} is a directory", field="path", hint="name a file inside it"
        )
    if path.exists() and not path.is_file():
        raise InvalidRequest(
            f"--path {str(path)!r} is not a regular file",
            field="path",
            hint="JSON lines go to a regular file (it is rotated by renaming)",
        )
    parent = next((p for p in path.parents if p.exists()), Path("/"))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidRequest(
            f"--path {str(path)!r}: {str(parent)!r} is not a writable directory",
            field="path",
            hint="choose a file in a directory decnet can write",
        )
