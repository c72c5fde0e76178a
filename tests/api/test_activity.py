"""`GET /topologies/{name}/activity`: what the editor's activity view starts from — each attacked
decky's count and newest time in a window, the newest attack events (newest first), and the
newest event id then. Events go in through the collector's write (`Store.collect`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api_support import ApiEnv, document

from decnet.events import AttackConnect, AttackLogin
from decnet.store import db as dbmod
from decnet.store.collect import Batch, Collected


def _connect(topology: str, decky: str, seq: int, at: datetime, src: str) -> AttackConnect:
    return AttackConnect(
        topology=topology, host="localhost", decky=decky, lan="dmz", service="http",
        src_ip=src, src_port=40000 + seq, dst_ip="10.10.0.2", dst_port=80, session=f"s{seq}",
        sensor="decnet", observed_at=dbmod.iso(at), raw="{}",
        line=f"localhost:{topology}/{decky}/sensor#e1:{seq}",
    )  # fmt: skip


def _seed(api: ApiEnv, name: str) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(hours=2)
    events = [
        _connect(name, "gw", 1, old, "10.66.0.1"),
        _connect(name, "gw", 2, now - timedelta(minutes=1), "10.66.0.2"),
        _connect(name, "a", 3, now, "10.66.0.2"),
    ]
    login = AttackLogin(
        **events[2].model_dump(exclude={"transport", "line"}),
        line=f"localhost:{name}/a/sensor#e1:4", username="root", password="hunter2",
        outcome="failure",
    )  # fmt: skip
    items = [Collected(e.line.split(":", 1)[1].split("#")[0], "e1", i + 1, e.observed_at, (e,))
             for i, e in enumerate([*events, login])]  # fmt: skip
    with api.store() as store:
        store.collect([Batch("localhost", items)])


def test_counts_and_newest_events_of_a_window(api: ApiEnv) -> None:
    name = api.new_name()
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
        empty = c.get(f"/topologies/{name}/activity").json()
        assert empty["deckies"] == [] and empty["events"] == []
        _seed(api, name)
    with api.client("viewer") as c:
        every = c.get(f"/topologies/{name}/activity").json()
        recent = c.get(f"/topologies/{name}/activity", params={"since": "15m"}).json()
        two = c.get(f"/topologies/{name}/activity", params={"limit": 2}).json()
    assert [(d["decky"], d["events"]) for d in every["deckies"]] == [("a", 2), ("gw", 2)]
    assert [(d["decky"], d["events"]) for d in recent["deckies"]] == [("a", 2), ("gw", 1)]
    types = [e["type"] for e in every["events"]]
    assert types == ["attack.login", "attack.connect", "attack.connect", "attack.connect"]
    ids = [e["id"] for e in every["events"]]
    assert ids == sorted(ids, reverse=True) and every["latest"] >= ids[0]
    assert every["events"][0]["payload"]["password"] == "hunter2"  # intelligence, shown
    assert len(recent["events"]) == 3
    assert [e["id"] for e in two["events"]] == ids[:2]


def test_unknown_topology_bad_window_and_no_token(api: ApiEnv) -> None:
    with api.client() as c:
        missing = c.get("/topologies/nope-404/activity")
        assert missing.status_code == 404
        bad = c.get("/topologies/nope-404/activity", params={"since": "soon"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.since"
        assert c.get("/topologies/x/activity", params={"limit": 0}).status_code == 422
    with api.client(None) as c:
        assert c.get("/topologies/x/activity").status_code == 401
