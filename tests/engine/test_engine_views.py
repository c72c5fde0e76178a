"""Engine calls that read the store only (no Ansible, no Docker): what `show`, `status` and
`drift`'s classification make of what is stored, with a real store and the real catalogue."""

from __future__ import annotations

from pathlib import Path

from decnet.engine.context import Context
from decnet.engine.lifecycle import status
from decnet.engine.topologies import create_topology, show_topology
from decnet.models import Decky, Lan, Membership, Topology
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
