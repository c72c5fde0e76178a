"""`opencanary` lines: OpenCanary 0.9.10's log dicts (numeric `logtype`, `src_host`,
`src_port`, `dst_host`, `dst_port`, `logdata`), as its modules make them.

Each logtype is a login (credentials or a challenge-response), a request (a path, a command, a
query) or nothing (connection bookkeeping: the launcher's `connect` line already says it, and
OpenCanary's own boot, message and debug lines). A logtype this table does not know still
becomes a request, so a newer module's events are not lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from decnet import events as ev
from decnet.core.observe.base import Base, pick, short
from decnet.events import LONG, SHORT

Make = Callable[[Base, Mapping[str, Any]], ev.AttackEvent | None]

IGNORED = frozenset({1000, 1001, 1002, 1004, 1005, 1006, 2001, 4000, 4001, 6002, 9003, 18001})
"""Boot, message, debug, ping, config, example, and the connection-made logtypes."""
ERROR = 1003
"""LOG_BASE_ERROR: the sensor's own trouble, kept as its health."""


def _ends(e: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "src_ip": e.get("src_host"),
        "src_port": e.get("src_port"),
        "dst_ip": e.get("dst_host"),
        "dst_port": e.get("dst_port"),
    }


def _data(e: Mapping[str, Any]) -> Mapping[str, Any]:
    data = e.get("logdata")
    return data if isinstance(data, Mapping) else {}


def _login(mechanism: str, *, hashed: bool = False) -> Make:
    """OpenCanary answers every login with a refusal: the outcome is always a failure.
    `hashed`: what the client sent is a scramble of the password (MySQL), not the password."""

    def make(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
        d = _data(e)
        secret = pick(d, "PASSWORD", "Password", "password")
        return b.make(
            ev.AttackLogin,
            **_ends(e),
            username=short(pick(d, "USERNAME", "UserName", "username")) or "",
            password=None if hashed else short(secret),
            hash=short(secret, LONG) if hashed else None,
            outcome="failure",
            mechanism=mechanism,
            domain=short(pick(d, "DOMAINNAME", "domain")),
        )

    return make


def _vnc(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
    d = _data(e)
    guessed = d.get("VNC Password")
    known = isinstance(guessed, str) and not guessed.startswith("<")
    server = short(d.get("VNC Server Challenge"), 64)
    challenge = f"{server}:{short(d.get('VNC Client Response'), 64)}"
    return b.make(
        ev.AttackLogin,
        **_ends(e),
        username="",
        password=short(guessed) if known else None,
        hash=challenge,
        outcome="failure",
        mechanism="vnc",
    )


def _http(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
    d = _data(e)
    return b.make(
        ev.AttackRequest,
        **_ends(e),
        method=short(d.get("REQUEST_TYPE"), 64) or "GET",
        path=short(d.get("PATH"), LONG),
        user_agent=short(d.get("USERAGENT"), SHORT),
    )


def _redis(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
    """`AUTH [user] password` is a login; every other command a request."""
    d = _data(e)
    command = short(d.get("CMD"), 64) or ""
    args = short(d.get("ARGS"), LONG) or ""
    if command.upper() == "AUTH" and args:
        user, _, password = args.rpartition(" ")
        return b.make(
            ev.AttackLogin,
            **_ends(e),
            username=short(user) or "",
            password=short(password),
            outcome="failure",
            mechanism="redis-auth",
        )
    query = f"{command} {args}".strip()
    return b.make(ev.AttackRequest, **_ends(e), method=command or None, query=short(query, LONG))


def _request(method: str, path_key: str | None = None, query_key: str | None = None) -> Make:
    def make(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
        d = _data(e)
        return b.make(
            ev.AttackRequest,
            **_ends(e),
            method=method,
            path=short(d.get(path_key), LONG) if path_key else None,
            query=short(d.get(query_key), LONG) if query_key else None,
        )

    return make


def _tftp(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
    d = _data(e)
    return b.make(
        ev.AttackRequest,
        **_ends(e),
        method=short(d.get("OPCODE"), 64),
        path=short(d.get("FILENAME"), LONG),
    )


def _mongodb(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
    d = _data(e)
    action = d.get("action")
    if action == "auth_attempt" or "username" in d:
        return b.make(
            ev.AttackLogin,
            **_ends(e),
            username=short(d.get("username")) or "",
            outcome="failure",
            mechanism=short(d.get("mechanism"), 64) or "mongodb",
            hash=short(d.get("auth_data"), LONG),
        )
    if action == "command" or "command" in d:
        return b.make(
            ev.AttackRequest,
            **_ends(e),
            method=short(d.get("command"), 64),
            query=short(d.get("query"), LONG),
        )
    return None


def _other(b: Base, e: Mapping[str, Any]) -> ev.AttackEvent | None:
    """A logtype this table does not know: a login if it carries credentials, else a request
    holding its logdata."""
    d = _data(e)
    if pick(d, "USERNAME", "PASSWORD") is not None:
        return _login(f"opencanary-{e.get('logtype')}")(b, e)
    return b.make(
        ev.AttackRequest,
        **_ends(e),
        method=f"opencanary-{short(e.get('logtype'), 20)}",
        query=short(e.get("logdata"), LONG),
    )


LOGTYPES: dict[int, Make] = {
    2000: _login("ftp"),
    3000: _http,
    3001: _login("http-form"),
    3002: _http,
    3003: _http,
    4002: _login("ssh"),
    5000: _request("smb-open", "FILENAME"),
    6001: _login("telnet"),
    7001: _login("http-proxy"),
    8001: _login("mysql", hashed=True),
    9001: _login("mssql-sql"),
    9002: _login("mssql-windows"),
    10001: _tftp,
    11001: _request("monlist", query_key="NTP CMD"),
    12001: _vnc,
    13001: _request("snmp", "REQUESTS", "COMMUNITY_STRING"),
    14001: _login("rdp"),
    15001: _request("sip", query_key="HEADERS"),
    16001: _request("git-clone", "REPO", "HOST"),
    17001: _redis,
    18002: _request("banner", query_key="DATA"),
    18003: _request("banner", query_key="DATA"),
    18004: _request("banner", query_key="DATA"),
    18005: _request("banner", query_key="DATA"),
    19001: _request("llmnr", "QUERY_NAME"),
    20001: _mongodb,
}
"""OpenCanary logtype -> its attack event."""


def normalise(b: Base) -> list[ev.AttackEvent]:
    logtype = b.line.event.get("logtype")
    if type(logtype) is not int or logtype in IGNORED or logtype == ERROR:
        return []
    made = LOGTYPES.get(logtype, _other)(b, b.line.event)
    return [made] if made is not None else []
