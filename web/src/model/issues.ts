// Where an issue belongs on the canvas. Validation paths name elements (docs/issue-codes.md):
// `lans[dmz].subnet`, `deckies[web].memberships[dmz].ip`, `deckies[web].services[0]`, and for
// a batch `ops[N].key` — the op N of the batch, i.e. of the stage.
import type { Issue, TopologyView } from "../api/types";
import { deckyKey, lanKey, serviceKey } from "./elementKey";
import { opTarget } from "./ops";
import { entryOfOp, type Stage } from "./stage";

export interface IssueTarget {
  kind: "lan" | "decky" | "topology";
  name?: string;
  /** For a membership: the LAN it is on. */
  lan?: string;
  /** For a service chip. */
  service?: string;
  /** The last key of the path (`subnet`, `ip`, `is_dmz`, …). */
  field?: string;
  /** For `ops[N]`: the stage entry that op belongs to. */
  entry?: number;
}

interface Segment {
  key: string;
  index?: string;
}

export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  for (const match of path.matchAll(/([A-Za-z_][\w-]*)?((?:\[[^\]]*\])*)/g)) {
    if (!match[0]) continue;
    const indexes = [...(match[2] ?? "").matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? "");
    if (match[1]) out.push({ key: match[1], ...(indexes[0] !== undefined ? { index: indexes[0] } : {}) });
    for (const extra of indexes.slice(match[1] ? 1 : 0)) out.push({ key: "", index: extra });
  }
  return out;
}

const isIndex = (s: string): boolean => /^\d+$/.test(s);

function byNameOrIndex<T extends { name: string }>(items: readonly T[], ref: string): string | undefined {
  if (isIndex(ref)) return items[Number(ref)]?.name;
  return ref;
}

function deckyTarget(t: TopologyView, name: string, rest: Segment[]): IssueTarget {
  const decky = t.deckies.find((d) => d.name === name);
  const [first, second] = rest;
  const target: IssueTarget = { kind: "decky", name };
  const last = rest.at(-1);
  if (last && !last.index) target.field = last.key;
  if (first?.key === "memberships" && first.index !== undefined) {
    target.lan = isIndex(first.index) ? decky?.memberships[Number(first.index)]?.lan : first.index;
  } else if (first?.key === "services" && first.index !== undefined) {
    target.service = isIndex(first.index) ? decky?.services?.[Number(first.index)] : first.index;
  } else if ((first?.key === "service_config" || first?.key === "config") && (first.index ?? second?.key)) {
    target.service = first.index ?? second?.key;
  }
  return target;
}

/** The element an issue path names, looked up in `t` (the projection the batch produces). */
export function targetOf(path: string, t: TopologyView, stage: Stage | null): IssueTarget {
  const [head, ...rest] = parsePath(path);
  if (head?.key === "lans" && head.index !== undefined) {
    const name = byNameOrIndex(t.lans, head.index);
    const last = rest.at(-1);
    return name ? { kind: "lan", name, ...(last && !last.index ? { field: last.key } : {}) } : { kind: "topology" };
  }
  if (head?.key === "deckies" && head.index !== undefined) {
    const name = byNameOrIndex(t.deckies, head.index);
    return name ? deckyTarget(t, name, rest) : { kind: "topology" };
  }
  if (head?.key === "ops" && head.index !== undefined && isIndex(head.index) && stage) {
    const found = entryOfOp(stage, Number(head.index));
    if (found) {
      const { kind, name } = opTarget(found.op);
      const field = rest.at(-1)?.key;
      return { kind, name, entry: found.entry.id, ...(field ? { field } : {}) };
    }
  }
  return { kind: "topology" };
}

export interface PlacedIssue {
  issue: Issue;
  target: IssueTarget;
}

/** The deckies the staged ops change (by name). */
export function touchedDeckies(stage: Stage | null): Set<string> {
  const out = new Set<string>();
  for (const e of stage?.entries ?? []) {
    for (const op of e.ops) {
      const target = opTarget(op);
      if (target.kind === "decky") out.add(target.name);
    }
  }
  return out;
}

/** An address clash names whichever decky the validator met second, which may be the one
 * that already held the address; the user is editing the other. Point at the decky the stage
 * changes that holds the same address on that LAN (in `t`, the projection of the stage). */
function preferEdited(target: IssueTarget, t: TopologyView, touched: Set<string>): IssueTarget {
  if (target.kind !== "decky" || !target.name || !target.lan || target.field !== "ip" || touched.has(target.name)) return target;
  const ipOn = (name: string): string | null | undefined =>
    t.deckies.find((d) => d.name === name)?.memberships.find((m) => m.lan === target.lan)?.ip;
  const ip = ipOn(target.name);
  if (!ip) return target;
  const edited = [...touched].find((name) => ipOn(name) === ip);
  return edited ? { ...target, name: edited } : target;
}

/** A problem as the problems panel lists it: where, in words, and the element to select. */
export interface Problem extends PlacedIssue {
  where: string;
  key: string | null;
}

/** Every issue with the element it is about (in `t`, the projection of the stage). */
export function problemsOf(issues: readonly Issue[], t: TopologyView, stage: Stage | null): Problem[] {
  const touched = touchedDeckies(stage);
  return issues.map((issue) => {
    const target = preferEdited(targetOf(issue.path, t, stage), t, touched);
    return { issue, target, where: whereInWords(target, stage), key: keyOfTarget(target) };
  });
}

/** Issues by element key (model/elementKey.ts, or `topology`); a service's issue is also its
 * decky's, so the card shows it even when the chip is hidden. */
export function placeIssues(issues: readonly Issue[], t: TopologyView, stage: Stage | null): Map<string, PlacedIssue[]> {
  return placeProblems(problemsOf(issues, t, stage));
}

export function placeProblems(problems: readonly Problem[]): Map<string, PlacedIssue[]> {
  const out = new Map<string, PlacedIssue[]>();
  const add = (key: string, placed: PlacedIssue): void => {
    out.set(key, [...(out.get(key) ?? []), placed]);
  };
  for (const { issue, target } of problems) {
    const placed = { issue, target };
    if (target.kind === "lan" && target.name) add(lanKey(target.name), placed);
    else if (target.kind === "decky" && target.name) {
      add(deckyKey(target.name), placed);
      if (target.service) add(serviceKey(target.name, target.service), placed);
    } else add("topology", placed);
  }
  return out;
}

/** The key of the element an issue is placed on, or null for the topology as a whole. */
export function keyOfTarget(target: IssueTarget): string | null {
  if (target.kind === "lan" && target.name) return lanKey(target.name);
  if (target.kind === "decky" && target.name) return target.service ? serviceKey(target.name, target.service) : deckyKey(target.name);
  return null;
}

const FIELD_WORDS: Record<string, string> = {
  subnet: "subnet",
  is_dmz: "DMZ flag",
  dmz: "DMZ flag",
  allow_public: "public access",
  ip: "address",
  home: "home LAN",
  home_lan: "home LAN",
  lan: "LAN",
  publish: "published ports",
  forwards_l3: "IP forwarding",
  services: "services",
  archetype: "archetype",
  name: "name",
  rename: "new name",
  host: "host",
};

const fieldWords = (field: string): string => FIELD_WORDS[field] ?? field.replace(/_/g, " ");

/** Where an issue is, in words ("decky br · address on dmz"), for the problems panel. */
export function whereInWords(target: IssueTarget, stage: Stage | null): string {
  if (target.kind === "topology" || !target.name) return "the topology";
  const parts = [`${target.kind === "lan" ? "LAN" : "decky"} ${target.name}`];
  if (target.service) parts.push(target.field && target.field !== "services" ? `${target.service} setting ${target.field}` : `service ${target.service}`);
  else if (target.lan) parts.push(target.field === "ip" ? `address on ${target.lan}` : `membership of ${target.lan}`);
  else if (target.field) parts.push(fieldWords(target.field));
  const entry = target.entry !== undefined ? stage?.entries.find((e) => e.id === target.entry) : undefined;
  if (entry) parts.push(`staged edit “${entry.label}”`);
  return parts.join(" · ");
}

export const hasErrors = (issues: readonly Issue[]): boolean =>
  issues.some((i) => (i.severity ?? "error") === "error");

/** The tooltip of an outlined element: one line per issue, code first. */
export function tooltip(placed: readonly PlacedIssue[]): string {
  return placed.map(({ issue }) => `${issue.code}: ${issue.message}`).join("\n");
}
