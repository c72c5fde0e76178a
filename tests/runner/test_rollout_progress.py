"""Rollout plumbing without a run: --concurrency/--timeout reach the playbook as extravars only
when given, and progress events reach the live view."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from decnet.cli.lifecycle import Progress
from decnet.engine.rollout import RolloutOptions, _extravars
from decnet.runner.ansible import RunnerEvent


def test_concurrency_and_timeout_are_extravars_only_when_set() -> None:
    bundle = Path("/b")
    assert _extravars(bundle, RolloutOptions()) == {"decnet_bundle_dir": "/b"}
    assert _extravars(bundle, RolloutOptions(concurrency=3, timeout=60)) == {
        "decnet_bundle_dir": "/b",
        "decnet_topology_concurrency": 3,
        "decnet_topology_timeout": 60,
    }


def test_progress_events_show_in_the_live_view_until_done() -> None:
    out = io.StringIO()
    view = Progress(Console(file=out, width=160, force_terminal=False))
    with view:
        view(RunnerEvent(kind="task_start", host="h1", task="Wait for the topologies"))
        view(
            RunnerEvent(
                kind="progress",
                host="h1",
                task="Wait for the topologies",
                progress={
                    "corp": {"phase": "start", "done": 120, "total": 1000},
                    "lab": {"phase": "queued", "done": 0, "total": 0},
                },
            )
        )
        table = view._table()
        assert "corp: start 120/1000" in view._progress("h1")
        assert "lab: queued" in view._progress("h1")
        view(
            RunnerEvent(
                kind="progress",
                host="h1",
                progress={"corp": {"phase": "done", "done": 1000, "total": 1000}},
            )
        )
        assert "corp" not in view._progress("h1") and "lab: queued" in view._progress("h1")
    assert table.columns[-1].header == "progress"
    assert "lab: queued" in out.getvalue()  # the final view, as a non-terminal prints it
