"""Rows of the `api_token` table: API tokens and editor sessions (the hash only, never a token)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from decnet import events as ev
from decnet.errors import AlreadyExists, NotFound
from decnet.store.base import StoreBase
from decnet.store.rows import ApiTokenRow

_COLUMNS = "id, name, role, token_hash, created_at, expires_at, revoked_at, last_used_at"


def _row(values: Iterable[Any]) -> ApiTokenRow:
    return ApiTokenRow(**dict(zip(_COLUMNS.split(", "), values, strict=True)))


class TokensMixin(StoreBase):
    def insert_token(
        self, token_id: str, name: str, role: str, token_hash: str, expires_at: str | None
    ) -> ApiTokenRow:
        """Store a new token. A revoked or expired token of the same name is replaced; a live
        one is kept and the name refused."""
        now = self._now()
        with self.transaction() as conn:
            old = conn.execute(
                "SELECT revoked_at, expires_at FROM api_token WHERE name = ?", (name,)
            ).fetchone()
            if old is not None and old[0] is None and (old[1] is None or old[1] > now):
                raise AlreadyExists(
                    f"an API token named {name!r} already exists",
                    hint=f"choose another name, or `decnet token revoke {name}` first",
                )
            conn.execute("DELETE FROM api_token WHERE name = ?", (name,))
            conn.execute(
                "INSERT INTO api_token (id, name, role, token_hash, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, name, role, token_hash, now, expires_at),
            )
            self._event(conn, ev.TokenCreated(name=name, role=role), None, None, now)
        return ApiTokenRow(id=token_id, name=name, role=role, token_hash=token_hash,
                           created_at=now, expires_at=expires_at, revoked_at=None,
                           last_used_at=None)  # fmt: skip

    def token_by_id(self, token_id: str) -> ApiTokenRow | None:
        found = self.conn.execute(
            f"SELECT {_COLUMNS} FROM api_token WHERE id = ?", (token_id,)
        ).fetchone()
        return None if found is None else _row(found)

    def list_tokens(self) -> list[ApiTokenRow]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM api_token ORDER BY name")
        return [_row(r) for r in rows]

    def revoke_token(self, name: str) -> ApiTokenRow:
        """Mark the token revoked (idempotent); it stops authenticating at once."""
        now = self._now()
        with self.transaction() as conn:
            found = conn.execute(
                f"SELECT {_COLUMNS} FROM api_token WHERE name = ?", (name,)
            ).fetchone()
            if found is None:
                raise NotFound(f"no API token named {name!r}", hint="see `decnet token list`")
            row = _row(found)
            if row.revoked_at is not None:
                return row
            conn.execute("UPDATE api_token SET revoked_at = ? WHERE id = ?", (now, row.id))
            self._event(conn, ev.TokenRevoked(name=name, role=row.role), None, None, now)
        return row.model_copy(update={"revoked_at": now})

    def touch_token(self, token_id: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE api_token SET last_used_at = ? WHERE id = ?", (self._now(), token_id)
            )

    def live_token_ids(self, token_ids: Iterable[str]) -> set[str]:
        """The ids among `token_ids` that are neither revoked, expired nor deleted."""
        ids = list(token_ids)
        if not ids:
            return set()
        marks = ", ".join("?" for _ in ids)
        rows = self.conn.execute(
            f"SELECT id FROM api_token WHERE id IN ({marks}) AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > ?)",
            (*ids, self._now()),
        )
        return {r[0] for r in rows}

    def delete_expired_tokens(self, name_prefix: str) -> int:
        """Drop expired rows whose name starts with `name_prefix` (editor sessions)."""
        with self.transaction() as conn:
            return conn.execute(
                "DELETE FROM api_token WHERE substr(name, 1, ?) = ? AND expires_at <= ?",
                (len(name_prefix), name_prefix, self._now()),
            ).rowcount
