// What a drop on the canvas means. The palette drags `{kind, name}` (HTML drag and drop); the
// canvas turns the drop point (canvas coordinates) into an edit: a LAN box where it falls, a
// decky in the LAN under the point, a service added to the decky under the point. Dragging a
// decky card and letting go inside another LAN moves its home there.
import type { TopologyView } from "../api/types";
import * as build from "./builders";
import { CARD_H, CARD_W, type Layout, type Point, boxSizeFor, deckyAt, freeSpot, lanAt } from "./layout";

export const MIME = "application/x-decnet";

export type PaletteKind = "lan" | "dmz" | "archetype" | "service";

export interface PaletteItem {
  kind: PaletteKind;
  name: string;
}

export function encodeItem(item: PaletteItem): string {
  return JSON.stringify(item);
}

export function decodeItem(text: string): PaletteItem | null {
  try {
    const v = JSON.parse(text) as Partial<PaletteItem>;
    const kinds: PaletteKind[] = ["lan", "dmz", "archetype", "service"];
    return v && typeof v.name === "string" && kinds.includes(v.kind as PaletteKind) ? (v as PaletteItem) : null;
  } catch {
    return null;
  }
}

export type DropResult = { edit: build.Edit } | { error: string };

export function dropEdit(item: PaletteItem, p: Point, t: TopologyView, layout: Layout): DropResult {
  if (item.kind === "lan" || item.kind === "dmz") {
    const size = boxSizeFor(0);
    return { edit: build.addLan(t, item.kind === "dmz", { x: p.x, y: p.y, w: size.w, h: size.h }) };
  }
  if (item.kind === "archetype") {
    const lan = lanAt(layout, p);
    const box = lan ? layout.lans.get(lan) : undefined;
    if (!lan || !box) return { error: `drop the ${item.name} archetype onto a LAN box` };
    const wanted = { x: Math.max(0, p.x - box.x - CARD_W / 2), y: Math.max(0, p.y - box.y - CARD_H / 2) };
    const at = freeSpot(layout, t, lan, wanted);
    const edit = build.dropArchetype(t, lan, item.name, at);
    return edit ? { edit } : { error: `cannot add a decky to ${lan}` };
  }
  const decky = deckyAt(layout, t, p);
  if (!decky) return { error: `drop the ${item.name} service onto a decky card` };
  const edit = build.dropService(t, decky, item.name);
  return edit ? { edit } : { error: `${decky} already runs ${item.name}` };
}

export type DragResult =
  | { kind: "layout"; canvas: { x: number; y: number } }
  | { kind: "home"; lan: string; canvas: { x: number; y: number } };

/** A decky card let go at `topLeft` (canvas coordinates): moved within its LAN, or into
 * another LAN (its home changes; the offset is relative to the new box). */
export function deckyDrag(t: TopologyView, layout: Layout, decky: string, topLeft: Point): DragResult | null {
  const d = t.deckies.find((x) => x.name === decky);
  if (!d) return null;
  const centre = { x: topLeft.x + CARD_W / 2, y: topLeft.y + CARD_H / 2 };
  const target = lanAt(layout, centre);
  const into = target ?? d.home_lan;
  const box = layout.lans.get(into);
  if (!box) return null;
  const canvas = { x: Math.round(topLeft.x - box.x), y: Math.round(topLeft.y - box.y) };
  return into === d.home_lan ? { kind: "layout", canvas } : { kind: "home", lan: into, canvas };
}

/** The LAN a card's membership handle was let go over — anywhere in the box, not only on its
 * handle — when the decky can be attached there (it is not on it yet), else null. */
export function attachTarget(t: TopologyView, layout: Layout, decky: string, p: Point): string | null {
  const d = t.deckies.find((x) => x.name === decky);
  const lan = d ? lanAt(layout, p) : null;
  return d && lan && !d.memberships.some((m) => m.lan === lan) ? lan : null;
}
