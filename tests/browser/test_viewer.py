"""A viewer sees everything and can change nothing: controls are disabled, with the reason."""

from __future__ import annotations

from browser_support import document, shot, sign_in
from playwright.sync_api import Page, expect
from serve_support import Server


def test_a_viewer_cannot_edit(ui: Page, server: Server) -> None:
    name = server.new_name()
    before = server.create_document(document(name))
    sign_in(ui, server.url, server.viewer)
    expect(ui.get_by_test_id("who")).to_contain_text("viewer")
    expect(ui.get_by_test_id("new-topology")).to_be_disabled()
    row = ui.get_by_test_id(f"row-{name}")
    expect(row.get_by_role("button", name="Delete")).to_be_disabled()
    expect(row.get_by_role("button", name="Deploy")).to_have_attribute(
        "title", "viewers cannot change anything: sign in with an admin token"
    )

    ui.get_by_test_id(f"open-{name}").click()
    expect(ui.get_by_test_id("decky-gw")).to_be_visible()
    expect(ui.get_by_test_id("deploy")).to_be_disabled()
    expect(ui.get_by_test_id("deploy")).to_have_attribute("title", "viewers cannot deploy")
    palette = ui.get_by_test_id("palette-archetype-linux-server")
    expect(palette).to_have_attribute("draggable", "false")
    expect(palette).to_have_class("palette-item palette-archetype disabled")
    expect(ui.get_by_test_id("readonly-note")).to_contain_text(
        "Read-only: viewers cannot change anything"
    )

    # dragging does nothing; the inspector shows everything, with every field disabled
    palette.drag_to(
        ui.get_by_test_id("lan-lan-1"), target_position={"x": 200, "y": 100}, force=True
    )
    ui.get_by_test_id("decky-br").locator(".decky-name").click()
    inspector = ui.get_by_test_id("inspector-decky")
    expect(inspector).to_contain_text("home LAN lan-1")
    expect(ui.get_by_test_id("ip-dmz")).to_be_disabled()
    expect(ui.get_by_test_id("decky-forwards")).to_be_disabled()
    expect(inspector.get_by_role("button", name="Remove decky")).to_be_disabled()
    ui.keyboard.press("Delete")
    ui.get_by_test_id("lan-lan-1").locator(".lan-head").click()
    expect(ui.get_by_test_id("lan-subnet")).to_be_disabled()
    expect(ui.get_by_test_id("lan-dmz-flag")).to_be_disabled()
    shot(ui, "editor-viewer", doc=True)

    after = server.topology(name)
    assert after["version"] == before["version"]
    assert [d["name"] for d in after["deckies"]] == ["gw", "br", "a"]
    assert after["lans"] == before["lans"]  # not even the layout moved
