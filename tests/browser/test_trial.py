"""What a new user's trial of the editor hit (issue 16, "What the trial hit" 1 to 10), each
checked in Chromium against the real `decnet serve`. The ones that need a deployed maze (a live
apply: progress, unaffected dots, recreate warnings, staged removals) are in test_live.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_support import document, drag_to, shot, sign_in
from playwright.sync_api import Page, expect
from serve_support import Server, wait_for

from decnet import events as ev
from decnet.engine.leases import current_owner
from decnet.models import Status
from decnet.store import Store

NOWHERE = "nowhere-host"
"""A host the inventory does not have: nothing is deployed, and drift cannot reach it."""


def walk(server: Server, name: str, *path: Status) -> None:
    with Store(server.home / "decnet.db") as store:
        for status in path:
            store.transition(name, status, reason="test")


def on_nowhere(server: Server) -> str:
    name = server.new_name()
    server.create_document(document(name).replace("host: localhost", f"host: {NOWHERE}"))
    return name


def open_editor(ui: Page, server: Server, name: str, token: str | None = None) -> None:
    sign_in(ui, f"{server.url}/#/t/{name}", token or server.admin)
    expect(ui.get_by_test_id("decky-gw")).to_be_visible()


# --- 1. status dots say why -------------------------------------------------------------------


def test_dots_say_which_host_is_not_reporting_and_check_again(ui: Page, server: Server) -> None:
    name = on_nowhere(server)
    walk(server, name, Status.DEPLOYING, Status.ACTIVE)
    open_editor(ui, server, name)
    dot = ui.get_by_test_id("dot-gw")
    expect(dot).to_have_class("dot dot-running")  # deployed, not checked yet: it says so
    expect(dot).to_have_attribute("title", re.compile("not checked since"))
    with server.api() as c:
        runs_before = len(c.get("/runs").json())
        assert c.post("/drift").status_code == 202  # a real drift job of the server
    expect(dot).to_have_class("dot dot-unknown", timeout=120_000)
    why = (
        f"host {NOWHERE} is not reporting: host {NOWHERE} is not in the inventory. "
        "Fix that, then check again (drift)."
    )
    expect(dot).to_have_attribute("title", why)
    expect(ui.get_by_test_id("health")).to_contain_text(f"host {NOWHERE} is not reporting")
    ui.get_by_test_id("decky-a").locator(".decky-name").click()
    expect(ui.get_by_test_id("decky-state")).to_contain_text("not in the inventory")
    shot(ui, "editor-host-not-reporting", doc=True)
    ui.get_by_test_id("check-drift").click()  # asks the server for a new check
    with server.api() as c:
        wait_for(lambda: len(c.get("/runs").json()) > runs_before + 1, timeout=60)
    expect(ui.get_by_test_id("notice")).to_contain_text(f"Checking what runs on {NOWHERE}")


# --- 2. the whole LAN box takes a card's handle -----------------------------------------------


def test_a_handle_let_go_anywhere_over_a_lan_box_attaches_the_decky(
    ui: Page, server: Server
) -> None:
    name = server.new_name()
    server.create_document(document(name))
    open_editor(ui, server, name)
    handle = ui.locator(".react-flow__node[data-id='decky:a'] .member-handle")
    start = handle.bounding_box()
    dmz = ui.get_by_test_id("lan-dmz")
    box = dmz.bounding_box()
    assert start and box
    # the middle of the box's empty right half: far from its own small handles
    x, y = box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.5
    ui.mouse.move(start["x"] + 5, start["y"] + 5)
    ui.mouse.down()
    ui.mouse.move(x, y, steps=12)
    expect(dmz).to_have_class(re.compile(r"\bdrop-target\b"))  # the box says it takes it
    shot(ui, "editor-attach-drop-target", doc=True)
    ui.mouse.up()

    def attached() -> Any:
        a = next(d for d in server.topology(name)["deckies"] if d["name"] == "a")
        return a if any(m["lan"] == "dmz" for m in a["memberships"]) else None

    wait_for(attached)
    expect(dmz).not_to_have_class(re.compile(r"\bdrop-target\b"))
    expect(ui.locator("[data-testid='edge-m:a:dmz']")).to_have_count(1)


# --- 3. a problem lands on the element being edited, in words ---------------------------------


def test_an_address_clash_lands_on_the_edited_decky_and_reads_in_words(
    ui: Page, server: Server
) -> None:
    name = server.new_name()
    before = server.create_document(document(name))
    gw_ip = next(m["ip"] for d in before["deckies"] if d["name"] == "gw" for m in d["memberships"])
    open_editor(ui, server, name)
    ui.get_by_test_id("decky-br").locator(".decky-name").click()
    field = ui.get_by_test_id("ip-dmz")
    field.fill(gw_ip)  # the address gw holds
    field.press("Enter")
    expect(ui.get_by_test_id("decky-br")).to_have_attribute("data-issue-codes", "IP_DUPLICATE")
    expect(ui.get_by_test_id("decky-gw")).not_to_have_attribute("data-issue-codes", re.compile("."))
    problem = ui.get_by_test_id("problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("decky br · address on dmz")
    expect(problem).to_contain_text(f"IP {gw_ip} on LAN 'dmz' is used by both")
    expect(problem).not_to_contain_text("deckies[")
    shot(ui, "editor-problem-in-words", doc=True)
    problem.get_by_role("button").click()
    expect(ui.get_by_test_id("inspector-decky")).to_contain_text("Decky br")
    assert server.topology(name)["version"] == before["version"]  # refused: nothing stored


# --- 4. the apply's progress, in plain words --------------------------------------------------


def test_a_running_deploy_shows_the_hosts_progress_instead_of_buttons(
    ui: Page, server: Server
) -> None:
    name = on_nowhere(server)
    with Store(server.home / "decnet.db") as store:
        store.transition(name, Status.DEPLOYING, reason="deploy run test")
        run = store.start_run("deploy", [NOWHERE], [name], "/nonexistent", current_owner(), 3600)
    open_editor(ui, server, name)
    work = ui.get_by_test_id("work")
    expect(work).to_contain_text("Deploying")
    expect(ui.get_by_test_id("deploy")).to_have_count(0)  # not a dead button with a reason
    expect(ui.get_by_test_id("deploy-why")).to_have_count(0)
    expect(ui.get_by_test_id("dot-gw")).to_have_class("dot dot-applying")
    with Store(server.home / "decnet.db") as store:  # what the runner writes as the host reports
        for done in (0, 35):
            progress = ev.TaskProgress(
                run=run, host=NOWHERE, topology=name, phase="create", done=done, total=43
            )
            store.append_event(progress, topology=name)
    expect(work).to_contain_text("Deploying: creating containers")
    expect(ui.get_by_test_id("work-count")).to_have_text("35 of 43")
    expect(ui.get_by_test_id("work-progress")).to_have_attribute("value", "35")
    shot(ui, "editor-deploy-progress", doc=True)
    with Store(server.home / "decnet.db") as store:
        store.finish_run(run, "successful", {})
        store.transition(name, Status.ACTIVE, reason="deploy run test")
    expect(work).to_have_count(0)
    expect(ui.get_by_test_id("status-pill")).to_have_text("active")


# --- 5. legible at the opening --------------------------------------------------------------

CARD_TEXT = "document.querySelector('.decky-card .decky-name')"
ZOOM = """() => {
  const t = document.querySelector('.react-flow__viewport').style.transform;
  const m = /scale\\(([0-9.]+)\\)/.exec(t);
  return m ? Number(m[1]) : 1;
}"""
CROSSINGS = """() => {
  // Points along every membership line that lie under a card other than the one it leaves.
  const out = [];
  for (const g of document.querySelectorAll("g[data-testid^='edge-m:']")) {
    const path = g.querySelector("path");
    const source = g.dataset.testid.split(":")[1];
    const ctm = path.getScreenCTM();
    const length = path.getTotalLength();
    for (let at = 0; at <= length; at += 4) {
      const p = path.getPointAtLength(at);
      const x = ctm.a * p.x + ctm.c * p.y + ctm.e;
      const y = ctm.b * p.x + ctm.d * p.y + ctm.f;
      for (const el of document.elementsFromPoint(x, y)) {
        const card = el.closest(".decky-card");
        if (card && card.dataset.testid !== `decky-${source}`)
          out.push([g.dataset.testid, card.dataset.testid]);
      }
    }
  }
  return out;
}"""


def test_the_canvas_opens_readable_with_addresses_and_lines_clear_of_cards(
    ui: Page, server: Server
) -> None:
    name = server.new_name()
    with server.api() as c:
        spec = {"name": name, "depth": 3, "branching": 2, "deckies_min": 2, "deckies_max": 3,
                "cross_p": 1.0, "seed": 11}  # fmt: skip
        assert c.post("/topologies", json={"generate": spec}).status_code == 201
    stored = server.topology(name)
    open_editor(ui, server, name)
    ui.wait_for_timeout(300)
    zoom = ui.evaluate(ZOOM)
    font = ui.evaluate(f"parseFloat(getComputedStyle({CARD_TEXT}).fontSize)")
    assert font * zoom >= 9.5, f"card text is {font * zoom:.1f} px at the opening"
    canvas = ui.get_by_test_id("canvas").bounding_box()
    lans = [b for b in (n.bounding_box() for n in ui.locator(".react-flow__node-lan").all()) if b]
    assert canvas and lans
    right = min(canvas["x"] + canvas["width"], max(b["x"] + b["width"] for b in lans))
    covered = right - max(canvas["x"], min(b["x"] for b in lans))
    assert covered >= 0.6 * canvas["width"], "the maze sits in empty space"

    gw_ip = next(m["ip"] for d in stored["deckies"] if d["name"] == "gw" for m in d["memberships"])
    expect(ui.get_by_test_id("ip-of-gw")).to_have_text(gw_ip)
    ui.locator(".react-flow__controls-fitview").click()  # every line on screen
    ui.wait_for_timeout(400)
    bridges = sum(len(d["memberships"]) - 1 for d in stored["deckies"])
    expect(ui.locator("g[data-testid^='edge-m:']")).to_have_count(bridges)
    assert ui.evaluate(CROSSINGS) == []
    shot(ui, "editor-lines-clear-of-cards", doc=True)


# --- 6. editing basics: undo/redo while pending, search, copy/paste, select all ----------------


def test_a_pending_topology_undoes_and_redoes_what_was_sent(ui: Page, server: Server) -> None:
    name = server.new_name()
    before = server.create_document(document(name))
    open_editor(ui, server, name)
    drag_to(
        ui,
        ui.get_by_test_id("palette-archetype-web-server"),
        ui.get_by_test_id("lan-lan-1"),
        -100,
        -20,
    )
    expect(ui.get_by_test_id("decky-web-server-1")).to_be_visible()
    names = lambda: [d["name"] for d in server.topology(name)["deckies"]]  # noqa: E731
    wait_for(lambda: "web-server-1" in names())
    ui.get_by_test_id("canvas").click(position={"x": 5, "y": 300})  # keys act outside a field
    ui.keyboard.press("Control+z")
    expect(ui.get_by_test_id("decky-web-server-1")).to_have_count(0)
    wait_for(lambda: names() == ["gw", "br", "a"])
    ui.keyboard.press("Control+Shift+z")
    expect(ui.get_by_test_id("decky-web-server-1")).to_be_visible()
    wait_for(lambda: "web-server-1" in names())
    assert server.topology(name)["version"] == before["version"] + 3  # add, its undo, its redo
    expect(ui.get_by_test_id("redo")).to_be_disabled()
    expect(ui.get_by_test_id("undo")).to_be_enabled()


def test_search_selects_and_centres_and_ctrl_a_selects_elements_not_text(
    ui: Page, server: Server
) -> None:
    name = server.new_name()
    stored = server.create_document(document(name))
    br_dmz = next(
        m["ip"]
        for d in stored["deckies"]
        if d["name"] == "br"
        for m in d["memberships"]
        if m["lan"] == "dmz"
    )
    open_editor(ui, server, name)
    ui.keyboard.press("Control+f")
    box = ui.get_by_test_id("search")
    expect(box).to_be_focused()
    box.fill(br_dmz)
    expect(ui.get_by_test_id("search-result")).to_have_attribute("data-key", "decky:br")
    box.press("Enter")
    expect(ui.get_by_test_id("inspector-decky")).to_contain_text("Decky br")
    expect(ui.locator(".react-flow__node[data-id='decky:br']")).to_have_class(
        re.compile(r"\bselected\b")
    )

    def off_centre() -> tuple[float, float]:
        canvas = ui.get_by_test_id("canvas").bounding_box()
        card = ui.get_by_test_id("decky-br").bounding_box()
        assert canvas and card
        return (
            abs(card["x"] + card["width"] / 2 - (canvas["x"] + canvas["width"] / 2)),
            abs(card["y"] + card["height"] / 2 - (canvas["y"] + canvas["height"] / 2)),
        )

    # the view glides there (250 ms; longer on a loaded machine): read it once it has arrived
    wait_for(lambda: max(off_centre()) < 30, 10, every=0.1, what=f"centred: {off_centre()}")
    box.fill("http")
    expect(ui.get_by_test_id("search-result")).to_have_count(3)  # every decky runs http

    ui.get_by_test_id("canvas").click(position={"x": 5, "y": 300})
    ui.keyboard.press("Control+a")
    expect(ui.locator(".react-flow__node.selected")).to_have_count(5)  # 2 LANs, 3 deckies
    assert ui.evaluate("window.getSelection().toString()") == ""
    expect(ui.get_by_test_id("inspector-several")).to_contain_text("3 deckies and 2 LANs selected")


def test_copy_and_paste_a_decky(ui: Page, server: Server) -> None:
    name = server.new_name()
    server.create_document(document(name))
    with server.api() as c:  # a setting to carry over
        version = server.topology(name)["version"]
        op = {"op": "update_decky", "name": "a", "config": {"http": {"title": "Payroll"}}}
        assert (
            c.post(
                f"/topologies/{name}/ops", json={"ops": [op], "expected_version": version}
            ).status_code
            == 200
        )
    open_editor(ui, server, name)
    ui.get_by_test_id("decky-a").locator(".decky-name").click()
    ui.keyboard.press("Control+c")
    expect(ui.get_by_test_id("notice")).to_contain_text("Copied a")
    ui.keyboard.press("Control+v")
    expect(ui.get_by_test_id("decky-a-1")).to_be_visible()

    def pasted() -> Any:
        return next((d for d in server.topology(name)["deckies"] if d["name"] == "a-1"), None)

    copy = wait_for(pasted)
    assert copy["home_lan"] == "lan-1" and copy["services"] == ["http"]
    # the setting is copied; the copy's own persona (server header) is new, as for any new decky
    assert copy["service_config"]["http"]["title"] == "Payroll"
    # information goes away by itself (item 8: no stale notices)
    expect(ui.get_by_test_id("notice")).to_have_count(0, timeout=15_000)


# --- 7. the palette and the LAN header --------------------------------------------------------


def test_the_dmz_is_not_offered_twice_and_a_new_lan_header_is_one_line(
    ui: Page, server: Server
) -> None:
    name = server.new_name()
    server.create_document(document(name))
    open_editor(ui, server, name)
    dmz = ui.get_by_test_id("palette-dmz-dmz")
    expect(dmz).to_have_attribute("draggable", "false")
    expect(dmz).to_have_attribute("title", "the topology has its DMZ: there is exactly one")
    canvas = ui.get_by_test_id("canvas")
    size = canvas.bounding_box()
    assert size
    drag_to(ui, ui.get_by_test_id("palette-lan-lan"), canvas, 40, size["height"] - 260)
    head = ui.get_by_test_id("lan-lan-2").locator(".lan-head")
    expect(head).to_be_visible()
    height = head.bounding_box()
    name_box = head.locator(".lan-name").bounding_box()
    assert height and name_box
    assert height["height"] < 2.2 * name_box["height"], "the header wraps"
    expect(head.locator(".lan-name")).to_have_text("lan-2")


# --- 8. stale views: a removed service leaves the inspector ------------------------------------


def test_the_inspector_leaves_a_removed_service(ui: Page, server: Server) -> None:
    name = server.new_name()
    server.create_document(document(name))
    open_editor(ui, server, name)
    drag_to(ui, ui.get_by_test_id("palette-service-ssh"), ui.get_by_test_id("decky-a"), 40, 20)
    ui.get_by_test_id("chip-a-ssh").click()
    expect(ui.get_by_test_id("inspector-service")).to_contain_text("ssh on a")
    ui.keyboard.press("Delete")
    expect(ui.get_by_test_id("chip-a-ssh")).to_have_count(0)
    expect(ui.get_by_test_id("inspector-service")).to_have_count(0)
    expect(ui.get_by_test_id("inspector-decky")).to_contain_text("Decky a")
    wait_for(
        lambda: (
            next(d for d in server.topology(name)["deckies"] if d["name"] == "a")["services"]
            == ["http"]
        )
    )


# --- 9. lifecycle words; a torn-down topology is deployed again as a copy ----------------------


def test_a_torn_down_topology_is_deployed_again_as_a_copy(ui: Page, server: Server) -> None:
    name = server.new_name()
    server.create_document(document(name))
    walk(server, name, Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN, Status.TORN_DOWN)
    sign_in(ui, server.url, server.admin)
    row = ui.get_by_test_id(f"row-{name}")
    expect(row.get_by_test_id("status-pill")).to_have_text("torn down")
    row.get_by_test_id(f"deploy-copy-{name}").click()
    dialog = ui.get_by_test_id("copy-dialog")
    copy_name = server.new_name()
    dialog.get_by_test_id("copy-name").fill(copy_name)
    shot(ui, "editor-deploy-a-copy", doc=True)
    dialog.get_by_test_id("copy-open").click()
    expect(ui.get_by_test_id("topology-name")).to_have_text(copy_name, timeout=30_000)
    expect(ui.get_by_test_id("status-pill")).to_have_text("pending")
    expect(ui.get_by_test_id("deploy")).to_be_enabled()
    copy, original = server.topology(copy_name), server.topology(name)

    def design(t: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in "xywh"} for e in t["lans"] + t["deckies"]]

    assert design(copy) == design(original)  # the editor laid the copy out: only where differs
    assert original["status"] == "torn_down"


def test_words_not_identifiers(ui: Page, server: Server) -> None:
    name = server.new_name()
    one = {
        "name": name,
        "lans": [{"name": "dmz", "dmz": True}],
        "deckies": [{"name": "gw", "home": "dmz", "services": ["http"]}],
    }
    with server.api() as c:
        assert c.post("/topologies", json={"document": one}).status_code == 201
    sign_in(ui, server.url, server.admin)
    row = ui.get_by_test_id(f"row-{name}")
    row.get_by_role("button", name="Delete").click()
    expect(ui.get_by_role("dialog")).to_contain_text("its 1 LAN and 1 decky")
    ui.get_by_role("button", name="Cancel").click()
    expect(row.get_by_role("button", name="Tear down")).to_be_disabled()  # never deployed
    row.get_by_test_id(f"open-{name}").click()
    expect(ui.get_by_test_id("counts")).to_contain_text("1 LAN · 1 decky")


# --- 10. the generator form --------------------------------------------------------------------


def test_the_generator_form_explains_every_parameter_and_points_at_the_wrong_one(
    ui: Page, server: Server
) -> None:
    sign_in(ui, server.url, server.admin)
    ui.get_by_test_id("new-topology").click()
    dialog = ui.get_by_test_id("create-dialog")
    for key in ("depth", "branching", "deckies_min", "deckies_max", "forward_p", "cross_p", "seed"):
        expect(dialog.get_by_test_id(f"gen-{key}")).to_have_attribute("type", "number")
    expect(dialog).to_contain_text("letting an intruder route through it")  # forward_p
    expect(dialog).to_contain_text("a maze instead of a tree")  # cross_p
    name = server.new_name()
    dialog.get_by_test_id("gen-name").fill(name)
    dialog.get_by_test_id("gen-depth").fill("17")
    dialog.get_by_test_id("create-submit").click()
    expect(dialog.get_by_test_id("gen-error-depth")).to_have_text("between 1 and 16")
    expect(dialog.get_by_test_id("gen-depth")).to_have_attribute("aria-invalid", "true")
    shot(ui, "editor-generator-form", doc=True)
    # a limit only the server knows (too many LANs) lands on its field too
    dialog.get_by_test_id("gen-depth").fill("16")
    dialog.get_by_test_id("gen-branching").fill("8")
    dialog.get_by_test_id("create-submit").click()
    expect(dialog.get_by_test_id("gen-error-depth")).to_contain_text("LANs")
    with server.api() as c:
        assert c.get(f"/topologies/{name}").status_code == 404


@pytest.fixture(autouse=True)
def _refusals_are_expected(console: Any) -> None:
    """Refusals these tests provoke are logged by the browser as failed requests."""
    console.allow(r"Failed to load resource: the server responded with a status of (400|409|422)")
