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
  - With O(state=present) on a host whose engine is local, it makes sure the host's INPUT chain
    drops what the decky LANs' bridges (named C(dcn-*) by the render) send to the host itself,
    answers to connections the host opened excepted, with one iptables rule inserted first; a
    decky then reaches no service of its host.
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
  - With O(host_files) it first brings the host side of decnet up to date (the decnet fact and
    its configuration, the host contract's C(host_files)), writing only what differs.
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
        none, else C(pending) without changing anything of the topology, taking no lock (only
        O(host_files) may be written). The role runs this synchronously first and launches an
        async job only for the topologies that need one, so a no-op re-apply stays one module
        call.
      - With O(inline), a small change is applied in this call instead (see there).
    type: bool
    default: false
  inline:
    description:
      - With O(quick), apply the change in this call (taking the host lock) when the topology
        was applied before, runs without problems, at most this many services are added,
        removed or defined differently than in the applied record (C(applied.json) keeps a
        digest per service), and every image they use is on the host (in the build O(images)
        names, if it names one). Larger or first applies return C(pending) for an async job.
      - 0 never applies in the quick look.
    type: int
    default: 0
  images:
    description:
      - C(name:tag) -> image id of the controller's images, for O(inline) to tell whether the
        host has the same build (otherwise the role ships the image first). Empty when the host
        shares the controller's engine.
    type: dict
    default: {}
  settle:
    description:
      - Seconds every container (re)started by this apply must have been up, counted from its
        own start, before the check that it stays up (a crashing container is caught as
        restarting); the wait is only what is left of it after the start step.
    type: float
    default: 1.0
  host_files:
    description:
      - Files the host side of decnet needs (the host contract's C(host_files), read by the
        role, the decnet fact and its configuration), handled before anything else.
      - Each one that is missing, differs in content, mode or owner (the user the module runs
        as) or is not a regular file is written atomically, its missing directories created
        (0755); the others are only read. O(base_dir) is created too (0700, with its missing
        parents) when it is missing. Check mode writes nothing and reports what it would.
      - The role passes them to its quick look, so a deploy leaves the host ready for drift
        without a separate preparation step and without an extra round trip.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file on the host.
        type: str
        required: true
      mode:
        description: Octal mode, such as C(0755).
        type: str
        required: true
      content:
        description: The file's whole text.
        type: str
        required: true
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
host_files:
  description:
    - The host files written and the directories created (in check mode, those that would
      be); empty when everything was current. C(changed) is true when it is not empty.
  returned: always
  type: list
  elements: str
msg:
  description: A one-line summary or the reason of a failure (the cause first, secrets masked).
  returned: always
  type: str
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from typing import TYPE_CHECKING

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.decnet_apply import apply, images_ready
from ansible.module_utils.decnet_engine import Docker
from ansible.module_utils.decnet_failure import Failure
from ansible.module_utils.decnet_files import (
    HostFile,
    host_lock,
    install_host_files,
    no_lock,
    prepare_sensor_dirs,
    read_applied,
    read_text,
)
from ansible.module_utils.decnet_firewall import close_host
from ansible.module_utils.decnet_host import (
    APPLIED_FILE,
    BASE_DIR,
    Progress,
    atomic_write,
    make_dir,
)
from ansible.module_utils.decnet_model import (
    Options,
    Topology,
    changed_services,
    fingerprint,
    name_of,
    runtime_problems,
    service_digests,
    service_of,
    stale_services,
    summarize,
    undeclared_networks,
)
from ansible.module_utils.decnet_pool import Pool, default_concurrency
from ansible.module_utils.decnet_preflight import preflight
from ansible.module_utils.decnet_removal import describe_left, is_clean, remove_objects
from ansible.module_utils.decnet_scrub import Scrubber

if TYPE_CHECKING:
    from ansible.module_utils.decnet_failure import Left
    from ansible.module_utils.decnet_host import Doc

NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
PROJECT_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,127}")
LATE_PASSES, LATE_WAIT = 3, 0.5
"""Rollback passes over what a failed attempt created, and the pause between two."""
CAUSE_WIDTH = 800
"""Characters of a failure's cause kept before the rollback's note (which must stay visible)."""


def present(module: AnsibleModule, topo: Topology, scrub: Scrubber, inline: bool = False) -> Doc:
    """Apply the compose content; with O(quick) only look, unless `inline` (the look found a
    small change and the caller now holds the host lock)."""
    params = module.params
    content: str | None = params["compose_content"]
    if content is None:
        raise Failure("compose_content is required with state=present")
    docker = topo.docker
    desired_hash: str = params["desired_hash"] or _sha256(content)
    topo.progress.update("check")
    docker.check_engine()
    config = topo.load_config(content)
    scrub.add_config(config)
    _register_no_log(module, scrub)
    # Every deploy, changed or not, so a host that rebooted (iptables rules are not saved) gets
    # the rule back from the next deploy or reconcile; a remote DOCKER_HOST's bridges are not here.
    if docker.api is not None and not module.check_mode:
        warning = close_host(docker.timeout)
        if warning:
            module.warn(warning)

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
    if params["quick"] and not inline:
        why = may_inline(module, topo, config, applied, containers)
        if not why:
            return {"inline": True}
        return result("pending", False, containers, old_hash, f"the topology needs a job: {why}")

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
        prepare_sensor_dirs(config)
        apply(topo, config)
    except Failure as exc:
        existed = {c["Id"] for c in containers} | {n["Id"] for n in networks}
        note, left = rollback(topo, was_applied, old_content, existed)
        raise Failure(f"{scrub.clip(str(exc), CAUSE_WIDTH)}{note}", left) from exc

    containers, networks = topo.project_state()
    record = {
        "topology": topo.name,
        "applied_hash": desired_hash,
        "applied_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "services": service_digests(config),
    }
    stale_record = applied is None or set(applied) != set(record)
    if stale_record or not same_hash or (applied or {}).get("services") != record["services"]:
        atomic_write(topo.applied_file, json.dumps(record, sort_keys=True) + "\n")
    changed = not same_file or not same_hash or fingerprint(containers, networks) != before
    msg = "topology applied" if changed else "topology is applied and running"
    topo.progress.update("done", total, total)
    return result("applied" if changed else "unchanged", changed, containers, desired_hash, msg)


def may_inline(
    module: AnsibleModule, topo: Topology, config: Doc, applied: Doc | None, containers: list[Doc]
) -> str:
    """Empty when the quick look may apply the change itself (a small change to a healthy,
    applied topology whose images are ready: an async job and its polls would cost more than
    the change), else why not."""
    limit: int = module.params["inline"]
    if module.check_mode or limit <= 0:
        return "a job applies every change"
    changed = changed_services(config, applied)
    if changed is None:
        return "the applied record names no services"
    if len(changed) > limit:
        return f"{len(changed)} services change, more than {limit}"
    # What the change does not touch must be running as applied: a repair is a job's work.
    kept = {k: v for k, v in (config.get("services") or {}).items() if k not in changed}
    steady = {**config, "services": kept}
    others = [c for c in containers if service_of(c) not in changed]
    if runtime_problems(steady, others, set()) or stale_services(steady, others):
        return "the topology needs repair"
    if not images_ready(topo.docker, config, changed, module.params["images"]):
        return "an image must be shipped first"
    return ""


def rollback(
    topo: Topology, was_applied: bool, old_content: str | None, existed: set[str]
) -> tuple[str, Left | None]:
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
    removed, left = [0, 0], None
    for n in range(LATE_PASSES):
        if n:  # compose gives up at its first error while the daemon may still finish
            time.sleep(LATE_WAIT)  # creates it had asked for: look again before saying clean
        containers, networks = created_by_attempt(topo, existed)
        if n and not containers and not networks:
            break
        left = remove_created(topo, containers, networks)
        removed = [removed[0] + len(containers), removed[1] + len(networks)]
        if not is_clean(left):
            break
    left = left or {"containers": [], "networks": [], "causes": []}
    if not existed and is_clean(left):
        shutil.rmtree(topo.dir, ignore_errors=True)
    if is_clean(left):
        what = f"{removed[0]} container(s) and {removed[1]} network(s)"
        return f" (rolled back: removed the {what} of this attempt)", None
    return (
        f" (rollback incomplete: {describe_left(left)}; they are still on the host: run "
        f"decnet teardown)",
        left,
    )


def created_by_attempt(topo: Topology, existed: set[str]) -> tuple[list[Doc], list[Doc]]:
    """What the failed attempt made: everything of the topology when nothing existed before."""
    containers, networks = topo.all_objects() if not existed else topo.project_state()
    return (
        [c for c in containers if c["Id"] not in existed],
        [n for n in networks if n["Id"] not in existed],
    )


def remove_created(topo: Topology, containers: list[Doc], networks: list[Doc]) -> Left:
    try:
        return remove_objects(topo, containers, networks)
    except Failure as exc:
        return {
            "containers": sorted(name_of(c) for c in containers),
            "networks": sorted(name_of(n) for n in networks),
            "causes": [str(exc)],
        }


def absent(module: AnsibleModule, topo: Topology) -> Doc:
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


def result(
    status: str, changed: bool, containers: list[Doc], applied_hash: str | None, msg: str
) -> Doc:
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
            "inline": {"type": "int", "default": 0},
            "images": {"type": "dict", "default": {}},
            "host_files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "str", "required": True},
                    "mode": {"type": "str", "required": True},
                    "content": {"type": "str", "required": True},
                },
            },
        },
        required_if=[("state", "present", ["compose_content"])],
        supports_check_mode=True,
    )
    params = module.params
    name: str = params["name"]
    if not NAME_RE.fullmatch(name):
        module.fail_json(
            msg=f"invalid topology name {name!r}: must match {NAME_RE.pattern}", status="failed"
        )
    if params["project"] is not None and not PROJECT_RE.fullmatch(params["project"]):
        module.fail_json(msg=f"invalid compose project name {params['project']!r}", status="failed")
    if params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, got {params['timeout']}")
    scrub = Scrubber(params["compose_content"] or "", params["secret_env"])
    _register_no_log(module, scrub)
    size = params["concurrency"] if params["concurrency"] > 0 else default_concurrency()
    pool = Pool(size)
    # reads only (the host files aside, each written atomically): no lock, no progress file
    quiet = module.check_mode or params["quick"]
    progress = Progress(params["base_dir"], name, params["state"], enabled=not quiet)
    docker = Docker(module.get_bin_path("docker"), params["timeout"], params["retries"], scrub)
    options = Options(params["stop_timeout"], params["pull"], params["settle"])
    topo = Topology(name, params["project"], params["base_dir"], options, docker, pool, progress)
    installed: list[str] = []
    try:
        files = [HostFile.parse(entry) for entry in params["host_files"]]
        if files:
            installed = install_host_files(files, params["base_dir"], module.check_mode)
        lock = host_lock(params["base_dir"], progress) if not quiet else no_lock()
        with lock:
            if params["state"] == "absent":
                outcome = absent(module, topo)
            else:
                outcome = present(module, topo, scrub)
        if outcome.pop("inline", False):
            with host_lock(params["base_dir"], progress):
                outcome = present(module, topo, scrub, inline=True)
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
            host_files=installed,
        )
    outcome["changed"] = outcome["changed"] or bool(installed)
    concurrency = {"limit": pool.size, "peak": pool.peak}
    module.exit_json(topology=name, concurrency=concurrency, host_files=installed, **outcome)


if __name__ == "__main__":
    main()
