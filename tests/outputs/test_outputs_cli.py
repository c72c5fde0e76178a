"""`decnet outputs …` from the user's side: clear errors (field, value, fix) that write
nothing, and secrets that never show — not in the CLI's output, the API-shaped views, the
events or the error messages."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from outputs_support import Cli, Pki, webhook
from typer.testing import CliRunner, Result

from decnet.cli.app import app
from decnet.errors import EXIT_ERROR, EXIT_USAGE

Invoke = Callable[..., Result]
KEY = "very-secret-hmac-key-0123456789"
HEADER_VALUE = "Bearer header-secret-xyz"
URL_TOKEN = "url-path-secret-abc"


@pytest.fixture
def invoke(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """`invoke("outputs", "list")` runs the CLI in-process against its own database."""
    for var in ("DECNET_DB", "DECNET_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        base = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "COLUMNS": "200", **(env or {})}
        return runner.invoke(app, ["--db", str(db), *args], env=base)

    return run


def outputs_in(db: Path) -> list[str]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM output ORDER BY name")]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["Bad_Name", "--kind", "jsonl", "--path", "x"], EXIT_USAGE, "output name 'Bad_Name'"),
        (["soc", "--kind", "kafka"], EXIT_USAGE, "--kind 'kafka' is not an output kind"),
        (["soc", "--kind", "syslog"], EXIT_USAGE, "a syslog output needs --url"),
        (["soc", "--kind", "syslog", "--url", "udp://h:514"], EXIT_USAGE,
         "syslog url 'udp://h:514' is not tcp://HOST:PORT or tls://HOST:PORT"),
        (["soc", "--kind", "syslog", "--url", "tcp://h:514", "--path", "x"], EXIT_USAGE,
         "--path is not an option of a syslog output"),
        (["soc", "--kind", "syslog", "--url", "tcp://h:514", "--facility", "lokal0"], EXIT_USAGE,
         "syslog facility 'lokal0' is unknown"),
        (["soc", "--kind", "syslog", "--url", "tls://h:6514", "--ca", "nope.pem"], EXIT_USAGE,
         "--ca"),
        (["soc", "--kind", "jsonl", "--path", "x", "--max-bytes", "lots"], EXIT_USAGE,
         "--max-bytes 'lots' is not a size"),
        (["soc", "--kind", "jsonl", "--path", "x", "--aggregate", "soon"], EXIT_USAGE,
         "aggregation window 'soon'"),
        (["soc", "--kind", "jsonl", "--path", "x", "--types", "attack;drop"], EXIT_USAGE,
         "event type pattern 'attack;drop'"),
        (["soc", "--kind", "jsonl", "--path", "x", "--since", "99"], EXIT_USAGE,
         "--since 99: no event has that id yet"),
        (["soc", "--kind", "webhook", "--url", "https://h/x"], EXIT_USAGE,
         "a webhook output needs --secret-from-file/--secret-env"),
        (["soc", "--kind", "webhook", "--url", "https://h/x", "--secret-env", "NO_SUCH_VAR"],
         EXIT_USAGE, "--secret-env 'NO_SUCH_VAR': no such environment variable"),
        (["soc", "--kind", "webhook", "--url", "https://h/x", "--secret-from-file", "nokey"],
         EXIT_USAGE, "--secret-from-file"),
    ],
)  # fmt: skip
def test_a_bad_add_says_what_and_how_and_writes_nothing(
    invoke: Invoke, db: Path, args: list[str], code: int, message: str
) -> None:
    result = invoke("outputs", "add", *args)
    assert result.exit_code == code, result.output
    assert f"error: {message}" in result.stderr or message in result.stderr
    assert "hint: " in result.stderr and "Traceback" not in result.output
    assert outputs_in(db) == []


def test_tls_files_are_checked_when_added(invoke: Invoke, db: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    result = invoke("outputs", "add", "soc", "--kind", "syslog", "--url", "tls://h:6514",
                    "--ca", str(garbage))  # fmt: skip
    assert result.exit_code == EXIT_USAGE
    assert "error: the TLS files do not load" in result.stderr and "hint: --ca takes PEM" in (
        result.stderr
    )
    assert outputs_in(db) == []


def test_a_taken_name_and_unknown_names(invoke: Invoke, db: Path) -> None:
    assert invoke("outputs", "add", "soc", "--kind", "jsonl", "--path", "a.jsonl").exit_code == 0
    again = invoke("outputs", "add", "soc", "--kind", "jsonl", "--path", "b.jsonl")
    assert again.exit_code == EXIT_ERROR and "error: output 'soc' already exists" in again.stderr
    for command in ("remove", "test"):
        missing = invoke("outputs", command, "nope")
        assert missing.exit_code == EXIT_ERROR
        assert "error: no output named 'nope'" in missing.stderr
        assert "hint: see `decnet outputs list`" in missing.stderr
    assert invoke("outputs", "run", "soc").exit_code == EXIT_USAGE  # NAME is for --once


def test_a_jsonl_output_is_added_listed_tested_and_removed(
    invoke: Invoke, db: Path, tmp_path: Path
) -> None:
    added = invoke("outputs", "add", "archive", "--kind", "jsonl", "--path", "logs/e.jsonl",
                   "--max-bytes", "1M", "--keep", "3", "--types", "attack.*,collect.*",
                   "--topology", "corp", "--aggregate", "5m", "--json")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    shown = json.loads(added.stdout)
    assert shown["target"] == str(tmp_path / "logs" / "e.jsonl")  # relative to where it ran
    assert shown["spec"]["types"] == ["attack.*", "collect.*"]
    assert (shown["spec"]["topologies"], shown["spec"]["aggregate"]) == (["corp"], 300)
    assert shown["spec"]["options"]["max_bytes"] == 1024 * 1024 and shown["state"] == "stopped"
    tested = invoke("outputs", "test", "archive")
    assert tested.exit_code == 0 and "the test event arrived" in tested.stdout
    line = json.loads((tmp_path / "logs" / "e.jsonl").read_text())
    assert (line["id"], line["type"], line["payload"]["output"]) == (0, "output.test", "archive")
    listed = invoke("outputs", "list")
    assert "archive" in listed.stdout and "attack.*,collect.* in corp per 300s" in listed.stdout
    assert invoke("outputs", "remove", "archive").exit_code == 0
    assert outputs_in(db) == []


def test_secrets_never_show(cli: Cli, db: Path, tmp_path: Path, pki: Pki) -> None:
    keyfile = tmp_path / "key"
    keyfile.write_text(KEY)
    keyfile.chmod(0o644)  # readable by others: decnet warns
    with webhook(KEY.encode(), pki=pki) as receiver:
        url = receiver.url(f"/hooks/{URL_TOKEN}?t={URL_TOKEN}")
        added = cli("outputs", "add", "hook", "--kind", "webhook", "--url", url, "--ca",
                    str(pki.ca), "--secret-from-file", str(keyfile),
                    "--header", f"Authorization: {HEADER_VALUE}")  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert "is readable by others; chmod 600 it" in added.stderr
        outputs = [added, cli("outputs", "list"), cli("outputs", "list", "--json"),
                   cli("outputs", "test", "hook", "--json"), cli("events", "--json")]  # fmt: skip
        [got] = receiver.received
    assert got.verified and got.headers["Authorization"] == HEADER_VALUE
    listed = json.loads(outputs[2].stdout)[0]
    assert listed["target"] == f"https://localhost:{receiver.port}/…"
    assert listed["spec"]["options"]["headers"] == ["Authorization"]
    assert json.loads(outputs[3].stdout)["arrived"] is True
    for result in outputs:
        text = result.stdout + result.stderr
        for secret in (KEY, HEADER_VALUE, URL_TOKEN):
            assert secret not in text
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # where the secrets are kept


def test_an_unreachable_receiver_fails_the_test_clearly(invoke: Invoke, pki: Pki) -> None:
    added = invoke("outputs", "add", "siem", "--kind", "syslog", "--url", "tls://127.0.0.1:9",
                   "--ca", str(pki.ca))  # fmt: skip
    assert added.exit_code == 0, added.stderr
    result = invoke("outputs", "test", "siem")
    assert result.exit_code == EXIT_ERROR
    assert result.stderr.startswith(
        "error: output siem: the test event did not arrive: syslog tls://127.0.0.1:9: "
        "ConnectionRefusedError"
    )
    assert "hint: check that the receiver runs" in result.stderr


def test_a_receiver_with_a_certificate_decnet_does_not_trust_is_refused(
    cli: Cli, tmp_path: Path, pki: Pki
) -> None:
    from outputs_support import rsyslog

    with rsyslog(tmp_path / "rsyslog", tls="gtls", pki=pki) as receiver:
        added = cli("outputs", "add", "siem", "--kind", "syslog", "--url", receiver.url,
                    "--ca", str(pki.other_ca))  # fmt: skip
        assert added.returncode == 0
        result = cli("outputs", "test", "siem")
        assert receiver.lines() == []
    assert result.returncode == EXIT_ERROR and "CERTIFICATE_VERIFY_FAILED" in result.stderr
