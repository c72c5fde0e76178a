"""The Elasticsearch emulator over HTTP (urllib) and its transport port (raw sockets)."""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from decnet_sensor.emulators import elasticsearch as es
from emu_support import fuzz_tcp

pytestmark = pytest.mark.timeout(120)


def call(
    port: int,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, bytes]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_pure_routes() -> None:
    status, body = es.route("GET", "/", "n1", "c1", "8.13.4")
    assert status == 200 and body["version"]["lucene_version"] == "9.9.2"
    assert body["cluster_uuid"] == es.cluster_uuid("n1", "c1") and len(body["cluster_uuid"]) == 22
    assert es.route("DELETE", "/customers", "n1", "c1", "7.17.18")[0] == 403
    assert es.route("GET", "/nope", "n1", "c1", "7.17.18")[0] == 404
    assert es.route("GET", "/_bogus", "n1", "c1", "7.17.18")[0] == 400
    assert es.basic_credentials(b"Basic " + base64.b64encode(b"elastic:changeme")) == (
        b"elastic",
        b"changeme",
    )
    for junk in (None, b"", b"Basic !!", b"Basic " + base64.b64encode(b"nocolon"), b"Bearer x"):
        assert es.basic_credentials(junk) is None


def test_http_api(serve: Callable[..., Any]) -> None:
    emu = serve(
        "elasticsearch",
        ["9200/tcp", "9300/tcp"],
        {"cluster_name": "siem-prod", "version": "7.10.2"},
        transport=(9300,),
        hostname="es-node-3",
    )
    port = emu.port(9200)
    status, headers, body = call(port, "/", headers={"User-Agent": "curl/8.5.0"})
    assert status == 200 and headers["content-type"] == "application/json; charset=UTF-8"
    assert "Server" not in headers and headers["X-elastic-product"] == "Elasticsearch"
    doc = json.loads(body)
    assert doc["cluster_name"] == "siem-prod" and doc["version"]["number"] == "7.10.2"
    assert doc["name"] == "es-node-3" and doc["tagline"] == "You Know, for Search"
    status, _, body = call(port, "/_cat/indices?v")
    assert status == 200 and body.startswith(b"health status index") and b"customers" in body
    query = json.dumps({"query": {"match_all": {}}}).encode()
    status, _, body = call(
        port,
        "/customers/_search",
        "POST",
        query,
        {
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(b"elastic:changeme").decode(),
        },
    )
    assert status == 200 and json.loads(body)["hits"]["total"]["value"] == 0
    status, _, body = call(port, "/customers", "DELETE")
    assert status == 403 and json.loads(body)["error"]["type"] == "cluster_block_exception"
    status, _, body = call(port, "/missing/_doc/1")
    assert status == 404 and json.loads(body)["error"]["type"] == "index_not_found_exception"
    assert call(port, "/?pretty")[2].startswith(b'{\n  "name" : "es-node-3"')

    root = emu.events(kind="request", method="GET", path="/")[0]
    assert root["user_agent"] == "curl/8.5.0" and root["detail"] == {"status": 200}
    search = emu.events(kind="request", method="POST", path="/customers/_search")[0]
    assert json.loads(search["query"]) == {"query": {"match_all": {}}}
    login = emu.events(kind="login", username="elastic")[0]
    assert login["password"] == "changeme" and login["mechanism"] == "basic"
    assert search["session"] == login["session"]
    assert emu.events(kind="request", method="GET", path="/_cat/indices?v")


def test_transport_port_and_limits(serve: Callable[..., Any]) -> None:
    emu = serve("elasticsearch", ["9200/tcp", "9300/tcp"], transport=(9300,))
    with socket.create_connection(("127.0.0.1", emu.port(9300)), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(100) == b"This is not an HTTP port"
    with socket.create_connection(("127.0.0.1", emu.port(9300)), timeout=5) as s:
        s.sendall(handshake := b"ES\x00\x00\x00\x10" + b"\x00" * 16)
    assert emu.events(kind="request", method="TRANSPORT", detail={"http": True})
    assert emu.events(kind="request", method="TRANSPORT", detail={"head": handshake.hex()})
    with socket.create_connection(("127.0.0.1", emu.port(9200)), timeout=5) as s:  # huge body
        s.sendall(b"POST /_search HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        s.settimeout(5)
        try:
            for _ in range(40):
                s.sendall(b"x" * 65536)
        except OSError:
            pass  # dropped past the cap, as meant
    fuzz_tcp(
        emu.port(9200),
        [
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /a/_search HTTP/1.1\r\nContent-Length: 5\r\n\r\n{}",
        ],
    )
    fuzz_tcp(emu.port(9300), [b"ES\x00\x00"])
    assert call(emu.port(9200), "/")[0] == 200
    assert emu.alive()
