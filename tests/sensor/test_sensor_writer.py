"""The sensor line format v1 writer (images/sensor/decnet_sensor/writer.py): pure file logic,
tested on a temporary directory. The real sensor's lines are tested in test_sensor_image.py."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from decnet_sensor.writer import FILE_NAME, MAX_LINE, LineWriter, encode_line
from hypothesis import given, settings
from hypothesis import strategies as st

SMALL = MAX_LINE  # the smallest rotation size the writer accepts


def lines(directory: Path, name: str = FILE_NAME) -> list[dict[str, Any]]:
    raw = (directory / name).read_bytes()
    assert raw == b"" or raw.endswith(b"\n")
    return [json.loads(line) for line in raw.splitlines()]


def all_lines(directory: Path) -> list[dict[str, Any]]:
    found = []
    for path in directory.iterdir():
        if path.name.startswith(FILE_NAME):
            found += lines(directory, path.name)
    return sorted(found, key=lambda d: d["seq"])


def test_envelope_fields_and_order(tmp_path: Path) -> None:
    w = LineWriter(tmp_path)
    assert w.write("cowrie", {"eventid": "cowrie.login.success"}, service="ssh", session="ab12")
    assert w.write("decnet", {"kind": "sensor.heartbeat"})
    first, second = lines(tmp_path)
    assert list(first) == ["v", "epoch", "seq", "at", "sensor", "service", "session", "event"]
    assert first["v"] == 1 and first["seq"] == 1 and second["seq"] == 2
    assert first["epoch"] == second["epoch"] and len(first["epoch"]) == 16
    assert first["at"].endswith("Z") and len(first["at"]) == len("2026-12-07T10:00:00.123456Z")
    assert "service" not in second and "session" not in second


def test_a_new_writer_continues_epoch_and_seq(tmp_path: Path) -> None:
    w = LineWriter(tmp_path)
    for _ in range(3):
        w.write("decnet", {"kind": "connect"})
    w.close()
    again = LineWriter(tmp_path)
    again.write("decnet", {"kind": "sensor.start"})
    found = lines(tmp_path)
    assert [d["seq"] for d in found] == [1, 2, 3, 4]
    assert len({d["epoch"] for d in found}) == 1


def test_an_empty_directory_starts_a_new_epoch(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    LineWriter(a).write("decnet", {})
    LineWriter(b).write("decnet", {})
    assert lines(a)[0]["epoch"] != lines(b)[0]["epoch"]
    assert lines(a)[0]["seq"] == lines(b)[0]["seq"] == 1


def test_a_partial_last_line_is_cut_and_the_sequence_goes_on(tmp_path: Path) -> None:
    w = LineWriter(tmp_path)
    w.write("decnet", {"n": 1})
    w.write("decnet", {"n": 2})
    w.close()
    with (tmp_path / FILE_NAME).open("ab") as f:
        f.write(b'{"v":1,"epoch":"x","seq":99,"at"')  # a crash in the middle of a line
    LineWriter(tmp_path).write("decnet", {"n": 3})
    found = lines(tmp_path)  # every line parses: the partial one is gone
    assert [d["seq"] for d in found] == [1, 2, 3]


def test_resume_reads_an_older_file_when_the_newest_is_empty(tmp_path: Path) -> None:
    w = LineWriter(tmp_path, max_bytes=SMALL, files=3)
    while not (tmp_path / f"{FILE_NAME}.1").exists():
        w.write("decnet", {"pad": "x" * 4000})
    w.close()
    last = lines(tmp_path, f"{FILE_NAME}.1")[-1]
    (tmp_path / FILE_NAME).write_bytes(b"")
    LineWriter(tmp_path, max_bytes=SMALL, files=3).write("decnet", {})
    assert lines(tmp_path)[0]["seq"] == last["seq"] + 1
    assert lines(tmp_path)[0]["epoch"] == last["epoch"]


def test_rotation_keeps_n_files_and_a_contiguous_sequence(tmp_path: Path) -> None:
    w = LineWriter(tmp_path, max_bytes=SMALL, files=3)
    for i in range(200):
        w.write("decnet", {"i": i, "pad": "y" * 1000})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [FILE_NAME, f"{FILE_NAME}.1", f"{FILE_NAME}.2"]
    for name in names:
        assert (tmp_path / name).stat().st_size <= SMALL
    kept = all_lines(tmp_path)
    seqs = [d["seq"] for d in kept]
    assert seqs == list(range(seqs[0], 201))  # older lines rotated away, no gap in what is left
    newest, middle = lines(tmp_path)[0]["seq"], lines(tmp_path, f"{FILE_NAME}.1")[-1]["seq"]
    assert newest == middle + 1  # the newest file continues the one before it


def test_one_file_rotation_truncates(tmp_path: Path) -> None:
    w = LineWriter(tmp_path, max_bytes=SMALL, files=1)
    for i in range(100):
        w.write("decnet", {"i": i, "pad": "z" * 1000})
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]
    assert lines(tmp_path)[-1]["seq"] == 100


def test_a_refused_write_consumes_no_seq(tmp_path: Path) -> None:
    w = LineWriter(tmp_path)
    w.write("decnet", {"n": 1})
    os.close(w._fd)  # the file system refuses (EBADF stands in for ENOSPC/EIO)
    w._fd = os.open(os.devnull, os.O_RDONLY)
    assert w.write("decnet", {"n": 2}) is False
    assert w.dropped == 1 and w.seq == 1 and w.last_error
    w._fd = os.open(tmp_path / FILE_NAME, os.O_WRONLY | os.O_APPEND)
    w.write("decnet", {"n": 3})
    assert [d["seq"] for d in lines(tmp_path)] == [1, 2]


HOSTILE = {
    "username": "ro\x1b[31mot\x00<script>alert(1)</script>\r\n",
    "password": b"\xff\xfe\xc3(invalid \x80 utf-8",
    "surrogate": "a\udcff\ud800b",
    "emoji": "\U0001f600 ünïcödé \u202e",
    "nan": math.nan,
    "inf": -math.inf,
    "bytes_key": {b"\xff": 1, 3: "int key"},
    "nested": [[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]],
    "obj": object(),
}


def test_hostile_input_is_one_valid_ascii_json_line(tmp_path: Path) -> None:
    w = LineWriter(tmp_path)
    assert w.write("opencanary", HOSTILE, service="http")
    raw = (tmp_path / FILE_NAME).read_bytes()
    assert raw.count(b"\n") == 1 and raw.endswith(b"\n")
    assert all(b < 0x80 for b in raw)  # ensure_ascii: nothing raw from the attacker
    assert b"<script>" in raw and b"\x1b" not in raw and b"\x00" not in raw
    event = json.loads(raw)["event"]
    assert event["username"].startswith("ro\x1b[31mot")
    assert event["password"].startswith("\\xff\\xfe")


def test_long_values_are_cut_to_the_line_cap(tmp_path: Path) -> None:
    w = LineWriter(tmp_path)
    w.write("cowrie", {"input": "A" * 500_000, "many": list(range(100_000))}, session="s1")
    raw = (tmp_path / FILE_NAME).read_bytes()
    assert len(raw) <= MAX_LINE
    line = json.loads(raw)
    assert line["truncated"] is True and line["session"] == "s1"
    assert line["event"]["input"].startswith("AAAA")


def test_many_small_keys_still_fit(tmp_path: Path) -> None:
    event = {f"k{i}": "v" * 50 for i in range(5000)}
    raw = encode_line({"v": 1, "epoch": "e", "seq": 1, "event": event})
    assert len(raw) <= MAX_LINE and json.loads(raw)["truncated"] is True


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text() | st.binary(),
    lambda children: (
        st.lists(children, max_size=8) | st.dictionaries(st.text(max_size=20), children, max_size=8)
    ),
    max_leaves=25,
)


@settings(max_examples=40, deadline=None)
@given(event=st.dictionaries(st.text(max_size=30), json_values, max_size=10))
def test_any_event_makes_one_valid_line(event: dict[str, Any]) -> None:
    raw = encode_line({"v": 1, "epoch": "e", "seq": 1, "sensor": "decnet", "event": event})
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1 and len(raw) <= MAX_LINE
    assert all(b < 0x80 for b in raw)
    assert isinstance(json.loads(raw)["event"], dict)


def test_rotation_size_below_one_line_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        LineWriter(tmp_path, max_bytes=1000)
