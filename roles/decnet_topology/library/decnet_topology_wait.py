#!/usr/bin/python3
# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""Wait a little for the async decnet_compose_project jobs of a host; report their progress."""
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: decnet_topology_wait
short_description: Poll the async apply/teardown jobs of decnet topologies and their progress
description:
  - Used in an C(until) loop after C(decnet_compose_project) was launched with C(async) and
    C(poll=0), one job per topology. Each call waits up to O(wait) seconds for every job to
    finish, then returns the progress file of each topology (phase, done, total) and, once all
    jobs are finished, their results (the job files are removed).
  - Each poll is one C(runner_retry) event for ansible-runner; that is how progress reaches the
    controller while the jobs run (modules cannot stream).
version_added: "0.1.0"
options:
  names:
    description: The topology of each launched job.
    type: list
    elements: str
    required: true
  jobs:
    description:
      - The C(results_file) of each launched job, in the order of O(names) (empty when the
        launch itself failed).
    type: list
    elements: str
    required: true
  launch_errors:
    description: The launch's message for each job, in the order of O(names).
    type: list
    elements: str
    default: []
  base_dir:
    description: The topologies directory (progress files are in its C(.progress/)).
    type: path
    required: true
  wait:
    description: Seconds to wait for the jobs to finish before returning their progress.
    type: float
    default: 2.0
author: decnet contributors
"""

EXAMPLES = r"""
- name: Wait for the topologies
  decnet_topology_wait:
    names: "{{ launched.results | map(attribute='item') | list }}"
    jobs: "{{ launched.results | map(attribute='results_file', default='') | list }}"
    base_dir: /var/lib/decnet/topologies
  register: waited
  until: waited.finished
  retries: 100000
  delay: 0
"""

RETURN = r"""
finished:
  description: Whether every job has finished.
  returned: always
  type: bool
progress:
  description: Per topology, its progress file (phase, done, total, state), or phase C(done).
  returned: always
  type: dict
results:
  description:
    - Once finished, one entry per topology, in the order of O(names), with the module's
      C(topology), C(status), C(changed), C(applied_hash), C(containers), C(concurrency),
      C(left) and C(msg).
  returned: always
  type: list
  elements: dict
"""

import contextlib
import json
import os
import time
from typing import TYPE_CHECKING

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.decnet_host import drop_progress, read_progress

if TYPE_CHECKING:
    from ansible.module_utils.decnet_host import Doc

KEPT = ("status", "changed", "applied_hash", "containers", "concurrency", "left", "msg")


def read_job(path: str) -> Doc | None:
    """The job's result once finished, else None (async_wrapper writes `started` while it runs
    and replaces the file atomically)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {"failed": True, "msg": f"the job's result file {path} is gone"}
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return {"failed": True, "msg": "the job's result file holds no object"}
    return None if "started" in data else data


def outcome(name: str, data: Doc) -> Doc:
    kept = {k: data[k] for k in KEPT if k in data}
    failed = bool(data.get("failed")) or kept.get("status") == "failed"
    kept.setdefault("status", "failed" if failed else "unknown")
    if failed:
        kept["status"] = "failed"
        msg = data.get("msg") or data.get("module_stderr") or data.get("stderr") or ""
        kept["msg"] = str(msg).strip() or "the module failed without a message"
    kept.setdefault("changed", bool(data.get("changed")))
    kept.setdefault("msg", "")
    kept["topology"] = name
    return kept


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "jobs": {"type": "list", "elements": "str", "required": True},
            "launch_errors": {"type": "list", "elements": "str", "default": []},
            "base_dir": {"type": "path", "required": True},
            "wait": {"type": "float", "default": 2.0},
        },
        supports_check_mode=True,
    )
    p = module.params
    names, jobs = p["names"], p["jobs"]
    if len(names) != len(jobs):
        module.fail_json(msg=f"{len(names)} names but {len(jobs)} jobs")
    errors = list(p["launch_errors"]) + [""] * len(names)
    deadline = time.monotonic() + max(0.0, p["wait"])
    done: dict[int, Doc] = {}
    for i, path in enumerate(jobs):
        if not path:
            done[i] = {"failed": True, "msg": errors[i] or "the job did not start"}
    while True:
        for i, path in enumerate(jobs):
            if i not in done:
                data = read_job(path)
                if data is not None:
                    done[i] = data
        if len(done) == len(jobs) or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    progress = {}
    for i, name in enumerate(names):
        progress[name] = read_progress(p["base_dir"], name) or {"phase": "queued"}
        if i in done:
            progress[name]["phase"] = "done" if not done[i].get("failed") else "failed"
    finished = len(done) == len(jobs)
    results = []
    if finished:
        results = [outcome(name, done[i]) for i, name in enumerate(names)]
        for i, name in enumerate(names):
            drop_progress(p["base_dir"], name)
            if jobs[i]:
                with contextlib.suppress(OSError):
                    os.unlink(jobs[i])
    changed = any(r.get("changed") for r in results)
    module.exit_json(changed=changed, finished=finished, progress=progress, results=results)


if __name__ == "__main__":
    main()
