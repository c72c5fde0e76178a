"""Drift, reconcile and the host view (SPEC §9): the library calls behind `decnet drift|
reconcile|hosts`.

`drift` gathers only the decnet fact (playbooks/facts.yml) from the hosts that carry live
topologies, stores each host's report, and classifies every live topology with the pure
`classify`. The fact is data: a string is parsed with `json.loads`, nothing is ever templated
or evaluated. `reconcile` re-deploys exactly the topologies marked `needs_resync`.
"""

from __future__ import annotations

import json
import reprlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from decnet import events as ev
from decnet.core.hashing import desired_hash
from decnet.core.render import compose_model
from decnet.core.validate import missing_services
from decnet.engine.context import Context
from decnet.engine.health import CollectHealth, collection_health
from decnet.engine.leases import recover_stale
from decnet.engine.lifecycle import deploy
from decnet.engine.rollout import DEPLOY, RolloutOptions, RolloutReport
from decnet.engine.topologies import check_host
from decnet.errors import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, NotFound
from decnet.models import LIVE, Status, Topology
from decnet.runner.ansible import HostOutcome, PlaybookJob, run_playbook
from decnet.runner.inventory import load_inventory

IN_SYNC = "in_sync"
CONFIG_DRIFT = "config_drift"
RUNTIME_DRIFT = "runtime_drift"
UNREACHABLE = "unreachable"
UNKNOWN = "unknown"
STATES = (IN_SYNC, CONFIG_DRIFT, RUNTIME_DRIFT, UNREACHABLE, UNKNOWN)
DRIFTED = frozenset({CONFIG_DRIFT, RUNTIME_DRIFT})

CHECKED = frozenset({Status.ACTIVE, Status.DEGRADED, Status.FAILED, Status.DEPLOYING})
"""The statuses whose topologies drift classifies (something may run on the host)."""
FACT_FORMAT = 1
FACT_KEY = "decnet"
_SHOWN = 120
"""How much of an unreadable fact value a finding quotes (as data, repr-escaped)."""
_SHOWN_TEXT = 300
"""How much of an error line from the host a finding quotes."""
_MAX_DETAILS = 50
MAX_FACT_CHARS = 16 * 1024 * 1024
"""A fact string larger than this is not parsed: a real one is a few KB per topology."""
MAX_STORED_CHARS = 4 * 1024 * 1024
"""A host report larger than this is stored as its summary only."""
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = _SHOWN
_REPR.maxlevel = 3


@dataclass(frozen=True)
class Finding:
    name: str
    host: str
    state: str
    """in_sync | config_drift | runtime_drift | unreachable | unknown"""
    details: list[str] = field(default_factory=list)


@dataclass
class DriftReport:
    findings: list[Finding] = field(default_factory=list)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """host -> {"reachable": bool, "error": str | None}"""
    status: str = "successful"
    artifact_dir: str = ""
    duration: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 all in sync; 1 any topology unreachable or unknown (the picture is incomplete);
        else 2 if any drift."""
        states = {f.state for f in self.findings}
        if states & {UNREACHABLE, UNKNOWN}:
            return EXIT_ERROR
        if states & DRIFTED:
            return EXIT_DRIFT
        return EXIT_OK


# --- the pure part ----------------------------------------------------------------------------


def _shown(value: object) -> str:
    """A host value as a finding quotes it: repr-escaped (no control characters reach a
    terminal) and cut, without ever building the repr of a huge or deep value first."""
    text = _REPR.repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _text(value: str, limit: int = _SHOWN_TEXT) -> str:
    """A host string quoted as prose (an error line): cut, non-printables escaped."""
    cut = value[:limit]
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in cut)
    return shown + ("…" if len(value) > limit else "")


def _capped(details: list[str]) -> list[str]:
    """A host that reports a million rogue containers gets a readable finding, not a flood."""
    if len(details) <= _MAX_DETAILS:
        return details
    return [*details[:_MAX_DETAILS], f"… and {len(details) - _MAX_DETAILS} more"]


def _decoded(fact: str) -> tuple[Any, str]:
    if len(fact) > MAX_FACT_CHARS:
        return None, f"the decnet fact is too large ({len(fact)} characters)"
    try:
        return json.loads(fact), ""
    except (ValueError, RecursionError):  # RecursionError: `[[[[…` nested past the stack
        return None, f"the decnet fact is unreadable (not JSON): {_shown(fact)}"


def parse_fact(fact: Any) -> tuple[dict[str, Any] | None, str]:
    """The fact document, or None and why not; never raises, whatever the host sent. Only
    `json.loads` touches a string; `errors` is a list and `topologies` an object after it."""
    if fact is None:
        return None, (
            "the decnet fact is missing on the host (nothing was deployed there, or the fact "
            "was removed: decnet deploy installs it, as playbooks/prepare.yml does)"
        )
    if isinstance(fact, str):
        fact, why = _decoded(fact)
        if why:
            return None, why
    if not isinstance(fact, dict):
        return None, f"the decnet fact is not an object: {_shown(fact)}"
    fmt = fact.get("format")
    if type(fmt) is not int or fmt != FACT_FORMAT:  # True == 1 and 1.0 == 1: not a format
        return None, f"the decnet fact has an unknown format: {_shown(fmt)}"
    if not isinstance(fact.get("topologies"), dict):
        return (
            None,
            f"the decnet fact's topologies are not an object: {_shown(fact.get('topologies'))}",
        )
    if not isinstance(fact.get("errors") or [], list):
        return None, f"the decnet fact's errors are not a list: {_shown(fact.get('errors'))}"
    return fact, ""


def _expected(model: Mapping[str, Any]) -> tuple[dict[str, dict[str, str]], set[str]]:
    """container name -> {docker network name: IP}, and the docker network names."""
    lan_net = {key: net["name"] for key, net in (model.get("networks") or {}).items()}
    containers: dict[str, dict[str, str]] = {}
    for svc in (model.get("services") or {}).values():
        nets = svc.get("networks") or {}
        containers[svc["container_name"]] = {
            lan_net.get(lan, lan): str(attach.get("ipv4_address")) for lan, attach in nets.items()
        }
    return containers, set(lan_net.values())


def _runtime_details(entry: Mapping[str, Any], model: Mapping[str, Any]) -> list[str]:
    want_containers, want_networks = _expected(model)
    raw_containers = entry.get("containers")
    raw_networks = entry.get("networks")
    have: dict[str, Mapping[str, Any]] = {}
    for c in raw_containers if isinstance(raw_containers, list) else []:
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            have[c["name"]] = c
    have_networks = {
        n["name"]
        for n in (raw_networks if isinstance(raw_networks, list) else [])
        if isinstance(n, dict) and isinstance(n.get("name"), str)
    }
    details = []
    for name, nets in sorted(want_containers.items()):
        c = have.get(name)
        if c is None:
            details.append(f"container {name} is missing")
            continue
        if c.get("state") != "running":
            details.append(f"container {name} is {_shown(c.get('state'))}, not running")
        raw_nets = c.get("networks")
        got_nets: Mapping[str, Any] = raw_nets if isinstance(raw_nets, dict) else {}
        for net, ip in sorted(nets.items()):
            got = got_nets.get(net)
            if got is None:
                details.append(f"container {name} is not on network {net}")
            elif got != ip:
                details.append(f"container {name} has IP {_shown(got)} on {net}, want {ip}")
    details += [
        f"unexpected container {_shown(n)}" for n in sorted(set(have) - set(want_containers))
    ]
    details += [f"network {n} is missing" for n in sorted(want_networks - have_networks)]
    details += [f"unexpected network {_shown(n)}" for n in sorted(have_networks - want_networks)]
    return details


def classify(
    topology: Topology,
    desired: str,
    expected: Mapping[str, Any],
    fact: Any,
    reachable: bool,
) -> Finding:
    """Compare what the host reports (`fact`: the raw `ansible_local.decnet`) with what the
    topology should be (`desired` hash, `expected` = `render.compose_model`). Pure."""
    name, host = topology.name, topology.host

    def found(state: str, *details: str) -> Finding:
        return Finding(name=name, host=host, state=state, details=list(details))

    if not reachable:
        return found(UNREACHABLE, f"host {host} did not answer")
    doc, why = parse_fact(fact)
    if doc is None:
        return found(UNKNOWN, why)
    errors = [e for e in doc.get("errors") or [] if isinstance(e, str)]
    mine = [_text(e) for e in errors if e.startswith(f"applied: {name}:")]
    if mine:
        return found(UNKNOWN, *_capped(mine))
    docker_errors = [e for e in errors if e.startswith(("docker:", "fact:"))]
    if docker_errors:  # without docker's view the runtime comparison would be fiction
        return found(
            UNKNOWN, *_capped([f"the host could not report: {_text(e)}" for e in docker_errors])
        )
    entry = doc["topologies"].get(name)
    if not isinstance(entry, dict):
        return found(UNKNOWN, "never applied on the host (no applied.json, no containers)")
    applied = entry.get("applied_hash")
    if not isinstance(applied, str) or not applied:
        return found(UNKNOWN, "no applied hash on the host (never applied, or applied.json lost)")
    runtime = _capped(_runtime_details(entry, expected))
    if applied != desired:
        return found(
            CONFIG_DRIFT, f"applied {_text(applied[:12])} != desired {desired[:12]}", *runtime
        )
    if runtime:
        return found(RUNTIME_DRIFT, *runtime)
    return found(IN_SYNC)


# --- the use cases ----------------------------------------------------------------------------


def _host_error(outcome: HostOutcome | None, status: str) -> str | None:
    if outcome is None:
        return f"took no part in the run ({status})"
    if outcome.messages:
        return outcome.messages[-1]
    return None


def stored_report(fact: Any) -> dict[str, Any]:
    """What `host_report` keeps of a fact: the document when it is plain, bounded JSON, else
    why not and a cut quote (NaN, a nesting past the stack or 100 MB never reach the DB)."""
    doc, why = parse_fact(fact)
    if doc is not None:
        try:
            size = len(json.dumps(doc, allow_nan=False))
        except (ValueError, TypeError, RecursionError):
            why = "the decnet fact is not plain JSON data (NaN, infinity or nested too deep)"
        else:
            if size <= MAX_STORED_CHARS:
                return doc
            why = f"the decnet fact is too large to keep ({size} characters)"
    return {"unreadable": why, "raw": _shown(fact)}


def drift(ctx: Context, *, host: str | None = None, inventory: Path | None = None) -> DriftReport:
    if host is not None:
        check_host(host)
    recover_stale(ctx.store)
    live = [s for s in ctx.store.list_topologies() if s.status in CHECKED]
    if host is not None:
        live = [s for s in live if s.host == host]
    topologies = [ctx.store.get_topology(s.name) for s in live]
    inv = load_inventory(ctx.inventory_path(inventory), ctx.settings.home / "cache")
    if host is not None and host not in inv:
        raise NotFound(
            f"host {host!r} is not in inventory {inv.path}",
            hint="pass the inventory that holds the host with --inventory",
        )
    report = DriftReport()
    hosts = sorted({t.host for t in topologies if t.host in inv})
    outcomes: dict[str, HostOutcome] = {}
    if hosts:
        run_id = uuid.uuid4().hex[:12]
        job = PlaybookJob(
            playbook="facts.yml",
            inventory=inv.path,
            data_dir=ctx.runs_dir() / f"drift-{run_id}",
            limit=",".join(hosts),
            forks=max(1, min(len(hosts), 50)),
        )
        started = time.monotonic()
        result = run_playbook(job)
        report.status = result.status
        report.artifact_dir = str(result.artifact_dir)
        report.duration = time.monotonic() - started
        outcomes = result.hosts
        for h in hosts:
            outcome = outcomes.get(h)
            reachable = outcome is not None and not outcome.unreachable
            fact = outcome.facts.get(FACT_KEY) if outcome is not None else None
            error = _host_error(outcome, result.status) if not reachable or fact is None else None
            ctx.store.save_host_report(h, stored_report(fact), reachable=reachable, error=error)
            report.hosts[h] = {"reachable": reachable, "error": error}
    for t in topologies:
        finding = _finding(ctx, t, t.host in inv, outcomes.get(t.host))
        if finding.state in DRIFTED:
            ctx.store.set_needs_resync(t.name, True)
        elif finding.state == IN_SYNC:
            ctx.store.set_needs_resync(t.name, False)
        payload = ev.DriftFinding(
            topology=t.name, host=t.host, state=finding.state, details=finding.details
        )
        ctx.store.append_event(payload, topology=t.name)
        report.findings.append(finding)
    return report


def _finding(ctx: Context, t: Topology, in_inventory: bool, outcome: HostOutcome | None) -> Finding:
    if not in_inventory:
        return Finding(t.name, t.host, UNKNOWN, [f"host {t.host} is not in the inventory"])
    problems = missing_services(t, ctx.catalog)
    if problems:  # nothing to compare the host with: no desired hash, no compose model
        return Finding(t.name, t.host, UNKNOWN, [p.message for p in problems])
    reachable = outcome is not None and not outcome.unreachable
    fact = outcome.facts.get(FACT_KEY) if outcome is not None else None
    desired = desired_hash(t, ctx.catalog, ctx.settings.site_images, secret_key=ctx.hash_key)
    model = compose_model(t, ctx.catalog, ctx.settings.site_images)
    return classify(t, desired, model, fact, reachable)


def reconcile(ctx: Context, *, inventory: Path | None = None) -> RolloutReport:
    """Re-deploy exactly the topologies marked `needs_resync` (rollout clears the mark)."""
    names = [
        s.name
        for s in ctx.store.list_topologies()
        if s.needs_resync and s.status in DEPLOY.allowed_from and s.status != Status.PENDING
    ]
    if not names:
        return RolloutReport(run_id="", kind="deploy", dry_run=False, status="successful")
    return deploy(ctx, names, opts=RolloutOptions(inventory=inventory))


class HostView(BaseModel):
    host: str
    topologies: list[str]
    gathered_at: str | None = None
    reachable: bool | None = None
    error: str | None = None
    collect: CollectHealth | None = None
    """The host's collection: its stream, lag, last line, gaps (docs/observe.md)."""


def hosts(ctx: Context, inventory: Path | None = None) -> list[HostView]:
    inv = load_inventory(ctx.inventory_path(inventory), ctx.settings.home / "cache")
    pinned: dict[str, list[str]] = {}
    for s in ctx.store.list_topologies():
        if s.status in LIVE:
            pinned.setdefault(s.host, []).append(s.name)
    reports = ctx.store.host_reports()
    health = collection_health(ctx.store, inv.hosts)
    views = []
    for h in inv.hosts:
        row = reports.get(h)
        views.append(
            HostView(
                host=h,
                topologies=sorted(pinned.get(h, [])),
                gathered_at=row.gathered_at if row else None,
                reachable=row.reachable if row else None,
                error=row.error if row else None,
                collect=health[h],
            )
        )
    return views
