import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Api } from "../api/client";
import { createAppStore } from "./index";
import { INFO_SECONDS } from "./notice";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the notice line", () => {
  const store = () => createAppStore(() => ({ token: () => null }) as unknown as Api);

  it("information goes away by itself; a newer notice is not cleared by an older one's timer", () => {
    const s = store();
    s.getState().say("info", "Deploy of corp queued");
    vi.advanceTimersByTime((INFO_SECONDS - 1) * 1000);
    s.getState().say("info", "corp: pending → deploying");
    vi.advanceTimersByTime(2000);
    expect(s.getState().notice?.text).toBe("corp: pending → deploying");
    vi.advanceTimersByTime(INFO_SECONDS * 1000);
    expect(s.getState().notice).toBeNull();
  });

  it("an error stays until dismissed", () => {
    const s = store();
    s.getState().say("error", "Could not deploy corp");
    vi.advanceTimersByTime(60_000);
    expect(s.getState().notice?.kind).toBe("error");
    s.getState().setNotice(null);
    expect(s.getState().notice).toBeNull();
  });
});
