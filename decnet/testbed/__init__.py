"""Test hosts on this machine: N independent "machines" for fleet tests and demos.

Each host `hN` is a network namespace plus private mount/pid/uts/ipc namespaces with its own
sshd (key-only root login) and its own Docker engine, at 10.213.0.(10+N) on the bridge `tbbr0`.
The work is done by the shell scripts in `scripts/` (package data, so an installed decnet has
them too); this module validates input, runs them and reads their results.

One testbed per machine: the bridge, subnet, netns and cgroup names are fixed. Only the state
directory (keys, per-host disks, ssh control sockets, the inventory) can be moved, with
`DECNET_TESTBED_STATE`. Needs root, cgroup v1 and the Debian packages docker.io,
openssh-server, tini, iproute2 and iptables.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import IO, Any

from decnet.errors import Busy, EnvironmentProblem, NotFound, UsageError

__all__ = [
    "ACTIONS",
    "BRIDGE",
    "DEFAULT_STATE_DIR",
    "GROUP",
    "MAX_HOSTS",
    "SUBNET",
    "HostStatus",
    "Testbed",
    "TestbedBusy",
    "check_action",
    "check_count",
    "check_host",
    "host_ip",
    "missing_requirements",
    "scripts_dir",
]

MAX_HOSTS = 16
BRIDGE = "tbbr0"
SUBNET = "10.213.0.0/24"
GROUP = "decnet_hosts"
"""The inventory group that holds every testbed host."""
DEFAULT_STATE_DIR = Path("/tmp/decnet-testbed")
STATE_ENV = "DECNET_TESTBED_STATE"
LOCK_PATH = Path("/run/lock/decnet-testbed.lock")
"""Held for as long as a test session owns the testbed (fixed: one testbed per machine)."""

ACTIONS: tuple[str, ...] = (
    "sshd-stop",
    "sshd-start",
    "link-down",
    "link-up",
    "ssh-drop",
    "ssh-undrop",
    "dockerd-kill",
    "dockerd-start",
    "freeze",
    "thaw",
    "poweroff",
    "poweron",
)
"""Every fault `Testbed.fault` can inject or undo (docs/testbed.md says what each does)."""

_HOST_RE = re.compile(r"h([1-9][0-9]?)")
_TOOLS: tuple[str, ...] = ("bash", "ip", "iptables", "nsenter", "unshare", "setsid", "tini")
_TOOLS += ("sshd", "ssh", "ssh-keygen", "dockerd", "docker", "timeout")
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
EXIT_HOST_OFF = 125
"""exec.sh's status when the host is not running (the command's own status otherwise)."""


class TestbedBusy(Busy):
    """Another process (a test session) holds the testbed lock."""

    __test__ = False  # not a pytest test class, despite the name


def check_count(n: int) -> int:
    if not 1 <= n <= MAX_HOSTS:
        raise UsageError(
            f"host count {n} is out of range", hint=f"give a number from 1 to {MAX_HOSTS}"
        )
    return n


def check_host(name: str) -> str:
    m = _HOST_RE.fullmatch(name)
    if m is None or int(m.group(1)) > MAX_HOSTS:
        raise UsageError(f"bad host name {name!r}", hint=f"test hosts are h1..h{MAX_HOSTS}")
    return name


def check_action(action: str) -> str:
    if action not in ACTIONS:
        raise UsageError(f"unknown fault action {action!r}", hint="one of: " + ", ".join(ACTIONS))
    return action


def host_ip(name: str) -> str:
    """h1 -> 10.213.0.11."""
    return f"10.213.0.{10 + int(check_host(name)[1:])}"


def scripts_dir() -> Path:
    # decnet is installed as plain files (never zipped), so the resource is a real directory.
    return Path(str(files("decnet.testbed") / "scripts"))


def _path_env() -> str:
    return os.environ.get("PATH", "/usr/bin:/bin") + ":" + _SBIN


def missing_requirements() -> list[str]:
    """What this machine lacks to run the testbed; empty when it can."""
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces, cgroups and mounts need it)")
    if not Path("/sys/fs/cgroup/freezer").is_dir():
        missing.append("cgroup v1 with the freezer controller at /sys/fs/cgroup/freezer")
    path = _path_env()
    missing += [f"command {t!r}" for t in _TOOLS if shutil.which(t, path=path) is None]
    if not Path("/usr/bin/python3").exists():
        missing.append("/usr/bin/python3 (the hosts' Python for Ansible)")
    return missing


@dataclass(frozen=True)
class HostStatus:
    name: str
    ip: str
    power: bool
    """Its pid 1 is running."""
    frozen: bool
    link: bool
    """Its cable (the bridge side of its veth) is up."""
    ssh: bool
    """Port 22 accepts connections (False for a frozen host: nothing answers the banner)."""
    docker: bool
    """Its engine answers `docker version` (not probed while frozen: it would hang)."""


class Testbed:
    """The test hosts of this machine, driven through the scripts in `scripts_dir()`."""

    __test__ = False

    def __init__(self, state_dir: Path | None = None, *, boot_timeout: int = 30) -> None:
        if state_dir is None:
            state_dir = Path(os.environ.get(STATE_ENV) or DEFAULT_STATE_DIR)
        self.state_dir = state_dir.absolute()
        self.boot_timeout = boot_timeout
        self.scripts = scripts_dir()

    # -- what is there --------------------------------------------------------------------

    @property
    def inventory_path(self) -> Path:
        return self.state_dir / "inventory.yml"

    @property
    def key_path(self) -> Path:
        return self.state_dir / "keys" / "id_ed25519"

    @property
    def hosts(self) -> list[str]:
        """Hosts that exist (running or powered off), in number order."""
        found = [p.name for p in (self.state_dir / "hosts").glob("h*") if p.is_dir()]
        return sorted((h for h in found if _HOST_RE.fullmatch(h)), key=lambda h: int(h[1:]))

    def is_up(self) -> bool:
        return self.inventory_path.exists()

    def status(self) -> list[HostStatus]:
        return [self._status(h) for h in self.hosts]

    def _status(self, host: str) -> HostStatus:
        state = _read(Path(f"/sys/fs/cgroup/freezer/testbed/{host}/freezer.state"))
        frozen = state in ("FROZEN", "FREEZING")
        power = self._powered(host)
        operstate = _read(Path(f"/sys/class/net/tb-{host}/operstate"))
        link = operstate not in ("", "down")
        ssh = power and not frozen and link and _port_open(host_ip(host), 22)
        docker = (
            power and not frozen and self.exec(host, "docker", "version", timeout=5).returncode == 0
        )
        return HostStatus(host, host_ip(host), power, frozen, link, ssh, docker)

    def _powered(self, host: str) -> bool:
        """Its pid 1 (tini running hostinit.sh for this host) is alive."""
        pid = _read(self.state_dir / "hosts" / host / "init.pid")
        try:
            args = Path(f"/proc/{int(pid)}/cmdline").read_bytes().split(b"\0")
        except (ValueError, OSError):
            return False
        return len(args) >= 3 and args[-3].endswith(b"/hostinit.sh") and args[-2] == host.encode()

    def check_clean(self) -> list[str]:
        """Whatever the testbed left on this machine (netns, links, cgroups, rules, processes,
        mounts, state dirs, ssh sockets), one item per entry; empty when the machine is clean."""
        proc = self._script("check-clean.sh", check=False)
        if proc.returncode not in (0, 1):
            raise EnvironmentProblem(f"testbed leftover check failed: {_tail(proc.stderr)}")
        return [line for line in proc.stdout.splitlines() if line.strip()]

    # -- life cycle -----------------------------------------------------------------------

    def up(self, n: int) -> Path:
        """Boot h1..hN, wait until each accepts ssh and runs dockerd; return the inventory.

        A failed boot tears everything down again before raising."""
        check_count(n)
        missing = missing_requirements()
        if missing:
            raise EnvironmentProblem(
                "the testbed cannot run here: missing " + "; ".join(missing),
                hint="run scripts/setup-host.sh as root",
            )
        self._script("up.sh", str(n), timeout=self.boot_timeout * n + 60)
        return self.inventory_path

    def down(self) -> None:
        """Tear everything down (also what a crashed run left). Never interrupted half-way: a
        Ctrl-C while it runs is held until it is done, then raised."""
        self._script("down.sh", timeout=300, shielded=True)

    @contextlib.contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the machine-wide testbed lock (a test session holds it from up to down).

        Raises `TestbedBusy` when another process still holds it after `wait` seconds."""
        LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
        with LOCK_PATH.open("a") as fh:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TestbedBusy(
                            "the testbed is in use by another process (a test session?)",
                            hint=f"wait for it to finish; the lock is {LOCK_PATH}",
                        ) from None
                    time.sleep(0.5)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- on the hosts ---------------------------------------------------------------------

    def fault(self, host: str, action: str) -> None:
        """Inject a fault or undo one (ACTIONS); returns once it has taken effect."""
        check_action(action)
        self._known(host)
        self._script("fault.sh", host, action, timeout=self.boot_timeout + 30)

    def restore(self, host: str) -> None:
        """Undo every fault of `host`: thaw, power on, plug the cable, start sshd and dockerd."""
        st = self._status(self._known(host))
        if st.frozen:
            self.fault(host, "thaw")
        if not st.power:
            self.fault(host, "poweron")
        if not st.link:
            self.fault(host, "link-up")
        for action in ("ssh-undrop", "sshd-start", "dockerd-start"):
            self.fault(host, action)

    def exec(
        self,
        host: str,
        *cmd: str,
        input: str | None = None,
        timeout: float | None = 60,
        check: bool = False,
        network_only: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run `cmd` on `host` (in its namespaces and cgroups) and capture its text output.
        `network_only`: this machine's program on the host's networks (its decky LANs).

        Exit status 125 means the host is off, 124 that `timeout` ran out (a command on a frozen
        host freezes too). `check` raises EnvironmentProblem on a non-zero status."""
        argv = self._argv(host, cmd, network_only)
        try:
            proc = subprocess.run(
                argv, input=input, capture_output=True, text=True, env=self._env(), timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            err = _text(exc.stderr) + f"\n(timed out after {timeout}s)"
            proc = subprocess.CompletedProcess(argv, 124, _text(exc.stdout), err)
        if check and proc.returncode != 0:
            raise EnvironmentProblem(
                f"{host}: {' '.join(cmd)} exited {proc.returncode}: {_tail(proc.stderr)}"
            )
        return proc

    def spawn(
        self, host: str, *cmd: str, network_only: bool = False, **popen: Any
    ) -> subprocess.Popen[str]:
        """Start `cmd` on `host` as `exec` would, in the background; the caller waits for it."""
        argv = self._argv(host, cmd, network_only)
        return subprocess.Popen(argv, env=self._env(), text=True, **popen)

    def exec_attached(self, host: str, *cmd: str, network_only: bool = False) -> int:
        """Run `cmd` on `host` with this process's stdin/stdout/stderr; return its exit status."""
        return subprocess.run(self._argv(host, cmd, network_only), env=self._env()).returncode

    def _argv(self, host: str, cmd: tuple[str, ...], network_only: bool) -> list[str]:
        if not cmd:
            raise UsageError("exec needs a command to run on the host")
        self._known(host)
        flag = ["--net"] if network_only else []
        return ["bash", str(self.scripts / "exec.sh"), *flag, host, *cmd]

    def load_image(self, image: str, hosts: Sequence[str] | None = None) -> None:
        """Copy `image` from the controller's Docker engine into every (or each given) host's
        engine: one `docker save`, then one `docker load` per host, in parallel."""
        targets = [self._known(h) for h in hosts] if hosts is not None else self.hosts
        if not targets:
            raise NotFound("the testbed has no hosts", hint="run `scripts/testbed up N` first")
        if not image_exists(image):
            raise NotFound(
                f"image {image!r} is not in this machine's Docker engine",
                hint="build it first; no registry is reachable",
            )
        images = self.state_dir / "images"
        images.mkdir(parents=True, exist_ok=True)
        tar = images / (re.sub(r"[^A-Za-z0-9_.-]", "_", image) + ".tar")
        try:
            save = subprocess.run(
                ["docker", "save", "-o", str(tar), image], capture_output=True, text=True
            )
            if save.returncode != 0:
                raise EnvironmentProblem(f"docker save {image} failed: {_tail(save.stderr)}")

            def load(host: str) -> str | None:
                with tar.open("rb") as fh:
                    proc = self._exec_stdin(host, fh, "docker", "load", "-q")
                return None if proc.returncode == 0 else f"{host}: {_tail(_text(proc.stderr))}"

            with ThreadPoolExecutor(max_workers=min(4, len(targets))) as pool:
                errors = [e for e in pool.map(load, targets) if e]
        finally:
            tar.unlink(missing_ok=True)
        if errors:
            raise EnvironmentProblem(f"docker load of {image} failed on " + "; ".join(errors))

    def _exec_stdin(
        self, host: str, stdin: IO[bytes], *cmd: str
    ) -> subprocess.CompletedProcess[bytes]:
        argv = ["bash", str(self.scripts / "exec.sh"), host, *cmd]
        return subprocess.run(argv, stdin=stdin, capture_output=True, env=self._env(), timeout=300)

    # -- plumbing -------------------------------------------------------------------------

    def _known(self, host: str) -> str:
        check_host(host)
        if host not in self.hosts:
            raise NotFound(
                f"host {host} is not part of the testbed",
                hint="`scripts/testbed status` lists the hosts; `scripts/testbed up N` makes them",
            )
        return host

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[STATE_ENV] = str(self.state_dir)
        env["TB_BOOT_TIMEOUT"] = str(self.boot_timeout)
        env["PATH"] = _path_env()
        return env

    def _script(
        self,
        name: str,
        *args: str,
        timeout: float = 120,
        check: bool = True,
        shielded: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run one of our scripts. `shielded`: its own session (a terminal Ctrl-C does not reach
        it) and a Ctrl-C of ours waits for it to finish, then is re-raised."""
        argv = ["bash", str(self.scripts / name), *args]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self._env(),
            start_new_session=shielded,
        )
        interrupted = False
        while True:
            try:
                out, err = proc.communicate(timeout=timeout)
                break
            except KeyboardInterrupt:
                if not shielded:
                    proc.kill()
                    proc.wait()
                    raise
                interrupted = True
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise EnvironmentProblem(
                    f"testbed {name} {' '.join(args)} timed out after {timeout}s"
                ) from None
        if interrupted:
            raise KeyboardInterrupt
        done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
        if check and proc.returncode != 0:
            cls = UsageError if proc.returncode == 2 else EnvironmentProblem
            raise cls(
                f"testbed {name.removesuffix('.sh')} {' '.join(args)} failed: {_tail(err)}".replace(
                    "  ", " "
                ),
                hint="see docs/testbed.md; `scripts/testbed check` lists leftovers",
            )
        return done


def image_exists(image: str) -> bool:
    """True when the controller's Docker engine has `image`."""
    try:
        proc = subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _port_open(ip: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((ip, port), timeout=1):
            return True
    except OSError:
        return False


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(ln.strip() for ln in text.strip().splitlines()[-lines:] if ln.strip())
