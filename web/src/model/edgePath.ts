// The path of a membership line: from the top of a bridge decky's card, out of its own LAN box
// through the gutter beside its column (never across the cards of its LAN), along the gap
// between rows of boxes, into the other LAN's box from the side that faces it. Lines are drawn
// behind cards (model/graph.ts); the address label sits just above the card the line leaves,
// so it reads as that card's address on the other LAN. Offsets are relative to the card's
// handle, so a line follows its box while the box is dragged.
import { CARD_W, GAP } from "./layout";

export type MemberRoute = "up" | "down" | "beside";

export interface MemberEdgeData extends Record<string, unknown> {
  route: MemberRoute;
  /** From the handle: up to the gap above the home box, down to the gap below it. */
  exitUp: number;
  exitDown: number;
  label: string | null;
  /** Which of the card's membership lines this is (labels side by side). */
  index: number;
  /** When boxes stand between the two rows: the x of a free corridor beside the other LAN,
   * from the handle; the line climbs (or drops) there and turns in just before that LAN. */
  corridor: number | null;
}

/** How far outside a box a line runs. */
export const CLEAR = 12;

export function memberPath(sx: number, sy: number, tx: number, ty: number, d: MemberEdgeData): { path: string; labelX: number; labelY: number } {
  const gapY = sy - GAP / 2;
  const gutterX = sx - CARD_W / 2 - GAP / 2;
  const exitY = d.route === "down" ? sy + d.exitDown : d.route === "up" ? sy + d.exitUp : Math.min(sy + d.exitUp, ty - CLEAR);
  const approach = d.corridor === null ? "" : ` H${sx + d.corridor} V${d.route === "up" ? ty + CLEAR : ty - CLEAR}`;
  return {
    path: `M${sx},${sy} V${gapY} H${gutterX} V${exitY}${approach} H${tx} V${ty}`,
    labelX: sx + 8 + d.index * 64,
    labelY: sy - 1,
  };
}

/** Which side of the other LAN the line enters, from where the two boxes are. */
export function routeOf(home: { y: number; h: number }, other: { y: number; h: number }): MemberRoute {
  if (other.y + other.h <= home.y) return "up";
  if (other.y >= home.y + home.h) return "down";
  return "beside";
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const crosses = (x: number, y1: number, y2: number, b: Box): boolean =>
  x > b.x && x < b.x + b.w && Math.max(y1, y2) > b.y && Math.min(y1, y2) < b.y + b.h;

/** The x of a vertical run from `fromY` to the other LAN that crosses no box but the two
 * ends': straight at the other LAN's middle when nothing is in between (null), else the gap
 * beside it. A run that finds no free way goes straight (behind what it crosses). */
export function corridorOf(boxes: readonly Box[], home: Box, other: Box, fromY: number, route: MemberRoute, gap: number): number | null {
  const toY = route === "up" ? other.y + other.h + CLEAR : other.y - CLEAR;
  const free = (x: number): boolean => !boxes.some((b) => b !== home && b !== other && crosses(x, fromY, toY, b));
  const middle = other.x + other.w / 2;
  if (free(middle)) return null;
  return [other.x - gap / 2, other.x + other.w + gap / 2].find(free) ?? null;
}
