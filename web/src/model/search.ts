// Search of the canvas: deckies by name, address or service, LANs by name or subnet. Best
// first: an exact name, then a name that starts with the query, then anything that contains it.
import type { TopologyView } from "../api/types";
import { deckyKey, lanKey } from "./elementKey";

export interface Match {
  key: string;
  label: string;
  /** Why it matched: the address, the service, the subnet. */
  detail: string;
}

export function search(t: TopologyView, query: string, limit = 12): Match[] {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const scored: { score: number; match: Match }[] = [];
  const rank = (name: string): number => (name === q ? 0 : name.startsWith(q) ? 1 : 2);
  for (const lan of t.lans) {
    const name = lan.name.toLowerCase();
    if (name.includes(q)) scored.push({ score: rank(name), match: { key: lanKey(lan.name), label: `LAN ${lan.name}`, detail: lan.subnet ?? "" } });
    else if (lan.subnet?.includes(q)) scored.push({ score: 3, match: { key: lanKey(lan.name), label: `LAN ${lan.name}`, detail: lan.subnet } });
  }
  for (const d of t.deckies) {
    const name = d.name.toLowerCase();
    const home = d.memberships.find((m) => m.lan === d.home_lan)?.ip ?? "";
    const ip = d.memberships.find((m) => m.ip?.startsWith(q) || m.ip === q);
    const service = (d.services ?? []).find((s) => s.toLowerCase() === q || s.toLowerCase().startsWith(q));
    if (name.includes(q)) scored.push({ score: rank(name), match: { key: deckyKey(d.name), label: d.name, detail: home } });
    else if (ip?.ip) scored.push({ score: ip.ip === q ? 0 : 3, match: { key: deckyKey(d.name), label: d.name, detail: `${ip.ip} on ${ip.lan}` } });
    else if (service) scored.push({ score: 4, match: { key: deckyKey(d.name), label: d.name, detail: `runs ${service}` } });
  }
  return scored
    .sort((a, b) => a.score - b.score)
    .slice(0, limit)
    .map((s) => s.match);
}
