// The topology as React Flow nodes and edges: LAN boxes (parents) holding decky cards, and a
// membership line from each bridge decky to every other LAN it is on, drawn between the two
// (above LAN boxes, below cards: z-index mode "manual"). Node objects are reused
// when nothing about them changed, so React Flow and the memoised node components skip them
// (1,000-decky topologies stay smooth).
import { type Edge, type Node, Position } from "@xyflow/react";
import type { Decky, Lan, TopologyView } from "../api/types";
import { CLEAR, corridorOf, type MemberEdgeData, routeOf } from "./edgePath";
import { deckyKey, lanKey, parseKey, serviceKey } from "./elementKey";
import type { PlacedIssue } from "./issues";
import { CARD_H, CARD_W, COL_GAP, type Layout } from "./layout";
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
  /** A staged removal: shown struck out as "to remove" until it is applied or undone. */
  removed: boolean;
}

export interface DeckyData extends Record<string, unknown> {
  sig: string;
  decky: Decky;
  /** Its address on its home LAN (null: allocated on save). */
  ip: string | null;
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
  selection: ReadonlySet<string>;
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
      { id: "attach-top", type: "target", position: Position.Top, x: box.w / 2 - HANDLE / 2, y: -HANDLE / 2, width: HANDLE, height: HANDLE },
    ],
    zIndex: LAN_Z,
    selected: g.selection.has(key),
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
  const chips = chipsOf(d, g);
  const ip = d.memberships.find((m) => m.lan === d.home_lan)?.ip ?? null;
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
    zIndex: CARD_Z,
    selected: g.selection.has(key),
    draggable: g.editable,
    data: {
      sig: JSON.stringify([
        d.name, d.archetype, ip, mark, codes(issues), chips.map((c) => [c.name, c.removed, codes(c.issues)]), tags, state?.state, state?.why, g.editable,
      ]),
      decky: d,
      ip,
      mark,
      issues,
      chips,
      badges: tags,
      state,
      editable: g.editable,
    },
  };
}

// Stacking (ReactFlow zIndexMode="manual"): boxes, then membership lines, then cards.
const LAN_Z = 0;
const EDGE_Z = 1;
const CARD_Z = 2;

export type MemberEdge = Edge<MemberEdgeData, "member">;

/** A card's chips: its services, then the ones the stage removes (struck out). */
function chipsOf(d: Decky, g: GraphInput): ServiceChip[] {
  const chip = (name: string, removed: boolean): ServiceChip => ({ name, issues: g.issues.get(serviceKey(d.name, name)) ?? [], removed });
  const removed = [...g.marks].flatMap(([key, m]) => {
    const ref = parseKey(key);
    return m === "removed" && ref?.kind === "service" && ref.decky === d.name ? [ref.service] : [];
  });
  return [...(d.services ?? []).map((s) => chip(s, false)), ...removed.map((s) => chip(s, true))];
}

/** Lines leaving one LAN box run a few pixels apart (`LANES` lanes), so two of them never
 * share a segment. */
const LANES = 6;
const LANE = 5;

function memberEdges(t: TopologyView, g: GraphInput): MemberEdge[] {
  const edges: MemberEdge[] = [];
  const leaving = new Map<string, number>();
  const boxes = [...g.layout.lans.values()];
  for (const d of t.deckies) {
    const home = g.layout.lans.get(d.home_lan);
    const at = g.layout.deckies.get(d.name);
    if (!home || !at) continue;
    let index = 0;
    for (const m of d.memberships) {
      const other = g.layout.lans.get(m.lan);
      if (m.lan === d.home_lan || !other) continue;
      const route = routeOf(home, other);
      const lane = ((leaving.get(d.home_lan) ?? 0) % LANES) * LANE;
      leaving.set(d.home_lan, (leaving.get(d.home_lan) ?? 0) + 1);
      const exitUp = HANDLE / 2 - at.y - CLEAR - lane;
      const exitDown = home.h - at.y + HANDLE / 2 + CLEAR + lane;
      const via = corridorOf(boxes, home, other, route === "down" ? home.y + home.h + CLEAR + lane : home.y - CLEAR - lane, route, COL_GAP);
      edges.push({
        id: `m:${d.name}:${m.lan}`,
        type: "member",
        source: deckyKey(d.name),
        sourceHandle: "member",
        target: lanKey(m.lan),
        targetHandle: route === "up" ? "attach" : "attach-top",
        className: g.marks.has(deckyKey(d.name)) ? "membership staged" : "membership",
        zIndex: EDGE_Z,
        data: { route, exitUp, exitDown, label: m.ip ?? null, index, corridor: via === null ? null : via - (home.x + at.x + CARD_W / 2) },
      });
      index += 1;
    }
  }
  return edges;
}

export function toFlow(g: GraphInput): { nodes: FlowNode[]; edges: MemberEdge[] } {
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
  return { nodes, edges: memberEdges(t, g) };
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
export function stableFlow(): (g: GraphInput) => { nodes: FlowNode[]; edges: MemberEdge[] } {
  let last = new Map<string, FlowNode>();
  return (g) => {
    const flow = toFlow(g);
    const nodes = reuseNodes(last, flow.nodes);
    last = new Map(nodes.map((n) => [n.id, n]));
    return { nodes, edges: flow.edges };
  };
}
