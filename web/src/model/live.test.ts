import { describe, expect, it } from "vitest";
import type { PlanView } from "../api/liveTypes";
import type { Event, TopologySnapshot, TopologyView } from "../api/types";
import { emptyActivity } from "./activity";
import { ALL_ALLOWED, topology } from "./fixtures";
import { changingDeckies, inFlight, isNews, type LiveState, onEvent, onMutationNews, onSnapshot, onSubmitted, planDeckies } from "./live";
import * as stage from "./stage";

const state = (extra: Partial<LiveState> = {}): LiveState => ({
  topology: topology({ status: "active" }),
  stage: stage.emptyStage,
  sent: [],
  check: null,
  applying: null,
  mutations: {},
  progress: null,
  finding: null,
  activity: emptyActivity,
  notice: null,
  ...extra,
});

const ev = (e: Omit<Event, "id" | "at" | "topology"> & Partial<Pick<Event, "id" | "at" | "topology">>): Event =>
  ({ id: 11, at: "2026-05-01T00:00:00", topology: "corp", ...e }) as Event;

const snap = (t: TopologyView, inFlight: TopologySnapshot["in_flight"] = []): TopologySnapshot => ({
  latest_event_id: 5,
  status: t.status,
  version: t.version,
  desired_hash: "h",
  applied_hash: null,
  needs_resync: false,
  last_run: null,
  in_flight: inFlight,
  topology: t,
});

const kinds = (effects: { kind: string }[]): string[] => effects.map((e) => e.kind);

describe("the stream's events", () => {
  it("a status change patches the view, says it in words, and re-reads", () => {
    const step = onEvent(state(), ev({ topic: "topology", type: "topology.status", payload: { from: "active", to: "tearing_down", reason: "teardown run r1", actions: ALL_ALLOWED } }));
    expect(step.patch.topology).toMatchObject({ status: "tearing_down", status_changed_at: "2026-05-01T00:00:00" });
    expect(step.patch.notice).toEqual({ kind: "info", text: "corp: active → tearing down (teardown run r1)" });
    expect(kinds(step.effects)).toEqual(["refetch"]);
  });

  it("deploying from a live status is a live round at once (the dots of unchanged deckies stay)", () => {
    const status = (from: "active" | "pending") => ev({ topic: "topology", type: "topology.status", payload: { from, to: "deploying", reason: "r", actions: ALL_ALLOWED } });
    expect(onEvent(state(), status("active")).patch.topology?.live_round).toBe(true);
    expect(onEvent(state({ topology: topology() }), status("pending")).patch.topology?.live_round).toBe(false);
  });

  it("an error on screen is not replaced by a status change", () => {
    const error = { kind: "error" as const, text: "The change failed" };
    const step = onEvent(state({ notice: error }), ev({ topic: "topology", type: "topology.status", payload: { from: "deploying", to: "active", reason: "r", actions: ALL_ALLOWED } }));
    expect(step.patch.notice).toBe(error);
  });

  it("ignores other topologies' events and same-version updates", () => {
    expect(onEvent(state(), ev({ topology: "other", topic: "topology", type: "topology.deleted", payload: { version: 1 } }))).toEqual({ patch: {}, effects: [] });
    expect(onEvent(state(), ev({ topic: "topology", type: "topology.updated", payload: { version: 3 } })).effects).toEqual([]);
    expect(kinds(onEvent(state(), ev({ topic: "topology", type: "topology.updated", payload: { version: 4 } })).effects)).toEqual(["refetch"]);
  });

  it("a drift finding replaces the last one and re-reads the hosts' reports", () => {
    const step = onEvent(state(), ev({ topic: "drift", type: "drift.finding", payload: { topology: "corp", host: "localhost", state: "unknown", details: ["x"] } }));
    expect(step.patch.finding).toEqual({ state: "unknown", details: ["x"], at: "2026-05-01T00:00:00" });
    expect(kinds(step.effects)).toEqual(["hosts"]);
  });

  it("keeps the apply's progress", () => {
    const step = onEvent(state(), ev({ topic: "run", type: "task.progress", payload: { run: "r1", host: "localhost", topology: "corp", phase: "create", done: 35, total: 43 } }));
    expect(step.patch.progress).toEqual({ run: "r1", host: "localhost", phase: "create", done: 35, total: 43 });
  });

  it("counts attack events per decky, newest first, each once", () => {
    const attack = (id: number, decky: string): Event =>
      ev({
        id,
        topic: "attack",
        type: "attack.connect",
        payload: { topology: "corp", host: "localhost", decky, lan: "dmz", service: "ssh", src_ip: "198.51.100.7", sensor: "cowrie", observed_at: "t", line: "l", raw: "r" },
      });
    let s = state();
    for (const e of [attack(20, "gw"), attack(21, "gw"), attack(22, "a"), attack(21, "gw")]) s = { ...s, ...onEvent(s, e).patch };
    expect(s.activity.counts).toEqual({ gw: 2, a: 1 });
    expect(s.activity.feed.map((e) => e.id)).toEqual([22, 21, 20]);
  });
});

describe("mutations", () => {
  const planned = stage.stageOps(stage.emptyStage, [{ op: "remove_decky", name: "a" }], "remove decky a");

  it("another editor's mutation: its deckies are learnt, and its end re-reads the topology", () => {
    const enq = onEvent(state(), ev({ topic: "mutation", type: "mutation.enqueued", payload: { mutation: "m9", op: "batch", ops: 2, version: 4 } }));
    expect(enq.patch.mutations).toEqual({ m9: { state: "pending", deckies: null } });
    expect(enq.effects).toEqual([{ kind: "mutationOps", id: "m9" }]);
    const s = state({ mutations: { m9: { state: "pending", deckies: ["a"] } } });
    const applying = onEvent(s, ev({ topic: "mutation", type: "mutation.applying", payload: { mutation: "m9", op: "batch", takeover: false } }));
    expect(applying.patch.mutations).toEqual({ m9: { state: "applying", deckies: ["a"] } });
    expect(changingDeckies(applying.patch.mutations ?? {})).toEqual(new Set(["a"]));
    const done = onEvent({ ...s, ...applying.patch }, ev({ topic: "mutation", type: "mutation.applied", payload: { mutation: "m9", op: "batch", state: "applied" } }));
    expect(done.patch.mutations).toEqual({});
    expect(kinds(done.effects)).toEqual(["refetch"]);
  });

  it("ours applied: the sent edits are done", () => {
    const s = state({ sent: planned.entries, applying: { mutation: "m1", state: "applying", reason: null } });
    const step = onMutationNews(s, { mutation: "m1", state: "applied", reason: null, issues: [] });
    expect(step.patch).toMatchObject({ applying: { state: "applied" }, sent: [], notice: { kind: "info" } });
    expect(kinds(step.effects)).toEqual(["reload"]);
  });

  it("ours failed: the edits come back to the stage with the issues, and are planned again", () => {
    const s = state({ sent: planned.entries, applying: { mutation: "m1", state: "applying", reason: null }, progress: { run: "r", host: null, phase: "create", done: 1, total: 2 } });
    const issues = [{ code: "X", severity: "error" as const, message: "m", path: "ops[0]" }];
    const step = onMutationNews(s, { mutation: "m1", state: "failed", reason: "host said no", issues });
    expect(step.patch.stage?.entries).toEqual(planned.entries);
    expect(step.patch.check).toEqual({ stage: step.patch.stage, plan: null, issues });
    expect(step.patch.notice?.text).toContain("host said no");
    expect(step.patch.progress).toBeNull();
    expect(kinds(step.effects)).toEqual(["reload", "plan"]);
  });

  it("only news moves our mutation on", () => {
    const mine = { mutation: "m1", state: "applying" as const, reason: null };
    expect(isNews(mine, "m1", "applied")).toBe(true);
    expect(isNews(mine, "m1", "applying")).toBe(false);
    expect(isNews(mine, "m2", "applied")).toBe(false);
    expect(isNews({ ...mine, state: "applied" }, "m1", "failed")).toBe(false);
    expect(inFlight(mine)).toBe(true);
    expect(inFlight(null)).toBe(false);
  });

  it("a submit sends the stage and follows its mutation with the plan's deckies", () => {
    const s = state({ stage: planned });
    const plan = { plan: { containers: [{ container: "decnet-corp.br", decky: "br", role: "base", action: "recreate" }] } } as unknown as PlanView;
    const deckies = planDeckies(plan, stage.batchOf(planned), s.topology as TopologyView);
    expect(deckies.sort()).toEqual(["a", "br"]);
    const step = onSubmitted(s, "m1", 4, deckies, 1);
    expect(step.patch).toMatchObject({ sent: planned.entries, stage: { entries: [] }, check: null, topology: { version: 4 }, applying: { mutation: "m1", state: "pending" } });
    expect(step.patch.mutations).toEqual({ m1: { state: "pending", deckies } });
    expect(kinds(step.effects)).toEqual(["recheck"]);
  });
});

describe("snapshots", () => {
  it("the same topology again is not replaced; in-flight mutations are taken in", () => {
    const s = state();
    const step = onSnapshot(s, snap(structuredClone(s.topology as TopologyView), [{ id: "m3", op: "batch", state: "applying", requested_at: "t" }]), false);
    expect("topology" in step.patch).toBe(false);
    expect(step.patch.mutations).toEqual({ m3: { state: "applying", deckies: null } });
    expect(step.effects).toEqual([{ kind: "recheck" }, { kind: "mutationOps", id: "m3" }]);
  });

  it("after a reset: says so, validates again and plans the kept stage again", () => {
    const step = onSnapshot(state(), snap(topology({ status: "active", version: 9 })), true);
    expect(step.patch.topology?.version).toBe(9);
    expect(step.patch.notice?.kind).toBe("warning");
    expect(kinds(step.effects)).toEqual(["recheck", "storedIssues", "plan"]);
  });
});
