// Undo and redo of a pending topology's edits. Each edit was sent at once, so undoing one is
// another batch: its inverse, computed from the topology as it was before the edit (the ops of
// docs/mutations.md, nothing else). An edit whose inverse would need a value the editor never
// sees — a secret (the API returns it masked) — cannot be undone, and says so. An entry is
// undone only on the version it left: anyone else's edit in between makes the history stale.
import type { Decky, Lan, TopologyView } from "../api/types";
import type { Op } from "./ops";
import { project } from "./project";

export const MASK = "********";

export interface Done {
  label: string;
  ops: Op[];
  /** The batch that undoes `ops`, or why there is none. */
  inverse: Op[] | string;
  /** The topology's version right after `ops` (undo) or `inverse` (redo) was applied. */
  version: number;
}

export interface History {
  done: Done[];
  undone: Done[];
}

export const emptyHistory: History = { done: [], undone: [] };

const NO_SECRET = "it changed a secret setting, whose old value the editor never sees";

const canvasOf = (x: { x?: number | null; y?: number | null; w?: number | null; h?: number | null }) =>
  Object.fromEntries(Object.entries({ x: x.x, y: x.y, w: x.w, h: x.h }).filter(([, v]) => v !== null && v !== undefined)) as Record<string, number>;

const masked = (d: Decky): boolean => Object.values(d.service_config ?? {}).some((c) => Object.values(c).includes(MASK));

/** The ops that bring back decky `d` as it was (its home, addresses, services, settings). */
function recreateDecky(d: Decky): Op[] | string {
  if (masked(d)) return `${d.name} has secret settings, which the editor never sees`;
  const home = d.memberships.find((m) => m.lan === d.home_lan);
  const add: Op = {
    op: "add_decky",
    name: d.name,
    lan: d.home_lan,
    services: [...(d.services ?? [])],
    config: structuredClone(d.service_config ?? {}),
    forwards_l3: d.forwards_l3 ?? false,
    publish: [...(d.publish ?? [])],
    canvas: canvasOf(d),
  };
  if (home?.ip) add.ip = home.ip;
  if (d.archetype) add.archetype = d.archetype;
  const attach: Op[] = d.memberships
    .filter((m) => m.lan !== d.home_lan)
    .map((m) => ({ op: "attach_decky", decky: d.name, lan: m.lan, ...(m.ip ? { ip: m.ip } : {}) }));
  return [add, ...attach];
}

function recreateLan(lan: Lan, t: TopologyView): Op[] {
  const add: Op = { op: "add_lan", name: lan.name, dmz: lan.is_dmz ?? false, allow_public: lan.allow_public ?? false, canvas: canvasOf(lan) };
  if (lan.subnet) add.subnet = lan.subnet;
  const attach: Op[] = t.deckies.flatMap((d) =>
    d.memberships.filter((m) => m.lan === lan.name && d.home_lan !== lan.name).map((m): Op => ({ op: "attach_decky", decky: d.name, lan: lan.name, ...(m.ip ? { ip: m.ip } : {}) })),
  );
  return [add, ...attach];
}

function undoUpdateDecky(op: Extract<Op, { op: "update_decky" }>, d: Decky): Op | string {
  const back: Op = { op: "update_decky", name: d.name };
  if (op.services) back.services = [...(d.services ?? [])];
  if (op.forwards_l3 != null) back.forwards_l3 = d.forwards_l3 ?? false;
  if (op.publish != null) back.publish = [...(d.publish ?? [])];
  if (op.canvas) back.canvas = canvasOf(d);
  const config: Record<string, Record<string, string | number | boolean | null>> = {};
  for (const [service, values] of Object.entries(op.config ?? {})) {
    for (const key of Object.keys(values)) {
      const old = d.service_config?.[service]?.[key];
      if (old === MASK) return NO_SECRET;
      config[service] = { ...config[service], [key]: old ?? null };
    }
  }
  // Services dropped by the edit took their settings with them: they come back too.
  for (const s of (d.services ?? []).filter((s) => op.services && !op.services.includes(s))) {
    const values = d.service_config?.[s];
    if (!values) continue;
    if (Object.values(values).includes(MASK)) return `${s} on ${d.name} had secret settings, which the editor never sees`;
    config[s] = { ...values, ...config[s] };
  }
  if (Object.keys(config).length) back.config = config;
  return back;
}

function undoUpdateLan(op: Extract<Op, { op: "update_lan" }>, lan: Lan): Op | string {
  const name = op.rename ?? lan.name;
  const back: Op = { op: "update_lan", name };
  if (op.rename && op.rename !== lan.name) back.rename = lan.name;
  if (op.subnet != null) {
    if (!lan.subnet) return `${lan.name} had no subnet yet`;
    back.subnet = lan.subnet;
  }
  if (op.dmz != null) back.dmz = lan.is_dmz ?? false;
  if (op.allow_public != null) back.allow_public = lan.allow_public ?? false;
  if (op.canvas) back.canvas = canvasOf(lan);
  return back;
}

/** The inverse of one op applied to `t`, as a list of ops (or why there is none). */
function undoOne(op: Op, t: TopologyView): Op[] | string {
  const decky = (name: string) => t.deckies.find((d) => d.name === name);
  const lan = (name: string) => t.lans.find((l) => l.name === name);
  switch (op.op) {
    case "add_lan":
      return [{ op: "remove_lan", name: op.name }];
    case "add_decky":
      return [{ op: "remove_decky", name: op.name }];
    case "remove_lan": {
      const l = lan(op.name);
      return l ? recreateLan(l, t) : `LAN ${op.name} was not there`;
    }
    case "remove_decky": {
      const d = decky(op.name);
      return d ? recreateDecky(d) : `decky ${op.name} was not there`;
    }
    case "update_lan": {
      const l = lan(op.name);
      const back = l ? undoUpdateLan(op, l) : `LAN ${op.name} was not there`;
      return typeof back === "string" ? back : [back];
    }
    case "update_decky": {
      const d = decky(op.name);
      // Moving back home would allocate a new address there: the decky is put back whole.
      if (d && op.home != null && op.home !== d.home_lan) {
        const whole = recreateDecky(d);
        return typeof whole === "string" ? whole : [{ op: "remove_decky", name: d.name }, ...whole];
      }
      const back = d ? undoUpdateDecky(op, d) : `decky ${op.name} was not there`;
      return typeof back === "string" ? back : [back];
    }
    case "attach_decky":
      return [{ op: "detach_decky", decky: op.decky, lan: op.lan }];
    case "detach_decky": {
      const ip = decky(op.decky)?.memberships.find((m) => m.lan === op.lan)?.ip;
      return [{ op: "attach_decky", decky: op.decky, lan: op.lan, ...(ip ? { ip } : {}) }];
    }
  }
}

/** The batch that undoes `ops` applied to `before`: each op's inverse, computed on the state
 * just before it, last op first. */
export function inverseOf(ops: readonly Op[], before: TopologyView): Op[] | string {
  const undo: Op[][] = [];
  let t = before;
  for (const op of ops) {
    const back = undoOne(op, t);
    if (typeof back === "string") return `cannot undo: ${back}`;
    undo.unshift(back);
    t = project(t, [op], null).topology;
    // project() keeps removed elements (struck out): the next op must not see them.
    if (op.op === "remove_decky") t = { ...t, deckies: t.deckies.filter((d) => d.name !== op.name) };
    if (op.op === "remove_lan") t = { ...t, lans: t.lans.filter((l) => l.name !== op.name) };
  }
  return undo.flat();
}

export const canUndoDone = (h: History): boolean => h.done.length > 0;
export const canRedoDone = (h: History): boolean => h.undone.length > 0;

/** Why the last edit cannot be undone now, or null. */
export function undoBlocked(h: History, version: number): string | null {
  const last = h.done.at(-1);
  if (!last) return "nothing to undo";
  if (typeof last.inverse === "string") return last.inverse;
  return last.version === version ? null : "the topology changed since (another editor): nothing to undo";
}

export function redoBlocked(h: History, version: number): string | null {
  const next = h.undone.at(-1);
  if (!next) return "nothing to redo";
  return next.version === version ? null : "the topology changed since (another editor): nothing to redo";
}

export const recorded = (h: History, entry: Done): History => ({ done: [...h.done, entry], undone: [] });

export function undoneTo(h: History, version: number): History {
  const last = h.done.at(-1);
  return last ? { done: h.done.slice(0, -1), undone: [...h.undone, { ...last, version }] } : h;
}

export function redoneTo(h: History, version: number, inverse: Op[] | string): History {
  const next = h.undone.at(-1);
  return next ? { done: [...h.done, { ...next, inverse, version }], undone: h.undone.slice(0, -1) } : h;
}
