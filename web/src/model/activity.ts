// The attacks seen on the open topology in the chosen window, from the activity route (what the
// window held when the editor asked) and then the event stream (`attack.*` events,
// decnet/events.py): a bounded feed, newest first, and per decky the count, the time of the
// last one and the id of the last one that arrived live (its card pulses). Every string in an
// attack event was sent by an intruder: it is data, rendered as text, never as markup.
import type { Event } from "../api/types";

export type AttackEvent = Extract<Event, { topic: "attack" }>;

/** The time window the counts, the feed and the paths cover. */
export type Window = "15m" | "1h" | "24h" | "all";

export const WINDOWS: readonly { value: Window; label: string; words: string }[] = [
  { value: "15m", label: "15 min", words: "in the last 15 minutes" },
  { value: "1h", label: "1 h", words: "in the last hour" },
  { value: "24h", label: "24 h", words: "in the last 24 hours" },
  { value: "all", label: "all", words: "since it was created" },
];

export const DEFAULT_WINDOW: Window = "1h";

export interface Activity {
  window: Window;
  /** The window's events as far as they are known (the route's answer is in). */
  loaded: boolean;
  /** Newest first, at most FEED_LIMIT. */
  feed: AttackEvent[];
  /** decky → attack events in the window. */
  counts: Record<string, number>;
  /** decky → sensor time of its newest attack event. */
  last: Record<string, string>;
  /** decky → id of its newest attack event that arrived over the stream (restarts its pulse). */
  pulse: Record<string, number>;
  /** Highest event id taken in (a replayed event is not counted twice). */
  latest: number;
}

export const FEED_LIMIT = 500;

export const emptyActivity: Activity = { window: DEFAULT_WINDOW, loaded: false, feed: [], counts: {}, last: {}, pulse: {}, latest: 0 };

export const isAttack = (ev: Event): ev is AttackEvent => ev.topic === "attack";

/** The window's answer of the activity route (`GET /topologies/{name}/activity`). */
export interface ActivityAnswer {
  deckies: { decky: string; events: number; last_at: string }[];
  events: Event[];
  latest: number;
}

/** Attack events that arrived over the stream, in the order they came. */
export function addAttacks(a: Activity, evs: readonly AttackEvent[]): Activity {
  const fresh = evs.filter((ev, i) => ev.id > a.latest && evs.findIndex((x) => x.id === ev.id) === i);
  if (!fresh.length) return a;
  const counts = { ...a.counts };
  const last = { ...a.last };
  const pulse = { ...a.pulse };
  let latest = a.latest;
  for (const ev of fresh) {
    const decky = ev.payload.decky;
    counts[decky] = (counts[decky] ?? 0) + 1;
    if (!last[decky] || ev.payload.observed_at > (last[decky] ?? "")) last[decky] = ev.payload.observed_at;
    pulse[decky] = ev.id;
    latest = Math.max(latest, ev.id);
  }
  const feed = [...[...fresh].reverse(), ...a.feed].sort((x, y) => y.id - x.id).slice(0, FEED_LIMIT);
  return { ...a, feed, counts, last, pulse, latest };
}

export const addAttack = (a: Activity, ev: AttackEvent): Activity => addAttacks(a, [ev]);

/** The window as the route read it, plus what the stream brought meanwhile (ids after the
 * route's `latest`); cards that pulsed keep their pulse. */
export function loadedActivity(a: Activity, window: Window, answer: ActivityAnswer): Activity {
  const counts: Record<string, number> = {};
  const last: Record<string, string> = {};
  for (const d of answer.deckies) {
    counts[d.decky] = d.events;
    last[d.decky] = d.last_at;
  }
  const feed = answer.events.filter(isAttack).slice(0, FEED_LIMIT);
  const base: Activity = { window, loaded: true, feed, counts, last, pulse: {}, latest: answer.latest };
  const meanwhile = a.feed.filter((ev) => ev.id > answer.latest).reverse();
  return { ...addAttacks(base, meanwhile), pulse: a.pulse };
}

/** The window's start as an ISO time, or null for "all". */
export function windowStart(w: Window, now: Date): string | null {
  const minutes = { "15m": 15, "1h": 60, "24h": 1440, all: null }[w];
  return minutes === null ? null : new Date(now.getTime() - minutes * 60_000).toISOString();
}

/** The LANs' totals: the sum of their home deckies' counts. */
export function lanTotals(counts: Record<string, number>, homes: ReadonlyMap<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [decky, n] of Object.entries(counts)) {
    const lan = homes.get(decky);
    if (lan) out[lan] = (out[lan] ?? 0) + n;
  }
  return out;
}

/** `HH:MM:SS` of an ISO time (UTC, as the sensors write it). */
export const clock = (iso: string): string => (iso.length >= 19 ? iso.slice(11, 19) : iso);

/** `HH:MM` of an ISO time (UTC). */
export const minute = (iso: string): string => (iso.length >= 16 ? iso.slice(11, 16) : iso);

/** What an attack event says, in a few words: the credentials tried, the command, the
 * request, the download, the ports. */
export function describe(ev: AttackEvent): string {
  const p = ev.payload as Record<string, unknown>;
  const s = (k: string): string => (typeof p[k] === "string" || typeof p[k] === "number" ? String(p[k]) : "");
  const type: string = ev.type;
  switch (type) {
    case "attack.connect":
      return `connect to ${s("service")}${s("dst_port") ? ` :${s("dst_port")}` : ""}`;
    case "attack.login":
      return `login ${[s("username"), s("password")].filter(Boolean).join(" / ") || "(empty)"} ${s("outcome") === "success" ? "succeeded" : "failed"}`;
    case "attack.command":
      return `command ${s("command")}`;
    case "attack.request":
      return `request ${[s("method"), s("path") || s("query")].filter(Boolean).join(" ")}`.trimEnd();
    case "attack.download":
      return `download ${s("url") || s("sha256") || "a file"}`;
    case "attack.scan":
      return `scan: ${s("connects")} connects, ${Array.isArray(p.ports) ? p.ports.length : 0} ports`;
    default:
      return type;
  }
}

/** The short name of an event's type (`login` for `attack.login`). */
export const kindOf = (type: string): string => type.replace(/^attack\./, "");

export interface FeedFilter {
  type: string;
  service: string;
  decky: string;
  source: string;
}

export const noFilter: FeedFilter = { type: "", service: "", decky: "", source: "" };

export function filterFeed(feed: readonly AttackEvent[], f: FeedFilter): AttackEvent[] {
  if (!f.type && !f.service && !f.decky && !f.source) return feed as AttackEvent[];
  const source = f.source.trim();
  return feed.filter(
    (ev) =>
      (!f.type || kindOf(ev.type) === f.type) &&
      (!f.service || ev.payload.service === f.service) &&
      (!f.decky || ev.payload.decky === f.decky) &&
      (!source || ev.payload.src_ip.startsWith(source)),
  );
}

/** The values the feed's filters offer: those present in the feed, sorted. */
export function filterOptions(feed: readonly AttackEvent[]): { types: string[]; services: string[]; deckies: string[] } {
  const types = new Set<string>();
  const services = new Set<string>();
  const deckies = new Set<string>();
  for (const ev of feed) {
    types.add(kindOf(ev.type));
    services.add(ev.payload.service);
    deckies.add(ev.payload.decky);
  }
  const sorted = (x: Set<string>): string[] => [...x].sort();
  return { types: sorted(types), services: sorted(services), deckies: sorted(deckies) };
}

/** The rows of a virtualised list of `n` rows of `rowHeight` px scrolled to `scrollTop` in a
 * viewport `height` px tall, with `overscan` rows either side: [first, end). */
export function visibleRows(scrollTop: number, height: number, rowHeight: number, n: number, overscan = 5): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(n, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return [first, Math.max(first, end)];
}
