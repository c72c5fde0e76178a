"""`decnet serve` in a process of its own, for the tests that drive the product as a service
manager would (the browser tests, the observation end to end): on an ephemeral 127.0.0.1 port,
with a home and a database of its own, the local Docker engine and the localhost inventory."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from local_engine import remove_labelled
from lures import LURES_ENV

from decnet.settings import PROJECT_ROOT

DECNET = Path(sys.executable).with_name("decnet")
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
_LOGIN = re.compile(r"#login=(\S+)")


def spawn_serve(
    env: dict[str, str], log: Path, *args: str
) -> tuple[subprocess.Popen[str], str, str]:
    """`decnet serve --bind 127.0.0.1:0 ARGS`, its stderr into `log` (a file, not a pipe nobody
    drains); (the process, its URL, its login code) once it listens."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(DECNET), "serve", "--bind", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env,
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
        raise AssertionError(f"decnet serve did not start: {log.read_text()}")
    return proc, url, code


def wait_for(
    check: Callable[[], Any], timeout: float = 30, every: float = 0.2, what: str = ""
) -> Any:
    """`check()`'s first true value; an AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(every)


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


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DECNET), *args], capture_output=True, text=True, env=serve_env(home, **env),
        timeout=60, check=True,
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
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, home: Path, **env: str) -> Server:
        """`env`: more of the server's environment (DECNET_IMAGES="" deploys real sensors)."""
        home.mkdir(parents=True, exist_ok=True)
        admin = make_token(home, "browser-admin", "admin")
        viewer = make_token(home, "browser-viewer", "viewer")
        proc, url, code = spawn_serve(serve_env(home, **env), home / "serve.log")
        return cls(proc, url, code, home, admin, viewer, env=env)

    def kill_and_restart(self) -> None:
        """SIGKILL the server (as the OOM killer would: no shutdown runs), then start it again
        on the same home and database."""
        self.proc.kill()
        self.proc.wait()
        restarts = len(list(self.home.glob("serve*.log")))
        log = self.home / f"serve-{restarts}.log"
        self.proc, self.url, self.login_code = spawn_serve(serve_env(self.home, **self.env), log)

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

    def cli(self, *args: str) -> str:
        """`decnet ARGS` on the server's home and database (what an operator beside it runs)."""
        return cli(self.home, *args, **self.env).stdout

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

    def deploy(self, name: str, timeout: float = 600) -> dict[str, Any]:
        """Deploy through the engine API; the finished run's view."""
        return self.run_job(name, "deploy", timeout)

    def teardown(self, name: str, timeout: float = 600) -> dict[str, Any]:
        return self.run_job(name, "teardown", timeout)

    def run_job(self, name: str, action: str, timeout: float) -> dict[str, Any]:
        with self.api() as c:
            job = c.post(f"/topologies/{name}/{action}", json={}).json()["id"]
            deadline = time.monotonic() + timeout
            while True:
                view: dict[str, Any] = c.get(f"/runs/{job}").json()
                if view["state"] in ("succeeded", "failed", "cancelled"):
                    return view
                assert time.monotonic() < deadline, f"the {action} of {name} took over {timeout} s"
                time.sleep(2)

    def apply_ops(self, name: str, ops: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
        """Submit a live edit through the API and wait until the server's reconciler settles it;
        the mutation's row."""
        with self.api() as c:
            r = c.post(f"/topologies/{name}/ops", json={"ops": ops})
            assert r.status_code == 202, r.text
            mutation = r.json()["mutation"]["id"]

            def settled() -> dict[str, Any] | None:
                row: dict[str, Any] = c.get(f"/mutations/{mutation}").json()
                return row if row["state"] in ("applied", "failed", "cancelled") else None

            row: dict[str, Any] = wait_for(settled, timeout, what="the edit to be applied")
        return row

    def create_document(self, text: str) -> dict[str, Any]:
        with self.api() as c:
            r = c.post("/topologies", json={"document": text})
            assert r.status_code == 201, r.text
            return dict(r.json())


@contextmanager
def serving(home: Path, **env: str) -> Iterator[Server]:
    """A server for a module or a session; stopped after, with every topology it named removed
    from the local engine."""
    srv = Server.start(home, **env)
    try:
        yield srv
    finally:
        srv.stop()
        for name in srv.names:
            remove_labelled(name)
