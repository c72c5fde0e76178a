// Per-decky status dots: what only the client puts together — the topology's status (live from
// the stream), the last drift finding about it (`GET /drift`, `drift.finding` events), its host's
// last report (`GET /drift` hosts: answered or not, and the error), and which deckies a live
// change is being applied to now. Each dot carries its state and why, in words, with the fix
// when there is one. What the topology *allows* is never decided here: that is the server's
// `actions` (model/lifecycle.ts).
import type { TopologyView } from "../api/types";

export type DeckyState = "running" | "stopped" | "drift" | "unknown" | "applying" | "none";

export interface DeckyStatus {
  state: DeckyState;
  why: string;
}

export interface DriftFinding {
  state: string;
  details: string[];
  at: string;
}

/** A host's last fact report (`GET /drift` → hosts). */
export interface HostReport {
  gathered_at?: string | null;
  reachable?: boolean | null;
  error?: string | null;
}

export interface StatusInput {
  topology: TopologyView;
  finding: DriftFinding | null;
  host: HostReport | null;
  /** Deckies a live change is being applied to now (the others keep their state). */
  changing: ReadonlySet<string>;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** decky name → its state and the finding's lines about its containers. */
export function containerProblems(topology: string, details: readonly string[]): Map<string, DeckyStatus> {
  const re = new RegExp(`container decnet-${escape(topology)}\\.([a-z][a-z0-9-]*)(?:\\.[a-z][a-z0-9-]*)? (.*)$`);
  const out = new Map<string, DeckyStatus>();
  for (const line of details) {
    const m = re.exec(line);
    if (!m?.[1]) continue;
    const stopped = /^is missing|not running$/.test(m[2] ?? "");
    const before = out.get(m[1]);
    const state = before?.state === "stopped" || stopped ? "stopped" : "drift";
    out.set(m[1], { state, why: before ? `${before.why}; ${line}` : line });
  }
  return out;
}

/** A finding about what ran before the last status change describes an earlier deployment. */
function fresh(t: TopologyView, finding: DriftFinding | null): DriftFinding | null {
  if (!finding) return null;
  return t.status_changed_at && finding.at < t.status_changed_at ? null : finding;
}

const NOT_APPLIED = /never applied|no applied hash/;

/** Why a finding could not say what runs: the host's own words first, then the fix. */
export function unknownWhy(t: TopologyView, f: DriftFinding, host: HostReport | null): string {
  const detail = f.details[0] ?? "";
  if (f.state === "unknown" && NOT_APPLIED.test(detail)) return `unknown: not applied by decnet yet (${detail}); deploy it to apply it`;
  const causes = [detail, host?.error ?? ""].filter((c, i, all) => c && all.indexOf(c) === i);
  const cause = causes.join("; ") || (f.state === "unreachable" ? "it did not answer" : "no usable report");
  return `host ${t.host} is not reporting: ${cause}. Fix that, then check again (drift).`;
}

function fromFinding(t: TopologyView, f: DriftFinding, host: HostReport | null, problems: Map<string, DeckyStatus>, decky: string): DeckyStatus {
  const mine = problems.get(decky);
  if (mine) return mine;
  if (f.state === "config_drift") {
    return { state: "drift", why: `drift: the host runs another version of the design (${f.details[0] ?? "applied ≠ desired"}); reconcile re-applies it` };
  }
  if (f.state === "unknown" || f.state === "unreachable") return { state: "unknown", why: unknownWhy(t, f, host) };
  return { state: "running", why: `running: checked at ${f.at.slice(0, 19).replace("T", " ")}` };
}

function withoutFinding(t: TopologyView): DeckyStatus {
  if (t.status === "failed") return { state: "unknown", why: "unknown: its last deploy failed; check what runs (drift) or deploy it again" };
  return { state: "running", why: "running: deployed by decnet (not checked since; drift checks it)" };
}

export function deckyStates(input: StatusInput): Map<string, DeckyStatus> {
  const { topology: t, changing } = input;
  const out = new Map<string, DeckyStatus>();
  const whole = wholeTopology(t, changing);
  const f = fresh(t, input.finding);
  const problems = f ? containerProblems(t.name, f.details) : new Map<string, DeckyStatus>();
  for (const d of t.deckies) {
    let status: DeckyStatus;
    if (whole) status = whole;
    else if (changing.has(d.name)) status = { state: "applying", why: "a change is being applied to it now" };
    else status = f ? fromFinding(t, f, input.host, problems, d.name) : withoutFinding(t);
    out.set(d.name, status);
  }
  // A decky the change being applied adds is not stored yet: it is drawn (the sent stage) and
  // shown as what it is, being applied.
  for (const name of changing) if (!out.has(name)) out.set(name, whole ?? { state: "applying", why: "being added by the change applied now" });
  return out;
}

/** The one state of every decky when the topology as a whole says it (nothing deployed, or a
 * deploy or teardown of all of it running), else null: each decky has its own. */
function wholeTopology(t: TopologyView, changing: ReadonlySet<string>): DeckyStatus | null {
  switch (t.status) {
    case "pending":
      return { state: "none", why: "not deployed yet" };
    case "torn_down":
      return { state: "none", why: "torn down: nothing runs" };
    case "tearing_down":
      return { state: "applying", why: "being torn down" };
    case "deploying":
      // A live round (live changes being applied) touches only the changed deckies.
      return t.live_round || changing.size ? null : { state: "applying", why: "being deployed" };
    default:
      return null;
  }
}

const text = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The hosts' reports of `GET /drift` (loosely typed there), field by field. */
export function hostReports(raw: Record<string, Record<string, unknown>>): Record<string, HostReport> {
  const out: Record<string, HostReport> = {};
  for (const [host, r] of Object.entries(raw)) {
    out[host] = { gathered_at: text(r.gathered_at), reachable: typeof r.reachable === "boolean" ? r.reachable : null, error: text(r.error) };
  }
  return out;
}
