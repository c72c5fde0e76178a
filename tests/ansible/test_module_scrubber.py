"""The module's scrubber (module_utils/decnet_scrub.py), imported as the module imports it: the
longest secret wins, every spelling a secret takes inside JSON (and Go's quoting) is masked,
and a cut message never keeps a secret's prefix. The masking on the real engine is tested in
tests/engine/test_host_e2e.py."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from test_contract import module_utils

scrub_ = module_utils("decnet_scrub")
MASK = module_utils("decnet_host").MASK
SECRET = 'p"w\\é😀\n<'
"""A quote, a backslash, a non-ASCII letter, a character beyond the BMP, a newline and `<`
(which Go's JSON writes as \\u003c)."""


def scrubber(*secrets: str) -> Any:
    """A scrubber whose secrets are exactly `secrets` (the values of the named variables)."""
    env = [f"      SECRET_{i}: {json.dumps(value)}" for i, value in enumerate(secrets)]
    compose = "services:\n  s:\n    environment:\n" + "\n".join(env) + "\n"
    names = [f"SECRET_{i}" for i in range(len(secrets))]
    return scrub_.Scrubber(compose, {"s": names})


def test_the_longest_secret_is_masked_whole() -> None:
    scrub = scrubber("pass", "password")
    assert scrub("password=password, pass=pass") == f"{MASK}={MASK}, {MASK}={MASK}"


def test_overlapping_secrets_become_one_mask_and_leave_nothing_of_either() -> None:
    scrub = scrubber("abcd", "cdef")
    assert scrub("xxabcdefyy") == f"xx{MASK}yy"
    assert scrub("aaa") == "aaa"
    assert scrubber("aa")("aaa") == MASK  # overlapping occurrences of one secret


def test_every_json_spelling_of_a_secret_is_masked() -> None:
    ascii_json = json.dumps(SECRET)[1:-1]
    utf8_json = json.dumps(SECRET, ensure_ascii=False)[1:-1]
    spellings = {
        "raw": SECRET,
        "ASCII JSON (surrogate pair)": ascii_json,
        "UTF-8 JSON": utf8_json,
        "uppercase hex": re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), ascii_json),
        "Go's HTML-safe JSON": utf8_json.replace("<", "\\u003c"),
        "newline as \\u000a": ascii_json.replace("\\n", "\\u000a"),
        "Go's \\x and \\U": "\\x70" + utf8_json[1:].replace("😀", "\\U0001f600"),
    }
    scrub = scrubber(SECRET)
    for what, spelled in spellings.items():
        assert scrub(f"error: {spelled} (exit 1)") == f"error: {MASK} (exit 1)", what


def test_a_json_document_holding_the_secret_keeps_its_structure() -> None:
    doc = json.dumps({"message": f"bad value {SECRET}", "code": 3})
    masked = scrubber(SECRET)(doc)
    assert json.loads(masked) == {"message": f"bad value {MASK}", "code": 3}


@given(
    secret=st.text(min_size=1, max_size=12).filter(lambda s: "#" not in s),
    ascii_only=st.booleans(),
)
def test_any_secret_in_any_json_string_is_masked(secret: str, ascii_only: bool) -> None:
    spelled = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
    assert scrubber(secret)(f"##{spelled}##") == f"##{MASK}##"


def test_a_clipped_message_keeps_no_prefix_of_a_secret() -> None:
    scrub = scrubber("hunter2-very-long")
    text = "login failed for root/hunter2-very-long on gw"
    for width in range(20, len(text) + 2):
        clipped = scrub.clip(text, width)
        assert len(clipped) <= width
        assert "root/h" not in clipped and "hunter" not in clipped, clipped
    assert scrub.clip(text, 200) == f"login failed for root/{MASK} on gw"


def test_a_message_that_arrives_cut_has_its_trailing_partial_secret_masked() -> None:
    scrub = scrubber("hunter2-very-long", "é-secret")
    assert scrub("login failed for root/hunt", cut=True) == f"login failed for root/{MASK}"
    # cut inside the JSON escape of the secret's first character
    assert scrub("value \\u00", cut=True) == f"value {MASK}"
    assert scrub("value \\u00E9-se", cut=True) == f"value {MASK}"
    # a whole text is not cut: its last letters are only a coincidence
    assert scrub("login failed for root/hunt") == "login failed for root/hunt"
    assert scrub("nothing secret here", cut=True) == "nothing secret here"


def test_compose_dollar_escapes_are_secrets_both_ways() -> None:
    scrub = scrubber("p$$w")  # as the compose file writes p$w
    assert scrub("p$w and p$$w") == f"{MASK} and {MASK}"
