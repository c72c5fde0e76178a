// The topology as it will be once staged ops apply: what the canvas draws while edits are
// pending (amber). A preview only — the server's edit (decnet/core/edit.py) is the truth: it
// allocates addresses, and validates; an op that does not resolve here is skipped, and the
// server's issue list says why.
import type { Catalog, Decky, Lan, TopologyView } from "../api/types";
import { deckyKey, lanKey, nameOf, parseKey, serviceKey } from "./elementKey";
import type { DeckyCanvas, LanCanvas, Op } from "./ops";

export type Mark = "added" | "changed" | "removed";

export interface Projection {
  topology: TopologyView;
  /** Element key (model/elementKey.ts) → how staged ops touch the element (absent:
   * untouched). A service the stage removes is marked `removed` on its key. */
  marks: Map<string, Mark>;
}

interface Work {
  lans: Lan[];
  deckies: Decky[];
  marks: Map<string, Mark>;
  catalog: Catalog | null;
}

function mark(w: Work, key: string, how: Mark): void {
  const before = w.marks.get(key);
  if (before === "added" && how === "changed") return;
  if (before === "added" && how === "removed") {
    w.marks.delete(key); // added then removed within the stage: nothing to show
    return;
  }
  w.marks.set(key, how);
}

function setCanvas<T extends Lan | Decky>(target: T, canvas: LanCanvas | DeckyCanvas | null | undefined): T {
  if (!canvas) return target;
  // Like the server: only the keys the op gives move (`{x: 1}` keeps the size).
  const picked = Object.fromEntries(Object.entries(canvas).filter(([, v]) => v !== undefined));
  return { ...target, ...picked };
}

function findDecky(w: Work, name: string): Decky | undefined {
  return w.deckies.find((d) => d.name === name);
}

function replaceDecky(w: Work, next: Decky): void {
  const before = findDecky(w, next.name)?.services ?? [];
  const after = next.services ?? [];
  for (const s of before) if (!after.includes(s)) markService(w, serviceKey(next.name, s), "removed");
  for (const s of after) if (!before.includes(s)) markService(w, serviceKey(next.name, s), "added");
  w.deckies = w.deckies.map((d) => (d.name === next.name ? next : d));
  mark(w, deckyKey(next.name), "changed");
}

/** A service removed and added back within the stage (or the reverse) is untouched. */
function markService(w: Work, key: string, how: "added" | "removed"): void {
  const before = w.marks.get(key);
  if ((before === "added" && how === "removed") || (before === "removed" && how === "added")) w.marks.delete(key);
  else w.marks.set(key, how);
}

function servicesOf(w: Work, services?: string[] | null, archetype?: string | null): string[] {
  if (services) return [...services];
  const expanded = archetype ? w.catalog?.archetypes[archetype]?.services : undefined;
  return expanded ? [...expanded] : [];
}

function mergeConfig(
  current: Decky["service_config"],
  patch: Record<string, Record<string, unknown>>,
  services: string[],
): NonNullable<Decky["service_config"]> {
  const out = new Map(
    Object.entries(current ?? {})
      .filter(([service]) => services.includes(service))
      .map(([service, values]) => [service, new Map(Object.entries(values))]),
  );
  for (const [service, values] of Object.entries(patch)) {
    const merged = out.get(service) ?? new Map<string, string | number | boolean>();
    for (const [key, value] of Object.entries(values)) {
      if (value === null) merged.delete(key);
      else merged.set(key, value as string | number | boolean);
    }
    if (merged.size) out.set(service, merged);
    else out.delete(service);
  }
  return Object.fromEntries([...out].map(([service, values]) => [service, Object.fromEntries(values)]));
}

function renameLan(w: Work, from: string, to: string): void {
  w.lans = w.lans.map((l) => (l.name === from ? { ...l, name: to } : l));
  w.deckies = w.deckies.map((d) => ({
    ...d,
    home_lan: d.home_lan === from ? to : d.home_lan,
    memberships: d.memberships.map((m) => (m.lan === from ? { ...m, lan: to } : m)),
  }));
  const was = w.marks.get(lanKey(from));
  w.marks.delete(lanKey(from));
  w.marks.set(lanKey(to), was === "added" ? "added" : "changed");
}

function applyLanOp(w: Work, op: Extract<Op, { op: "add_lan" | "remove_lan" | "update_lan" }>): void {
  const lan = w.lans.find((l) => l.name === op.name);
  if (op.op === "add_lan") {
    if (lan) return;
    const fresh: Lan = { name: op.name, subnet: op.subnet ?? null, is_dmz: op.dmz ?? false, allow_public: op.allow_public ?? false };
    w.lans = [...w.lans, setCanvas(fresh, op.canvas)];
    mark(w, lanKey(op.name), "added");
    return;
  }
  if (!lan) return;
  if (op.op === "remove_lan") {
    if (w.deckies.some((d) => d.home_lan === op.name)) return;
    w.lans = w.lans.filter((l) => l.name !== op.name);
    for (const d of w.deckies.filter((d) => d.memberships.some((m) => m.lan === op.name))) {
      replaceDecky(w, { ...d, memberships: d.memberships.filter((m) => m.lan !== op.name) });
    }
    mark(w, lanKey(op.name), "removed");
    return;
  }
  let next: Lan = setCanvas({ ...lan }, op.canvas);
  if (op.subnet != null) next = { ...next, subnet: op.subnet };
  if (op.dmz != null) next = { ...next, is_dmz: op.dmz };
  if (op.allow_public != null) next = { ...next, allow_public: op.allow_public };
  w.lans = w.lans.map((l) => (l.name === op.name ? next : l));
  mark(w, lanKey(op.name), "changed");
  if (op.rename && op.rename !== op.name && !w.lans.some((l) => l.name === op.rename)) {
    renameLan(w, op.name, op.rename);
  }
}

function moveHome(d: Decky, lan: string): Decky {
  const kept = d.memberships.find((m) => m.lan === lan) ?? { lan, ip: null };
  const others = d.memberships.filter((m) => m.lan !== lan && m.lan !== d.home_lan);
  return { ...d, home_lan: lan, memberships: [kept, ...others] };
}

function applyDeckyOp(w: Work, op: Exclude<Op, { op: "add_lan" | "remove_lan" | "update_lan" }>): void {
  if (op.op === "add_decky") {
    if (findDecky(w, op.name) || !w.lans.some((l) => l.name === op.lan)) return;
    const fresh: Decky = {
      name: op.name,
      home_lan: op.lan,
      memberships: [{ lan: op.lan, ip: op.ip ?? null }],
      services: servicesOf(w, op.services, op.archetype),
      service_config: op.config ? structuredClone(op.config) : {},
      archetype: op.archetype ?? null,
      forwards_l3: op.forwards_l3 ?? false,
      publish: op.publish ? [...op.publish] : [],
    };
    w.deckies = [...w.deckies, setCanvas(fresh, op.canvas)];
    mark(w, deckyKey(op.name), "added");
    return;
  }
  const name = op.op === "attach_decky" || op.op === "detach_decky" ? op.decky : op.name;
  const d = findDecky(w, name);
  if (!d) return;
  if (op.op === "remove_decky") {
    w.deckies = w.deckies.filter((x) => x.name !== name);
    mark(w, deckyKey(name), "removed");
  } else if (op.op === "attach_decky") {
    if (d.memberships.some((m) => m.lan === op.lan) || !w.lans.some((l) => l.name === op.lan)) return;
    replaceDecky(w, { ...d, memberships: [...d.memberships, { lan: op.lan, ip: op.ip ?? null }] });
  } else if (op.op === "detach_decky") {
    if (op.lan === d.home_lan) return;
    replaceDecky(w, { ...d, memberships: d.memberships.filter((m) => m.lan !== op.lan) });
  } else {
    replaceDecky(w, updateDecky(w, d, op));
  }
}

function updateDecky(w: Work, d: Decky, op: Extract<Op, { op: "update_decky" }>): Decky {
  let next: Decky = setCanvas({ ...d }, op.canvas);
  if (op.forwards_l3 != null) next = { ...next, forwards_l3: op.forwards_l3 };
  if (op.home != null && op.home !== d.home_lan && w.lans.some((l) => l.name === op.home)) {
    next = moveHome(next, op.home);
  }
  const services = op.services ? [...op.services] : (next.services ?? []);
  next = {
    ...next,
    services,
    service_config: mergeConfig(next.service_config, op.config ?? {}, services),
  };
  if (op.publish != null) next = { ...next, publish: [...op.publish] };
  return next;
}

function keepRemoved<T extends { name: string }>(base: T[], now: T[], removed: Set<string>): T[] {
  const ghosts = base.filter((x) => removed.has(x.name) && !now.some((y) => y.name === x.name));
  return [...now, ...ghosts];
}

/** Apply `ops` to `base` as the server would (minus allocation and validation). Removed
 * elements stay in the result, marked `removed`, so the canvas can show them struck out. */
export function project(base: TopologyView, ops: readonly Op[], catalog: Catalog | null): Projection {
  const w: Work = { lans: base.lans, deckies: base.deckies, marks: new Map(), catalog };
  for (const op of ops) {
    if (op.op === "add_lan" || op.op === "remove_lan" || op.op === "update_lan") applyLanOp(w, op);
    else applyDeckyOp(w, op);
  }
  const removed = (kind: "lan" | "decky"): Set<string> =>
    new Set([...w.marks].filter(([, m]) => m === "removed").map(([k]) => nameOf(k, kind)).filter((n): n is string => n !== null));
  const topology: TopologyView = {
    ...base,
    lans: keepRemoved(base.lans, w.lans, removed("lan")),
    deckies: keepRemoved(base.deckies, w.deckies, removed("decky")),
  };
  return { topology, marks: w.marks };
}

export interface Counts {
  lans: number;
  deckies: number;
  /** Elements the stage adds, changes or removes. */
  staged: number;
}

/** What the canvas draws, counted as the header says it: removed elements (still drawn, struck
 * out) no longer count; staged additions do. */
export function countsOf(p: Projection): Counts {
  const gone = (key: string): boolean => p.marks.get(key) === "removed";
  const staged = [...p.marks.keys()].filter((key) => parseKey(key)?.kind !== "service").length;
  return {
    lans: p.topology.lans.filter((l) => !gone(lanKey(l.name))).length,
    deckies: p.topology.deckies.filter((d) => !gone(deckyKey(d.name))).length,
    staged,
  };
}
