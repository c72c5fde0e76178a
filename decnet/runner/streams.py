"""The per-host streams edge: one collector agent per host (roles/decnet_host/files/decnet-collect),
run as a local subprocess (`ansible_connection: local`) or over one SSH session with the
inventory's connection settings, speaking the agent's line protocol.

`stream_target(host, hostvars, ...)` is pure: it builds the command from the variables
(`host_connections`) and decnet's host key checking (decnet/runner/ansible.py), never through a
shell on this side. `HostStream` runs it: `start(cursors, retired)`, `frames()` (blocking reads
of what the agent sends, parsed), `send(message)` (acknowledgements and the retired sources, on
the agent's stdin: the SSH channel carries both directions), `close()`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from decnet.errors import EnvironmentProblem
from decnet.runner.ansible import host_key_checking
from decnet.settings import PROJECT_ROOT

SENSOR_DIR = "/var/lib/decnet/sensors"
COLLECT_AGENT = "/usr/local/lib/decnet/decnet-collect"
AGENT_FORMAT = 1
"""The host contract's values (roles/decnet_host/files/contract.json; a test keeps them equal)."""
LOCAL_AGENT = PROJECT_ROOT / "roles" / "decnet_host" / "files" / "decnet-collect"
"""The agent as shipped: what a local host runs when it has no installed copy."""
SOURCE_RE = re.compile(r"[a-z][a-z0-9-]{0,62}/[a-z][a-z0-9-]{0,62}/[a-z][a-z0-9-]{0,62}")
EPOCH_RE = re.compile(r"[0-9a-f]{1,64}")
STDERR_KEPT = 4096
CHUNK = 256 * 1024
MAX_FRAME = 8 * 1024 * 1024
"""A frame is at most a line of the agent's limit (1 MiB, re-encoded at most 6x) plus its
header; anything longer is dropped as unreadable."""
SSH_DEFAULTS = ("-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
"""After the inventory's own arguments (ssh takes the first value of an option): a dead link
ends the stream within ~15 s."""
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})


@dataclass(frozen=True)
class StreamTarget:
    host: str
    argv: tuple[str, ...]
    local: bool
    where: str
    """How it is reached, for messages (`local`, `ssh root@10.0.0.1:22`); never a secret."""
    agent: str


@dataclass(frozen=True)
class AgentOptions:
    once: bool = False
    quiet: float = 30.0
    """Seconds a retired source must be unchanged before the agent removes it."""
    status_every: float = 2.0
    poll: float = 0.1


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def _checking(hostvars: Mapping[str, Any]) -> bool:
    for var in ("ansible_ssh_host_key_checking", "ansible_host_key_checking"):
        if var in hostvars:
            return _flag(hostvars[var])
    return _flag(host_key_checking(PROJECT_ROOT / "ansible.cfg", os.environ))


def _words(hostvars: Mapping[str, Any], var: str, host: str) -> list[str]:
    value = hostvars.get(var)
    if value in (None, ""):
        return []
    try:
        return shlex.split(str(value))
    except ValueError as err:
        raise EnvironmentProblem(
            f"inventory: host {host}: {var} does not split into arguments ({err})",
            hint="fix its quoting",
        ) from None


def agent_command(hostvars: Mapping[str, Any], opts: AgentOptions, *, local: bool) -> list[str]:
    sensor_dir = str(hostvars.get("decnet_sensor_dir") or SENSOR_DIR)
    agent = str(hostvars.get("decnet_collect_agent") or COLLECT_AGENT)
    if local and "decnet_collect_agent" not in hostvars and not Path(agent).is_file():
        agent = str(LOCAL_AGENT)
    python = str(hostvars.get("ansible_python_interpreter") or "")
    if not python.startswith("/"):
        python = sys.executable if local else "python3"
    argv = [python, agent, "--sensor-dir", sensor_dir, "--quiet", f"{opts.quiet:g}",
            "--status-every", f"{opts.status_every:g}", "--poll", f"{opts.poll:g}"]  # fmt: skip
    if opts.once:
        argv.append("--once")
    if _flag(hostvars.get("ansible_become", False)):
        method = str(hostvars.get("ansible_become_method") or "sudo")
        if method != "sudo":
            raise EnvironmentProblem(
                f"become_method {method!r} is not supported by decnet collect",
                hint="use sudo (passwordless for the agent) or connect as a user that can read "
                "the sensor dir",
            )
        user = str(hostvars.get("ansible_become_user") or "root")
        argv = ["sudo", "-n", "-u", user, "--", *argv]
    return argv


def stream_target(
    host: str, hostvars: Mapping[str, Any], opts: AgentOptions = AgentOptions()
) -> StreamTarget:
    """The command that runs the agent for `host`, from its inventory variables."""
    local = str(hostvars.get("ansible_connection", "ssh")) == "local"
    command = agent_command(hostvars, opts, local=local)
    agent = command[command.index("--sensor-dir") - 1]
    if local:
        return StreamTarget(host, tuple(command), True, "local", agent)
    connection = str(hostvars.get("ansible_connection", "ssh"))
    if connection not in ("ssh", "smart", "paramiko"):
        raise EnvironmentProblem(
            f"host {host}: ansible_connection {connection!r} cannot carry a collector stream",
            hint="use ssh or local",
        )
    address = str(hostvars.get("ansible_host") or host)
    argv = ["ssh", "-T", "-o", "BatchMode=yes"]
    argv += _words(hostvars, "ansible_ssh_common_args", host)
    argv += _words(hostvars, "ansible_ssh_extra_args", host)
    if not _checking(hostvars):
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    timeout = hostvars.get("ansible_ssh_timeout") or hostvars.get("ansible_timeout") or 30
    argv += ["-o", f"ConnectTimeout={int(float(timeout))}", *SSH_DEFAULTS]
    port = hostvars.get("ansible_port")
    if port is not None:
        argv += ["-p", str(int(port))]
    user = hostvars.get("ansible_user")
    if user:
        argv += ["-l", str(user)]
    key = hostvars.get("ansible_ssh_private_key_file") or hostvars.get("ansible_private_key_file")
    if key:
        argv += ["-i", os.path.expanduser(str(key))]
    # ssh hands the remote shell one string: every word quoted, so nothing in it is code.
    argv += ["--", address, "exec " + " ".join(shlex.quote(w) for w in command)]
    where = f"ssh {user + '@' if user else ''}{address}:{port or 22}"
    return StreamTarget(host, tuple(argv), False, where, agent)


# --- frames -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    info: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Line:
    source: str
    epoch: str
    seq: int
    text: str


@dataclass(frozen=True, slots=True)
class Gap:
    source: str
    epoch: str
    after_seq: int
    missing: int


@dataclass(frozen=True, slots=True)
class Status:
    host_time: str | None
    newest: dict[str, tuple[str, int]]
    bad_lines: int


@dataclass(frozen=True, slots=True)
class Removed:
    source: str


@dataclass(frozen=True, slots=True)
class Problem:
    text: str


@dataclass(frozen=True, slots=True)
class Done:
    pass


Frame = Hello | Line | Gap | Status | Removed | Problem | Done


def _int(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ValueError(text)
    return int(text)


@lru_cache(maxsize=4096)
def _source(text: str) -> str:
    if not SOURCE_RE.fullmatch(text):
        raise ValueError(text)
    return text


@lru_cache(maxsize=4096)
def _epoch(text: str) -> str:
    if not EPOCH_RE.fullmatch(text):
        raise ValueError(text)
    return text


def _status(doc: Any) -> Status:
    if not isinstance(doc, dict):
        raise ValueError("status")
    newest: dict[str, tuple[str, int]] = {}
    raw = doc.get("newest")
    for source, cursor in raw.items() if isinstance(raw, dict) else ():
        if (
            isinstance(source, str) and SOURCE_RE.fullmatch(source) and isinstance(cursor, list)
            and len(cursor) == 2 and isinstance(cursor[0], str) and EPOCH_RE.fullmatch(cursor[0])
            and type(cursor[1]) is int
        ):  # fmt: skip
            newest[source] = (cursor[0], cursor[1])
    host_time, bad = doc.get("host_time"), doc.get("bad_lines")
    return Status(
        host_time=host_time if isinstance(host_time, str) and len(host_time) < 40 else None,
        newest=newest,
        bad_lines=bad if type(bad) is int else 0,
    )


def parse_frame(raw: bytes) -> Frame:
    """One frame the agent wrote (without its newline). An unreadable frame is a `Problem`
    saying so: the stream goes on."""
    try:
        text = raw.decode("ascii")
        kind, _, rest = text.partition("\t")
        if kind == "L":
            source, epoch, seq, line = rest.split("\t", 3)
            return Line(_source(source), _epoch(epoch), _int(seq), line)
        if kind == "G":
            source, epoch, after, missing = rest.split("\t")
            return Gap(_source(source), _epoch(epoch), _int(after), _int(missing))
        if kind == "S":
            return _status(json.loads(rest))
        if kind == "H":
            info = json.loads(rest)
            return Hello(info if isinstance(info, dict) else {})
        if kind == "R":
            return Removed(_source(rest))
        if kind == "E":
            message = json.loads(rest)
            return Problem(message[:500] if isinstance(message, str) else "an unreadable problem")
        if kind == "D":
            return Done()
    except (ValueError, UnicodeDecodeError):
        pass
    return Problem(f"an unreadable frame from the agent: {raw[:80]!r}")


# --- running it ---------------------------------------------------------------------------------


@dataclass
class HostStream:
    """One running agent. `frames()` is read by one thread; `send` and `close` may come from
    another (the collector's writer acknowledges while the reader reads)."""

    target: StreamTarget
    proc: subprocess.Popen[bytes] | None = None
    _stderr: deque[bytes] = field(default_factory=lambda: deque(maxlen=64))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _broken: bool = False

    def start(self, cursors: Mapping[str, tuple[str, int]], retired: Sequence[str]) -> None:
        """Run the agent and tell it where each source's collection stands."""
        try:
            self.proc = subprocess.Popen(
                list(self.target.argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C of the controller is the controller's to handle
                env={**os.environ, "LC_ALL": "C"},
            )
        except OSError as err:
            raise EnvironmentProblem(
                f"cannot run the collector for {self.target.host} ({self.target.where}): {err}",
                hint="is ssh installed on this machine?",
            ) from err
        assert self.proc.stderr is not None
        threading.Thread(target=self._drain, args=(self.proc.stderr,), daemon=True).start()
        start = {
            "op": "start",
            "cursors": {s: [e, n] for s, (e, n) in cursors.items()},
            "retired": list(retired),
        }
        self.send(start)

    def _drain(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._stderr.append(line[:STDERR_KEPT])

    def frames(self) -> Iterator[list[Frame]]:
        """What the agent sent, a chunk at a time (as much as the pipe holds, whole frames):
        one hand-over per chunk rather than per line."""
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        rest = b""
        while chunk := out.read1(CHUNK):  # type: ignore[attr-defined]
            pieces = (rest + chunk).split(b"\n")
            rest = pieces.pop()
            if len(rest) > MAX_FRAME:  # the agent never writes one: not a frame of ours
                pieces.append(rest[:80])
                rest = b""
            if pieces:
                yield [parse_frame(p) for p in pieces]

    def send(self, message: Mapping[str, Any]) -> bool:
        """Write one message to the agent; False once its stdin is gone."""
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode("ascii")
        with self._lock:
            if self._broken or self.proc is None or self.proc.stdin is None:
                return False
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._broken = True
                return False
        return True

    def finish(self) -> None:
        """Close the agent's stdin: it finishes (`--once`: removes what it may) and exits."""
        with self._lock:
            self._broken = True
            if self.proc is not None and self.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()

    def close(self, timeout: float = 5.0) -> None:
        self.finish()
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def outcome(self) -> str | None:
        """Why the stream ended, in one line (the agent's or ssh's own words); None when the
        agent exited cleanly."""
        code = self.proc.poll() if self.proc is not None else None
        err = b"".join(self._stderr).decode("utf-8", "replace").strip()
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
        last = "; ".join(lines[-3:])[:500]
        if code == 2 and ("can't open file" in err or "No such file or directory" in err):
            return (
                f"the collector agent {self.target.agent} is not installed on "
                f"{self.target.host} (run playbooks/prepare.yml against it)"
            )
        if code == 255 and not self.target.local:
            return f"ssh to {self.target.host} ({self.target.where}) failed: {last or 'exit 255'}"
        if code == 0:
            return None
        if code is None:
            return "the stream ended"
        return f"the agent exited {code}" + (f": {last}" if last else "")
