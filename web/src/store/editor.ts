// The editor of one topology: the imperative shell around model/live.ts. Pending topology:
// every edit is a batch sent at once with `expected_version`; a refused one stays staged as a
// draft with its issues. Live topology: edits are staged (undo/redo), reviewed as a plan, and
// applied as one atomic batch whose progress arrives over the topology's event stream. A 409
// re-reads the topology and says what changed on the server. What an event means for the state
// is decided in model/live.ts; here are the requests, the timers and the stream.
import type { StateCreator } from "zustand";
import type { Api } from "../api/client";
import { ApiError, explain } from "../api/errors";
import type { Catalog, Decky, Issue, TopologySnapshot, TopologyView } from "../api/types";
import { emptyActivity, isAttack } from "../model/activity";
import type { Edit } from "../model/builders";
import { conflictMessage } from "../model/diff";
import * as build from "../model/builders";
import { deckyKey, keyOf, lanKey, nameOf } from "../model/elementKey";
import { emptyHistory, type History, inverseOf, recorded, redoBlocked, redoneTo, undoBlocked, undoneTo } from "../model/history";
import { freeSpots } from "../model/layout";
import { type Effect, inFlight, isNews, type LiveState, onEvent, onMutationNews, onSnapshot, onSubmitted, planDeckies, type Step } from "../model/live";
import { deckiesTouched, type DeckyCanvas, type LanCanvas, type Op, opTarget } from "../model/ops";
import { isLive } from "../model/lifecycle";
import * as stage from "../model/stage";
import { type HostReport, hostReports } from "../model/status";
import { plural } from "../model/words";
import { EventStream, type StreamStatus } from "../stream/eventStream";
import type { AppState } from "./index";
import { editorView } from "./view";

/** The plan of the stage on screen, computed on the topology's current version, or null: the
 * review shows only this, and Apply sends only what it shows. */
export function currentPlan(s: Pick<EditorSlice, "check" | "stage" | "topology">) {
  const c = s.check;
  if (!c?.plan || c.stage !== s.stage || !s.topology) return null;
  const version = c.plan.plan?.version;
  return version === undefined || version === s.topology.version ? c.plan : null;
}

export interface EditorSlice extends Omit<LiveState, "notice"> {
  /** The open topology's name (set before it is loaded). */
  name: string | null;
  catalog: Catalog | null;
  storedIssues: Issue[];
  /** host → its last fact report (`GET /drift`). */
  hosts: Record<string, HostReport>;
  reviewOpen: boolean;
  /** Selected element keys (model/elementKey.ts); the last one is the inspector's. */
  selection: string[];
  /** A pending topology's edits, to undo and redo (model/history.ts). */
  history: History;
  /** Deckies copied with Ctrl+C, as they were then. */
  clipboard: Decky[];
  editorStream: StreamStatus;
  busy: boolean;
  openEditor(name: string): Promise<void>;
  closeEditor(): void;
  loadCatalog(): Promise<Catalog | null>;
  edit(change: Edit | null): Promise<void>;
  undo(): void;
  redo(): void;
  discard(): void;
  review(): Promise<void>;
  closeReview(): void;
  apply(): Promise<void>;
  select(key: string | null): void;
  selectAll(): void;
  copySelection(): void;
  pasteClipboard(): Promise<void>;
  checkDrift(): Promise<void>;
  moveElement(kind: "lan" | "decky", name: string, canvas: LanCanvas | DeckyCanvas): Promise<void>;
  saveLayout(body: { lans?: Record<string, LanCanvas>; deckies?: Record<string, DeckyCanvas> }): Promise<void>;
  deployCurrent(): Promise<void>;
  teardownCurrent(): Promise<void>;
}

const empty = {
  name: null,
  topology: null,
  stage: stage.emptyStage,
  sent: [],
  check: null,
  applying: null,
  mutations: {},
  progress: null,
  finding: null,
  activity: emptyActivity,
  storedIssues: [],
  hosts: {},
  reviewOpen: false,
  selection: [],
  history: emptyHistory,
  clipboard: [],
  busy: false,
};

/** The selected element the inspector shows (the last one selected), or null. */
export const selectedKey = (s: Pick<EditorSlice, "selection">): string | null => s.selection.at(-1) ?? null;

export const editorSlice =
  (api: Api): StateCreator<AppState, [], [], EditorSlice> =>
  (set, get) => {
    let stream: EventStream<TopologySnapshot> | null = null;
    let planTimer: ReturnType<typeof setTimeout> | null = null;
    let refetchTimer: ReturnType<typeof setTimeout> | null = null;
    // Edits of a pending topology go one after another, each with the version the last left.
    let queue: Promise<void> = Promise.resolve();
    let planSeq = 0;

    const say = (kind: "info" | "error" | "warning", text: string): void => get().say(kind, text);
    const isOpen = (name: string): boolean => get().topology?.name === name;

    /** A step of model/live.ts: its patch now, then its effects in order. */
    const step = (s: Step): void => {
      const { notice, ...rest } = s.patch;
      set(rest);
      if ("notice" in s.patch) get().setNotice(notice ?? null);
      void run(s.effects);
    };

    const run = async (effects: Effect[]): Promise<void> => {
      for (const e of effects) await perform(e);
    };

    const perform = async (e: Effect): Promise<void> => {
      switch (e.kind) {
        case "refetch":
          if (refetchTimer) clearTimeout(refetchTimer);
          refetchTimer = setTimeout(() => void reload(), 200);
          return;
        case "reload":
          await reload();
          return;
        case "plan":
          schedulePlan();
          return;
        case "recheck":
          await recheckMutation();
          return;
        case "storedIssues":
          await refreshStored();
          return;
        case "mutationOps":
          await learnMutation(e.id);
          return;
        case "hosts":
          await loadHosts();
      }
    };

    const refreshStored = async (): Promise<void> => {
      const t = get().topology;
      if (!t) return;
      const v = await api.validateStored(t.name).catch(() => null);
      if (v && isOpen(t.name)) set({ storedIssues: v.issues });
    };

    const reload = async (): Promise<TopologyView | null> => {
      const t = get().topology;
      if (!t) return null;
      try {
        const fresh = await api.getTopology(t.name);
        if (!isOpen(t.name)) return null;
        set({ topology: fresh });
        void refreshStored();
        return fresh;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) say("error", `${t.name} no longer exists.`);
        return null;
      }
    };

    /** The plan (and so the issue list) of what is staged; live: debounced as you draw. */
    const replan = async (): Promise<void> => {
      const t = get().topology;
      const planned = get().stage;
      const ops = stage.batchOf(planned);
      const seq = ++planSeq;
      if (!t || ops.length === 0) {
        set({ check: null });
        return;
      }
      try {
        const plan = await api.planOps(t.name, ops, t.version);
        if (seq === planSeq) set({ check: { stage: planned, plan, issues: plan.issues } });
      } catch (err) {
        if (seq !== planSeq) return;
        if (err instanceof ApiError && err.versionConflict) await conflict(t);
        else {
          set({ check: { stage: planned, plan: null, issues: err instanceof ApiError ? err.issues : [] } });
          say("error", explain(err));
        }
      }
    };

    const schedulePlan = (): void => {
      if (planTimer) clearTimeout(planTimer);
      planTimer = setTimeout(() => void replan(), 250);
    };

    const conflict = async (before: TopologyView): Promise<void> => {
      const after = await reload();
      if (after) say("warning", conflictMessage(before, after));
      schedulePlan();
    };

    /** A draft: the refused edit stays staged with the server's issues, planned with the rest. */
    const draft = async (change: Edit, issues: Issue[]): Promise<void> => {
      const staged = stage.stageOps(get().stage, change.ops, change.label);
      set({ stage: staged, check: { stage: staged, plan: null, issues } });
      say("error", `Not applied: ${change.label}. ${issues[0]?.message ?? ""}`);
      await replan();
    };

    const refused = async (before: TopologyView, change: Edit, err: unknown): Promise<void> => {
      if (err instanceof ApiError && err.versionConflict) await conflict(before);
      else if (err instanceof ApiError && err.status === 400 && err.issues.length) await draft(change, err.issues);
      else if (err instanceof ApiError && err.status === 409) {
        await reload();
        say("error", explain(err));
      } else say("error", `${change.label}: ${explain(err)}`);
    };

    /** Drafts about the element an accepted edit just changed are superseded by it. */
    const dropSuperseded = (change: Edit): void => {
      const touched = new Set(change.ops.map((op) => keyOf(opTarget(op))));
      const s = get().stage;
      const keep = s.entries.filter((e) => !e.ops.some((op) => touched.has(keyOf(opTarget(op)))));
      if (keep.length !== s.entries.length) set({ stage: { ...s, entries: keep } });
    };

    /** What a sent pending batch was: an edit (recorded to undo), or an undo or redo. */
    type Sent = "edit" | "undo" | "redo";

    const remember = (how: Sent, change: Edit, before: TopologyView, version: number): void => {
      const h = get().history;
      if (how === "edit") set({ history: recorded(h, { label: change.label, ops: change.ops, inverse: inverseOf(change.ops, before), version }) });
      else if (how === "undo") set({ history: undoneTo(h, version) });
      else set({ history: redoneTo(h, version, inverseOf(change.ops, before)) });
    };

    /** A pending edit is planned first (200 with the issue list), then sent: a refused edit
     * becomes a draft without an error response, and the server still checks the batch. An
     * undo or redo the server refuses is said, never staged. */
    const sendPending = async (change: Edit, how: Sent = "edit"): Promise<void> => {
      const before = get().topology;
      if (!before) return;
      set({ busy: true });
      try {
        const plan = await api.planOps(before.name, change.ops, before.version);
        if (!plan.valid) {
          if (how === "edit") await draft(change, plan.issues);
          else say("error", `Cannot ${how} ${change.label}: ${plan.issues[0]?.message ?? "the server refuses it"}`);
          return;
        }
        const result = await api.submitOps(before.name, change.ops, before.version);
        remember(how, change, before, result.version);
        if (how === "edit") dropSuperseded(change);
        await reload();
        if (how === "edit") get().setNotice(null);
        else say("info", `${how === "undo" ? "Undone" : "Redone"}: ${change.label}.`);
        await replan();
      } catch (err) {
        if (how === "edit") await refused(before, change, err);
        else if (err instanceof ApiError && err.versionConflict) await conflict(before);
        else say("error", `Cannot ${how} ${change.label}: ${explain(err)}`);
      } finally {
        set({ busy: false });
      }
    };

    const queued = async (change: Edit, how: Sent): Promise<void> => {
      queue = queue.then(() => sendPending(change, how));
      await queue;
    };

    /** Pending: a refused draft is dropped first, then the last sent edit is undone. */
    const undoPending = async (): Promise<void> => {
      const t = get().topology;
      const last = get().history.done.at(-1);
      const why = t ? undoBlocked(get().history, t.version) : "nothing is open";
      if (why || !last || typeof last.inverse === "string") {
        if (last) say("warning", `Cannot undo ${last.label}: ${why}`);
        return;
      }
      await queued({ label: last.label, ops: last.inverse }, "undo");
    };

    const redoPending = async (): Promise<void> => {
      const t = get().topology;
      const next = get().history.undone.at(-1);
      const why = t ? redoBlocked(get().history, t.version) : "nothing is open";
      if (why || !next) {
        if (next) say("warning", `Cannot redo ${next.label}: ${why}`);
        return;
      }
      await queued({ label: next.label, ops: next.ops }, "redo");
    };

    /** The events of our mutation may never reach us (they came before we knew its id, or a
     * reset pruned them): ask for its state instead. */
    const recheckMutation = async (): Promise<void> => {
      const mine = get().applying;
      if (!mine || !inFlight(mine)) return;
      const m = await api.mutation(mine.mutation).catch(() => null);
      // An event may have moved it on meanwhile: apply only what is news.
      if (m && isNews(get().applying, m.id, m.state)) {
        step(onMutationNews(get(), { mutation: m.id, state: m.state, reason: m.reason ?? null, issues: m.issues ?? [] }));
      }
    };

    /** Which deckies another editor's (or tool's) mutation changes: from its ops. */
    const learnMutation = async (id: string): Promise<void> => {
      const m = await api.mutation(id).catch(() => null);
      const t = get().topology;
      const known = get().mutations[id];
      if (!m || !t || !known || known.deckies) return;
      // Stored ops are the op vocabulary as plain data (secret values masked, not needed here).
      const ops = m.ops as unknown as Op[];
      set({ mutations: { ...get().mutations, [id]: { ...known, deckies: deckiesTouched(ops, t) } } });
    };

    const loadHosts = async (): Promise<void> => {
      const drift = await api.drift().catch(() => null);
      if (drift) set({ hosts: hostReports(drift.hosts) });
    };

    const connect = (name: string): void => {
      stream?.stop();
      stream = new EventStream({
        url: api.streamUrl(name),
        token: api.token,
        handlers: {
          snapshot: (data, afterReset) => {
            if (data.topology.name !== get().name) return;
            step(onSnapshot(get(), data, afterReset));
            if (afterReset) void get().reloadActivity();
          },
          // Attack events come in bursts: the activity slice takes them in batches.
          event: (ev) => (isAttack(ev) ? get().takeAttacks([ev]) : step(onEvent(get(), ev))),
          status: (s) => set({ editorStream: s }),
          unauthorized: () => get().sessionExpired(),
        },
      });
      stream.start();
    };

    /** The newest finding about the topology and the hosts' reports, before any event. */
    const lastFinding = async (name: string): Promise<void> => {
      const drift = await api.drift().catch(() => null);
      if (!drift || !isOpen(name)) return;
      const f = drift.findings.filter((x) => x.topology === name).at(-1);
      set({ hosts: hostReports(drift.hosts), ...(f ? { finding: { state: f.state, details: f.details, at: f.at } } : {}) });
    };

    const stop = (): void => {
      stream?.stop();
      stream = null;
      if (planTimer) clearTimeout(planTimer);
      if (refetchTimer) clearTimeout(refetchTimer);
      planSeq += 1;
    };

    return {
      ...empty,
      catalog: null,
      editorStream: "stopped",

      async loadCatalog() {
        if (get().catalog) return get().catalog;
        try {
          const catalog = await api.catalog();
          set({ catalog });
          return catalog;
        } catch (err) {
          say("error", `Could not load the catalogue: ${explain(err)}`);
          return null;
        }
      },

      async openEditor(name) {
        get().closeEditor();
        try {
          // The stream starts at once: its snapshot and the GET race, whichever comes first
          // shows the topology (a snapshot applies only to the open one).
          set({ ...empty, name });
          connect(name);
          const [topology] = await Promise.all([api.getTopology(name), get().loadCatalog()]);
          if (get().name !== name) return;
          set({ topology: get().topology ?? topology });
          void refreshStored();
          void lastFinding(name);
          void get().reloadActivity();
        } catch (err) {
          stop();
          set({ ...empty });
          say("error", `Could not open ${name}: ${explain(err)}`);
        }
      },

      closeEditor() {
        stop();
        get().stopActivity();
        set({ ...empty });
        get().setNotice(null);
      },

      async edit(change) {
        if (!change || !get().topology) return;
        if (get().principal?.role !== "admin") {
          say("error", "A viewer cannot change anything: sign in with an admin token.");
          return;
        }
        if (isLive(get().topology)) {
          set({ stage: stage.stageOps(get().stage, change.ops, change.label) });
          schedulePlan();
          return;
        }
        await queued(change, "edit");
      },

      undo() {
        if (!isLive(get().topology) && !stage.canUndo(get().stage)) {
          void undoPending();
          return;
        }
        set({ stage: stage.undo(get().stage) });
        schedulePlan();
      },

      redo() {
        if (!isLive(get().topology) && !stage.canRedo(get().stage)) {
          void redoPending();
          return;
        }
        set({ stage: stage.redo(get().stage) });
        schedulePlan();
      },

      discard() {
        set({ stage: stage.discard(get().stage), check: null, reviewOpen: false });
        planSeq += 1;
      },

      async review() {
        if (stage.batchOf(get().stage).length === 0) return;
        set({ reviewOpen: true });
        if (!currentPlan(get())) await replan();
      },

      closeReview() {
        set({ reviewOpen: false });
      },

      async apply() {
        const t = get().topology;
        const ops = stage.batchOf(get().stage);
        // Only what the user reviewed is sent: a valid plan of exactly this stage.
        const plan = currentPlan(get());
        if (!t || ops.length === 0 || inFlight(get().applying) || !plan?.valid) return;
        set({ busy: true });
        try {
          const result = await api.submitOps(t.name, ops, plan.plan?.version ?? t.version);
          set({ reviewOpen: false });
          step(onSubmitted(get(), result.mutation?.id ?? null, result.version, planDeckies(plan, ops, t), ops.length));
        } catch (err) {
          if (err instanceof ApiError && err.versionConflict) await conflict(t);
          else {
            set({ check: { stage: get().stage, plan: null, issues: err instanceof ApiError ? err.issues : [] } });
            say("error", explain(err));
          }
        } finally {
          set({ busy: false });
        }
      },

      select(key) {
        set({ selection: key ? [key] : [] });
      },

      selectAll() {
        const t = get().topology;
        if (t) set({ selection: [...t.lans.map((l) => lanKey(l.name)), ...t.deckies.map((d) => deckyKey(d.name))] });
      },

      copySelection() {
        const t = get().topology;
        const names = new Set(get().selection.map((k) => nameOf(k, "decky")));
        const copied = t?.deckies.filter((d) => names.has(d.name)) ?? [];
        if (copied.length) {
          set({ clipboard: copied });
          say("info", `Copied ${copied.length === 1 ? copied[0]?.name : plural(copied.length, "decky")}: Ctrl+V pastes into the selected LAN.`);
        }
      },

      async pasteClipboard() {
        const view = editorView(get());
        const copied = get().clipboard;
        if (!view || !copied.length) return;
        const t = view.projection.topology;
        const lan = build.pasteTarget(t, selectedKey(get()), copied);
        if (!lan) return;
        const spots = freeSpots(view.layout, t, lan, copied.length);
        await get().edit(build.paste(t, copied, lan, (_name, i) => spots[i] ?? { x: 0, y: 0 }));
      },

      async checkDrift() {
        const t = get().topology;
        if (!t) return;
        try {
          await api.gatherDrift();
          say("info", `Checking what runs on ${t.host}: the dots follow the finding.`);
        } catch (err) {
          say("error", `Could not check ${t.host}: ${explain(err)}`);
        }
      },

      async moveElement(kind, name, canvas) {
        const amended = stage.amendCanvas(get().stage, kind, name, canvas);
        if (amended) {
          set({ stage: amended });
          schedulePlan();
          return;
        }
        await get().saveLayout(kind === "lan" ? { lans: { [name]: canvas } } : { deckies: { [name]: canvas } });
      },

      async saveLayout(body) {
        const t = get().topology;
        if (!t || get().principal?.role !== "admin") return;
        const local: TopologyView = {
          ...t,
          lans: t.lans.map((l) => ({ ...l, ...(body.lans?.[l.name] ?? {}) })),
          deckies: t.deckies.map((d) => ({ ...d, ...(body.deckies?.[d.name] ?? {}) })),
        };
        set({ topology: local });
        try {
          await api.putLayout(t.name, { lans: body.lans ?? {}, deckies: body.deckies ?? {} });
        } catch (err) {
          say("error", `Could not save the layout: ${explain(err)}`);
        }
      },

      async deployCurrent() {
        const t = get().topology;
        if (t) await get().deploy(t.name);
      },

      async teardownCurrent() {
        const t = get().topology;
        if (t) await get().teardown(t.name);
      },
    };
  };
