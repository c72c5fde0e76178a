"""The Ansible edge: run one of our playbooks through ansible-runner's Python API.

`run_playbook(job, on_event, should_cancel) -> RunResult`. A failed playbook is a result, not an
exception (as ansible-runner reports it); only a run that cannot start raises `RunFailed`.
Every run gets a fresh private data dir, since a reused one leaks old extravars.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decnet.core.secrets import scrub
from decnet.errors import RunFailed
from decnet.settings import PROJECT_ROOT
from decnet.text import clip

PLAYBOOKS = PROJECT_ROOT / "playbooks"


@dataclass(frozen=True)
class PlaybookJob:
    playbook: str
    """File name under playbooks/, e.g. `deploy.yml`."""
    inventory: Path
    data_dir: Path
    """A fresh, private directory for this run (artifacts land in `data_dir/artifacts`)."""
    extravars: Mapping[str, Any] = field(default_factory=dict)
    limit: str | None = None
    forks: int = 5
    check: bool = False
    secrets: frozenset[str] = frozenset()
    """Values to scrub from every message kept or shown."""
    timeout: int | None = None


@dataclass(frozen=True)
class RunnerEvent:
    """One task-level happening, already scrubbed: what the event bus and the display see."""

    kind: str
    """task_start | ok | changed | failed | unreachable | skipped | stats | progress"""
    host: str | None = None
    task: str = ""
    item: str | None = None
    msg: str = ""
    progress: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """kind=progress: per topology of the host, {phase, done, total} (decnet_topology_wait)."""


@dataclass
class ItemOutcome:
    status: str
    """ok | changed | failed | skipped"""
    msg: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class HostOutcome:
    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: bool = False
    skipped: int = 0
    messages: list[str] = field(default_factory=list)
    items: dict[str, ItemOutcome] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "changed": self.changed,
            "failures": self.failures,
            "unreachable": self.unreachable,
            "skipped": self.skipped,
        }


@dataclass
class RunResult:
    status: str
    """successful | failed | canceled | timeout | error (ansible-runner's words)"""
    rc: int
    hosts: dict[str, HostOutcome]
    artifact_dir: Path
    duration: float

    def host(self, name: str) -> HostOutcome:
        return self.hosts.setdefault(name, HostOutcome())


# Result keys worth keeping from our module's return value; everything else is dropped.
_KEPT_RESULT_KEYS = ("topology", "status", "changed", "applied_hash", "containers")
_REPORT_STATUS = {"failed": "failed"}


# Not `*`: a line may end in a MASK, which is no decoration (messages are scrubbed first).
_NOISE = re.compile(r"^(exit status \d+|[@=#-]{3,})$")
_DECORATION = re.compile(r"^[@#|]+\s*|\s*[@#|]+$")
MESSAGE_LIMIT = 1500
"""Characters of a message kept for a reason or an event (a failure lists at most a few names;
the rest is in the artifacts)."""


def summarize_message(text: str) -> str:
    """One line, the cause first: the lines joined, decoration (ssh's @@@ banners) and
    `exit status N` trailers dropped, cut at MESSAGE_LIMIT.

    docker and compose put the cause first and trail it with `exit status 1`; ssh frames its
    cause in banners: the last line alone is rarely the reason."""
    kept = []
    for raw in text.strip().splitlines():
        line = _DECORATION.sub("", raw.strip()).strip()
        if line and not _NOISE.fullmatch(line) and line not in kept:
            kept.append(line)
    joined = ""
    for line in kept:  # a line ending in `:` introduces the next one
        joined += (" " if joined.endswith(":") else "; " if joined else "") + line
    return clip(joined, MESSAGE_LIMIT)


def _message(res: Mapping[str, Any]) -> str:
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    return msg if isinstance(msg, str) else str(msg)


def _progress(res: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """decnet_topology_wait's per-topology progress, reduced to plain, bounded values."""
    raw = res.get("progress")
    found: dict[str, dict[str, Any]] = {}
    for name, doc in raw.items() if isinstance(raw, Mapping) else ():
        if not isinstance(doc, Mapping):
            continue
        done, total = doc.get("done"), doc.get("total")
        found[str(name)] = {
            "phase": str(doc.get("phase", ""))[:20],
            "done": done if isinstance(done, int) else 0,
            "total": total if isinstance(total, int) else 0,
        }
    return found


class _Collector:
    """Turns ansible-runner's raw events into outcomes and scrubbed `RunnerEvent`s."""

    def __init__(self, job: PlaybookJob, on_event: Callable[[RunnerEvent], None]) -> None:
        self.job, self.on_event = job, on_event
        self.hosts: dict[str, HostOutcome] = {}

    def __call__(self, raw: dict[str, Any]) -> bool:
        kind = raw.get("event", "")
        data = raw.get("event_data") or {}
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, data)
        return True  # False would make ansible-runner drop the event from its artifacts

    def _host(self, data: Mapping[str, Any]) -> tuple[str, HostOutcome]:
        host = str(data.get("host", ""))
        return host, self.hosts.setdefault(host, HostOutcome())

    def text(self, raw: str) -> str:
        """A message as kept and shown: scrubbed first, then summarized (and cut)."""
        return summarize_message(scrub(raw, self.job.secrets))

    def emit(
        self, kind: str, data: Mapping[str, Any], msg: str = "", item: str | None = None
    ) -> None:
        """`msg` is already `text(...)`."""
        host = data.get("host")
        self.on_event(
            RunnerEvent(
                kind=kind,
                host=str(host) if host else None,
                task=str(data.get("task", "")),
                item=item,
                msg=msg,
            )
        )

    def task_start(self, data: Mapping[str, Any]) -> None:
        self.emit("task_start", data)

    def retry(self, data: Mapping[str, Any]) -> None:
        """One poll of decnet_topology_wait (an `until` retry): the jobs' progress."""
        self.progress(data, data.get("res") or {})

    def progress(self, data: Mapping[str, Any], res: Mapping[str, Any]) -> None:
        found = _progress(res)
        if found:
            host = data.get("host")
            self.on_event(
                RunnerEvent(
                    kind="progress",
                    host=str(host) if host else None,
                    task=str(data.get("task", "")),
                    progress=found,
                )
            )

    def ok(self, data: Mapping[str, Any]) -> None:
        _, outcome = self._host(data)
        res = data.get("res") or {}
        facts = (res.get("ansible_facts") or {}).get("ansible_local")
        if facts is not None:
            outcome.facts = dict(facts)
        self.progress(data, res)
        self.emit("changed" if res.get("changed") else "ok", data, self.text(_message(res)))

    def failed(self, data: Mapping[str, Any]) -> None:
        if data.get("ignore_errors"):
            return
        _, outcome = self._host(data)
        msg = self.text(_message(data.get("res") or {}))
        outcome.messages.append(f"{data.get('task', '')}: {msg}")
        self.emit("failed", data, msg)

    def unreachable(self, data: Mapping[str, Any]) -> None:
        _, outcome = self._host(data)
        outcome.unreachable = True
        msg = self.text(_message(data.get("res") or {}))
        outcome.messages.append(f"unreachable: {msg}")
        self.emit("unreachable", data, msg)

    def item(self, data: Mapping[str, Any], status: str) -> None:
        """Per-topology results come from the role's report and fail tasks (the apply task
        itself is no_log): the loop label is the topology, `msg` its outcome."""
        res = data.get("res") or {}
        if res.get("censored"):
            return
        _, outcome = self._host(data)
        label = str(res.get("_ansible_item_label", res.get("item", "")))
        report = res.get("msg") if isinstance(res.get("msg"), dict) else None
        if report is not None:
            kept = {k: report[k] for k in _KEPT_RESULT_KEYS if k in report}
            status = _REPORT_STATUS.get(str(report.get("status")), status)
            if status == "ok" and report.get("changed") in (True, "True", "true"):
                status = "changed"
            msg = self.text(str(report.get("message") or ""))
        else:
            kept, msg = {}, self.text(_message(res))
        outcome.items[label] = ItemOutcome(status=status, msg=msg, result=kept)
        self.emit(status, data, msg, item=label)

    def stats(self, data: Mapping[str, Any]) -> None:
        for key, attr in (
            ("ok", "ok"),
            ("changed", "changed"),
            ("failures", "failures"),
            ("skipped", "skipped"),
        ):
            for host, count in (data.get(key) or {}).items():
                setattr(self.hosts.setdefault(host, HostOutcome()), attr, int(count))
        for host in data.get("dark") or {}:
            self.hosts.setdefault(host, HostOutcome()).unreachable = True
        self.emit("stats", data)


_HANDLERS: dict[str, Callable[[_Collector, Mapping[str, Any]], None]] = {
    "playbook_on_task_start": _Collector.task_start,
    "runner_retry": _Collector.retry,
    "runner_on_ok": _Collector.ok,
    "runner_on_failed": _Collector.failed,
    "runner_on_unreachable": _Collector.unreachable,
    "runner_item_on_ok": lambda c, d: c.item(d, "ok"),
    "runner_item_on_failed": lambda c, d: c.item(d, "failed"),
    "runner_item_on_skipped": lambda c, d: c.item(d, "skipped"),
    "playbook_on_stats": _Collector.stats,
}


def host_key_checking(config: Path, environ: Mapping[str, str]) -> str:
    """Ansible's own choice: ANSIBLE_HOST_KEY_CHECKING if the user set it, else ansible.cfg's
    `host_key_checking`, else on. (ansible-runner turns checking off unless it is set.) An
    inventory still opts a host out with `ansible_host_key_checking` or its ssh arguments."""
    if environ.get("ANSIBLE_HOST_KEY_CHECKING"):
        return environ["ANSIBLE_HOST_KEY_CHECKING"]
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config, encoding="utf-8")
    except configparser.Error:
        return "True"
    return parser.get("defaults", "host_key_checking", fallback="True").strip() or "True"


RUN_MARK = "DECNET_RUN_DIR"
"""Set in every run's environment to its data dir: what is left of a cancelled run is found by
it (ansible-core's workers leave the playbook's process group, which is all a cancel kills)."""


def ansible_env(forks: int, data_dir: Path | None = None) -> dict[str, str]:
    """The environment of every run: our config, our roles, pipelining, the run's mark; never
    a secret."""
    venv_bin = str(Path(sys.executable).parent)
    config = PROJECT_ROOT / "ansible.cfg"
    mark = {RUN_MARK: str(data_dir)} if data_dir is not None else {}
    return {
        **mark,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_CONFIG": str(config),
        "ANSIBLE_ROLES_PATH": str(PROJECT_ROOT / "roles"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_HOST_KEY_CHECKING": host_key_checking(config, os.environ),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
    }


def run_playbook(
    job: PlaybookJob,
    on_event: Callable[[RunnerEvent], None] = lambda _e: None,
    should_cancel: Callable[[], bool] = lambda: False,
) -> RunResult:
    import ansible_runner  # imported here: it is slow, and only runs need it

    playbook = PLAYBOOKS / job.playbook
    if not playbook.is_file():
        raise RunFailed(
            f"playbook {playbook} not found", hint="run decnet from its source checkout"
        )
    job.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    collector = _Collector(job, on_event)
    started = time.monotonic()
    try:
        runner = ansible_runner.run(
            private_data_dir=str(job.data_dir),
            playbook=str(playbook),
            inventory=str(job.inventory),
            extravars=dict(job.extravars),
            limit=job.limit,
            forks=job.forks,
            cmdline="--check --diff" if job.check else None,
            envvars=ansible_env(job.forks, job.data_dir),
            event_handler=collector,
            cancel_callback=should_cancel,
            quiet=True,
            suppress_env_files=True,
            timeout=job.timeout,
            ident="run",
        )
    except Exception as exc:  # ansible-runner raises assorted errors when it cannot start
        raise RunFailed(
            f"ansible-runner could not start: {exc}", hint="check the inventory"
        ) from exc
    if runner.status in ("canceled", "timeout"):
        kill_leftovers(job.data_dir)
    return RunResult(
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        hosts=collector.hosts,
        artifact_dir=Path(runner.config.artifact_dir),
        duration=time.monotonic() - started,
    )


def run_processes(data_dir: Path) -> list[int]:
    """The ansible-playbook processes (the playbook and its forked workers) of the run whose
    data dir is `data_dir`. Modules they started are not among them: a host's own work is left
    to finish or fail by itself."""
    wanted = f"{RUN_MARK}={data_dir}".encode()
    found: list[int] = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if not any(arg.endswith(b"ansible-playbook") for arg in argv[:2]):
                continue
            if wanted in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def kill_leftovers(data_dir: Path) -> None:
    """End what a cancelled or timed-out run left running (a worker blocked on its pipe)."""
    for pid in run_processes(data_dir):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def scrub_tree(root: Path, secrets: Iterable[str]) -> int:
    """Replace every secret in the kept artifacts; returns how many files changed."""
    values = [s for s in secrets if s]
    if not values or not root.exists():
        return 0
    changed = 0
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        clean = scrub(text, values)
        if clean != text:
            path.write_text(clean, encoding="utf-8")
            changed += 1
    return changed
