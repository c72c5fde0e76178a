"""The SQLite store (SPEC §2): the imperative shell's database edge."""

from decnet.store.rows import (
    ApiTokenRow,
    EventRow,
    HostReportRow,
    RunRow,
    StatusEventRow,
    TopologySummary,
)
from decnet.store.store import Store

__all__ = [
    "ApiTokenRow",
    "EventRow",
    "HostReportRow",
    "RunRow",
    "StatusEventRow",
    "Store",
    "TopologySummary",
]
