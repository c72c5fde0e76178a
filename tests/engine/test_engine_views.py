"""Engine calls that read the store only (no Ansible, no Docker): what `show`, `status` and
`drift`'s classification make of what is stored, with a real store and the real catalogue."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from decnet.core.secrets import MASK
from decnet.engine.context import Context
from decnet.engine.lifecycle import deploy, status
from decnet.engine.topologies import create_topology, show_topology
from decnet.errors import InvalidTopology
from decnet.models import Decky, Lan, Membership, Status, Topology
from decnet.settings import PROJECT_ROOT, Settings

PASSWORD = "Winter2024!"


def context(tmp_path: Path, name: str = "db") -> Context:
    home = tmp_path / f"{name}-home"
    settings = Settings(
        db_path=tmp_path / f"{name}.db",
        home=home,
        inventory=PROJECT_ROOT / "inventory" / "localhost.yml",
    )
    return Context.open(settings)


def with_secret(name: str = "sec", password: str = PASSWORD) -> Topology:
    return Topology(
        name=name,
        lans=[Lan(name="dmz", is_dmz=True)],
        deckies=[
            Decky(
                name="gw",
                home_lan="dmz",
                memberships=[Membership(lan="dmz")],
                services=["ssh"],
                service_config={"ssh": {"password": password, "banner": "SSH-2.0-x"}},
            )
        ],
    )


# --- item 3: the hash key is the database's, loaded once, never shown ------------------------


def test_show_and_status_hash_secrets_under_the_database_key(tmp_path: Path) -> None:
    a, b = context(tmp_path, "a"), context(tmp_path, "b")
    for ctx in (a, b):
        create_topology(ctx.store, with_secret(), catalog=ctx.catalog, pool="10.231.0.0/16")
    shown = [show_topology(c.store, "sec", catalog=c.catalog).desired_hash for c in (a, b)]
    stated = [status(c, "sec")[0].desired_hash for c in (a, b)]
    assert shown == stated
    assert shown[0] != shown[1]  # same topology, same secret, another database
    for ctx in (a, b):
        dumped = show_topology(ctx.store, "sec", catalog=ctx.catalog).model_dump_json()
        dumped += "".join(v.model_dump_json() for v in status(ctx, "sec"))
        assert PASSWORD not in dumped
        assert ctx.hash_key.hex() not in dumped


def test_the_context_reads_the_key_once(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    first = ctx.hash_key
    ctx.store.conn.execute("UPDATE setting SET value = ? WHERE key = 'hash_key'", ("00" * 32,))
    assert ctx.hash_key is first
    assert ctx.store.hash_key() == bytes(32)


# --- item 9: a service removed from the catalogue is data, not a crash -----------------------


def without(ctx: Context, service: str) -> Context:
    """The same database and settings with a catalogue that no longer has `service`."""
    services = {k: v for k, v in ctx.catalog.services.items() if k != service}
    return dataclasses.replace(ctx, catalog=ctx.catalog.model_copy(update={"services": services}))


def test_status_and_show_report_a_removed_service_instead_of_crashing(tmp_path: Path) -> None:
    full = context(tmp_path)
    create_topology(full.store, with_secret(), catalog=full.catalog, pool="10.231.0.0/16")
    ctx = without(full, "ssh")

    (view,) = status(ctx, "sec")
    assert view.desired_hash is None
    (problem,) = view.problems
    assert (problem.code, problem.path) == ("SERVICE_UNKNOWN", "deckies[gw].services[0]")
    assert "'ssh'" in problem.message and "'gw'" in problem.message
    assert "put the service back in the catalogue" in problem.message
    assert "decnet teardown sec" in problem.message
    assert [v.name for v in status(ctx)] == ["sec"]  # every topology, not only the named one

    shown = show_topology(ctx.store, "sec", catalog=ctx.catalog)
    assert shown.desired_hash is None and shown.problems == view.problems
    # Which keys of a service the catalogue forgot were secret is unknown: all are masked (the
    # host name too, which create gave the decky as its persona).
    masked = {"password": MASK, "banner": MASK, "hostname": MASK}
    assert shown.deckies[0].service_config["ssh"] == masked
    assert PASSWORD not in shown.model_dump_json()


def test_deploy_refuses_a_removed_service_before_any_side_effect(tmp_path: Path) -> None:
    full = context(tmp_path)
    create_topology(full.store, with_secret(), catalog=full.catalog, pool="10.231.0.0/16")
    ctx = without(full, "ssh")
    with pytest.raises(InvalidTopology) as err:
        deploy(ctx, ["sec"])
    assert [(i.code, i.path) for i in err.value.issues] == [
        ("SERVICE_UNKNOWN", "deckies[gw].services[0]")
    ]
    assert ctx.store.get_topology("sec").status == Status.PENDING
    assert ctx.store.last_run("sec") is None
    assert not (ctx.runs_dir()).exists() or not any(ctx.runs_dir().iterdir())
