// The topology list: summaries from the API, kept live by the global event stream (status
// changes, runs, creations and deletions), and the lifecycle actions.
import type { StateCreator } from "zustand";
import type { Api } from "../api/client";
import { ApiError, explain } from "../api/errors";
import type { Event, GenerateSpec, GlobalSnapshot, TopologySummary } from "../api/types";
import { blankDocument } from "../model/builders";
import { plural } from "../model/words";
import { EventStream, type StreamStatus } from "../stream/eventStream";
import type { AppState } from "./index";

export interface LastRun {
  kind: string;
  state: string;
  at: string | null;
}

export interface ListSlice {
  topologies: TopologySummary[];
  listLoaded: boolean;
  lastRuns: Record<string, LastRun>;
  inFlight: Record<string, number>;
  listStream: StreamStatus;
  loadList(): Promise<void>;
  connectList(): void;
  disconnectList(): void;
  /** Generate, and say what failed as the API's error (its `field` names the parameter). */
  generate(spec: GenerateSpec): Promise<string | ApiError>;
  createBlank(name: string, host: string): Promise<string | null>;
  createFromFile(text: string): Promise<string | null>;
  deploy(name: string): Promise<void>;
  /** A pending copy under `newName` (deployed at once when `deploy`); its name, or null. */
  copyTopology(name: string, newName: string, deploy: boolean): Promise<string | null>;
  teardown(name: string): Promise<void>;
  deleteTopology(name: string, version: number): Promise<void>;
  exportYaml(name: string): Promise<string | null>;
}

const LIST_EVENTS = /^(topology\.(created|updated|deleted)|mutation\.)/;

export const listSlice =
  (api: Api): StateCreator<AppState, [], [], ListSlice> =>
  (set, get) => {
    let stream: EventStream<GlobalSnapshot> | null = null;
    let reload: ReturnType<typeof setTimeout> | null = null;

    const scheduleReload = (): void => {
      if (reload) clearTimeout(reload);
      reload = setTimeout(() => void get().loadList(), 250);
    };

    const patch = (name: string, change: Partial<TopologySummary>): void =>
      set({ topologies: get().topologies.map((t) => (t.name === name ? { ...t, ...change } : t)) });

    const onSnapshot = (data: GlobalSnapshot): void => {
      const lastRuns: Record<string, LastRun> = {};
      const inFlight: Record<string, number> = {};
      for (const row of data.topologies) {
        inFlight[row.name] = row.in_flight.length;
        if (row.last_run) {
          lastRuns[row.name] = {
            kind: row.last_run.kind,
            state: row.last_run.status,
            at: row.last_run.finished_at ?? row.last_run.started_at ?? null,
          };
        }
      }
      set({ lastRuns, inFlight });
      void get().loadList();
    };

    const onEvent = (ev: Event): void => {
      if (ev.type === "topology.status" && ev.topology) {
        const { to, actions } = ev.payload;
        patch(ev.topology, { status: to, actions, status_changed_at: ev.at });
      } else if (ev.type === "job.finished") {
        const runs = { ...get().lastRuns };
        for (const name of ev.payload.topologies) {
          runs[name] = { kind: ev.payload.kind, state: ev.payload.state, at: ev.at };
        }
        set({ lastRuns: runs });
      }
      if (LIST_EVENTS.test(ev.type)) scheduleReload();
    };

    const guarded = async <T>(what: string, work: () => Promise<T>): Promise<T | null> => {
      try {
        return await work();
      } catch (err) {
        get().say("error", `${what}: ${explain(err)}`);
        return null;
      }
    };

    return {
      topologies: [],
      listLoaded: false,
      lastRuns: {},
      inFlight: {},
      listStream: "stopped",

      async loadList() {
        const page = await guarded("Could not list the topologies", () => api.listTopologies());
        if (page) set({ topologies: page.items, listLoaded: true });
      },

      connectList() {
        if (stream) return;
        stream = new EventStream({
          url: api.streamUrl(null),
          token: api.token,
          handlers: {
            snapshot: onSnapshot,
            event: onEvent,
            status: (s) => set({ listStream: s }),
            unauthorized: () => get().sessionExpired(),
          },
        });
        stream.start();
      },

      disconnectList() {
        stream?.stop();
        stream = null;
      },

      async generate(spec) {
        try {
          const made = await api.generate(spec);
          get().say("info", `Generated ${made.name}: ${plural(made.lans.length, "LAN")}, ${plural(made.deckies.length, "decky")}.`);
          return made.name;
        } catch (err) {
          return err instanceof ApiError ? err : new ApiError(0, { error: { code: "network", message: explain(err) } });
        }
      },

      async createBlank(name, host) {
        const services = get().catalog?.services.http ? ["http"] : [];
        const doc = { ...blankDocument(name, services), host };
        const made = await guarded("Could not create the topology", () => api.createFromDocument(doc));
        return made?.name ?? null;
      },

      async createFromFile(text) {
        const made = await guarded("Could not create the topology from the file", () => api.createFromDocument(text));
        return made?.name ?? null;
      },

      async deploy(name) {
        const run = await guarded(`Could not deploy ${name}`, () => api.deploy(name));
        if (run) get().say("info", `Deploy of ${name} queued (run ${run.id}).`);
      },

      async copyTopology(name, newName, deploy) {
        const made = await guarded(`Could not copy ${name}`, () => api.copy(name, newName));
        if (!made) return null;
        get().say("info", `Created ${made.name}, a copy of ${name}.`);
        if (deploy) await get().deploy(made.name);
        return made.name;
      },

      async teardown(name) {
        const run = await guarded(`Could not tear down ${name}`, () => api.teardown(name));
        if (run) get().say("info", `Teardown of ${name} queued (run ${run.id}).`);
      },

      async deleteTopology(name, version) {
        const done = await guarded(`Could not delete ${name}`, () => api.remove(name, version));
        if (done !== null) {
          set({ topologies: get().topologies.filter((t) => t.name !== name) });
          get().say("info", `Deleted ${name}.`);
        }
      },

      exportYaml: (name) => guarded(`Could not export ${name}`, () => api.exportYaml(name)),
    };
  };
