// What the open topology's event stream (and the answers about our own mutation) mean for the
// editor's state, as pure functions: each takes the state and one piece of news and returns a
// patch of the state and the effects the store must run (re-read the topology, plan the stage
// again, ask for a mutation). The store (store/editor.ts) only performs them.
import type { MutationState, PlanView } from "../api/liveTypes";
import type { Event, Issue, TopologySnapshot, TopologyView } from "../api/types";
import { type Activity, addAttack, isAttack } from "./activity";
import { deckiesTouched, type Op } from "./ops";
import type { Stage, StageEntry } from "./stage";
import type { DriftFinding } from "./status";
import { phaseWords, transition } from "./words";

export interface Notice {
  kind: "info" | "error" | "warning";
  text: string;
}

/** The mutation this editor sent, as far as it knows. */
export interface Applying {
  mutation: string;
  state: MutationState;
  reason: string | null;
}

/** The host's last progress report of the run applying the topology (`task.progress`). */
export interface Progress {
  run: string;
  host: string | null;
  phase: string;
  done: number;
  total: number;
}

/** A mutation of the open topology not finished yet (any editor's or tool's). */
export interface InFlight {
  state: MutationState;
  /** The deckies it changes, once known (our plan, or its ops). */
  deckies: string[] | null;
}

/** The server's last word on a stage: its plan, or the issues of a refusal. What the problems
 * panel shows, and — when it is the plan of the stage on screen — what the review shows. */
export interface Check {
  stage: Stage;
  plan: PlanView | null;
  issues: Issue[];
}

export interface LiveState {
  topology: TopologyView | null;
  stage: Stage;
  /** Entries sent with Apply, shown until their mutation is applied or failed. */
  sent: StageEntry[];
  check: Check | null;
  applying: Applying | null;
  mutations: Record<string, InFlight>;
  progress: Progress | null;
  finding: DriftFinding | null;
  activity: Activity;
  notice: Notice | null;
}

export type Effect =
  /** Re-read the topology soon (several events in a row cause one read). */
  | { kind: "refetch" }
  /** Re-read the topology now (the effects after it wait for it). */
  | { kind: "reload" }
  /** Plan the stage again (debounced). */
  | { kind: "plan" }
  /** Ask for our mutation's state: its events may have gone by unseen. */
  | { kind: "recheck" }
  /** Validate the stored topology again. */
  | { kind: "storedIssues" }
  /** Learn which deckies another editor's mutation changes. */
  | { kind: "mutationOps"; id: string }
  /** Re-read the hosts' last reports. */
  | { kind: "hosts" };

export interface Step {
  patch: Partial<LiveState>;
  effects: Effect[];
}

const nothing: Step = { patch: {}, effects: [] };

export interface MutationNews {
  mutation: string;
  state: MutationState;
  reason: string | null;
  issues: Issue[];
}

export const FINISHED: ReadonlySet<MutationState> = new Set(["applied", "failed", "cancelled"]);

/** Our mutation is sent and not finished. */
export const inFlight = (a: Applying | null): boolean => a !== null && !FINISHED.has(a.state);

/** The mutation's state as read back is news: it is ours, still open here, and moved on. */
export const isNews = (mine: Applying | null, id: string, state: MutationState): boolean =>
  mine !== null && mine.mutation === id && inFlight(mine) && mine.state !== state;

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  return Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));
}

/** The outcome (or a step) of a mutation; for ours, what the editor shows and keeps. */
export function onMutationNews(s: LiveState, news: MutationNews): Step {
  const { state, reason } = news;
  const finished = FINISHED.has(state);
  const entry = s.mutations[news.mutation];
  const mutations = finished ? without(s.mutations, news.mutation) : entry ? { ...s.mutations, [news.mutation]: { ...entry, state } } : s.mutations;
  const progress = finished && Object.keys(mutations).length === 0 ? null : s.progress;
  const mine = s.applying;
  if (!mine || news.mutation !== mine.mutation) {
    const effects: Effect[] = state === "applied" || state === "failed" ? [{ kind: "refetch" }] : [];
    return { patch: { mutations, progress }, effects };
  }
  const applying = { ...mine, state, reason };
  if (state === "applied") {
    const notice: Notice = { kind: "info", text: "Applied: the change is live." };
    return { patch: { applying, mutations, progress, sent: [], notice }, effects: [{ kind: "reload" }] };
  }
  if (state === "failed" || state === "cancelled") {
    const stage = { ...s.stage, entries: [...s.sent, ...s.stage.entries] };
    const text = `The change ${state}${reason ? `: ${reason}` : ""}. Nothing was changed; your edits are staged again.`;
    return {
      patch: { applying, mutations, progress, sent: [], stage, check: { stage, plan: null, issues: news.issues }, notice: { kind: "error", text } },
      effects: [{ kind: "reload" }, { kind: "plan" }],
    };
  }
  return { patch: { applying, mutations }, effects: [] };
}

function onStatus(s: LiveState, t: TopologyView, ev: Extract<Event, { type: "topology.status" }>): Step {
  const p = ev.payload;
  // A live round is `deploying` entered from active or degraded (docs/api.md): the re-read
  // says so too, this keeps the dots of unchanged deckies steady until it comes.
  const liveRound = p.to === "deploying" && (t.live_round || p.from === "active" || p.from === "degraded");
  const topology = { ...t, status: p.to, actions: p.actions, status_changed_at: ev.at, live_round: liveRound };
  const notice = s.notice?.kind === "error" ? s.notice : { kind: "info" as const, text: transition(t.name, p.from, p.to, p.reason) };
  return { patch: { topology, notice, progress: null }, effects: [{ kind: "refetch" }] };
}

function onMutationEvent(s: LiveState, ev: Event): Step {
  switch (ev.type) {
    case "mutation.enqueued": {
      const known = s.mutations[ev.payload.mutation];
      const mutations = { ...s.mutations, [ev.payload.mutation]: { state: "pending" as const, deckies: known?.deckies ?? null } };
      return { patch: { mutations }, effects: known?.deckies ? [] : [{ kind: "mutationOps", id: ev.payload.mutation }] };
    }
    case "mutation.applying": {
      const id = ev.payload.mutation;
      const step = onMutationNews(s, { mutation: id, state: "applying", reason: null, issues: [] });
      if (s.mutations[id]?.deckies) return step;
      const mutations = { ...(step.patch.mutations ?? s.mutations), [id]: { state: "applying" as const, deckies: null } };
      return { patch: { ...step.patch, mutations }, effects: [...step.effects, { kind: "mutationOps", id }] };
    }
    case "mutation.applied":
    case "mutation.failed":
    case "mutation.cancelled": {
      const { mutation, state, reason, issues } = ev.payload;
      return onMutationNews(s, { mutation, state, reason: reason ?? null, issues: issues ?? [] });
    }
    default:
      return nothing;
  }
}

/** One event of the open topology's stream. */
export function onEvent(s: LiveState, ev: Event): Step {
  const t = s.topology;
  if (!t || ev.topology !== t.name) return nothing;
  if (isAttack(ev)) return { patch: { activity: addAttack(s.activity, ev) }, effects: [] };
  switch (ev.type) {
    case "topology.status":
      return onStatus(s, t, ev);
    case "topology.updated":
      return ev.payload.version !== t.version ? { patch: {}, effects: [{ kind: "refetch" }] } : nothing;
    case "topology.layout":
    case "topology.deleted":
      return { patch: {}, effects: [{ kind: "refetch" }] };
    case "drift.finding":
      return { patch: { finding: { state: ev.payload.state, details: ev.payload.details, at: ev.at } }, effects: [{ kind: "hosts" }] };
    case "task.progress": {
      const { run, host, phase, done, total } = ev.payload;
      return { patch: { progress: { run, host, phase, done, total } }, effects: [] };
    }
    default:
      return onMutationEvent(s, ev);
  }
}

/** The stream's snapshot: the state it starts (or resumes, or restarts after a reset) from. */
export function onSnapshot(s: LiveState, data: TopologySnapshot, afterReset: boolean): Step {
  const fresh = data.topology;
  // The same state again (a reconnect, or the GET came first) would recompute the canvas.
  const same = s.topology !== null && JSON.stringify(s.topology) === JSON.stringify(fresh);
  const mutations: Record<string, InFlight> = {};
  for (const m of data.in_flight) {
    mutations[m.id] = { state: m.state as MutationState, deckies: s.mutations[m.id]?.deckies ?? null };
  }
  const patch: Partial<LiveState> = { mutations, ...(same ? {} : { topology: fresh }) };
  // Any snapshot (a resume too) may follow a gap in which our mutation finished.
  const effects: Effect[] = [{ kind: "recheck" }];
  for (const [id, m] of Object.entries(mutations)) if (!m.deckies) effects.push({ kind: "mutationOps", id });
  if (afterReset) {
    patch.notice = { kind: "warning", text: "The event stream was reset (history pruned); the editor re-read the topology." };
    // The stage is kept, but its plan was computed on the state before the reset.
    effects.push({ kind: "storedIssues" }, { kind: "plan" });
  }
  return { patch, effects };
}

/** What Apply leaves: the stage is sent, the mutation followed; its deckies are the plan's. */
export function onSubmitted(s: LiveState, id: string | null, version: number, deckies: string[], ops: number): Step {
  const t = s.topology;
  if (!t) return nothing;
  const patch: Partial<LiveState> = {
    sent: s.stage.entries,
    stage: { ...s.stage, entries: [], undone: [] },
    check: null,
    topology: { ...t, version },
    applying: id ? { mutation: id, state: "pending", reason: null } : null,
    notice: { kind: "info", text: `Sent ${ops} op${ops === 1 ? "" : "s"} as one batch; applying…` },
  };
  if (id) patch.mutations = { ...s.mutations, [id]: { state: s.mutations[id]?.state ?? "pending", deckies } };
  // Its outcome may have come over the stream before we knew its id: ask once.
  return { patch, effects: [id ? { kind: "recheck" } : { kind: "reload" }] };
}

/** The deckies a live change is being applied to now. */
export function changingDeckies(mutations: Record<string, InFlight>): Set<string> {
  const out = new Set<string>();
  for (const m of Object.values(mutations)) if (m.state === "applying") for (const d of m.deckies ?? []) out.add(d);
  return out;
}

/** The deckies a plan changes on the host (its containers' deckies), plus those the ops touch. */
export function planDeckies(plan: PlanView | null, ops: readonly Op[], t: TopologyView): string[] {
  const out = new Set(deckiesTouched(ops, t));
  for (const c of plan?.plan?.containers ?? []) out.add(c.decky);
  return [...out];
}

/** What is being done to the topology now, in words, with the host's progress when it has
 * reported some: the toolbar shows this instead of buttons nobody pressed. */
export interface Work {
  what: string;
  phase: string | null;
  done: number | null;
  total: number | null;
}

export function workNow(t: TopologyView, applying: Applying | null, mutations: Record<string, InFlight>, progress: Progress | null): Work | null {
  let what: string | null = null;
  if (inFlight(applying)) what = applying?.state === "pending" ? "Your change is queued" : "Applying your change";
  else if (Object.values(mutations).some((m) => m.state === "applying")) what = "Applying a change";
  else if (t.status === "deploying") what = t.live_round ? "Applying live changes" : "Deploying";
  else if (t.status === "tearing_down") what = "Tearing down";
  if (!what) return null;
  const counted = progress !== null && progress.total > 0;
  return { what, phase: progress ? phaseWords(progress.phase) : null, done: counted ? progress.done : null, total: counted ? progress.total : null };
}
