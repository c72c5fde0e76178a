"""`decnet render`: validate topologies as deploy would, render their bundle, write it.

The bundle is what `playbooks/deploy.yml` consumes when run by hand or from CI, so it is
checked exactly as a deploy checks it (inventory hosts, subnets and ports claimed on the host)
and written only where nothing but an earlier bundle would be replaced (engine/bundle.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from decnet.core.render import render_bundle
from decnet.engine.bundle import write_bundle
from decnet.engine.context import Context
from decnet.engine.rollout import validate_on_hosts
from decnet.errors import UsageError
from decnet.models import LIVE
from decnet.runner.inventory import load_inventory

_OUT_HINT = "give a new or empty directory for the bundle, e.g. --out ./bundle"


@dataclass(frozen=True)
class RenderResult:
    out_dir: Path
    topologies: list[str]


def _select(ctx: Context, names: Sequence[str], all_: bool) -> list[str]:
    if names and all_:
        raise UsageError(
            "name topologies or pass --all, not both", hint="decnet render corp --out DIR"
        )
    if all_:
        return [s.name for s in ctx.store.list_topologies() if s.status in LIVE]
    if not names:
        raise UsageError("nothing to render", hint="name a topology or pass --all")
    return list(names)


def _within(path: Path, target: Path) -> bool:
    """Whether replacing `path` would replace `target` (it is `target` or holds it)."""
    return path == target or path in target.parents


def check_out_dir(ctx: Context, out: Path) -> Path:
    """`out`, absolute, unless replacing it would pull the working directory, the database or
    DECNET_HOME out from under decnet."""
    out = Path(os.path.realpath(out))
    if _within(out, Path.cwd().resolve()):
        raise UsageError(
            f"--out {out} is the working directory or holds it; the bundle replaces its --out",
            hint=_OUT_HINT,
        )
    guarded = {
        "the database": ctx.settings.db_path,
        "DECNET_HOME (runs, bundles, caches)": ctx.settings.home,
    }
    for what, path in guarded.items():
        if _within(out, Path(os.path.realpath(path))):
            raise UsageError(f"--out {out} is or holds {what}, {path}", hint=_OUT_HINT)
    return out


def render(
    ctx: Context,
    names: Sequence[str],
    *,
    out: Path,
    all_: bool = False,
    inventory: Path | None = None,
) -> RenderResult:
    """Validate the chosen topologies against their hosts and write their bundle to `out`."""
    out = check_out_dir(ctx, out)
    chosen = _select(ctx, names, all_)
    topologies = [ctx.store.get_topology(n) for n in chosen]
    hosts = load_inventory(ctx.inventory_path(inventory), ctx.settings.home / "cache")
    validate_on_hosts(ctx, topologies, hosts)
    files = render_bundle(
        topologies,
        ctx.catalog,
        ctx.settings.site_images,
        ctx.compose_template(),
        secret_key=ctx.hash_key,
    )
    return RenderResult(write_bundle(files, out), chosen)
