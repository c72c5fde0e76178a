"""What a user asks for with `decnet outputs add` (or `POST /outputs`), checked and turned into
an output's spec and its secret. Pure: the shell reads files and the environment first.

Every check names the field at fault and what to write instead; an option that does not belong
to the kind asked for is an error, not silently ignored.
"""

from __future__ import annotations

import posixpath
import re
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from decnet.core.outputs import (
    DEFAULT_TYPES,
    Facility,
    JsonlOptions,
    OutputSecret,
    OutputSpec,
    SyslogOptions,
    WebhookOptions,
)
from decnet.errors import InvalidRequest
from decnet.models import NAME_RE

Kind = Literal["syslog", "jsonl", "webhook"]
FLAGS = {
    "url": "--url", "ca": "--ca", "cert": "--cert", "key": "--key", "app_name": "--app-name",
    "hostname": "--hostname", "facility": "--facility", "enterprise_id": "--enterprise-id",
    "max_message": "--max-message", "path": "--path", "max_bytes": "--max-bytes",
    "keep": "--keep", "secret": "--secret-from-file/--secret-env", "headers": "--header",
    "timeout": "--timeout",
}  # fmt: skip
"""Request field -> the CLI option that sets it (named in errors)."""
KIND_FIELDS: dict[str, frozenset[str]] = {
    "syslog": frozenset({"url", "ca", "cert", "key", "app_name", "hostname", "facility",
                         "enterprise_id", "max_message"}),
    "jsonl": frozenset({"path", "max_bytes", "keep"}),
    "webhook": frozenset({"url", "ca", "secret", "headers", "timeout"}),
}  # fmt: skip
"""The kind-specific fields each kind takes."""


class OutputRequest(BaseModel):
    """An output to add: common fields, then the fields of its kind (docs/observe.md)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: str
    kind: Kind
    types: list[str] = []
    """Event type globs (default `attack.*`)."""
    topologies: list[str] = []
    aggregate: str | None = None
    """A window, e.g. `60s` or `5m`: one delivery per source, topology and type per window."""
    since: int | None = None
    """Start after this event id (default: the newest; 0: every event kept)."""
    url: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    app_name: str | None = None
    hostname: str | None = None
    facility: str | None = None
    enterprise_id: int | None = None
    max_message: int | None = None
    path: str | None = None
    max_bytes: int | None = None
    keep: int | None = None
    secret: str | None = None
    """The webhook's HMAC key (stored, never shown)."""
    headers: list[str] = []
    """Extra webhook headers, `Name: value` (values stored as secrets)."""
    timeout: float | None = None


_GLOB = re.compile(r"^[a-z0-9._\-*?\[\]!]{1,100}$")
_HOST = r"(?:\[(?P<v6>[0-9A-Fa-f:.]{2,45})\]|(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})))"
_SYSLOG_URL = re.compile(rf"^(?P<scheme>tcp|tls)://{_HOST}:(?P<port>[0-9]{{1,5}})$")
_PRINTUSASCII = re.compile(r"^[!-~]+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_RESERVED_HEADERS = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding", "connection", "user-agent"}
)
_DURATION = re.compile(r"^([0-9]{1,6})([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^([0-9]{1,15})([KMG]?)$")
_T = TypeVar("_T", bound=BaseModel)


def build(req: OutputRequest) -> tuple[OutputSpec, OutputSecret]:
    """The spec and secret of a valid request; InvalidRequest naming the first problem."""
    check_output_name(req.name)
    stray = sorted(
        f for f in set(FLAGS) - KIND_FIELDS[req.kind] if getattr(req, f) not in (None, [])
    )
    if stray:
        raise InvalidRequest(
            f"{FLAGS[stray[0]]} is not an option of a {req.kind} output",
            field=stray[0],
            hint=f"a {req.kind} output takes "
            + ", ".join(sorted(FLAGS[f] for f in KIND_FIELDS[req.kind])),
        )
    options: SyslogOptions | JsonlOptions | WebhookOptions
    if req.kind == "syslog":
        options, secret = _syslog(req)
    elif req.kind == "jsonl":
        options, secret = _jsonl(req), OutputSecret()
    else:
        options, secret = _webhook(req)
    spec = OutputSpec(
        name=req.name,
        options=options,
        types=check_types(tuple(req.types)),
        topologies=check_topologies(tuple(req.topologies)),
        aggregate=None if req.aggregate is None else parse_window(req.aggregate),
    )
    return spec, secret


def _required(value: str | None, field: str, kind: str, example: str) -> str:
    if not value:
        raise InvalidRequest(
            f"a {kind} output needs {FLAGS[field]}", field=field, hint=f"e.g. {example}"
        )
    return value


def _syslog(req: OutputRequest) -> tuple[SyslogOptions, OutputSecret]:
    url = _required(req.url, "url", "syslog", "--url tls://siem.example.org:6514")
    transport, host, port = parse_syslog_url(url)
    if transport == "tcp" and (req.ca or req.cert or req.key):
        raise InvalidRequest(
            "--ca, --cert and --key are for tls:// URLs",
            field="ca",
            hint="use tls://HOST:PORT to send over TLS (RFC 5425)",
        )
    if req.key and not req.cert:
        raise InvalidRequest(
            "--key without --cert", field="key", hint="give the client certificate with --cert"
        )
    values = {
        "transport": transport,
        "host": host,
        "port": port,
        "ca": _absolute(req.ca, "ca"),
        "cert": _absolute(req.cert, "cert"),
        "key": _absolute(req.key, "key"),
        "app_name": check_printusascii(req.app_name, "app_name", 48) if req.app_name else None,
        "hostname": check_printusascii(req.hostname, "hostname", 255) if req.hostname else None,
        "facility": check_facility(req.facility) if req.facility else None,
        "enterprise": req.enterprise_id,
        "max_message": req.max_message,
    }
    given = {k: v for k, v in values.items() if v is not None}
    return _options(SyslogOptions, given), OutputSecret()


def _jsonl(req: OutputRequest) -> JsonlOptions:
    path = _required(req.path, "path", "jsonl", "--path /var/log/decnet/events.jsonl")
    values = {"path": _absolute(path, "path"), "max_bytes": req.max_bytes, "keep": req.keep}
    return _options(JsonlOptions, {k: v for k, v in values.items() if v is not None})


def _webhook(req: OutputRequest) -> tuple[WebhookOptions, OutputSecret]:
    url = _required(req.url, "url", "webhook", "--url https://siem.example.org/hooks/decnet")
    endpoint = parse_webhook_url(url)
    if req.ca and not endpoint.startswith("https:"):
        raise InvalidRequest("--ca is for https:// URLs", field="ca", hint="use https://")
    key = check_key(_required(req.secret, "secret", "webhook", "--secret-from-file KEYFILE"))
    headers = dict(parse_header(h) for h in req.headers)
    values = {
        "endpoint": endpoint,
        "ca": _absolute(req.ca, "ca"),
        "timeout": req.timeout,
        "headers": tuple(headers),
    }
    options = _options(WebhookOptions, {k: v for k, v in values.items() if v is not None})
    return options, OutputSecret(url=url, key=key, headers=headers)


def _options(model: type[_T], values: dict[str, object]) -> _T:
    """The kind's options; a bound broken (`keep` of -1) names its field."""
    try:
        return model.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "options"
        field = {"enterprise": "enterprise_id"}.get(field, field)
        raise InvalidRequest(
            f"{FLAGS.get(field, field)}: {first['msg']}",
            field=field,
            hint="see `decnet outputs add --help` for the allowed values",
        ) from None


def _absolute(path: str | None, field: str) -> str | None:
    if path is None:
        return None
    if "\0" in path or len(path) > 4096 or not posixpath.isabs(path):
        raise InvalidRequest(
            f"{FLAGS[field]} {path[:80]!r} is not an absolute path",
            field=field,
            hint="give the file's full path",
        )
    return posixpath.normpath(path)


# --- single values ------------------------------------------------------------------------


def check_output_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise InvalidRequest(
            f"output name {name[:80]!r} does not match {NAME_RE.pattern}",
            field="name",
            hint="use 1-63 lowercase letters, digits and '-', starting with a letter",
        )
    return name


def check_types(globs: tuple[str, ...]) -> tuple[str, ...]:
    for glob in globs:
        if not _GLOB.fullmatch(glob):
            raise InvalidRequest(
                f"event type pattern {glob[:80]!r} has characters no event type has",
                field="types",
                hint="use lower-case letters, digits, '.', '_', '-' and the wildcards * ? [ ], "
                "e.g. 'attack.*'",
            )
    return tuple(dict.fromkeys(globs)) or DEFAULT_TYPES


def check_topologies(names: tuple[str, ...]) -> tuple[str, ...]:
    for name in names:
        if not NAME_RE.fullmatch(name):
            raise InvalidRequest(
                f"topology name {name[:80]!r} does not match {NAME_RE.pattern}",
                field="topologies",
                hint="give the name of a topology, as `decnet topology list` shows it",
            )
    return tuple(dict.fromkeys(names))


def parse_window(text: str) -> int:
    """`60s`, `5m`, `1h`, `1d` -> seconds (at most a day)."""
    match = _DURATION.fullmatch(text.strip())
    seconds = int(match[1]) * _UNIT[match[2]] if match else 0
    if not 1 <= seconds <= 86400:
        raise InvalidRequest(
            f"aggregation window {text[:40]!r} is not a duration of 1s to 1d",
            field="aggregate",
            hint="write a number and a unit s, m, h or d, e.g. 60s or 5m",
        )
    return seconds


def parse_size(text: str, field: str = "max_bytes") -> int:
    """`1048576`, `512K`, `100M`, `2G` -> bytes."""
    match = _SIZE.fullmatch(text.strip().upper().removesuffix("B"))
    if match is None:
        raise InvalidRequest(
            f"{FLAGS.get(field, field)} {text[:40]!r} is not a size",
            field=field,
            hint="a number of bytes, or with K, M or G, e.g. 100M",
        )
    return int(match[1]) << (10 * " KMG".index(match[2] or " "))


def parse_syslog_url(url: str) -> tuple[Literal["tcp", "tls"], str, int]:
    """`tcp://HOST:PORT` or `tls://HOST:PORT` (HOST a name, an IPv4 or `[IPv6]`)."""
    match = _SYSLOG_URL.fullmatch(url.strip())
    port = int(match["port"]) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise InvalidRequest(
            f"syslog url {url[:120]!r} is not tcp://HOST:PORT or tls://HOST:PORT",
            field="url",
            hint="e.g. tls://siem.example.org:6514 (RFC 5425) or tcp://127.0.0.1:514 (RFC 6587)",
        )
    transport: Literal["tcp", "tls"] = "tls" if match["scheme"] == "tls" else "tcp"
    return transport, match["v6"] or match["host"], port


def check_facility(name: str) -> str:
    if name.upper() not in Facility.__members__:
        known = ", ".join(f.name.lower() for f in Facility)
        raise InvalidRequest(
            f"syslog facility {name[:40]!r} is unknown", field="facility", hint=f"one of {known}"
        )
    return name.lower()


def check_printusascii(value: str, field: str, limit: int) -> str:
    """RFC 5424 header fields (HOSTNAME, APP-NAME): printable US-ASCII, no space."""
    if not _PRINTUSASCII.fullmatch(value) or len(value) > limit:
        raise InvalidRequest(
            f"{FLAGS[field]} {value[:80]!r} is not 1-{limit} printable ASCII characters "
            "without spaces",
            field=field,
            hint="RFC 5424 allows only those in its header fields",
        )
    return value


def parse_webhook_url(url: str) -> str:
    """The `scheme://host:port` of a valid webhook URL (what may be shown). The rest (path,
    query) is not echoed in errors: it often carries a token."""
    bad = len(url) > 2048 or not url.isascii() or not url.isprintable() or " " in url
    parts = urlsplit(url) if not bad else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(
            "webhook url is not an http:// or https:// URL",
            field="url",
            hint="e.g. https://siem.example.org/hooks/decnet (printable ASCII, at most 2048)",
        )
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidRequest(
            "webhook url carries a user, a password or a #fragment",
            field="url",
            hint="send credentials as a header: --header 'Authorization: Bearer …'",
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidRequest(
            "webhook url has an invalid port", field="url", hint="a port is 1-65535"
        ) from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def parse_header(text: str) -> tuple[str, str]:
    """`Name: value` of an extra webhook header (the value is never echoed)."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _HEADER_NAME.fullmatch(name) or not value:
        raise InvalidRequest(
            "a --header is not 'Name: value'",
            field="headers",
            hint="e.g. 'Authorization: Bearer …'",
        )
    if name.lower() in _RESERVED_HEADERS or name.lower().startswith("x-decnet-"):
        raise InvalidRequest(
            f"header {name!r} is set by decnet itself",
            field="headers",
            hint="leave out Host, Content-*, Connection, User-Agent and X-Decnet-*",
        )
    if len(value) > 4096 or not value.isascii() or not value.isprintable():
        raise InvalidRequest(
            f"the value of header {name!r} is not printable ASCII of at most 4096 characters",
            field="headers",
            hint="check the value (it is stored as a secret and never shown)",
        )
    return name, value


def check_key(key: str) -> str:
    """A webhook HMAC key: the text of a file or a variable, surrounding whitespace dropped."""
    key = key.strip()
    if not 16 <= len(key) <= 4096 or not key.isprintable():
        raise InvalidRequest(
            f"the webhook key has {len(key)} characters; it needs 16-4096 printable ones",
            field="secret",
            hint="e.g. `head -c 32 /dev/urandom | base64 > key && chmod 600 key`",
        )
    return key
