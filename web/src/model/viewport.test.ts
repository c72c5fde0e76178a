import { describe, expect, it } from "vitest";
import { topology } from "./fixtures";
import { autoLayout, type Layout } from "./layout";
import { bounds, centreOf, MIN_OPEN_ZOOM, openingViewport } from "./viewport";

const boxes = (...b: [number, number, number, number][]): Layout => ({
  lans: new Map(b.map(([x, y, w, h], i) => [`l${i}`, { x, y, w, h }])),
  deckies: new Map(),
  placed: { lans: [], deckies: [] },
});

describe("the opening viewport", () => {
  it("a maze that fits at a readable zoom is centred and fills the view", () => {
    const v = openingViewport(boxes([40, 40, 600, 300]), { width: 1000, height: 800 });
    expect(v.zoom).toBe(1.25); // no larger than that
    expect(v.x + 40 * v.zoom).toBeCloseTo((1000 - 600 * 1.25) / 2);
    const fit = openingViewport(boxes([0, 0, 900, 600]), { width: 1000, height: 700 });
    expect(fit.zoom).toBeCloseTo(Math.min(952 / 900, 652 / 600));
  });

  it("a larger one opens readable on its top left, never zoomed out to unreadable text", () => {
    const v = openingViewport(boxes([40, 40, 4000, 300], [40, 420, 600, 3000]), { width: 1000, height: 800 });
    expect(v.zoom).toBe(MIN_OPEN_ZOOM);
    expect(v.x).toBeCloseTo(24 - 40 * MIN_OPEN_ZOOM);
    expect(v.y).toBeCloseTo(24 - 40 * MIN_OPEN_ZOOM);
  });

  it("bounds every box; centres on cards and boxes", () => {
    const t = topology();
    const layout = autoLayout(t);
    const b = bounds(layout);
    const lan1 = layout.lans.get("lan-1");
    expect(b && lan1 && b.y + b.h).toBe(lan1 && lan1.y + lan1.h);
    const a = layout.deckies.get("a");
    expect(centreOf(layout, t, "decky:a")).toEqual(lan1 && a && { x: lan1.x + a.x + 92, y: lan1.y + a.y + 39 });
    expect(centreOf(layout, t, "service:a:http")).toEqual(centreOf(layout, t, "decky:a"));
    expect(centreOf(layout, t, "lan:nope")).toBeNull();
  });
});
