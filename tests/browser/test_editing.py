"""Designing a pending topology in the browser: create it from the generator, grow it by
dragging, and see validation on the element an invalid edit touches."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import document, drag_to, shot, sign_in
from playwright.sync_api import Locator, Page, expect
from serve_support import Server, wait_for


def test_create_a_topology_from_the_generator(ui: Page, server: Server) -> None:
    name = server.new_name()
    sign_in(ui, server.url, server.admin)
    ui.get_by_test_id("new-topology").click()
    ui.get_by_test_id("gen-name").fill(name)
    ui.get_by_test_id("gen-depth").fill("2")
    ui.get_by_test_id("gen-branching").fill("3")
    ui.get_by_test_id("gen-seed").fill("7")
    ui.get_by_test_id("create-submit").click()

    expect(ui.get_by_test_id("topology-name")).to_have_text(name)
    stored = server.topology(name)
    assert stored["status"] == "pending"
    assert stored["config"]["seed"] == 7 and stored["config"]["branching"] == 3
    # it opens readable on the DMZ; fitted, every LAN and card is drawn
    ui.locator(".react-flow__controls-fitview").click()
    expect(ui.locator("[data-testid^='lan-']")).to_have_count(len(stored["lans"]))
    expect(ui.locator("[data-testid^='decky-']")).to_have_count(len(stored["deckies"]))
    expect(ui.get_by_test_id("lan-dmz")).to_have_class("lan-box dmz")

    # the auto-layout's positions persist through the layout route, without a version bump
    def laid_out() -> dict[str, object] | None:
        t = server.topology(name)
        placed = all(lan["x"] is not None for lan in t["lans"]) and all(
            d["x"] is not None for d in t["deckies"]
        )
        return t if placed else None

    assert wait_for(laid_out)["version"] == stored["version"]
    shot(ui, "editor-generated", doc=True)


@pytest.mark.usefixtures("needs_ops")
def test_drag_an_archetype_onto_a_lan_adds_a_decky(ui: Page, server: Server) -> None:
    name = server.new_name()
    before = server.create_document(document(name))
    sign_in(ui, f"{server.url}/#/t/{name}", server.admin)
    lan = ui.get_by_test_id("lan-lan-1")
    drag_to(ui, ui.get_by_test_id("palette-archetype-web-server"), lan, -100, -20)

    def added() -> dict[str, object] | None:
        t = server.topology(name)
        return next((d for d in t["deckies"] if d["name"] == "web-server-1"), None)

    decky = wait_for(added)
    assert decky["home_lan"] == "lan-1"
    assert decky["archetype"] == "web-server"
    assert decky["services"] == ["http", "https", "ssh"]
    assert server.topology(name)["version"] == before["version"] + 1
    expect(ui.get_by_test_id("decky-web-server-1")).to_be_visible()
    expect(ui.get_by_test_id("decky-web-server-1")).not_to_have_class(re.compile(r"\bstaged\b"))


@pytest.mark.usefixtures("needs_ops")
def test_an_invalid_edit_is_shown_on_its_element_and_blocks_deploy(
    ui: Page, server: Server
) -> None:
    name = server.new_name()
    before = server.create_document(document(name))
    sign_in(ui, f"{server.url}/#/t/{name}", server.admin)
    expect(ui.get_by_test_id("deploy")).to_be_enabled()

    # a second DMZ
    ui.get_by_test_id("lan-lan-1").locator(".lan-head").click()
    ui.get_by_test_id("lan-dmz-flag").click()  # the box follows the edit once planned
    lan = ui.get_by_test_id("lan-lan-1")
    expect(lan).to_have_attribute("data-issue-codes", "DMZ_MULTIPLE")
    expect(lan).to_have_class(re.compile(r"\bstaged-changed\b.*\bhas-issues\b"))  # draft, red
    assert "DMZ_MULTIPLE" in (lan.get_attribute("title") or "")
    expect(ui.get_by_test_id("problem").first).to_have_attribute("data-code", "DMZ_MULTIPLE")
    expect(ui.get_by_test_id("deploy")).to_be_disabled()
    expect(ui.get_by_test_id("deploy-why")).to_contain_text("not applied")
    shot(ui, "editor-invalid-dmz")
    ui.get_by_test_id("discard").click()
    expect(lan).not_to_have_attribute("data-issue-codes", "DMZ_MULTIPLE")
    expect(ui.get_by_test_id("deploy")).to_be_enabled()

    # an address outside the LAN's subnet
    ui.get_by_test_id("decky-br").locator(".decky-name").click()
    field = ui.get_by_test_id("ip-dmz")
    field.fill("10.255.255.9")
    field.press("Enter")
    card = ui.get_by_test_id("decky-br")
    expect(card).to_have_attribute("data-issue-codes", "IP_OUT_OF_SUBNET")
    expect(ui.get_by_test_id("inspector-decky")).to_contain_text("IP_OUT_OF_SUBNET")
    expect(ui.get_by_test_id("deploy")).to_be_disabled()
    shot(ui, "editor-invalid-ip", doc=True)

    after = server.topology(name)  # nothing refused reached the database
    assert after["version"] == before["version"]
    assert [lan["is_dmz"] for lan in after["lans"]] == [True, False]


def _grabbable(page: Page, handle: Locator) -> tuple[float, float] | None:
    """The handle's centre once it has stopped moving and nothing covers it there."""
    first = handle.bounding_box()
    page.wait_for_timeout(100)
    box = handle.bounding_box()
    if first is None or box is None or first != box:
        return None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    hit = "([x, y]) => document.elementFromPoint(x, y)?.closest('.react-flow__resize-control')"
    on_top = page.evaluate(f"{hit} != null", [x, y])
    return (x, y) if on_top else None


def test_a_resized_lan_box_keeps_its_size_after_a_reload(ui: Page, server: Server) -> None:
    name = server.new_name()
    server.create_document(document(name))
    sign_in(ui, f"{server.url}/#/t/{name}", server.admin)

    def lan_1() -> dict[str, Any]:
        return next(x for x in server.topology(name)["lans"] if x["name"] == "lan-1")

    laid_out = wait_for(lambda: lan_1() if lan_1()["w"] is not None else None)  # the auto-layout
    node = ui.locator(".react-flow__node[data-id='lan:lan-1']")
    ui.locator(".react-flow__controls-fitview").click()  # every box on screen, whatever came late
    ui.get_by_test_id("lan-lan-1").locator(".lan-head").click()  # the handles show when selected
    handle = node.locator(".react-flow__resize-control.handle.bottom.right")
    x, y = wait_for(lambda: _grabbable(ui, handle))
    ui.mouse.move(x, y)
    ui.mouse.down()
    ui.mouse.move(x + 60, y + 40, steps=8)
    ui.mouse.move(x + 120, y + 80, steps=8)
    ui.mouse.up()

    stored = wait_for(lambda: lan_1() if lan_1()["w"] > laid_out["w"] else None)
    assert stored["h"] > laid_out["h"]
    ui.reload()
    node.wait_for()
    # the box is drawn at the stored size (the node's own pixels, before the viewport's zoom)
    expect(node).to_have_css("width", f"{int(stored['w'])}px")
    expect(node).to_have_css("height", f"{int(stored['h'])}px")
