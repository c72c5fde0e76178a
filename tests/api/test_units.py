"""Pure parts of the API layer: the HTTP status table, one-time secrets, bind parsing,
settings, the stream's opening decision (no server needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from decnet import errors
from decnet.api.credentials import OneTimeSecrets
from decnet.api.server import parse_bind
from decnet.errors import UsageError
from decnet.settings import Settings, parse_duration


def _tree() -> set[type[errors.DecnetError]]:
    """decnet/errors.py's classes (a module's own subclass, such as TestbedBusy, is not one)."""
    subclasses = set()
    stack = [errors.DecnetError]
    while stack:
        cls = stack.pop()
        subclasses.add(cls)
        stack.extend(cls.__subclasses__())
    return {c for c in subclasses if c.__module__ == "decnet.errors"}


def test_every_exception_has_one_http_status_and_code() -> None:
    expected = {
        errors.DecnetError: 400, errors.UsageError: 400, errors.InvalidRequest: 422,
        errors.NotFound: 404, errors.AlreadyExists: 409, errors.InvalidTopology: 400,
        errors.TopologyFileError: 422, errors.VersionConflict: 409,
        errors.IllegalTransition: 409, errors.NotEditable: 409, errors.Busy: 409,
        errors.AllocationError: 409, errors.EnvironmentProblem: 503, errors.RunFailed: 500,
        errors.StoreError: 503, errors.InvalidBatch: 400, errors.Conflict: 409,
        errors.InternalError: 500,
        errors.Unauthorized: 401, errors.Forbidden: 403, errors.PayloadTooLarge: 413,
        errors.TooManyRequests: 429, errors.MisdirectedRequest: 421,
        errors.RequestTimeout: 408,
    }  # fmt: skip
    assert _tree() == set(expected)
    for cls, status in expected.items():
        assert cls.http_status == status, cls
    codes = [c.code for c in expected]
    assert len(codes) == len(set(codes)), "error codes must be distinct"


def test_the_status_table_of_docs_api_lists_every_error_code() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    table = text[text.index("| status | code | when |") :].split("\n\n")[0]
    documented: dict[str, int] = {}
    for row in table.splitlines()[2:]:
        status, codes = row.split("|")[1:3]
        documented |= {c: int(status) for c in re.findall(r"`([a-z_]+)`", codes)}
    tree = {c.code: c.http_status for c in _tree() if c is not errors.DecnetError}
    assert documented == tree


def test_error_details_carry_their_data() -> None:
    conflict = errors.VersionConflict("corp", 3, 2)
    assert conflict.details() == {"current": 3, "expected": 2}
    bad = errors.InvalidRequest("x", field="body.depth")
    assert bad.field == "body.depth" and bad.exit_code == errors.EXIT_USAGE


def test_one_time_secrets_work_once_and_expire() -> None:
    now = [100.0]
    book: OneTimeSecrets[str] = OneTimeSecrets(60, clock=lambda: now[0])
    first, second = book.issue("a"), book.issue("b")
    assert first != second and len(first) >= 43
    assert book.redeem(first) == "a" and book.redeem(first) is None
    now[0] += 61
    assert book.redeem(second) is None  # expired
    assert book.redeem("") is None and book.redeem("x" * 1000) is None
    assert not book._items  # expired ones are not kept forever
    book.issue("c")
    assert len(book._items) == 1


@pytest.mark.parametrize(
    ("text", "host", "port", "loopback"),
    [
        ("127.0.0.1:8400", "127.0.0.1", 8400, True),
        ("localhost:0", "localhost", 0, True),
        ("[::1]:9000", "::1", 9000, True),
        ("0.0.0.0:80", "0.0.0.0", 80, False),
        ("10.1.2.3:8400", "10.1.2.3", 8400, False),
    ],
)
def test_bind_parsing(text: str, host: str, port: int, loopback: bool) -> None:
    bind = parse_bind(text)
    assert (bind.host, bind.port, bind.loopback) == (host, port, loopback)
    assert bind.url(1).startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:",
                                   "http://10.1.2.3:"))  # fmt: skip


@pytest.mark.parametrize("text", ["8400", "127.0.0.1", "127.0.0.1:99999", "a b:1", ":80", ""])
def test_bad_binds_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--bind"):
        parse_bind(text)


def test_settings_of_the_api_and_retention() -> None:
    s = Settings.from_env(
        {"HOME": "/x", "DECNET_EVENT_RETENTION": "12h", "DECNET_API_MAX_BODY": "1000",
         "DECNET_API_CORS_ORIGINS": "http://127.0.0.1:5173, https://editor.example:8443",
         "DECNET_API_STREAMS_PER_TOKEN": "4",
         "DECNET_API_HOSTS": "Decnet.Example., 10.0.0.5:8400, [fd00::1]:80"}
    )  # fmt: skip
    assert s.event_retention.total_seconds() == 12 * 3600
    assert s.api_max_body == 1000 and s.api_streams_per_token == 4
    assert s.api_cors_origins == ("http://127.0.0.1:5173", "https://editor.example:8443")
    assert s.api_hosts == {("decnet.example", None), ("10.0.0.5", 8400), ("fd00::1", 80)}
    default = Settings.from_env({"HOME": "/x"})
    assert default.event_retention.days == 30 and default.api_cors_origins == ()
    bad = [
        {"DECNET_API_CORS_ORIGINS": "*"},
        {"DECNET_API_MAX_BODY": "-1"},
        {"DECNET_EVENT_RETENTION": "0d"},
        {"DECNET_API_STREAMS_PER_TOKEN": "lots"},
        {"DECNET_API_HOSTS": "http://decnet.example"},
        {"DECNET_API_HOSTS": "decnet.example:99999"},
    ]
    for env in bad:
        with pytest.raises(UsageError):
            Settings.from_env({"HOME": "/x", **env})
    assert parse_duration("2w").days == 14 and parse_duration(" 90s ").seconds == 90
