// The activity view of the open topology: the window's attacks (the activity route, then the
// stream's `attack.*` events, taken in batches so 100 events a second re-render the canvas a
// few times a second, not a hundred), the sources that attacked it (the attackers route), and
// the chosen source's timeline. What the answers mean is decided in model/activity.ts and
// model/path.ts; here are the requests and the timers.
import type { StateCreator } from "zustand";
import type { Api } from "../api/client";
import { explain } from "../api/errors";
import type { Attacker, AttackerDetail } from "../api/types";
import { type AttackEvent, addAttacks, emptyActivity, type FeedFilter, loadedActivity, noFilter, type Window } from "../model/activity";
import type { AppState } from "./index";

export interface ActivitySlice {
  /** The sources that attacked the open topology in the window (null: not read yet). */
  attackers: Attacker[] | null;
  /** The chosen source: its path is drawn, its timeline shown. */
  source: string | null;
  sourceDetail: AttackerDetail | null;
  /** The scrubber's position on the chosen source's timeline (null: its end). */
  scrub: number | null;
  feedFilter: FeedFilter;
  setWindow(w: Window): void;
  setFeedFilter(f: Partial<FeedFilter>): void;
  chooseSource(ip: string | null): void;
  setScrub(index: number | null): void;
  /** Attack events of the open topology's stream. */
  takeAttacks(evs: AttackEvent[]): void;
  /** Read the window again (the editor opened the topology, the window slid, a reset). */
  reloadActivity(): Promise<void>;
  stopActivity(): void;
}

/** How often the stream's attack events are taken in (ms). */
const BATCH_MS = 150;
/** How soon the attackers' rows are read again after attack events (ms): a table, not a
 * pulse — under a flood it is read every few seconds, not with every batch. */
const ATTACKERS_MS = 3000;
/** How often a sliding window is read again, so old attacks leave it (ms). */
const SLIDE_MS = 60_000;

const closed = { attackers: null, source: null, sourceDetail: null, scrub: null, feedFilter: noFilter };

export const activitySlice =
  (api: Api): StateCreator<AppState, [], [], ActivitySlice> =>
  (set, get) => {
    let pending: AttackEvent[] = [];
    let batchTimer: ReturnType<typeof setTimeout> | null = null;
    let attackersTimer: ReturnType<typeof setTimeout> | null = null;
    let slideTimer: ReturnType<typeof setInterval> | null = null;
    let seq = 0;

    const openName = (): string | null => get().topology?.name ?? null;

    const readAttackers = async (): Promise<void> => {
      const name = openName();
      if (!name) return;
      const w = get().activity.window;
      const mine = seq;
      const rows = await api.attackers(name, w).catch(() => null);
      if (rows && mine === seq && openName() === name && get().activity.window === w) set({ attackers: rows });
    };

    const readSource = async (ip: string): Promise<void> => {
      const detail = await api.attacker(ip).catch(() => null);
      if (detail && get().source === ip) set({ sourceDetail: detail });
    };

    const soon = (): void => {
      if (attackersTimer) return;
      attackersTimer = setTimeout(() => {
        attackersTimer = null;
        void readAttackers();
        const ip = get().source;
        if (ip) void readSource(ip);
      }, ATTACKERS_MS);
    };

    const flush = (): void => {
      batchTimer = null;
      const name = openName();
      const evs = pending.filter((ev) => ev.topology === name);
      pending = [];
      if (!evs.length) return;
      set({ activity: addAttacks(get().activity, evs) });
      soon();
    };

    const clearTimers = (): void => {
      for (const t of [batchTimer, attackersTimer]) if (t) clearTimeout(t);
      if (slideTimer) clearInterval(slideTimer);
      batchTimer = attackersTimer = slideTimer = null;
      pending = [];
    };

    return {
      ...closed,

      setWindow(w) {
        if (w === get().activity.window) return;
        set({ activity: { ...emptyActivity, window: w }, attackers: null, scrub: null });
        void get().reloadActivity();
      },

      setFeedFilter(f) {
        set({ feedFilter: { ...get().feedFilter, ...f } });
      },

      chooseSource(ip) {
        set({ source: ip, sourceDetail: null, scrub: null });
        if (ip) void readSource(ip);
      },

      setScrub(index) {
        set({ scrub: index });
      },

      takeAttacks(evs) {
        pending.push(...evs);
        if (!batchTimer) batchTimer = setTimeout(flush, BATCH_MS);
      },

      async reloadActivity() {
        const name = openName();
        if (!name) return;
        const w = get().activity.window;
        const mine = ++seq;
        if (!slideTimer) slideTimer = setInterval(() => void (get().activity.window !== "all" && get().reloadActivity()), SLIDE_MS);
        try {
          const [answer] = await Promise.all([api.activity(name, w), readAttackers()]);
          if (mine === seq && openName() === name) set({ activity: loadedActivity(get().activity, w, answer) });
        } catch (err) {
          if (mine === seq) get().say("error", `Could not read the attacks on ${name}: ${explain(err)}`);
        }
      },

      stopActivity() {
        clearTimers();
        seq += 1;
        set({ ...closed });
      },
    };
  };
