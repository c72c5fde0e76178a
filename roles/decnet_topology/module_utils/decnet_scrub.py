# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""Masking of secret values in every text that leaves decnet_compose_project.

The rules (the controller's scrubber follows the same ones):
- a secret is masked however it is spelled inside a quoted string: as itself (raw UTF-8), with
  JSON's escapes (`\\"`, `\\\\`, `\\/`, `\\n`, any character as `\\uXXXX`, beyond the BMP as a
  surrogate pair, hex in either case) and with Go's (`\\xNN`, `\\UXXXXXXXX`, `\\a`, `\\v`):
  docker and compose are Go programs that quote values in their errors;
- the longest secret wins: every occurrence of every secret is found, overlapping ones too, and
  each stretch they cover becomes one mask (a secret inside a longer one never splits it);
- a text is masked before it is cut (`clip`); a text that arrives cut (`cut=True`) also gets a
  trailing partial secret masked, so the cut never leaves a secret's prefix.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import contextlib
import json
import re
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_host import MASK

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ansible.module_utils.decnet_host import Doc

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",  # Go only
    "\v": "\\v",  # Go only
}
_HEX_LETTERS = "abcdef"


def env_entries(content: str) -> list[tuple[str, str]]:
    """(name, value) of every `environment:` entry of a compose text (where secrets live).

    Read before `docker compose config` parses the file, since its errors may quote values."""
    found: list[tuple[str, str]] = []
    env_indent: int | None = None
    for line in content.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if env_indent is not None and indent <= env_indent:
            env_indent = None
        if env_indent is None:
            if re.match(r"^[\"']?environment[\"']?\s*:\s*$", stripped):
                env_indent = indent
            continue
        entry = _env_entry(stripped)
        if entry is not None:
            found.append(entry)
    return found


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] == '"':
            with contextlib.suppress(ValueError):
                inner = str(json.loads(text))
        return inner
    return text


def _env_entry(entry: str) -> tuple[str, str] | None:
    if entry.startswith("- "):
        item = _unquote(entry[2:])
        key, sep, value = item.partition("=")
        return (key, value) if sep else None
    match = re.match(r"^(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^:]+):\s*(.*)$", entry)
    if not match:
        return None
    return _unquote(match.group(1)), _unquote(match.group(2))


def spellings(char: str) -> list[tuple[str, bool]]:
    """Every way `char` is written inside a quoted string, each with whether it is a hex escape
    (written here in lowercase; its hex digits match in either case)."""
    code = ord(char)
    forms = [(char, False)]
    if char in _ESCAPES:
        forms.append((_ESCAPES[char], False))
    if code > 0xFFFF:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append((f"\\u{high:04x}\\u{low:04x}", True))
    else:
        forms.append((f"\\u{code:04x}", True))
    if code < 0x80:
        forms.append((f"\\x{code:02x}", True))
    forms.append((f"\\U{code:08x}", True))
    return forms


def _length(spelling: tuple[str, bool]) -> int:
    return -len(spelling[0])


def _form_pattern(form: str, hexed: bool) -> str:
    if not hexed:
        return re.escape(form)
    return "".join(f"[{c}{c.upper()}]" if c in _HEX_LETTERS else re.escape(c) for c in form)


def secret_pattern(secret: str) -> re.Pattern[str]:
    """Finds every occurrence of `secret` in any spelling, overlapping ones too (a lookahead:
    group 1 is the occurrence). The longer spellings of a character are tried first: `\\\\`
    is one escaped backslash, not a raw one followed by a stray one."""
    chars = (
        "(?:" + "|".join(_form_pattern(*f) for f in sorted(spellings(c), key=_length)) + ")"
        for c in secret
    )
    return re.compile("(?=(" + "".join(chars) + "))")


def _same(text: str, form: str, hexed: bool) -> bool:
    if not hexed:
        return text == form
    return all(t == f or (f in _HEX_LETTERS and t == f.upper()) for t, f in zip(text, form))


def _is_partial(rest: str, secret: str) -> bool:
    """Whether `rest` (not empty) is how some spelling of `secret` begins: it ends inside the
    secret, maybe inside the escape of one of its characters."""
    todo = [(0, 0)]
    while todo:
        pos, index = todo.pop()
        if index == len(secret):
            continue
        tail = rest[pos:]
        for form, hexed in spellings(secret[index]):
            size = min(len(form), len(tail))
            if not _same(tail[:size], form[:size], hexed):
                continue
            if len(tail) <= len(form):
                return True
            todo.append((pos + len(form), index + 1))
    return False


def _longest_spelling(secret: str) -> int:
    return sum(max(len(form) for form, _ in spellings(c)) for c in secret)


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each stretch the spans cover (merged where they overlap or touch) replaced by
    one mask."""
    out: list[str] = []
    done = 0
    for start, end in sorted(spans):
        if start > done:
            out.append(text[done:start])
            out.append(MASK)
        elif not out:
            out.append(MASK)
        done = max(done, end)
    out.append(text[done:])
    return "".join(out)


class Scrubber:
    """Masks secret values in any text before it leaves the module (see the rules above).

    With `secret_env` ({compose service: [env names]}) exactly those values are secret, whatever
    their length; without it (an old or hand-made bundle) every environment value of 3+
    characters is, as a precaution."""

    def __init__(self, content: str, secret_env: Mapping[str, Sequence[str] | None] | None) -> None:
        self.secret_env: dict[str, set[str]] | None = None
        if secret_env is not None:
            self.secret_env = {str(k): {str(n) for n in (v or [])} for k, v in secret_env.items()}
        names: set[str] | None = None
        if self.secret_env is not None:
            names = set().union(*self.secret_env.values())
        self.values: list[str] = []
        """The secret values, longest first."""
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._add(v for k, v in env_entries(content) if names is None or k in names)

    def add_config(self, config: Doc) -> None:
        found: list[object] = []
        for svc, spec in (config.get("services") or {}).items():
            env = spec.get("environment") or {}
            if self.secret_env is None:
                found += env.values()
            else:
                found += [env.get(n) for n in self.secret_env.get(svc, ())]
        self._add(v for v in found if isinstance(v, str))

    def _add(self, values: Iterable[str]) -> None:
        more = set(self.values)
        for value in values:
            if not value or (self.secret_env is None and len(value) < 3):
                continue
            more.update({value, value.replace("$$", "$")})
        self.values = sorted((v for v in more if v), key=len, reverse=True)

    def _pattern(self, secret: str) -> re.Pattern[str]:
        if secret not in self._patterns:
            self._patterns[secret] = secret_pattern(secret)
        return self._patterns[secret]

    def __call__(self, text: str, cut: bool = False) -> str:
        """`text` with every secret masked; `cut`: the text was cut at its end, so a secret's
        beginning there is masked too."""
        spans = [
            (m.start(), m.start() + len(m.group(1)))
            for secret in self.values
            for m in self._pattern(secret).finditer(text)
        ]
        if cut:
            spans += [(start, len(text)) for start in self._partial_starts(text)]
        return _masked(text, spans) if spans else text

    def _partial_starts(self, text: str) -> list[int]:
        starts: list[int] = []
        for secret in self.values:
            # a partial spelling is shorter than the longest whole one
            for start in range(max(0, len(text) - _longest_spelling(secret)), len(text)):
                if _is_partial(text[start:], secret):
                    starts.append(start)
                    break
        return starts

    def clip(self, text: str, width: int) -> str:
        """`text` masked, then cut to `width` characters (`…` marks the cut): masking first
        means the cut never leaves part of a secret."""
        masked = self(text)
        return masked if len(masked) <= width else masked[: width - 1] + "…"
