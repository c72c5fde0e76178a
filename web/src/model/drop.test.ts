import { describe, expect, it } from "vitest";
import { attachTarget, decodeItem, deckyDrag, dropEdit, encodeItem } from "./drop";
import { topology } from "./fixtures";
import { autoLayout, CARD_H, CARD_W, cardBox } from "./layout";

const t = topology();
const layout = autoLayout(t);
const lan1 = layout.lans.get("lan-1") ?? { x: 0, y: 0, w: 0, h: 0 };

describe("palette drops", () => {
  it("round-trips the drag payload and refuses anything else", () => {
    expect(decodeItem(encodeItem({ kind: "archetype", name: "web-server" }))).toEqual({ kind: "archetype", name: "web-server" });
    expect(decodeItem("not json")).toBeNull();
    expect(decodeItem(JSON.stringify({ kind: "bomb", name: "x" }))).toBeNull();
  });

  it("an archetype dropped in a LAN box becomes a decky there, centred on the point", () => {
    const roomy = topology();
    roomy.lans = roomy.lans.map((l) => (l.name === "lan-1" ? { ...l, x: 0, y: 400, w: 900, h: 500 } : l));
    const p = { x: 600, y: 400 + 300 };
    const result = dropEdit({ kind: "archetype", name: "linux-server" }, p, roomy, autoLayout(roomy));
    expect(result).toEqual({
      edit: {
        label: "add linux-server-1 (linux-server) to lan-1",
        ops: [{ op: "add_decky", name: "linux-server-1", lan: "lan-1", archetype: "linux-server", canvas: { x: Math.round(600 - CARD_W / 2), y: Math.round(300 - CARD_H / 2) } }],
      },
    });
  });

  it("a card is never dropped onto another: it takes the LAN's first free slot", () => {
    const card = cardBox(layout, "a", "lan-1");
    const p = { x: (card?.x ?? 0) + CARD_W / 2, y: (card?.y ?? 0) + CARD_H / 2 };
    const result = dropEdit({ kind: "archetype", name: "linux-server" }, p, t, layout);
    const canvas = "edit" in result ? (result.edit.ops[0] as { canvas: { x: number; y: number } }).canvas : null;
    const taken = [...layout.deckies.values()];
    expect(canvas).not.toBeNull();
    expect(taken.some((q) => Math.abs(q.x - (canvas?.x ?? 0)) < CARD_W && Math.abs(q.y - (canvas?.y ?? 0)) < CARD_H)).toBe(false);
  });

  it("an archetype dropped outside every LAN says where to drop it", () => {
    expect(dropEdit({ kind: "archetype", name: "linux-server" }, { x: -500, y: -500 }, t, layout)).toEqual({ error: "drop the linux-server archetype onto a LAN box" });
  });

  it("a service dropped on a card adds it to that decky", () => {
    const card = cardBox(layout, "a", "lan-1");
    const p = { x: (card?.x ?? 0) + 10, y: (card?.y ?? 0) + 10 };
    expect(dropEdit({ kind: "service", name: "ssh" }, p, t, layout)).toMatchObject({ edit: { ops: [{ op: "update_decky", name: "a", services: ["http", "ssh"] }] } });
    expect(dropEdit({ kind: "service", name: "http" }, p, t, layout)).toEqual({ error: "a already runs http" });
    expect(dropEdit({ kind: "service", name: "ssh" }, { x: lan1.x + lan1.w - 2, y: lan1.y + 2 }, t, layout)).toHaveProperty("error");
  });

  it("a LAN or DMZ dropped anywhere adds a box there", () => {
    const r = dropEdit({ kind: "dmz", name: "dmz" }, { x: 900, y: 50 }, t, layout);
    expect(r).toMatchObject({ edit: { ops: [{ op: "add_lan", name: "dmz-1", dmz: true, canvas: { x: 900, y: 50 } }] } });
  });
});

describe("dragging a decky card", () => {
  const dmz = layout.lans.get("dmz") ?? { x: 0, y: 0, w: 0, h: 0 };
  it("within its LAN is a layout change, relative to the box", () => {
    expect(deckyDrag(t, layout, "a", { x: lan1.x + 30, y: lan1.y + 50 })).toEqual({ kind: "layout", canvas: { x: 30, y: 50 } });
  });
  it("into another LAN moves its home there", () => {
    expect(deckyDrag(t, layout, "a", { x: dmz.x + 20, y: dmz.y + 45 })).toEqual({ kind: "home", lan: "dmz", canvas: { x: 20, y: 45 } });
  });
  it("outside every LAN stays a layout change of its home", () => {
    expect(deckyDrag(t, layout, "a", { x: -900, y: -900 })?.kind).toBe("layout");
    expect(deckyDrag(t, layout, "ghost", { x: 0, y: 0 })).toBeNull();
  });

  it("a card's handle let go anywhere over another LAN's box attaches it there", () => {
    const t = topology();
    const layout = autoLayout(t);
    const dmz = layout.lans.get("dmz");
    const lan1 = layout.lans.get("lan-1");
    if (!dmz || !lan1) throw new Error("no layout");
    const middle = (b: { x: number; y: number; w: number; h: number }) => ({ x: b.x + b.w / 2, y: b.y + b.h / 2 });
    expect(attachTarget(t, layout, "a", middle(dmz))).toBe("dmz");
    expect(attachTarget(t, layout, "br", middle(dmz))).toBeNull(); // already on it
    expect(attachTarget(t, layout, "a", middle(lan1))).toBeNull(); // its home
    expect(attachTarget(t, layout, "a", { x: -500, y: -500 })).toBeNull();
  });
});
