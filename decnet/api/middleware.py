"""ASGI middleware: the Host check, authentication of every `/api` request, the body cap.

The Host check comes first, on every request: a page on another site that rebinds its DNS
name to 127.0.0.1 reaches a loopback server with its own name in `Host`, so only the names
the server is known by are answered (`HostMiddleware`).

Authentication runs before routing and before the body is read, so an anonymous caller learns
nothing — not even whether its body would validate. It accepts `Authorization: Bearer TOKEN`
everywhere and, on the event stream routes only, a single-use `?ticket=` (EventSource cannot
send headers). The route's dependency then checks the role (403).
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from decnet.api.config import API_PREFIX
from decnet.api.errors import error_response
from decnet.api.state import ApiState
from decnet.engine.tokens import Principal, authenticate
from decnet.errors import (
    DecnetError,
    MisdirectedRequest,
    PayloadTooLarge,
    RequestTimeout,
    Unauthorized,
)
from decnet.settings import split_host
from decnet.text import shown

PUBLIC = frozenset({("POST", f"{API_PREFIX}/sessions")})
"""Routes under /api that authenticate otherwise: the session exchange takes a login code."""
PUBLIC_MAX_BODY = 4096
"""Bytes of body a PUBLIC route reads (a login code is a few dozen)."""
STREAM_PATH = re.compile(rf"^{API_PREFIX}/(events|topologies/[^/]+/events)/stream$")
_BEARER = re.compile(r"^Bearer +(\S+)$", re.IGNORECASE)
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
HTTP_PORT = 80
"""The port a Host without one means (plain HTTP: TLS ends in a proxy in front)."""


class HostMiddleware:
    """Refuse (421) a request whose Host is not the server's: a loopback name or the address
    the connection arrived on, with the server's port, or a configured name (`allowed`:
    DECNET_API_HOSTS; without a port it matches any, as behind a proxy)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[tuple[str, int | None]]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._addressed_here(scope):
            host = Headers(scope=scope).get("host")
            err = MisdirectedRequest(
                f"this server does not answer to host {shown(host or '')}",
                hint="use the address `decnet serve` printed, or add the name the server is "
                "reached by to DECNET_API_HOSTS on the server",
            )
            err.field = "header.host"
            await error_response(err, {"Connection": "close"})(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _addressed_here(self, scope: Scope) -> bool:
        host = split_host(Headers(scope=scope).get("host") or "")
        if host is None:
            return False
        name, port = host
        if (name, port) in self.allowed or (name, None) in self.allowed:
            return True
        server_host, server_port = scope.get("server") or ("", None)
        local = name in LOOPBACK_NAMES or name == str(server_host).lower()
        return local and (port or HTTP_PORT) == server_port


class AuthMiddleware:
    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope.get("path", ""), scope.get("method", "")
        if scope["type"] != "http" or not path.startswith("/api/") or (method, path) in PUBLIC:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._principal(scope, path, method)
        except DecnetError as err:
            # Connection: close, so an anonymous body left on the wire holds nothing.
            await error_response(err, {"Connection": "close"})(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _principal(self, scope: Scope, path: str, method: str) -> Principal:
        header = Headers(scope=scope).get("authorization")
        if header is not None:
            match = _BEARER.fullmatch(header)
            token = match[1] if match else None
            return await run_in_threadpool(self._authenticate, token)
        ticket = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket")
        if ticket and method in ("GET", "HEAD") and STREAM_PATH.fullmatch(path):
            return await run_in_threadpool(self._redeem, ticket[0])
        return await run_in_threadpool(self._authenticate, None)

    def _authenticate(self, token: str | None) -> Principal:
        return authenticate(self.state.context().store, token)

    def _redeem(self, ticket: str) -> Principal:
        principal = self.state.tickets.redeem(ticket)
        if principal is None:
            raise Unauthorized(
                "the stream ticket is unknown, used or expired",
                hint="get a fresh one: POST /api/v1/stream-tickets (valid 60 s, once)",
            )
        if principal.token_id not in self.state.context().store.live_token_ids(
            [principal.token_id]
        ):
            raise Unauthorized("the API token behind the ticket is no longer valid")
        return principal


class BodyLimitMiddleware:
    """Read each request body up front, under a cap and a deadline, and replay it to the app:
    over the cap is 413 before the app sees a byte (a declared Content-Length over it is refused
    unread), a whole body slower than `seconds` is 408. A route that needs no token (the session
    exchange) reads at most PUBLIC_MAX_BODY: an anonymous caller holds no more memory than that.
    """

    def __init__(self, app: ASGIApp, limit: int, seconds: float) -> None:
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._body(scope, receive)
        except DecnetError as err:
            err.field = "body"
            # Connection: close, since the unread rest of the body is still on the wire.
            await error_response(err, {"Connection": "close"})(scope, receive, send)
            return
        if body is not None:  # None: the client went away
            await self.app(scope, _replay(body, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        public = (scope.get("method"), scope.get("path")) in PUBLIC
        limit = PUBLIC_MAX_BODY if public else self.limit
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit, public)
        try:
            async with asyncio.timeout(self.seconds):
                return await _read(receive, limit, public)
        except TimeoutError:
            raise RequestTimeout(
                f"the request body did not arrive within {self.seconds:g} s",
                hint="send the whole body at once; a slow link may need a smaller one",
            ) from None


async def _read(receive: Receive, limit: int, public: bool) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, public)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large(limit: int, public: bool) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is over the {limit}-byte cap",
        hint="send less" if public else "send less, or raise DECNET_API_MAX_BODY on the server",
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
