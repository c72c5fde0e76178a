"""Deploying from the browser and changing a live maze: the status pill follows the event
stream without a reload; staged edits are reviewed as a plan and applied as one batch, which
creates the new decky's containers on the engine and leaves every other container alone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_support import (
    boxes_seen,
    classes_seen,
    classes_timeline,
    containers,
    document,
    drag_to,
    record_boxes,
    record_classes,
    shot,
    sign_in,
)
from local_engine import remove_labelled
from playwright.sync_api import Page, expect
from serve_support import Server, wait_for

DEPLOY_TIMEOUT = 240


@pytest.fixture(scope="module")
def maze(server: Server) -> Iterator[str]:
    """A small pending topology on random private subnets; deployed by the first test."""
    name = server.new_name()
    server.create_document(document(name))
    try:
        yield name
    finally:
        remove_labelled(name)


def _active(server: Server, name: str) -> None:
    """Make sure `maze` is live (if the deploy test did not run or failed)."""
    if server.topology(name)["status"] == "active":
        return
    with server.api() as c:
        c.post(f"/topologies/{name}/deploy", json={}).raise_for_status()
    wait_for(lambda: server.topology(name)["status"] == "active", timeout=DEPLOY_TIMEOUT, every=1)


def test_deploy_turns_the_status_pill_active_without_a_reload(
    ui: Page, server: Server, maze: str
) -> None:
    sign_in(ui, f"{server.url}/#/t/{maze}", server.admin)
    pill = ui.get_by_test_id("status-pill")
    expect(pill).to_have_attribute("data-status", "pending")
    expect(ui.get_by_test_id("stream")).to_have_text("live")
    ui.evaluate("window.__sameDocument = true")  # gone if the page reloads
    ui.get_by_test_id("deploy").click()
    expect(pill).to_have_attribute("data-status", "active", timeout=DEPLOY_TIMEOUT * 1000)
    assert ui.evaluate("window.__sameDocument") is True
    running = {c["decky"] for c in containers(maze).values() if c["state"] == "running"}
    assert running == {"gw", "br", "a"}
    expect(ui.get_by_test_id("dot-gw")).to_have_attribute("class", "dot dot-running")
    expect(ui.get_by_test_id("stagebar")).to_be_visible()  # live: edits are staged now
    ui.get_by_role("link", name="← topologies").click()  # the list has the run, from the stream
    row = ui.get_by_test_id(f"row-{maze}")
    expect(row.get_by_test_id("status-pill")).to_have_attribute("data-status", "active")
    expect(row).to_contain_text("deploy successful")
    assert ui.evaluate("window.__sameDocument") is True


@pytest.mark.usefixtures("needs_ops")
def test_two_staged_live_edits_are_planned_and_applied_as_one_batch(
    ui: Page, server: Server, maze: str
) -> None:
    _active(server, maze)
    before = {name: c["id"] for name, c in containers(maze).items()}
    version = server.topology(maze)["version"]
    sign_in(ui, f"{server.url}/#/t/{maze}", server.admin)
    expect(ui.get_by_test_id("editor")).to_have_attribute("data-live", "true")

    drag_to(
        ui,
        ui.get_by_test_id("palette-archetype-linux-server"),
        ui.get_by_test_id("lan-lan-1"),
        -100,
        -20,
    )
    card = ui.get_by_test_id("decky-linux-server-1")
    expect(card).to_have_class(re.compile(r"\bstaged-added\b"))
    drag_to(ui, ui.get_by_test_id("palette-service-telnet"), card, 40, 20)
    expect(ui.get_by_test_id("stage-count")).to_have_text("2 staged")
    expect(ui.get_by_test_id("counts")).to_contain_text("4 deckies (1 staged)")  # as drawn
    expect(card.locator(".chip")).to_have_text(["ssh", "http", "telnet"])
    assert server.topology(maze)["version"] == version  # staged: nothing sent yet

    expect(ui.get_by_test_id("apply")).to_have_count(0)  # the review's button is the only Apply
    ui.get_by_test_id("canvas").click(position={"x": 5, "y": 5})  # keys act outside a field
    ui.keyboard.press("Control+s")  # opens the review, applies nothing
    dialog = ui.get_by_test_id("review-dialog")
    expect(dialog).to_be_visible()
    ui.keyboard.press("Control+s")
    expect(dialog.get_by_test_id("plan-container")).to_have_count(4)
    assert server.topology(maze)["version"] == version
    rows = dialog.get_by_test_id("plan-container")
    expect(rows).to_have_count(4)  # base + ssh + http + telnet, all created
    for i in range(4):
        expect(rows.nth(i)).to_have_attribute("data-action", "create")
        expect(rows.nth(i)).to_contain_text("linux-server-1")
    expect(dialog.get_by_test_id("plan-unchanged")).to_contain_text(
        f"{len(before)} containers unchanged"
    )
    expect(dialog.get_by_test_id("session-warning")).to_have_count(0)  # only new containers
    shot(ui, "editor-review", doc=True)
    others = [f"dot-{d}" for d in ("gw", "br", "a")]
    record_classes(ui, others)  # a small change applies in seconds: record, then check
    record_boxes(ui, ["canvas"])
    dialog.get_by_test_id("review-apply").click()

    # applying: said in words; the other deckies keep their dots throughout
    expect(ui.get_by_test_id("work")).to_contain_text(re.compile("your change", re.IGNORECASE))
    shot(ui, "editor-applying", doc=True)
    expect(ui.get_by_test_id("notice")).to_contain_text("Applied", timeout=DEPLOY_TIMEOUT * 1000)
    seen = classes_seen(ui)
    assert all(seen[dot] == ["dot dot-running"] for dot in others), classes_timeline(ui)
    boxes = boxes_seen(ui)["canvas"]  # the work line and the notice float: the canvas stays put
    assert len(boxes) == 1, boxes
    expect(ui.get_by_test_id("dot-linux-server-1")).to_have_class("dot dot-running")
    expect(ui.get_by_test_id("stage-count")).to_have_text("0 staged")
    expect(card).not_to_have_class(re.compile(r"\bstaged\b"))
    after = containers(maze)
    new = {c["role"] or "?": c for c in after.values() if c["decky"] == "linux-server-1"}
    assert new["base"]["state"] == "running"
    assert sorted(
        c["service"]
        for c in after.values()
        if c["decky"] == "linux-server-1" and c["role"] == "service"
    ) == ["http", "ssh", "telnet"]
    assert {name: after[name]["id"] for name in before} == before  # the others untouched
    stored = server.topology(maze)
    assert stored["version"] == version + 1
    assert next(d for d in stored["deckies"] if d["name"] == "linux-server-1")["services"] == [
        "ssh",
        "http",
        "telnet",
    ]
    shot(ui, "editor-applied", doc=True)


@pytest.mark.usefixtures("needs_ops")
def test_the_review_warns_when_intruders_sessions_drop_and_a_staged_removal_shows(
    ui: Page, server: Server, maze: str
) -> None:
    _active(server, maze)
    version = server.topology(maze)["version"]
    sign_in(ui, f"{server.url}/#/t/{maze}", server.admin)
    expect(ui.get_by_test_id("editor")).to_have_attribute("data-live", "true")
    ui.get_by_test_id("chip-a-http").click()
    expect(ui.get_by_test_id("inspector-service")).to_contain_text("http on a")
    ui.keyboard.press("Delete")  # staged: the chip stays, struck out, until it is applied
    chip = ui.get_by_test_id("chip-a-http")
    expect(chip).to_have_class(re.compile(r"\bremoved\b"))
    expect(chip).to_have_attribute("title", "http: to remove (staged)")
    expect(ui.get_by_test_id("inspector-decky")).to_contain_text("Decky a")  # not the service

    ui.get_by_test_id("decky-br").locator(".decky-name").click()
    ui.get_by_test_id("decky-forwards").click()  # off: recreates br's base container
    ui.get_by_test_id("confirm").click()
    expect(ui.get_by_test_id("stage-count")).to_have_text("2 staged")
    ui.get_by_test_id("review").click()
    warning = ui.get_by_test_id("review-dialog").get_by_test_id("session-warning")
    expect(warning).to_contain_text(
        "br is recreated (its IP stack restarts): every intruder session on it drops."
    )
    expect(warning).to_contain_text("On a, http is removed: intruder sessions on it end.")
    shot(ui, "editor-review-sessions-drop", doc=True)
    ui.keyboard.press("Escape")
    ui.get_by_test_id("discard").click()
    expect(chip).not_to_have_class(re.compile(r"\bremoved\b"))  # back as it was
    assert server.topology(maze)["version"] == version  # reviewed, never applied
