// One source's path through the open topology, as the canvas draws it: the deckies it touched in
// the order it first did (across LANs), numbered, at their cards' centres; and its timeline,
// the events a scrubber replays (the path then shows only what it had touched by that time).
import type { TopologyView } from "../api/types";
import { type AttackEvent, isAttack } from "./activity";
import { deckyKey } from "./elementKey";
import type { Layout } from "./layout";
import { centreOf } from "./viewport";

/** One step of a source's path (decnet/core/observe/attackers.py: Stop). */
export interface Stop {
  topology: string;
  decky: string;
  lan?: string | null;
  first_at: string;
}

export interface PathPoint {
  n: number;
  decky: string;
  x: number;
  y: number;
  at: string;
}

/** The stops on `topology` first touched at or before `until` (null: all), each decky once, in
 * the order it was first touched. */
export function stopsOf(stops: readonly Stop[], topology: string, until: string | null): Stop[] {
  const seen = new Set<string>();
  const out: Stop[] = [];
  const ordered = [...stops].sort((a, b) => (a.first_at < b.first_at ? -1 : a.first_at > b.first_at ? 1 : 0));
  for (const s of ordered) {
    if (s.topology !== topology || seen.has(s.decky) || (until !== null && s.first_at > until)) continue;
    seen.add(s.decky);
    out.push(s);
  }
  return out;
}

/** Where the path's numbered points lie on the canvas (flow coordinates); a decky not drawn
 * (removed since) is left out, the numbers stay those of the path. */
export function pathPoints(stops: readonly Stop[], layout: Layout, t: TopologyView): PathPoint[] {
  const out: PathPoint[] = [];
  stops.forEach((s, i) => {
    const at = centreOf(layout, t, deckyKey(s.decky));
    if (at) out.push({ n: i + 1, decky: s.decky, x: at.x, y: at.y, at: s.first_at });
  });
  return out;
}

/** decky → its step number on the path. */
export const stepsOf = (stops: readonly Stop[]): Record<string, number> => Object.fromEntries(stops.map((s, i) => [s.decky, i + 1]));

/** A wire event as the attacker route sends it in a session (`id`, `at`, `type`, `payload`…). */
type Wire = Record<string, unknown>;

/** A source's events on `topology` since `since` (null: all), in sensor-time order. */
export function timelineOf(sessions: readonly { events: Wire[] }[], topology: string, since: string | null): AttackEvent[] {
  const out: AttackEvent[] = [];
  for (const s of sessions) {
    for (const w of s.events) {
      const ev = w as unknown as AttackEvent;
      if (!isAttack(ev) || ev.payload.topology !== topology) continue;
      if (since !== null && ev.payload.observed_at < since) continue;
      out.push(ev);
    }
  }
  return out.sort((a, b) => (a.payload.observed_at < b.payload.observed_at ? -1 : a.payload.observed_at > b.payload.observed_at ? 1 : a.id - b.id));
}

/** The time the scrubber at `index` stands for (null: the end, everything). */
export const scrubTime = (timeline: readonly AttackEvent[], index: number | null): string | null =>
  index === null || index >= timeline.length - 1 ? null : (timeline[Math.max(0, index)]?.payload.observed_at ?? null);
