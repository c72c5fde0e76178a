import { describe, expect, it } from "vitest";
import { topology } from "./fixtures";
import { containerProblems, deckyStates } from "./status";

const at = "2026-02-01T00:00:00.000000+00:00";

describe("decky status dots", () => {
  it("reads container problems from drift details", () => {
    const found = containerProblems("corp", [
      "container decnet-corp.gw is missing",
      "container decnet-corp.a.http is exited, not running",
      "container decnet-corp.br has IP 10.0.0.9 on decnet-corp.dmz, want 10.192.0.3",
      "container decnet-other.gw is missing",
      "network decnet-corp.lan-1 is missing",
    ]);
    expect(Object.fromEntries(found)).toEqual({ gw: "stopped", a: "stopped", br: "drift" });
  });

  it("a live topology's deckies run unless the last finding says otherwise", () => {
    const t = topology({ status: "active" });
    expect(Object.fromEntries(deckyStates(t, null))).toEqual({ gw: "running", br: "running", a: "running" });
    const finding = { state: "runtime_drift", details: ["container decnet-corp.a is missing"], at };
    expect(deckyStates(t, finding).get("a")).toBe("stopped");
    expect(deckyStates(t, finding).get("gw")).toBe("running");
    expect(deckyStates(t, { state: "config_drift", details: [], at }).get("gw")).toBe("drift");
    expect(deckyStates(t, { state: "unreachable", details: [], at }).get("gw")).toBe("unknown");
  });

  it("a finding older than the last status change is about an earlier deployment", () => {
    const t = topology({ status: "active", status_changed_at: "2026-03-01T00:00:00.000000+00:00" });
    expect(deckyStates(t, { state: "runtime_drift", details: ["container decnet-corp.a is missing"], at }).get("a")).toBe("running");
  });

  it("pending and torn-down topologies run nothing", () => {
    expect(deckyStates(topology(), null).get("gw")).toBe("stopped");
    expect(deckyStates(topology({ status: "torn_down" }), { state: "runtime_drift", details: ["container decnet-corp.a is missing"], at }).get("a")).toBe("stopped");
    expect(deckyStates(topology({ status: "deploying" }), null).get("a")).toBe("unknown");
  });
});
