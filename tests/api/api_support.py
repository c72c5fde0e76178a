"""Helpers of the API tests (a uniquely named module: `conftest` exists elsewhere too)."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from local_engine import remove_labelled
from lures import LURES
from serve_support import spawn_serve
from serve_support import wait_for as serve_wait_for
from subnet_pools import fresh_lans

from decnet.api.config import API_PREFIX, ApiConfig
from decnet.api.server import ThreadedServer
from decnet.engine.tokens import Role, create_token
from decnet.settings import PROJECT_ROOT, Settings
from decnet.store import Store

DOCKER_TIMEOUT = 60
DECNET = Path(sys.executable).with_name("decnet")


@dataclass
class ApiEnv:
    server: ThreadedServer
    settings: Settings
    admin: str
    viewer: str
    names: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, token: str | None = "admin", **kwargs: Any) -> httpx.Client:
        """A client for /api/v1 with `token` ("admin", "viewer", a literal token or None)."""
        bearer = {"admin": self.admin, "viewer": self.viewer}.get(token or "", token)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url + API_PREFIX, headers=headers, **kwargs)

    @contextmanager
    def store(self) -> Iterator[Store]:
        store = Store(self.settings.db_path)
        try:
            yield store
        finally:
            store.close()

    def new_name(self) -> str:
        name = f"e2e-{uuid.uuid4().hex[:6]}"
        self.names.append(name)
        return name

    def env(self, **extra: str) -> dict[str, str]:
        return cli_env(self.settings, **extra)

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DECNET), *args], capture_output=True, text=True, env=self.env(),
            timeout=timeout, check=False,
        )  # fmt: skip


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env.update(
        DECNET_HOME=str(settings.home),
        DECNET_DB=str(settings.db_path),
        DECNET_INVENTORY=str(settings.inventory),
        DECNET_IMAGES=",".join(f"{k}={v}" for k, v in settings.site_images.items()),
        COLUMNS="200",
        **extra,
    )
    return env


def make_settings(tmp: Path) -> Settings:
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    return Settings(
        db_path=tmp / "decnet.db",
        home=home,
        inventory=PROJECT_ROOT / "inventory" / "localhost.yml",
        site_images=dict(LURES),
    )


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    except sqlite3.Error as e:
        raise AssertionError(f"{e.sqlite_errorname} {e}") from e
    finally:
        conn.close()


wait_for = functools.partial(serve_wait_for, every=0.05)
"""tests/serve_support.py's, polling every 50 ms: an in-process server answers at once."""


def document(name: str, *, password: str | None = None) -> str:
    """A small topology file: dmz (gw: http [+ ssh with a password]) and lan-1 (a bridge and
    one decky), on pinned subnets no concurrent test holds."""
    dmz, lan = fresh_lans(2)
    ssh = ["ssh"] if password else []
    config = f"\n    config: {{ssh: {{password: {json.dumps(password)}}}}}" if password else ""
    return f"""name: {name}
host: localhost
lans:
  - {{name: dmz, dmz: true, subnet: {dmz}}}
  - {{name: lan-1, subnet: {lan}}}
deckies:
  - name: gw
    home: dmz
    services: [http{", ssh" if ssh else ""}]{config}
  - {{name: br, home: lan-1, services: [http], attach: [dmz], forwards_l3: true}}
  - {{name: a, home: lan-1, services: [http]}}
"""


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=DOCKER_TIMEOUT, check=check
    )


def running_containers(name: str) -> list[str]:
    out = docker(
        "ps", "--filter", f"label=decnet.topology={name}", "--filter", "status=running",
        "--format", "{{.Names}}",
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if line.strip()]


def remove_settled(name: str, quiet: float = 5, timeout: float = 90) -> None:
    """Remove the topology's containers until none has appeared for `quiet` seconds: a
    cancelled run leaves the module already running on the host to finish (MACHINE.md), and
    it may create containers after the test is over."""
    deadline, calm_since = time.monotonic() + timeout, time.monotonic()
    while time.monotonic() < deadline:
        found = docker("ps", "-aq", "--filter", f"label=decnet.topology={name}", check=False)
        if found.stdout.strip():
            remove_labelled(name)
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            break
        time.sleep(0.5)
    remove_labelled(name)


def start_private(tmp: Path, **config: Any) -> ApiEnv:
    """A server of its own (own database, own knobs) for a test that must not share one;
    keywords naming Settings fields go there, the others to ApiConfig. The caller stops it."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    overrides = {k: config.pop(k) for k in list(config) if k in fields}
    settings = dataclasses.replace(make_settings(tmp), **overrides)
    with Store(settings.db_path) as store:
        _, admin = create_token(store, "admin", Role.ADMIN)
        _, viewer = create_token(store, "viewer", Role.VIEWER)
    config.setdefault("web_dir", str(tmp / "no-web"))
    server = ThreadedServer(ApiConfig(settings=settings, **config))
    return ApiEnv(server.start(), settings, admin, viewer)


WRITER = """
import sys, time
from decnet import events as ev
from decnet.store import Store
db, topology, count, rate = sys.argv[1], sys.argv[2] or None, int(sys.argv[3]), float(sys.argv[4])
store = Store(db)
start = time.monotonic()
for i in range(count):
    store.append_event(ev.WatchError(chore="load", error=str(i)), topology=topology)
    delay = start + (i + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print("done", flush=True)
"""


def event_writer(
    db: Path, count: int, rate: float, topology: str | None = None
) -> subprocess.Popen[str]:
    """Another process appending `count` `watch.error` ticks at `rate` per second."""
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), topology or "", str(count), str(rate)],
        stdout=subprocess.PIPE,
        text=True,
    )


@dataclass
class ServeProcess:
    """`decnet serve` in a process of its own, on an ephemeral loopback port."""

    proc: subprocess.Popen[str]
    url: str
    login_code: str

    @classmethod
    def start(cls, settings: Settings, *args: str, **env: str) -> ServeProcess:
        proc, url, code = spawn_serve(cli_env(settings, **env), settings.home / "serve.log", *args)
        return cls(proc, url, code)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager would; SIGKILL only if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        return self.proc.returncode


def parse_frame(frame: str) -> dict[str, str]:
    """One SSE frame -> {"event": …, "id": …, "data": …} (comments dropped)."""
    fields: dict[str, str] = {}
    for line in frame.split("\r\n"):
        if line and not line.startswith(":"):
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            fields[key] = fields[key] + "\n" + value if key in fields else value
    return fields


async def aframes(response: httpx.Response) -> AsyncIterator[list[dict[str, str]]]:
    """The frames of an SSE response, a chunk at a time: cheap enough that 100 clients in one
    process measure the server, not the client (a per-line async parser costs ~170 µs/event)."""
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        *frames, buffer = buffer.split("\r\n\r\n")
        parsed = [parse_frame(f) for f in frames]
        yield [f for f in parsed if f]


FINAL = {"succeeded", "failed", "cancelled"}


def finished(c: httpx.Client, run_id: str, timeout: float = 300) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        view: dict[str, Any] = c.get(f"/runs/{run_id}").json()
        return view if view["state"] in FINAL else None

    result: dict[str, Any] = wait_for(done, timeout=timeout, every=0.5)
    return result


def accepted(r: httpx.Response) -> str:
    assert r.status_code == 202, r.text
    run_id = str(r.json()["id"])
    assert r.headers["location"] == f"{API_PREFIX}/runs/{run_id}"
    assert r.json()["state"] in ("queued", "running")
    return run_id
