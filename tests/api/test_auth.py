"""Authentication and authorisation over real HTTP: every route, every role, revocation,
expiry, editor sessions and stream tickets."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from api_support import ApiEnv, document, wait_for

from decnet.api.config import API_PREFIX
from decnet.engine.tokens import TOKEN_RE, Role, create_token
from decnet.errors import EXIT_USAGE

PUBLIC = {("GET", "/healthz")}
READS_BY_POST = {f"{API_PREFIX}/topologies/validate", f"{API_PREFIX}/stream-tickets"}
"""POST routes that only read (a viewer may use them)."""
SESSIONS = f"{API_PREFIX}/sessions"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
WRONG = "dnt_" + "0" * 32 + "_" + "A" * 43
BAD_AUTH = [
    {},
    {"Authorization": f"Bearer {WRONG}"},
    {"Authorization": "Bearer x"},
    {"Authorization": "Basic Zm9vOmJhcg=="},
]


def routes(api: ApiEnv) -> list[tuple[str, str]]:
    """(method, path template) of every route the app documents, plus the OpenAPI document."""
    found = [
        (method.upper(), path)
        for path, ops in api.server.app.openapi()["paths"].items()
        for method in ops
    ]
    return [*found, ("GET", f"{API_PREFIX}/openapi.json")]


def concrete(path: str, name: str) -> str:
    return path.replace("{name}", name).replace("{run_id}", "0123456789ab")


@pytest.fixture(scope="module")
def topology(api: ApiEnv) -> str:
    name = f"auth-{uuid.uuid4().hex[:6]}"
    with api.client() as c:
        assert c.post("/topologies", json={"document": document(name)}).status_code == 201
    return name


def test_the_enumeration_covers_every_concept(api: ApiEnv) -> None:
    paths = {p for _, p in routes(api)}
    expected = [
        "/topologies", "/topologies/{name}/layout", "/topologies/{name}/deploy", "/drift",
        "/hosts", "/catalog/services", "/runs/{run_id}", "/events", "/events/stream",
        "/topologies/{name}/events/stream", "/stream-tickets",
    ]  # fmt: skip
    assert {API_PREFIX + e for e in expected} <= paths


def test_every_route_but_healthz_needs_a_valid_token(api: ApiEnv, topology: str) -> None:
    checked = 0
    with httpx.Client(base_url=api.url, timeout=10) as c:
        for method, template in routes(api):
            path = concrete(template, topology)
            if (method, path) in PUBLIC:
                assert c.request(method, path).status_code == 200
                continue
            # the session exchange authenticates with a login code instead of a token
            body = {"code": "not-a-code"} if template == SESSIONS else None
            for headers in BAD_AUTH:
                r = c.request(method, path, headers=headers, json=body)
                assert r.status_code == 401, (method, path, headers, r.text)
                assert r.json()["error"]["code"] == "unauthorized"
            checked += 1
    assert checked >= 25


def test_writes_answer_403_to_a_viewer_and_change_nothing(api: ApiEnv, topology: str) -> None:
    with api.store() as store:
        before = store.get_topology(topology).model_dump()
        events_before = store.latest_event_id()
    writes = [
        (m, t) for m, t in routes(api)
        if m in WRITE_METHODS and t not in READS_BY_POST and t != SESSIONS
    ]  # fmt: skip
    assert len(writes) >= 8
    with api.client("viewer") as c:
        for method, template in writes:
            r = c.request(method, api.url + concrete(template, topology))
            assert r.status_code == 403, (method, template, r.text)
            assert r.json()["error"]["code"] == "forbidden"
        for template in READS_BY_POST:  # viewers may read through these
            r = c.post(api.url + template, json={"document": document("x")})
            assert r.status_code in (200, 201), (template, r.text)
        assert c.get(f"/topologies/{topology}").status_code == 200
    with api.store() as store:
        assert store.get_topology(topology).model_dump() == before
        assert [e.type for e in store.query_events(events_before)] == []


def test_a_revoked_token_stops_working_at_once(api: ApiEnv) -> None:
    name = f"tok-{uuid.uuid4().hex[:6]}"
    token = api.cli("token", "create", name, "--role", "viewer").stdout.strip()
    with api.client(token) as c:
        assert c.get("/topologies").status_code == 200
        revoked = api.cli("token", "revoke", name)  # another process
        assert revoked.returncode == 0, revoked.stderr
        r = c.get("/topologies")
        assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
        assert r.headers["www-authenticate"] == "Bearer"


def test_a_revoked_tokens_open_stream_ends(api: ApiEnv) -> None:
    name = f"tok-{uuid.uuid4().hex[:6]}"
    token = api.cli("token", "create", name, "--role", "viewer").stdout.strip()
    received: list[str] = []

    def read() -> None:
        timeout = httpx.Timeout(10, read=30)
        with api.client(token, timeout=timeout) as c, c.stream("GET", "/events/stream") as r:
            received.extend(r.iter_lines())

    reader = threading.Thread(target=read)
    reader.start()
    wait_for(lambda: "event: snapshot" in received)
    started = time.monotonic()
    assert api.cli("token", "revoke", name).returncode == 0
    reader.join(15)
    assert not reader.is_alive()
    assert "event: closed" in received and time.monotonic() - started < 10


def test_an_expired_token_is_refused(api: ApiEnv) -> None:
    with api.store() as store:
        _, token = create_token(
            store, f"exp-{uuid.uuid4().hex[:6]}", Role.ADMIN, timedelta(seconds=1)
        )
    with api.client(token) as c:
        assert c.get("/topologies").status_code == 200
        time.sleep(1.2)
        r = c.get("/topologies")
        assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_the_database_holds_only_a_hash_of_a_token(api: ApiEnv) -> None:
    token = api.cli("token", "create", f"h-{uuid.uuid4().hex[:6]}", "--role", "viewer").stdout
    # the secret is urlsafe base64, which may itself hold "_": cut by the token's own pattern
    match = TOKEN_RE.match(token.strip())
    assert match, token
    secret = match.group(2)
    db = api.settings.db_path
    files = [str(p) for p in (db, db.with_name(db.name + "-wal")) if p.exists()]
    # grep in another process: closing any descriptor of the file in this process would drop
    # the POSIX locks the server's SQLite connections hold on it
    found = subprocess.run(["grep", "-cF", "-e", secret, *files], capture_output=True, check=False)
    assert found.returncode == 1, found.stdout  # 1: no line matched


def test_login_code_gives_a_session_once(api: ApiEnv) -> None:
    code = api.server.state.new_login_code()
    with httpx.Client(base_url=api.url + API_PREFIX, timeout=10) as c:
        r = c.post("/sessions", json={"code": code})
        assert r.status_code == 201, r.text
        session = r.json()
        assert session["role"] == "admin" and session["name"].startswith("session-")
        assert session["expires_at"]
        again = c.post("/sessions", json={"code": code})
        assert again.status_code == 401  # single use
        auth = {"Authorization": f"Bearer {session['token']}"}
        me = c.get("/sessions/current", headers=auth).json()
        assert me["name"] == session["name"] and me["role"] == "admin"
        assert c.delete("/sessions/current", headers=auth).status_code == 204
        assert c.get("/sessions/current", headers=auth).status_code == 401  # logged out


def test_stream_tickets_are_single_use_and_never_a_token(api: ApiEnv) -> None:
    with api.client("viewer") as c:
        ticket = c.post("/stream-tickets").json()
        assert 0 < ticket["expires_in"] <= 60
    with httpx.Client(base_url=api.url + API_PREFIX, timeout=10) as anon:
        url = f"/events/stream?ticket={ticket['ticket']}"
        with anon.stream("GET", url) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            assert next(lines) == "event: snapshot"
        assert anon.get(url).status_code == 401  # used
        # a long-lived token is never accepted in a URL, as a ticket or otherwise
        assert anon.get(f"/events/stream?ticket={api.viewer}").status_code == 401
        assert anon.get(f"/events/stream?token={api.viewer}").status_code == 401
        # tickets open streams only
        fresh = anon.post(
            "/stream-tickets", headers={"Authorization": f"Bearer {api.viewer}"}
        ).json()["ticket"]
        assert anon.get(f"/topologies?ticket={fresh}").status_code == 401


def test_token_cli_lists_states_and_refuses_duplicates(api: ApiEnv) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    created = api.cli("token", "create", name, "--role", "admin", "--expires", "30d", "--json")
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"dnt_[0-9a-f]{32}_[A-Za-z0-9_-]{43}", created_token(created.stdout))
    dup = api.cli("token", "create", name, "--role", "admin")
    assert dup.returncode == 1 and "already exists" in dup.stderr and dup.stdout == ""
    assert api.cli("token", "revoke", name).returncode == 0
    listed = api.cli("token", "list", "--json")
    row = next(t for t in json.loads(listed.stdout) if t["name"] == name)
    assert row["state"] == "revoked" and row["role"] == "admin" and "token" not in row
    # a revoked name can be reused; the old token stays dead
    assert api.cli("token", "create", name, "--role", "viewer").returncode == 0
    bad = api.cli("token", "create", "Bad Name", "--role", "viewer")
    assert bad.returncode == EXIT_USAGE and "NAME_INVALID" in bad.stderr
    missing = api.cli("token", "revoke", "nope-nope")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    bad_role = api.cli("token", "create", "x", "--role", "root")
    assert bad_role.returncode == EXIT_USAGE
    bad_expiry = api.cli("token", "create", "x", "--role", "viewer", "--expires", "soon")
    assert bad_expiry.returncode == EXIT_USAGE and "duration" in bad_expiry.stderr


def created_token(stdout: str) -> str:
    return str(json.loads(stdout)["token"])
