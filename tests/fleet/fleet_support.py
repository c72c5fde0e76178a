"""What the fleet tests share: a one-decky topology and a context with topologies on hosts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lures import LURES

from decnet.engine.context import Context
from decnet.engine.lifecycle import teardown
from decnet.engine.rollout import RolloutOptions
from decnet.engine.topologies import create_topology
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.runner.ansible import PlaybookJob, run_playbook
from decnet.settings import Settings
from decnet.testbed import Testbed


def topology(name: str, host: str) -> Topology:
    return Topology(
        name=name,
        host=host,
        lans=[Lan(name="dmz", is_dmz=True)],
        deckies=[
            Decky(name="gw", home_lan="dmz", memberships=[Membership(lan="dmz")], services=["ssh"])
        ],
    )


@contextmanager
def fleet_context(
    testbed: Testbed,
    tmp_path: Path,
    names: Mapping[str, str],
    before_teardown: Callable[[], None] = lambda: None,
    prepare: bool = True,
) -> Iterator[Context]:
    """Prepare the hosts (playbooks/prepare.yml, unless `prepare` is false: a deploy needs no
    preparation), create `names` (topology -> host); always tear them down after."""
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(
        db_path=tmp_path / "decnet.db",
        home=home,
        inventory=testbed.inventory_path,
        site_images=dict(LURES),
    )
    if prepare:
        job = PlaybookJob("prepare.yml", testbed.inventory_path, tmp_path / "prepare")
        prep = run_playbook(job)
        assert prep.status == "successful", {h: o.messages for h, o in prep.hosts.items()}
    context = Context.open(settings)
    for name, host in names.items():
        create_topology(context.store, topology(name, host), catalog=context.catalog)
    try:
        yield context
    finally:
        before_teardown()
        live = [s.name for s in context.store.list_topologies() if s.status != Status.TORN_DOWN]
        if live:
            teardown(context, live, opts=RolloutOptions(force=True))
        for name, host in names.items():
            testbed.exec(host, "sh", "-c", f"rm -rf /var/lib/decnet/topologies/{name}")
