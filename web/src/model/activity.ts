// The attacks seen on the open topology, from the same event stream as everything else
// (`attack.*` events, decnet/events.py): a bounded feed, newest first, and per decky the count
// and the time of the last one. The activity view (issue 16) draws from this; it is kept here
// so the stream's dispatch already feeds it. Every string in an attack event was sent by an
// intruder: it is data, rendered as text, never as markup.
import type { Event } from "../api/types";

export type AttackEvent = Extract<Event, { topic: "attack" }>;

export interface Activity {
  /** Newest first, at most FEED_LIMIT. */
  feed: AttackEvent[];
  /** decky → attack events seen since the editor opened the topology. */
  counts: Record<string, number>;
  /** decky → `at` of its newest attack event. */
  last: Record<string, string>;
  /** Highest event id taken in (a replayed event is not counted twice). */
  latest: number;
}

export const FEED_LIMIT = 500;

export const emptyActivity: Activity = { feed: [], counts: {}, last: {}, latest: 0 };

export const isAttack = (ev: Event): ev is AttackEvent => ev.topic === "attack";

export function addAttack(a: Activity, ev: AttackEvent): Activity {
  if (ev.id <= a.latest) return a;
  const decky = ev.payload.decky;
  return {
    feed: [ev, ...a.feed].slice(0, FEED_LIMIT),
    counts: { ...a.counts, [decky]: (a.counts[decky] ?? 0) + 1 },
    last: { ...a.last, [decky]: ev.at },
    latest: ev.id,
  };
}
