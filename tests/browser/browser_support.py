"""Helpers of the browser tests (a uniquely named module: `conftest` exists elsewhere too).

The editor runs in Debian's Chromium driven by Playwright, against a real `decnet serve` in a
process of its own on an ephemeral 127.0.0.1 port and the local Docker engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from lures import LURES_ENV
from playwright.sync_api import ConsoleMessage, Error, Locator, Page
from subnet_pools import fresh_lans

from decnet.settings import PROJECT_ROOT

DECNET = Path(sys.executable).with_name("decnet")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
WEB_DIST = PROJECT_ROOT / "web" / "dist"
ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"
DOC_IMAGES = PROJECT_ROOT / "docs" / "img"
BUNDLE_DIR = Path("/var/lib/decnet/topologies")
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
_LOGIN = re.compile(r"#login=(\S+)")


def serve_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
    env.update(
        DECNET_HOME=str(home),
        DECNET_DB=str(home / "decnet.db"),
        DECNET_INVENTORY=str(PROJECT_ROOT / "inventory" / "localhost.yml"),
        DECNET_IMAGES=LURES_ENV,  # a test that attacks real sensors passes DECNET_IMAGES=""
        COLUMNS="200",
    )
    env.update(extra)
    return env


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECNET), *args], capture_output=True, text=True, env=serve_env(home), timeout=60,
        check=True,
    )  # fmt: skip


def make_token(home: Path, name: str, role: str) -> str:
    out = cli(home, "token", "create", name, "--role", role, "--json").stdout
    return str(json.loads(out)["token"])


@dataclass
class Server:
    """`decnet serve` in its own process; stopped with SIGTERM, as a service manager would."""

    proc: subprocess.Popen[str]
    url: str
    login_code: str
    home: Path
    admin: str
    viewer: str
    names: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, home: Path, **env: str) -> Server:
        """`env`: more of the server's environment (DECNET_IMAGES="" deploys real sensors)."""
        home.mkdir(parents=True, exist_ok=True)
        admin = make_token(home, "browser-admin", "admin")
        viewer = make_token(home, "browser-viewer", "viewer")
        with (home / "serve.log").open("w") as err:
            proc = subprocess.Popen(
                [str(DECNET), "serve", "--bind", "127.0.0.1:0"],
                stdout=subprocess.PIPE, stderr=err, text=True, env=serve_env(home, **env),
            )  # fmt: skip
        url = code = ""
        assert proc.stdout is not None
        for line in proc.stdout:  # the two lines it prints once it listens
            if m := _LISTENING.search(line):
                url = m[1]
            if m := _LOGIN.search(line):
                code = m[1]
                break
        if not url or not code:
            proc.kill()
            raise AssertionError(f"decnet serve did not start: {(home / 'serve.log').read_text()}")
        return cls(proc, url, code, home, admin, viewer)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.admin}"}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def has_route(self, path: str) -> bool:
        with self.api() as c:
            return path in c.get("/openapi.json").json()["paths"]

    def new_name(self) -> str:
        name = f"e2e-{uuid.uuid4().hex[:6]}"
        self.names.append(name)
        return name

    def topology(self, name: str) -> dict[str, Any]:
        with self.api() as c:
            r = c.get(f"/topologies/{name}")
            r.raise_for_status()
            return dict(r.json())

    def create_document(self, text: str) -> dict[str, Any]:
        with self.api() as c:
            r = c.post("/topologies", json={"document": text})
            assert r.status_code == 201, r.text
            return dict(r.json())


def document(name: str) -> str:
    """dmz (gateway gw: http) and lan-1 (bridge br into the DMZ, and decky a), on pinned
    subnets no concurrent test holds."""
    dmz, lan = fresh_lans(2)
    return f"""name: {name}
host: localhost
lans:
  - {{name: dmz, dmz: true, subnet: {dmz}}}
  - {{name: lan-1, subnet: {lan}}}
deckies:
  - {{name: gw, home: dmz, services: [http]}}
  - {{name: br, home: lan-1, services: [http], attach: [dmz], forwards_l3: true}}
  - {{name: a, home: lan-1, services: [http]}}
"""


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=60, check=check
    )


def containers(topology: str) -> dict[str, dict[str, str]]:
    """Container name -> {id, state, decky, role, service} of a topology, by its labels."""
    ids = docker("ps", "-aq", "--filter", f"label=decnet.topology={topology}").stdout.split()
    if not ids:
        return {}
    out: dict[str, dict[str, str]] = {}
    for c in json.loads(docker("inspect", *ids).stdout):
        labels = c["Config"]["Labels"] or {}
        out[c["Name"].lstrip("/")] = {
            "id": c["Id"],
            "state": c["State"]["Status"],
            "decky": labels.get("decnet.decky", ""),
            "role": labels.get("decnet.role", ""),
            "service": labels.get("decnet.service", ""),
        }
    return out


def remove_labelled(name: str) -> None:
    ids = docker("ps", "-aq", "--filter", f"label=decnet.topology={name}", check=False).stdout
    if ids.split():
        docker("rm", "-f", "-v", *ids.split(), check=False)
    nets = docker(
        "network", "ls", "-q", "--filter", f"label=decnet.topology={name}", check=False
    ).stdout.split()
    if nets:
        docker("network", "rm", *nets, check=False)
    shutil.rmtree(BUNDLE_DIR / name, ignore_errors=True)


def wait_for(check: Callable[[], Any], timeout: float = 30, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        time.sleep(every)


def drag_to(page: Page, source: Locator, target: Locator, dx: float, dy: float) -> None:
    """HTML drag and drop from the palette onto the canvas, `dx, dy` into the target (negative:
    from its right/bottom edge). Forced: the point may lie on a card inside the target box,
    where the drop lands as it would under a user's mouse."""
    box = target.bounding_box()
    assert box is not None, "the drop target is not on screen"
    x = dx if dx >= 0 else box["width"] + dx
    y = dy if dy >= 0 else box["height"] + dy
    source.drag_to(target, target_position={"x": x, "y": y}, force=True)


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url)
    page.get_by_test_id("token-input").fill(token)
    page.get_by_test_id("token-submit").click()
    page.get_by_test_id("who").wait_for()


def shot(page: Page, name: str, *, doc: bool = False) -> Path:
    """A screenshot artifact (artifacts/browser/); a `doc` one is also copied to docs/img/
    (what docs/editor.md shows) when DECNET_DOC_SCREENSHOTS=1."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if doc and os.environ.get("DECNET_DOC_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_IMAGES / f"{name}.png")
    return path


class Console:
    """Console errors and uncaught exceptions of the test's pages; `allow` names the few a
    test provokes on purpose (the browser logs every 4xx answer as an error)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.problems.append(f"console error: {msg.text} at {msg.location}")

    def on_error(self, err: Error) -> None:
        self.problems.append(f"page error: {err.message}")

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]
