// What the review warns about before a live change is applied: the deckies whose containers
// the plan recreates or removes (an intruder's open sessions on them drop). The plan names
// every container it recreates and why (decnet/core/plan.py); here it is said per decky.
import type { Plan } from "../api/liveTypes";

export interface SessionWarning {
  decky: string;
  text: string;
}

interface Touched {
  base: string | null;
  recreated: string[];
  removed: string[];
}

const listed = (services: string[], what: string, then: string): string =>
  `${services.join(", ")} ${services.length === 1 ? "is" : "are"} ${what}: intruder sessions on ${services.length === 1 ? "it" : "them"} ${then}`;

function warning(decky: string, t: Touched): string {
  if (t.base === "remove") return `${decky} is removed: every intruder session on it ends.`;
  if (t.base === "recreate") return `${decky} is recreated (its IP stack restarts): every intruder session on it drops.`;
  const parts = [t.recreated.length ? listed(t.recreated, "recreated", "drop") : "", t.removed.length ? listed(t.removed, "removed", "end") : ""];
  return `On ${decky}, ${parts.filter(Boolean).join("; ")}.`;
}

export function sessionWarnings(plan: Plan | null | undefined): SessionWarning[] {
  const byDecky = new Map<string, Touched>();
  for (const c of plan?.containers ?? []) {
    if (c.action !== "recreate" && c.action !== "remove") continue;
    const t = byDecky.get(c.decky) ?? { base: null, recreated: [], removed: [] };
    if (c.role === "base") t.base = c.action;
    else if (c.service) (c.action === "remove" ? t.removed : t.recreated).push(c.service);
    byDecky.set(c.decky, t);
  }
  return [...byDecky].map(([decky, t]) => ({ decky, text: warning(decky, t) }));
}
