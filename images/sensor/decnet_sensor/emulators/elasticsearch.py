"""Elasticsearch 7.x HTTP API (9200) on twisted.web: `GET /` cluster info with the configured
version and cluster name, `_cat/*`, `_cluster/health`, `_search` (no hits), writes refused as a
read-only cluster; every request recorded (method, path, user agent, body excerpt), a Basic
`Authorization` as a login. The transport port (9300) answers what ES answers to HTTP there."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import urllib.parse
from typing import Any

from twisted.application.service import Service
from twisted.internet import protocol
from twisted.web import resource, server

from ._common import QUERY_CAP, BinaryProtocol, Events, factory_for, session_of, tcp_services, text
from .base import EmulatorContext

SERVICE = "elasticsearch"

TRANSPORT_PORTS: set[int] = set(range(9300, 9400))  # test hook: testserve adds its own
MAX_BODY = 1 << 20
IDLE = 60
LUCENE = {"7": "8.11.1", "8": "9.9.2", "6": "7.7.3"}
CAT = [
    "allocation",
    "shards",
    "master",
    "nodes",
    "tasks",
    "indices",
    "segments",
    "count",
    "recovery",
    "health",
    "aliases",
    "thread_pool",
    "plugins",
    "templates",
]


def cluster_uuid(hostname: str, cluster: str) -> str:
    """Stable per decky and cluster (a recreated container keeps it), 22 chars like ES's."""
    digest = hashlib.sha256(f"{hostname}/{cluster}".encode()).digest()
    return base64.urlsafe_b64encode(digest)[:22].decode()


def info(hostname: str, cluster: str, version: str) -> dict[str, Any]:
    major = version.split(".")[0]
    build_hash = hashlib.sha1(version.encode()).hexdigest()
    return {
        "name": hostname,
        "cluster_name": cluster,
        "cluster_uuid": cluster_uuid(hostname, cluster),
        "version": {
            "number": version,
            "build_flavor": "default",
            "build_type": "docker",
            "build_hash": build_hash,
            "build_date": "2024-02-02T12:04:59.691750271Z",
            "build_snapshot": False,
            "lucene_version": LUCENE.get(major, "8.11.1"),
            "minimum_wire_compatibility_version": "6.8.0",
            "minimum_index_compatibility_version": "6.0.0-beta1",
        },
        "tagline": "You Know, for Search",
    }


def indices(hostname: str) -> list[tuple[str, str, int, str]]:
    """A few believable indices (name, uuid, docs, size), fixed per decky."""
    seed = hashlib.sha256(hostname.encode()).digest()
    names = ["customers", "orders-2026", ".kibana_1", "logs-app"]
    return [
        (
            n,
            base64.urlsafe_b64encode(hashlib.sha256(seed + n.encode()).digest())[:22].decode(),
            1000 + seed[i] * 371,
            f"{1 + seed[i + 4] % 90}.{seed[i + 8] % 10}mb",
        )
        for i, n in enumerate(names)
    ]


def cat_indices(hostname: str, verbose: bool) -> str:
    rows = (
        [
            (
                "health",
                "status",
                "index",
                "uuid",
                "pri",
                "rep",
                "docs.count",
                "docs.deleted",
                "store.size",
                "pri.store.size",
            )
        ]
        if verbose
        else []
    )
    for name, uuid, docs, size in indices(hostname):
        rows.append(("green", "open", name, uuid, "1", "0", str(docs), "0", size, size))
    widths = [max(len(r[i]) for r in rows) for i in range(10)]
    return "".join(
        " ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " \n" for r in rows
    )


def error(kind: str, reason: str, status: int, **extra: str) -> dict[str, Any]:
    cause = {"type": kind, "reason": reason, **extra}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def basic_credentials(header: bytes | None) -> tuple[bytes, bytes] | None:
    if not header or header[:6].lower() != b"basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    return (user, password) if sep else None


def route(method: str, path: str, hostname: str, cluster: str, version: str) -> tuple[int, Any]:
    """(status, JSON-able body or text) for one request: pure."""
    parts = [p for p in path.split("/") if p]
    if not parts and method in ("GET", "HEAD"):
        return 200, info(hostname, cluster, version)
    if not parts:
        reason = f"Incorrect HTTP method for uri [/] and method [{method}], allowed: [HEAD, GET]"
        return 405, error("illegal_argument_exception", reason, 405)
    if parts[0] == "_cat":
        if len(parts) == 1:
            return 200, "=^.^=\n" + "".join(f"/_cat/{c}\n" for c in CAT)
        if parts[1] == "indices":
            return 200, None  # text, rendered by the caller (it knows ?v)
        if parts[1] == "health":
            return 200, f"1733560000 10:00:00 {cluster} green 1 1 4 4 0 0 0 0 - 100.0%\n"
    if parts[0] == "_cluster" and parts[1:2] == ["health"]:
        return 200, {
            "cluster_name": cluster,
            "status": "green",
            "timed_out": False,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": 4,
            "active_shards": 4,
            "relocating_shards": 0,
            "initializing_shards": 0,
            "unassigned_shards": 0,
            "active_shards_percent_as_number": 100.0,
        }
    if parts[-1] in ("_search", "_count") and method in ("GET", "POST"):
        if parts[-1] == "_count":
            return 200, {
                "count": 0,
                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            }
        return 200, {
            "took": 2,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"total": {"value": 0, "relation": "eq"}, "max_score": None, "hits": []},
        }
    if method in ("PUT", "POST", "DELETE"):
        index = parts[0]
        return 403, error(
            "cluster_block_exception",
            f"index [{index}] blocked by: [FORBIDDEN/8/index write (api)];",
            403,
        )
    index = parts[0]
    if index.startswith("_"):
        return 400, error(
            "invalid_index_name_exception",
            f"Invalid index name [{index}], must not start with '_'.",
            400,
            index=index,
        )
    if index in {n for n, *_ in indices(hostname)}:
        return 200, {
            index: {
                "aliases": {},
                "mappings": {},
                "settings": {
                    "index": {
                        "number_of_shards": "1",
                        "number_of_replicas": "0",
                        "provided_name": index,
                    }
                },
            }
        }
    return 404, error(
        "index_not_found_exception",
        f"no such index [{index}]",
        404,
        index=index,
        **{"resource.type": "index_or_alias", "resource.id": index},
    )


class CappedRequest(server.Request):
    """A request whose body stops being read past MAX_BODY (the connection is dropped)."""

    received = 0

    def handleContentChunk(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > MAX_BODY:
            self.channel.transport.loseConnection()
            return
        super().handleContentChunk(data)


class API(resource.Resource):
    isLeaf = True

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.cluster = ctx.config.get("cluster_name", "prod-logs")
        self.version = ctx.config.get("version", "7.17.18")

    def render(self, request: server.Request) -> bytes:
        method = (request.method or b"GET").decode("ascii", "replace").upper()
        raw_path = text(request.uri or b"/", 1024)
        path, _, qs = raw_path.partition("?")
        params = urllib.parse.parse_qs(qs, keep_blank_values=True)
        status, body = route(method, path, self.ctx.hostname, self.cluster, self.version)
        if body is None:
            body = cat_indices(self.ctx.hostname, "v" in params)
        self.record(request, method, raw_path, status)
        request.setResponseCode(status)
        for name in (b"server", b"date"):  # Elasticsearch sends neither
            request.responseHeaders.removeHeader(name)
        request.setHeader(b"X-elastic-product", b"Elasticsearch")
        if isinstance(body, str):
            request.setHeader(b"content-type", b"text/plain; charset=UTF-8")
            out = body.encode()
        else:
            request.setHeader(b"content-type", b"application/json; charset=UTF-8")
            pretty = "pretty" in params
            out = (
                json.dumps(body, indent=2, separators=(",", " : ")) + "\n"
                if pretty
                else json.dumps(body, separators=(",", ":"))
            ).encode()
        request.setHeader(b"content-length", str(len(out)).encode())
        return b"" if method == "HEAD" else out

    def record(self, request: server.Request, method: str, path: str, status: int) -> None:
        peer, host = request.getClientAddress(), request.getHost()
        transport = request.channel.transport if request.channel else None
        events = Events(
            self.ctx,
            (getattr(peer, "host", ""), getattr(peer, "port", 0)),
            (getattr(host, "host", ""), getattr(host, "port", 0)),
            session_of(transport) if transport is not None else None,
        )
        creds = basic_credentials(request.getHeader(b"authorization"))
        if creds is not None:  # no security configured: ES serves the request whoever asks
            events.login(*creds, "success", mechanism="basic")
        request.content.seek(0)
        body = request.content.read(QUERY_CAP)
        extra: dict[str, object] = {"detail": {"status": status}}
        if body:
            extra["query"] = text(body, QUERY_CAP)
        ua = request.getHeader(b"user-agent")
        events.request(method, path, user_agent=text(ua or b""), **extra)


class Transport(BinaryProtocol):
    """The node-to-node port: HTTP gets ES's own refusal; anything else is recorded once."""

    def consume(self) -> None:
        if self.commands:
            self.buffer = b""
            return
        self.count_command()
        data, self.buffer = self.buffer, b""
        if re.match(rb"^[A-Z]{3,7} /", data):
            self.events.request("TRANSPORT", "", query=text(data[:256]), detail={"http": True})
            self.transport.write(b"This is not an HTTP port")
            self.transport.loseConnection()
        else:
            self.events.request("TRANSPORT", "", detail={"head": data[:32].hex()})


class Site(server.Site):
    def log(self, request: server.Request) -> None:
        """No access log: the request is already an event."""


def build(ctx: EmulatorContext) -> list[Service]:
    site = Site(API(ctx), timeout=IDLE)
    site.requestFactory = CappedRequest
    site.displayTracebacks = False
    site.noisy = False
    transport = factory_for(ctx, Transport)

    def factory(port: int, tls: bool) -> protocol.Factory:
        return transport(port, tls) if port in TRANSPORT_PORTS else site

    return tcp_services(ctx, factory)
