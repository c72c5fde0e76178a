import { describe, expect, it } from "vitest";
import type { Event } from "../api/types";
import { ALL_ALLOWED } from "../model/fixtures";
import { backoff, EventStream, type Snapshot, type StreamStatus } from "./eventStream";

const frame = (event: string, data: unknown, id?: number): string =>
  `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const ev = (id: number): Event => ({
  id,
  at: "t",
  topic: "topology",
  topology: "corp",
  type: "topology.status",
  payload: { from: "deploying", to: "active", reason: "r", actions: ALL_ALLOWED },
});

function body(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
}

interface Harness {
  stream: EventStream<Snapshot>;
  requests: Record<string, string>[];
  snapshots: [Snapshot, boolean][];
  events: number[];
  statuses: StreamStatus[];
  delays: number[];
  unauthorized: number;
  done: Promise<void>;
}

/** A stream over scripted responses (one per connection); it stops after the last one. */
function harness(responses: (Response | Error)[]): Harness {
  let finish: () => void = () => undefined;
  const h: Harness = { requests: [], snapshots: [], events: [], statuses: [], delays: [], unauthorized: 0, done: new Promise<void>((r) => (finish = r)) } as unknown as Harness;
  const fetchImpl = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    h.requests.push({ ...(init?.headers as Record<string, string>) });
    const next = responses.shift();
    if (!next) {
      h.stream.stop();
      finish();
      throw new Error("no more responses");
    }
    if (next instanceof Error) throw next;
    return next;
  };
  h.stream = new EventStream({
    url: "/s",
    token: () => "tok",
    fetch: fetchImpl as typeof fetch,
    sleep: async (ms) => {
      h.delays.push(ms);
    },
    random: () => 1,
    handlers: {
      snapshot: (d, reset) => h.snapshots.push([d, reset]),
      event: (e) => h.events.push(e.id),
      status: (s) => h.statuses.push(s),
      unauthorized: () => {
        h.unauthorized += 1;
        finish();
      },
    },
  });
  return h;
}

const sse = (chunks: string[]): Response => new Response(body(chunks), { status: 200, headers: { "Content-Type": "text/event-stream" } });

describe("backoff", () => {
  it("doubles from 0.5 s up to 15 s, with jitter down to half", () => {
    expect([1, 2, 3, 4].map((n) => backoff(n, () => 1))).toEqual([500, 1000, 2000, 4000]);
    expect(backoff(30, () => 1)).toBe(15_000);
    expect(backoff(1, () => 0)).toBe(250);
  });
});

describe("EventStream", () => {
  it("sends the token in a header, delivers the snapshot then events, and resumes from the last id", async () => {
    const h = harness([
      sse([frame("snapshot", { latest_event_id: 10 }), frame("topology.status", ev(11), 11), frame("topology.status", ev(12), 12)]),
      sse([frame("snapshot", { latest_event_id: 12 }), frame("topology.status", ev(13), 13)]),
    ]);
    h.stream.start();
    await h.done;
    expect(h.requests[0]).toMatchObject({ Authorization: "Bearer tok", Accept: "text/event-stream" });
    expect(h.requests[0]?.["Last-Event-ID"]).toBeUndefined();
    expect(h.requests[1]?.["Last-Event-ID"]).toBe("12");
    expect(h.requests[2]?.["Last-Event-ID"]).toBe("13");
    expect(h.events).toEqual([11, 12, 13]);
    expect(h.snapshots.map(([, reset]) => reset)).toEqual([false, false]);
  });

  it("a resumed stream delivers the events replayed after its fresh snapshot", async () => {
    const h = harness([
      sse([frame("snapshot", { latest_event_id: 10 }), frame("x", ev(11), 11)]),
      // the gap: 12–14 happened while away; the fresh snapshot already counts them
      sse([frame("snapshot", { latest_event_id: 14 }), frame("x", ev(12), 12), frame("x", ev(13), 13), frame("x", ev(14), 14)]),
    ]);
    h.stream.start();
    await h.done;
    expect(h.requests[1]?.["Last-Event-ID"]).toBe("11");
    expect(h.events).toEqual([11, 12, 13, 14]);
    expect(h.requests[2]?.["Last-Event-ID"]).toBe("14");
  });

  it("after a reset the stream starts over from the snapshot's newest id", async () => {
    const h = harness([
      sse([frame("snapshot", { latest_event_id: 10 }), frame("x", ev(11), 11)]),
      sse([frame("reset", { since: 11, reason: "older than the kept history" }), frame("snapshot", { latest_event_id: 90 }), frame("x", ev(91), 91)]),
    ]);
    h.stream.start();
    await h.done;
    expect(h.events).toEqual([11, 91]);
    expect(h.requests[2]?.["Last-Event-ID"]).toBe("91");
  });

  it("skips events the snapshot already holds", async () => {
    const h = harness([sse([frame("snapshot", { latest_event_id: 20 }), frame("x", ev(18), 18), frame("x", ev(20), 20), frame("x", ev(21), 21)])]);
    h.stream.start();
    await h.done;
    expect(h.events).toEqual([21]);
  });

  it("marks the snapshot after a reset, so the state is replaced", async () => {
    const h = harness([sse([frame("reset", { since: 3, reason: "older than the kept history" }), frame("snapshot", { latest_event_id: 90 })])]);
    h.stream.start();
    await h.done;
    expect(h.snapshots).toEqual([[{ latest_event_id: 90 }, true]]);
  });

  it("backs off while the server is away, and starts over after a snapshot", async () => {
    const h = harness([new Error("refused"), new Response("down", { status: 503 }), sse([frame("snapshot", { latest_event_id: 1 })]), new Error("refused")]);
    h.stream.start();
    await h.done;
    expect(h.delays).toEqual([500, 1000, 500, 1000]);
    expect(h.statuses).toContain("open");
    expect(h.statuses).toContain("retrying");
  });

  it("a 401 ends the stream and asks to sign in", async () => {
    const h = harness([new Response("", { status: 401 })]);
    h.stream.start();
    await h.done;
    expect(h.unauthorized).toBe(1);
    expect(h.requests).toHaveLength(1);
  });

  it("a `closed` from the server (stopping) reconnects", async () => {
    const h = harness([sse([frame("snapshot", { latest_event_id: 5 }), frame("closed", { reason: "the server is stopping" })]), sse([frame("snapshot", { latest_event_id: 5 })])]);
    h.stream.start();
    await h.done;
    expect(h.requests[1]?.["Last-Event-ID"]).toBe("5");
  });
});
