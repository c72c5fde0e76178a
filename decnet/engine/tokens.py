"""API tokens and editor sessions: the library calls behind `decnet token …` and the API's auth.

A token reads `dnt_<id>_<secret>`: the id finds its row, and the SHA-256 of the whole token is
compared with the stored hash in constant time (`hmac.compare_digest`), so neither a lookup by
secret nor a byte-by-byte comparison ever happens. The token itself is returned once, at
creation, and never stored. Tokens carry 256 bits of randomness, so a fast hash is enough.
Editor sessions are admin tokens named `session-…` with a short expiry, made when the one-time
login code that `decnet serve` prints is exchanged (docs/api.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from decnet.engine.topologies import check_name
from decnet.errors import Forbidden, InvalidRequest, Unauthorized
from decnet.store import ApiTokenRow, Store
from decnet.store import db as dbmod

TOKEN_RE = re.compile(r"^dnt_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
SESSION_PREFIX = "session-"
SESSION_TTL = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)
"""`last_used_at` is written at most this often per token, not on every request."""


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"


class Principal(BaseModel):
    """Who a request comes from: the token's row id, name and role."""

    token_id: str
    name: str
    role: Role

    def require(self, role: Role) -> None:
        if role is Role.ADMIN and self.role is not Role.ADMIN:
            raise Forbidden(
                f"token {self.name!r} is a viewer; this needs an admin token",
                hint="use an admin token (`decnet token create NAME --role admin`)",
            )


class TokenInfo(BaseModel):
    """What `token list` shows: everything but the hash."""

    name: str
    role: Role
    state: str
    """active | expired | revoked"""
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


def _now(store: Store) -> str:
    return dbmod.iso(store.clock())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _state(row: ApiTokenRow, now: str) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def _info(row: ApiTokenRow, now: str) -> TokenInfo:
    return TokenInfo(
        name=row.name,
        role=Role(row.role),
        state=_state(row, now),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def _mint(store: Store, name: str, role: Role, expires: timedelta | None) -> tuple[TokenInfo, str]:
    token_id = uuid.uuid4().hex
    token = f"dnt_{token_id}_{secrets.token_urlsafe(32)}"
    expires_at = dbmod.iso(store.clock() + expires) if expires is not None else None
    row = store.insert_token(token_id, name, role, _digest(token), expires_at)
    return _info(row, _now(store)), token


def create_token(
    store: Store, name: str, role: Role, expires: timedelta | None = None
) -> tuple[TokenInfo, str]:
    """A new token (shown once: returned here, never stored) and its description."""
    check_name(name, "token name")
    if name.startswith(SESSION_PREFIX):
        raise InvalidRequest(
            f"token names starting with {SESSION_PREFIX!r} are reserved for editor sessions",
            field="name",
            hint="choose another name",
        )
    return _mint(store, name, role, expires)


def create_session(store: Store, ttl: timedelta = SESSION_TTL) -> tuple[TokenInfo, str]:
    """A short-lived admin token for the web editor; expired sessions are dropped first."""
    store.delete_expired_tokens(SESSION_PREFIX)
    return _mint(store, f"{SESSION_PREFIX}{secrets.token_hex(4)}", Role.ADMIN, ttl)


def list_tokens(store: Store) -> list[TokenInfo]:
    now = _now(store)
    return [_info(row, now) for row in store.list_tokens()]


def revoke_token(store: Store, name: str) -> TokenInfo:
    return _info(store.revoke_token(name), _now(store))


def authenticate(store: Store, token: str | None) -> Principal:
    """The principal of a presented token; `Unauthorized` if it is missing, malformed, wrong,
    expired or revoked."""
    if not token:
        raise Unauthorized(
            "this needs an API token", hint="send `Authorization: Bearer TOKEN` (docs/api.md)"
        )
    match = TOKEN_RE.fullmatch(token)
    row = store.token_by_id(match[1]) if match else None
    # compare_digest runs even without a row, so an unknown id costs what a wrong secret does
    stored = row.token_hash if row is not None else "0" * 64
    if not hmac.compare_digest(stored, _digest(token) if match else "") or row is None:
        raise Unauthorized("the API token is not valid", hint="check the token, or create one")
    now = _now(store)
    state = _state(row, now)
    if state != "active":
        raise Unauthorized(f"the API token {row.name!r} is {state}", hint="use another token")
    _touch(store, row, now)
    return Principal(token_id=row.id, name=row.name, role=Role(row.role))


def _touch(store: Store, row: ApiTokenRow, now: str) -> None:
    last = row.last_used_at
    if last is None or datetime.fromisoformat(now) - datetime.fromisoformat(last) >= TOUCH_EVERY:
        store.touch_token(row.id)
