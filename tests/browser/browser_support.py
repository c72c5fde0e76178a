"""Helpers of the browser tests (a uniquely named module: `conftest` exists elsewhere too).

The editor runs in Debian's Chromium driven by Playwright, against a real `decnet serve` in a
process of its own on an ephemeral 127.0.0.1 port and the local Docker engine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from local_engine import docker
from playwright.sync_api import ConsoleMessage, Error, Locator, Page
from subnet_pools import fresh_lans

from decnet.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
WEB_DIST = PROJECT_ROOT / "web" / "dist"
ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"
DOC_IMAGES = PROJECT_ROOT / "docs" / "img"


def document(name: str) -> str:
    """dmz (gateway gw: http) and lan-1 (bridge br into the DMZ, and decky a), on pinned
    subnets no concurrent test holds."""
    dmz, lan = fresh_lans(2)
    return f"""name: {name}
host: localhost
lans:
  - {{name: dmz, dmz: true, subnet: {dmz}}}
  - {{name: lan-1, subnet: {lan}}}
deckies:
  - {{name: gw, home: dmz, services: [http]}}
  - {{name: br, home: lan-1, services: [http], attach: [dmz], forwards_l3: true}}
  - {{name: a, home: lan-1, services: [http]}}
"""


def containers(topology: str) -> dict[str, dict[str, str]]:
    """Container name -> {id, state, decky, role, service} of a topology, by its labels."""
    ids = docker("ps", "-aq", "--filter", f"label=decnet.topology={topology}").stdout.split()
    if not ids:
        return {}
    out: dict[str, dict[str, str]] = {}
    for c in json.loads(docker("inspect", *ids).stdout):
        labels = c["Config"]["Labels"] or {}
        out[c["Name"].lstrip("/")] = {
            "id": c["Id"],
            "state": c["State"]["Status"],
            "decky": labels.get("decnet.decky", ""),
            "role": labels.get("decnet.role", ""),
            "service": labels.get("decnet.service", ""),
        }
    return out


def drag_to(page: Page, source: Locator, target: Locator, dx: float, dy: float) -> None:
    """HTML drag and drop from the palette onto the canvas, `dx, dy` into the target (negative:
    from its right/bottom edge). Forced: the point may lie on a card inside the target box,
    where the drop lands as it would under a user's mouse."""
    box = target.bounding_box()
    assert box is not None, "the drop target is not on screen"
    x = dx if dx >= 0 else box["width"] + dx
    y = dy if dy >= 0 else box["height"] + dy
    source.drag_to(target, target_position={"x": x, "y": y}, force=True)


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url)
    page.get_by_test_id("token-input").fill(token)
    page.get_by_test_id("token-submit").click()
    page.get_by_test_id("who").wait_for()


def shot(page: Page, name: str, *, doc: bool = False) -> Path:
    """A screenshot artifact (artifacts/browser/); a `doc` one is also copied to docs/img/
    (what docs/editor.md shows) when DECNET_DOC_SCREENSHOTS=1."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if doc and os.environ.get("DECNET_DOC_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOC_IMAGES / f"{name}.png")
    return path


class Console:
    """Console errors and uncaught exceptions of the test's pages; `allow` names the few a
    test provokes on purpose (the browser logs every 4xx answer as an error)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.problems.append(f"console error: {msg.text} at {msg.location}")

    def on_error(self, err: Error) -> None:
        self.problems.append(f"page error: {err.message}")

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]


_RECORD_CLASSES = """(ids) => {
  const seen = {};
  const look = () => {
    for (const id of ids) {
      const el = document.querySelector(`[data-testid="${id}"]`);
      const cls = el ? el.getAttribute("class") : null;
      const at = Math.round(performance.now());
      if (cls !== null && !(seen[id] ||= new Map()).has(cls)) seen[id].set(cls, at);
    }
  };
  look();
  new MutationObserver(look).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["class"],
  });
  window.__classesSeen = () => Object.fromEntries(
    Object.entries(seen).map(([k, v]) => [k, [...v.keys()].sort()]));
  window.__classesTimeline = () => Object.fromEntries(
    Object.entries(seen).map(([k, v]) => [k, Object.fromEntries(v)]));
}"""


_RECORD_BOXES = """(ids) => {
  const seen = {};
  const look = () => {
    for (const id of ids) {
      const el = document.querySelector(`[data-testid="${id}"]`);
      if (!el) continue;
      const r = el.getBoundingClientRect();
      (seen[id] ||= new Set()).add([r.left, r.top, r.width, r.height].map(Math.round).join(","));
    }
  };
  look();
  const all = { subtree: true, childList: true, attributes: true };
  new MutationObserver(look).observe(document.body, all);
  window.__boxesSeen = () => Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, [...v]]));
}"""


def record_boxes(page: Page, test_ids: list[str]) -> None:
    """Record every box (`left,top,width,height`) the elements `test_ids` take from now on, at
    each change of the page: a layout shift while a short-lived line shows is still seen."""
    page.evaluate(_RECORD_BOXES, test_ids)


def boxes_seen(page: Page) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = page.evaluate("window.__boxesSeen()")
    return seen


def record_classes(page: Page, test_ids: list[str]) -> None:
    """Record every class attribute the elements `test_ids` take from now on: a state that
    lasts less than a poll of `expect` (an apply of a small change) is still seen."""
    page.evaluate(_RECORD_CLASSES, test_ids)


def classes_seen(page: Page) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = page.evaluate("window.__classesSeen()")
    return seen


def classes_timeline(page: Page) -> dict[str, dict[str, int]]:
    """Each recorded class with the page time (ms) it was first seen: for failure messages."""
    timeline: dict[str, dict[str, int]] = page.evaluate("window.__classesTimeline()")
    return timeline
