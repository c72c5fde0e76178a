"""Server-sent events over real HTTP (httpx + httpx-sse): snapshot first, resume with
Last-Event-ID while another process writes, reset past retention, keepalive, headers, the
per-token cap, and freeing a disconnected client at once."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from api_support import ApiEnv, document, event_writer, start_private, wait_for
from event_support import TICK_TYPE, tick
from httpx_sse import ServerSentEvent, connect_sse

from decnet.store import Store


def open_streams(api: ApiEnv) -> int:
    with api.client("viewer") as c:
        return int(c.get("/server").json()["open_streams"])


def new_topology(api: ApiEnv) -> str:
    name = f"s-{uuid.uuid4().hex[:6]}"
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
    return name


@pytest.fixture
def private(tmp_path: Path) -> Iterator[ApiEnv]:
    env = start_private(tmp_path, keepalive_seconds=0.3, api_streams_per_token=3)
    try:
        yield env
    finally:
        env.server.stop()


@pytest.mark.parametrize("scope", ["global", "topology"])
def test_resuming_with_last_event_id_loses_and_repeats_nothing(api: ApiEnv, scope: str) -> None:
    name = new_topology(api)
    path = "/events/stream" if scope == "global" else f"/topologies/{name}/events/stream"
    with api.store() as store:
        start = store.latest_event_id()
    writer = event_writer(api.settings.db_path, 300, 150.0, topology=name)
    received: list[int] = []
    connections, last = 0, start
    rng = random.Random(7)
    with api.client("viewer", timeout=httpx.Timeout(10, read=2)) as c:
        while not (writer.poll() is not None and caught_up(api, name, scope, last)):
            connections += 1
            headers = {"Last-Event-ID": str(last)}
            with connect_sse(c, "GET", path, headers=headers) as source:
                events = source.iter_sse()
                first = next(events)
                assert first.event == "snapshot" and first.id == ""
                wanted = rng.randint(5, 40)
                with contextlib.suppress(httpx.ReadTimeout):  # idle: the writer is done
                    for sse in events:
                        assert sse.id, sse.event  # every event after the snapshot is durable
                        received.append(int(sse.id))
                        last = int(sse.id)
                        wanted -= 1
                        if wanted == 0:
                            break
    assert writer.wait(30) == 0
    with api.store() as store:
        topology = None if scope == "global" else name
        table = [e.id for e in store.query_events(start, topology=topology, limit=10**6)]
    assert received == table  # the union is the table's sequence: none lost, none repeated
    assert len(table) >= 300 and connections >= 8


def caught_up(api: ApiEnv, name: str, scope: str, last: int) -> bool:
    with api.store() as store:
        return not store.query_events(last, topology=None if scope == "global" else name)


def test_a_resume_point_past_retention_gets_reset_and_a_snapshot(private: ApiEnv) -> None:
    name = new_topology(private)
    with private.store() as store:
        old = store.latest_event_id()
        store.append_event(tick(0, "old"), topology=name)
    later = datetime.now(UTC) + timedelta(days=400)
    with Store(private.settings.db_path, clock=lambda: later) as future:
        deleted, through = future.prune_events(timedelta(days=30))
    assert deleted >= 2 and through == old + 1
    with private.client("viewer", timeout=10) as c:
        with connect_sse(c, "GET", f"/topologies/{name}/events/stream?since={old}") as source:
            events = source.iter_sse()
            reset = next(events)
            assert reset.event == "reset" and reset.id == ""
            assert json.loads(reset.data)["since"] == old
            snapshot = next(events)
            assert snapshot.event == "snapshot"
            assert json.loads(snapshot.data)["latest_event_id"] == through
            with private.store() as store:
                fresh = store.append_event(tick(0, "new"), topology=name)
            after = next(events)
            assert (after.event, after.id) == (TICK_TYPE, str(fresh))
        # exactly at the pruned mark nothing was lost: no reset
        with connect_sse(c, "GET", "/events/stream", headers={"Last-Event-ID": str(through)}) as s:
            events = s.iter_sse()
            assert next(events).event == "snapshot"
            assert next(events).id == str(fresh)
        # a resume point from the future is unknown here: reset too
        with connect_sse(c, "GET", "/events/stream?since=99999999") as s:
            assert next(s.iter_sse()).event == "reset"


def test_the_snapshot_matches_show_json(api: ApiEnv) -> None:
    name = new_topology(api)
    with api.client() as c:
        c.put(f"/topologies/{name}/layout", json={"lans": {"dmz": {"x": 5.5}}})
        with connect_sse(c, "GET", f"/topologies/{name}/events/stream") as source:
            snapshot = json.loads(next(source.iter_sse()).data)
        with connect_sse(c, "GET", "/events/stream") as source:
            summary = json.loads(next(source.iter_sse()).data)
    shown = api.cli("topology", "show", name, "--json")
    assert shown.returncode == 0, shown.stderr
    show = json.loads(shown.stdout)
    assert snapshot["topology"] == show
    for key in ("status", "version", "desired_hash", "needs_resync"):
        assert snapshot[key] == show[key]
    assert snapshot["applied_hash"] is None and snapshot["in_flight"] == []
    with api.store() as store:
        assert snapshot["latest_event_id"] <= store.latest_event_id()
    mine = next(t for t in summary["topologies"] if t["name"] == name)
    assert mine["desired_hash"] == show["desired_hash"] and mine["status"] == "pending"


def test_keepalive_headers_and_only_durable_events_carry_ids(private: ApiEnv) -> None:
    name = new_topology(private)
    lines: list[str] = []
    path = f"/topologies/{name}/events/stream"
    with private.client("viewer", timeout=10) as c, c.stream("GET", path) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-accel-buffering"] == "no"
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith(": keepalive"):
                break
    snapshot_block = lines[: lines.index("")]
    assert snapshot_block[0] == "event: snapshot"
    assert not any(line.startswith("id:") for line in snapshot_block)


def test_a_topology_stream_carries_only_its_events(api: ApiEnv) -> None:
    mine, other = new_topology(api), new_topology(api)
    with api.client("viewer", timeout=10) as c:
        assert c.get("/topologies/nope-nope/events/stream").status_code == 404
        with connect_sse(c, "GET", f"/topologies/{mine}/events/stream") as source:
            events = source.iter_sse()
            next(events)
            with api.store() as store:
                store.append_event(tick(0, "other"), topology=other)
                wanted = store.append_event(tick(0, "mine"), topology=mine)
            got: ServerSentEvent = next(events)
            assert (got.event, got.id) == (TICK_TYPE, str(wanted))
            assert json.loads(got.data)["topology"] == mine


def test_the_per_token_cap_is_429_and_a_closed_stream_frees_its_slot(private: ApiEnv) -> None:
    stop = threading.Event()
    opened: list[threading.Thread] = []

    def hold(token: str) -> None:
        with private.client(token, timeout=10) as c, c.stream("GET", "/events/stream") as r:
            for line in r.iter_lines():
                if stop.is_set() or line is None:
                    break

    baseline = open_streams(private)
    for _ in range(3):
        t = threading.Thread(target=hold, args=(private.viewer,))
        t.start()
        opened.append(t)
    wait_for(lambda: open_streams(private) == baseline + 3)
    with private.client("viewer", timeout=10) as c:
        r = c.get("/events/stream")
        assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_requests"
    with private.client("admin", timeout=10) as c, c.stream("GET", "/events/stream") as r:
        assert r.status_code == 200  # the cap is per token
    stop.set()
    with private.store() as store:
        store.append_event(tick(0, "wake"))  # each holder reads one more line and leaves
    for t in opened:
        t.join(10)
    wait_for(lambda: open_streams(private) == baseline, timeout=5)
    with private.client("viewer", timeout=10) as c, c.stream("GET", "/events/stream") as r:
        assert r.status_code == 200


def test_a_disconnected_client_is_freed_at_once(api: ApiEnv) -> None:
    baseline = open_streams(api)
    clients = [api.client("admin", timeout=10) for _ in range(5)]
    streams = [c.stream("GET", "/events/stream") for c in clients]
    lines = [s.__enter__().iter_lines() for s in streams]  # kept: a dropped one closes
    assert all(next(it) == "event: snapshot" for it in lines)
    assert open_streams(api) == baseline + 5
    for s, c in zip(streams, clients, strict=True):
        s.__exit__(None, None, None)
        c.close()
    started = time.monotonic()
    wait_for(lambda: open_streams(api) == baseline, timeout=5, every=0.02)
    assert time.monotonic() - started < 2


def test_a_slow_stream_resyncs_from_the_table_without_loss(tmp_path: Path) -> None:
    env = start_private(tmp_path, max_pending_events=5)
    try:
        with env.store() as store:
            start = store.latest_event_id()
        with env.client("viewer", timeout=10) as c, connect_sse(c, "GET", "/events/stream") as s:
            events = s.iter_sse()
            assert next(events).event == "snapshot"
            with env.store() as store, store.transaction():
                ids = [store.append_event(tick(i, "burst")) for i in range(60)]
            got = [int(next(events).id) for _ in ids]
        assert got == ids and ids[0] == start + 1
    finally:
        env.server.stop()


def test_the_json_page_of_events(api: ApiEnv) -> None:
    name = new_topology(api)
    with api.store() as store:
        start = store.latest_event_id()
        ids = [store.append_event(tick(i, "page"), topology=name) for i in range(5)]
    with api.client("viewer") as c:
        page = c.get("/events", params={"since": start, "limit": 3}).json()
        assert [e["id"] for e in page["items"]] == ids[:3] and page["next_since"] == ids[2]
        rest = c.get("/events", params={"since": page["next_since"]}).json()
        assert [e["id"] for e in rest["items"]] == ids[3:]
        typed = c.get("/events", params={"topology": name, "type": "watch.*"}).json()
        assert [e["id"] for e in typed["items"]] == ids
        assert typed["pruned_through"] == 0


def test_the_server_applies_retention_when_it_starts(tmp_path: Path) -> None:
    from api_support import make_settings

    settings = make_settings(tmp_path)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    with Store(settings.db_path, clock=lambda: long_ago) as old:
        old_ids = [old.append_event(tick(0, "old")) for _ in range(3)]
    with Store(settings.db_path) as store:
        kept = store.append_event(tick(0, "new"))
    env = start_private(tmp_path, event_retention=timedelta(days=2))
    try:
        with env.store() as store:
            wait_for(lambda: store.events_pruned_through() == old_ids[-1], timeout=10)
            assert [e.id for e in store.query_events(0, type_glob="watch.*")] == [kept]
    finally:
        env.server.stop()
