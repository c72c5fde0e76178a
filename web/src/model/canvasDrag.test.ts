import type { NodeChange } from "@xyflow/react";
import { describe, expect, it } from "vitest";
import { applyOverrides, dragStop, overridesFrom } from "./canvasDrag";
import { topology } from "./fixtures";
import type { FlowNode } from "./graph";
import { autoLayout } from "./layout";

const t = topology();
const layout = autoLayout(t);
const box = (name: string) => layout.lans.get(name) ?? { x: 0, y: 0, w: 0, h: 0 };
const lanNode = (name: string, x: number, y: number) =>
  ({ id: `lan:${name}`, type: "lan", position: { x, y }, style: { width: 300, height: 200 }, data: { lan: t.lans.find((l) => l.name === name) } }) as unknown as FlowNode;
const deckyNode = (name: string, x: number, y: number) =>
  ({ id: `decky:${name}`, type: "decky", position: { x, y }, data: { decky: t.deckies.find((d) => d.name === name) } }) as unknown as FlowNode;

describe("canvas overrides", () => {
  const nodes = [lanNode("lan-1", 0, 0), deckyNode("a", 10, 40)];

  it("a drag moves, a resize sizes, only the nodes it was made on", () => {
    const over = overridesFrom(
      [
        { type: "position", id: "decky:a", position: { x: 50, y: 60 } },
        { type: "dimensions", id: "lan:lan-1", resizing: true, dimensions: { width: 400, height: 250 } },
        { type: "dimensions", id: "decky:a", dimensions: { width: 1, height: 1 } }, // measured, not resized
      ] as NodeChange<FlowNode>[],
      {},
    );
    expect(over).toEqual({ "decky:a": { position: { x: 50, y: 60 } }, "lan:lan-1": { width: 400, height: 250 } });
    const [lan, card] = applyOverrides(nodes, { base: nodes, over });
    expect(lan).toMatchObject({ style: { width: 400, height: 250 }, measured: { width: 400, height: 250 } });
    expect(card?.position).toEqual({ x: 50, y: 60 });
    const recomputed = [...nodes]; // the store changed: the gesture's overrides are spent
    expect(applyOverrides(recomputed, { base: nodes, over })).toBe(recomputed);
  });
});

describe("letting go of a node", () => {
  it("a LAN box is laid out in whole pixels", () => {
    expect(dragStop(t, layout, lanNode("lan-1", 10.6, 20.2), false)).toEqual({ kind: "layout", element: "lan", name: "lan-1", canvas: { x: 11, y: 20 } });
  });

  it("a card inside its LAN is laid out; into another LAN its home moves, asking first when live", () => {
    expect(dragStop(t, layout, deckyNode("a", 12, 50), true)).toMatchObject({ kind: "layout", element: "decky", name: "a" });
    const dmz = box("dmz");
    const home = box("lan-1");
    const into = deckyNode("a", dmz.x - home.x + 20, dmz.y - home.y + 50); // relative to lan-1
    expect(dragStop(t, layout, into, false)).toMatchObject({ kind: "home", decky: "a", lan: "dmz", confirm: null });
    expect(dragStop(t, layout, into, true)).toMatchObject({ kind: "home", confirm: expect.stringContaining("recreates its base container") });
  });
});
