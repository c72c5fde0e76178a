"""The activity view against a deployed maze: a decky on the local engine (its hardened sensor
container, decnet-sensor: this module's server deploys real sensors, not the tests' lure),
attacked by a real Redis client over TCP; the collector of `decnet serve` turns the sensor's
lines into attack events and the open editor shows them without a reload — the card's count
and pulse, the LAN's total, the feed's row with the password tried, the attacker's row."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import sign_in
from local_engine import listening, remove_labelled
from playwright.sync_api import Page, expect
from serve_support import Server, serving, wait_for
from subnet_pools import fresh_lans

DEPLOY_TIMEOUT = 600
"""Deploys on the shared engine queue behind other worktrees' (one host lock): be patient."""
SENSORS = Path("/var/lib/decnet/sensors")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own that deploys the real sensors (the session's deploys the lure)."""
    with serving(tmp_path_factory.mktemp("browser-sensors") / "home", DECNET_IMAGES="") as srv:
        yield srv


@pytest.fixture(scope="module")
def deployed(server: Server) -> Iterator[tuple[str, str]]:
    """One decky (`db`: redis) on the DMZ, deployed through the engine API; (name, its IP)."""
    name = server.new_name()
    (dmz,) = fresh_lans(1)
    server.create_document(
        f"name: {name}\nhost: localhost\nlans:\n  - {{name: dmz, dmz: true, subnet: {dmz}}}\n"
        "deckies:\n  - {name: db, home: dmz, services: [redis]}\n"
    )
    try:
        view = server.deploy(name, DEPLOY_TIMEOUT)
        assert view["state"] == "succeeded", view
        assert server.topology(name)["status"] == "active"
        ip = server.topology(name)["deckies"][0]["memberships"][0]["ip"]
        listening(ip, 6379, timeout=300)  # the sensor starts slowly on a loaded machine
        yield name, ip
    finally:
        remove_labelled(name)
        shutil.rmtree(SENSORS / name, ignore_errors=True)


def _attacks(server: Server, name: str) -> list[dict[str, Any]]:
    with server.api() as c:
        return list(c.get(f"/topologies/{name}/activity").json()["events"])


@pytest.mark.timeout(DEPLOY_TIMEOUT * 2 + 600)
def test_a_redis_auth_on_a_deployed_decky_shows_on_its_card_and_in_the_feed(
    ui: Page, server: Server, deployed: tuple[str, str]
) -> None:
    name, ip = deployed
    # the fixture's readiness probe was a connect too: the card starts from it
    before = len(wait_for(lambda: _attacks(server, name), timeout=120))
    sign_in(ui, f"{server.url}/#/t/{name}", server.admin)
    card = ui.get_by_test_id("decky-db")
    expect(card).to_have_attribute("data-activity", str(before), timeout=30_000)
    with socket.create_connection((ip, 6379), timeout=20) as s:
        s.sendall(b"*2\r\n$4\r\nAUTH\r\n$9\r\nletmein42\r\n")
        s.recv(256)
    feed = ui.get_by_test_id("activity-feed")
    expect(feed).to_contain_text("login letmein42 failed", timeout=120_000)
    expect(ui.get_by_test_id("pulse-db")).to_have_count(1)
    wait_for(lambda: any(e["type"] == "attack.login" for e in _attacks(server, name)), 60)
    after = len(_attacks(server, name))
    assert after > before
    expect(card).to_have_attribute("data-activity", str(after))
    expect(ui.get_by_test_id("lan-dmz")).to_have_attribute("data-activity", str(after))
    with server.api() as c:
        rows = c.get("/attackers", params={"topology": name}).json()
    (src,) = [r["src_ip"] for r in rows]
    row = ui.get_by_test_id("attackers").locator(f"[data-src-ip='{src}']")
    expect(row.locator("td").nth(5)).to_have_text("1/0")  # one login tried, none succeeded
