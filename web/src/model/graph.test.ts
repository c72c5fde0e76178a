import { describe, expect, it } from "vitest";
import { topology } from "./fixtures";
import { badges, type GraphInput, stableFlow, toFlow } from "./graph";
import { placeIssues } from "./issues";
import { autoLayout } from "./layout";

function input(extra: Partial<GraphInput> = {}): GraphInput {
  const t = topology();
  return { topology: t, layout: autoLayout(t), marks: new Map(), issues: new Map(), states: new Map(), editable: true, selection: new Set<string>(), ...extra };
}

describe("toFlow", () => {
  it("draws LAN boxes first, decky cards inside them, lines from bridges to their other LANs", () => {
    const { nodes, edges } = toFlow(input());
    expect(nodes.map((n) => n.id)).toEqual(["lan:dmz", "lan:lan-1", "decky:gw", "decky:br", "decky:a"]);
    expect(nodes.find((n) => n.id === "decky:br")?.parentId).toBe("lan:lan-1");
    expect(edges.map((e) => [e.source, e.target, e.targetHandle, e.data?.route, e.data?.label])).toEqual([["decky:br", "lan:dmz", "attach", "up", "10.192.0.3"]]);
  });

  it("shows a card's home address and a staged service removal as a struck chip", () => {
    const marks = new Map([["service:gw:ssh", "removed" as const], ["decky:gw", "changed" as const]]);
    const t = topology();
    const projected = { ...t, deckies: t.deckies.map((d) => (d.name === "gw" ? { ...d, services: ["http"] } : d)) };
    const gw = toFlow(input({ topology: projected, marks })).nodes.find((n) => n.id === "decky:gw");
    expect(gw?.type === "decky" && gw.data.ip).toBe("10.192.0.2");
    expect(gw?.type === "decky" && gw.data.chips.map((c) => [c.name, c.removed])).toEqual([["http", false], ["ssh", true]]);
  });

  it("draws lines between boxes and cards: boxes below, cards above", () => {
    const { nodes, edges } = toFlow(input());
    const z = (id: string) => nodes.find((n) => n.id === id)?.zIndex ?? -1;
    expect(z("lan:dmz")).toBeLessThan(edges[0]?.zIndex ?? -1);
    expect(edges[0]?.zIndex ?? 99).toBeLessThan(z("decky:br"));
  });

  it("badges gateways, bridges and forwarders", () => {
    const [gw, br, a] = topology().deckies;
    expect(gw && badges(gw, "dmz")).toEqual(["gateway"]);
    expect(br && badges(br, "dmz")).toEqual(["bridge", "forwarder"]);
    expect(a && badges(a, "dmz")).toEqual([]);
  });

  it("carries issues to the element and its service chip", () => {
    const t = topology();
    const issues = placeIssues([{ code: "SERVICE_UNKNOWN", severity: "error", message: "m", path: "deckies[gw].services[1]" }], t, null);
    const gw = toFlow(input({ issues })).nodes.find((n) => n.id === "decky:gw");
    expect(gw?.type === "decky" && gw.data.chips.map((c) => c.issues.length)).toEqual([0, 1]);
    expect(gw?.data.issues).toHaveLength(1);
  });

  it("keeps unchanged nodes' identity from one call to the next", () => {
    const flow = stableFlow();
    const g = input();
    const first = flow(g).nodes;
    const second = flow({ ...g, selection: new Set(["decky:a"]) }).nodes;
    expect(second.find((n) => n.id === "decky:gw")).toBe(first.find((n) => n.id === "decky:gw"));
    expect(second.find((n) => n.id === "decky:a")).not.toBe(first.find((n) => n.id === "decky:a"));
  });

  it("a viewer's nodes cannot be dragged", () => {
    expect(toFlow(input({ editable: false })).nodes.every((n) => n.draggable === false)).toBe(true);
  });
});
