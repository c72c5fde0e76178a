// What the canvas does while and after a node is dragged or resized, as pure functions:
// React Flow's changes become temporary overrides of the computed nodes (the store changes
// only when the gesture ends), and a let-go node becomes a layout save or a home move.
import type { NodeChange } from "@xyflow/react";
import type { TopologyView } from "../api/types";
import { deckyDrag } from "./drop";
import type { FlowNode } from "./graph";
import type { Layout } from "./layout";
import type { DeckyCanvas, LanCanvas } from "./ops";

export type Override = Partial<Pick<FlowNode, "position" | "width" | "height">>;

/** Overrides of one set of computed nodes: a new set (the store changed) drops them. */
export interface Drag {
  base: FlowNode[];
  over: Record<string, Override>;
}

export function applyOverrides(nodes: FlowNode[], drag: Drag | null): FlowNode[] {
  if (!drag || drag.base !== nodes) return nodes;
  return nodes.map((n) => {
    const o = drag.over[n.id];
    if (!o) return n;
    const sized =
      o.width !== undefined
        ? { style: { ...n.style, width: o.width, height: o.height }, measured: { width: o.width, height: o.height } }
        : {};
    return { ...n, ...o, ...sized } as FlowNode;
  });
}

/** The overrides after React Flow's changes: positions while dragging, sizes while resizing
 * (a measured size that is not a resize is React Flow's own, not the user's). */
export function overridesFrom(changes: NodeChange<FlowNode>[], over: Record<string, Override>): Record<string, Override> {
  const next = { ...over };
  for (const c of changes) {
    if (c.type === "position" && c.position) next[c.id] = { ...next[c.id], position: c.position };
    if (c.type === "dimensions" && c.resizing && c.dimensions) {
      next[c.id] = { ...next[c.id], width: c.dimensions.width, height: c.dimensions.height };
    }
  }
  return next;
}

export type DragStop =
  | { kind: "layout"; element: "lan" | "decky"; name: string; canvas: LanCanvas | DeckyCanvas }
  | { kind: "home"; decky: string; lan: string; canvas: DeckyCanvas; confirm: string | null };

/** What letting go of `node` means. Moving a live decky's home recreates its base container
 * under an intruder, so that one asks first (`confirm` is the question). */
export function dragStop(t: TopologyView, layout: Layout, node: FlowNode, live: boolean): DragStop | null {
  if (node.type === "lan") {
    return { kind: "layout", element: "lan", name: node.data.lan.name, canvas: { x: Math.round(node.position.x), y: Math.round(node.position.y) } };
  }
  const d = node.data.decky;
  const home = layout.lans.get(d.home_lan);
  if (!home) return null;
  const result = deckyDrag(t, layout, d.name, { x: home.x + node.position.x, y: home.y + node.position.y });
  if (!result) return null;
  if (result.kind === "layout") return { kind: "layout", element: "decky", name: d.name, canvas: result.canvas };
  const confirm = live
    ? `Moving ${d.name} to ${result.lan} recreates its base container on the host (its IP stack restarts under an intruder). Stage it anyway?`
    : null;
  return { kind: "home", decky: d.name, lan: result.lan, canvas: result.canvas, confirm };
}
