"""The sensor image's Python lock file (images/sensor/requirements.lock): parse and render.

A pip requirements file in hash-checking form, one entry per installed distribution:

    twisted==26.4.0 \\
        --hash=sha256:dc25…

An entry whose PyPI release is only an sdist carries two hashes: the sdist's (what pip
downloads) and the wheel's that the controller builds from it reproducibly (what the image
installs). `wheel_hash_ok` is the check every cached wheel passes before it enters an image.
Pure: text in, values out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_NAME_RUNS = re.compile(r"[-_.]+")
_REQ = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9._+!-]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
_WHEEL = re.compile(r"([^-]+)-([^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl")


class LockError(ValueError):
    """The lock file is malformed: names the line."""


def canonical(name: str) -> str:
    """PEP 503 normalised project name: `Zope.Interface` -> `zope-interface`."""
    return _NAME_RUNS.sub("-", name).lower()


@dataclass(frozen=True)
class Locked:
    name: str
    """Canonical (PEP 503) name."""
    version: str
    hashes: tuple[str, ...]
    note: str = ""
    """A comment rendered above the entry (e.g. that a hash is of a locally built wheel)."""

    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def parse_lock(text: str) -> list[Locked]:
    """Every entry of a lock file, in file order."""
    entries: list[Locked] = []
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            logical.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        raise LockError(f"line {start}: continuation never ends")
    seen: set[str] = set()
    for number, line in logical:
        first, *rest = line.split()
        match = _REQ.fullmatch(first)
        if not match:
            raise LockError(f"line {number}: {first!r} is not NAME==VERSION")
        hashes = []
        for token in rest:
            found = _HASH.fullmatch(token)
            if not found:
                raise LockError(f"line {number}: {token!r} is not --hash=sha256:HEX")
            hashes.append(found[1])
        if not hashes:
            raise LockError(f"line {number}: {first} has no --hash")
        name = canonical(match[1])
        if name in seen:
            raise LockError(f"line {number}: {name} is locked twice")
        seen.add(name)
        entries.append(Locked(name, match[2], tuple(hashes)))
    return entries


def render_lock(entries: Iterable[Locked], header: str) -> str:
    """The lock file text: `header` (comment lines), then the entries sorted by name."""
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    for entry in sorted(entries, key=lambda e: e.name):
        out.append("")
        out += [f"# {line}" for line in entry.note.splitlines() if line]
        hashes = " \\\n".join(f"    --hash=sha256:{h}" for h in entry.hashes)
        out.append(f"{entry.requirement()} \\\n{hashes}")
    return "\n".join(out) + "\n"


def wheel_project(filename: str) -> tuple[str, str] | None:
    """(canonical name, version) of a wheel file name, or None if it is no wheel name."""
    match = _WHEEL.fullmatch(filename)
    if not match:
        return None
    return canonical(match[1]), match[2]


def wheel_hash_ok(entry: Locked, filename: str, sha256: str) -> bool:
    """A wheel file may enter the image: its name matches the entry and its hash is locked."""
    project = wheel_project(filename)
    return project == (entry.name, entry.version) and sha256 in entry.hashes


def parse_requirements_in(text: str) -> tuple[list[str], list[str]]:
    """requirements.in: (pins resolved with their dependencies, pins installed without).

    One `NAME==VERSION` per line; a line whose comment starts with `no-deps` is installed
    without its dependencies (its own pins conflict with the rest: docs/images.md).
    """
    with_deps: list[str] = []
    no_deps: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        requirement, _, comment = raw.partition("#")
        requirement = requirement.strip()
        if not requirement:
            continue
        if not _REQ.fullmatch(requirement):
            raise LockError(f"requirements.in line {number}: {requirement!r} is not NAME==VERSION")
        (no_deps if comment.strip().startswith("no-deps") else with_deps).append(requirement)
    if not with_deps and not no_deps:
        raise LockError("requirements.in pins nothing")
    return with_deps, no_deps
