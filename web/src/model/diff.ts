// What changed between two versions of a topology, in words: said when a 409 made the editor
// reload ("another editor added decky web-3, removed LAN lan-4").
import type { Decky, TopologyView } from "../api/types";

const deckySig = (d: Decky): string =>
  JSON.stringify([d.home_lan, d.memberships, d.services, d.service_config, d.forwards_l3, d.publish]);

function names<T extends { name: string }>(items: readonly T[]): Set<string> {
  return new Set(items.map((i) => i.name));
}

function listed(kind: string, items: string[]): string[] {
  if (!items.length) return [];
  const shown = items.slice(0, 3).join(", ") + (items.length > 3 ? ` and ${items.length - 3} more` : "");
  return [`${kind} ${shown}`];
}

export function describeChanges(before: TopologyView, after: TopologyView): string[] {
  const out: string[] = [];
  if (before.status !== after.status) out.push(`status ${before.status} → ${after.status}`);
  const lansBefore = names(before.lans);
  const lansAfter = names(after.lans);
  out.push(...listed("added LAN", [...lansAfter].filter((n) => !lansBefore.has(n))));
  out.push(...listed("removed LAN", [...lansBefore].filter((n) => !lansAfter.has(n))));
  const changedLans = after.lans.filter((l) => {
    const old = before.lans.find((b) => b.name === l.name);
    return old && (old.subnet !== l.subnet || old.is_dmz !== l.is_dmz);
  });
  out.push(...listed("changed LAN", changedLans.map((l) => l.name)));
  const deckiesBefore = new Map(before.deckies.map((d) => [d.name, d]));
  const deckiesAfter = names(after.deckies);
  out.push(...listed("added decky", after.deckies.filter((d) => !deckiesBefore.has(d.name)).map((d) => d.name)));
  out.push(...listed("removed decky", [...deckiesBefore.keys()].filter((n) => !deckiesAfter.has(n))));
  const changed = after.deckies.filter((d) => {
    const old = deckiesBefore.get(d.name);
    return old && deckySig(old) !== deckySig(d);
  });
  out.push(...listed("changed decky", changed.map((d) => d.name)));
  return out;
}

export function conflictMessage(before: TopologyView, after: TopologyView): string {
  const changes = describeChanges(before, after);
  const what = changes.length ? changes.join("; ") : "nothing visible (only its version)";
  return `${after.name} changed on the server (version ${before.version} → ${after.version}): ${what}. Your edit was not applied; the editor shows the new state.`;
}
