import { describe, expect, it } from "vitest";
import type { TopologyView } from "../api/types";
import { decky, lan, topology } from "./fixtures";
import { autoLayout, boxSizeFor, CARD_H, CARD_W, cardBox, deckyAt, lanAt, lanDepths, layoutBody, resizedBox } from "./layout";

function big(n: number): TopologyView {
  const base = topology();
  return { ...base, deckies: [...base.deckies, ...Array.from({ length: n }, (_, i) => decky(`d${i}`, "lan-1"))] };
}

describe("autoLayout", () => {
  it("puts the DMZ on top and its children below, deckies inside their LAN, none overlapping", () => {
    const t = big(20);
    const layout = autoLayout(t);
    const dmz = layout.lans.get("dmz");
    const lan1 = layout.lans.get("lan-1");
    expect(dmz && lan1 && dmz.y + dmz.h < lan1.y).toBe(true);
    const inLan1 = t.deckies.filter((d) => d.home_lan === "lan-1").map((d) => layout.deckies.get(d.name));
    for (const p of inLan1) {
      expect(p && lan1 && p.x + CARD_W <= lan1.w && p.y + CARD_H <= lan1.h).toBe(true);
    }
    const keys = new Set(inLan1.map((p) => `${p?.x},${p?.y}`));
    expect(keys.size).toBe(inLan1.length);
    expect(layout.placed.lans.sort()).toEqual(["dmz", "lan-1"]);
  });

  it("keeps what has coordinates and fills the rest around it", () => {
    const t = topology();
    t.lans = t.lans.map((l) => (l.name === "dmz" ? { ...l, x: 500, y: 600, w: 700, h: 300 } : l));
    t.deckies = t.deckies.map((d) => (d.name === "a" ? { ...d, x: 16, y: 40 } : d));
    const layout = autoLayout(t);
    expect(layout.lans.get("dmz")).toEqual({ x: 500, y: 600, w: 700, h: 300 });
    expect(layout.deckies.get("a")).toEqual({ x: 16, y: 40 });
    expect(layout.deckies.get("br")).not.toEqual({ x: 16, y: 40 });
    expect(layout.placed.lans).toEqual(["lan-1"]);
    expect(layout.placed.deckies).not.toContain("a");
    expect(layout.lans.get("lan-1")?.y).toBeGreaterThan(900);
  });

  it("a stored box too small for its cards is drawn large enough", () => {
    const t = topology();
    t.lans = t.lans.map((l) => (l.name === "lan-1" ? { ...l, x: 0, y: 300, w: 300, h: 150 } : l));
    t.deckies = t.deckies.map((d) => (d.name === "a" ? { ...d, x: 400, y: 200 } : d));
    expect(autoLayout(t).lans.get("lan-1")).toEqual({ x: 0, y: 300, w: 400 + CARD_W + 16, h: 200 + CARD_H + 16 });
  });

  it("grows boxes with their deckies", () => {
    expect(boxSizeFor(40).w).toBeGreaterThan(boxSizeFor(2).w);
    expect(boxSizeFor(40).h).toBeGreaterThan(boxSizeFor(2).h);
  });

  it("depths follow bridge deckies; an unreachable LAN comes last", () => {
    const t = topology();
    t.lans.push(lan("island", { subnet: "10.192.9.0/24" }));
    expect(Object.fromEntries(lanDepths(t))).toEqual({ dmz: 0, "lan-1": 1, island: 2 });
  });

  it("finds the LAN and the decky under a point", () => {
    const t = topology();
    const layout = autoLayout(t);
    const box = cardBox(layout, "a", "lan-1");
    expect(box).not.toBeNull();
    const inside = { x: (box?.x ?? 0) + 5, y: (box?.y ?? 0) + 5 };
    expect(lanAt(layout, inside)).toBe("lan-1");
    expect(deckyAt(layout, t, inside)).toBe("a");
    expect(lanAt(layout, { x: -1000, y: -1000 })).toBeNull();
    expect(deckyAt(layout, t, { x: -1000, y: -1000 })).toBeNull();
  });

  it("the layout route's body holds only what was placed, in whole pixels", () => {
    const t = topology();
    t.lans = t.lans.map((l) => (l.name === "dmz" ? { ...l, x: 1, y: 2, w: 700, h: 300 } : l));
    const body = layoutBody(autoLayout(t));
    expect(Object.keys(body.lans)).toEqual(["lan-1"]);
    expect(Object.keys(body.deckies).sort()).toEqual(["a", "br", "gw"]);
    for (const b of Object.values(body.lans)) expect(Number.isInteger(b.x) && Number.isInteger(b.w)).toBe(true);
  });

  it("lays out 1,000 deckies over 85 LANs without overlap between LAN boxes", () => {
    const t = topology({ lans: [], deckies: [] });
    t.lans.push(lan("dmz", { is_dmz: true }));
    for (let i = 1; i < 85; i += 1) {
      t.lans.push(lan(`l${i}`));
      t.deckies.push(decky(`br${i}`, `l${i}`, { memberships: [{ lan: `l${i}`, ip: null }, { lan: i < 5 ? "dmz" : `l${Math.floor(i / 4)}`, ip: null }] }));
    }
    for (let i = t.deckies.length; i < 1000; i += 1) t.deckies.push(decky(`d${i}`, `l${1 + (i % 84)}`));
    const layout = autoLayout(t);
    const boxes = [...layout.lans.values()];
    for (let i = 0; i < boxes.length; i += 1) {
      for (let j = i + 1; j < boxes.length; j += 1) {
        const [a, b] = [boxes[i], boxes[j]];
        const apart = !a || !b || a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        expect(apart).toBe(true);
      }
    }
    expect(layout.deckies.size).toBe(1000);
  });

  it("a resized box is stored in whole pixels and never below the minimum", () => {
    expect(resizedBox({ x: 10.4, y: 20.6, width: 400.5, height: 80 }, { w: 220, h: 120 })).toEqual({ x: 10, y: 21, w: 401, h: 120 });
  });
});
