"""The editor offers exactly what the server's verdicts allow (decnet/policy.py, served as
`actions`): per status, the list's buttons are enabled or disabled with the server's reason, and
the canvas is editable or read-only with it. A torn-down topology, which the server will not
deploy again, is offered as a copy instead."""

from __future__ import annotations

from browser_support import document, sign_in
from playwright.sync_api import Page, expect
from serve_support import Server

from decnet.engine.leases import current_owner
from decnet.models import Status
from decnet.store import Store

PATHS: dict[str, list[Status]] = {
    "pending": [],
    "deploying": [Status.DEPLOYING],
    "active": [Status.DEPLOYING, Status.ACTIVE],
    "failed": [Status.DEPLOYING, Status.FAILED],
    "tearing-down": [Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN],
    "torn-down": [Status.DEPLOYING, Status.ACTIVE, Status.TEARING_DOWN, Status.TORN_DOWN],
}
BUTTONS = {"deploy": "Deploy", "teardown": "Tear down", "delete": "Delete"}


def walked(server: Server, path: list[Status]) -> str:
    name = server.new_name()
    server.create_document(document(name).replace("host: localhost", "host: nowhere-host"))
    with Store(server.home / "decnet.db") as store:
        for status in path:
            store.transition(name, status, reason="test")
        if path and path[-1] in (Status.DEPLOYING, Status.TEARING_DOWN):  # a live run holds it
            store.start_run("deploy", ["nowhere-host"], [name], "/nonexistent", current_owner(),
                            3600)  # fmt: skip
    return name


def test_the_list_and_the_canvas_offer_exactly_what_the_server_allows(
    ui: Page, server: Server
) -> None:
    names = {where: walked(server, path) for where, path in PATHS.items()}
    sign_in(ui, server.url, server.admin)
    for where, name in names.items():
        actions = server.topology(name)["actions"]
        row = ui.get_by_test_id(f"row-{name}")
        for action, label in BUTTONS.items():
            if action == "deploy" and where == "torn-down":  # refused: a copy is offered instead
                offer = row.get_by_test_id(f"deploy-copy-{name}")
                expect(offer).to_be_enabled()
                expect(offer).to_have_attribute("title", actions["deploy"]["reason"])
                expect(row.get_by_role("button", name=label, exact=True)).to_have_count(0)
                continue
            button = row.get_by_role("button", name=label, exact=True)
            if actions[action]["allowed"]:
                expect(button, f"{where}: {action}").to_be_enabled()
            else:
                expect(button, f"{where}: {action}").to_be_disabled()
                expect(button).to_have_attribute("title", actions[action]["reason"])
    for where in ("torn-down", "active"):
        name = names[where]
        edit = server.topology(name)["actions"]["edit"]
        ui.get_by_test_id(f"open-{name}").click()
        expect(ui.get_by_test_id("decky-gw")).to_be_visible()
        palette = ui.get_by_test_id("palette-archetype-linux-server")
        if edit["allowed"]:
            expect(palette).to_have_attribute("draggable", "true")
        else:
            expect(palette).to_have_attribute("draggable", "false")
            expect(ui.get_by_test_id("readonly-note")).to_contain_text(edit["reason"])
        ui.go_back()
