"""Re-apply benchmark: an unchanged topology deployed again with this tree's roles against the
roles of a baseline revision (default `main`), in one run on the local Docker engine.

What it isolates is what the Ansible content costs when nothing changed (the quick look of
roles/decnet_topology, which also keeps the host files current): a small topology is created
in a temporary DECNET_HOME, rendered (`decnet render`) and deployed once with this tree's
roles (a private base dir and facts dir, so the host files are installed there); then plain
`ansible-playbook playbooks/deploy.yml` re-applies the same bundle alternately from the
baseline's roles/ + playbooks/ + ansible.cfg (`git archive REV`) and from this tree, every run
a no-op (`changed=0`), medians kept. Each run's wall time is printed, but the target is on CPU
time (user + system of ansible-playbook and every process it started, the modules included):
on a machine other work shares, the wall time of the same no-op varies by a factor of two.
Everything the topology created is removed in `finally`.
Target: CPU this tree / baseline <= 1.05 (nothing measurable added when nothing changed).

Run: .venv/bin/python bench/reapply.py [--baseline main] [--repeat 7]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from decnet.engine.context import Context
from decnet.engine.topologies import generate_topology
from decnet.models import GeneratorParams
from decnet.settings import PROJECT_ROOT, Settings

VENV_BIN = Path(sys.executable).parent
INVENTORY = PROJECT_ROOT / "inventory" / "localhost.yml"
SUBNET_POOL = "10.246.0.0/16"
"""Away from the default pool (10.192.0.0/12) that tests on the same engine use."""
TARGET = 1.05


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    """User + system seconds of the playbook's process tree."""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def baseline_tree(rev: str, into: Path) -> Path:
    """roles/, playbooks/ and ansible.cfg of `rev`, extracted under `into`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "roles", "playbooks", "ansible.cfg"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def playbook(root: Path, bundle: Path, base_dir: Path, facts_dir: Path, noop: bool = True) -> Run:
    """One deploy.yml run from the tree at `root`; its cost. With `noop`, fails unless the run
    changed nothing."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(root / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    cmd = [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(INVENTORY),
        str(root / "playbooks" / "deploy.yml"),
        "-e",
        f"decnet_bundle_dir={bundle}",
        "-e",
        f"decnet_base_dir={base_dir}",
        "-e",
        f"decnet_facts_dir={facts_dir}",
    ]
    start, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, check=False)
    cost = Run(time.perf_counter() - start, children_cpu() - cpu)
    if proc.returncode != 0:
        raise RuntimeError(f"ansible-playbook from {root} failed:\n{proc.stdout[-3000:]}")
    recap = proc.stdout[proc.stdout.rfind("PLAY RECAP") :]
    if noop and "changed=0" not in recap:
        raise RuntimeError(f"the re-apply from {root} was not a no-op:\n{recap}")
    return cost


def cleanup(bundle: Path, base_dir: Path, facts_dir: Path, name: str) -> list[str]:
    """Tear the topology down (teardown.yml), then remove and report whatever is left."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(PROJECT_ROOT / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(PROJECT_ROOT / "roles"),
    }
    subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(INVENTORY),
            str(PROJECT_ROOT / "playbooks" / "teardown.yml"),
            "-e",
            f"decnet_bundle_dir={bundle}",
            "-e",
            f"decnet_base_dir={base_dir}",
            "-e",
            f"decnet_facts_dir={facts_dir}",
        ],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )
    left: list[str] = []
    label = f"label=decnet.topology={name}"
    for kind in (["ps", "-aq"], ["network", "ls", "-q"]):
        ids = subprocess.run(
            ["docker", *kind, "--filter", label], capture_output=True, text=True, check=False
        ).stdout.split()
        if ids:
            left.append(f"{len(ids)} {'networks' if 'network' in kind else 'containers'}")
            rm = ["network", "rm"] if "network" in kind else ["rm", "-f"]
            subprocess.run(["docker", *rm, *ids], capture_output=True, check=False)
    shutil.rmtree(base_dir, ignore_errors=True)
    return left


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare against")
    parser.add_argument("--repeat", type=int, default=7, help="re-applies per side")
    args = parser.parse_args()
    name = f"bench-re-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="decnet-bench-reapply-") as tmp_name:
        tmp = Path(tmp_name)
        env = {
            **os.environ,
            "DECNET_HOME": str(tmp / "home"),
            "DECNET_DB": str(tmp / "decnet.db"),
            "DECNET_INVENTORY": str(INVENTORY),
        }
        env.pop("DECNET_IMAGES", None)
        ctx = Context.open(Settings.from_env(env))
        params = GeneratorParams(
            name=name,
            depth=2,
            branching=2,
            deckies_min=1,
            deckies_max=2,
            services=["ssh"],
            subnet_pool=SUBNET_POOL,
        )
        generate_topology(ctx.store, params, catalog=ctx.catalog)
        ctx.store.close()
        bundle, base_dir, facts_dir = tmp / "bundle", tmp / "topologies", tmp / "facts.d"
        subprocess.run(
            [str(VENV_BIN / "decnet"), "render", name, "--out", str(bundle)],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
        )
        baseline = baseline_tree(args.baseline, tmp / "baseline")
        runs: dict[str, list[Run]] = {"baseline": [], "tree": []}
        try:
            # the first deploy installs the topology and the host files: not timed
            playbook(PROJECT_ROOT, bundle, base_dir, facts_dir, noop=False)
            for i in range(args.repeat):
                # alternate which side goes first: neither always gets the warmer caches
                order = ("baseline", "tree") if i % 2 == 0 else ("tree", "baseline")
                for side in order:
                    root = baseline if side == "baseline" else PROJECT_ROOT
                    runs[side].append(playbook(root, bundle, base_dir, facts_dir))
        finally:
            left = cleanup(bundle, base_dir, facts_dir, name)
    print(f"re-apply of an unchanged topology ({args.repeat} runs per side, medians):")
    medians: dict[str, tuple[float, float]] = {}
    for side, label in (("baseline", f"baseline {args.baseline}"), ("tree", "this tree")):
        cpu = statistics.median(r.cpu for r in runs[side])
        wall = statistics.median(r.wall for r in runs[side])
        medians[side] = (cpu, wall)
        each = ", ".join(f"{r.cpu:.2f}/{r.wall:.2f}" for r in runs[side])
        print(f"  {label}: CPU {cpu:.2f}s, wall {wall:.2f}s (each CPU/wall: {each})")
    ratio = medians["tree"][0] / medians["baseline"][0]
    wall_ratio = medians["tree"][1] / medians["baseline"][1]
    verdict = "PASS" if ratio <= TARGET else "MISS"
    print(f"  CPU ratio {ratio:.3f} (target <= {TARGET}): {verdict}; wall ratio {wall_ratio:.3f}")
    if left:
        print("left behind by the teardown, removed: " + ", ".join(left))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
