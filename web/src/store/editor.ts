// The editor of one topology. Pending topology: every edit is a batch sent at once with
// `expected_version`; a refused one stays staged as a draft with its issues. Live topology:
// edits are staged (undo/redo), reviewed as a plan, and applied as one atomic batch whose
// progress arrives over the topology's event stream. A 409 re-reads the topology and says what
// changed on the server.
import type { StateCreator } from "zustand";
import type { Api } from "../api/client";
import { ApiError, explain } from "../api/errors";
import type { MutationState, PlanView } from "../api/liveTypes";
import type { Catalog, Event, Issue, TopologySnapshot, TopologyView } from "../api/types";
import type { Edit } from "../model/builders";
import { conflictMessage } from "../model/diff";
import type { DeckyCanvas, LanCanvas } from "../model/ops";
import { opTarget } from "../model/ops";
import * as stage from "../model/stage";
import type { DriftFinding } from "../model/status";
import { EventStream, type StreamStatus } from "../stream/eventStream";
import type { AppState } from "./index";

/** Edits of a deployed topology are staged and applied as live changes (the server allows
 * editing it now, and it is past pending). */
export const isLive = (t: TopologyView | null): boolean => t !== null && t.status !== "pending" && t.actions.edit.allowed;

/** A mutation's news, from its event or from asking for its state. */
interface MutationNews {
  mutation: string;
  state: MutationState;
  reason: string | null;
  issues: Issue[];
}

/** The plan shown is the plan of the current stage (not of one before an undo or a new edit). */
export const planIsCurrent = (s: Pick<EditorSlice, "plan" | "planStage" | "stage">): boolean =>
  s.plan !== null && s.planStage === s.stage;

export interface Notice {
  kind: "info" | "error" | "warning";
  text: string;
}

export interface Applying {
  mutation: string;
  state: MutationState;
  reason: string | null;
}

export interface EditorSlice {
  /** The open topology's name (set before it is loaded). */
  name: string | null;
  topology: TopologyView | null;
  catalog: Catalog | null;
  stage: stage.Stage;
  /** Entries sent with Apply, shown until the mutation is applied or failed. */
  sent: stage.StageEntry[];
  storedIssues: Issue[];
  batchIssues: Issue[];
  plan: PlanView | null;
  /** The stage `plan` was computed for: Apply sends only a plan of what is staged now. */
  planStage: stage.Stage | null;
  reviewOpen: boolean;
  applying: Applying | null;
  selected: string | null;
  notice: Notice | null;
  finding: DriftFinding | null;
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
  moveElement(kind: "lan" | "decky", name: string, canvas: LanCanvas | DeckyCanvas): Promise<void>;
  saveLayout(body: { lans?: Record<string, LanCanvas>; deckies?: Record<string, DeckyCanvas> }): Promise<void>;
  deployCurrent(): Promise<void>;
  teardownCurrent(): Promise<void>;
  setNotice(notice: Notice | null): void;
}

const empty = {
  name: null,
  topology: null,
  stage: stage.emptyStage,
  sent: [],
  storedIssues: [],
  batchIssues: [],
  plan: null,
  planStage: null,
  reviewOpen: false,
  applying: null,
  selected: null,
  notice: null,
  finding: null,
  busy: false,
};

export const editorSlice =
  (api: Api): StateCreator<AppState, [], [], EditorSlice> =>
  (set, get) => {
    let stream: EventStream<TopologySnapshot> | null = null;
    let planTimer: ReturnType<typeof setTimeout> | null = null;
    let refetchTimer: ReturnType<typeof setTimeout> | null = null;
    // Edits of a pending topology go one after another, each with the version the last left.
    let queue: Promise<void> = Promise.resolve();
    let planSeq = 0;

    const current = (): TopologyView => {
      const t = get().topology;
      if (!t) throw new Error("no topology is open");
      return t;
    };

    const refreshStored = async (): Promise<void> => {
      const t = get().topology;
      if (!t) return;
      const v = await api.validateStored(t.name).catch(() => null);
      if (v && get().topology?.name === t.name) set({ storedIssues: v.issues });
    };

    const reload = async (): Promise<TopologyView | null> => {
      const t = get().topology;
      if (!t) return null;
      try {
        const fresh = await api.getTopology(t.name);
        if (get().topology?.name !== t.name) return null;
        set({ topology: fresh });
        void refreshStored();
        return fresh;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          set({ notice: { kind: "error", text: `${t.name} no longer exists.` } });
        }
        return null;
      }
    };

    const scheduleRefetch = (): void => {
      if (refetchTimer) clearTimeout(refetchTimer);
      refetchTimer = setTimeout(() => void reload(), 200);
    };

    /** The plan (and so the issue list) of what is staged; live: debounced as you draw. */
    const replan = async (): Promise<void> => {
      const t = get().topology;
      const planned = get().stage;
      const ops = stage.batchOf(planned);
      const seq = ++planSeq;
      if (!t || ops.length === 0) {
        set({ plan: null, planStage: null, batchIssues: [] });
        return;
      }
      try {
        const plan = await api.planOps(t.name, ops, t.version);
        if (seq === planSeq) set({ plan, planStage: planned, batchIssues: plan.issues });
      } catch (err) {
        if (seq !== planSeq) return;
        if (err instanceof ApiError && err.versionConflict) await conflict(t);
        else set({ plan: null, batchIssues: err instanceof ApiError ? err.issues : [], notice: { kind: "error", text: explain(err) } });
      }
    };

    const schedulePlan = (): void => {
      // An open review must never show (and Apply must never send) the plan of another stage.
      if (get().reviewOpen) set({ plan: null, planStage: null });
      if (planTimer) clearTimeout(planTimer);
      planTimer = setTimeout(() => void replan(), 250);
    };

    const conflict = async (before: TopologyView): Promise<void> => {
      const after = await reload();
      if (after) set({ notice: { kind: "warning", text: conflictMessage(before, after) } });
      schedulePlan();
    };

    const refused = async (before: TopologyView, change: Edit, err: unknown): Promise<void> => {
      if (err instanceof ApiError && err.versionConflict) {
        await conflict(before);
      } else if (err instanceof ApiError && err.status === 400 && err.issues.length) {
        set({ stage: stage.stageOps(get().stage, change.ops, change.label), batchIssues: err.issues });
        set({ notice: { kind: "error", text: `Not applied: ${change.label}. ${err.issues[0]?.message ?? ""}` } });
        void replan();
      } else if (err instanceof ApiError && err.status === 409) {
        await reload();
        set({ notice: { kind: "error", text: explain(err) } });
      } else {
        set({ notice: { kind: "error", text: `${change.label}: ${explain(err)}` } });
      }
    };

    /** Drafts about the element an accepted edit just changed are superseded by it. */
    const dropSuperseded = (change: Edit): void => {
      const touched = new Set(change.ops.map((op) => `${opTarget(op).kind}:${opTarget(op).name}`));
      const s = get().stage;
      const keep = s.entries.filter((e) => !e.ops.some((op) => touched.has(`${opTarget(op).kind}:${opTarget(op).name}`)));
      if (keep.length !== s.entries.length) set({ stage: { ...s, entries: keep } });
    };

    /** A pending edit is planned first (200 with the issue list), then sent: a refused edit
     * becomes a draft without an error response, and the server still checks the batch. */
    const sendPending = async (change: Edit): Promise<void> => {
      const before = current();
      set({ busy: true });
      try {
        const plan = await api.planOps(before.name, change.ops, before.version);
        if (!plan.valid) {
          set({ stage: stage.stageOps(get().stage, change.ops, change.label) });
          set({ notice: { kind: "error", text: `Not applied: ${change.label}. ${plan.issues[0]?.message ?? ""}` } });
          await replan();
          return;
        }
        await api.submitOps(before.name, change.ops, before.version);
        dropSuperseded(change);
        await reload();
        set({ notice: null });
        await replan();
      } catch (err) {
        await refused(before, change, err);
      } finally {
        set({ busy: false });
      }
    };

    const onMutation = (news: MutationNews): void => {
      const { state, reason } = news;
      const mine = get().applying;
      if (!mine || news.mutation !== mine.mutation) {
        if (state === "applied" || state === "failed") scheduleRefetch();
        return;
      }
      if (state === "applied") {
        set({ applying: { ...mine, state, reason }, sent: [], notice: { kind: "info", text: "Applied: the change is live." } });
        void reload();
      } else if (state === "failed" || state === "cancelled") {
        const issues = news.issues;
        const restored = { ...get().stage, entries: [...get().sent, ...get().stage.entries] };
        set({
          applying: { ...mine, state, reason },
          sent: [],
          stage: restored,
          batchIssues: issues,
          notice: { kind: "error", text: `The change ${state}${reason ? `: ${reason}` : ""}. Nothing was changed; your edits are staged again.` },
        });
        void reload().then(() => schedulePlan());
      } else {
        set({ applying: { ...mine, state, reason } });
      }
    };

    const onEvent = (ev: Event): void => {
      const t = get().topology;
      if (!t || ev.topology !== t.name) return;
      switch (ev.type) {
        case "topology.status": {
          const p = ev.payload;
          set({ topology: { ...t, status: p.to, actions: p.actions, status_changed_at: ev.at } });
          if (get().notice?.kind !== "error") {
            set({ notice: { kind: "info", text: `${t.name}: ${p.from} → ${p.to} (${p.reason})` } });
          }
          scheduleRefetch();
          break;
        }
        case "topology.updated":
          if (ev.payload.version !== t.version) scheduleRefetch();
          break;
        case "topology.layout":
        case "topology.deleted":
          scheduleRefetch();
          break;
        case "drift.finding":
          set({ finding: { state: ev.payload.state, details: ev.payload.details, at: ev.at } });
          break;
        case "mutation.applying":
          onMutation({ mutation: ev.payload.mutation, state: "applying", reason: null, issues: [] });
          break;
        case "mutation.applied":
        case "mutation.failed":
        case "mutation.cancelled": {
          const { mutation, state, reason, issues } = ev.payload;
          onMutation({ mutation, state, reason: reason ?? null, issues: issues ?? [] });
          break;
        }
      }
    };

    /** The events of our mutation may never reach us (they came before we knew its id, or a
     * reset pruned them): ask for its state instead. */
    const recheckMutation = async (): Promise<void> => {
      const mine = get().applying;
      if (!mine || (mine.state !== "pending" && mine.state !== "applying")) return;
      const m = await api.mutation(mine.mutation).catch(() => null);
      const now = get().applying;
      // An event may have moved it on meanwhile: apply only what is news.
      if (!m || now?.mutation !== m.id || m.state === now.state || now.state === "applied" || now.state === "failed" || now.state === "cancelled") return;
      onMutation({ mutation: m.id, state: m.state, reason: m.reason ?? null, issues: m.issues ?? [] });
    };

    const onSnapshot = (data: TopologySnapshot, afterReset: boolean): void => {
      const fresh = data.topology;
      const open = get().topology;
      if (fresh.name !== get().name) return;
      // The same state again (a reconnect, or the GET came first) would recompute the canvas.
      if (!open || JSON.stringify(open) !== JSON.stringify(fresh)) set({ topology: fresh });
      // Any snapshot (a resume too) may follow a gap in which our mutation finished.
      void recheckMutation();
      if (afterReset) {
        set({ notice: { kind: "warning", text: "The event stream was reset (history pruned); the editor re-read the topology." } });
        void refreshStored();
        // The stage is kept, but its plan was computed on the state before the reset.
        schedulePlan();
      }
    };

    const connect = (name: string): void => {
      stream?.stop();
      stream = new EventStream({
        url: api.streamUrl(name),
        token: api.token,
        handlers: {
          snapshot: onSnapshot,
          event: onEvent,
          status: (s) => set({ editorStream: s }),
          unauthorized: () => get().sessionExpired(),
        },
      });
      stream.start();
    };

    const lastFinding = async (name: string): Promise<void> => {
      const drift = await api.drift().catch(() => null);
      const f = drift?.findings.filter((x) => x.topology === name).at(-1);
      if (f && get().topology?.name === name) set({ finding: { state: f.state, details: f.details, at: f.at } });
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
          set({ notice: { kind: "error", text: `Could not load the catalogue: ${explain(err)}` } });
          return null;
        }
      },

      async openEditor(name) {
        get().closeEditor();
        try {
          // The stream starts at once: its snapshot and the GET race, whichever comes first
          // shows the topology (onSnapshot applies only to the open one).
          set({ ...empty, name });
          connect(name);
          const [topology] = await Promise.all([api.getTopology(name), get().loadCatalog()]);
          if (get().name !== name) return;
          set({ topology: get().topology ?? topology });
          void refreshStored();
          void lastFinding(name);
        } catch (err) {
          stream?.stop();
          stream = null;
          set({ ...empty, notice: { kind: "error", text: `Could not open ${name}: ${explain(err)}` } });
        }
      },

      closeEditor() {
        stream?.stop();
        stream = null;
        if (planTimer) clearTimeout(planTimer);
        if (refetchTimer) clearTimeout(refetchTimer);
        planSeq += 1;
        set({ ...empty });
      },

      async edit(change) {
        if (!change || !get().topology) return;
        if (get().principal?.role !== "admin") {
          set({ notice: { kind: "error", text: "A viewer cannot change anything: sign in with an admin token." } });
          return;
        }
        if (isLive(get().topology)) {
          set({ stage: stage.stageOps(get().stage, change.ops, change.label) });
          schedulePlan();
          return;
        }
        queue = queue.then(() => sendPending(change));
        await queue;
      },

      undo() {
        set({ stage: stage.undo(get().stage) });
        schedulePlan();
      },

      redo() {
        set({ stage: stage.redo(get().stage) });
        schedulePlan();
      },

      discard() {
        set({ stage: stage.discard(get().stage), plan: null, planStage: null, batchIssues: [], reviewOpen: false });
        planSeq += 1;
      },

      async review() {
        if (stage.batchOf(get().stage).length === 0) return;
        set({ reviewOpen: true, plan: null, planStage: null });
        await replan();
      },

      closeReview() {
        set({ reviewOpen: false });
      },

      async apply() {
        const t = get().topology;
        const ops = stage.batchOf(get().stage);
        if (!t || ops.length === 0 || get().applying?.state === "pending" || get().applying?.state === "applying") return;
        // Only what the user reviewed is sent: a valid plan of exactly this stage.
        if (!planIsCurrent(get()) || !get().plan?.valid) return;
        set({ busy: true });
        try {
          const result = await api.submitOps(t.name, ops, get().plan?.plan?.version ?? t.version);
          const id = result.mutation?.id;
          set({
            sent: get().stage.entries,
            stage: stage.discard(get().stage),
            reviewOpen: false,
            plan: null,
            planStage: null,
            batchIssues: [],
            topology: { ...t, version: result.version },
            applying: id ? { mutation: id, state: "pending", reason: null } : null,
            notice: { kind: "info", text: `Sent ${ops.length} op${ops.length > 1 ? "s" : ""} as one batch; applying…` },
          });
          // Its outcome may have come over the stream before we knew its id: ask once.
          if (id) void recheckMutation();
          else void reload();
        } catch (err) {
          if (err instanceof ApiError && err.versionConflict) await conflict(t);
          else set({ batchIssues: err instanceof ApiError ? err.issues : [], notice: { kind: "error", text: explain(err) } });
        } finally {
          set({ busy: false });
        }
      },

      select(key) {
        set({ selected: key });
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
          set({ notice: { kind: "error", text: `Could not save the layout: ${explain(err)}` } });
        }
      },

      async deployCurrent() {
        const t = get().topology;
        if (t) await get().deploy(t.name);
        set({ notice: get().listMessage });
      },

      async teardownCurrent() {
        const t = get().topology;
        if (t) await get().teardown(t.name);
        set({ notice: get().listMessage });
      },

      setNotice(notice) {
        set({ notice });
      },
    };
  };
