"""Rows of the `run` and `host_report` tables (Ansible runs and the facts they gathered)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from sqlite_utils import Database

from decnet.errors import AlreadyExists, Conflict, InternalError, NotFound
from decnet.store import db as dbmod
from decnet.store.base import StoreBase
from decnet.store.rows import RUNNING, HostReportRow, RunRow
from decnet.store.topologies import dumps, new_id

RUN_COLUMNS = (
    "id, kind, hosts, topologies, status, owner, lease_expires_at, started_at, finished_at, "
    "stats, artifact_dir, error"
)
_JSON_RUN_FIELDS = ("hosts", "topologies", "stats")


def run_from_row(row: dict[str, Any]) -> RunRow:
    data = dict(row)
    for key in _JSON_RUN_FIELDS:
        data[key] = json.loads(data[key])
    return RunRow(**data)


def get(db: Database, run_id: str) -> RunRow:
    found = query_runs(db, "WHERE id = ?", (run_id,))
    if not found:
        raise NotFound(f"run {run_id!r} not found", hint="run `decnet events` to see recent runs")
    return found[0]


def query_runs(db: Database, where: str, params: tuple[Any, ...]) -> list[RunRow]:
    return [run_from_row(row) for row in db.query(f"SELECT {RUN_COLUMNS} FROM run {where}", params)]


# json_each lets one index-free scan match a topology inside the JSON list; runs are few.
TOPOLOGY_MATCH = "EXISTS (SELECT 1 FROM json_each(run.topologies) WHERE value = ?)"


def load_host_reports(conn: sqlite3.Connection) -> dict[str, HostReportRow]:
    rows = conn.execute(
        "SELECT host, report, gathered_at, reachable, error FROM host_report ORDER BY host"
    )
    return {
        host: HostReportRow(
            host=host,
            report=json.loads(report),
            gathered_at=gathered_at,
            reachable=bool(reachable),
            error=error,
        )
        for host, report, gathered_at, reachable, error in rows
    }


def _lease(moment: datetime, seconds: float) -> str:
    return dbmod.iso(moment + timedelta(seconds=seconds))


class RunsMixin(StoreBase):
    """Runs (with a lease so a dead controller's run can be recognised) and host reports."""

    def start_run(
        self,
        kind: str,
        hosts: Iterable[str],
        topologies: Iterable[str],
        artifact_dir: str | Path,
        owner: str,
        lease_seconds: float = 600.0,
        *,
        run_id: str | None = None,
    ) -> str:
        """Record a run as `running` with a lease. `run_id` lets the caller name the run (e.g.
        after its artifact directory); run events are the engine's to append."""
        run_id = run_id or new_id()
        hosts, names = list(hosts), list(topologies)
        moment = self.clock()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM run WHERE id = ?", (run_id,)).fetchone():
                raise AlreadyExists(f"run {run_id!r} already exists", hint="use a fresh run id")
            conn.execute(
                "INSERT INTO run (id, kind, hosts, topologies, status, owner, lease_expires_at, "
                "started_at, stats, artifact_dir) VALUES (?,?,?,?,?,?,?,?,'{}',?)",
                (run_id, kind, dumps(hosts), dumps(names), RUNNING, owner,
                 _lease(moment, lease_seconds), dbmod.iso(moment), str(artifact_dir)),
            )  # fmt: skip
        return run_id

    def renew_run_lease(self, run_id: str, lease_seconds: float) -> None:
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE run SET lease_expires_at = ? WHERE id = ? AND status = ?",
                (_lease(self.clock(), lease_seconds), run_id, RUNNING),
            )
            if cursor.rowcount != 1:
                self._not_running(run_id)

    def finish_run(
        self, run_id: str, status: str, stats: Mapping[str, Any], error: str | None = None
    ) -> None:
        if status == RUNNING:
            raise InternalError(
                f"run status {status!r} is not a final status", hint="pass e.g. 'successful'"
            )
        with self.transaction() as conn:
            cursor = conn.execute(
                "UPDATE run SET status = ?, finished_at = ?, stats = ?, error = ?, "
                "lease_expires_at = NULL WHERE id = ? AND status = ?",
                (status, self._now(), dumps(dict(stats)), error, run_id, RUNNING),
            )
            if cursor.rowcount != 1:
                self._not_running(run_id)

    def _not_running(self, run_id: str) -> NoReturn:
        run = get(self.db, run_id)  # raises NotFound for an unknown id
        raise Conflict(f"run {run_id!r} is already {run.status}", hint="start a new run instead")

    def get_run(self, run_id: str) -> RunRow:
        return get(self.db, run_id)

    def last_run(self, topology_name: str) -> RunRow | None:
        found = query_runs(
            self.db,
            f"WHERE {TOPOLOGY_MATCH} ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (topology_name,),
        )
        return found[0] if found else None

    def running_runs(self, topology_name: str | None = None) -> list[RunRow]:
        """Every run still `running` (of the topology, or of any), whatever its lease says:
        recovery decides which of them lost their controller."""
        if topology_name is None:
            return query_runs(self.db, "WHERE status = ? ORDER BY started_at", (RUNNING,))
        return query_runs(
            self.db,
            f"WHERE status = ? AND {TOPOLOGY_MATCH} ORDER BY started_at",
            (RUNNING, topology_name),
        )

    def active_runs_for(self, topology_name: str) -> list[RunRow]:
        """Running runs of the topology whose lease has not expired (a live controller)."""
        return query_runs(
            self.db,
            f"WHERE status = ? AND lease_expires_at > ? AND {TOPOLOGY_MATCH} ORDER BY started_at",
            (RUNNING, self._now(), topology_name),
        )

    def save_host_report(
        self,
        host: str,
        report: Mapping[str, Any],
        *,
        reachable: bool,
        error: str | None = None,
        gathered_at: datetime | None = None,
    ) -> None:
        at = dbmod.iso(gathered_at or self.clock())
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO host_report (host, report, gathered_at, reachable, error) "
                "VALUES (?,?,?,?,?) ON CONFLICT (host) DO UPDATE SET report = excluded.report, "
                "gathered_at = excluded.gathered_at, reachable = excluded.reachable, "
                "error = excluded.error",
                (host, dumps(dict(report)), at, reachable, error),
            )

    def host_reports(self) -> dict[str, HostReportRow]:
        return load_host_reports(self.conn)
