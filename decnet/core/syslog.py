"""Events as RFC 5424 syslog messages, framed by octet counting (RFC 6587 §3.4.1).

    <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [decnet@PEN …][payload@PEN …] MSG

- MSGID is the event type; TIMESTAMP the event's `at` (UTC, microseconds).
- Every field of the event is an SD-PARAM: the envelope (`id`, `at`, `topic`, `type`,
  `topology`) in the `decnet@PEN` element, the payload's fields in `payload@PEN`; an aggregate
  adds an `aggregate@PEN` element first. PEN is the private enterprise number of the output
  (32473, IANA's number for documentation, unless the site sets its own).
- Values are written in two layers, so an intruder's text can neither break the frame nor be
  changed. First decnet's own: a backslash is doubled and every non-printable character (C0
  and C1 controls, DEL, format characters such as bidi overrides, line separators, lone
  surrogates, unassigned code points) becomes `\\uXXXX` (or `\\UXXXXXXXX`); then RFC 5424
  §6.3.3: `"`, `\\` and `]` get a backslash. A receiver undoes the RFC layer, then
  `unescape_value` (docs/observe.md has the five lines of it) restores the exact value.
  Lists and objects are compact JSON.
- MSG is a short summary for people (control characters escaped, cut): plain ASCII, or UTF-8
  starting with a BOM when it holds other characters (RFC 5424 §6.4).
- A message longer than the output's `max_message` has its longest values cut until it fits;
  `truncated` in `decnet@PEN` lists the fields that were cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from decnet.core.outputs import Facility, SyslogOptions, severity
from decnet.text import terminal_safe

BOM = "\ufeff"
NIL = "-"
SUMMARY_LIMIT = 240
_NAME_BAD = re.compile(r'[^!-~]|[=\]"]')
_UNESCAPE = re.compile(r"\\(\\|u[0-9a-f]{4}|U[0-9a-f]{8})")
Params = list[tuple[str, str]]
Element = tuple[str, Params]


# --- values -------------------------------------------------------------------------------


def escape_value(text: str) -> str:
    """decnet's layer: backslashes doubled, non-printable characters as `\\uXXXX`."""
    if text.isprintable() and "\\" not in text:
        return text  # the common case: one C-level scan
    return "".join(_escape_char(c) for c in text)


def _escape_char(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def unescape_value(text: str) -> str:
    """The inverse of `escape_value` (after the receiver undid RFC 5424's escapes)."""

    def one(match: re.Match[str]) -> str:
        body = match[1]
        return "\\" if body == "\\" else chr(int(body[1:], 16))

    return _UNESCAPE.sub(one, text)


def sd_escape(text: str) -> str:
    """RFC 5424 §6.3.3: `"`, `\\` and `]` inside a PARAM-VALUE get a backslash."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def param_value(text: str) -> str:
    """A value as it goes on the wire: both layers."""
    return sd_escape(escape_value(text))


def render(value: Any) -> str:
    """A JSON value as text: strings as they are, lists and objects as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def param_name(name: str) -> str:
    """An SD-PARAM name: 1-32 printable US-ASCII characters but `=`, space, `]` and `"`."""
    return _NAME_BAD.sub("_", name)[:32] or "_"


def params(values: dict[str, Any]) -> Params:
    out: Params = []
    seen: set[str] = set()
    for key, value in values.items():
        if value is None:
            continue
        name = param_name(key)
        while name in seen:  # two names mapped to one: keep both, distinctly
            name = name[:31] + "_"
        seen.add(name)
        out.append((name, render(value)))
    return out


# --- elements and messages ------------------------------------------------------------------


def envelope_params(event: dict[str, Any]) -> Params:
    keys = ("id", "at", "topic", "type", "topology")
    return params({k: event.get(k) for k in keys})


def event_elements(event: dict[str, Any], pen: int) -> list[Element]:
    return [
        (f"decnet@{pen}", envelope_params(event)),
        (f"payload@{pen}", params(dict(event.get("payload") or {}))),
    ]


def aggregate_elements(aggregate: dict[str, Any], pen: int) -> list[Element]:
    info = {k: v for k, v in aggregate["aggregate"].items()}
    return [(f"aggregate@{pen}", params(info)), *event_elements(aggregate["sample"], pen)]


def timestamp(at: str) -> str:
    """RFC 5424 TIMESTAMP (RFC 3339, UTC, microseconds) of an event's `at`."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return NIL
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def summary(event: dict[str, Any], count: int | None = None) -> str:
    """MSG: one line for people, e.g. `attack.login root/123456 failure from 203.0.113.9 on
    corp/web1 ssh`."""
    payload: dict[str, Any] = dict(event.get("payload") or {})
    kind = str(event.get("type", ""))
    words = [f"{count}x {kind}" if count is not None else kind]
    detail = _detail(kind, payload)
    if detail:
        words.append(detail)
    if "src_ip" in payload:
        words.append(f"from {payload['src_ip']}")
    if "decky" in payload:
        words.append(f"on {payload.get('topology')}/{payload['decky']} {payload.get('service')}")
    elif event.get("topology"):
        words.append(f"in {event['topology']}")
    return terminal_safe(" ".join(render(w) for w in words), SUMMARY_LIMIT)


def _detail(kind: str, payload: dict[str, Any]) -> str:
    if kind == "attack.login":
        secret = f"/{payload['password']}" if "password" in payload else ""
        return f"{payload.get('username', '')}{secret} {payload.get('outcome', '')}".strip()
    if kind == "attack.command":
        return str(payload.get("command", ""))
    if kind == "attack.request":
        return " ".join(str(payload[k]) for k in ("method", "path", "query") if k in payload)
    if kind == "attack.download":
        return str(payload.get("url", ""))
    if kind == "attack.scan":
        return f"{payload.get('connects')} connects"
    return ""


def header(event: dict[str, Any], opts: SyslogOptions, hostname: str) -> str:
    pri = Facility[opts.facility.upper()] * 8 + severity(event)
    msgid = str(event.get("type") or NIL)[:32]
    host = opts.hostname or hostname or NIL
    return f"<{pri}>1 {timestamp(str(event.get('at', '')))} {host} {opts.app_name} - {msgid}"


def format_event(event: dict[str, Any], opts: SyslogOptions, hostname: str) -> bytes:
    """One event as an RFC 5424 message (not framed)."""
    return _message(
        header(event, opts, hostname),
        event_elements(event, opts.enterprise),
        summary(event),
        opts.max_message,
        opts.enterprise,
    )


def format_aggregate(aggregate: dict[str, Any], opts: SyslogOptions, hostname: str) -> bytes:
    """One aggregate (docs/observe.md: `aggregate` and a `sample` event) as a message."""
    sample = aggregate["sample"]
    info = aggregate["aggregate"]
    event = {**sample, "at": info.get("last_seen", sample.get("at", ""))}
    return _message(
        header(event, opts, hostname),
        aggregate_elements(aggregate, opts.enterprise),
        summary(sample, int(info.get("count", 1))),
        opts.max_message,
        opts.enterprise,
    )


def frame(message: bytes) -> bytes:
    """RFC 6587 octet counting: `MSG-LEN SP SYSLOG-MSG`."""
    return b"%d %s" % (len(message), message)


def _msg_part(text: str) -> bytes:
    if text.isascii():
        return text.encode("ascii")
    return (BOM + text).encode("utf-8")


def _structured(elements: Sequence[Element]) -> str:
    return "".join(
        "[" + sd_id + "".join(f' {n}="{param_value(v)}"' for n, v in ps) + "]"
        for sd_id, ps in elements
    )


def _message(head: str, elements: list[Element], text: str, limit: int, pen: int) -> bytes:
    msg = _msg_part(text)
    out = f"{head} {_structured(elements)}".encode() + b" " + msg
    if len(out) <= limit:
        return out
    return _fit(head, elements, msg, limit, pen)


def _fit(head: str, elements: list[Element], msg: bytes, limit: int, pen: int) -> bytes:
    """Cut the longest values until the message fits; `truncated` names them."""
    elements = [(sd_id, list(ps)) for sd_id, ps in elements]
    cut: list[str] = []
    envelope = f"decnet@{pen}"
    while True:
        marker = [("truncated", ",".join(cut))] if cut else []
        shown = [(i, ps + marker if i == envelope else ps) for i, ps in elements]
        out = f"{head} {_structured(shown)}".encode() + b" " + msg
        over = len(out) - limit
        if over <= 0:
            return out
        sizes = [
            (len(param_value(v).encode()), e, p)
            for e, (_, ps) in enumerate(elements)
            for p, (_, v) in enumerate(ps)
        ]
        size, e, p = max(sizes)
        if size <= 16:  # nothing long is left: drop the summary, then give up cutting
            if msg:
                msg = b""
                continue
            return out
        name, value = elements[e][1][p]
        budget = max(0, size - over - 32)  # 32: room for the growing `truncated` list
        elements[e][1][p] = (name, _cut(value, budget))
        if name not in cut:
            cut.append(name)


def _cut(value: str, budget: int) -> str:
    """The longest prefix of `value` whose wire form takes at most `budget` octets."""
    used = 0
    for index, char in enumerate(value):
        used += len(sd_escape(_escape_char(char)).encode("utf-8", "surrogatepass"))
        if used > budget:
            return value[:index]
    return value
