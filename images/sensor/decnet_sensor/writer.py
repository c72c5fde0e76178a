"""The one writer of the sensor line format v1 (docs/sensors.md, "Line format v1").

Every event of every sensor in the process becomes one line of `events.jsonl`:

    {"v": 1, "epoch": "9f2c41d07a1be355", "seq": 42, "at": "2026-12-07T10:00:00.123456Z",
     "sensor": "cowrie", "service": "ssh", "session": "c0ffee12", "event": {...}}

The collector keeps a cursor (epoch, seq) per source directory, so the writer guarantees:
- `seq` grows by exactly one per written line within an epoch, across restarts: at start it
  continues the epoch and seq of the last complete line of the newest non-empty file; only a
  directory with no line at all starts a new random epoch at 1. A line that could not be
  written does not consume a seq (it is counted in `dropped` instead), so a gap always means
  lines were rotated away before collection.
- every line is valid JSON, ASCII only (`ensure_ascii`: attacker bytes and odd unicode arrive
  escaped, never raw), one `\\n` at its end, and at most MAX_LINE bytes: long strings are cut
  (with `"truncated": true` on the envelope) until the line fits.
- rotation works like logging.handlers.RotatingFileHandler: `events.jsonl` is the newest,
  `events.jsonl.1` … `.N-1` older ones, N = `files`.

Pure standard library: the image runs it under the sensor's venv, the tests import it directly.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
FILE_NAME = "events.jsonl"
MAX_LINE = 64 * 1024
"""Bytes per line, the `\\n` included."""

_STRING_CAPS = (8192, 2048, 512, 128, 32)
_ITEM_CAPS = (1024, 256, 64, 16, 4)
_DEPTH_CAP = 16
_TAIL_PROBE = MAX_LINE + 1
_FILE_MODE = 0o640


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(value: Any) -> Any:
    """`json.dumps`' fallback: bytes as text (undecodable bytes escaped), anything else repr'd."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


class _Cut:
    """One pass of shortening: strings to `chars`, containers to `items`, nesting to a depth."""

    def __init__(self, chars: int, items: int) -> None:
        self.chars, self.items, self.cut = chars, items, False

    def __call__(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            value = _plain(value)
        if isinstance(value, str):
            if len(value) > self.chars:
                self.cut = True
                return value[: self.chars]
            return value
        if isinstance(value, Mapping | list | tuple | set | frozenset) and depth >= _DEPTH_CAP:
            self.cut = True
            return None
        if isinstance(value, Mapping):
            pairs = list(value.items())
            if len(pairs) > self.items:
                self.cut, pairs = True, pairs[: self.items]
            return {self(_key(k)): self(v, depth + 1) for k, v in pairs}
        if isinstance(value, list | tuple | set | frozenset):
            seq = list(value)
            if len(seq) > self.items:
                self.cut, seq = True, seq[: self.items]
            return [self(v, depth + 1) for v in seq]
        if isinstance(value, float) and not math.isfinite(value):
            self.cut = True
            return repr(value)
        return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bytes):
        return key.decode("utf-8", errors="backslashreplace")
    return str(key)


def _dumps(obj: Any) -> str:
    return json.dumps(
        obj, ensure_ascii=True, separators=(",", ":"), default=_plain, allow_nan=False
    )


def encode_line(envelope: dict[str, Any]) -> bytes:
    """The envelope as one line of at most MAX_LINE bytes (cut step by step until it fits)."""
    text: str | None
    try:
        text = _dumps(envelope)
    except (ValueError, TypeError, RecursionError):
        text = None  # NaN, a cycle, deep nesting: the cutting passes below make it plain data
    if text is not None and len(text) < MAX_LINE:
        return (text + "\n").encode("ascii")
    for chars, items in zip(_STRING_CAPS, _ITEM_CAPS, strict=True):
        cut = _Cut(chars, items)
        shorter = {k: (cut(v) if k == "event" else v) for k, v in envelope.items()}
        shorter["truncated"] = True
        text = _dumps(shorter)
        if len(text) < MAX_LINE:
            return (text + "\n").encode("ascii")
    bare = {k: v for k, v in envelope.items() if k != "event"}
    bare["event"] = {"unrepresentable": True}
    bare["truncated"] = True
    return (_dumps(bare) + "\n").encode("ascii")


def _last_line(path: Path) -> tuple[dict[str, Any] | None, int]:
    """The last complete, valid envelope in `path` and the offset just past the last `\\n`.

    A crash can leave a partial line at the end (no `\\n`); the offset lets the writer cut it
    off, so the next line starts clean.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, 0
    if size == 0:
        return None, 0
    with path.open("rb") as f:
        start = max(0, size - _TAIL_PROBE * 2)
        f.seek(start)
        tail = f.read()
    end = tail.rfind(b"\n")
    if end < 0:  # no line end at all: one partial line (cut it) or not our file (leave it)
        return None, 0 if start == 0 else size
    complete_end = start + end + 1
    for raw in reversed(tail[:end].split(b"\n")):
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if (
            isinstance(obj, dict)
            and isinstance(obj.get("epoch"), str)
            and isinstance(obj.get("seq"), int)
        ):
            return obj, complete_end
    return None, complete_end


class LineWriter:
    """Appends envelopes to `directory/events.jsonl`, rotating at `max_bytes` over `files` files."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = 10 * 1024 * 1024,
        files: int = 5,
        clock: Callable[[], str] = _now,
    ) -> None:
        if max_bytes < MAX_LINE:
            raise ValueError(f"max_bytes must be at least {MAX_LINE} (one full line)")
        if files < 1:
            raise ValueError("files must be at least 1")
        self.directory = directory
        self.path = directory / FILE_NAME
        self.max_bytes = max_bytes
        self.files = files
        self.clock = clock
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None
        self.epoch, self.seq = self._resume()
        self._fd = -1
        self._size = 0
        self._open()

    # --- start -----------------------------------------------------------------------------

    def _paths(self) -> list[Path]:
        """Newest first: events.jsonl, events.jsonl.1, … events.jsonl.N-1."""
        return [self.path] + [self.path.with_name(f"{FILE_NAME}.{i}") for i in range(1, self.files)]

    def _resume(self) -> tuple[str, int]:
        for index, path in enumerate(self._paths()):
            last, complete_end = _last_line(path)
            if index == 0 and path.exists() and path.stat().st_size != complete_end:
                # A partial line from a crash: cut it, so the file holds whole lines only.
                os.truncate(path, complete_end)
            if last is not None:
                return str(last["epoch"]), int(last["seq"])
        return secrets.token_hex(8), 0

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
        self._size = os.fstat(self._fd).st_size

    # --- write -----------------------------------------------------------------------------

    def write(
        self,
        sensor: str,
        event: Mapping[str, Any],
        *,
        service: str | None = None,
        session: str | None = None,
    ) -> bool:
        """Write one line; False (and `dropped` + 1) when the file system refused it."""
        envelope: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "epoch": self.epoch,
            "seq": self.seq + 1,
            "at": self.clock(),
            "sensor": sensor,
        }
        if service is not None:
            envelope["service"] = service
        if session is not None:
            envelope["session"] = str(session)
        envelope["event"] = dict(event)
        line = encode_line(envelope)
        try:
            if self._size > 0 and self._size + len(line) > self.max_bytes:
                self._rotate()
            written = os.write(self._fd, line)
        except OSError as err:
            self.dropped += 1
            self.last_error = f"{type(err).__name__}: {err.strerror or err}"
            return False
        self._size += written
        if written != len(line):  # a full disk mid-line: finish it as garbage-free as possible
            self.dropped += 1
            self.last_error = "short write"
            self._reopen_clean()
            return False
        self.seq += 1
        self.written += 1
        return True

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        paths = self._paths()
        if len(paths) == 1:
            os.truncate(self.path, 0)
        else:
            paths[-1].unlink(missing_ok=True)
            for older, newer in zip(reversed(paths[1:]), reversed(paths[:-1]), strict=True):
                if newer.exists():
                    os.replace(newer, older)
        self._open()

    def _reopen_clean(self) -> None:
        """After a short write: cut the partial line off so the file keeps whole lines only."""
        try:
            os.close(self._fd)
            _, complete_end = _last_line(self.path)
            os.truncate(self.path, complete_end)
        except OSError:
            pass
        finally:
            self._open()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
