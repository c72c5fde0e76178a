// Where an issue belongs on the canvas. Validation paths name elements (docs/issue-codes.md):
// `lans[dmz].subnet`, `deckies[web].memberships[dmz].ip`, `deckies[web].services[0]`, and for
// a batch `ops[N].key` — the op N of the batch, i.e. of the stage.
import type { Issue, TopologyView } from "../api/types";
import { opTarget } from "./ops";
import { deckyKey, lanKey } from "./project";
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

export const serviceKey = (decky: string, service: string): string => `service:${decky}:${service}`;

export interface PlacedIssue {
  issue: Issue;
  target: IssueTarget;
}

/** Issues by element key (`lan:X`, `decky:X`, `service:D:S`, `topology`); a service's issue
 * is also its decky's, so the card shows it even when the chip is hidden. */
export function placeIssues(issues: readonly Issue[], t: TopologyView, stage: Stage | null): Map<string, PlacedIssue[]> {
  const out = new Map<string, PlacedIssue[]>();
  const add = (key: string, placed: PlacedIssue): void => {
    out.set(key, [...(out.get(key) ?? []), placed]);
  };
  for (const issue of issues) {
    const target = targetOf(issue.path, t, stage);
    const placed = { issue, target };
    if (target.kind === "lan" && target.name) add(lanKey(target.name), placed);
    else if (target.kind === "decky" && target.name) {
      add(deckyKey(target.name), placed);
      if (target.service) add(serviceKey(target.name, target.service), placed);
    } else add("topology", placed);
  }
  return out;
}

export const hasErrors = (issues: readonly Issue[]): boolean =>
  issues.some((i) => (i.severity ?? "error") === "error");

/** The tooltip of an outlined element: one line per issue, code first. */
export function tooltip(placed: readonly PlacedIssue[]): string {
  return placed.map(({ issue }) => `${issue.code}: ${issue.message}`).join("\n");
}
