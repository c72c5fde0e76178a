import { describe, expect, it } from "vitest";
import type { TopologyView } from "../api/types";
import { topology } from "./fixtures";
import { containerProblems, type DriftFinding, deckyStates, type HostReport, hostReports, unknownWhy } from "./status";

const at = "2026-02-01T00:00:00.000000+00:00";
const none = new Set<string>();

const states = (t: TopologyView, finding: DriftFinding | null, host: HostReport | null = null, changing: ReadonlySet<string> = none) =>
  Object.fromEntries([...deckyStates({ topology: t, finding, host, changing })].map(([k, v]) => [k, v.state]));
const why = (t: TopologyView, finding: DriftFinding | null, decky: string, host: HostReport | null = null) =>
  deckyStates({ topology: t, finding, host, changing: none }).get(decky)?.why ?? "";

describe("decky status dots", () => {
  it("reads container problems from drift details, with the lines as the reason", () => {
    const found = containerProblems("corp", [
      "container decnet-corp.gw is missing",
      "container decnet-corp.a.http is exited, not running",
      "container decnet-corp.br has IP 10.0.0.9 on decnet-corp.dmz, want 10.192.0.3",
      "container decnet-other.gw is missing",
      "network decnet-corp.lan-1 is missing",
    ]);
    expect(Object.fromEntries([...found].map(([k, v]) => [k, v.state]))).toEqual({ gw: "stopped", a: "stopped", br: "drift" });
    expect(found.get("a")?.why).toBe("container decnet-corp.a.http is exited, not running");
  });

  it("a decky the change being applied adds shows as applying before it is stored", () => {
    const t = topology({ status: "active" });
    expect(states(t, null, null, new Set(["a", "new-1"]))).toEqual({ gw: "running", br: "running", a: "applying", "new-1": "applying" });
    expect(states(t, null)).not.toHaveProperty("new-1");
  });

  it("a live topology's deckies run unless the last finding says otherwise", () => {
    const t = topology({ status: "active" });
    expect(states(t, null)).toEqual({ gw: "running", br: "running", a: "running" });
    const finding = { state: "runtime_drift", details: ["container decnet-corp.a is missing"], at };
    expect(states(t, finding)).toEqual({ gw: "running", br: "running", a: "stopped" });
    expect(states(t, { state: "config_drift", details: [], at }).gw).toBe("drift");
    expect(states(t, { state: "unreachable", details: [], at }).gw).toBe("unknown");
    expect(why(t, { state: "in_sync", details: [], at }, "gw")).toBe("running: checked at 2026-02-01 00:00:00");
  });

  it("an unknown dot says the host's cause and the fix, not just 'unknown'", () => {
    const t = topology({ status: "active" });
    const missing = { state: "unknown", details: ["the decnet fact is missing on the host (run playbooks/prepare.yml)"], at };
    expect(why(t, missing, "gw", { reachable: true, error: null })).toBe(
      "host localhost is not reporting: the decnet fact is missing on the host (run playbooks/prepare.yml). Fix that, then check again (drift).",
    );
    const down = { state: "unreachable", details: ["host localhost did not answer"], at };
    expect(why(t, down, "gw", { reachable: false, error: "ssh: connect to host: Connection refused" })).toBe(
      "host localhost is not reporting: host localhost did not answer; ssh: connect to host: Connection refused. Fix that, then check again (drift).",
    );
    const never = { state: "unknown", details: ["never applied on the host (no applied.json, no containers)"], at };
    expect(unknownWhy(t, never, null)).toMatch(/^unknown: not applied by decnet yet/);
  });

  it("a finding older than the last status change is about an earlier deployment", () => {
    const t = topology({ status: "active", status_changed_at: "2026-03-01T00:00:00.000000+00:00" });
    expect(states(t, { state: "runtime_drift", details: ["container decnet-corp.a is missing"], at }).a).toBe("running");
  });

  it("pending and torn-down topologies run nothing; a deploy or teardown changes every decky", () => {
    expect(states(topology(), null).gw).toBe("none");
    expect(states(topology({ status: "torn_down" }), { state: "runtime_drift", details: ["container decnet-corp.a is missing"], at }).a).toBe("none");
    expect(states(topology({ status: "deploying" }), null)).toEqual({ gw: "applying", br: "applying", a: "applying" });
    expect(states(topology({ status: "tearing_down" }), null).a).toBe("applying");
    expect(states(topology({ status: "failed" }), null).a).toBe("unknown");
  });

  it("during a live change only the deckies it changes are applying; the others keep their state", () => {
    const finding = { state: "runtime_drift", details: ["container decnet-corp.gw is missing"], at };
    const round = topology({ status: "deploying", live_round: true, status_changed_at: "2026-01-01T00:00:00.000000+00:00" });
    expect(states(round, finding, null, new Set(["a"]))).toEqual({ gw: "stopped", br: "running", a: "applying" });
    // before the re-read says live_round, a known mutation being applied says it
    expect(states(topology({ status: "deploying" }), null, null, new Set(["br"]))).toEqual({ gw: "running", br: "applying", a: "running" });
  });

  it("reads the hosts' reports field by field", () => {
    expect(hostReports({ h: { gathered_at: "t", reachable: false, error: "down", extra: 1 }, g: { reachable: "yes" } })).toEqual({
      h: { gathered_at: "t", reachable: false, error: "down" },
      g: { gathered_at: null, reachable: null, error: null },
    });
  });
});
