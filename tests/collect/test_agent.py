"""The host agent (roles/decnet_host/files/decnet-collect) as a real process on real source
directories written by the sensor's real line writer: it follows growth and rotation, accounts
for every seq exactly once (sent, or inside a reported gap), resumes after a cursor, survives
hostile files, and removes a retired source only once everything in it is acknowledged."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from collect_support import agent, write, writer

from decnet.runner.streams import Done, Gap, Line, Removed, Status

SRC = "t1/d1/sensor"


def accounted(lines: list[Line], gaps: list[Gap]) -> list[int]:
    """Every seq the agent spoke for, sent or skipped, in order."""
    out: list[int] = []

    def order(f: Line | Gap) -> float:
        return f.seq if isinstance(f, Line) else f.after_seq + 0.5

    for frame in sorted([*lines, *gaps], key=order):
        if isinstance(frame, Line):
            out.append(frame.seq)
        else:
            out += list(range(frame.after_seq + 1, frame.after_seq + frame.missing + 1))
    return out


def test_once_reads_oldest_file_first_and_reports_the_rotated_away(tmp_path: Path) -> None:
    w = writer(tmp_path / SRC, files=3)
    write(w, 2000)  # far more than three 64 KiB files hold
    with agent(tmp_path, None, None, "--once") as a:
        a.wait_for(lambda: bool(a.of(Done)))
        lines, gaps = a.of(Line), a.of(Gap)
    seqs = [f.seq for f in lines]
    assert seqs == list(range(seqs[0], 2001)) and seqs[0] > 1
    (gap,) = gaps
    assert (gap.source, gap.after_seq, gap.missing) == (SRC, 0, seqs[0] - 1)
    assert all(f.text.startswith('{"v":1,') for f in lines)


def test_follows_growth_and_rotation_accounting_for_every_line_once(tmp_path: Path) -> None:
    w = writer(tmp_path / SRC, files=3)
    total = 6000
    done = threading.Event()

    def produce() -> None:
        for _ in range(60):
            write(w, total // 60)
            time.sleep(0.01)
        done.set()

    with agent(tmp_path) as a:
        t = threading.Thread(target=produce)
        t.start()
        t.join()
        a.wait_for(lambda: bool(a.of(Line)) and a.of(Line)[-1].seq == total, timeout=60)
        lines, gaps = a.of(Line), a.of(Gap)
    assert done.is_set()
    assert accounted(lines, gaps) == list(range(1, total + 1))  # nothing lost silently, no double
    assert len({f.seq for f in lines}) == len(lines)


def test_resumes_after_the_controllers_cursor(tmp_path: Path) -> None:
    w = writer(tmp_path / SRC)
    write(w, 50)
    with agent(tmp_path, {SRC: [w.epoch, 30]}, None, "--once") as a:
        a.wait_for(lambda: bool(a.of(Done)))
        assert [f.seq for f in a.of(Line)] == list(range(31, 51)) and a.of(Gap) == []


def test_a_new_epoch_starts_over(tmp_path: Path) -> None:
    w = writer(tmp_path / SRC)
    write(w, 5)
    with agent(tmp_path, {SRC: ["00ff", 99]}, None, "--once") as a:
        a.wait_for(lambda: bool(a.of(Done)))
        assert [(f.epoch, f.seq) for f in a.of(Line)] == [(w.epoch, s) for s in range(1, 6)]


def test_a_single_file_cut_in_place_is_followed(tmp_path: Path) -> None:
    w = writer(tmp_path / SRC, files=1)
    with agent(tmp_path) as a:
        write(w, 100)  # ~23 KB: all in the file
        a.wait_for(lambda: len(a.of(Line)) == 100)
        write(w, 1000)  # the file is cut to zero at 64 KiB, several times
        a.wait_for(lambda: bool(a.of(Line)) and a.of(Line)[-1].seq == 1100, timeout=30)
        assert accounted(a.of(Line), a.of(Gap)) == list(range(1, 1101))


def test_hostile_files_are_neither_followed_nor_fatal(tmp_path: Path) -> None:
    src = tmp_path / SRC
    w = writer(src, files=3)
    write(w, 3)
    # a link where a rotated file should be, a FIFO, a directory, a foreign name
    os.symlink("/etc/passwd", src / "events.jsonl.1")
    os.mkfifo(src / "events.jsonl.2")
    (src / "events.jsonl.9").mkdir()
    (tmp_path / "t1" / "d1" / "..evil").mkdir()
    os.symlink("/etc", tmp_path / "t1" / "d2")
    with open(src / "events.jsonl", "ab") as f:  # lines a compromised sensor might write
        f.write(b"\xff\xfe not json\n")
        f.write(b"A" * (2 * 1024 * 1024) + b"\n")  # past the agent's line limit: skipped
        f.write(b'{"v":1,"epoch":"' + w.epoch.encode() + b'","seq":6,"at":"x","sensor":"decnet",'
                b'"event":{"u":"\x1b[31m\t\xc3\xa9"}}\n')  # fmt: skip
    with agent(tmp_path, None, None, "--once") as a:
        a.wait_for(lambda: bool(a.of(Done)))
        lines = a.of(Line)
        (status,) = a.of(Status)
    assert [f.seq for f in lines] == [1, 2, 3, 6]
    assert [f.source for f in lines] == [SRC] * 4
    last = lines[-1].text
    assert last.isascii() and last.isprintable() and "\\u001b[31m\\t\\u00e9" in last
    assert status.bad_lines == 2
    assert a.of(Gap)[0].after_seq == 3 and a.of(Gap)[0].missing == 2


def test_a_retired_source_goes_only_once_acknowledged_and_quiet(tmp_path: Path) -> None:
    w = writer(tmp_path / SRC)
    write(w, 10)
    keep = writer(tmp_path / "t1/d2/sensor")
    write(keep, 2)
    with agent(tmp_path, None, [SRC], "--quiet", "0.3") as a:
        a.wait_for(lambda: len(a.of(Line)) == 12)
        time.sleep(1.5)  # several status rounds: nothing acknowledged, nothing removed
        assert (tmp_path / SRC).exists() and a.of(Removed) == []
        a.send({"op": "ack", "acks": {SRC: [w.epoch, 9]}})
        time.sleep(1.0)
        assert (tmp_path / SRC).exists()
        a.send({"op": "ack", "acks": {SRC: [w.epoch, 10]}})
        a.wait_for(lambda: bool(a.of(Removed)))
        assert a.of(Removed) == [Removed(SRC)]
    assert not (tmp_path / "t1/d1").exists() and (tmp_path / "t1/d2/sensor").is_dir()


def test_a_source_retired_before_it_was_read_is_read_first(tmp_path: Path) -> None:
    w = writer(tmp_path / SRC)
    write(w, 5)
    with agent(tmp_path, {SRC: [w.epoch, 2]}, [SRC], "--quiet", "0.1") as a:
        a.wait_for(lambda: len(a.of(Line)) == 3)
        time.sleep(0.8)
        assert (tmp_path / SRC).exists()
        a.send({"op": "ack", "acks": {SRC: [w.epoch, 5]}})
        a.wait_for(lambda: bool(a.of(Removed)))


def test_the_agent_ends_with_its_controller(tmp_path: Path) -> None:
    with agent(tmp_path) as a:
        a.wait_for(lambda: bool(a.of(Status)))
        assert a.proc.stdin is not None
        a.proc.stdin.close()
        assert a.proc.wait(timeout=10) == 0


def test_the_agent_reads_the_writers_format() -> None:
    """The agent's file names and its fast path match what the sensor's writer makes."""
    import importlib.machinery
    import importlib.util

    from decnet_sensor import writer as sensor_writer

    from decnet.runner.streams import LOCAL_AGENT

    loader = importlib.machinery.SourceFileLoader("decnet_collect", str(LOCAL_AGENT))
    spec = importlib.util.spec_from_loader("decnet_collect", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert module.FILE_NAME == sensor_writer.FILE_NAME
    assert module.MAX_LINE >= sensor_writer.MAX_LINE
    line = sensor_writer.encode_line({"v": 1, "epoch": "ab", "seq": 12, "at": "x", "event": {}})
    match = module.PREFIX.match(line)
    assert match is not None and match.group(1) == b"ab" and match.group(2) == b"12"
