"""Web editor benchmark (Playwright on Debian's Chromium, against a real `decnet serve`).

1. Time to interactive for a ~100- and a ~1,000-decky generated topology: from navigation to
   the editor showing decky cards with its event stream open. The first open of each is cold
   (auto-layout, whose positions are then saved through the layout route); the next ones read
   the saved positions. Prints the median of the warm opens and the 1,000 / 100 ratio.
2. Frame time while panning (a viewer's page, so a drag on a card pans): requestAnimationFrame
   intervals while the mouse drags the canvas 1,200 px in 60 steps. At the editor's opening
   zoom on both topologies (React Flow renders only the visible cards), and zoomed out until
   every card of the 1,000-decky one is on screen (the worst case). Prints p50/p95/max and the
   ratio against panning the 100-decky topology, measured in the same run.
3. The same 1,000-decky canvas while 100 attack events a second arrive (written by the
   collector's store call on random deckies, streamed by the server): panning frame time p95
   against the same page without events, and how far the feed lags behind the newest event
   written after a soak (issue 16's goals: within 1.5x; no growing lag); and, during the soak,
   the ms from each event's commit (the bus) to its feed row and to its card's pulse in the
   page, on one wall clock (goal: p99 <= 1 s).
4. Apply: on a deployed ~20-decky topology (local engine, `decnet serve` with its watcher), a
   service dragged onto a decky card, the review opened (Ctrl+S) and applied; the seconds from
   the Apply click to "Applied" on screen, against `docker compose up -d` of the same change on
   a raw twin (issue 17's goal: <= 3 s). Measured once both projects' containers are idle (a
   fresh deploy's sensors take the CPU for their first seconds). Median of --runs.

Run: .venv/bin/python bench/editor.py [--runs N] [--rate 100] [--soak 20]
     [--only-attacks | --only-apply]
(needs web/dist: cd web && npm run build)
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright
from twin import RawTwin, bench_context, edited, params, settle

from decnet.core.catalog import load_catalog
from decnet.core.render import SENSOR_DIR
from decnet.engine.lifecycle import deploy, teardown
from decnet.engine.tokens import Role, create_token
from decnet.engine.topologies import generate_topology
from decnet.events import AttackConnect
from decnet.models import GeneratorParams
from decnet.settings import PROJECT_ROOT
from decnet.store import Store
from decnet.store import db as dbmod
from decnet.store.collect import Batch, Collected

DECNET = Path(sys.executable).with_name("decnet")
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic",
]  # fmt: skip
SIZES = {
    "small": GeneratorParams(
        name="bench-100", depth=3, branching=2, deckies_min=13, deckies_max=13
    ),
    "large": GeneratorParams(name="bench-1k", depth=4, branching=3, deckies_min=25, deckies_max=25),
}
READY = """() => document.querySelector('[data-testid=stream]')?.textContent === 'live'
    && document.querySelectorAll('.react-flow__node-decky').length > 0"""
FRAMES = """async ([steps]) => {
  const gaps = []; let last = performance.now(); let on = true;
  const tick = (t) => { gaps.push(t - last); last = t; if (on) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  window.__stopFrames = () => { on = false; return gaps; };
}"""


class Serve:
    def __init__(self, home: Path, db: Path | None = None, watch: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DECNET_")}
        env |= {"DECNET_HOME": str(home), "DECNET_DB": str(db or home / "decnet.db")}
        home.mkdir(parents=True, exist_ok=True)
        self.log = (home / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [str(DECNET), "serve", "--bind", "127.0.0.1:0", *([] if watch else ["--no-watch"])],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if m := re.search(r"listening on (http://127\.0\.0\.1:\d+)", line):
                self.url = m[1]
                break
        else:
            raise SystemExit(f"decnet serve did not start: see {home / 'serve.log'}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self.log.close()


def prepare(home: Path) -> tuple[dict[str, int], str, str]:
    catalog = load_catalog()
    with Store(home / "decnet.db") as store:
        counts = {
            key: len(generate_topology(store, params, catalog=catalog).deckies)
            for key, params in SIZES.items()
        }
        _, admin = create_token(store, "bench-admin", Role.ADMIN)
        _, viewer = create_token(store, "bench-viewer", Role.VIEWER)
    return counts, admin, viewer


def open_editor(browser: Browser, url: str, token: str, name: str) -> tuple[Page, float]:
    """A fresh context signed in with `token`; the ms from navigation to interactive."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_init_script(f"sessionStorage.setItem('decnet.token', {json.dumps(token)})")
    page = context.new_page()
    page.goto(f"{url}/#/t/{name}")
    page.wait_for_function(READY, timeout=120_000)
    return page, float(page.evaluate("performance.now()"))


def pan_frames(page: Page, zoom_out: bool) -> tuple[list[float], int]:
    """rAF intervals while dragging the canvas, and how many cards were rendered at the start."""
    if zoom_out:  # "fit view" of everything: every card on screen at once
        page.locator(".react-flow__controls-fitview").click()
        page.wait_for_timeout(500)
    cards = page.locator(".react-flow__node-decky").count()
    pane = page.locator(".react-flow__pane").bounding_box()
    assert pane is not None
    x, y = pane["x"] + pane["width"] * 0.8, pane["y"] + pane["height"] * 0.5
    page.evaluate(FRAMES, [60])
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(60):
        page.mouse.move(x - 20 * (step + 1), y - 5 * ((step + 1) % 8))
    page.mouse.up()
    page.wait_for_timeout(100)
    gaps: list[float] = page.evaluate("window.__stopFrames()")
    return gaps[2:], cards  # the first frames straddle the start of the measurement


def pan_back(page: Page, dx: int) -> None:
    """Drag the canvas `dx` px right, unmeasured, in 600 px strokes (undoes `pan_frames`)."""
    pane = page.locator(".react-flow__pane").bounding_box()
    assert pane is not None
    x, y = pane["x"] + pane["width"] * 0.1, pane["y"] + pane["height"] * 0.5
    for _ in range(dx // 600):
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 600, y, steps=10)
        page.mouse.up()


def stats(measured: tuple[list[float], int]) -> dict[str, float]:
    gaps, cards = measured
    ordered = sorted(gaps)
    return {
        "cards": cards,
        "frames": len(gaps),
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "max": ordered[-1],
    }


class AttackLoad:
    """`rate` attack events a second on random deckies of a topology, in ten batches a second,
    through the collector's store call (as collected sensor lines reach the bus)."""

    def __init__(self, db: Path, topology: str, deckies: list[str], rate: int) -> None:
        self.db, self.topology, self.deckies, self.rate = db, topology, deckies, rate
        self.stop_flag = threading.Event()
        self.written = 0
        self.last_id = 0
        self.commits: list[tuple[int, int, float]] = []
        """(first id, last id, wall-clock ms once committed) of every batch: on the bus."""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _event(self, seq: int) -> Collected:
        decky = self.deckies[seq % len(self.deckies)]
        source = f"{self.topology}/{decky}/sensor"
        ev = AttackConnect(
            topology=self.topology, host="localhost", decky=decky, lan=None, service="ssh",
            src_ip=f"10.66.{seq % 200}.{seq % 250 + 1}", src_port=40000 + seq % 20000,
            dst_port=22, session=f"b{seq}", sensor="decnet",
            observed_at=dbmod.iso(datetime.now(UTC)), line=f"localhost:{source}#bench:{seq}",
            raw="{}",
        )  # fmt: skip
        return Collected(source, "bench", seq, ev.observed_at, (ev,))

    def _run(self) -> None:
        per_batch = max(1, self.rate // 10)
        with Store(self.db) as store:
            tick = time.monotonic()
            while not self.stop_flag.is_set():
                items = [self._event(self.written + i + 1) for i in range(per_batch)]
                result = store.collect([Batch("localhost", list(items))])
                self.commits.append((result.first_id, result.last_id, time.time() * 1000))
                self.written += per_batch
                self.last_id = max(self.last_id, result.last_id)
                tick += 0.1
                time.sleep(max(0.0, tick - time.monotonic()))

    def __enter__(self) -> AttackLoad:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_flag.set()
        self.thread.join(10)


APPLY_GOAL = 3.0
SERVICE = "telnet"
WATCH_APPLY = """() => {
  window.__clickedAt = null; window.__appliedAt = null;
  document.querySelector('[data-testid=review-apply]').addEventListener(
    'click', () => { window.__clickedAt = performance.now(); }, { capture: true, once: true });
  const look = () => {
    const n = document.querySelector('[data-testid=notice]');
    if (window.__clickedAt !== null && window.__appliedAt === null && n
        && n.textContent.startsWith('Applied')) window.__appliedAt = performance.now();
  };
  new MutationObserver(look).observe(document.body,
    { subtree: true, childList: true, characterData: true });
}"""


def apply_once(page: Page, decky: str) -> float:
    """Seconds from the review's Apply to "Applied" on screen, `SERVICE` added to `decky` by a
    drag from the palette (measured in the page: a DOM observer, not a poll)."""
    notice = page.get_by_test_id("notice")
    if notice.count():  # the last run's "Applied" must not end this one
        notice.get_by_label("dismiss").click()
    card = page.get_by_test_id(f"decky-{decky}")
    page.get_by_test_id(f"palette-service-{SERVICE}").drag_to(
        card, target_position={"x": 40, "y": 20}, force=True
    )
    page.get_by_test_id("stage-count").filter(has_text="1 staged").wait_for()
    page.get_by_test_id("canvas").click(position={"x": 5, "y": 5})  # keys act outside a field
    page.keyboard.press("Control+s")
    dialog = page.get_by_test_id("review-dialog")
    dialog.get_by_test_id("plan-container").first.wait_for()
    page.evaluate(WATCH_APPLY)
    dialog.get_by_test_id("review-apply").click()
    page.wait_for_function("() => window.__appliedAt !== null", timeout=180_000)
    return float(page.evaluate("window.__appliedAt - window.__clickedAt")) / 1000


def apply_leg(browser: Browser, runs: int) -> dict[str, Any]:
    """`runs` one-service additions through the editor against a served, deployed ~20-decky
    topology on the local engine (its watcher applies them), and `docker compose up -d` of
    the same change on a raw twin."""
    name, raw_name = f"bench-apply-{os.getpid()}", f"bench-applyraw-{os.getpid()}"
    chosen = params(name)
    with bench_context() as ctx, tempfile.TemporaryDirectory() as work:
        twin, serve = RawTwin(ctx, raw_name, Path(work), avoid=chosen.subnet_pool), None
        try:
            generate_topology(ctx.store, chosen, catalog=ctx.catalog)
            report = deploy(ctx, [name])
            assert report.ok, [(t.status, t.reason) for t in report.topologies]
            twin.up(twin.compose(twin.topology, "base"))
            print(f"settled after {settle([f'decnet-{name}', twin.project]):.0f} s")
            _, token = create_token(ctx.store, "bench-apply", Role.ADMIN)
            serve = Serve(ctx.settings.home, ctx.settings.db_path, watch=True)
            page, _ = open_editor(browser, serve.url, token, name)
            plain = [d.name for d in ctx.store.get_topology(name).deckies if d.services == ["ssh"]]
            ui, raw, state = [], [], twin.topology
            for decky in plain[:runs]:
                ui.append(apply_once(page, decky))
                op = {"op": "update_decky", "name": decky, "services": ["ssh", SERVICE]}
                state = edited(state, [op], ctx)
                raw.append(twin.up(twin.compose(state, decky)))
            page.context.close()
            stored = {d.name: d.services for d in ctx.store.get_topology(name).deckies}
            assert all(stored[d] == ["ssh", SERVICE] for d in plain[:runs]), stored
        finally:
            if serve is not None:
                serve.stop()
            with contextlib.suppress(Exception):
                teardown(ctx, [name])
            twin.down()
            for left in (name, raw_name):  # the lines their deckies wrote: nobody collects them
                shutil.rmtree(Path(SENSOR_DIR) / left, ignore_errors=True)
    return {"ui_s": ui, "raw_s": raw, "applied": statistics.median(ui),
            "raw": statistics.median(raw)}  # fmt: skip


NEWEST = """() => Number(document.querySelector(
    '[data-testid=activity-feed] [data-event-id]')?.getAttribute('data-event-id') ?? 0)"""
# When each event first shows in the page, on the same wall clock as the writer's commit times:
# a feed row (its data-event-id) and a card's pulse (data-pulse, remounted for each new one).
SEEN = """() => {
  const seen = { feed: {}, pulse: {} };
  const note = (el) => {
    const row = el.getAttribute('data-event-id'), pulse = el.getAttribute('data-pulse');
    if (row !== null && !(row in seen.feed)) seen.feed[row] = Date.now();
    if (pulse !== null && !(pulse in seen.pulse)) seen.pulse[pulse] = Date.now();
  };
  const observer = new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.nodeType === 1) {
      note(n);
      n.querySelectorAll('[data-event-id], [data-pulse]').forEach(note);
    }
  });
  observer.observe(document.body, { subtree: true, childList: true });
  window.__stopSeen = () => { observer.disconnect(); return seen; };
}"""
LATENCY_GOAL = 1000.0


def latencies(
    commits: list[tuple[int, int, float]], seen: dict[str, int], upto: float, feed: bool
) -> tuple[list[float], int]:
    """ms from each event's commit to its first sight in the page, for the events committed
    before `upto` (wall-clock ms); and how many were committed. On the feed (`feed`), an event
    counts as shown once a row of it or of a newer event is: the feed draws only the newest rows
    of each hand-over, and an event older than a drawn row was handed over with it or before."""
    firsts = sorted((int(i), float(at)) for i, at in seen.items())
    if feed:  # from the newest down: the first sight of any row with an id >= each id
        earliest: list[tuple[int, float]] = []
        running = float("inf")
        for i, at in reversed(firsts):
            running = min(running, at)
            earliest.append((i, running))
        firsts = earliest[::-1]
    ids = [i for i, _ in firsts]
    out: list[float] = []
    committed = 0
    for first, last, at in commits:
        if at > upto:
            continue
        committed += last - first + 1
        for i in range(first, last + 1):
            k = bisect.bisect_left(ids, i)
            if k < len(ids) and (ids[k] == i or feed):
                out.append(firsts[k][1] - at)
    return out, committed


def percentiles(measured: tuple[list[float], int]) -> dict[str, float]:
    xs, committed = measured
    ordered = sorted(xs) or [float("nan")]
    p50, p99 = (ordered[int(q * (len(ordered) - 1))] for q in (0.5, 0.99))
    return {"n": len(xs), "of": committed, "p50": p50, "p99": p99, "max": ordered[-1]}


def under_attack(page: Page, home: Path, rate: int, soak: float) -> dict[str, Any]:
    """Pan without events, then with `rate` events/s; the feed's lag after `soak` seconds."""
    quiet = stats(pan_frames(page, zoom_out=False))
    with Store(home / "decnet.db") as store:
        deckies = [d.name for d in store.get_topology(SIZES["large"].name).deckies]
    with AttackLoad(home / "decnet.db", SIZES["large"].name, deckies, rate) as load:
        page.wait_for_timeout(2000)
        busy = stats(pan_frames(page, zoom_out=False))
        pan_back(page, 2 * 1200)  # the opening view again: its cards pulse
        page.evaluate(SEEN)
        since = len(load.commits)
        page.wait_for_timeout(int(soak * 1000))
        seen = page.evaluate("() => window.__stopSeen()")
        upto = time.time() * 1000 - 1000  # the last second's events may not be drawn yet
        commits = load.commits[since:]
        lags = []
        for _ in range(5):  # what was written vs what the feed shows, a few times
            page.wait_for_timeout(1000)
            shown = int(page.evaluate(NEWEST))
            lags.append(load.last_id - shown)
    to_feed = latencies(commits, seen["feed"], upto, feed=True)
    to_pulse = latencies(commits, seen["pulse"], upto, feed=False)
    return {"quiet": quiet, "busy": busy, "rate": rate, "written": load.written,
            "feed_lag_events": lags, "to_feed_ms": percentiles(to_feed),
            "to_pulse_ms": percentiles(to_pulse)}  # fmt: skip


def run(runs: int, rate: int = 100, soak: float = 20, only: str | None = None) -> dict[str, Any]:
    if not (PROJECT_ROOT / "web" / "dist" / "index.html").is_file():
        raise SystemExit("build the editor first: cd web && npm ci && npm run build")
    home = Path(tempfile.mkdtemp(prefix="decnet-bench-editor-"))
    counts, admin, viewer = prepare(home)
    serve = Serve(home)
    out: dict[str, Any] = {"deckies": counts, "tti_ms": {}, "pan": {}}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            sizes = {} if only else SIZES
            for key, params in sizes.items():
                times = []
                for _ in range(runs + 1):  # the first open is the cold one
                    page, ms = open_editor(browser, serve.url, admin, params.name)
                    times.append(ms)
                    page.context.close()
                out["tti_ms"][key] = {"cold": times[0], "warm": statistics.median(times[1:])}
            for key, params in sizes.items():
                page, _ = open_editor(browser, serve.url, viewer, params.name)
                page.wait_for_timeout(500)
                out["pan"][key] = stats(pan_frames(page, zoom_out=False))
                if key == "large":
                    out["pan"]["large-all"] = stats(pan_frames(page, zoom_out=True))
                page.context.close()
            if only in (None, "attacks"):
                page, _ = open_editor(browser, serve.url, viewer, SIZES["large"].name)
                page.wait_for_timeout(500)
                out["attacks"] = under_attack(page, home, rate, soak)
                page.context.close()
            if only in (None, "apply"):
                out["apply"] = apply_leg(browser, runs)
            browser.close()
    finally:
        serve.stop()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(Path.home() / ".config" / "chromium" / "Crash Reports", ignore_errors=True)
    return out


def report(r: dict[str, Any]) -> None:
    if r["tti_ms"]:
        report_sizes(r)
    if "attacks" in r:
        report_attacks(r)
    if "apply" in r:
        report_apply(r["apply"])


def report_apply(a: dict[str, Any]) -> None:
    def seconds(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    print(f"Apply of one added service -> 'Applied' shown: {seconds(a['ui_s'])} s")
    print(f"  raw compose up -d of the same change: {seconds(a['raw_s'])} s")
    verdict = "ok" if a["applied"] <= APPLY_GOAL else "MISSED"
    print(
        f"editor Apply -> applied: {a['applied']:.2f} s (target <= {APPLY_GOAL:g} s) {verdict}, "
        f"raw compose up {a['raw']:.2f} s, ratio {a['applied'] / a['raw']:.2f}"
    )


def report_attacks(r: dict[str, Any]) -> None:
    large = r["deckies"]["large"]
    a = r["attacks"]
    print(f"{large} deckies with {a['rate']} attack events/s ({a['written']} written):")
    for key in ("quiet", "busy"):
        s = a[key]
        print(f"  panning, {key:5s} p50 {s['p50']:5.1f}  p95 {s['p95']:5.1f}  max {s['max']:6.1f}")
    print(f"  p95 ratio with / without events: {a['busy']['p95'] / a['quiet']['p95']:.2f}x")
    print(f"  feed lag behind the newest event written, 1 s apart: {a['feed_lag_events']}")
    for key, what in (("to_feed_ms", "feed row"), ("to_pulse_ms", "card pulse (cards on screen)")):
        d = a[key]
        verdict = "ok" if d["p99"] <= LATENCY_GOAL else "MISSED"
        print(
            f"  event on the bus -> {what}: p50 {d['p50']:.0f} ms, p99 {d['p99']:.0f} ms, "
            f"max {d['max']:.0f} ms; {d['n']} of {d['of']} events seen (target p99 <= 1 s) "
            f"{verdict}"
        )


def report_sizes(r: dict[str, Any]) -> None:
    tti, pan = r["tti_ms"], r["pan"]
    small, large = r["deckies"]["small"], r["deckies"]["large"]
    print("time to interactive (ms from navigation; warm = median of opens after the first):")
    for key, n in (("small", small), ("large", large)):
        print(f"  {n:5d} deckies: cold {tti[key]['cold']:7.0f}   warm {tti[key]['warm']:7.0f}")
    ratio = tti["large"]["warm"] / tti["small"]["warm"]
    print(f"  ratio {large}/{small} deckies (warm): {ratio:.2f}x")
    print("frame time while panning (ms per frame; 16.7 = 60 fps):")
    for key, label in (("small", f"{small} deckies"), ("large", f"{large} deckies"),
                       ("large-all", f"{large} deckies, all on screen")):  # fmt: skip
        s = pan[key]
        print(f"  {label:32s} p50 {s['p50']:5.1f}  p95 {s['p95']:5.1f}  max {s['max']:6.1f}"
              f"  ({s['cards']} cards rendered, {s['frames']} frames)")  # fmt: skip
    base = pan["small"]["p95"]
    print(f"  p95 ratio vs {small} deckies: {large} {pan['large']['p95'] / base:.2f}x, "
          f"all on screen {pan['large-all']['p95'] / base:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm opens per topology")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--rate", type=int, default=100, help="attack events a second")
    parser.add_argument("--soak", type=float, default=20, help="seconds of events before the lag")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--only-attacks", action="store_const", const="attacks", dest="only",
                      help="only the leg under attack")  # fmt: skip
    only.add_argument("--only-apply", action="store_const", const="apply", dest="only",
                      help="only the Apply leg (needs the local Docker engine)")  # fmt: skip
    args = parser.parse_args()
    result = run(args.runs, args.rate, args.soak, args.only)
    print(json.dumps(result, indent=2)) if args.json else report(result)


if __name__ == "__main__":
    main()
