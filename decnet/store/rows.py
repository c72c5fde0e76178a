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
