// The live event stream (docs/api.md, "Server-sent events"), read with fetch so the bearer
// token travels in a header (EventSource cannot send one, and cannot listen to every event
// type without knowing them in advance). It reconnects with exponential backoff and resumes
// from the last event id (`Last-Event-ID`); a `reset` means the resume point is gone: the next
// snapshot replaces local state.
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Event, GlobalSnapshot, TopologySnapshot } from "../api/types";

export type StreamStatus = "connecting" | "open" | "retrying" | "stopped";

/** A stream's snapshot: a topology's, or the global one (docs/openapi.json: *StreamFrames). */
export type Snapshot = TopologySnapshot | GlobalSnapshot;

export interface StreamHandlers<S extends Snapshot> {
  snapshot(data: S, afterReset: boolean): void;
  event(ev: Event): void;
  status(status: StreamStatus, detail?: string): void;
  unauthorized(): void;
}

export interface StreamOptions<S extends Snapshot> {
  url: string;
  token: () => string | null;
  handlers: StreamHandlers<S>;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;

/** Delay before reconnect attempt `attempt` (1, 2, …): doubling from 0.5 s up to 15 s, with
 * jitter (50–100 %) so many editors do not reconnect in lockstep after a server restart. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class EventStream<S extends Snapshot> {
  private readonly options: StreamOptions<S>;
  private readonly abort = new AbortController();
  private last: number | null = null;
  private attempt = 0;
  private resetPending = false;

  constructor(options: StreamOptions<S>) {
    this.options = options;
  }

  get lastEventId(): number | null {
    return this.last;
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.abort.abort();
    this.options.handlers.status("stopped");
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const sleep = this.options.sleep ?? defaultSleep;
    while (!this.stopped) {
      const outcome = await this.connect();
      if (outcome === "unauthorized") {
        this.options.handlers.unauthorized();
        return;
      }
      if (this.stopped) return;
      this.attempt += 1;
      this.options.handlers.status("retrying", outcome);
      await sleep(backoff(this.attempt, this.options.random), this.abort.signal);
    }
  }

  /** One connection: resolves when it ends, with why. */
  private async connect(): Promise<string> {
    const { handlers } = this.options;
    handlers.status(this.attempt ? "retrying" : "connecting");
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    const token = this.options.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (this.last !== null) headers["Last-Event-ID"] = String(this.last);
    try {
      const fetchImpl = this.options.fetch ?? fetch;
      const response = await fetchImpl(this.options.url, { headers, signal: this.abort.signal, cache: "no-store" });
      if (response.status === 401) return "unauthorized";
      if (!response.ok || !response.body) return `HTTP ${response.status}`;
      return await this.read(response.body);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<string> {
    let closed = "the stream ended";
    const parser = createParser({
      onEvent: (msg) => {
        const why = this.dispatch(msg);
        if (why) closed = why;
      },
    });
    const reader = body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return closed;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  }

  private dispatch(msg: EventSourceMessage): string | null {
    const data: unknown = JSON.parse(msg.data);
    if (msg.event === "reset") {
      this.resetPending = true;
    } else if (msg.event === "snapshot") {
      // A resumed stream sends a fresh snapshot and then exactly the events after our
      // Last-Event-ID: keep our id, or those replayed events would be skipped as held by the
      // snapshot. Only a first connection (or one after a reset) starts from the snapshot.
      const snapshot = data as S;
      const latest = snapshot.latest_event_id;
      if (typeof latest === "number" && (this.last === null || this.resetPending)) this.last = latest;
      this.options.handlers.snapshot(snapshot, this.resetPending);
      this.resetPending = false;
      this.attempt = 0;
      this.options.handlers.status("open");
    } else if (msg.event === "closed") {
      const reason = (data as { reason?: unknown }).reason;
      return typeof reason === "string" ? reason : "closed by the server";
    } else if (msg.id !== undefined) {
      // On a first connection, an event the snapshot already holds (its id is not above the
      // snapshot's newest id) is skipped: replaying it would move the state back for a moment.
      const id = Number(msg.id);
      if (this.last !== null && id <= this.last) return null;
      this.last = id;
      // The server writes only declared types (decnet/events.py): the union covers them all.
      this.options.handlers.event(data as Event);
    }
    return null;
  }
}
