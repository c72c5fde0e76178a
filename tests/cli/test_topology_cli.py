"""`decnet topology …` through the real typer app: round trip, errors, exit codes, no writes on
rejection."""

from __future__ import annotations

import json
import stat
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cli_support import Invoke, snapshot
from typer.testing import Result

from decnet.core.secrets import MASK
from decnet.errors import EXIT_USAGE

GOOD_FILE = textwrap.dedent(
    """\
    name: handmade
    lans:
      - {name: dmz, dmz: true}
      - {name: office}
    deckies:
      - name: gw
        home: dmz
        services: [ssh, http]
        config: {ssh: {banner: "SSH-2.0-OpenSSH_9.2", password: hunter2}}
        publish: ["2222:22"]
      - name: br
        home: office
        archetype: linux-server
        forwards_l3: true
        attach: [dmz]
    """
)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def write(tmp_path: Path, text: str, name: str = "t.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def assert_clean_error(result: Result, code: int, *needles: str) -> None:
    """One `error:` line and one `hint:` line on stderr, no traceback, nothing on stdout."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_generate_list_show_export_delete_create_round_trip(invoke: Invoke, tmp_path: Path) -> None:
    ok(invoke("topology", "generate", "corp", "--depth", "3", "--seed", "7", "--cross-p", "0.5"))
    listed = as_json(invoke("topology", "list", "--json"))
    assert [(t["name"], t["status"], t["version"]) for t in listed] == [("corp", "pending", 1)]
    shown = as_json(invoke("topology", "show", "corp", "--json"))
    for key in ("name", "status", "version", "host", "desired_hash", "lans", "deckies"):
        assert key in shown
    assert shown["config"]["seed"] == 7 and len(shown["desired_hash"]) == 64

    exported = ok(invoke("topology", "export", "corp")).stdout
    ok(invoke("topology", "delete", "corp"))
    assert as_json(invoke("topology", "list", "--json")) == []
    ok(invoke("topology", "create", "-f", write(tmp_path, exported)))

    again = as_json(invoke("topology", "show", "corp", "--json"))
    assert again["desired_hash"] == shown["desired_hash"]
    assert again["lans"] == shown["lans"] and again["deckies"] == shown["deckies"]
    assert again["config"] == {}  # generator parameters are not part of a file


def test_generate_is_deterministic_and_avoids_subnets_on_the_same_host(invoke: Invoke) -> None:
    first = as_json(invoke("topology", "generate", "one", "--seed", "1", "--json"))
    assert first["name"] == "one" and first["status"] == "pending"
    ok(invoke("topology", "generate", "two", "--seed", "1"))
    ok(invoke("topology", "generate", "three", "--seed", "1", "--host", "other"))

    def subnets(name: str) -> set[str]:
        return {
            lan["subnet"] for lan in as_json(invoke("topology", "show", name, "--json"))["lans"]
        }

    assert not subnets("one") & subnets("two")
    assert subnets("one") == subnets("three")  # another host: the same subnets are free


def test_create_allocates_open_values_and_masks_secrets(invoke: Invoke, tmp_path: Path) -> None:
    created = as_json(invoke("topology", "create", "-f", write(tmp_path, GOOD_FILE), "--json"))
    assert created == {
        "name": "handmade", "version": 1, "status": "pending", "host": "localhost",
        "lans": 2, "deckies": 2,
    }  # fmt: skip
    shown = as_json(invoke("topology", "show", "handmade", "--json"))
    assert all(lan["subnet"] for lan in shown["lans"])
    assert all(m["ip"] for d in shown["deckies"] for m in d["memberships"])
    assert shown["deckies"][0]["service_config"]["ssh"]["password"] == MASK
    assert shown["deckies"][1]["services"] == ["ssh", "http"]  # from the archetype
    assert "hunter2" not in ok(invoke("topology", "show", "handmade")).stdout


def test_masked_export_warns_and_is_refused_by_create(invoke: Invoke, tmp_path: Path) -> None:
    ok(invoke("topology", "create", "-f", write(tmp_path, GOOD_FILE)))
    masked = ok(invoke("topology", "export", "handmade"))
    assert "hunter2" not in masked.stdout and MASK in masked.stdout
    assert "warning: secret values are masked" in masked.stderr
    ok(invoke("topology", "delete", "handmade"))
    before = snapshot_of(invoke, tmp_path)
    result = invoke("topology", "create", "-f", write(tmp_path, masked.stdout, "m.yml"))
    assert_clean_error(result, 1, "deckies[0].config.ssh.password", "secret mask")
    assert snapshot_of(invoke, tmp_path) == before


def snapshot_of(invoke: Invoke, tmp_path: Path) -> list[str]:
    return snapshot(tmp_path / "decnet.db")


def test_export_with_secrets_round_trips_to_a_private_file(invoke: Invoke, tmp_path: Path) -> None:
    ok(invoke("topology", "create", "-f", write(tmp_path, GOOD_FILE)))
    digest = as_json(invoke("topology", "show", "handmade", "--json"))["desired_hash"]
    out = tmp_path / "export.yml"
    result = ok(invoke("topology", "export", "handmade", "-o", str(out), "--include-secrets"))
    assert result.stdout == "" and "hunter2" in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    ok(invoke("topology", "delete", "handmade"))
    ok(invoke("topology", "create", "-f", str(out)))
    assert as_json(invoke("topology", "show", "handmade", "--json"))["desired_hash"] == digest


def test_validate_stored_and_file(invoke: Invoke, tmp_path: Path) -> None:
    ok(invoke("topology", "generate", "corp"))
    assert as_json(invoke("topology", "validate", "corp", "--json")) == []
    assert "no problems" in ok(invoke("topology", "validate", "corp")).stdout
    assert as_json(invoke("topology", "validate", "-f", write(tmp_path, GOOD_FILE), "--json")) == []


def test_validate_lists_every_issue_and_exits_1(invoke: Invoke, tmp_path: Path) -> None:
    bad = GOOD_FILE.replace("{name: office}", "{name: office, dmz: true}").replace(
        "[ssh, http]", "[ssh, htp]"
    )
    path = write(tmp_path, bad)
    result = invoke("topology", "validate", "-f", path, "--json")
    assert result.exit_code == 1
    codes = {issue["code"] for issue in json.loads(result.stdout)}
    assert {"DMZ_MULTIPLE", "SERVICE_UNKNOWN"} <= codes
    table = invoke("topology", "validate", "-f", path)
    assert (
        table.exit_code == 1
        and "DMZ_MULTIPLE" in table.stdout
        and "SERVICE_UNKNOWN" in table.stdout
    )


def test_validate_file_against_live_topologies_on_the_host(invoke: Invoke, tmp_path: Path) -> None:
    ok(invoke("topology", "generate", "corp"))
    dmz = as_json(invoke("topology", "show", "corp", "--json"))["lans"][0]["subnet"]
    clash = GOOD_FILE.replace("{name: dmz, dmz: true}", f"{{name: dmz, dmz: true, subnet: {dmz}}}")
    result = invoke("topology", "validate", "-f", write(tmp_path, clash), "--json")
    assert result.exit_code == 1
    assert "SUBNET_OVERLAP" in {i["code"] for i in json.loads(result.stdout)}


@pytest.mark.parametrize(
    ("text", "where", "needle"),
    [
        ("name: a\nlans: [x\ndeckies: []\n", "t.yml:3:", "invalid YAML"),
        ("name: a\ndeckies:\n  - name: x\n    home: d\n    servics: [ssh]\n", "t.yml:5:5:",
         "deckies[0].servics: unknown key (did you mean 'services'?)"),
        ("name: a\ndeckies:\n  - name: x\n    home: d\n    forwards_l3: maybe\n", "t.yml:5:18:",
         "deckies[0].forwards_l3: expected true or false, got 'maybe'"),
        ("name: a\nname: b\n", "t.yml:2:1:", "name: duplicate key"),
    ],
)  # fmt: skip
def test_validate_file_errors_name_line_and_field(
    invoke: Invoke, tmp_path: Path, text: str, where: str, needle: str
) -> None:
    result = invoke("topology", "validate", "-f", write(tmp_path, text))
    assert_clean_error(result, 1, where, needle)


def test_graph_formats(invoke: Invoke) -> None:
    ok(invoke("topology", "generate", "corp"))
    mermaid = ok(invoke("topology", "graph", "corp")).stdout
    dot = ok(invoke("topology", "graph", "corp", "--format", "dot")).stdout
    assert "dmz" in mermaid and "dmz" in dot and mermaid != dot
    assert invoke("topology", "graph", "corp", "--format", "png").exit_code == EXIT_USAGE


def test_delete_with_expected_version(invoke: Invoke) -> None:
    ok(invoke("topology", "generate", "corp"))
    assert_clean_error(
        invoke("topology", "delete", "corp", "--expected-version", "5"), 1, "version"
    )
    ok(invoke("topology", "delete", "corp", "--expected-version", "1"))


LONG = "a" * 64


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["topology", "generate", "bad;name"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "generate", "--", "-dash"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "generate", "a/b"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "generate", "Upper"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "generate", "x: y"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "generate", LONG], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "generate", "abc\n"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "generate", "x", "--host", "web01\n"], EXIT_USAGE, "host 'web01\\n'"),
        (["topology", "generate", "corp"], 1, "already exists"),
        (["topology", "generate", "x", "--services", "ssh,sshh"], 1, "SERVICE_UNKNOWN"),
        (["topology", "generate", "x", "--host", "../etc"], EXIT_USAGE, "host '../etc'"),
        (["topology", "generate", "x", "--host", "_x"], EXIT_USAGE, "host '_x'"),
        (["topology", "generate", "x", "--depth", "99"], EXIT_USAGE, "--depth 99"),
        (["topology", "generate", "x", "--deckies", "5-2"], EXIT_USAGE, "deckies_min"),
        (["topology", "generate", "x", "--publish", "22"], 1, "PUBLISH_INVALID"),
        (["topology", "show", "nope"], 1, "nope"),
        (["topology", "show", "bad;name"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "show", "corp\n"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "delete", "nope"], 1, "nope"),
        (["topology", "delete", "a/b"], EXIT_USAGE, "NAME_INVALID"),
        (["topology", "export", "nope"], 1, "nope"),
        (["topology", "validate", "nope"], 1, "nope"),
        (["topology", "validate"], EXIT_USAGE, "NAME or -f"),
        (["topology", "create", "-f", "/nonexistent/x.yml"], EXIT_USAGE, "cannot read"),
    ],
)
def test_rejected_commands_print_cause_and_hint_and_write_nothing(
    invoke: Invoke, db: Path, args: list[str], code: int, needle: str
) -> None:
    ok(invoke("topology", "generate", "corp"))
    before = snapshot(db)
    assert_clean_error(invoke(*args), code, needle)
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "text",
    [
        GOOD_FILE.replace("name: handmade", "name: corp"),  # duplicate topology name
        GOOD_FILE.replace("name: handmade", "name: Bad_Name"),  # NAME_INVALID
        GOOD_FILE.replace("{name: office}", "{name: office, dmz: true}"),  # DMZ_MULTIPLE
        GOOD_FILE.replace("home: office", "home: nowhere"),  # DECKY_NO_LAN
        GOOD_FILE.replace("services: [ssh, http]", "servics: [ssh, http]"),  # unknown key
        GOOD_FILE.replace("forwards_l3: true", "forwards_l3: 3"),  # wrong type
        "name: x\nlans: [\n",  # YAML syntax
    ],
)
def test_rejected_create_writes_nothing(
    invoke: Invoke, db: Path, tmp_path: Path, text: str
) -> None:
    ok(invoke("topology", "generate", "corp"))
    before = snapshot(db)
    result = invoke("topology", "create", "-f", write(tmp_path, text))
    assert_clean_error(result, 1)
    assert snapshot(db) == before


def test_create_clashing_with_a_live_subnet_writes_nothing(
    invoke: Invoke, db: Path, tmp_path: Path
) -> None:
    ok(invoke("topology", "generate", "corp"))
    dmz = as_json(invoke("topology", "show", "corp", "--json"))["lans"][0]["subnet"]
    clash = GOOD_FILE.replace("{name: dmz, dmz: true}", f"{{name: dmz, dmz: true, subnet: {dmz}}}")
    before = snapshot(db)
    assert_clean_error(
        invoke("topology", "create", "-f", write(tmp_path, clash)), 1, "SUBNET_OVERLAP"
    )
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "args",
    [
        ["topology", "generate"],  # missing NAME
        ["topology", "generate", "x", "--deckies", "3"],  # not MIN-MAX
        ["topology", "generate", "x", "--depth", "two"],
        ["topology", "list", "--bogus"],
        ["topology", "nosuchcommand"],
        ["nosuchgroup"],
        ["--bogus", "topology", "list"],  # the root's own options
        ["topology"],  # a group without a command: its help, as a usage error
        ["render", "--out"],  # an option without its value
        ["status", "a", "b"],  # one argument too many
    ],
)
def test_usage_errors_exit_64(invoke: Invoke, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == EXIT_USAGE == 64, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


def test_endless_or_oversized_input_is_refused_not_read_forever(
    invoke: Invoke, db: Path, tmp_path: Path
) -> None:
    ok(invoke("topology", "generate", "corp"))
    before = snapshot(db)
    assert_clean_error(invoke("topology", "create", "-f", "/dev/zero"), 1, "over 64 MiB")
    sparse = tmp_path / "huge.yml"
    with sparse.open("wb") as handle:
        handle.truncate(65 * 2**20)
    assert_clean_error(invoke("topology", "validate", "-f", str(sparse)), 1, "over 64 MiB")
    latin = tmp_path / "latin1.yml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    assert_clean_error(invoke("topology", "create", "-f", str(latin)), 1, "not UTF-8")
    assert snapshot(db) == before


@pytest.mark.parametrize("tag", ["!!int", "!!bool", "!!timestamp", "!!float", "!!binary"])
def test_tagged_secrets_are_clean_errors_that_do_not_show_the_secret(
    invoke: Invoke, tmp_path: Path, tag: str
) -> None:
    text = GOOD_FILE.replace("password: hunter2", f"password: {tag} hunter2")
    for command in ("create", "validate"):
        result = invoke("topology", command, "-f", write(tmp_path, text))
        assert_clean_error(result, 1, "t.yml:9:", "deckies[0].config.ssh.password")
        assert "hunter2" not in result.stderr


def test_non_finite_canvas_values_are_refused_by_name(invoke: Invoke, tmp_path: Path) -> None:
    text = GOOD_FILE.replace("{name: office}", "{name: office, canvas: {x: .inf, y: .nan}}")
    result = invoke("topology", "create", "-f", write(tmp_path, text))
    assert_clean_error(result, 1, "lans[1].canvas.x", "finite number")
    finite = GOOD_FILE.replace("{name: office}", "{name: office, canvas: {x: 1.0e+6, y: -2.5}}")
    ok(invoke("topology", "create", "-f", write(tmp_path, finite)))
    shown = json.loads(ok(invoke("topology", "show", "handmade", "--json")).stdout)
    assert shown["lans"][1]["x"] == 1e6
