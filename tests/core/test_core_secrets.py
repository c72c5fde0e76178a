"""Secrets: the one predicate, the one mask, and the scrubbing of text (pure).

The scrubbing properties are checked against the real encoders that put secrets into the text
decnet scrubs: Python's json (Ansible, ansible-runner, our module) with and without
ensure_ascii, nested once (a result quoted inside a JSON log line), and Go's encoding/json
spelling of docker's errors (written out by hand: no Go here).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decnet.core.catalog import load_catalog
from decnet.core.ops import mask_ops
from decnet.core.secrets import (
    MASK,
    PARTIAL_MIN,
    is_secret,
    mask_config,
    scrub,
    secret_forms,
)
from decnet.core.topofile import mask_secrets
from decnet.engine.secrets import secret_values
from decnet.models import Decky, Membership, Topology
from decnet.settings import PROJECT_ROOT
from decnet.text import CUT, clip

CATALOG = load_catalog()

SECRET_CHARS = 'abcé😀"\\\n\x01<&$'
"""Characters of the generated secrets: plain, non-ASCII (BMP and astral), and every kind the
encoders escape; the surrounding text never holds one of them, so any that survives leaked."""
OTHER_CHARS = "xyz ,:{}[]"
secrets_ = st.text(alphabet=SECRET_CHARS, min_size=1, max_size=12)
others = st.text(alphabet=OTHER_CHARS, max_size=30)


def _inside(text: str, ascii_only: bool = True) -> str:
    """`text` as it stands inside a JSON string (without the quotes)."""
    return json.dumps(text, ensure_ascii=ascii_only)[1:-1]


ENCODERS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json-utf8": lambda s: _inside(s, ascii_only=False),
    "json-ascii": _inside,
    "json-nested": lambda s: _inside(_inside(s, ascii_only=False), ascii_only=False),
    "json-nested-ascii": lambda s: _inside(_inside(s)),
    "compose": lambda s: s.replace("$", "$$"),
}


def _leaked(out: str, secret: str) -> bool:
    return any(c in out for c in secret)


# --- the predicate and the mask ---------------------------------------------------------------


def test_a_key_is_secret_when_flagged_or_unknown() -> None:
    assert is_secret(CATALOG, "ssh", "password")
    assert not is_secret(CATALOG, "ssh", "banner")
    assert is_secret(CATALOG, "ssh", "no-such-key")  # nothing vouches for it
    assert is_secret(CATALOG, "no-such-service", "banner")


def test_every_masker_follows_the_predicate() -> None:
    config = {"password": "pw", "banner": "b", "retired_key": "old-secret"}
    assert mask_config(CATALOG, "ssh", config) == {
        "password": MASK,
        "banner": "b",
        "retired_key": MASK,
    }
    op = {"op": "update_decky", "name": "a", "config": {"ssh": {**config, "hostname": None}}}
    assert mask_ops([op], CATALOG)[0]["config"]["ssh"] == {
        "password": MASK,
        "banner": "b",
        "retired_key": MASK,
        "hostname": None,  # a removal shows as such
    }
    decky = Decky(
        name="a",
        home_lan="l",
        memberships=[Membership(lan="l")],
        services=["ssh", "gone"],
        service_config={"ssh": config, "gone": {"anything": "x"}},
    )
    shown = mask_secrets(Topology(name="t", deckies=[decky]), CATALOG).deckies[0]
    assert shown.service_config == {
        "ssh": {"password": MASK, "banner": "b", "retired_key": MASK},
        "gone": {"anything": MASK},
    }
    t = Topology(name="t", deckies=[decky])
    assert secret_values([t], CATALOG) == {"pw", "old-secret", "x"}


def test_the_host_contract_carries_the_mask() -> None:
    contract = json.loads((PROJECT_ROOT / "roles/decnet_host/files/contract.json").read_text())
    assert contract["mask"] == MASK


def test_a_secret_shown_in_a_validation_message_is_masked() -> None:
    from decnet.core.validate import validate

    decky = Decky(
        name="a",
        home_lan="l",
        memberships=[Membership(lan="l")],
        services=["ssh"],
        service_config={"ssh": {"password": 123456789}},
    )
    issues = [i for i in validate(Topology(name="t", deckies=[decky]), CATALOG) if "ssh" in i.path]
    assert [i.code for i in issues] == ["SERVICE_CONFIG_INVALID"]
    assert MASK in issues[0].message and "123456789" not in issues[0].message


# --- scrubbing --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(secrets_, min_size=1, max_size=3), others, others, st.sampled_from(list(ENCODERS)))
def test_no_character_of_a_secret_survives_in_any_encoding(
    secrets: list[str], before: str, after: str, encoder: str
) -> None:
    text = before + "".join(ENCODERS[encoder](s) + "," for s in secrets) + after
    out = scrub(text, secrets)
    assert not any(_leaked(out, s) for s in secrets), (text, out)
    assert out.startswith(before)  # what is no secret stays


@settings(max_examples=300, deadline=None)
@given(secrets_, others, others, st.integers(min_value=1, max_value=80))
def test_scrub_then_clip_never_leaves_a_secrets_beginning(
    secret: str, before: str, after: str, width: int
) -> None:
    out = clip(scrub(before + secret + after, [secret]), width)
    assert not _leaked(out, secret)


@settings(max_examples=300, deadline=None)
@given(secrets_, others, st.sampled_from(list(ENCODERS)), st.data())
def test_a_text_cut_inside_a_secret_leaves_no_beginning(
    secret: str, before: str, encoder: str, data: st.DataObject
) -> None:
    form = ENCODERS[encoder](secret)
    keep = data.draw(st.integers(min_value=1, max_value=len(form)))
    out = scrub(before + form[:keep] + CUT, [secret])  # cut elsewhere (the host module)
    assert out == before + MASK + CUT


@given(others, st.lists(secrets_, max_size=3))
def test_text_without_secrets_is_unchanged(text: str, secrets: list[str]) -> None:
    assert scrub(text, secrets) == text
    assert scrub(text + CUT, secrets) == text + CUT


def test_a_bare_end_needs_partial_min_characters_of_a_secret() -> None:
    secret = "hunter2-long"
    short, long = secret[: PARTIAL_MIN - 1], secret[:PARTIAL_MIN]
    assert scrub(f"exit code {short}", [secret]) == f"exit code {short}"
    assert scrub(f"exit code {long}", [secret]) == f"exit code {MASK}"
    assert scrub(f"exit code {secret[:1]}{CUT}", [secret]) == f"exit code {MASK}{CUT}"


def test_the_longest_secret_wins_and_overlaps_leave_nothing() -> None:
    assert scrub("pw=password1;", ["pass", "password1"]) == f"pw={MASK};"
    assert scrub("abcdef", ["abcd", "cdef"]) == MASK
    assert scrub("aaaa", ["aa"]) == MASK
    assert scrub("a b", ["a", "b"]) == f"{MASK} {MASK}"
    # one pass over the original: a mask next to text is never read as a secret
    assert scrub("x*", ["x", "***"]) == f"{MASK}*"


def test_the_forms_include_go_and_nested_json() -> None:
    forms = secret_forms('p<"é😀\x02')
    assert 'p\\u003c\\"é😀\\u0002' in forms  # Go: <>& and controls as \u00XX, UTF-8 raw
    assert _inside('p<"é😀\x02') in forms  # \u00e9, surrogate pair \ud83d\ude00
    assert _inside(_inside('p<"é😀\x02')) in forms
    assert secret_forms("plain") == ("plain",)


def test_scrubbing_is_linear_enough_for_artifacts() -> None:
    """A 1 MB artifact with 500 secrets scrubs (a smoke check of the find loop, no timing)."""
    secrets = [f"s3cret-{i:04d}" for i in range(500)]
    text = ("noise " * 1000 + secrets[7] + "\n") * 150
    out = scrub(text, secrets)
    assert secrets[7] not in out and out.count(MASK) == 150


def test_scrub_tree_masks_every_kept_file(tmp_path: Path) -> None:
    from decnet.runner.ansible import scrub_tree

    (tmp_path / "a").mkdir()
    event = tmp_path / "a" / "1-event.json"
    event.write_text(json.dumps({"stdout": json.dumps({"msg": "pw é😀 here"})}))
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    assert scrub_tree(tmp_path, ["pw é😀"]) == 1
    assert "pw" not in event.read_text() and MASK in event.read_text()


@pytest.mark.parametrize("cut_at", [5, 9, 11])
def test_the_runner_scrubs_before_it_cuts(cut_at: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from decnet.runner import ansible

    monkeypatch.setattr(ansible, "MESSAGE_LIMIT", cut_at)
    job = ansible.PlaybookJob("deploy.yml", Path("i"), Path("d"), secrets=frozenset({"hunter2"}))
    seen: list[ansible.RunnerEvent] = []
    collector = ansible._Collector(job, seen.append)
    collector(
        {"event": "runner_on_failed", "event_data": {"host": "h", "res": {"msg": "pw: hunter2"}}}
    )
    assert seen[0].msg.endswith(CUT) and not any(
        seen[0].msg[:-1].endswith("hunter2"[:k]) for k in range(1, 8)
    )
