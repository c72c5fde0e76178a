// Where the canvas opens and where it moves to: the whole maze when it fits at a readable
// zoom, else a readable zoom on its top left (the DMZ, placed first by the auto-layout); and
// the point to centre on when search picks an element.
import type { TopologyView } from "../api/types";
import { parseKey } from "./elementKey";
import { type Box, cardBox, type Layout } from "./layout";

/** Below this zoom card text (12.5 px) is under 10 px: the canvas does not open smaller. */
export const MIN_OPEN_ZOOM = 0.8;
export const MAX_OPEN_ZOOM = 1.25;
const PAD = 24;

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/** The box around every LAN (cards are inside their LANs). */
export function bounds(layout: Layout): Box | null {
  const boxes = [...layout.lans.values()];
  if (!boxes.length) return null;
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  return { x, y, w: Math.max(...boxes.map((b) => b.x + b.w)) - x, h: Math.max(...boxes.map((b) => b.y + b.h)) - y };
}

export function openingViewport(layout: Layout, view: { width: number; height: number }): Viewport {
  const b = bounds(layout);
  if (!b || view.width <= 0 || view.height <= 0) return { x: 0, y: 0, zoom: 1 };
  const fit = Math.min((view.width - 2 * PAD) / b.w, (view.height - 2 * PAD) / b.h);
  const zoom = Math.min(MAX_OPEN_ZOOM, Math.max(MIN_OPEN_ZOOM, fit));
  if (fit >= MIN_OPEN_ZOOM) {
    // It all fits: centred.
    return { x: (view.width - b.w * zoom) / 2 - b.x * zoom, y: (view.height - b.h * zoom) / 2 - b.y * zoom, zoom };
  }
  // Too large to read whole: readable, from its top left; centred across when it is narrower.
  const x = b.w * zoom < view.width ? (view.width - b.w * zoom) / 2 - b.x * zoom : PAD - b.x * zoom;
  return { x, y: PAD - b.y * zoom, zoom };
}

/** The canvas point at the centre of an element (a card, a box), or null. */
export function centreOf(layout: Layout, t: TopologyView, key: string): { x: number; y: number } | null {
  const ref = parseKey(key);
  if (!ref) return null;
  let box: Box | null | undefined;
  if (ref.kind === "lan") box = layout.lans.get(ref.name);
  else {
    const name = ref.kind === "decky" ? ref.name : ref.decky;
    const d = t.deckies.find((x) => x.name === name);
    box = d ? cardBox(layout, d.name, d.home_lan) : null;
  }
  return box ? { x: box.x + box.w / 2, y: box.y + box.h / 2 } : null;
}
