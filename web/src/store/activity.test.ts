// The activity view inside the store: the route's window first, then the stream's attack
// events taken in batches; a new window is read again. A fake API and a scripted stream (pure
// logic: the real ones are exercised by tests/browser/test_activity*.py).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../api/client";
import type { Event, TopologySnapshot, TopologyView } from "../api/types";
import type { ActivityAnswer, Window } from "../model/activity";
import { catalog, topology } from "../model/fixtures";
import { activityView } from "./activityView";
import { createAppStore } from "./index";

const frame = (event: string, data: unknown, id?: number): string =>
  `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const snap = (t: TopologyView, latest: number): TopologySnapshot => ({
  latest_event_id: latest, status: t.status, version: t.version, desired_hash: "h", applied_hash: null,
  needs_resync: false, last_run: null, in_flight: [], topology: t,
});

const attack = (id: number, decky: string, src = "10.66.0.1"): Event =>
  ({
    id, at: "2026-12-07T10:00:00", topic: "attack", type: "attack.connect", topology: "corp",
    payload: { topology: "corp", host: "localhost", decky, lan: "dmz", service: "ssh", src_ip: src, sensor: "decnet", observed_at: `2026-12-07T10:00:${id}.000000+00:00`, line: `l${id}`, raw: "{}" },
  }) as Event;

function setUp(t: TopologyView) {
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const queued: string[] = [];
  const asked: Window[] = [];
  const push = (text: string): void => {
    if (controller) controller.enqueue(new TextEncoder().encode(text));
    else queued.push(text);
  };
  vi.stubGlobal("fetch", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        for (const text of queued.splice(0)) c.enqueue(new TextEncoder().encode(text));
      },
    });
    return new Response(body, { status: 200 });
  });
  const answer: ActivityAnswer = { deckies: [{ decky: "gw", events: 40, last_at: "2026-12-07T09:59:00.000000+00:00" }], events: [attack(5, "gw")], latest: 12 };
  const api = {
    token: () => "tok",
    streamUrl: () => "/stream",
    getTopology: async () => structuredClone(t),
    catalog: async () => catalog,
    validateStored: async () => ({ valid: true, issues: [] }),
    drift: async () => ({ findings: [], hosts: {} }),
    activity: async (_n: string, w: Window) => {
      asked.push(w);
      return structuredClone(answer);
    },
    attackers: async () => [{ src_ip: "10.66.0.1", first_seen: "a", last_seen: "b", events: 41, path: [{ topology: "corp", decky: "gw", lan: "dmz", first_at: "a" }, { topology: "corp", decky: "a", lan: "lan-1", first_at: "b" }], logins: 0, logins_succeeded: 0, commands: 0, downloads: 0 }],
    attacker: async (ip: string) => ({ attacker: { src_ip: ip, first_seen: "a", last_seen: "b", events: 1, path: [], logins: 0, logins_succeeded: 0, commands: 0, downloads: 0 }, sessions: [], truncated: false }),
  } as unknown as Api;
  const store = createAppStore(() => api);
  store.setState({ principal: { token_id: "1", name: "ops", role: "viewer" }, phase: "signed-in" });
  push(frame("snapshot", snap(t, 10)));
  return { store, push, asked };
}

beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("the activity view", () => {
  it("starts from the window's counts, then counts the stream's new attacks in batches", async () => {
    const { store, push, asked } = setUp(topology({ status: "active" }));
    await store.getState().openEditor("corp");
    await vi.waitFor(() => expect(store.getState().activity.loaded).toBe(true));
    expect(asked).toEqual(["1h"]);
    expect(store.getState().activity.counts).toEqual({ gw: 40 });
    push(frame("attack.connect", attack(11, "gw"), 11)); // already counted by the route
    push(frame("attack.connect", attack(13, "gw"), 13));
    push(frame("attack.connect", attack(14, "a"), 14));
    await vi.waitFor(() => expect(store.getState().activity.counts).toEqual({ gw: 41, a: 1 }));
    expect(store.getState().activity.pulse).toEqual({ gw: 13, a: 14 });
    expect(activityView(store.getState()).lans).toEqual({ dmz: 41, "lan-1": 1 });
    store.getState().closeEditor();
  });

  it("reads a new window again, and draws a chosen source's path", async () => {
    const { store, asked } = setUp(topology({ status: "active" }));
    await store.getState().openEditor("corp");
    await vi.waitFor(() => expect(store.getState().attackers?.length).toBe(1));
    store.getState().chooseSource("10.66.0.1");
    expect(activityView(store.getState()).steps).toEqual({ gw: 1, a: 2 });
    expect(activityView(store.getState()).points.map((p) => p.decky)).toEqual(["gw", "a"]);
    store.getState().setWindow("24h");
    expect(store.getState().activity.loaded).toBe(false);
    await vi.waitFor(() => expect(store.getState().activity.loaded).toBe(true));
    expect(asked).toEqual(["1h", "24h"]);
    expect(store.getState().activity.window).toBe("24h");
    store.getState().closeEditor();
    expect(store.getState().source).toBeNull();
  });
});
