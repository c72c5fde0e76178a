"""Every event type decnet writes to the bus (SPEC §11): one pydantic model per type.

A payload class carries its wire name (`type`) and its `topic` as class variables; writers hand
the store a payload object, never a string and a dict, so an event that is not declared here
cannot be written, and its fields are checked where it is made. On the wire (the JSON page of
`GET /events`, the `data:` of every SSE frame) an event is an envelope — `id`, `at`, `topic`,
`type`, `topology`, `payload` — and `AnyEvent` is the discriminated union of every envelope, on
`type`: it is published in docs/openapi.json, so the editor's TypeScript types are generated from
it instead of cast. docs/api.md lists every type (a test keeps the list and this module in step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, create_model

from decnet.models import Issue, Status
from decnet.policy import Actions

REGISTRY: dict[str, type[EventPayload]] = {}
"""Wire name -> payload class: every event type there is."""


class EventPayload(BaseModel):
    """The payload of one event type; subclasses set `type` and `topic`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: ClassVar[str]
    topic: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("type")
        if name is not None:  # abstract bases (shared shapes) set no type of their own
            if name in REGISTRY:
                raise TypeError(f"event type {name!r} declared twice")
            REGISTRY[name] = cls

    def wire(self) -> dict[str, Any]:
        """The payload as stored and sent: JSON types, wire field names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- topology: the design and its status --------------------------------------------------


class TopologyCreated(EventPayload):
    type = "topology.created"
    topic = "topology"
    version: int


class TopologyUpdated(EventPayload):
    type = "topology.updated"
    topic = "topology"
    version: int
    reason: str | None = None
    """Set when the desired state was restored (a failed live round rolled back)."""


class TopologyDeleted(EventPayload):
    type = "topology.deleted"
    topic = "topology"
    version: int


class TopologyLayout(EventPayload):
    type = "topology.layout"
    topic = "topology"
    version: int
    lans: int
    """How many LAN boxes moved or resized."""
    deckies: int


class TopologyStatus(EventPayload):
    type = "topology.status"
    topic = "topology"
    from_: Status = Field(alias="from")
    to: Status
    reason: str
    actions: Actions
    """What the topology allows in its new status (decnet/policy.py): a client patches its
    view from the event without asking again."""


# --- live mutations -------------------------------------------------------------------------


class MutationEnqueued(EventPayload):
    type = "mutation.enqueued"
    topic = "mutation"
    mutation: str
    op: str
    """The op of a one-op batch, `batch` otherwise."""
    ops: int
    version: int


class MutationApplying(EventPayload):
    type = "mutation.applying"
    topic = "mutation"
    mutation: str
    op: str
    takeover: bool
    """A watcher took over the claim of one that died."""


class _MutationOutcome(EventPayload):
    mutation: str
    op: str
    state: Literal["applied", "failed", "cancelled"]
    reason: str | None = None
    issues: list[Issue] | None = None


class MutationApplied(_MutationOutcome):
    type = "mutation.applied"
    topic = "mutation"


class MutationFailed(_MutationOutcome):
    type = "mutation.failed"
    topic = "mutation"


class MutationCancelled(_MutationOutcome):
    type = "mutation.cancelled"
    topic = "mutation"


# --- Ansible runs and their tasks -----------------------------------------------------------


class RunStarted(EventPayload):
    type = "run.started"
    topic = "run"
    run: str
    kind: str
    """deploy | teardown"""
    hosts: list[str]


class RunFinished(EventPayload):
    type = "run.finished"
    topic = "run"
    run: str
    kind: str
    status: str
    """ansible-runner's status: successful, failed, canceled, timeout."""
    note: str | None = None
    """Why the run's record could not be closed, if it could not."""


class _TaskResult(EventPayload):
    topic = "run"
    run: str
    host: str | None
    task: str
    item: str | None
    """The topology a per-topology result is about."""
    msg: str
    """Scrubbed of secrets and cut to a bounded length."""


class TaskOk(_TaskResult):
    type = "task.ok"


class TaskChanged(_TaskResult):
    type = "task.changed"


class TaskFailed(_TaskResult):
    type = "task.failed"


class TaskUnreachable(_TaskResult):
    type = "task.unreachable"


class TaskSkipped(_TaskResult):
    type = "task.skipped"


TASK_RESULTS: dict[str, type[_TaskResult]] = {
    c.type.removeprefix("task."): c for c in (TaskOk, TaskChanged, TaskFailed, TaskUnreachable,
                                              TaskSkipped)
}  # fmt: skip
"""The runner's result kinds (ok, changed, failed, unreachable, skipped) -> their event."""


class TaskProgress(EventPayload):
    type = "task.progress"
    topic = "run"
    run: str
    host: str | None
    topology: str
    phase: str
    done: int
    total: int


# --- the server's job queue -----------------------------------------------------------------


class JobEvent(EventPayload):
    topic = "job"
    job: str
    kind: Literal["deploy", "teardown", "reconcile", "drift"]
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    topologies: list[str]
    error: str | None = None
    runs: list[str] | None = None
    """The Ansible runs the job started."""


class JobQueued(JobEvent):
    type = "job.queued"


class JobStarted(JobEvent):
    type = "job.started"


class JobFinished(JobEvent):
    type = "job.finished"


# --- drift, the watcher, tokens -------------------------------------------------------------


class DriftFinding(EventPayload):
    type = "drift.finding"
    topic = "drift"
    topology: str
    host: str
    state: Literal["in_sync", "config_drift", "runtime_drift", "unreachable", "unknown"]
    details: list[str]


class WatchError(EventPayload):
    type = "watch.error"
    topic = "watch"
    chore: str
    error: str


class TokenCreated(EventPayload):
    type = "token.created"
    topic = "auth"
    name: str
    role: str


class TokenRevoked(EventPayload):
    type = "token.revoked"
    topic = "auth"
    name: str
    role: str


# --- attacks: what intruders did (SPEC §12; docs/observe.md is the contract) -----------------

ATTACK_SCHEMA = 1
"""Version of the attack events' payload schema: part of the contract tools rely on."""
SHORT = 1024
"""Cap of a credential or name an intruder sent (username, password, user agent, …)."""
LONG = 4096
"""Cap of a command, path, query or URL."""
RAW = 8192
"""Cap of the original sensor line kept with each event."""


class AttackEvent(EventPayload):
    """What every attack event carries: where in the maze (topology, host, LAN, decky,
    service), who (source address and port), which connection (`session`), which sensor
    implementation spoke, when the host saw it, and the original line. Every string in it was
    written by an intruder or derived from what one sent: it is data, escaped on every way out."""

    topic = "attack"
    schema_version: Literal[1] = 1
    """ATTACK_SCHEMA: the payload schema this event follows."""
    topology: str
    host: str
    decky: str
    lan: str | None
    """The LAN of the destination address (None when the sensor did not say which)."""
    service: str
    src_ip: str = Field(max_length=64)
    src_port: int | None = Field(default=None, ge=0, le=65535)
    dst_ip: str | None = Field(default=None, max_length=64)
    dst_port: int | None = Field(default=None, ge=0, le=65535)
    session: str | None = Field(default=None, max_length=128)
    """Groups the events of one connection."""
    sensor: str
    """The implementation that produced the line: cowrie, opencanary, decnet."""
    observed_at: str
    """When the sensor wrote it (host time, ISO 8601 UTC)."""
    line: str
    """Where it came from: `HOST:TOPOLOGY/DECKY/FAMILY#EPOCH:SEQ` (one line, one event id)."""
    raw: str = Field(max_length=RAW)
    """The original sensor line, cut to RAW characters."""

    def wire(self) -> dict[str, Any]:
        # Every field of an attack event already holds JSON (text, numbers, a list of ports)
        # under its own name: the fields themselves, without model_dump's cost — the collector
        # writes thousands a second. tests/observe keeps this equal to model_dump's answer.
        return {k: v for k, v in self.__dict__.items() if v is not None}


class AttackConnect(AttackEvent):
    type = "attack.connect"
    transport: Literal["tcp", "udp"] = "tcp"


class AttackLogin(AttackEvent):
    type = "attack.login"
    username: str = Field(max_length=SHORT)
    password: str | None = Field(default=None, max_length=SHORT)
    """What the intruder tried: intelligence, stored and shown (never a decky's own secret)."""
    outcome: Literal["success", "failure"]
    mechanism: str | None = Field(default=None, max_length=64)
    """password, keyboard-interactive, NTLMSSP, AUTH PLAIN, …"""
    domain: str | None = Field(default=None, max_length=SHORT)
    hash: str | None = Field(default=None, max_length=LONG)
    """A challenge-response the sensor captured instead of a password (e.g. NetNTLMv2)."""


class AttackCommand(AttackEvent):
    type = "attack.command"
    command: str = Field(max_length=LONG)


class AttackRequest(AttackEvent):
    type = "attack.request"
    method: str | None = Field(default=None, max_length=64)
    """HTTP method, protocol verb (SMTP, IMAP, Redis), query kind."""
    path: str | None = Field(default=None, max_length=LONG)
    """HTTP path, mailbox, LDAP DN, DNS name, …"""
    user_agent: str | None = Field(default=None, max_length=SHORT)
    query: str | None = Field(default=None, max_length=LONG)
    """The full text of a database query or protocol command."""


class AttackDownload(AttackEvent):
    type = "attack.download"
    url: str | None = Field(default=None, max_length=LONG)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    size: int | None = Field(default=None, ge=0)


class AttackScan(AttackEvent):
    """The collector's aggregate of many connects from one source to one decky in a short
    window (the connects themselves stay in the table)."""

    type = "attack.scan"
    connects: int = Field(ge=1)
    ports: list[int]
    """Distinct destination ports, ascending (at most 1,024 listed)."""
    first_at: str
    last_at: str


# --- collection: the health of each host's stream ---------------------------------------------


class CollectGap(EventPayload):
    """Lines a sensor wrote that were rotated away before they were collected: counted, never
    silent."""

    type = "collect.gap"
    topic = "collect"
    host: str
    source: str
    """`TOPOLOGY/DECKY/FAMILY` on the host."""
    missing: int = Field(ge=1)
    after_seq: int
    """The last line collected before the gap (0: none of this epoch)."""


class CollectStalled(EventPayload):
    """A host stopped reporting: its stream is down or no line arrived for too long."""

    type = "collect.stalled"
    topic = "collect"
    host: str
    reason: str
    since: str
    """When the host last reported."""


class CollectResumed(EventPayload):
    type = "collect.resumed"
    topic = "collect"
    host: str
    stalled_for: float
    """Seconds it was stalled."""


# --- outputs: delivery to the SOC (docs/observe.md) -------------------------------------------


class OutputGap(EventPayload):
    """Retention deleted events an output had not delivered yet: the output skips past them
    and says so here (the ids are gone; some of them may not have matched its filter)."""

    type = "output.gap"
    topic = "output"
    output: str
    after: int
    """The output's cursor: the last event id it had handled."""
    through: int
    """The highest id retention had deleted."""
    missing: int = Field(ge=1)
    """Event ids skipped (through - after): at most this many events were lost to it."""


class OutputFailing(EventPayload):
    """An output's delivery failed after it had worked (it keeps retrying, with backoff)."""

    type = "output.failing"
    topic = "output"
    output: str
    error: str


class OutputRecovered(EventPayload):
    type = "output.recovered"
    topic = "output"
    output: str
    attempts: int
    """Failed attempts before this delivery went through."""


class OutputTest(EventPayload):
    """The synthetic event `decnet outputs test` sends (id 0; never written to the table)."""

    type = "output.test"
    topic = "output"
    output: str
    message: str


# --- the wire envelope ----------------------------------------------------------------------


class EventEnvelope(BaseModel):
    """What every event looks like on the wire; `payload` is typed per `type`."""

    id: int
    at: str
    topic: str
    type: str
    topology: str | None


def _envelope(payload: type[EventPayload]) -> type[EventEnvelope]:
    # Literal of a runtime string: the union's tag for OpenAPI's discriminator mapping.
    topic: Any = Literal[payload.topic]
    type_: Any = Literal[payload.type]
    model: type[EventEnvelope] = create_model(
        payload.__name__ + "Event",
        __base__=EventEnvelope,
        __doc__=f"A `{payload.type}` event.",
        topic=(topic, ...),
        type=(type_, ...),
        payload=(payload, ...),
    )
    return model


ENVELOPES: dict[str, type[EventEnvelope]] = {t: _envelope(c) for t, c in REGISTRY.items()}

if TYPE_CHECKING:
    AnyEvent = EventEnvelope
else:  # built from the registry: the OpenAPI document (and the TypeScript) see the union
    AnyEvent = Annotated[Union[tuple(ENVELOPES.values())], Field(discriminator="type")]  # noqa: UP007
_ANY_EVENT: TypeAdapter[Any] = TypeAdapter(AnyEvent)


class Event(RootModel[AnyEvent]):
    """Any event, discriminated on `type`: one named schema for API documents and clients."""


def parse_event(data: dict[str, Any]) -> EventEnvelope:
    """One wire event (a dict), validated against its type's model."""
    event: EventEnvelope = _ANY_EVENT.validate_python(data)
    return event
