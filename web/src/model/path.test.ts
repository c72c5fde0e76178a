import { describe, expect, it } from "vitest";
import { autoLayout } from "./layout";
import { topology } from "./fixtures";
import { pathPoints, scrubTime, stepsOf, stopsOf, timelineOf } from "./path";

const stop = (decky: string, s: number, t = "corp") => ({ topology: t, decky, lan: null, first_at: `2026-12-07T10:00:0${s}+00:00` });

describe("an attacker's path", () => {
  it("orders the deckies first touched on this topology, each once, up to a time", () => {
    const stops = [stop("a", 3), stop("gw", 1), stop("x", 2, "other"), stop("gw", 4)];
    expect(stopsOf(stops, "corp", null).map((s) => s.decky)).toEqual(["gw", "a"]);
    expect(stopsOf(stops, "corp", "2026-12-07T10:00:02+00:00").map((s) => s.decky)).toEqual(["gw"]);
    expect(stepsOf(stopsOf(stops, "corp", null))).toEqual({ gw: 1, a: 2 });
  });

  it("places the numbered points at the cards' centres", () => {
    const t = topology();
    const layout = autoLayout(t);
    const points = pathPoints(stopsOf([stop("gw", 1), stop("gone", 2)], "corp", null), layout, t);
    expect(points.map((p) => [p.n, p.decky])).toEqual([[1, "gw"]]);
    expect(points[0]?.x).toBeGreaterThan(0);
  });

  it("replays the timeline of this topology in sensor time", () => {
    const ev = (id: number, s: number, t = "corp") => ({ id, at: "", topic: "attack", type: "attack.connect", topology: t, payload: { topology: t, decky: "gw", observed_at: `2026-12-07T10:00:0${s}+00:00` } });
    const tl = timelineOf([{ events: [ev(3, 2), ev(1, 5)] }, { events: [ev(2, 1), ev(9, 3, "other")] }], "corp", null);
    expect(tl.map((e) => e.id)).toEqual([2, 3, 1]);
    expect(timelineOf([{ events: [ev(3, 2), ev(1, 5)] }], "corp", "2026-12-07T10:00:04+00:00").map((e) => e.id)).toEqual([1]);
    expect(scrubTime(tl, null)).toBeNull();
    expect(scrubTime(tl, 0)).toBe("2026-12-07T10:00:01+00:00");
    expect(scrubTime(tl, 2)).toBeNull();
  });
});
