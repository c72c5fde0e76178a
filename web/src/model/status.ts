// Per-decky status dots: running / stopped / drift, from the topology's status (live from the
// stream) and the last drift finding (`GET /drift`, `drift.finding` events). A finding older
// than the topology's last status change describes a previous deployment and is ignored.
import type { TopologyView } from "../api/types";

export type DeckyState = "running" | "stopped" | "drift" | "unknown";

export interface DriftFinding {
  state: string;
  details: string[];
  at: string;
}

const RUNNING_STATUSES = new Set(["active", "degraded"]);
const CHECKED = new Set(["active", "degraded", "failed", "deploying"]);

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** decky name → what the finding's details say about its containers. */
export function containerProblems(topology: string, details: readonly string[]): Map<string, DeckyState> {
  const re = new RegExp(`container decnet-${escape(topology)}\\.([a-z][a-z0-9-]*)(?:\\.[a-z][a-z0-9-]*)? (.*)$`);
  const out = new Map<string, DeckyState>();
  for (const line of details) {
    const m = re.exec(line);
    if (!m?.[1]) continue;
    const stopped = /^is missing|not running$/.test(m[2] ?? "");
    if (out.get(m[1]) !== "stopped") out.set(m[1], stopped ? "stopped" : "drift");
  }
  return out;
}

function fresh(t: TopologyView, finding: DriftFinding | null): DriftFinding | null {
  if (!finding) return null;
  if (t.status_changed_at && finding.at < t.status_changed_at) return null;
  return finding;
}

export function deckyStates(t: TopologyView, finding: DriftFinding | null): Map<string, DeckyState> {
  const out = new Map<string, DeckyState>();
  const f = CHECKED.has(t.status) ? fresh(t, finding) : null;
  const problems = f ? containerProblems(t.name, f.details) : new Map<string, DeckyState>();
  for (const d of t.deckies) {
    let state: DeckyState;
    if (problems.has(d.name)) state = problems.get(d.name) as DeckyState;
    else if (f?.state === "config_drift") state = "drift";
    else if (f && (f.state === "unknown" || f.state === "unreachable")) state = "unknown";
    else if (RUNNING_STATUSES.has(t.status)) state = "running";
    else if (t.status === "deploying" || t.status === "failed") state = "unknown";
    else state = "stopped";
    out.set(d.name, state);
  }
  return out;
}
