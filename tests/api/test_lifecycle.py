"""Lifecycle through HTTP against the local Docker engine and the real playbooks: create,
validate, deploy (202, the run finishes, the topology is active), drift and reconcile,
teardown; and a SIGTERM to `decnet serve` mid-deploy leaves nothing in flight."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from api_support import (
    ApiEnv,
    ServeProcess,
    accepted,
    docker,
    document,
    finished,
    make_settings,
    remove_settled,
    running_containers,
    wait_for,
)
from httpx_sse import connect_sse

from decnet.api.config import API_PREFIX
from decnet.core.render import container_name
from decnet.engine.demo import docker_available
from decnet.engine.tokens import Role, create_token
from decnet.store import Store

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not docker_available(), reason="`docker info` fails: no Docker engine"),
]
EXPECTED = [("gw", None), ("gw", "http"), ("gw", "ssh"), ("br", None), ("br", "http"),
            ("a", None), ("a", "http")]  # fmt: skip


def test_create_validate_deploy_drift_reconcile_teardown(api: ApiEnv, names: list[str]) -> None:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    names.append(name)
    password = "s3cret-" + uuid.uuid4().hex[:10]
    doc = document(name, password=password)
    with api.store() as store:
        mark = store.latest_event_id()
    with api.client() as c:
        assert c.post("/topologies/validate", json={"document": doc}).json()["valid"] is True
        assert c.post("/topologies", json={"document": doc}).status_code == 201

        run_id = accepted(c.post(f"/topologies/{name}/deploy"))
        busy = c.post(f"/topologies/{name}/deploy")
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "busy"
        run = finished(c, run_id)
        assert run["state"] == "succeeded", run
        assert run["kind"] == "deploy" and run["ansible_runs"] and run["requested_by"] == "admin"
        assert c.get(f"/topologies/{name}").json()["status"] == "active"
        assert set(running_containers(name)) == {container_name(name, *c) for c in EXPECTED}

        hosts = {h["host"]: h for h in c.get("/hosts").json()}
        assert name in hosts["localhost"]["topologies"]
        drift = finished(c, accepted(c.post("/drift")))
        assert drift["state"] == "succeeded"
        assert {f["name"]: f["state"] for f in drift["result"]["findings"]}[name] == "in_sync"

        docker("rm", "-f", container_name(name, "a", "http"))
        finished(c, accepted(c.post("/drift")))
        last = {f["topology"]: f for f in c.get("/drift").json()["findings"]}
        assert last[name]["state"] == "runtime_drift"
        assert c.get(f"/topologies/{name}").json()["needs_resync"] is True
        fixed = finished(c, accepted(c.post("/reconcile")))
        assert fixed["state"] == "succeeded", fixed
        assert container_name(name, "a", "http") in running_containers(name)

        down = finished(c, accepted(c.post(f"/topologies/{name}/teardown")))
        assert down["state"] == "succeeded", down
        assert c.get(f"/topologies/{name}").json()["status"] == "torn_down"
        assert running_containers(name) == []
        kinds = [r["kind"] for r in c.get("/runs").json()]
        assert kinds[:5] == ["teardown", "reconcile", "drift", "drift", "deploy"]
        for path in (f"/runs/{run_id}", f"/topologies/{name}", f"/events?since={mark}&limit=1000"):
            assert password not in c.get(path).text, path
    with api.store() as store:
        events = store.query_events(mark, limit=10**6)
    assert all(password not in json.dumps(e.payload) for e in events)
    mine = [e.type for e in events if e.topology == name]
    assert mine.count("job.finished") == 2 and "topology.status" in mine
    assert [e.payload["to"] for e in events if e.topology == name and e.type == "topology.status"][
        :2
    ] == ["deploying", "active"]


def test_the_runs_events_stream_like_any_other(api: ApiEnv, names: list[str]) -> None:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    names.append(name)
    seen: list[str] = []
    with api.client(timeout=httpx.Timeout(10, read=300)) as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
        with connect_sse(c, "GET", f"/topologies/{name}/events/stream") as source:
            events = source.iter_sse()
            assert next(events).event == "snapshot"
            run_id = accepted(c.post(f"/topologies/{name}/deploy"))
            for sse in events:
                if not sse.data:  # a keepalive comment (httpx-sse dispatches it as an event)
                    continue
                seen.append(sse.event)
                data = json.loads(sse.data)
                if sse.event == "job.finished" and data["payload"]["job"] == run_id:
                    break
    assert seen[0] == "job.queued" and "job.started" in seen
    assert "topology.status" in seen and any(e.startswith("task.") for e in seen)
    with api.client() as c:
        finished(c, accepted(c.post(f"/topologies/{name}/teardown")))


def test_sigterm_mid_deploy_leaves_nothing_in_flight(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    with Store(settings.db_path) as store:
        _, token = create_token(store, "admin", Role.ADMIN)
    server = ServeProcess.start(settings)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url + API_PREFIX, headers=headers, timeout=30) as c:
            assert c.post("/topologies", json={"document": document(name)}).status_code == 201
            run_id = accepted(c.post(f"/topologies/{name}/deploy"))
            wait_for(lambda: c.get(f"/topologies/{name}").json()["status"] == "deploying", 120)
            time.sleep(1)  # the playbook is running now
        started = time.monotonic()
        assert server.stop(timeout=180) is not None
        stopped_after = time.monotonic() - started
        with Store(settings.db_path) as store:
            t = store.get_topology(name)
            assert t.status in ("active", "failed"), t.status  # finished or released
            assert all(r.status != "running" for r in store.active_runs_for(name))
            finish = [e for e in store.query_events(0, type_glob="job.finished", limit=100)]
            assert [e.payload["job"] for e in finish] == [run_id]
        assert stopped_after < 170
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
        remove_settled(name)


def test_stopping_the_worker_past_its_grace_cancels_the_deploy(tmp_path: Path) -> None:
    """The cancel path of a shutdown: no grace at all, so the running deploy is cancelled; the
    rollout still moves the topology to a final status and closes the Ansible run."""
    from decnet.api.schemas import parse_document
    from decnet.core.catalog import load_catalog
    from decnet.engine.jobs import JobKind, JobRequest, JobState, RunWorker
    from decnet.engine.topologies import create_topology
    from decnet.runner.ansible import run_processes

    settings = make_settings(tmp_path)
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    worker = RunWorker(settings, grace=0)
    worker.start()
    try:
        with Store(settings.db_path) as store:
            catalog = load_catalog()
            create_topology(store, parse_document(document(name), catalog), catalog=catalog)
            job = worker.submit(store, JobRequest(JobKind.DEPLOY, (name,)), "test")
            wait_for(lambda: store.get_topology(name).status == "deploying", 120, every=0.1)
            time.sleep(1)
            worker.stop()
            view = worker.get(job.id)
            assert view.state is JobState.CANCELLED and view.finished_at
            t = store.get_topology(name)
            assert t.status in ("failed", "active"), t.status
            assert store.active_runs_for(name) == []
            run = store.get_run(view.ansible_runs[0])
            assert run.status != "running"
            # ansible-core's workers leave the playbook's process group: none of them is left
            assert run_processes(Path(run.artifact_dir) / "ansible") == []
    finally:
        worker.stop()
        remove_settled(name)
