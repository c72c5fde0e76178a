"""The activity view (issue 16, "Activity on the canvas") in Chromium against the real `decnet
serve`: sensor lines written by the sensor's own writer into the host's sensor directory, as a
sensor container writes them, are collected by the server's in-process collector into attack
events; the editor shows them — counts and a pulse on the cards, LAN totals, the feed (filtered,
a click selects the decky), the attackers, one source's numbered path across two LANs with its
timeline (credentials, a command) and a replay scrubber, and the time window."""

from __future__ import annotations

import random
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import document, shot, sign_in
from playwright.sync_api import Page, expect
from serve_support import Server, wait_for

from decnet.models import Status
from decnet.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "images" / "sensor"))
from decnet_sensor.writer import LineWriter  # the sensor's own pure module

SENSORS = Path("/var/lib/decnet/sensors")
"""Where the sensors of `localhost` write (the inventory's default `decnet_sensor_dir`)."""
UI_TIMEOUT = 30_000


def _source() -> str:
    return f"10.66.{random.randint(1, 250)}.{random.randint(2, 250)}"


@dataclass
class Maze:
    """A live topology (dmz: gw; lan-1: br, a) whose sensors write lines, and what it holds."""

    name: str
    ips: dict[str, str]
    writers: dict[str, LineWriter]
    clock: dict[str, str | None]
    intruder: str
    other: str

    def write(self, decky: str, sensor: str, event: dict[str, Any], **kw: Any) -> None:
        assert self.writers[decky].write(sensor, event, **kw)

    def connect(self, decky: str, src: str, port: int, service: str, session: str) -> None:
        ends = {"src_ip": src, "src_port": 40000 + random.randint(0, 9999)}
        self.write(decky, "decnet", {"kind": "connect", "proto": "tcp", **ends,
                                     "dst_ip": self.ips[decky], "dst_port": port},
                   service=service, session=session)  # fmt: skip


def _writer(name: str, decky: str, clock: dict[str, str | None]) -> LineWriter:
    source = SENSORS / name / decky / "sensor"
    source.mkdir(parents=True, exist_ok=True)
    now = lambda: clock["now"] or datetime.now(UTC).isoformat(timespec="microseconds")  # noqa: E731
    return LineWriter(source, max_bytes=64 * 1024, clock=now)


def _events(server: Server, name: str) -> list[dict[str, Any]]:
    with server.api() as c:
        r = c.get(f"/topologies/{name}/activity")
        r.raise_for_status()
        return list(r.json()["events"])


@pytest.fixture(scope="module")
def maze(server: Server) -> Iterator[Maze]:
    """Attacked before the editor opens: the intruder connects to gw (dmz), fails and then
    succeeds a login, runs a command; then a connect to br and a Redis AUTH on a (lan-1).
    Another source connects to gw; and two hours ago a third one touched a."""
    name = server.new_name()
    server.create_document(document(name))
    with Store(server.home / "decnet.db") as store:
        store.transition(name, Status.DEPLOYING, reason="test")
        store.transition(name, Status.ACTIVE, reason="test")  # its sources are live
    t = server.topology(name)
    ips = {d["name"]: d["memberships"][0]["ip"] for d in t["deckies"]}
    clock: dict[str, str | None] = {"now": None}
    m = Maze(name, ips, {d: _writer(name, d, clock) for d in ips}, clock, _source(), _source())
    try:
        clock["now"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="microseconds")
        m.connect("a", _source(), 23, "telnet", "old")
        clock["now"] = None
        ssh = {"service": "ssh", "session": "s1"}
        ends = {"src_ip": m.intruder, "src_port": 50000, "dst_ip": ips["gw"], "dst_port": 22}
        m.connect("gw", m.intruder, 22, "ssh", "s1")
        m.write("gw", "cowrie", {"eventid": "cowrie.login.failed", "username": "root",
                                 "password": "hunter2", **ends}, **ssh)  # fmt: skip
        m.write("gw", "cowrie", {"eventid": "cowrie.login.success", "username": "root",
                                 "password": "toor", **ends}, **ssh)  # fmt: skip
        m.write("gw", "cowrie", {"eventid": "cowrie.command.input", "input": "uname -a", **ends},
                **ssh)  # fmt: skip
        time.sleep(0.05)  # the path is ordered by sensor time
        m.connect("br", m.intruder, 80, "http", "s2")
        time.sleep(0.05)
        m.write("a", "opencanary", {"logtype": 17001, "logdata": {"CMD": "AUTH", "ARGS": "foobar1"},
                                    "src_host": m.intruder, "src_port": 50002,
                                    "dst_host": ips["a"], "dst_port": 6379},
                service="redis", session="s3")  # fmt: skip
        m.connect("gw", m.other, 22, "ssh", "o1")
        wait_for(lambda: len(_events(server, name)) >= 8, timeout=60)
        yield m
    finally:
        shutil.rmtree(SENSORS / name, ignore_errors=True)


def open_editor(ui: Page, server: Server, name: str) -> None:
    sign_in(ui, f"{server.url}/#/t/{name}", server.admin)
    expect(ui.get_by_test_id("decky-gw")).to_be_visible()


def test_cards_count_and_pulse_and_the_feed_filters_and_selects(
    ui: Page, server: Server, maze: Maze
) -> None:
    open_editor(ui, server, maze.name)
    gw, br, a = (ui.get_by_test_id(f"decky-{d}") for d in ("gw", "br", "a"))
    expect(gw).to_have_attribute("data-activity", "5", timeout=UI_TIMEOUT)  # 1 h window
    expect(br).to_have_attribute("data-activity", "1")
    expect(a).to_have_attribute("data-activity", "1")  # the 2 h old one is outside
    expect(ui.get_by_test_id("lan-dmz")).to_have_attribute("data-activity", "5")
    expect(ui.get_by_test_id("lan-lan-1")).to_have_attribute("data-activity", "2")
    expect(ui.get_by_test_id("pulse-br")).to_have_count(0)  # nothing new yet
    feed = ui.get_by_test_id("activity-feed")
    expect(feed.locator("[data-event-id]")).to_have_count(7)
    # a new attack arrives over the stream: br's count moves, its card pulses, the feed has it
    before = max(e["id"] for e in _events(server, maze.name))
    maze.connect("br", maze.other, 80, "http", "o2")
    expect(br).to_have_attribute("data-activity", "2", timeout=UI_TIMEOUT)
    expect(ui.get_by_test_id("pulse-br")).to_have_count(1)
    newest = max(e["id"] for e in _events(server, maze.name))
    assert newest > before
    expect(feed.locator("[data-event-id]").first).to_have_attribute("data-event-id", str(newest))
    expect(ui.get_by_test_id("lan-lan-1")).to_have_attribute("data-activity", "3")
    # filtered by type, then by source; a click on an event selects its decky
    ui.get_by_test_id("feed-type").select_option("command")
    expect(feed.locator("[data-event-id]")).to_have_count(1)
    expect(feed).to_contain_text("uname -a")
    ui.get_by_test_id("feed-type").select_option("")
    ui.get_by_test_id("feed-source").fill(maze.other)
    expect(feed.locator("[data-event-id]")).to_have_count(2)
    ui.get_by_test_id("feed-source").fill("")
    ui.get_by_test_id("feed-decky").select_option("a")
    feed.locator("[data-event-id]").first.click()
    expect(ui.locator(".react-flow__node[data-id='decky:a']")).to_have_class(re.compile("selected"))


def test_an_attackers_path_across_two_lans_and_its_timeline(
    ui: Page, server: Server, maze: Maze
) -> None:
    open_editor(ui, server, maze.name)
    rows = ui.get_by_test_id("attackers").locator("[data-src-ip]")
    expect(rows).to_have_count(2, timeout=UI_TIMEOUT)
    row = ui.get_by_test_id("attackers").locator(f"[data-src-ip='{maze.intruder}']")
    expect(row.locator("td").nth(5)).to_have_text("3/1")  # logins tried / succeeded (+ AUTH)
    expect(row.locator("td").nth(3)).to_have_text("6")  # events
    expect(row.locator("td").nth(4)).to_have_text("3")  # deckies touched
    row.click()
    path = ui.get_by_test_id("attack-path")
    expect(path).to_have_attribute("data-deckies", "gw br a", timeout=UI_TIMEOUT)
    for n, decky in enumerate(("gw", "br", "a"), start=1):
        expect(ui.get_by_test_id(f"path-point-{n}")).to_have_attribute("data-decky", decky)
        expect(ui.get_by_test_id(f"step-{decky}")).to_have_text(str(n))
    timeline = ui.get_by_test_id("timeline")
    expect(timeline).to_contain_text("login root / hunter2 failed")
    expect(timeline).to_contain_text("login root / toor succeeded")
    expect(timeline).to_contain_text("command uname -a")
    expect(timeline).to_contain_text("foobar1")  # the Redis AUTH on a
    shot(ui, "editor-activity-path", doc=True)
    # the scrubber replays the path: at the first event only gw was touched
    ui.get_by_test_id("scrubber").fill("0")
    expect(path).to_have_attribute("data-deckies", "gw")
    expect(ui.get_by_test_id("step-br")).to_have_count(0)
    ui.get_by_test_id("scrubber").fill("4")
    expect(path).to_have_attribute("data-deckies", "gw br")
    row.click()  # chosen again: unchosen, the path goes
    expect(path).to_have_count(0)


def test_the_time_window_and_a_quiet_topology(ui: Page, server: Server, maze: Maze) -> None:
    open_editor(ui, server, maze.name)
    a = ui.get_by_test_id("decky-a")
    expect(a).to_have_attribute("data-activity", "1", timeout=UI_TIMEOUT)
    ui.get_by_test_id("window-24h").click()
    expect(a).to_have_attribute("data-activity", "2", timeout=UI_TIMEOUT)
    expect(ui.get_by_test_id("attackers").locator("[data-src-ip]")).to_have_count(3)
    ui.get_by_test_id("window-15m").click()
    expect(a).to_have_attribute("data-activity", "1", timeout=UI_TIMEOUT)
    expect(ui.get_by_test_id("attackers").locator("[data-src-ip]")).to_have_count(2)
    ui.get_by_test_id("window-all").click()
    expect(a).to_have_attribute("data-activity", "2", timeout=UI_TIMEOUT)
    shot(ui, "editor-activity", doc=True)
    quiet = server.new_name()
    server.create_document(document(quiet))
    ui.goto(f"{server.url}/#/t/{quiet}")
    expect(ui.get_by_test_id("no-activity")).to_have_text(
        f"No attack on {quiet} in the last hour.", timeout=UI_TIMEOUT
    )
    expect(ui.get_by_test_id("decky-gw")).to_have_attribute("data-activity", "0")
    expect(ui.get_by_test_id("activity-feed").locator("[data-event-id]")).to_have_count(0)
