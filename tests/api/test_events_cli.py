"""`decnet events` and `decnet events prune` as a user runs them (the installed console
script, its own database): line and JSON formats, filters, --follow, Ctrl-C, retention."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import DECNET, cli_env, make_settings
from event_support import tick
from typer.testing import CliRunner

from decnet import events as ev
from decnet.cli import events as cli_events
from decnet.cli.app import app
from decnet.errors import EXIT_USAGE
from decnet.settings import Settings
from decnet.store import EventRow, Store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def run(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECNET), *args], capture_output=True, text=True, env=cli_env(settings, **env),
        timeout=60, check=False,
    )  # fmt: skip


def seed(settings: Settings) -> list[int]:
    with Store(settings.db_path) as store:
        return [
            store.append_event(ev.TaskOk(run="r1", host="h1", task="t", item=None, msg="fine"),
                               topology="corp"),
            store.append_event(ev.DriftFinding(topology="corp", host="h1", state="in_sync",
                                               details=[]), topology="corp"),
            store.append_event(ev.TaskFailed(run="r1", host=None, task="t", item="other",
                                             msg="bad \x1b[31mred\x1b[0m\nline 2"),
                               topology="other"),
            store.append_event(ev.TokenCreated(name="ci", role="viewer")),
        ]  # fmt: skip


def test_one_line_per_event_with_safe_values(settings: Settings) -> None:
    ids = seed(settings)
    out = run(settings, "events")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [str(i) for i in ids]
    first = lines[0].split("  ")
    assert first[0] == str(ids[0]) and first[2:4] == ["task.ok", "corp"]
    assert first[4] == "run=r1 host=h1 task=t msg=fine"
    assert datetime.fromisoformat(first[1]).tzinfo is not None
    assert "\x1b" not in out.stdout and '"bad \\u001b[31mred\\u001b[0m\\nline 2"' in lines[2]
    assert lines[3].split("  ")[3] == "-" and lines[3].endswith("name=ci role=viewer")


def test_json_lines_and_filters(settings: Settings) -> None:
    ids = seed(settings)
    out = run(settings, "events", "--json", "--since", str(ids[0]))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ids[1:]
    assert set(rows[0]) == {"id", "at", "topic", "type", "topology", "payload"}
    tasks = run(settings, "events", "--json", "--since", "0", "--type", "task.*")
    assert [json.loads(line)["type"] for line in tasks.stdout.splitlines()] == [
        "task.ok", "task.failed"
    ]  # fmt: skip
    corp = run(settings, "events", "--json", "--topology", "corp")
    assert [json.loads(line)["id"] for line in corp.stdout.splitlines()] == ids[:2]
    last = run(settings, "events", "--last", "1")
    assert last.stdout.split()[0] == str(ids[-1])
    bad = run(settings, "events", "--type", "x y")
    assert (
        bad.returncode == EXIT_USAGE
        and bad.stderr.startswith("error: ")
        and "Traceback" not in bad.stderr
    )
    worse = run(settings, "events", "--topology", "Not/A/Name")
    assert worse.returncode == EXIT_USAGE and "NAME_INVALID" in worse.stderr


def test_since_lists_every_event_not_one_page(settings: Settings) -> None:
    """`--since 0` means every event kept: a dump of 2,500 is 2,500 lines (it stopped at one
    page, 1,000, without a word)."""
    with Store(settings.db_path) as store:
        ids = [
            store.append_event(ev.TokenCreated(name=f"t{i}", role="viewer")) for i in range(2500)
        ]
    out = run(settings, "events", "--json", "--since", "0")
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == ids
    tail = run(settings, "events", "--json", "--since", str(ids[1200]))
    assert [json.loads(line)["id"] for line in tail.stdout.splitlines()] == ids[1201:]


@contextmanager
def follower(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    """`decnet events --follow --json --type 'watch.*'` on a seeded database, killed if it is
    still running at the end."""
    seed(settings)
    proc = subprocess.Popen(
        [str(DECNET), "events", "--follow", "--json", "--type", "watch.*"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(settings),
    )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()


def test_follow_tails_new_events_and_ctrl_c_exits_130(settings: Settings) -> None:
    with follower(settings) as proc:
        time.sleep(2.5)  # started, and printed nothing old (no watch.* yet)
        delays = []
        with Store(settings.db_path) as store:
            for i in range(3):
                sent = time.monotonic()
                store.append_event(tick(i))
                assert proc.stdout is not None
                line = json.loads(proc.stdout.readline())
                delays.append(time.monotonic() - sent)
                assert line["payload"] == tick(i).wire()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 130
        assert proc.stderr is not None
        assert proc.stderr.read().strip() == "interrupted"
        print(f"follow delays: {[round(d, 3) for d in delays]} s")


def test_follow_ends_cleanly_on_sigterm(settings: Settings) -> None:
    with follower(settings) as proc:
        assert proc.stdout is not None
        with Store(settings.db_path) as store:
            for i in range(2):  # the second can only come from the follow loop, signals set
                store.append_event(tick(i))
                assert json.loads(proc.stdout.readline())["payload"] == tick(i).wire()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert proc.stderr is not None and proc.stderr.read() == ""


def test_follow_starts_where_no_event_written_during_the_listing_is_lost(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event another process writes while the listing runs is listed or followed: the
    follow starts at the newest id read *before* the listing (the real CLI in-process; only
    the endless follow loop is replaced by a probe of where it would start)."""
    seed(settings)
    raced: list[int] = []
    starts: list[int] = []

    def listing_then_a_write(store: Store, **kw: Any) -> list[EventRow]:
        shown = real_list(store, **kw)
        with Store(settings.db_path) as other:
            raced.append(other.append_event(tick(0)))
        return shown

    def probe(store: Store, after: int, **kw: Any) -> Iterator[EventRow]:
        starts.append(after)
        return iter(())

    real_list = cli_events.engine.list_events
    monkeypatch.setattr(cli_events.engine, "list_events", listing_then_a_write)
    monkeypatch.setattr(cli_events.engine, "follow", probe)
    args = ["--db", str(settings.db_path), "events", "--follow", "--type", "watch.*"]
    out = CliRunner().invoke(app, args)  # nothing old matches: the start is the newest id
    assert out.exit_code == 0, out.output
    assert starts and raced and starts[0] < raced[0]


def test_prune_removes_old_events_and_streams_see_the_mark(settings: Settings) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=45)
    with Store(settings.db_path, clock=lambda: long_ago) as old:
        old_ids = [old.append_event(tick(i)) for i in range(3)]
    fresh = seed(settings)
    out = run(settings, "events", "prune", "--older-than", "30d")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"pruned 3 events (ids up to {old_ids[-1]} are gone)"
    left = run(settings, "events", "--json", "--since", "0")
    assert [json.loads(line)["id"] for line in left.stdout.splitlines()] == fresh
    with Store(settings.db_path) as store:
        assert store.events_pruned_through() == old_ids[-1]
    # the default comes from DECNET_EVENT_RETENTION
    again = run(settings, "events", "prune", DECNET_EVENT_RETENTION="1h")  # all younger
    assert again.returncode == 0 and again.stdout.startswith("pruned 0 events")
    bad = run(settings, "events", "prune", "--older-than", "a month")
    assert bad.returncode == EXIT_USAGE and "duration" in bad.stderr
    bad_env = run(settings, "events", "prune", DECNET_EVENT_RETENTION="forever")
    assert bad_env.returncode == EXIT_USAGE and bad_env.stderr.startswith(
        "error: DECNET_EVENT_RETENTION"
    )
