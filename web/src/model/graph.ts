// The topology as React Flow nodes and edges: LAN boxes (parents) holding decky cards, and a
// membership line from each bridge decky to every other LAN it is on. Node objects are reused
// when nothing about them changed, so React Flow and the memoised node components skip them
// (1,000-decky topologies stay smooth).
import { type Edge, type Node, Position } from "@xyflow/react";
import type { Decky, Lan, TopologyView } from "../api/types";
import { deckyKey, lanKey, serviceKey } from "./elementKey";
import type { PlacedIssue } from "./issues";
import { CARD_H, CARD_W, type Layout } from "./layout";
import type { Mark } from "./project";
import type { DeckyStatus } from "./status";

export interface LanData extends Record<string, unknown> {
  /** What the node shows, as one string: equal signatures render the same (see reuseNodes). */
  sig: string;
  lan: Lan;
  mark: Mark | null;
  issues: PlacedIssue[];
  deckies: number;
  editable: boolean;
}

export interface ServiceChip {
  name: string;
  issues: PlacedIssue[];
}

export interface DeckyData extends Record<string, unknown> {
  sig: string;
  decky: Decky;
  mark: Mark | null;
  issues: PlacedIssue[];
  chips: ServiceChip[];
  badges: string[];
  state: DeckyStatus | null;
  editable: boolean;
}

export type LanNode = Node<LanData, "lan">;
export type DeckyNode = Node<DeckyData, "decky">;
export type FlowNode = LanNode | DeckyNode;

export interface GraphInput {
  topology: TopologyView;
  layout: Layout;
  marks: Map<string, Mark>;
  issues: Map<string, PlacedIssue[]>;
  states: Map<string, DeckyStatus>;
  editable: boolean;
  selected: string | null;
}

export function badges(d: Decky, dmz: string | null): string[] {
  const out: string[] = [];
  if (dmz !== null && d.home_lan === dmz) out.push("gateway");
  if (d.memberships.length >= 2) out.push("bridge");
  if (d.forwards_l3) out.push("forwarder");
  return out;
}

// Sizes ("measured") and handles declared with their place, so React Flow need not render every
// node once to measure it (it would, for 1,000 cards, before rendering only the visible ones). Matches the CSS:
// 10 px handles centred on the card's top edge and on the LAN box's bottom edge.
const HANDLE = 10;

const codes = (placed: readonly PlacedIssue[]): string[] => placed.map((p) => `${p.issue.code}:${p.issue.message}`);

function lanNode(lan: Lan, g: GraphInput, count: number): LanNode {
  const key = lanKey(lan.name);
  const box = g.layout.lans.get(lan.name) ?? { x: 0, y: 0, w: 280, h: 150 };
  const mark = g.marks.get(key) ?? null;
  const issues = g.issues.get(key) ?? [];
  return {
    id: key,
    type: "lan",
    position: { x: box.x, y: box.y },
    width: box.w,
    height: box.h,
    style: { width: box.w, height: box.h },
    measured: { width: box.w, height: box.h },
    handles: [
      { id: "attach", type: "target", position: Position.Bottom, x: box.w / 2 - HANDLE / 2, y: box.h - HANDLE / 2, width: HANDLE, height: HANDLE },
    ],
    zIndex: 0,
    selected: g.selected === key,
    draggable: g.editable,
    data: {
      sig: JSON.stringify([lan.name, lan.subnet, lan.is_dmz, mark, codes(issues), count, g.editable]),
      lan,
      mark,
      issues,
      deckies: count,
      editable: g.editable,
    },
  };
}

function deckyNode(d: Decky, g: GraphInput, dmz: string | null): DeckyNode {
  const key = deckyKey(d.name);
  const at = g.layout.deckies.get(d.name) ?? { x: 16, y: 40 };
  const mark = g.marks.get(key) ?? null;
  const issues = g.issues.get(key) ?? [];
  const chips = (d.services ?? []).map((name) => ({ name, issues: g.issues.get(serviceKey(d.name, name)) ?? [] }));
  const tags = badges(d, dmz);
  const state = g.states.get(d.name) ?? null;
  return {
    id: key,
    type: "decky",
    parentId: lanKey(d.home_lan),
    position: at,
    width: CARD_W,
    height: CARD_H,
    measured: { width: CARD_W, height: CARD_H },
    handles: [
      { id: "member", type: "source", position: Position.Top, x: CARD_W / 2 - HANDLE / 2, y: -HANDLE / 2, width: HANDLE, height: HANDLE },
    ],
    zIndex: 1,
    selected: g.selected === key,
    draggable: g.editable,
    data: {
      sig: JSON.stringify([
        d.name, d.archetype, mark, codes(issues), chips.map((c) => [c.name, codes(c.issues)]), tags, state?.state, state?.why, g.editable,
      ]),
      decky: d,
      mark,
      issues,
      chips,
      badges: tags,
      state,
      editable: g.editable,
    },
  };
}

/** Above this many deckies membership lines carry no address label (measuring each label's
 * text costs a forced layout; the inspector shows the addresses). */
export const LABEL_LIMIT = 300;

function memberEdges(t: TopologyView, marks: Map<string, Mark>): Edge[] {
  const labelled = t.deckies.length <= LABEL_LIMIT;
  const lans = new Set(t.lans.map((l) => l.name));
  const edges: Edge[] = [];
  for (const d of t.deckies) {
    for (const m of d.memberships) {
      if (m.lan === d.home_lan || !lans.has(m.lan)) continue;
      const staged = marks.has(deckyKey(d.name));
      edges.push({
        id: `m:${d.name}:${m.lan}`,
        source: deckyKey(d.name),
        sourceHandle: "member",
        target: lanKey(m.lan),
        targetHandle: "attach",
        label: labelled ? (m.ip ?? undefined) : undefined,
        className: staged ? "membership staged" : "membership",
        zIndex: 2,
      });
    }
  }
  return edges;
}

export function toFlow(g: GraphInput): { nodes: FlowNode[]; edges: Edge[] } {
  const t = g.topology;
  const dmz = t.lans.find((l) => l.is_dmz)?.name ?? null;
  const counts = new Map<string, number>();
  for (const d of t.deckies) counts.set(d.home_lan, (counts.get(d.home_lan) ?? 0) + 1);
  const lanNames = new Set(t.lans.map((l) => l.name));
  // Parents first: React Flow needs a parent node before its children.
  const nodes: FlowNode[] = [
    ...t.lans.map((lan) => lanNode(lan, g, counts.get(lan.name) ?? 0)),
    ...t.deckies.filter((d) => lanNames.has(d.home_lan)).map((d) => deckyNode(d, g, dmz)),
  ];
  return { nodes, edges: memberEdges(t, g.marks) };
}

function sameNode(a: FlowNode, b: FlowNode): boolean {
  if (a.position.x !== b.position.x || a.position.y !== b.position.y) return false;
  if (a.selected !== b.selected || a.width !== b.width || a.height !== b.height) return false;
  if (a.parentId !== b.parentId || a.draggable !== b.draggable) return false;
  return a.data.sig === b.data.sig;
}

/** `next`, with every node that equals its previous version replaced by that previous object. */
export function reuseNodes(prev: ReadonlyMap<string, FlowNode>, next: FlowNode[]): FlowNode[] {
  return next.map((n) => {
    const old = prev.get(n.id);
    return old && sameNode(old, n) ? old : n;
  });
}

/** A `toFlow` that remembers what it returned last, so unchanged nodes keep their identity
 * from one call to the next (React Flow and the memoised node components then skip them). */
export function stableFlow(): (g: GraphInput) => { nodes: FlowNode[]; edges: Edge[] } {
  let last = new Map<string, FlowNode>();
  return (g) => {
    const flow = toFlow(g);
    const nodes = reuseNodes(last, flow.nodes);
    last = new Map(nodes.map((n) => [n.id, n]));
    return { nodes, edges: flow.edges };
  };
}
