"""Read models the store returns besides `Topology` (plain data, no behaviour)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from decnet.models import Status
from decnet.policy import WithActions


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopologySummary(_Row, WithActions):
    name: str
    version: int
    host: str
    lans: int
    deckies: int
    needs_resync: bool
    created_at: str
    status_changed_at: str


class StatusEventRow(_Row):
    from_status: Status
    to_status: Status
    at: str
    reason: str


class EventRow(_Row):
    id: int
    at: str
    topic: str
    topology: str | None
    type: str
    payload: dict[str, Any]


RUNNING = "running"
"""The status of a run from `start_run` until `finish_run`."""


class RunRow(_Row):
    id: str
    kind: str
    hosts: list[str]
    topologies: list[str]
    status: str
    owner: str
    lease_expires_at: str | None
    started_at: str
    finished_at: str | None
    stats: dict[str, Any]
    artifact_dir: str
    error: str | None


class HostReportRow(_Row):
    host: str
    report: dict[str, Any]
    gathered_at: str
    reachable: bool
    error: str | None


class MutationState(StrEnum):
    PENDING = "pending"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({MutationState.PENDING, MutationState.APPLYING})
"""States of a mutation that is not finished: `applying` (claimed) and `pending` (queued)."""


class MutationRow(_Row):
    """One queued batch of ops. `ops` may hold secret values: never shown unmasked."""

    id: str
    topology: str
    op: str
    """The op kind, or `batch` for several ops."""
    ops: list[dict[str, Any]]
    state: MutationState
    version: int | None
    """The topology version the enqueue produced."""
    requested_at: str
    started_at: str | None
    finished_at: str | None
    reason: str | None
    issues: list[dict[str, Any]]
    lease_owner: str | None
    lease_expires_at: str | None
    accepted: bool
    """The batch is in the desired state (it awaits, or went through, the host apply)."""
    run_id: str | None


class ApiTokenRow(_Row):
    """One API token (or editor session); only the SHA-256 of the token is ever stored."""

    id: str
    name: str
    role: str
    token_hash: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class CollectSourceRow(_Row):
    """One source directory of a host (TOPOLOGY/DECKY/FAMILY): the collector's cursor and what
    the host side and the sensor last reported."""

    host: str
    source: str
    epoch: str
    seq: int
    """The last line committed (with its events)."""
    committed_at: str
    last_line_at: str | None
    """Sensor time of the last line committed."""
    lines: int
    gaps: int
    missing: int
    """Lines rotated away before they were collected, in all gaps."""
    written_epoch: str | None
    written_seq: int | None
    """The newest line the host side saw in the source."""
    reported_at: str | None
    sensor_kind: str | None
    """The sensor's last word about itself: start, heartbeat or error."""
    sensor_at: str | None
    sensor_detail: str | None


class CollectHostRow(_Row):
    """One host's stream."""

    host: str
    owner: str | None
    lease_expires_at: str | None
    state: str
    """connecting | connected | down"""
    state_since: str | None
    last_frame_at: str | None
    host_time: str | None
    error: str | None
    stalled_since: str | None
    updated_at: str
