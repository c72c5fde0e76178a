"""Outputs for the SOC (docs/observe.md): what an output is, and the pure rules of delivery.

An output forwards the events of the bus to a receiver — an RFC 5424 syslog server, a JSON lines
file, an HTTPS webhook — with a filter (event type globs, topologies) and an optional
aggregation window. Its description (`OutputSpec`) is shown everywhere; what must never be
shown (a webhook's URL, which often carries a token in its path, its HMAC key and extra header
values) is an `OutputSecret`, stored apart and read only to deliver.

Events here are in their wire form (the JSON of `GET /events`): `id`, `at`, `topic`,
`topology`, `type`, `payload`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from decnet.models import NAME_RE

DEFAULT_TYPES = ("attack.*",)
"""What an output forwards unless told otherwise: what intruders did."""
DOCUMENTATION_PEN = 32473
"""The private enterprise number IANA reserves for documentation (RFC 5612): the default
SD-ID suffix (`decnet@32473`) until a site sets its own with `--enterprise-id`."""
SYSLOG_MAX_MESSAGE = 8192
"""Octets of one syslog message by default: what RFC 5425 receivers SHOULD take, and rsyslog's
default `maxMessageSize`. Longer messages have their longest values cut (and say so)."""
JSONL_MAX_BYTES = 100 * 1024 * 1024
JSONL_KEEP = 5
WEBHOOK_TIMEOUT = 10.0
TEST_EVENT_ID = 0
"""The id of the synthetic event `decnet outputs test` sends: no event in the table has it."""


class Facility(IntEnum):
    """RFC 5424 §6.2.1 facilities, by their usual names."""

    KERN = 0
    USER = 1
    MAIL = 2
    DAEMON = 3
    AUTH = 4
    SYSLOG = 5
    LPR = 6
    NEWS = 7
    UUCP = 8
    CRON = 9
    AUTHPRIV = 10
    FTP = 11
    LOCAL0 = 16
    LOCAL1 = 17
    LOCAL2 = 18
    LOCAL3 = 19
    LOCAL4 = 20
    LOCAL5 = 21
    LOCAL6 = 22
    LOCAL7 = 23


class Severity(IntEnum):
    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyslogOptions(_Frozen):
    kind: Literal["syslog"] = "syslog"
    transport: Literal["tcp", "tls"]
    host: str
    port: int = Field(ge=1, le=65535)
    ca: str | None = None
    """PEM file of the CA that signed the receiver's certificate (TLS; default: the system's)."""
    cert: str | None = None
    """PEM file of a client certificate, for receivers that authenticate senders."""
    key: str | None = None
    """Its private key (the path is stored; the file stays where it is)."""
    app_name: str = Field(default="decnet", pattern=r"^[!-~]{1,48}$")
    hostname: str | None = Field(default=None, pattern=r"^[!-~]{1,255}$")
    """HOSTNAME of every message (default: this machine's name at delivery time)."""
    facility: str = "local0"
    enterprise: int = Field(default=DOCUMENTATION_PEN, ge=1, le=2**31 - 1)
    max_message: int = Field(default=SYSLOG_MAX_MESSAGE, ge=1024, le=16 * 1024 * 1024)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}://{host}:{self.port}"


class JsonlOptions(_Frozen):
    kind: Literal["jsonl"] = "jsonl"
    path: str
    """Absolute path of the file; rotated ones are PATH.1 … PATH.KEEP."""
    max_bytes: int = Field(default=JSONL_MAX_BYTES, ge=4096)
    keep: int = Field(default=JSONL_KEEP, ge=0, le=1000)


class WebhookOptions(_Frozen):
    kind: Literal["webhook"] = "webhook"
    endpoint: str
    """`scheme://host:port` of the URL: what is shown (the full URL is secret)."""
    ca: str | None = None
    timeout: float = Field(default=WEBHOOK_TIMEOUT, gt=0, le=300)
    headers: tuple[str, ...] = ()
    """Names of the extra headers sent (their values are secret)."""


Options = Annotated[SyslogOptions | JsonlOptions | WebhookOptions, Field(discriminator="kind")]


class OutputSpec(_Frozen):
    """An output as it is shown: everything but its secrets."""

    name: str = Field(pattern=NAME_RE.pattern)
    options: Options
    types: tuple[str, ...] = DEFAULT_TYPES
    """Event type globs (SQLite GLOB, as `decnet events --type`): any one matches."""
    topologies: tuple[str, ...] = ()
    """Only events of these topologies (empty: every event, with or without a topology)."""
    aggregate: int | None = Field(default=None, ge=1, le=86400)
    """Seconds of an aggregation window (None: every event is delivered on its own)."""

    @property
    def kind(self) -> str:
        return self.options.kind

    @property
    def target(self) -> str:
        """Where it delivers, for people: no secret in it."""
        if isinstance(self.options, SyslogOptions):
            return self.options.url
        if isinstance(self.options, JsonlOptions):
            return self.options.path
        return self.options.endpoint + "/…"


class OutputSecret(_Frozen):
    """What an output needs to deliver and nobody may see: never logged, printed or served."""

    url: str | None = None
    key: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)


# --- the pure rules of delivery -----------------------------------------------------------


def backoff(attempt: int, *, base: float, cap: float, rand: float) -> float:
    """Seconds to wait before retry number `attempt` (0-based): exponential, capped, with
    jitter (`rand` in [0, 1)) so outputs failing together do not retry in lockstep."""
    delay: float = min(cap, base * 2.0 ** min(attempt, 32))
    return delay / 2 + delay / 2 * rand


def severity(event: dict[str, Any]) -> Severity:
    """The syslog severity of an event (docs/observe.md has the table)."""
    kind = str(event.get("type", ""))
    payload = event.get("payload") or {}
    if kind == "attack.login" and payload.get("outcome") == "success":
        return Severity.ALERT
    if kind in ("attack.command", "attack.download"):
        return Severity.CRITICAL
    if kind.startswith("attack."):
        return Severity.WARNING
    if kind in ("collect.gap", "collect.stalled", "output.gap", "output.failing"):
        return Severity.ERROR
    if kind.endswith((".failed", ".unreachable", ".error")):
        return Severity.ERROR
    return Severity.INFORMATIONAL if kind != "output.test" else Severity.NOTICE
