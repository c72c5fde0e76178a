// Auto-layout for topologies without canvas coordinates (generated ones): LAN boxes in rows by
// their distance from the DMZ, deckies in a grid inside their home LAN. Only what has no stored
// coordinates is placed; what the user (or the layout route) placed stays where it is.
// Decky coordinates are relative to the home LAN's box.
import type { Decky, Lan, TopologyView } from "../api/types";

export const CARD_W = 184;
export const CARD_H = 78;
export const GAP = 14;
export const PAD = 16;
export const HEADER = 40;
const MIN_LAN_W = 280;
const MIN_LAN_H = 150;
const ROW_GAP = 80;
export const COL_GAP = 60;
/** A row of LAN boxes wraps past this width: the maze stays about as wide as it is tall, so
 * it opens at a readable zoom (model/viewport.ts). */
const ROW_WIDTH = 2000;

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface Layout {
  lans: Map<string, Box>;
  deckies: Map<string, Point>;
  /** Names that had no stored coordinates and were placed here (to persist). */
  placed: { lans: string[]; deckies: string[] };
}

const columnsFor = (n: number): number => Math.max(1, Math.min(8, Math.ceil(Math.sqrt(n * 1.6))));

/** The grid slot `i` of a LAN with `columns` columns, relative to the box. */
export function slot(i: number, columns: number): Point {
  return { x: PAD + (i % columns) * (CARD_W + GAP), y: HEADER + Math.floor(i / columns) * (CARD_H + GAP) };
}

export function boxSizeFor(n: number): { w: number; h: number } {
  const columns = columnsFor(n);
  const rows = Math.max(1, Math.ceil(n / columns));
  return {
    w: Math.max(MIN_LAN_W, 2 * PAD + columns * CARD_W + (columns - 1) * GAP),
    h: Math.max(MIN_LAN_H, HEADER + rows * (CARD_H + GAP) - GAP + PAD),
  };
}

/** Depth of each LAN from the DMZ through bridge deckies (unreachable LANs come last). */
export function lanDepths(t: TopologyView): Map<string, number> {
  const neighbours = new Map<string, Set<string>>();
  for (const d of t.deckies) {
    const lans = d.memberships.map((m) => m.lan);
    for (const a of lans) for (const b of lans) if (a !== b) {
      if (!neighbours.has(a)) neighbours.set(a, new Set());
      neighbours.get(a)?.add(b);
    }
  }
  const depth = new Map<string, number>();
  const root = t.lans.find((l) => l.is_dmz) ?? t.lans[0];
  if (!root) return depth;
  depth.set(root.name, 0);
  const queue = [root.name];
  for (let i = 0; i < queue.length; i += 1) {
    const here = queue[i] as string;
    for (const next of neighbours.get(here) ?? []) {
      if (!depth.has(next)) {
        depth.set(next, (depth.get(here) ?? 0) + 1);
        queue.push(next);
      }
    }
  }
  const deepest = Math.max(0, ...depth.values());
  for (const lan of t.lans) if (!depth.has(lan.name)) depth.set(lan.name, deepest + 1);
  return depth;
}

const stored = (l: Lan): Box | null =>
  l.x != null && l.y != null && l.w != null && l.h != null ? { x: l.x, y: l.y, w: l.w, h: l.h } : null;

function homed(t: TopologyView): Map<string, Decky[]> {
  const out = new Map<string, Decky[]>();
  for (const d of t.deckies) {
    const list = out.get(d.home_lan);
    if (list) list.push(d);
    else out.set(d.home_lan, [d]);
  }
  return out;
}

function placeLans(t: TopologyView, members: Map<string, Decky[]>, layout: Layout): void {
  const depth = lanDepths(t);
  const fixed = t.lans.map(stored).filter((b): b is Box => b !== null);
  let top = fixed.length ? Math.max(...fixed.map((b) => b.y + b.h)) + ROW_GAP : 40;
  const rows = new Map<number, Lan[]>();
  for (const lan of t.lans) {
    const box = stored(lan);
    const level = depth.get(lan.name) ?? 0;
    if (box) layout.lans.set(lan.name, box);
    else rows.set(level, [...(rows.get(level) ?? []), lan]);
  }
  for (const level of [...rows.keys()].sort((a, b) => a - b)) {
    let left = 40;
    let tallest = 0;
    for (const lan of rows.get(level) ?? []) {
      const size = boxSizeFor((members.get(lan.name) ?? []).length);
      const w = lan.w ?? size.w;
      if (left > 40 && left + w > 40 + ROW_WIDTH) {
        top += tallest + ROW_GAP;
        left = 40;
        tallest = 0;
      }
      const box = { x: lan.x ?? left, y: lan.y ?? top, w, h: lan.h ?? size.h };
      layout.lans.set(lan.name, box);
      layout.placed.lans.push(lan.name);
      left += box.w + COL_GAP;
      tallest = Math.max(tallest, box.h);
    }
    top += tallest + ROW_GAP;
  }
}

const overlaps = (a: Point, b: Point): boolean =>
  Math.abs(a.x - b.x) < CARD_W && Math.abs(a.y - b.y) < CARD_H;

function placeDeckies(members: Map<string, Decky[]>, layout: Layout): void {
  for (const [lan, deckies] of members) {
    const box = layout.lans.get(lan);
    const columns = box ? Math.max(1, Math.floor((box.w - 2 * PAD + GAP) / (CARD_W + GAP))) : columnsFor(deckies.length);
    const taken: Point[] = [];
    for (const d of deckies) {
      if (d.x != null && d.y != null) {
        layout.deckies.set(d.name, { x: d.x, y: d.y });
        taken.push({ x: d.x, y: d.y });
      }
    }
    let i = 0;
    for (const d of deckies) {
      if (d.x != null && d.y != null) continue;
      let at = slot(i, columns);
      while (taken.some((p) => overlaps(p, at))) at = slot(++i, columns);
      layout.deckies.set(d.name, at);
      layout.placed.deckies.push(d.name);
      taken.push(at);
      i += 1;
    }
  }
}

/** A box grows (never shrinks) to hold its cards: one dropped or moved past its edge stays
 * inside. Only drawn: the stored size changes when the user resizes the box. */
function growToFit(members: Map<string, Decky[]>, layout: Layout): void {
  for (const [lan, deckies] of members) {
    const box = layout.lans.get(lan);
    if (!box) continue;
    let w = box.w;
    let h = box.h;
    for (const d of deckies) {
      const p = layout.deckies.get(d.name);
      if (!p) continue;
      w = Math.max(w, p.x + CARD_W + PAD);
      h = Math.max(h, p.y + CARD_H + PAD);
    }
    if (w !== box.w || h !== box.h) layout.lans.set(lan, { ...box, w, h });
  }
}

export function autoLayout(t: TopologyView): Layout {
  const layout: Layout = { lans: new Map(), deckies: new Map(), placed: { lans: [], deckies: [] } };
  const members = homed(t);
  placeLans(t, members, layout);
  placeDeckies(members, layout);
  growToFit(members, layout);
  return layout;
}

/** Which LAN box contains a canvas point (the innermost: the smallest box wins). */
export function lanAt(layout: Layout, p: Point, names?: Iterable<string>): string | null {
  let best: { name: string; area: number } | null = null;
  for (const name of names ?? layout.lans.keys()) {
    const b = layout.lans.get(name);
    if (!b || p.x < b.x || p.y < b.y || p.x > b.x + b.w || p.y > b.y + b.h) continue;
    if (!best || b.w * b.h < best.area) best = { name, area: b.w * b.h };
  }
  return best?.name ?? null;
}

/** The layout route's body for what `autoLayout` placed (rounded: the canvas is in pixels). */
export function layoutBody(layout: Layout): {
  lans: Record<string, Box>;
  deckies: Record<string, Point>;
} {
  const r = Math.round;
  const lans: Record<string, Box> = {};
  const deckies: Record<string, Point> = {};
  for (const name of layout.placed.lans) {
    const b = layout.lans.get(name);
    if (b) lans[name] = { x: r(b.x), y: r(b.y), w: r(b.w), h: r(b.h) };
  }
  for (const name of layout.placed.deckies) {
    const p = layout.deckies.get(name);
    if (p) deckies[name] = { x: r(p.x), y: r(p.y) };
  }
  return { lans, deckies };
}

/** A resized LAN box as the layout route stores it: whole pixels, never below the minimum
 * (React Flow reports fractions while zoomed). */
export function resizedBox(r: { x: number; y: number; width: number; height: number }, min: { w: number; h: number }): Box {
  return { x: Math.round(r.x), y: Math.round(r.y), w: Math.max(min.w, Math.round(r.width)), h: Math.max(min.h, Math.round(r.height)) };
}

/** A decky card's box on the canvas (absolute: its home LAN's corner plus its offset). */
export function cardBox(layout: Layout, decky: string, home: string): Box | null {
  const lan = layout.lans.get(home);
  const at = layout.deckies.get(decky);
  return lan && at ? { x: lan.x + at.x, y: lan.y + at.y, w: CARD_W, h: CARD_H } : null;
}

/** Which decky card contains a canvas point (the last drawn, i.e. topmost, when cards overlap). */
export function deckyAt(layout: Layout, t: TopologyView, p: Point): string | null {
  let found: string | null = null;
  for (const d of t.deckies) {
    const b = cardBox(layout, d.name, d.home_lan);
    if (b && p.x >= b.x && p.y >= b.y && p.x <= b.x + b.w && p.y <= b.y + b.h) found = d.name;
  }
  return found;
}

/** Where a new card goes in a LAN: at `at` (relative to the box) unless a card is there; then
 * the first free slot of the LAN's grid. */
export function freeSpot(layout: Layout, t: TopologyView, lan: string, at: Point): Point {
  const taken = t.deckies
    .filter((d) => d.home_lan === lan)
    .map((d) => layout.deckies.get(d.name))
    .filter((p): p is Point => p !== undefined);
  if (!taken.some((p) => overlaps(p, at))) return at;
  const box = layout.lans.get(lan);
  const columns = box ? Math.max(1, Math.floor((box.w - 2 * PAD + GAP) / (CARD_W + GAP))) : 1;
  for (let i = 0; ; i += 1) {
    const spot = slot(i, columns);
    if (!taken.some((p) => overlaps(p, spot))) return spot;
  }
}

/** `n` free grid slots of a LAN box, in order (for cards added together, e.g. pasted). */
export function freeSpots(layout: Layout, t: TopologyView, lan: string, n: number): Point[] {
  const taken = t.deckies
    .filter((d) => d.home_lan === lan)
    .map((d) => layout.deckies.get(d.name))
    .filter((p): p is Point => p !== undefined);
  const box = layout.lans.get(lan);
  const columns = box ? Math.max(1, Math.floor((box.w - 2 * PAD + GAP) / (CARD_W + GAP))) : 1;
  const out: Point[] = [];
  for (let i = 0; out.length < n; i += 1) {
    const spot = slot(i, columns);
    if (!taken.some((p) => overlaps(p, spot))) {
      out.push(spot);
      taken.push(spot);
    }
  }
  return out;
}
