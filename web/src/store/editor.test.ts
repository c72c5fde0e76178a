// The editor's batch logic end to end inside the store: a fake API (pure logic: the real one
// is exercised by tests/browser) and an event stream fed through a scripted fetch.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../api/client";
import { ApiError } from "../api/errors";
import type { MutationView, PlanView, SubmitResult } from "../api/liveTypes";
import type { Event, Issue, TopologySnapshot, TopologyView } from "../api/types";
import * as build from "../model/builders";
import { ALL_ALLOWED, catalog, topology } from "../model/fixtures";
import type { Op } from "../model/ops";
import { batchOf } from "../model/stage";
import { currentPlan } from "./editor";
import { createAppStore } from "./index";

interface Fake {
  api: Api;
  submitted: { ops: Op[]; version: number }[];
  planned: Op[][];
  server: { topology: TopologyView };
  planIssues: Issue[];
  submitError: unknown;
  /** What `GET /mutations/{id}` answers. */
  mutations: Map<string, MutationView>;
  push(frame: string): void;
}

/** A topology stream's snapshot, as the server sends it. */
const snap = (t: TopologyView, latest: number): TopologySnapshot => ({
  latest_event_id: latest,
  status: t.status,
  version: t.version,
  desired_hash: "h",
  applied_hash: null,
  needs_resync: false,
  last_run: null,
  in_flight: [],
  topology: t,
});

const frame = (event: string, data: unknown, id?: number): string =>
  `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function fake(initial: TopologyView): Fake {
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const pending: string[] = [];
  const f: Fake = {
    submitted: [],
    planned: [],
    server: { topology: initial },
    planIssues: [],
    submitError: null,
    mutations: new Map(),
    push(text) {
      if (controller) controller.enqueue(new TextEncoder().encode(text));
      else pending.push(text);
    },
    api: null as unknown as Api,
  };
  vi.stubGlobal("fetch", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        for (const text of pending.splice(0)) c.enqueue(new TextEncoder().encode(text));
      },
    });
    return new Response(body, { status: 200 });
  });
  const plan = (ops: Op[]): PlanView => ({
    topology: f.server.topology.name,
    status: f.server.topology.status,
    live: f.server.topology.status === "active",
    valid: f.planIssues.length === 0,
    issues: f.planIssues,
    plan: { topology: f.server.topology.name, version: f.server.topology.version, containers: [], networks: [], unchanged: ops.length, notes: [] },
  });
  f.api = {
    token: () => "tok",
    streamUrl: () => "/stream",
    getTopology: async () => structuredClone(f.server.topology),
    catalog: async () => catalog,
    validateStored: async () => ({ valid: true, issues: [] }),
    drift: async () => ({ findings: [], hosts: {} }),
    putLayout: async () => ({}),
    activity: async () => ({ deckies: [], events: [], latest: 0 }),
    attackers: async () => [],
    attacker: async () => {
      throw new ApiError(404, { error: { code: "not_found", message: "no attack event" } });
    },
    mutation: async (id: string) => {
      const m = f.mutations.get(id);
      if (!m) throw new ApiError(404, { error: { code: "not_found", message: id } });
      return structuredClone(m);
    },
    planOps: async (_name: string, ops: Op[]) => {
      f.planned.push(ops);
      return plan(ops);
    },
    submitOps: async (_name: string, ops: Op[], version: number): Promise<SubmitResult> => {
      f.submitted.push({ ops, version });
      if (f.submitError) throw f.submitError;
      const t = f.server.topology;
      const live = t.status === "active";
      f.server.topology = { ...t, version: t.version + 1 };
      return {
        topology: t.name,
        mode: live ? "enqueued" : "applied",
        version: t.version + 1,
        mutation: live ? { id: "m1", topology: t.name, op: "batch", ops: [], state: "pending", version: t.version + 1, requested_at: "t", started_at: null, finished_at: null, reason: null, issues: [] } : null,
      };
    },
  } as unknown as Api;
  return f;
}

async function opened(t: TopologyView) {
  const f = fake(t);
  const store = createAppStore(() => f.api);
  store.setState({ principal: { token_id: "1", name: "ops", role: "admin" }, phase: "signed-in" });
  f.push(frame("snapshot", snap(t, 10)));
  await store.getState().openEditor(t.name);
  return { f, store };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("editing a pending topology", () => {
  it("plans, then sends each edit at once with the version it saw, and re-reads", async () => {
    const { f, store } = await opened(topology());
    await store.getState().edit(build.dropService(store.getState().topology as TopologyView, "a", "ssh"));
    expect(f.submitted).toEqual([{ ops: [{ op: "update_decky", name: "a", services: ["http", "ssh"] }], version: 3 }]);
    expect(store.getState().topology?.version).toBe(4);
    expect(store.getState().stage.entries).toEqual([]);
    store.getState().closeEditor();
  });

  it("keeps a refused edit as a draft with the plan's issues, sends nothing, and discards it", async () => {
    const { f, store } = await opened(topology());
    f.planIssues = [{ code: "DMZ_MULTIPLE", severity: "error", message: "second DMZ", path: "lans[lan-1].is_dmz" }];
    await store.getState().edit(build.updateLan(store.getState().topology as TopologyView, "lan-1", { dmz: true }));
    expect(f.submitted).toEqual([]);
    expect(batchOf(store.getState().stage)).toEqual([{ op: "update_lan", name: "lan-1", dmz: true }]);
    expect(store.getState().check?.issues.map((i) => i.code)).toEqual(["DMZ_MULTIPLE"]);
    store.getState().discard();
    expect(store.getState().stage.entries).toEqual([]);
    expect(store.getState().check).toBeNull();
    store.getState().closeEditor();
  });

  it("a version conflict re-reads the topology and says what changed", async () => {
    const { f, store } = await opened(topology());
    f.server.topology = { ...topology(), version: 5, deckies: [...topology().deckies.slice(0, 2)] };
    f.submitError = new ApiError(409, { error: { code: "version_conflict", message: "at 5, not 3", current: 5, expected: 3 } });
    await store.getState().edit(build.dropService(store.getState().topology as TopologyView, "gw", "smb"));
    expect(store.getState().topology?.version).toBe(5);
    expect(store.getState().notice?.text).toContain("version 3 → 5");
    expect(store.getState().notice?.text).toContain("removed decky a");
    store.getState().closeEditor();
  });

  it("undoes a sent edit with its inverse, and redoes it, each on the version the last left", async () => {
    const { f, store } = await opened(topology());
    await store.getState().edit(build.dropService(store.getState().topology as TopologyView, "a", "ssh"));
    store.getState().undo();
    await vi.advanceTimersByTimeAsync(10);
    await settle();
    expect(f.submitted[1]).toEqual({ ops: [{ op: "update_decky", name: "a", services: ["http"] }], version: 4 });
    expect(store.getState().history.undone).toHaveLength(1);
    expect(store.getState().notice?.text).toBe("Undone: add ssh to a.");
    store.getState().redo();
    await vi.advanceTimersByTimeAsync(10);
    await settle();
    expect(f.submitted[2]).toEqual({ ops: [{ op: "update_decky", name: "a", services: ["http", "ssh"] }], version: 5 });
    expect(store.getState().history).toMatchObject({ done: [{ version: 6 }], undone: [] });
    store.getState().closeEditor();
  });

  it("an undo waits for the version its edit left: another editor's change makes it stale", async () => {
    const { f, store } = await opened(topology());
    await store.getState().edit(build.dropService(store.getState().topology as TopologyView, "a", "ssh"));
    store.setState({ topology: { ...(store.getState().topology as TopologyView), version: 9 } });
    store.getState().undo();
    await vi.advanceTimersByTimeAsync(10);
    expect(f.submitted).toHaveLength(1);
    expect(store.getState().notice?.text).toMatch(/^Cannot undo add ssh to a: the topology changed since/);
    store.getState().closeEditor();
  });

  it("Ctrl+A selects every element; copy and paste a decky into its LAN", async () => {
    const { f, store } = await opened(topology());
    store.getState().selectAll();
    expect(store.getState().selection).toEqual(["lan:dmz", "lan:lan-1", "decky:gw", "decky:br", "decky:a"]);
    store.getState().select("decky:a");
    store.getState().copySelection();
    await store.getState().pasteClipboard();
    expect(f.submitted.at(-1)?.ops).toMatchObject([{ op: "add_decky", name: "a-1", lan: "lan-1", services: ["http"] }]);
    store.getState().closeEditor();
  });

  it("a viewer's edit is refused in the editor, before any request", async () => {
    const { f, store } = await opened(topology());
    store.setState({ principal: { token_id: "2", name: "v", role: "viewer" } });
    await store.getState().edit(build.dropService(store.getState().topology as TopologyView, "a", "ssh"));
    expect(f.planned).toEqual([]);
    expect(f.submitted).toEqual([]);
    expect(store.getState().notice?.text).toContain("viewer");
    store.getState().closeEditor();
  });
});

describe("editing a live topology", () => {
  it("stages edits, applies them as one batch, and follows the mutation over the stream", async () => {
    const { f, store } = await opened(topology({ status: "active" }));
    const view = () => store.getState().topology as TopologyView;
    await store.getState().edit(build.dropArchetype(view(), "lan-1", "linux-server", { x: 300, y: 40 }));
    await store.getState().edit(build.dropService(view(), "a", "smb"));
    expect(f.submitted).toEqual([]);
    expect(store.getState().stage.entries).toHaveLength(2);
    store.getState().undo();
    store.getState().redo();
    await vi.advanceTimersByTimeAsync(300); // the debounced plan of the stage
    expect(f.planned.at(-1)).toHaveLength(2);

    await store.getState().apply();
    expect(f.submitted).toHaveLength(1);
    expect(f.submitted[0]?.ops.map((o) => o.op)).toEqual(["add_decky", "update_decky"]);
    expect(store.getState().sent).toHaveLength(2);
    expect(store.getState().stage.entries).toEqual([]);
    expect(store.getState().applying).toMatchObject({ mutation: "m1", state: "pending" });

    f.push(frame("mutation.applying", { id: 11, at: "t", topic: "mutation", topology: "corp", type: "mutation.applying", payload: { mutation: "m1", op: "batch", takeover: false } } satisfies Event, 11));
    await vi.advanceTimersByTimeAsync(10);
    expect(store.getState().applying?.state).toBe("applying");
    f.push(frame("mutation.failed", { id: 12, at: "t", topic: "mutation", topology: "corp", type: "mutation.failed", payload: { mutation: "m1", op: "batch", state: "failed", reason: "host said no" } } satisfies Event, 12));
    await vi.advanceTimersByTimeAsync(10);
    await settle();
    expect(store.getState().applying?.state).toBe("failed");
    expect(store.getState().stage.entries).toHaveLength(2); // staged again, to fix or discard
    expect(store.getState().notice?.text).toContain("host said no");
    store.getState().closeEditor();
  });

  it("a status event moves the pill without a reload", async () => {
    const { f, store } = await opened(topology({ status: "pending" }));
    f.push(frame("topology.status", { id: 11, at: "2026-05-01T00:00:00", topic: "topology", topology: "corp", type: "topology.status", payload: { from: "deploying", to: "active", reason: "deploy run r1", actions: ALL_ALLOWED } } satisfies Event, 11));
    await vi.advanceTimersByTimeAsync(10);
    expect(store.getState().topology?.status).toBe("active");
    store.getState().closeEditor();
  });
});

const mutation = (state: MutationView["state"], reason: string | null = null): MutationView =>
  ({ id: "m1", topology: "corp", op: "batch", ops: [], state, version: 4, requested_at: "t", started_at: null, finished_at: null, reason, issues: [] }) as unknown as MutationView;

/** A live topology with one staged edit whose plan is in. */
async function staged() {
  const o = await opened(topology({ status: "active" }));
  await o.store.getState().edit(build.dropService(o.store.getState().topology as TopologyView, "a", "smb"));
  await vi.advanceTimersByTimeAsync(300);
  return o;
}

describe("following the applied mutation", () => {
  it("an outcome that came before the submit answered is read once and applied", async () => {
    const { f, store } = await staged();
    f.mutations.set("m1", mutation("applied")); // its events went by while we had no id
    await store.getState().apply();
    await vi.advanceTimersByTimeAsync(10);
    expect(store.getState().applying?.state).toBe("applied");
    expect(store.getState().sent).toEqual([]);
    store.getState().closeEditor();
  });

  it("a snapshot after a gap (a resume) re-reads the mutation being applied", async () => {
    const { f, store } = await staged();
    f.mutations.set("m1", mutation("pending"));
    await store.getState().apply();
    await vi.advanceTimersByTimeAsync(10);
    expect(store.getState().applying?.state).toBe("pending");
    f.mutations.set("m1", mutation("failed", "host said no"));
    f.push(frame("snapshot", snap(f.server.topology, 20)));
    await vi.advanceTimersByTimeAsync(10);
    expect(store.getState().applying?.state).toBe("failed");
    expect(store.getState().stage.entries).toHaveLength(1); // staged again
    store.getState().closeEditor();
  });

  it("after a reset the kept stage is planned again", async () => {
    const { f, store } = await staged();
    const before = f.planned.length;
    f.push(frame("reset", { since: 10, reason: "older than the kept history" }) + frame("snapshot", snap(f.server.topology, 90)));
    await vi.advanceTimersByTimeAsync(300);
    expect(f.planned.length).toBe(before + 1);
    expect(store.getState().notice?.text).toContain("reset");
    store.getState().closeEditor();
  });
});

describe("the review", () => {
  it("an edit or an undo while it is open drops its plan; Apply waits for the plan of what is staged", async () => {
    const { f, store } = await staged();
    await store.getState().review();
    expect(currentPlan(store.getState())).not.toBeNull();
    await store.getState().edit(build.dropService(store.getState().topology as TopologyView, "gw", "smb"));
    expect(currentPlan(store.getState())).toBeNull();
    await store.getState().apply(); // the shown plan was of one edit: nothing is sent
    expect(f.submitted).toEqual([]);
    await vi.advanceTimersByTimeAsync(300);
    expect(currentPlan(store.getState())).not.toBeNull();
    store.getState().undo();
    expect(currentPlan(store.getState())).toBeNull();
    await vi.advanceTimersByTimeAsync(300);
    await store.getState().apply();
    expect(f.submitted.map((x) => x.ops.length)).toEqual([1]);
    store.getState().closeEditor();
  });

  it("an invalid plan is never applied", async () => {
    const { f, store } = await opened(topology({ status: "active" }));
    f.planIssues = [{ code: "DMZ_MULTIPLE", severity: "error", message: "second DMZ", path: "lans[lan-1].is_dmz" }];
    await store.getState().edit(build.updateLan(store.getState().topology as TopologyView, "lan-1", { dmz: true }));
    await store.getState().review();
    await store.getState().apply();
    expect(f.submitted).toEqual([]);
    store.getState().closeEditor();
  });
});
