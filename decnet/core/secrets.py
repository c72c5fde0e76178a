"""Secret config values: which they are, how they are shown, how text is scrubbed of them.

`is_secret` is the one predicate every masker uses (show, export, mutation listings, plans,
validation messages, the desired hash, the scrubbing of Ansible output): a key the catalogue
flags `secret: true`, and any key decnet cannot vouch for — of a service the catalogue does
not have, or a key the service does not declare — since nothing says it is not a password.
`MASK` is what a secret is shown as; the host side shares it through
roles/decnet_host/files/contract.json (`"mask"`).

`scrub` is the one algorithm that removes secrets from text (module messages, runner events,
kept artifacts): see its docstring for the exact rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TypeVar

from decnet.models import Catalog
from decnet.text import CUT

MASK = "********"
"""What a secret value is replaced with in every output."""

PARTIAL_MIN = 4
"""Characters of a secret's beginning at the very end of a text (with no cut mark) masked as a
secret cut short; after a cut mark a single character is."""

V = TypeVar("V")


def is_secret(catalog: Catalog, service: str, key: str) -> bool:
    """Whether the value of config `key` of `service` is secret (unknown keys are)."""
    spec = catalog.services.get(service)
    param = spec.param(key) if spec is not None else None
    return param is None or param.secret


def mask_config(catalog: Catalog, service: str, values: Mapping[str, V]) -> dict[str, V | str]:
    """`values` with every secret one (not None: a null removes a key) replaced by MASK."""
    return {
        k: MASK if v is not None and is_secret(catalog, service, k) else v
        for k, v in values.items()
    }


def refuse_mask(value: V) -> V:
    """A pydantic after-validator of config values: MASK is what output shows, not a secret,
    so a client that sends a masked config back never overwrites the real value with it."""
    if value == MASK:
        raise ValueError(
            f"the value is the secret mask {MASK!r} that output shows in place of a secret: "
            "write the real value (an export with --include-secrets has it), or leave the key "
            "out to keep the stored one"
        )
    return value


# --- scrubbing --------------------------------------------------------------------------------

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_GO_ESCAPED = frozenset("<>&\u2028\u2029")
_ENCODERS = ((False, False), (True, False), (False, True))
"""(ascii_only, go) of the JSON encoders whose output may carry a secret: Python's json with
and without ensure_ascii (Ansible, ansible-runner, our module), Go's encoding/json (docker)."""


def _units(char: str) -> str:
    """`char` as JSON \\u escapes: one, or a surrogate pair above the BMP (lowercase hex)."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _json_char(char: str, *, ascii_only: bool, go: bool) -> str:
    if char in '"\\':
        return "\\" + char
    if char in _SHORT and not (go and char in "\b\f"):
        return _SHORT[char]
    if char < " " or (go and char in _GO_ESCAPED) or (ascii_only and char > "\x7f"):
        return _units(char)
    return char


def _json_escaped(text: str, *, ascii_only: bool, go: bool = False) -> str:
    return "".join(_json_char(c, ascii_only=ascii_only, go=go) for c in text)


@lru_cache(maxsize=8192)
def secret_forms(secret: str) -> tuple[str, ...]:
    """Every spelling of `secret` that may reach a text, longest first: itself; inside a JSON
    string as Python writes it (raw UTF-8 or ASCII with \\u escapes and surrogate pairs) and
    as Go writes it (docker's errors: \\u00XX controls, <>& escaped); each of those once more
    inside a JSON string (a result quoted in a JSON log line); and `$` doubled (compose)."""
    bases = {secret, secret.replace("$", "$$")}
    once = {_json_escaped(b, ascii_only=a, go=go) for b in bases for a, go in _ENCODERS}
    twice = {_json_escaped(f, ascii_only=a) for f in once for a in (False, True)}
    return tuple(sorted(bases | once | twice, key=lambda f: (-len(f), f)))


def _occurrences(text: str, form: str) -> Iterable[tuple[int, int]]:
    start = text.find(form)
    while start != -1:  # overlapping ones too: `aa` in `aaa` covers all three
        yield start, start + len(form)
        start = text.find(form, start + 1)


def _partial(body: str, form: str, shortest: int) -> int:
    """The length of the longest proper beginning of `form` (at least `shortest`) that `body`
    ends with; 0 if none."""
    tail = body[-(len(form) - 1) :] if len(form) > 1 else ""
    start = tail.find(form[0])
    while start != -1 and len(tail) - start >= shortest:
        if form.startswith(tail[start:]):
            return len(tail) - start
        start = tail.find(form[0], start + 1)
    return 0


def _covered(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans merged into maximal runs (overlapping or touching)."""
    runs: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every trace of `secrets` replaced by MASK.

    1. Each non-empty secret stands for all its forms (`secret_forms`).
    2. Every occurrence of every form is found, overlapping ones included.
    3. A text that ends with a beginning of a form (a message cut inside a secret) has that
       beginning found too: one character or more when the text ends with the cut mark `…`
       (then kept after the mask), PARTIAL_MIN characters or more at a bare end.
    4. Each maximal run of characters found (overlapping or touching occurrences) becomes one
       MASK, in one pass over the original text: the longest secret always wins over one it
       contains, a secret that overlaps another leaves no piece of either, and a MASK is never
       scanned again.
    Cut after scrubbing (`decnet.text.clip`), never before: a cut inside a secret leaves a
    beginning that rule 3 can only catch at the very end."""
    forms = {f for s in set(secrets) if s for f in secret_forms(s)}
    if not forms or not text:
        return text
    spans = [span for form in forms for span in _occurrences(text, form)]
    body = text.removesuffix(CUT)
    shortest = 1 if len(body) < len(text) else PARTIAL_MIN
    cut = max((_partial(body, form, shortest) for form in forms), default=0)
    if cut:
        spans.append((len(body) - cut, len(body)))
    out, last = [], 0
    for start, end in _covered(spans):
        out += [text[last:start], MASK]
        last = end
    return "".join([*out, text[last:]])
