"""What a security probe found (issue 13), over HTTP against the real uvicorn of the session:
each test failed on the code the probe ran against."""

from __future__ import annotations

import contextlib
import json
import re
import selectors
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from api_support import (
    ApiEnv,
    ServeProcess,
    document,
    dump,
    make_settings,
    start_private,
    wait_for,
)

from decnet.core.secrets import MASK
from decnet.models import Status
from decnet.settings import parse_hosts


def _dump(api: ApiEnv) -> list[str]:
    """The database, without the tokens' last-used stamps (every request moves them)."""
    return [line for line in dump(api.settings.db_path) if '"api_token"' not in line]


def _create(api: ApiEnv, **kwargs: Any) -> str:
    name = api.new_name()
    with api.client() as c:
        r = c.post("/topologies", json={"document": document(name, **kwargs)})
        assert r.status_code == 201, r.text
    return name


def _ops(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"ops": list(ops)}


def _post(c: httpx.Client, url: str, data: Any, **params: Any) -> httpx.Response:
    """JSON as JavaScript sends it: ASCII with \\u escapes (a lone surrogate included, which
    httpx's own encoder cannot write)."""
    headers = {"Content-Type": "application/json"}
    return c.post(url, content=json.dumps(data), headers=headers, params=params)


def test_the_mask_is_refused_as_a_secret_value_in_ops(api: ApiEnv) -> None:
    """A client that sends back a masked config must not replace the real password."""
    name = _create(api, password="real-secret")
    before = _dump(api)
    with api.client() as c:
        for op in (
            {"op": "update_decky", "name": "gw", "config": {"ssh": {"password": MASK}}},
            {"op": "add_decky", "name": "n", "lan": "dmz", "services": ["ssh"],
             "config": {"ssh": {"password": MASK}}},
        ):  # fmt: skip
            for plan in (False, True):
                r = c.post(f"/topologies/{name}/ops", params={"plan": plan}, json=_ops(op))
                assert r.status_code == 422, r.text
                error = r.json()["error"]
                assert error["field"] == "body.ops[0].config.ssh.password"
                assert "secret mask" in error["message"] and "Value error" not in error["message"]
    assert _dump(api) == before


def test_a_config_string_no_container_can_carry_is_refused_with_its_code(api: ApiEnv) -> None:
    name = _create(api)
    before = _dump(api)
    with api.client() as c:
        for bad in ("SSH-2.0\x00", "pw\ud800"):
            op = {"op": "update_decky", "name": "gw", "config": {"http": {"title": bad}}}
            r = _post(c, f"/topologies/{name}/ops", _ops(op))
            assert r.status_code == 400, r.text
            issues = r.json()["error"]["issues"]
            assert [(i["code"], i["path"]) for i in issues] == [
                ("SERVICE_CONFIG_CHARACTER", "deckies[gw].service_config.http.title")
            ]
            plan = _post(c, f"/topologies/{name}/ops", _ops(op), plan=True)
            assert plan.status_code == 200 and plan.json()["valid"] is False
        doc = document(api.new_name()).replace(
            "services: [http]", 'services: [http]\n    config: {http: {title: "a\\0b"}}', 1
        )
        r = c.post("/topologies", json={"document": doc})
        assert r.status_code == 400 and "SERVICE_CONFIG_CHARACTER" in r.text
    assert _dump(api) == before


def test_ops_and_the_layout_route_share_one_canvas_bound(api: ApiEnv) -> None:
    """Ops took -1e308 and negative sizes the layout route refused: the editor then drew a
    blank canvas and every layout save failed."""
    name = _create(api)
    with api.client() as c:
        for box, ok in (
            ({"x": -1e308}, False),
            ({"x": 1e7 + 1}, False),
            ({"w": -5}, False),
            ({"h": 2e7}, False),
            ({"x": -1e7, "y": 1e7, "w": 0, "h": 1e7}, True),
        ):
            op = {"op": "update_lan", "name": "dmz", "canvas": box}
            by_op = c.post(f"/topologies/{name}/ops", json=_ops(op))
            by_layout = c.put(f"/topologies/{name}/layout", json={"lans": {"dmz": box}})
            assert (by_op.status_code, by_layout.status_code) == (
                (200, 200) if ok else (422, 422)
            ), (box, by_op.text, by_layout.text)
            if not ok:
                field = next(iter(box))
                assert by_op.json()["error"]["field"] == f"body.ops[0].canvas.{field}"
                assert by_layout.json()["error"]["field"] == f"body.lans.dmz.{field}"
        point = {"op": "update_decky", "name": "gw", "canvas": {"y": -1e308}}
        assert c.post(f"/topologies/{name}/ops", json=_ops(point)).status_code == 422
        shown = c.get(f"/topologies/{name}").json()
        assert [(lan["x"], lan["w"]) for lan in shown["lans"] if lan["name"] == "dmz"] == [
            (-1e7, 0)
        ]


def test_a_plan_never_tells_a_right_guess_of_a_secret_from_a_wrong_one(api: ApiEnv) -> None:
    name = _create(api, password="real-secret")
    with api.client() as c:

        def plan(guess: str) -> dict[str, Any]:
            op = {"op": "update_decky", "name": "gw", "config": {"ssh": {"password": guess}}}
            r = c.post(f"/topologies/{name}/ops", params={"plan": True}, json=_ops(op))
            assert r.status_code == 200, r.text
            view: dict[str, Any] = r.json()
            return view

        right, wrong = plan("real-secret"), plan("wrong-guess")
    assert right == wrong
    changes = [(ch["container"], ch["action"]) for ch in right["plan"]["containers"]]
    assert changes == [(f"decnet-{name}.gw.ssh", "recreate")]
    assert any("secret" in note for note in right["plan"]["notes"])


def test_a_batch_that_changes_nothing_is_unchanged_without_a_bump(api: ApiEnv) -> None:
    name = _create(api, password="real-secret")
    noop = _ops(
        {"op": "update_decky", "name": "gw", "services": ["http", "ssh"], "forwards_l3": False},
        {"op": "add_decky", "name": "tmp", "lan": "dmz"},
        {"op": "remove_decky", "name": "tmp"},
    )
    with api.client() as c:
        for live in (False, True):
            if live:
                with api.store() as store:
                    store.transition(name, Status.DEPLOYING, reason="test")
                    store.transition(name, Status.ACTIVE, reason="test")
            before = _dump(api)
            r = c.post(f"/topologies/{name}/ops", json=noop)
            assert r.status_code == 200, r.text
            assert (r.json()["mode"], r.json()["version"], r.json()["mutation"]) == (
                "unchanged",
                1,
                None,
            )
            assert _dump(api) == before
        # writing a secret is a change whatever its value: no oracle here either
        same = {"op": "update_decky", "name": "gw", "config": {"ssh": {"password": "real-secret"}}}
        r = c.post(f"/topologies/{name}/ops", json=_ops(same))
        assert r.status_code == 202 and r.json()["mode"] == "enqueued", r.text


def test_only_the_servers_own_names_are_answered(api: ApiEnv) -> None:
    """DNS rebinding: a page on evil.example that rebinds its name to 127.0.0.1 reaches a
    loopback server with `Host: evil.example`."""
    port = api.server.port
    refused = ["evil.example", f"evil.example:{port}", f"localhost:{port + 1}", "localhost"]
    answered = [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"LOCALHOST.:{port}"]
    with httpx.Client(base_url=api.url, timeout=30) as c:
        auth = {"Authorization": f"Bearer {api.admin}"}
        for host in refused:
            for path in ("/healthz", "/", "/api/v1/topologies"):
                r = c.get(path, headers={**auth, "Host": host})
                assert r.status_code == 421, (host, path, r.text)
                assert r.json()["error"]["code"] == "misdirected_request"
                assert "DECNET_API_HOSTS" in r.json()["error"]["hint"]
        for host in answered:
            assert c.get("/api/v1/topologies", headers={**auth, "Host": host}).status_code == 200
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:  # no Host at all
        sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 421 ")


def test_configured_names_are_answered(tmp_path: Path) -> None:
    private = start_private(tmp_path, api_hosts=parse_hosts("decnet.example,10.9.9.9:8400"))
    try:
        with httpx.Client(base_url=private.url, timeout=30) as c:
            for host, status in (
                ("decnet.example", 200),
                ("decnet.example:443", 200),
                ("10.9.9.9:8400", 200),
                ("10.9.9.9:8401", 421),
                ("evil.example", 421),
            ):
                assert c.get("/healthz", headers={"Host": host}).status_code == status, host
    finally:
        private.server.stop()


# --- unauthenticated requests hold nothing --------------------------------------------------


def _open(port: int, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def test_half_sent_requests_are_closed_at_the_header_deadline(tmp_path: Path) -> None:
    """1,000 half-sent heads (and one trickling a byte at a time) held 1,000 connections for
    good: uvicorn 0.54 has no header timeout. Each is closed once its deadline is over, not
    before (however many are open at once on a loaded machine)."""
    seconds = 2.0
    private = start_private(tmp_path, header_seconds=seconds, watch=False)
    port, held = private.server.port, private.server.server.server_state.connections
    head = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()
    opened: dict[socket.socket, float] = {}
    with selectors.DefaultSelector() as waiting:
        try:
            for i in range(1001):
                sock = _open(port, head if i else b"G")  # the first one trickles
                opened[sock] = time.monotonic()
                waiting.register(sock, selectors.EVENT_READ)
            trickler, closed_after = next(iter(opened)), {}
            deadline = time.monotonic() + 120
            while waiting.get_map() and time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    trickler.send(b"E")  # never a whole head, however long it trickles
                for key, _ in waiting.select(0.2):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    with contextlib.suppress(ConnectionResetError):
                        assert sock.recv(1) == b""  # closed, not answered
                    closed_after[sock] = time.monotonic() - opened[sock]
                    waiting.unregister(sock)
            assert len(closed_after) == 1001, f"{1001 - len(closed_after)} still open"
            assert min(closed_after.values()) >= seconds - 0.1
            wait_for(lambda: len(held) == 0, timeout=30)
            with httpx.Client(base_url=private.url, timeout=30) as c:  # whole requests work
                assert c.get("/healthz").status_code == 200
        finally:
            for sock in opened:
                sock.close()
            private.server.stop()


def test_a_body_slower_than_the_deadline_is_408(tmp_path: Path) -> None:
    private = start_private(tmp_path, body_seconds=1.0, watch=False)
    port = private.server.port
    head = (
        f"POST /api/v1/topologies/validate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {private.admin}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{"
    ).encode()
    try:
        with _open(port, head) as sock:
            answer = _read_all(sock)
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert b'"code":"request_timeout"' in answer and b"connection: close" in answer
    finally:
        private.server.stop()


def _peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status)[1]) / 1024  # type: ignore[index]


def _big_session_body(port: int, chunked: bool) -> None:
    body = b'{"code": "' + b"x" * (4 * 2**20 - 64) + b'"}'  # just under the general cap
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    head = (
        f"POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()
    with contextlib.suppress(OSError), _open(port, head) as sock:  # refused mid-send: fine
        if chunked:
            for start in range(0, len(body), 65536):
                piece = body[start : start + 65536]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
        else:
            sock.sendall(body)
        sock.recv(4096)


def test_anonymous_bodies_to_the_session_exchange_are_capped_before_reading(
    tmp_path: Path,
) -> None:
    """50 parallel anonymous 4 MiB bodies to POST /sessions raised the server's memory by
    180 MB: the one route without a token read them whole."""
    server = ServeProcess.start(make_settings(tmp_path), "--no-watch")
    try:
        port = int(server.url.rsplit(":", 1)[1])
        with httpx.Client(base_url=server.url, timeout=30) as c:
            small = c.post("/api/v1/sessions", json={"code": "x" * 100})
            assert small.status_code == 401  # a login code's size is read and judged
            big = c.post("/api/v1/sessions", content=b"x" * 5000)
            assert big.status_code == 413 and "4096-byte" in big.json()["error"]["message"]
        before = _peak_rss_mib(server.proc.pid)
        threads = [
            threading.Thread(target=_big_session_body, args=(port, i % 2 == 0)) for i in range(50)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        growth = _peak_rss_mib(server.proc.pid) - before
        print(f"\npeak RSS growth under 50 anonymous 4 MiB bodies: {growth:.1f} MiB")
        assert growth < 40, f"the server's peak memory grew by {growth:.0f} MiB"
    finally:
        server.stop()


def test_json_documents_take_floats_written_with_an_exponent(api: ApiEnv) -> None:
    """JSON writes 1e-05 and 1e+308 so; YAML 1.1 read them as strings, and the document was
    refused where a float is valid."""
    name = api.new_name()
    parsed = yaml.safe_load(document(name))
    parsed["lans"][0]["canvas"] = {"x": 1e-05, "y": -2.5e-07, "w": 1e-05}
    with api.client() as c:
        r = c.post("/topologies", json={"document": parsed})
        assert r.status_code == 201, r.text
        (dmz,) = [lan for lan in r.json()["lans"] if lan["name"] == "dmz"]
        assert (dmz["x"], dmz["y"], dmz["w"]) == (1e-05, -2.5e-07, 1e-05)
        parsed["name"] = api.new_name()
        parsed["lans"][0]["canvas"] = {"x": 1e308}  # a float, but outside the canvas bound
        r = c.post("/topologies/validate", json={"document": parsed})
        assert r.status_code == 422, r.text
        assert "lans[0].canvas.x" in r.json()["error"]["message"]
        assert "less than or equal to 10000000" in r.json()["error"]["message"]
