"""`decnet mutate|mutations` through the real typer app and a real database (no engine here:
live topologies are stored as active; applying them is tested in tests/engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Invoke, snapshot
from typer.testing import Result

from decnet.cli.mutate import build_op
from decnet.core.catalog import load_catalog
from decnet.errors import EXIT_ERROR, EXIT_USAGE, UsageError
from decnet.models import Status
from decnet.store import Store

CATALOG = load_catalog()


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


@pytest.fixture
def pending(invoke: Invoke) -> str:
    ok(invoke("topology", "generate", "corp", "--depth", "2", "--deckies", "1-1", "--seed", "3"))
    return "corp"


@pytest.fixture
def live(invoke: Invoke, pending: str, db: Path) -> str:
    with Store(db) as store:
        store.transition(pending, Status.DEPLOYING, reason="test")
        store.transition(pending, Status.ACTIVE, reason="test")
    return pending


def test_key_value_pairs_are_typed_by_the_op_and_the_config_schema() -> None:
    op = build_op(
        "add_decky",
        [
            "name=web",
            "lan=dmz",
            "services=ssh, http",
            "forwards_l3=true",
            "canvas.x=12.5",
            "config.ssh.banner=1",
            "config.ssh.password=null",
        ],
        '{"ip": "10.0.0.9"}',
        CATALOG,
    )
    assert op == {
        "op": "add_decky",
        "ip": "10.0.0.9",
        "name": "web",
        "lan": "dmz",
        "services": ["ssh", "http"],
        "forwards_l3": True,
        "canvas": {"x": 12.5},
        "config": {"ssh": {"banner": "1", "password": None}},
    }


@pytest.mark.parametrize(
    ("args", "payload", "words"),
    [
        (["name"], None, "KEY=VALUE"),
        (["=x"], None, "KEY=VALUE"),
        (["forwards_l3=yes"], None, "true or false"),
        (["canvas.x=inf"], None, "number"),
        (["canvas.x=١٢"], None, "number"),
        (["name=a", "name.x=b"], None, "nests"),
        ([], "[1]", "JSON object"),
        ([], "{nope", "not valid JSON"),
    ],
)
def test_bad_pairs_are_usage_errors(args: list[str], payload: str | None, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        build_op("add_decky", args, payload, CATALOG)


def test_pending_edit_applies_at_once_and_bumps_the_version(invoke: Invoke, pending: str) -> None:
    out = ok(
        invoke("mutate", pending, "add_decky", "name=web", "lan=dmz", "services=ssh", "--json")
    )
    result = json.loads(out.stdout)
    assert (result["mode"], result["version"], result["mutation"]) == ("applied", 2, None)
    shown = json.loads(ok(invoke("topology", "show", pending, "--json")).stdout)
    assert "web" in [d["name"] for d in shown["deckies"]]


def test_live_edit_is_enqueued_and_listed_with_secrets_masked(invoke: Invoke, live: str) -> None:
    out = ok(invoke("mutate", live, "update_decky", "name=gw", "config.ssh.password=hunter2"))
    assert "enqueued mutation" in out.stdout and "hunter2" not in out.stdout + out.stderr
    listed = ok(invoke("mutations", live, "--json"))
    (row,) = json.loads(listed.stdout)
    assert (row["state"], row["op"], row["version"]) == ("pending", "update_decky", 2)
    assert row["ops"][0]["config"] == {"ssh": {"password": "********"}}
    assert "hunter2" not in listed.stdout
    ok(invoke("mutations", "cancel", row["id"]))
    (again,) = json.loads(ok(invoke("mutations", "list", live, "--json")).stdout)
    assert again["state"] == "cancelled"
    failed = invoke("mutations", "cancel", row["id"])
    assert failed.exit_code == EXIT_ERROR and "only a pending one" in failed.stderr


def test_plan_json_changes_nothing_and_carries_the_version(
    invoke: Invoke, live: str, db: Path
) -> None:
    before = snapshot(db)
    out = ok(
        invoke(
            "mutate",
            live,
            "add_decky",
            "name=web",
            "lan=dmz",
            "services=ssh,http",
            "--plan",
            "--json",
        )
    )
    view = json.loads(out.stdout)
    assert (view["valid"], view["live"], view["plan"]["version"]) == (True, True, 1)
    # the decky's base, and one sensor container serving both ssh and http
    assert [c["action"] for c in view["plan"]["containers"]] == ["create"] * 2
    text = ok(invoke("mutate", live, "remove_decky", "name=dmz-d1", "--plan"))
    assert "remove   container" in text.stdout
    assert snapshot(db) == before


def test_batch_file_with_expected_version(invoke: Invoke, live: str, tmp_path: Path) -> None:
    batch = tmp_path / "batch.yml"
    batch.write_text(
        "expected_version: 1\nops:\n"
        "  - {op: add_lan, name: lab, subnet: 10.192.99.0/24}\n"
        "  - {op: attach_decky, decky: gw, lan: lab}\n"
    )
    ok(invoke("mutate", live, "-f", str(batch)))
    stale = invoke("mutate", live, "-f", str(batch))
    assert stale.exit_code == EXIT_ERROR and "version 2, not the expected 1" in stale.stderr


BAD_INPUT = [
    (["mutate", "corp", "grow", "name=x"], EXIT_USAGE, "unknown op"),
    (["mutate", "corp", "add_decky", "name=x", "lan=dmz", "colour=red"], EXIT_USAGE, "colour"),
    (["mutate", "corp", "add_decky", "name=x", "lan=nowhere"], EXIT_ERROR, "OP_LAN_UNKNOWN"),
    (["mutate", "corp", "add_lan", "name=dmz2", "dmz=true"], EXIT_ERROR, "DMZ_MULTIPLE"),
    (["mutate", "corp", "remove_lan", "name=dmz"], EXIT_ERROR, "OP_LAN_IN_USE"),
    (["mutate", "corp", "detach_decky", "decky=gw", "lan=dmz"], EXIT_ERROR, "OP_HOME_LAN"),
    (
        ["mutate", "corp", "add_decky", "name=x", "lan=dmz", "ip=10.1.1.1"],
        EXIT_ERROR,
        "IP_OUT_OF_SUBNET",
    ),
    (
        ["mutate", "corp", "update_decky", "name=gw", "services=gopher"],
        EXIT_ERROR,
        "SERVICE_UNKNOWN",
    ),
    (
        ["mutate", "corp", "update_decky", "name=gw", "config.smb.share=x"],
        EXIT_ERROR,
        "SERVICE_CONFIG_UNDECLARED",
    ),
    (
        ["mutate", "corp", "update_decky", "name=lan-1-br", "forwards_l3=false"],
        EXIT_ERROR,
        "OP_FORCE_REQUIRED",
    ),
    (
        ["mutate", "corp", "update_lan", "name=lan-1", "subnet=10.9.0.0/24"],
        EXIT_ERROR,
        "OP_LIVE_FORBIDDEN",
    ),
    (
        ["mutate", "corp", "add_decky", "name=x", "lan=dmz", "--expected-version", "9"],
        EXIT_ERROR,
        "not the expected 9",
    ),
    (["mutate", "nope", "add_lan", "name=x"], EXIT_ERROR, "not found"),
    (["mutate", "corp"], EXIT_USAGE, "OP"),
    (["mutate", "corp", "-f", "/nonexistent.yml"], EXIT_USAGE, "cannot read"),
    (["mutations", "cancel", "../x"], EXIT_USAGE, "letters and digits"),
]


@pytest.mark.parametrize(
    ("args", "code", "words"), BAD_INPUT, ids=[" ".join(a[1:4]) for a, _, _ in BAD_INPUT]
)
def test_bad_input_is_one_clear_error_and_writes_nothing(
    invoke: Invoke, live: str, db: Path, args: list[str], code: int, words: str
) -> None:
    with Store(db) as store:  # make lan-1-br a forwarder so the flip is a real change
        store.conn.execute("UPDATE decky SET forwards_l3 = 1 WHERE name = 'lan-1-br'")
    before = snapshot(db)
    result = invoke(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert words in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert snapshot(db) == before


def test_a_torn_down_topology_refuses_naming_its_status(
    invoke: Invoke, pending: str, db: Path
) -> None:
    refused = invoke("teardown", pending)  # never deployed: nothing to tear down
    assert refused.exit_code == EXIT_ERROR
    assert "it was never deployed: there is nothing to tear down" in refused.stderr
    with Store(db) as store:  # retired without a deploy (SPEC §3: pending -> torn_down)
        store.transition(pending, "torn_down", reason="retired", expected_from="pending")
    result = invoke("mutate", pending, "add_lan", "name=x")
    assert result.exit_code == EXIT_ERROR
    assert "(torn_down) cannot change live now: it was torn down" in result.stderr
