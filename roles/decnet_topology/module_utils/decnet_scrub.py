# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""Masking of secret values in every text that leaves decnet_compose_project.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import contextlib
import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ansible.module_utils.decnet_host import Doc

MASK = "********"


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


class Scrubber:
    """Masks secret values in any text before it leaves the module.

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

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        return text
