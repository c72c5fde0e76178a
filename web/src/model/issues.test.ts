import { describe, expect, it } from "vitest";
import type { Issue } from "../api/types";
import { topology } from "./fixtures";
import { hasErrors, parsePath, placeIssues, targetOf, tooltip } from "./issues";
import * as stage from "./stage";

const t = topology();
const issue = (code: string, path: string, severity: "error" | "warning" = "error"): Issue => ({ code, path, message: `${code} at ${path}`, severity });

describe("issue paths", () => {
  it("parses keys and indexes", () => {
    expect(parsePath("deckies[web].memberships[dmz].ip")).toEqual([
      { key: "deckies", index: "web" },
      { key: "memberships", index: "dmz" },
      { key: "ip" },
    ]);
    expect(parsePath("lans")).toEqual([{ key: "lans" }]);
  });

  it("names LANs, deckies, memberships and services, by name or index", () => {
    expect(targetOf("lans[lan-1].is_dmz", t, null)).toEqual({ kind: "lan", name: "lan-1", field: "is_dmz" });
    expect(targetOf("lans[0].subnet", t, null)).toEqual({ kind: "lan", name: "dmz", field: "subnet" });
    expect(targetOf("lans[lan-1]", t, null)).toEqual({ kind: "lan", name: "lan-1" });
    expect(targetOf("deckies[br].memberships[dmz].ip", t, null)).toEqual({ kind: "decky", name: "br", lan: "dmz", field: "ip" });
    expect(targetOf("deckies[1].memberships[1].ip", t, null)).toMatchObject({ name: "br", lan: "dmz" });
    expect(targetOf("deckies[gw].services[0]", t, null)).toEqual({ kind: "decky", name: "gw", service: "ssh" });
    expect(targetOf("deckies[gw].service_config[ssh].password", t, null)).toMatchObject({ service: "ssh", field: "password" });
    expect(targetOf("lans", t, null)).toEqual({ kind: "topology" });
    expect(targetOf("host", t, null)).toEqual({ kind: "topology" });
    expect(targetOf("lans[99].subnet", t, null)).toEqual({ kind: "topology" });
  });

  it("points ops[N] at the element the staged op is about", () => {
    const s = stage.stageOps(stage.stageOps(stage.emptyStage, [{ op: "add_lan", name: "v" }], "1"), [{ op: "attach_decky", decky: "a", lan: "v" }], "2");
    expect(targetOf("ops[1].lan", t, s)).toEqual({ kind: "decky", name: "a", entry: 2, field: "lan" });
    expect(targetOf("ops[0].name", t, s)).toMatchObject({ kind: "lan", name: "v", entry: 1 });
    expect(targetOf("ops[5].name", t, s)).toEqual({ kind: "topology" });
    expect(targetOf("ops[0].name", t, null)).toEqual({ kind: "topology" });
  });

  it("places issues on elements; a service's issue is also its decky's", () => {
    const placed = placeIssues([issue("DMZ_MULTIPLE", "lans[lan-1].is_dmz"), issue("SERVICE_CONFIG_INVALID", "deckies[gw].services[0]"), issue("DMZ_MISSING", "lans")], t, null);
    expect(placed.get("lan:lan-1")?.map((p) => p.issue.code)).toEqual(["DMZ_MULTIPLE"]);
    expect(placed.get("decky:gw")?.length).toBe(1);
    expect(placed.get("service:gw:ssh")?.length).toBe(1);
    expect(placed.get("topology")?.[0]?.issue.code).toBe("DMZ_MISSING");
    expect(tooltip(placed.get("lan:lan-1") ?? [])).toBe("DMZ_MULTIPLE: DMZ_MULTIPLE at lans[lan-1].is_dmz");
  });

  it("tells errors from warnings", () => {
    expect(hasErrors([issue("X", "lans", "warning")])).toBe(false);
    expect(hasErrors([issue("X", "lans", "warning"), issue("Y", "lans")])).toBe(true);
  });
});
