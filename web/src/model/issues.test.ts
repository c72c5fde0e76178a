import { describe, expect, it } from "vitest";
import type { Issue } from "../api/types";
import { topology } from "./fixtures";
import { hasErrors, parsePath, placeIssues, targetOf, tooltip, whereInWords } from "./issues";
import { project } from "./project";
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

  it("an address clash lands on the decky being edited, not the one that held the address", () => {
    // br takes gw's address on the DMZ; the validator names gw (the second it met)
    const s = stage.stageOps(stage.emptyStage, [{ op: "detach_decky", decky: "br", lan: "dmz" }, { op: "attach_decky", decky: "br", lan: "dmz", ip: "10.192.0.2" }], "set br's address");
    const seen = project(t, stage.batchOf(s), null).topology;
    const placed = placeIssues([issue("IP_DUPLICATE", "deckies[gw].memberships[dmz].ip")], seen, s);
    expect(placed.get("decky:br")?.[0]?.target).toMatchObject({ name: "br", lan: "dmz", field: "ip" });
    expect(placed.has("decky:gw")).toBe(false);
    // without a stage (the stored design) it stays where the validator put it
    expect(placeIssues([issue("IP_DUPLICATE", "deckies[gw].memberships[dmz].ip")], seen, null).has("decky:gw")).toBe(true);
  });

  it("says where a problem is in words", () => {
    const s = stage.stageOps(stage.emptyStage, [{ op: "add_lan", name: "v" }], "add LAN v");
    expect(whereInWords(targetOf("deckies[br].memberships[dmz].ip", t, null), null)).toBe("decky br · address on dmz");
    expect(whereInWords(targetOf("lans[lan-1].is_dmz", t, null), null)).toBe("LAN lan-1 · DMZ flag");
    expect(whereInWords(targetOf("deckies[gw].services[0]", t, null), null)).toBe("decky gw · service ssh");
    expect(whereInWords(targetOf("deckies[gw].service_config[ssh].password", t, null), null)).toBe("decky gw · ssh setting password");
    expect(whereInWords(targetOf("deckies[a].forwards_l3", t, null), null)).toBe("decky a · IP forwarding");
    expect(whereInWords(targetOf("ops[0].subnet", t, s), s)).toBe("LAN v · subnet · staged edit “add LAN v”");
    expect(whereInWords(targetOf("lans", t, null), null)).toBe("the topology");
  });
});
