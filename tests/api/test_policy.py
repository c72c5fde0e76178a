"""One status table (decnet/policy.py), served: for every status (and a live round) and every
action, what the real API does is what the topology's view, its list summary and the last
status event say it allows — with the reason in the refusal."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from api_support import ApiEnv, document

from decnet.engine.leases import current_owner
from decnet.models import Status
from decnet.policy import Action

# How each status is reached from pending (SPEC §3); `live-round` is deploying from active.
PATHS: dict[str, list[Status]] = {
    "pending": [],
    "deploying": [Status.DEPLOYING],
    "active": [Status.DEPLOYING, Status.ACTIVE],
    "degraded": [Status.DEPLOYING, Status.DEGRADED],
    "failed": [Status.DEPLOYING, Status.FAILED],
    "tearing_down": [Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN],
    "torn_down": [Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN, Status.TORN_DOWN],
    "live-round": [Status.DEPLOYING, Status.ACTIVE, Status.DEPLOYING],
}
EDIT = {"ops": [{"op": "update_decky", "name": "a", "config": {"http": {"title": "x"}}}]}
# The action's request, and the statuses of an accepted one (a job is queued, a change made).
REQUESTS: dict[Action, tuple[Callable[[httpx.Client, str], httpx.Response], set[int]]] = {
    Action.DEPLOY: (lambda c, n: c.post(f"/topologies/{n}/deploy", json={}), {202}),
    Action.TEARDOWN: (lambda c, n: c.post(f"/topologies/{n}/teardown", json={}), {202}),
    Action.EDIT: (lambda c, n: c.post(f"/topologies/{n}/ops", json=EDIT), {200, 202}),
    Action.DELETE: (lambda c, n: c.delete(f"/topologies/{n}"), {204}),
}


def in_status(api: ApiEnv, path: list[Status]) -> str:
    """A topology walked along `path`, pinned to a host no inventory has: an accepted deploy
    or teardown job then fails before any side effect, so each request stays independent."""
    name = api.new_name()
    text = document(name).replace("host: localhost", "host: nowhere-host")
    with api.client() as c:
        assert c.post("/topologies", json={"document": text}).status_code == 201
    with api.store() as store:
        for status in path:
            store.transition(name, status, reason="test")
        if path and path[-1] in (Status.DEPLOYING, Status.TEARING_DOWN):  # a run holds it
            store.start_run("deploy", ["nowhere-host"], [name], "/nonexistent", current_owner(),
                            3600)  # fmt: skip
    return name


@pytest.mark.parametrize("where", list(PATHS))
@pytest.mark.parametrize("action", list(Action))
def test_what_the_api_does_is_what_the_view_says(api: ApiEnv, where: str, action: Action) -> None:
    name = in_status(api, PATHS[where])
    request, accepted = REQUESTS[action]
    with api.client() as c:
        view = c.get(f"/topologies/{name}").json()["actions"][action]
        summary = next(t for t in c.get("/topologies").json()["items"] if t["name"] == name)
        status_events = c.get("/events", params={"topology": name, "type": "topology.status"})
        answer = request(c, name)
    assert summary["actions"][action] == view
    if PATHS[where]:  # the last status event carried the same verdicts
        carried = status_events.json()["items"][-1]["payload"]["actions"][action]
        assert carried == {k: v for k, v in view.items() if v is not None}
    if view["allowed"]:
        assert answer.status_code in accepted, answer.text
    else:
        assert answer.status_code == 409, answer.text
        assert view["reason"] and view["reason"] in answer.json()["error"]["message"]
