# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""The Docker engine client of decnet_compose_project: the docker CLI (timeouts, retries of
transient daemon errors) and the Engine API over the local socket for per-container calls.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_failure import Failure
from ansible.module_utils.decnet_host import MIN_COMPOSE

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeAlias

    from ansible.module_utils.decnet_host import Doc
    from ansible.module_utils.decnet_scrub import Scrubber

    Request: TypeAlias = tuple[str, str, dict[str, Any] | None]
    """An Engine API call: method, path, JSON body."""

INSTALL_HINT = (
    "install Docker Engine and the compose v2 plugin (docker-compose >= 2.18 in "
    "/usr/local/lib/docker/cli-plugins/), or run playbooks/prepare.yml to check the host"
)
# Daemon errors that say "try again", seen under load (thread exhaustion in dockerd, a
# containerd task not yet cleaned up, a removal racing another one).
TRANSIENT = re.compile(
    r"resource temporarily unavailable|task \S+: already exists|connection reset by peer|"
    r"i/o timeout|context deadline exceeded|TLS handshake timeout|device or resource busy|"
    r"is already in progress|too many open files|Cannot connect to the Docker daemon",
    re.IGNORECASE,
)
GONE = re.compile(r"No such container|No such network|not found", re.IGNORECASE)
PROGRESS_LINE = re.compile(
    r"^\s*(Network|Container|Volume|Image)\s+\S+\s+(Creating|Created|Starting|Started|Stopping|"
    r"Stopped|Removing|Removed|Recreate|Recreated|Running|Waiting|Healthy|Pulling|Pulled|"
    r"Skipped.*|Error|Resource is still in use)\s*$"
)
NOISE_LINE = re.compile(r"^\s*exit status \d+\s*$")


def essential(output: str) -> str:
    """A docker command's output without compose's progress lines and `exit status N`
    trailers, as one line: what is left is the error, its cause first."""
    lines = [ln.strip() for ln in output.strip().splitlines()]
    kept = [ln for ln in lines if ln and not PROGRESS_LINE.match(ln) and not NOISE_LINE.match(ln)]
    return "; ".join(kept) or "; ".join(ln for ln in lines if ln)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class EngineAPI:
    """The few Engine API calls made once per container, over the daemon's unix socket."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path, self.timeout = path, timeout

    @classmethod
    def local(cls, env: Mapping[str, str], timeout: float) -> EngineAPI | None:
        """The local socket the CLI would use, or None (a remote DOCKER_HOST or a context:
        then everything goes through the CLI)."""
        if env.get("DOCKER_CONTEXT"):
            return None
        host = env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if not host.startswith("unix://"):
            return None
        path = host[len("unix://") :]
        return cls(path, timeout) if os.path.exists(path) else None

    def call(self, method: str, path: str, body: Doc | None = None) -> tuple[int, str]:
        """One operation: (0, "") or (1, the daemon's message, as the CLI words it)."""
        status, data = self.exchange(method, path, body)
        if status < 300 or status == 304:
            return 0, ""
        try:
            message = str(json.loads(data).get("message") or data)
        except (ValueError, AttributeError):
            message = data
        return 1, f"Error response from daemon: {message.strip()}"

    def read(self, path: str) -> Any:
        """A GET's JSON document; None when the object is gone (404)."""
        status, data = self.exchange("GET", path, None)
        if status == 404:
            return None
        if status >= 300:
            what = path.split("?")[0]
            raise Failure(f"docker engine GET {what} failed ({status}): {data.strip()[:200]}")
        return json.loads(data)

    def exchange(self, method: str, path: str, body: Doc | None) -> tuple[int, str]:
        """(HTTP status, body); status 599 and the CLI's words when the socket does not answer
        (a transient error: `attempt` retries it)."""
        conn = _UnixHTTPConnection(self.path, self.timeout)
        try:
            payload = json.dumps(body) if body is not None else None
            headers = {"Content-Type": "application/json"} if payload else {}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        except socket.timeout as exc:  # an OSError, not TimeoutError, before 3.10
            what = path.split("?")[0].rsplit("/", 1)[-1]
            raise Failure(f"docker {what} did not finish within {self.timeout}s") from exc
        except OSError as exc:
            return 599, f"Cannot connect to the Docker daemon at unix://{self.path} ({exc})"
        finally:
            conn.close()


def api_request(args: list[str]) -> Request | None:
    """The Engine API form of the CLI calls `attempt` makes (None: use the CLI). No `match`:
    managed hosts may run a Python older than 3.10."""
    q = urllib.parse.quote
    n = len(args)
    if n == 2 and args[0] == "start":
        return "POST", f"/containers/{q(args[1])}/start", None
    if n == 4 and args[0] in ("stop", "restart") and args[1] == "-t":
        return "POST", f"/containers/{q(args[3])}/{args[0]}?t={q(args[2])}", None
    if n == 4 and args[:3] == ["rm", "-f", "-v"]:
        return "DELETE", f"/containers/{q(args[3])}?force=1&v=1", None
    if n == 3 and args[:2] == ["network", "rm"]:
        return "DELETE", f"/networks/{q(args[2])}", None
    if n == 5 and args[:3] == ["network", "disconnect", "-f"]:
        return "POST", f"/networks/{q(args[3])}/disconnect", {"Container": args[4], "Force": True}
    return None


class Docker:
    """The docker CLI: a timeout per call, retries of transient errors, an environment free of
    COMPOSE_* overrides."""

    def __init__(self, binary: str | None, timeout: int, retries: int, scrub: Scrubber) -> None:
        self.timeout = timeout
        self.retries = max(0, retries)
        self.scrub = scrub
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        self.env["LC_ALL"] = "C"
        self.docker = binary
        self.api = EngineAPI.local(self.env, self.timeout)
        self.compose_version: str | None = None

    def run(
        self, args: list[str], stdin: str | None = None, cwd: str | None = None
    ) -> tuple[int, str, str]:
        if not self.docker:
            raise Failure(f"the docker CLI is not installed on this host: {INSTALL_HINT}")
        try:
            proc = subprocess.run(
                [self.docker, *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env=self.env,
                cwd=cwd,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise Failure(f"docker {args[0]} did not finish within {self.timeout}s") from exc
        return proc.returncode, proc.stdout, proc.stderr

    def attempt(self, args: list[str]) -> tuple[int, str]:
        """Run one container or network operation, retrying transient daemon errors with a
        growing pause; (rc, error text). Through the Engine API when it is a local socket
        (a docker CLI process per container is most of the CPU on a small host), else the CLI."""
        request = api_request(args) if self.api else None
        for tries in range(self.retries + 1):
            try:
                if request is not None and self.api is not None:
                    rc, err = self.api.call(*request)
                else:
                    rc, _, err = self.run(args)
            except Failure as exc:
                return 1, str(exc)
            if rc == 0 or not TRANSIENT.search(err) or tries == self.retries:
                return rc, err
            time.sleep(min(8, 2**tries))
        return 1, "unreachable"

    def must(
        self, args: list[str], what: str, stdin: str | None = None, cwd: str | None = None
    ) -> str:
        rc, out, err = self.run(args, stdin, cwd)
        if rc != 0:
            raise Failure(f"{what} failed: {self.scrub(essential(err or out))}")
        return out

    def stream(
        self, args: list[str], cwd: str | None, on_line: Callable[[str], None]
    ) -> tuple[int, str]:
        """Run a long command, handing each output line to `on_line`; killed when no line
        arrives for `timeout` seconds (no progress), whatever its total time."""
        if not self.docker:
            raise Failure(f"the docker CLI is not installed on this host: {INSTALL_HINT}")
        proc = subprocess.Popen(
            [self.docker, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
            cwd=cwd,
            start_new_session=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        output = proc.stdout
        assert output is not None  # stdout=PIPE

        def pump() -> None:
            for line in output:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        out: list[str] = []
        while True:
            try:
                line = lines.get(timeout=self.timeout)
            except queue.Empty:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise Failure(
                    f"docker {' '.join(args[:1])} made no progress for {self.timeout}s and was "
                    f"stopped (raise decnet_topology_timeout / decnet deploy --timeout)"
                ) from None
            if line is None:
                break
            out.append(line)
            on_line(line)
        return proc.wait(), "".join(out)

    def check_engine(self) -> str:
        """The compose version, once the engine answered and compose is recent enough (asked
        once per module run: an inline apply checks twice)."""
        if self.compose_version is not None:
            return self.compose_version
        rc, out, err = self.run(["version", "--format", "{{.Server.Version}}"])
        if rc != 0 or not out.strip():
            raise Failure(
                f"the Docker engine does not answer ({essential(err) or 'no server version'}); "
                f"start dockerd or {INSTALL_HINT}"
            )
        rc, out, err = self.run(["compose", "version", "--short"])
        match = re.match(r"v?([0-9]+)\.([0-9]+)", out.strip())
        if rc != 0 or not match:
            raise Failure(f"docker compose v2 is not available ({err.strip()}); {INSTALL_HINT}")
        version = (int(match.group(1)), int(match.group(2)))
        if version < MIN_COMPOSE:
            need = ".".join(str(p) for p in MIN_COMPOSE)
            raise Failure(
                f"docker compose {out.strip()} is too old (need >= {need}); {INSTALL_HINT}"
            )
        self.compose_version = out.strip()
        return self.compose_version

    def image_id(self, ref: str) -> str | None:
        """The id of the engine's image `ref`; None when the engine does not have it."""
        if self.api is not None:
            doc = self._read(f"/images/{urllib.parse.quote(ref, safe='/:@')}/json")
            return str(doc["Id"]) if isinstance(doc, dict) and doc.get("Id") else None
        rc, out, _ = self.run(["image", "inspect", "--format", "{{.Id}}", ref])
        return out.strip() if rc == 0 and out.strip() else None

    def inspect(self, kind: list[str], ids: list[str]) -> list[Doc]:
        if not ids:
            return []
        rc, out, _ = self.run([*kind, "inspect", *ids])
        if rc != 0:
            # an object vanished between the listing and the inspection: inspect one by one
            found: list[Doc] = []
            for one in ids:
                rc, out1, _ = self.run([*kind, "inspect", one])
                if rc == 0:
                    found.extend(json.loads(out1))
            return found
        docs: list[Doc] = json.loads(out)
        return docs

    def ids(self, kind: str, label: str | None = None, running_only: bool = False) -> list[str]:
        if self.api is not None:
            return [doc["Id"] for doc in self._listing(kind, label, running_only)]
        args = ["ps", "-q", "--no-trunc"] if kind == "container" else ["network", "ls", "-q"]
        if kind == "container" and not running_only:
            args.append("-a")
        if kind == "network":
            args.append("--no-trunc")
        if label:
            args += ["--filter", f"label={label}"]
        return self.must(args, f"docker {' '.join(args[:2])}").split()

    def containers(self, label: str | None = None, running_only: bool = False) -> list[Doc]:
        if self.api is not None:
            found = self._listing("container", label, running_only)
            return self._inspect_each("/containers/{}/json", [d["Id"] for d in found])
        return self.inspect(["container"], self.ids("container", label, running_only))

    def networks(self, label: str | None = None) -> list[Doc]:
        if self.api is not None:
            found = self._listing("network", label, False)
            return self._inspect_each("/networks/{}", [d["Id"] for d in found])
        return self.inspect(["network"], self.ids("network", label))

    def container_summaries(self, running_only: bool) -> list[Doc]:
        """`{"name", "labels", "ports": [[host port, proto], ...]}` of every container of the
        engine: from one listing call over the API (no inspection: on a busy host, inspecting
        a container that is starting waits for it), else from the CLI's inspections."""
        if self.api is not None:
            return [_listed(d) for d in self._listing("container", None, running_only)]
        return [_inspected(d) for d in self.containers(None, running_only)]

    def network_summaries(self) -> list[Doc]:
        """Every network with its `Name`, `Labels` and `IPAM` (the listing has them)."""
        if self.api is not None:
            return self._listing("network", None, False)
        return self.networks()

    # The Engine API form of `ps`/`network ls` + `inspect`: the same documents the CLI prints
    # (it is a client of the same endpoints), without a CLI process per call (about 50 ms each
    # on a small host, several per apply step).
    def _listing(self, kind: str, label: str | None, running_only: bool) -> list[Doc]:
        assert self.api is not None
        filters = json.dumps({"label": [label]} if label else {})
        query = urllib.parse.urlencode(
            {
                "filters": filters,
                **({"all": "1"} if kind == "container" and not running_only else {}),
            }
        )
        path = "/containers/json" if kind == "container" else "/networks"
        docs = self._read(f"{path}?{query}")
        return list(docs or [])

    def _inspect_each(self, template: str, ids: list[str]) -> list[Doc]:
        """Each object's inspection; one gone between the listing and now is left out."""
        found = (self._read(template.format(urllib.parse.quote(i))) for i in ids)
        return [doc for doc in found if doc is not None]

    def _read(self, path: str) -> Any:
        """A GET through the API, retried like `attempt` when the daemon is busy."""
        assert self.api is not None
        for tries in range(self.retries + 1):
            try:
                return self.api.read(path)
            except Failure as exc:
                if not TRANSIENT.search(str(exc)) or tries == self.retries:
                    raise
            time.sleep(min(8, 2**tries))
        return None


def _listed(doc: Doc) -> Doc:
    ports = [[p.get("PublicPort"), p.get("Type") or "tcp"] for p in doc.get("Ports") or []]
    return {
        "name": ((doc.get("Names") or ["/"])[0]).lstrip("/"),
        "labels": doc.get("Labels") or {},
        "ports": [p for p in ports if p[0]],
    }


def _inspected(doc: Doc) -> Doc:
    ports = []
    for key, binds in ((doc.get("NetworkSettings") or {}).get("Ports") or {}).items():
        proto = key.partition("/")[2] or "tcp"
        ports += [[int(b["HostPort"]), proto] for b in binds or [] if b.get("HostPort")]
    return {
        "name": str(doc.get("Name", "")).lstrip("/"),
        "labels": (doc.get("Config") or {}).get("Labels") or {},
        "ports": ports,
    }
