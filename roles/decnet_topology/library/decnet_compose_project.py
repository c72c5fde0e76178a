#!/usr/bin/python3
# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""Apply or remove one decnet topology (one Docker Compose project) in one module call."""
# Ansible modules put DOCUMENTATION/EXAMPLES/RETURN before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: decnet_compose_project
short_description: Apply or tear down one decnet topology as a Docker Compose project
description:
  - One round trip per topology. With O(state=present) it runs a pre-flight (engine answers,
    compose v2 >= 2.18, published host ports free, network subnets and docker names not taken by
    anything outside the project), writes the compose file atomically (mode 0600), creates the
    containers with C(docker compose up --no-start), starts them itself, dependencies first, at
    most O(concurrency) at a time, verifies every service is running and records
    C(applied.json) with the applied hash.
  - Re-applying an unchanged topology whose containers all run executes nothing but reads and
    reports C(changed=false).
  - If the apply or the verification fails and the topology had never been applied, everything
    this attempt created is removed again and the message says exactly what, if anything, is
    left; if it had been applied before, the previous record is kept.
  - With O(state=absent) it stops and removes every container labelled C(decnet.topology=NAME)
    or belonging to the project (dependent containers first, at most O(concurrency) at a time),
    then its networks (force-disconnecting stale endpoints whose container no longer exists),
    then the topology's directory; anything left is reported with its cause.
  - Transient daemon errors (C(resource temporarily unavailable), an C(already exists) of a
    containerd task, ...) are retried up to O(retries) times. Every run writes a progress file
    (C(BASE_DIR/.progress/NAME.json)) that M(decnet_topology_wait) reads.
  - Runs of this module on one host take a host-wide lock (C(BASE_DIR/.lock)), so topologies
    launched together (async) are applied one after the other.
  - Uses only the Python standard library on the host and the docker CLI with its compose plugin.
version_added: "0.1.0"
options:
  name:
    description: Topology name.
    type: str
    required: true
  project:
    description: Compose project name (meta.json's C(project)); defaults to C(decnet-NAME).
    type: str
  state:
    description: Whether the topology should be applied or removed.
    type: str
    choices: [present, absent]
    default: present
  compose_content:
    description:
      - The full compose file (may hold secrets; never logged or echoed).
      - Required when O(state=present).
    type: str
  desired_hash:
    description:
      - The topology's desired hash (SPEC 5), recorded in C(applied.json) after a successful apply.
      - Defaults to the SHA-256 of O(compose_content).
    type: str
  secret_env:
    description:
      - Which environment variables of which compose service hold secrets (meta.json's
        C(secret_env)); exactly their values, of any length, are masked in every message.
      - When omitted (a bundle without the field), every environment value of 3 or more
        characters is masked, as a precaution.
    type: dict
  base_dir:
    description: Directory holding one sub-directory per topology.
    type: path
    default: /var/lib/decnet/topologies
  concurrency:
    description:
      - Docker operations (create, start, stop, remove) in flight at once.
      - 0 derives it from the host's CPU count (4 per CPU, from 2 to 32).
    type: int
    default: 0
  timeout:
    description:
      - Seconds a docker command may run without progress before it is killed (a compose run
        makes progress with every container it creates; a single container operation must end
        within it).
    type: int
    default: 300
  retries:
    description: How many times an operation that failed with a transient daemon error is retried.
    type: int
    default: 3
  stop_timeout:
    description: Seconds a container gets to stop before it is killed (docker stop -t).
    type: int
    default: 10
  pull:
    description: Compose pull policy for images missing on the host.
    type: str
    choices: [never, missing, always]
    default: never
  quick:
    description:
      - Only find out whether there is work, returning C(unchanged) (or C(absent)) when there is
        none, else C(pending) without changing anything, taking no lock. The role runs this
        synchronously first and launches an async job only for the topologies that need one,
        so a no-op re-apply stays one module call.
    type: bool
    default: false
  settle:
    description:
      - Seconds to wait after containers were (re)started before checking that they stay up
        (a crashing container is caught as restarting).
    type: float
    default: 1.0
author: decnet contributors
"""

EXAMPLES = r"""
- name: Apply one topology
  decnet_compose_project:
    name: demo
    compose_content: "{{ lookup('ansible.builtin.file', 'bundle/hosts/h1/demo/compose.yml') }}"
    desired_hash: "{{ meta.desired_hash }}"
    secret_env: "{{ meta.secret_env }}"
    concurrency: 8
  no_log: true

- name: Tear one topology down
  decnet_compose_project:
    name: demo
    state: absent
"""

RETURN = r"""
status:
  description:
    - What happened.
    - One of applied, unchanged, would_apply, removed, absent, would_remove, failed, and
      pending (O(quick) found work to do).
  returned: always
  type: str
containers:
  description: The project's containers after the run (name, id, service, state).
  returned: always
  type: list
  elements: dict
applied_hash:
  description: The hash recorded on the host after the run (null when nothing is recorded).
  returned: always
  type: str
concurrency:
  description:
    - The limit used and, per operation (create, start, restart, remove, network), the most
      docker calls that were in flight at once.
  returned: always
  type: dict
left:
  description: What a failed teardown or rollback left behind (containers, networks by name).
  returned: on failure
  type: dict
msg:
  description: A one-line summary or the reason of a failure (the cause first, secrets masked).
  returned: always
  type: str
"""

import contextlib
import errno
import fcntl
import hashlib
import http.client
import ipaddress
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, as_completed

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.decnet_host import (
    APPLIED_FILE,
    BASE_DIR,
    COMPOSE_FILE,
    LOCK_FILE,
    MIN_COMPOSE,
    PROJECT_LABEL,
    PROJECT_PREFIX,
    SERVICE_LABEL,
    TOPOLOGY_LABEL,
    Progress,
    atomic_write,
    make_dir,
)

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
MASK = "********"
SHOWN = 5
"""How many names a message lists before `and N more`."""
CAUSE_WIDTH = 800
"""Characters of a failure's cause kept before the rollback's note (which must stay visible)."""
LOG_LINES = 2
"""What a failure quotes of a crashed container's output: its last lines..."""
LOG_WIDTH = 160
"""... each cut to this many characters."""
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


class Failure(Exception):
    """A failure with a message that is safe to show (already scrubbed)."""

    def __init__(self, msg: str, left: dict | None = None) -> None:
        super().__init__(msg)
        self.left = left


# --------------------------------------------------------------------------- secrets


def env_entries(content: str) -> list[tuple[str, str]]:
    """(name, value) of every `environment:` entry of a compose text (where secrets live).

    Read before `docker compose config` parses the file, since its errors may quote values."""
    found = []
    env_indent = None
    for line in content.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if env_indent is not None and indent <= env_indent:
            env_indent = None
        if env_indent is None:
            if re.match(r"^[\"']?environment[\"']?\s*:\s*$", stripped):
                env_indent = indent
            continue
        entry = _env_entry(stripped)
        if entry is not None:
            found.append(entry)
    return found


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] == '"':
            with contextlib.suppress(ValueError):
                inner = json.loads(text)
        return inner
    return text


def _env_entry(entry: str) -> tuple[str, str] | None:
    if entry.startswith("- "):
        item = _unquote(entry[2:])
        key, sep, value = item.partition("=")
        return (key, value) if sep else None
    match = re.match(r"^(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^:]+):\s*(.*)$", entry)
    if not match:
        return None
    return _unquote(match.group(1)), _unquote(match.group(2))


class Scrubber:
    """Masks secret values in any text before it leaves the module.

    With `secret_env` ({compose service: [env names]}) exactly those values are secret, whatever
    their length; without it (an old or hand-made bundle) every environment value of 3+
    characters is, as a precaution."""

    def __init__(self, content: str, secret_env: dict | None) -> None:
        self.secret_env = None
        if secret_env is not None:
            self.secret_env = {str(k): {str(n) for n in (v or [])} for k, v in secret_env.items()}
        names = None
        if self.secret_env is not None:
            names = set().union(*self.secret_env.values()) if self.secret_env else set()
        self.values: list[str] = []
        self._add(v for k, v in env_entries(content) if names is None or k in names)

    def add_config(self, config: dict) -> None:
        found = []
        for svc, spec in (config.get("services") or {}).items():
            env = spec.get("environment") or {}
            if self.secret_env is None:
                found += [v for v in env.values() if isinstance(v, str)]
            else:
                found += [env.get(n) for n in self.secret_env.get(svc, ())]
        self._add(v for v in found if isinstance(v, str))

    def _add(self, values) -> None:
        more = set(self.values)
        for value in values:
            if not value or (self.secret_env is None and len(value) < 3):
                continue
            more.update({value, value.replace("$$", "$")})
        self.values = sorted((v for v in more if v), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        return text


# --------------------------------------------------------------------------- docker

PROGRESS_LINE = re.compile(
    r"^\s*(Network|Container|Volume|Image)\s+\S+\s+(Creating|Created|Starting|Started|Stopping|"
    r"Stopped|Removing|Removed|Recreate|Recreated|Running|Waiting|Healthy|Pulling|Pulled|"
    r"Skipped.*|Error|Resource is still in use)\s*$"
)
CREATED_LINE = re.compile(r"^\s*Container\s+(\S+)\s+(Created|Recreated|Running|Started)\s*$")
NOISE_LINE = re.compile(r"^\s*exit status \d+\s*$")


def essential(output: str) -> str:
    """A docker command's output without compose's progress lines and `exit status N`
    trailers, as one line: what is left is the error, its cause first."""
    lines = [ln.strip() for ln in output.strip().splitlines()]
    kept = [ln for ln in lines if ln and not PROGRESS_LINE.match(ln) and not NOISE_LINE.match(ln)]
    return "; ".join(kept) or "; ".join(ln for ln in lines if ln)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def listing(names: list[str], what: str) -> str:
    """`3 containers (a, b, c)`, at most SHOWN names then `and N more`."""
    shown = ", ".join(names[:SHOWN])
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    noun = what if len(names) == 1 else what + "s"
    return f"{len(names)} {noun} ({shown}{more})"


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
    def local(cls, env: dict, timeout: float) -> EngineAPI | None:
        """The local socket the CLI would use, or None (a remote DOCKER_HOST or a context:
        then everything goes through the CLI)."""
        if env.get("DOCKER_CONTEXT"):
            return None
        host = env.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if not host.startswith("unix://"):
            return None
        path = host[len("unix://") :]
        return cls(path, timeout) if os.path.exists(path) else None

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        conn = _UnixHTTPConnection(self.path, self.timeout)
        try:
            payload = json.dumps(body) if body is not None else None
            headers = {"Content-Type": "application/json"} if payload else {}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
        except socket.timeout as exc:  # noqa: UP041 (an OSError, not TimeoutError, before 3.10)
            what = path.split("?")[0].rsplit("/", 1)[-1]
            raise Failure(f"docker {what} did not finish within {self.timeout}s") from exc
        except OSError as exc:
            return 1, f"Cannot connect to the Docker daemon at unix://{self.path} ({exc})"
        finally:
            conn.close()
        if resp.status < 300 or resp.status == 304:
            return 0, ""
        try:
            message = json.loads(data).get("message") or data
        except (ValueError, AttributeError):
            message = data
        return 1, f"Error response from daemon: {message.strip()}"


def api_request(args: list[str]) -> tuple[str, str, dict | None] | None:
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

    def __init__(self, module: AnsibleModule, scrub: Scrubber) -> None:
        params = module.params
        self.module = module
        self.timeout = params["timeout"]
        self.retries = max(0, params["retries"])
        self.scrub = scrub
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        self.env["LC_ALL"] = "C"
        self.docker = module.get_bin_path("docker")
        self.api = EngineAPI.local(self.env, self.timeout)

    def run(self, args: list[str], stdin: str | None = None, cwd: str | None = None):
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

    def must(self, args: list[str], what: str, **kw) -> str:
        rc, out, err = self.run(args, **kw)
        if rc != 0:
            raise Failure(f"{what} failed: {self.scrub(essential(err or out))}")
        return out

    def stream(self, args: list[str], cwd: str | None, on_line) -> tuple[int, str]:
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
        lines: queue.Queue = queue.Queue()

        def pump() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        out = []
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
        return out.strip()

    def inspect(self, kind: list[str], ids: list[str]) -> list[dict]:
        if not ids:
            return []
        rc, out, _ = self.run([*kind, "inspect", *ids])
        if rc != 0:
            # an object vanished between the listing and the inspection: inspect one by one
            found = []
            for one in ids:
                rc, out1, _ = self.run([*kind, "inspect", one])
                if rc == 0:
                    found.extend(json.loads(out1))
            return found
        return json.loads(out)

    def ids(self, kind: str, label: str | None = None, running_only: bool = False) -> list[str]:
        args = ["ps", "-q", "--no-trunc"] if kind == "container" else ["network", "ls", "-q"]
        if kind == "container" and not running_only:
            args.append("-a")
        if kind == "network":
            args.append("--no-trunc")
        if label:
            args += ["--filter", f"label={label}"]
        return self.must(args, f"docker {' '.join(args[:2])}").split()

    def containers(self, label: str | None = None, running_only: bool = False) -> list[dict]:
        return self.inspect(["container"], self.ids("container", label, running_only))

    def networks(self, label: str | None = None) -> list[dict]:
        return self.inspect(["network"], self.ids("network", label))


# --------------------------------------------------------------------------- bounded work


def default_concurrency() -> int:
    # Measured on 2 cores / engine 20.10: ~8 container starts in flight keep the load near 50;
    # unbounded, 1,000 starts exhausted dockerd's threads.
    return min(32, max(2, 4 * (os.cpu_count() or 1)))


class Pool:
    """At most `size` docker calls in flight; remembers the peak per kind of operation."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.peak: dict[str, int] = {}

    def map(self, op: str, items: list, fn, on_done=lambda ok: None) -> dict:
        """fn(item) -> None (done) or an error text; returns {index: error} of the failures."""
        lock = threading.Lock()
        state = {"now": 0, "max": 0}

        def one(item):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                return fn(item)
            except Failure as exc:
                return str(exc)
            finally:
                with lock:
                    state["now"] -= 1

        errors = {}
        if items:
            with ThreadPoolExecutor(max_workers=min(self.size, len(items))) as ex:
                futures = {ex.submit(one, item): i for i, item in enumerate(items)}
                for fut in as_completed(futures):
                    err = fut.result()
                    if err is not None:
                        errors[futures[fut]] = err
                    on_done(err is None)
        self.peak[op] = max(self.peak.get(op, 0), state["max"])
        return errors


# --------------------------------------------------------------------------- files


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_applied(path: str) -> dict | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def host_lock(base_dir: str, progress: Progress):
    """One apply or teardown at a time per host (async jobs of one play run side by side)."""
    make_dir(base_dir)
    progress.update("queued")
    fd = os.open(os.path.join(base_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- state


def summarize(containers: list[dict]) -> list[dict]:
    rows = []
    for c in containers:
        rows.append(
            {
                "name": c.get("Name", "").lstrip("/"),
                "id": c.get("Id", ""),
                "service": (c.get("Config", {}).get("Labels") or {}).get(SERVICE_LABEL),
                "state": c.get("State", {}).get("Status"),
            }
        )
    return sorted(rows, key=lambda r: r["name"])


def fingerprint(containers: list[dict], networks: list[dict]) -> set:
    marks = {(c["Id"], c["State"].get("StartedAt"), c["State"].get("Running")) for c in containers}
    return marks | {("net", n["Id"]) for n in networks}


def runtime_problems(
    config: dict, containers: list[dict], started_now: set[str], logs=lambda c: ""
) -> list[str]:
    """What is wrong with the running project compared with the config (empty = healthy);
    `logs(container)` adds what a failed container last printed."""
    services = config.get("services") or {}
    by_service: dict[str, list[dict]] = {}
    for c in containers:
        svc = (c["Config"].get("Labels") or {}).get(SERVICE_LABEL, "")
        by_service.setdefault(svc, []).append(c)
    problems = []
    for svc in sorted(services):
        found = by_service.get(svc, [])
        if len(found) != 1:
            problems.append(f"service {svc}: {len(found)} containers")
            continue
        state = found[0]["State"]
        name = found[0]["Name"].lstrip("/")
        if not state.get("Running") or state.get("Restarting"):
            status, code = state.get("Status"), state.get("ExitCode")
            problems.append(f"container {name} is {status} (exit code {code}){logs(found[0])}")
        elif found[0]["Id"] in started_now and found[0].get("RestartCount", 0) > 0:
            # running again between two crashes: docker has reset ExitCode to 0 by now
            count = found[0].get("RestartCount", 0)
            problems.append(f"container {name} keeps restarting ({count} restarts){logs(found[0])}")
    for svc in sorted(set(by_service) - set(services)):
        problems.append(f"unexpected container(s) of service {svc}")
    return problems


def _instant(stamp: str) -> str:
    """An RFC 3339 UTC stamp with its fraction padded to 9 digits, so strings sort as times."""
    match = re.match(r"^([^.Z]+)(?:\.([0-9]+))?Z?$", stamp or "")
    if not match:
        return stamp or ""
    return f"{match.group(1)}.{(match.group(2) or '').ljust(9, '0')}"


def stale_services(config: dict, containers: list[dict]) -> list[str]:
    """Services started before their base: they hold a dead network namespace."""
    started = {}
    for c in containers:
        svc = (c["Config"].get("Labels") or {}).get(SERVICE_LABEL, "")
        started[svc] = _instant(c["State"].get("StartedAt", ""))
    stale = []
    for svc, spec in (config.get("services") or {}).items():
        mode = spec.get("network_mode") or ""
        if mode.startswith("service:"):
            base = mode.split(":", 1)[1]
            if svc in started and base in started and started[svc] < started[base]:
                stale.append(svc)
    return sorted(stale)


# --------------------------------------------------------------------------- pre-flight


def published_ports(config: dict) -> list[tuple[int, str, str, str]]:
    """(host port, protocol, host ip, service) for every published port of the config."""
    result = []
    for svc, spec in (config.get("services") or {}).items():
        for port in spec.get("ports") or []:
            published = str(port.get("published") or "")
            if not published:
                continue
            first, _, last = published.partition("-")
            for number in range(int(first), int(last or first) + 1):
                proto = port.get("protocol") or "tcp"
                result.append((number, proto, port.get("host_ip") or "", svc))
    return result


def bound_by(containers: list[dict]) -> dict[tuple[int, str], str]:
    found = {}
    for c in containers:
        for key, binds in ((c.get("NetworkSettings") or {}).get("Ports") or {}).items():
            _, _, proto = key.partition("/")
            for bind in binds or []:
                if bind.get("HostPort"):
                    found[(int(bind["HostPort"]), proto or "tcp")] = c["Name"].lstrip("/")
    return found


def port_free(port: int, proto: str, host_ip: str) -> bool:
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def preflight(docker: Docker, config: dict, project: str) -> None:
    problems = []
    running = docker.containers(running_only=True)
    mine = bound_by([c for c in running if _labels(c).get(PROJECT_LABEL) == project])
    theirs = bound_by([c for c in running if _labels(c).get(PROJECT_LABEL) != project])
    for port, proto, host_ip, svc in published_ports(config):
        key = (port, proto)
        if key in theirs:
            problems.append(
                f"host port {port}/{proto} (service {svc}) is already published by container "
                f"{theirs[key]}, which is not part of {project}"
            )
        elif key not in mine and not port_free(port, proto, host_ip):
            problems.append(
                f"host port {port}/{proto} (service {svc}) is already in use on this host"
            )
    listing = docker.must(
        ["ps", "-a", "--format", '{{.Names}}\t{{.Label "' + PROJECT_LABEL + '"}}'], "docker ps"
    )
    taken = {
        name: owner
        for name, _, owner in (line.partition("\t") for line in listing.splitlines())
        if owner != project
    }
    for svc, spec in sorted((config.get("services") or {}).items()):
        cname = spec.get("container_name")
        if cname and cname in taken:
            problems.append(
                f"container name {cname} (service {svc}) is taken by a container outside {project}"
            )
    problems += subnet_problems(docker, config, project)
    if problems:
        raise Failure("pre-flight failed, nothing was changed: " + "; ".join(problems))


def subnet_problems(docker: Docker, config: dict, project: str) -> list[str]:
    problems = []
    other_nets = [
        n for n in docker.networks() if (n.get("Labels") or {}).get(PROJECT_LABEL) != project
    ]
    taken = []
    for net in other_nets:
        for pool in ((net.get("IPAM") or {}).get("Config")) or []:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                taken.append((ipaddress.ip_network(pool["Subnet"], strict=False), net["Name"]))
    other_names = {n["Name"] for n in other_nets}
    for key, spec in sorted((config.get("networks") or {}).items()):
        if spec.get("external"):
            continue
        name = spec.get("name") or f"{project}_{key}"
        if name in other_names:
            problems.append(f"network name {name} is taken by a network outside {project}")
        for pool in ((spec.get("ipam") or {}).get("config")) or []:
            if not pool.get("subnet"):
                continue
            wanted = ipaddress.ip_network(pool["subnet"], strict=False)
            for subnet, owner in taken:
                if wanted.version == subnet.version and wanted.overlaps(subnet):
                    problems.append(
                        f"subnet {wanted} of network {name} overlaps {subnet} of Docker network "
                        f"{owner}"
                    )
    return problems


def _labels(obj: dict) -> dict:
    return (obj.get("Config") or {}).get("Labels") or {}


# --------------------------------------------------------------------------- the topology


class Topology:
    def __init__(self, module: AnsibleModule, docker: Docker, pool: Pool, progress: Progress):
        params = module.params
        self.module = module
        self.docker = docker
        self.pool = pool
        self.progress = progress
        self.name = params["name"]
        self.project = params["project"] or f"{PROJECT_PREFIX}{self.name}"
        self.base_dir = params["base_dir"]
        self.dir = os.path.join(self.base_dir, self.name)
        self.compose_file = os.path.join(self.dir, COMPOSE_FILE)
        self.applied_file = os.path.join(self.dir, APPLIED_FILE)

    def compose_args(self) -> list[str]:
        return ["compose", "-p", self.project, "-f", self.compose_file]

    def project_state(self) -> tuple[list[dict], list[dict]]:
        label = f"{PROJECT_LABEL}={self.project}"
        return self.docker.containers(label), self.docker.networks(label)

    def all_objects(self) -> tuple[list[dict], list[dict]]:
        """Everything of the topology: its label or its compose project."""
        found: dict[str, list[dict]] = {"c": [], "n": []}
        for label in (f"{TOPOLOGY_LABEL}={self.name}", f"{PROJECT_LABEL}={self.project}"):
            pairs = (("c", self.docker.containers(label)), ("n", self.docker.networks(label)))
            for key, objs in pairs:
                seen = {o["Id"] for o in found[key]}
                found[key] += [o for o in objs if o["Id"] not in seen]
        return found["c"], found["n"]

    def load_config(self, content: str) -> dict:
        with tempfile.TemporaryDirectory(prefix="decnet-config-") as empty:
            out = self.docker.must(
                ["compose", "-p", self.project, "-f", "-", "config", "--format", "json"],
                "docker compose config (the compose file is invalid)",
                stdin=content,
                cwd=empty,
            )
        config = json.loads(out)
        if not (config.get("services") or {}):
            raise Failure("the compose file defines no service")
        return config


def _name(obj: dict) -> str:
    return (obj.get("Name") or obj.get("Id", "")[:12]).lstrip("/")


def _service_of(container: dict) -> str:
    return _labels(container).get(SERVICE_LABEL, "")


def start_levels(config: dict) -> list[list[str]]:
    """Services grouped so that each group only needs the groups before it (its network_mode
    base and its depends_on), in start order."""
    services = config.get("services") or {}
    needs = {}
    for svc, spec in services.items():
        mode = spec.get("network_mode") or ""
        deps = set(spec.get("depends_on") or {})
        if mode.startswith("service:"):
            deps.add(mode.split(":", 1)[1])
        needs[svc] = {d for d in deps if d in services and d != svc}
    level: dict[str, int] = {}

    def depth(svc: str, path: frozenset) -> int:
        if svc not in level:
            if svc in path:  # compose refuses cycles; never loop on one anyway
                return 0
            level[svc] = 1 + max((depth(d, path | {svc}) for d in needs[svc]), default=-1)
        return level[svc]

    for svc in sorted(services):
        depth(svc, frozenset())
    groups: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for svc in sorted(services):
        groups[level[svc]].append(svc)
    return groups


# --------------------------------------------------------------------------- removal


def remove_objects(topo: Topology, containers: list[dict], networks: list[dict]) -> dict:
    """Stop and remove `containers` (dependents first) and then `networks`, at most
    `concurrency` at a time; returns what is really left: {"containers": [...], "networks":
    [...], "causes": [...]} (empty lists when everything went)."""
    docker, pool, progress = topo.docker, topo.pool, topo.progress
    stop_timeout = str(max(0, topo.module.params["stop_timeout"]))
    progress.update("remove", 0, len(containers))

    def remove_container(c: dict) -> str | None:
        # stop first (the container's own shutdown), then rm -f, which also covers a stop that
        # failed or timed out
        docker.attempt(["stop", "-t", stop_timeout, c["Id"]])
        rc, err = docker.attempt(["rm", "-f", "-v", c["Id"]])
        if rc == 0 or GONE.search(err):
            return None
        return f"container {_name(c)}: {essential(err)}"

    dependents = [c for c in containers if _net_mode(c).startswith("container:")]
    rest = [c for c in containers if not _net_mode(c).startswith("container:")]
    causes = []
    for group in (dependents, rest):
        errors = pool.map("remove", group, remove_container, lambda ok: progress.bump())
        causes += [errors[i] for i in sorted(errors)]
    progress.update("networks", 0, len(networks))
    errors = pool.map(
        "network", networks, lambda n: remove_network(docker, n), lambda ok: progress.bump()
    )
    causes += [errors[i] for i in sorted(errors)]
    alive_c = set(docker.ids("container")) if containers else set()
    alive_n = set(docker.ids("network")) if networks else set()
    return {
        "containers": sorted(_name(c) for c in containers if c["Id"] in alive_c),
        "networks": sorted(_name(n) for n in networks if n["Id"] in alive_n),
        "causes": [topo.docker.scrub(c) for c in causes],
    }


def _net_mode(container: dict) -> str:
    return (container.get("HostConfig") or {}).get("NetworkMode") or ""


def remove_network(docker: Docker, net: dict) -> str | None:
    rc, err = docker.attempt(["network", "rm", net["Id"]])
    if rc == 0 or GONE.search(err):
        return None
    if "active endpoints" not in err:
        return f"network {_name(net)}: {essential(err)}"
    stale, live = endpoints(docker, net["Id"])
    for endpoint in stale:
        # an endpoint whose container is gone (dockerd lost track under load): only a forced
        # disconnect (or a dockerd restart) frees the network
        docker.attempt(["network", "disconnect", "-f", net["Id"], endpoint])
    if stale:
        rc, err = docker.attempt(["network", "rm", net["Id"]])
        if rc == 0 or GONE.search(err):
            return None
        stale, live = endpoints(docker, net["Id"])
    holders = ", ".join(live + [f"{s} (stale)" for s in stale]) or "none listed"
    return f"network {_name(net)}: has active endpoints ({holders})"


def endpoints(docker: Docker, net_id: str) -> tuple[list[str], list[str]]:
    """(stale endpoint names, names of live containers) attached to a network."""
    rc, out, _ = docker.run(["network", "inspect", net_id])
    if rc != 0:
        return [], []
    attached = (json.loads(out) or [{}])[0].get("Containers") or {}
    return split_endpoints(attached, set(docker.ids("container")))


def split_endpoints(attached: dict, existing: set) -> tuple[list[str], list[str]]:
    """An endpoint is stale when no container with its key's id exists (docker shows such
    endpoints under the old id or as `ep-ENDPOINT`); it is disconnected by name, the only
    handle `network disconnect -f` accepts for it."""
    stale, live = [], []
    for cid, ep in sorted(attached.items()):
        name = (ep or {}).get("Name") or cid
        (live if cid in existing else stale).append(name)
    return stale, live


def describe_left(left: dict) -> str:
    parts = []
    if left["containers"]:
        parts.append(listing(left["containers"], "container"))
    if left["networks"]:
        parts.append(listing(left["networks"], "network"))
    text = " and ".join(parts) or "nothing"
    causes = left["causes"][:SHOWN]
    if causes:
        more = f"; and {len(left['causes']) - SHOWN} more" if len(left["causes"]) > SHOWN else ""
        text += ": " + "; ".join(causes) + more
    return text


def is_clean(left: dict) -> bool:
    return not left["containers"] and not left["networks"]


# --------------------------------------------------------------------------- present


def present(module: AnsibleModule, topo: Topology, scrub: Scrubber) -> dict:
    params = module.params
    content = params["compose_content"]
    if content is None:
        raise Failure("compose_content is required with state=present")
    docker = topo.docker
    desired_hash = params["desired_hash"] or _sha256(content)
    topo.progress.update("check")
    docker.check_engine()
    config = topo.load_config(content)
    scrub.add_config(config)
    _register_no_log(module, scrub)

    old_content = read_text(topo.compose_file)
    applied = read_applied(topo.applied_file)
    was_applied = bool(applied and applied.get("applied_hash"))
    old_hash = applied.get("applied_hash") if applied else None
    same_file = old_content == content
    same_hash = old_hash == desired_hash

    containers, networks = topo.project_state()
    problems = runtime_problems(config, containers, set()) + [
        f"service {s} started before its base" for s in stale_services(config, containers)
    ]
    problems += [
        f"network {n.get('Name')} is no longer declared"
        for n in undeclared_networks(config, topo.project, networks)
    ]
    total = len(config.get("services") or {})
    if same_file and same_hash and not problems:
        topo.progress.update("done", total, total)
        return result("unchanged", False, containers, old_hash, "topology is applied and running")
    if params["quick"]:
        return result("pending", False, containers, old_hash, "the topology needs an apply")

    preflight(docker, config, topo.project)
    if module.check_mode:
        why = (
            "the compose file differs"
            if not same_file
            else "the applied hash differs"
            if not same_hash
            else "; ".join(problems)
        )
        return result("would_apply", True, containers, old_hash, f"would apply: {why}")

    before = fingerprint(containers, networks)
    make_dir(topo.dir)
    try:
        if not same_file:
            atomic_write(topo.compose_file, content)
        apply(topo, config, params)
    except Failure as exc:
        existed = {c["Id"] for c in containers} | {n["Id"] for n in networks}
        note, left = rollback(topo, was_applied, old_content, existed)
        raise Failure(f"{clip(str(exc), CAUSE_WIDTH)}{note}", left) from exc

    containers, networks = topo.project_state()
    record = {
        "topology": topo.name,
        "applied_hash": desired_hash,
        "applied_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if not same_hash or applied is None or set(applied) != set(record):
        atomic_write(topo.applied_file, json.dumps(record, sort_keys=True) + "\n")
    changed = not same_file or not same_hash or fingerprint(containers, networks) != before
    msg = "topology applied" if changed else "topology is applied and running"
    topo.progress.update("done", total, total)
    return result("applied" if changed else "unchanged", changed, containers, desired_hash, msg)


def undeclared_networks(config: dict, project: str, networks: list[dict]) -> list[dict]:
    """Networks of the project that the compose file no longer declares (a removed or renamed
    LAN): compose leaves them behind."""
    specs = (config.get("networks") or {}).items()
    declared = {spec.get("name") or f"{project}_{key}" for key, spec in specs}
    return [n for n in networks if n.get("Name") not in declared]


def prune_networks(topo: Topology, config: dict) -> None:
    """Remove what `undeclared_networks` finds, once compose moved the containers off them."""
    left = [
        problem
        for net in undeclared_networks(config, topo.project, topo.project_state()[1])
        if (problem := remove_network(topo.docker, net)) is not None
    ]
    if left:
        raise Failure("a network the topology no longer declares is left: " + "; ".join(left))


def apply(topo: Topology, config: dict, params: dict) -> None:
    """Create (compose up --no-start), start level by level, restart services left in a dead
    namespace, verify."""
    before = {c["Id"]: c["State"].get("StartedAt") for c in topo.project_state()[0]}
    create(topo, config, params)
    prune_networks(topo, config)
    containers = topo.project_state()[0]
    start(topo, config, containers)
    containers = topo.project_state()[0]
    stale = set(stale_services(config, containers))
    if stale:
        targets = [c for c in containers if _service_of(c) in stale]
        restart_timeout = str(max(0, params["stop_timeout"]))
        errors = topo.pool.map(
            "restart", targets, lambda c: _op(topo.docker, ["restart", "-t", restart_timeout], c)
        )
        if errors:
            raise Failure("could not restart " + _failures(errors))
        containers = topo.project_state()[0]
    started = {c["Id"] for c in containers if before.get(c["Id"]) != c["State"].get("StartedAt")}
    topo.progress.update("verify")
    if started and params["settle"] > 0:
        time.sleep(params["settle"])
        containers = topo.project_state()[0]
    problems = runtime_problems(config, containers, started, lambda c: last_output(topo.docker, c))
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise Failure("verification after compose up failed: " + "; ".join(problems[:3]) + more)


def last_output(docker: Docker, container: dict) -> str:
    """`: last output: ...` of a failed container (its last lines, cut), masked like any text:
    a crashing service often says why, and may say it with its configuration."""
    rc, out, err = docker.run(["logs", "--tail", str(LOG_LINES), container["Id"]])
    lines = []
    for line in (out + err).splitlines():  # a restarting container repeats itself
        if line.strip() and line.strip()[:LOG_WIDTH] not in lines:
            lines.append(line.strip()[:LOG_WIDTH])
    if rc != 0 or not lines:
        return ""
    return f": last output: {docker.scrub(' | '.join(lines[-LOG_LINES:]))}"


def create(topo: Topology, config: dict, params: dict) -> None:
    """`docker compose up --no-start`: creates and recreates (compose's --parallel caps it),
    starts nothing. Retried on transient daemon errors; killed after `timeout` s without a line."""
    total = len(config.get("services") or {})
    args = [
        *topo.compose_args(),
        "--parallel",
        str(topo.pool.size),
        "--progress",
        "plain",
        "up",
        "--no-start",
        "--remove-orphans",
        "--pull",
        params["pull"],
        "--quiet-pull",
    ]
    done: set[str] = set()

    def on_line(line: str) -> None:
        match = CREATED_LINE.match(line)
        if match and match.group(1) not in done:
            done.add(match.group(1))
            topo.progress.update(done=len(done))

    for tries in range(topo.docker.retries + 1):
        done.clear()
        topo.progress.update("create", 0, total)
        rc, out = topo.docker.stream(args, topo.dir, on_line)
        if rc == 0:
            return
        if not TRANSIENT.search(out) or tries == topo.docker.retries:
            raise Failure(f"docker compose up failed: {topo.docker.scrub(essential(out))}")
        time.sleep(min(8, 2**tries))


def start(topo: Topology, config: dict, containers: list[dict]) -> None:
    """Start what is not running, dependencies first, `concurrency` at a time."""
    by_service = {_service_of(c): c for c in containers}
    total = len(config.get("services") or {})
    running = sum(1 for c in containers if c["State"].get("Running"))
    topo.progress.update("start", running, total)
    for group in start_levels(config):
        present_ = [by_service[s] for s in group if s in by_service]
        todo = [c for c in present_ if not c["State"].get("Running")]
        errors = topo.pool.map(
            "start", todo, lambda c: _op(topo.docker, ["start"], c), lambda ok: topo.progress.bump()
        )
        if errors:
            raise Failure("could not start " + _failures(errors))


def _op(docker: Docker, args: list[str], container: dict) -> str | None:
    rc, err = docker.attempt([*args, container["Id"]])
    if rc == 0:
        return None
    return f"{_name(container)}: {docker.scrub(essential(err))}"


def _failures(errors: dict) -> str:
    texts = [errors[i] for i in sorted(errors)]
    shown = "; ".join(texts[:SHOWN])
    more = f"; and {len(texts) - SHOWN} more" if len(texts) > SHOWN else ""
    return f"{len(texts)} container{'s' if len(texts) != 1 else ''}: {shown}{more}"


def rollback(
    topo: Topology, was_applied: bool, old_content: str | None, existed: set
) -> tuple[str, dict | None]:
    """Undo a failed attempt; returns the note for the message and what is left.

    Applied before: keep its record, put the previous compose file back, touch no container.
    Never applied: remove what this attempt created (everything of the project when nothing
    existed before), and say exactly what could not be removed."""
    if old_content is not None:
        with contextlib.suppress(OSError):
            atomic_write(topo.compose_file, old_content)
    if was_applied:
        return " (the previously applied state stays recorded; re-run to converge)", None
    topo.progress.update("rollback")
    containers, networks = topo.all_objects() if not existed else topo.project_state()
    containers = [c for c in containers if c["Id"] not in existed]
    networks = [n for n in networks if n["Id"] not in existed]
    try:
        left = remove_objects(topo, containers, networks)
    except Failure as exc:
        left = {
            "containers": sorted(_name(c) for c in containers),
            "networks": sorted(_name(n) for n in networks),
            "causes": [str(exc)],
        }
    if not existed and is_clean(left):
        shutil.rmtree(topo.dir, ignore_errors=True)
    if is_clean(left):
        what = f"{len(containers)} container(s) and {len(networks)} network(s)"
        return f" (rolled back: removed the {what} of this attempt)", None
    return (
        f" (rollback incomplete: {describe_left(left)}; they are still on the host: run "
        f"decnet teardown)",
        left,
    )


# --------------------------------------------------------------------------- absent


def absent(module: AnsibleModule, topo: Topology) -> dict:
    topo.progress.update("check")
    topo.docker.check_engine()
    containers, networks = topo.all_objects()
    if not (os.path.exists(topo.dir) or containers or networks):
        topo.progress.update("done")
        return result("absent", False, [], None, "topology is not present")
    if module.params["quick"]:
        return result("pending", False, containers, None, "the topology needs a teardown")
    if module.check_mode:
        return result("would_remove", True, containers, None, "would remove the topology")
    left = remove_objects(topo, containers, networks)
    shutil.rmtree(topo.dir, ignore_errors=True)
    if not is_clean(left):
        raise Failure(f"teardown left {describe_left(left)}", left)
    topo.progress.update("done")
    return result("removed", True, [], None, "topology removed")


# --------------------------------------------------------------------------- main


def result(status, changed, containers, applied_hash, msg) -> dict:
    return {
        "status": status,
        "changed": changed,
        "containers": summarize(containers),
        "applied_hash": applied_hash,
        "msg": msg,
    }


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _register_no_log(module: AnsibleModule, scrub: Scrubber) -> None:
    # Ansible censors no_log values in every field of the result (a status, a name): only long
    # values go there; the messages are masked by the scrubber, whatever the length.
    for value in scrub.values:
        if len(value) >= 6:
            module.no_log_values.add(value)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "project": {"type": "str"},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "compose_content": {"type": "str", "no_log": True},
            "desired_hash": {"type": "str"},
            "secret_env": {"type": "dict", "no_log": False},
            "base_dir": {"type": "path", "default": BASE_DIR},
            "concurrency": {"type": "int", "default": 0},
            "timeout": {"type": "int", "default": 300},
            "retries": {"type": "int", "default": 3},
            "stop_timeout": {"type": "int", "default": 10},
            "pull": {"type": "str", "default": "never", "choices": ["never", "missing", "always"]},
            "settle": {"type": "float", "default": 1.0},
            "quick": {"type": "bool", "default": False},
        },
        required_if=[("state", "present", ["compose_content"])],
        supports_check_mode=True,
    )
    params = module.params
    name = params["name"]
    if not NAME_RE.match(name):
        module.fail_json(
            msg=f"invalid topology name {name!r}: must match {NAME_RE.pattern}", status="failed"
        )
    if params["project"] is not None and not PROJECT_RE.match(params["project"]):
        module.fail_json(msg=f"invalid compose project name {params['project']!r}", status="failed")
    if params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, got {params['timeout']}")
    scrub = Scrubber(params["compose_content"] or "", params["secret_env"])
    _register_no_log(module, scrub)
    size = params["concurrency"] if params["concurrency"] > 0 else default_concurrency()
    pool = Pool(size)
    quiet = module.check_mode or params["quick"]  # reads only: no lock, no progress file
    progress = Progress(params["base_dir"], name, params["state"], enabled=not quiet)
    topo = Topology(module, Docker(module, scrub), pool, progress)
    try:
        lock = host_lock(params["base_dir"], progress) if not quiet else _no_lock()
        with lock:
            if params["state"] == "absent":
                outcome = absent(module, topo)
            else:
                outcome = present(module, topo, scrub)
    except Failure as exc:
        applied = read_applied(os.path.join(params["base_dir"], name, APPLIED_FILE))
        progress.update("failed")
        module.fail_json(
            msg=f"topology {name}: {scrub(str(exc))}",
            topology=name,
            status="failed",
            containers=[],
            applied_hash=(applied or {}).get("applied_hash"),
            concurrency={"limit": pool.size, "peak": pool.peak},
            left=exc.left or {"containers": [], "networks": [], "causes": []},
        )
    module.exit_json(topology=name, concurrency={"limit": pool.size, "peak": pool.peak}, **outcome)


@contextlib.contextmanager
def _no_lock():
    yield


if __name__ == "__main__":
    main()
