// Op builders: what each gesture of the editor means as ops (docs/mutations.md). They read the
// topology as the user sees it (the projection, staged edits included) and return the ops and
// a label for the stage, or null when the gesture changes nothing.
import type { Catalog, ConfigValue, Decky, TopologyView } from "../api/types";
import { parseKey } from "./elementKey";
import type { AddDecky, DeckyCanvas, LanCanvas, Op } from "./ops";

export interface Edit {
  label: string;
  ops: Op[];
}

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** A valid element name from `base` (lowercased, unsafe characters dropped) not in `taken`. */
export function uniqueName(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let stem = base.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "").replace(/-+$/, "");
  stem = (stem || "x").slice(0, 56);
  for (let n = 1; ; n += 1) {
    const name = `${stem}-${n}`;
    if (!used.has(name) && NAME_RE.test(name)) return name;
  }
}

const lanNames = (t: TopologyView): string[] => t.lans.map((l) => l.name);
const deckyNames = (t: TopologyView): string[] => t.deckies.map((d) => d.name);
const findDecky = (t: TopologyView, name: string): Decky | undefined =>
  t.deckies.find((d) => d.name === name);

function round(canvas: LanCanvas | DeckyCanvas): LanCanvas | DeckyCanvas {
  return Object.fromEntries(Object.entries(canvas).map(([k, v]) => [k, Math.round(v as number)]));
}

export function addLan(t: TopologyView, dmz: boolean, canvas: LanCanvas): Edit {
  const name = dmz && !t.lans.some((l) => l.name === "dmz") ? "dmz" : uniqueName(dmz ? "dmz" : "lan", lanNames(t));
  const op: Op = { op: "add_lan", name, canvas: round(canvas) };
  if (dmz) op.dmz = true;
  return { label: `add ${dmz ? "DMZ" : "LAN"} ${name}`, ops: [op] };
}

/** A blank topology's design: a DMZ with one gateway decky (the create dialog's "blank"). */
export function blankDocument(name: string, gatewayServices: string[]): Record<string, unknown> {
  return {
    name,
    lans: [{ name: "dmz", dmz: true, canvas: { x: 40, y: 40, w: 520, h: 260 } }],
    deckies: [{ name: "gw", home: "dmz", services: gatewayServices, canvas: { x: 24, y: 48 } }],
  };
}

export function dropArchetype(
  t: TopologyView,
  lan: string,
  archetype: string,
  canvas: DeckyCanvas,
): Edit | null {
  if (!t.lans.some((l) => l.name === lan)) return null;
  const name = uniqueName(archetype, deckyNames(t));
  const op: Op = { op: "add_decky", name, lan, archetype, canvas: round(canvas) };
  return { label: `add ${name} (${archetype}) to ${lan}`, ops: [op] };
}

export function dropService(t: TopologyView, decky: string, service: string): Edit | null {
  const d = findDecky(t, decky);
  const current = d?.services ?? [];
  if (!d || current.includes(service)) return null;
  return {
    label: `add ${service} to ${decky}`,
    ops: [{ op: "update_decky", name: decky, services: [...current, service] }],
  };
}

export function removeService(t: TopologyView, decky: string, service: string): Edit | null {
  const d = findDecky(t, decky);
  const current = d?.services ?? [];
  if (!d || !current.includes(service)) return null;
  return {
    label: `remove ${service} from ${decky}`,
    ops: [{ op: "update_decky", name: decky, services: current.filter((s) => s !== service) }],
  };
}

export function attach(t: TopologyView, decky: string, lan: string): Edit | null {
  const d = findDecky(t, decky);
  if (!d || !t.lans.some((l) => l.name === lan) || d.memberships.some((m) => m.lan === lan)) {
    return null;
  }
  return { label: `attach ${decky} to ${lan}`, ops: [{ op: "attach_decky", decky, lan }] };
}

export function detach(t: TopologyView, decky: string, lan: string): Edit | null {
  const d = findDecky(t, decky);
  if (!d || d.home_lan === lan || !d.memberships.some((m) => m.lan === lan)) return null;
  return { label: `detach ${decky} from ${lan}`, ops: [{ op: "detach_decky", decky, lan }] };
}

/** Dragging a decky into another LAN box: its home moves there. On a live topology that
 * recreates the base container, so it needs `force` (the caller asks first). */
export function moveHome(
  t: TopologyView,
  decky: string,
  lan: string,
  canvas: DeckyCanvas,
  force: boolean,
): Edit | null {
  const d = findDecky(t, decky);
  if (!d || d.home_lan === lan || !t.lans.some((l) => l.name === lan)) return null;
  const op: Op = { op: "update_decky", name: decky, home: lan, canvas: round(canvas) };
  if (force) op.force = true;
  return { label: `move ${decky} to ${lan}`, ops: [op] };
}

/** A membership's address: a non-home membership is re-attached with the pinned IP; a staged
 * new decky's home address is pinned in its `add_decky` (see stage.amend). */
export function setMembershipIp(t: TopologyView, decky: string, lan: string, ip: string): Edit | null {
  const d = findDecky(t, decky);
  if (!d || d.home_lan === lan || !d.memberships.some((m) => m.lan === lan)) return null;
  return {
    label: `set ${decky}'s address on ${lan} to ${ip}`,
    ops: [
      { op: "detach_decky", decky, lan },
      { op: "attach_decky", decky, lan, ip },
    ],
  };
}

export function remove(t: TopologyView, kind: "lan" | "decky", name: string): Edit | null {
  if (kind === "lan") {
    return t.lans.some((l) => l.name === name)
      ? { label: `remove LAN ${name}`, ops: [{ op: "remove_lan", name }] }
      : null;
  }
  return findDecky(t, name) ? { label: `remove decky ${name}`, ops: [{ op: "remove_decky", name }] } : null;
}

export interface LanChanges {
  rename?: string;
  subnet?: string;
  dmz?: boolean;
}

export function updateLan(t: TopologyView, name: string, changes: LanChanges): Edit | null {
  const lan = t.lans.find((l) => l.name === name);
  if (!lan) return null;
  const op: Op = { op: "update_lan", name };
  if (changes.rename !== undefined && changes.rename !== name) op.rename = changes.rename;
  if (changes.subnet !== undefined && changes.subnet !== (lan.subnet ?? "")) op.subnet = changes.subnet;
  if (changes.dmz !== undefined && changes.dmz !== (lan.is_dmz ?? false)) op.dmz = changes.dmz;
  if (Object.keys(op).length === 2) return null;
  return { label: `change LAN ${name}`, ops: [op] };
}

export interface DeckyChanges {
  forwards_l3?: boolean;
  publish?: string[];
}

export function updateDecky(t: TopologyView, name: string, changes: DeckyChanges, force: boolean): Edit | null {
  const d = findDecky(t, name);
  if (!d) return null;
  const op: Op = { op: "update_decky", name };
  if (changes.forwards_l3 !== undefined && changes.forwards_l3 !== (d.forwards_l3 ?? false)) {
    op.forwards_l3 = changes.forwards_l3;
    if (force) op.force = true;
  }
  const publish = d.publish ?? [];
  if (changes.publish !== undefined && changes.publish.join(",") !== publish.join(",")) {
    op.publish = changes.publish;
  }
  if (Object.keys(op).length === 2) return null;
  return { label: `change decky ${name}`, ops: [op] };
}

/** One config value of one service; `null` removes the key (back to the catalogue default). */
export function setConfig(
  t: TopologyView,
  decky: string,
  service: string,
  key: string,
  value: ConfigValue | null,
): Edit | null {
  const d = findDecky(t, decky);
  if (!d || !(d.services ?? []).includes(service)) return null;
  return {
    label: `set ${service}.${key} on ${decky}`,
    ops: [{ op: "update_decky", name: decky, config: { [service]: { [key]: value } } }],
  };
}

/** Parse one config input as the service's schema types it (strict, as the API is). */
/** What leaving a config field commits: its text, or nothing. A secret field starts empty
 * (the API never returns the value), so an empty one means "unchanged", never "delete": only
 * its explicit clear button removes a stored secret. */
export function fieldCommit(param: { secret?: boolean }, text: string | null): string | null {
  if (text === null) return null;
  return param.secret && text === "" ? null : text;
}

export function parseConfigValue(
  catalog: Catalog,
  service: string,
  key: string,
  text: string,
): { value: ConfigValue | null } | { error: string } {
  const param = catalog.services[service]?.params?.find((p) => p.key === key);
  if (!param) return { error: `${service} has no setting ${key}` };
  if (text === "") return { value: null };
  if (param.type === "int") {
    return /^-?\d+$/.test(text.trim()) ? { value: Number.parseInt(text, 10) } : { error: `${key} must be a whole number` };
  }
  if (param.type === "bool") {
    if (text === "true" || text === "false") return { value: text === "true" };
    return { error: `${key} must be true or false` };
  }
  return { value: text };
}

/** Pasting copied deckies into `lan`: each one a new decky with the same services, settings,
 * archetype and forwarding under a free name. Not copied: published host ports (they would
 * clash), addresses and other memberships (allocated anew), and secret settings (the editor
 * only ever sees them masked). `at` gives each copy's place in the LAN box. */
export function paste(t: TopologyView, copied: readonly Decky[], lan: string, at: (name: string, i: number) => DeckyCanvas): Edit | null {
  if (!copied.length || !t.lans.some((l) => l.name === lan)) return null;
  const taken = new Set(deckyNames(t));
  const ops = copied.map((d, i): AddDecky => {
    const name = uniqueName(d.name.replace(/-\d+$/, ""), taken);
    taken.add(name);
    const config = Object.fromEntries(
      Object.entries(d.service_config ?? {}).map(([s, values]) => [s, Object.fromEntries(Object.entries(values).filter(([, v]) => v !== "********"))]),
    );
    const op: AddDecky = { op: "add_decky", name, lan, services: [...(d.services ?? [])], config, forwards_l3: d.forwards_l3 ?? false, canvas: round(at(name, i)) };
    if (d.archetype) op.archetype = d.archetype;
    return op;
  });
  const names = ops.map((o) => o.name);
  return { label: `paste ${names.length === 1 ? names[0] : `${names.length} deckies`} into ${lan}`, ops };
}

/** Removing several elements in one batch: deckies first, then the LANs (a LAN that still
 * homes a decky cannot go). */
export function removeAll(t: TopologyView, deckies: readonly string[], lans: readonly string[]): Edit | null {
  const gone = deckies.filter((n) => findDecky(t, n));
  const lanGone = lans.filter((n) => t.lans.some((l) => l.name === n));
  const ops: Op[] = [...gone.map((name): Op => ({ op: "remove_decky", name })), ...lanGone.map((name): Op => ({ op: "remove_lan", name }))];
  if (ops.length === 0) return null;
  const one = gone[0] ?? lanGone[0] ?? "";
  if (ops.length === 1) return remove(t, gone.length ? "decky" : "lan", one);
  return { label: `remove ${ops.length} elements`, ops };
}

/** Where pasted deckies go: the selected LAN, or the selected decky's home, or the first
 * copied decky's home (when it still exists). */
export function pasteTarget(t: TopologyView, selected: string | null, copied: readonly Decky[]): string | null {
  const ref = parseKey(selected);
  const home = (name: string) => findDecky(t, name)?.home_lan ?? null;
  const lan = ref?.kind === "lan" ? ref.name : ref ? home(ref.kind === "decky" ? ref.name : ref.decky) : (copied[0]?.home_lan ?? null);
  return lan && t.lans.some((l) => l.name === lan) ? lan : null;
}
