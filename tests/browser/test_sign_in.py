"""Signing in: without a token the app asks; the one-time URL `decnet serve` printed works
once; a pasted token works; a wrong one says so."""

from __future__ import annotations

from browser_support import Console, shot
from playwright.sync_api import Page, expect
from serve_support import Server


def test_without_a_token_the_app_asks_to_sign_in(ui: Page, server: Server) -> None:
    ui.goto(f"{server.url}/#/t/anything")
    expect(ui.get_by_test_id("signin")).to_be_visible()
    expect(ui.get_by_text("decnet token create")).to_be_visible()
    assert ui.evaluate("sessionStorage.getItem('decnet.token')") is None
    shot(ui, "sign-in", doc=True)


def test_the_one_time_login_url_signs_in_once(ui: Page, server: Server, console: Console) -> None:
    ui.goto(f"{server.url}/#login={server.login_code}")
    expect(ui.get_by_test_id("who")).to_contain_text("session-")
    expect(ui.get_by_test_id("who")).to_contain_text("admin")
    assert "login=" not in ui.url  # the code leaves the address bar at once
    expect(ui.get_by_test_id("new-topology")).to_be_enabled()
    shot(ui, "topology-list", doc=True)

    again = ui.context.new_page()
    console.allow(r"status of 401")  # the used code's answer, provoked on purpose
    again.goto(f"{server.url}/#login={server.login_code}")
    expect(again.get_by_test_id("auth-message")).to_contain_text("The login link did not work")
    expect(again.get_by_test_id("signin")).to_be_visible()


def test_a_pasted_token_signs_in_and_a_wrong_one_is_refused(
    ui: Page, server: Server, console: Console
) -> None:
    ui.goto(server.url)
    ui.get_by_test_id("token-input").fill("dnt_nope_nope")
    console.allow(r"status of 401")  # the wrong token's answer, provoked on purpose
    ui.get_by_test_id("token-submit").click()
    expect(ui.get_by_test_id("auth-message")).to_contain_text("That token did not work")
    ui.get_by_test_id("token-input").fill(server.admin)
    ui.get_by_test_id("token-submit").click()
    expect(ui.get_by_test_id("who")).to_contain_text("browser-admin")
    ui.reload()  # the token lasts for the tab's session
    expect(ui.get_by_test_id("who")).to_contain_text("browser-admin")
