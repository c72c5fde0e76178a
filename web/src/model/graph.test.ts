import { describe, expect, it } from "vitest";
import { topology } from "./fixtures";
import { badges, type GraphInput, stableFlow, toFlow } from "./graph";
import { placeIssues } from "./issues";
import { autoLayout } from "./layout";

function input(extra: Partial<GraphInput> = {}): GraphInput {
  const t = topology();
  return { topology: t, layout: autoLayout(t), marks: new Map(), issues: new Map(), states: new Map(), editable: true, selected: null, ...extra };
}

describe("toFlow", () => {
  it("draws LAN boxes first, decky cards inside them, lines from bridges to their other LANs", () => {
    const { nodes, edges } = toFlow(input());
    expect(nodes.map((n) => n.id)).toEqual(["lan:dmz", "lan:lan-1", "decky:gw", "decky:br", "decky:a"]);
    expect(nodes.find((n) => n.id === "decky:br")?.parentId).toBe("lan:lan-1");
    expect(edges.map((e) => [e.source, e.target, e.label])).toEqual([["decky:br", "lan:dmz", "10.192.0.3"]]);
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
    const second = flow({ ...g, selected: "decky:a" }).nodes;
    expect(second.find((n) => n.id === "decky:gw")).toBe(first.find((n) => n.id === "decky:gw"));
    expect(second.find((n) => n.id === "decky:a")).not.toBe(first.find((n) => n.id === "decky:a"));
  });

  it("a viewer's nodes cannot be dragged", () => {
    expect(toFlow(input({ editable: false })).nodes.every((n) => n.draggable === false)).toBe(true);
  });
});
