import { describe, expect, it } from "vitest";
import { loginCode } from "../store/session";
import { conflictMessage, describeChanges } from "./diff";
import { decky, topology } from "./fixtures";
import { defaultGeneratorForm, formField, GENERATOR_FIELDS, generatorSpec } from "./forms";
import type { Decky } from "../api/types";
import { paste, removeAll } from "./builders";
import { corridorOf, memberPath, routeOf } from "./edgePath";
import { problemsOf } from "./issues";
import { keyAction, type KeyInput } from "./keys";
import { workNow } from "./live";
import { countsOf, project } from "./project";
import { deckiesTouched } from "./ops";
import { parseRoute, routeHash } from "./route";
import { groupServices, kindOf, portsLabel } from "./serviceKinds";
import { catalog } from "./fixtures";

const key = (k: string, extra: Partial<KeyInput> = {}): KeyInput => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, inField: false, ...extra });

describe("keyboard", () => {
  it("maps the editor's keys", () => {
    expect(keyAction(key("Delete"))).toBe("delete");
    expect(keyAction(key("Backspace"))).toBe("delete");
    expect(keyAction(key("Escape"))).toBe("cancel");
    expect(keyAction(key("z", { ctrlKey: true }))).toBe("undo");
    expect(keyAction(key("Z", { ctrlKey: true, shiftKey: true }))).toBe("redo");
    expect(keyAction(key("y", { metaKey: true }))).toBe("redo");
    expect(keyAction(key("s", { ctrlKey: true }))).toBe("save");
    expect(keyAction(key("a"))).toBeNull();
    expect(keyAction(key("a", { ctrlKey: true }))).toBe("selectAll");
    expect(keyAction(key("c", { ctrlKey: true }))).toBe("copy");
    expect(keyAction(key("v", { metaKey: true }))).toBe("paste");
    expect(keyAction(key("f", { ctrlKey: true }))).toBe("find");
  });
  it("leaves typing in a field alone, except Esc and Ctrl+S", () => {
    expect(keyAction(key("Delete", { inField: true }))).toBeNull();
    expect(keyAction(key("z", { ctrlKey: true, inField: true }))).toBeNull();
    expect(keyAction(key("s", { ctrlKey: true, inField: true }))).toBe("save");
    expect(keyAction(key("Escape", { inField: true }))).toBe("cancel");
    expect(keyAction(key("a", { ctrlKey: true, inField: true }))).toBeNull(); // the field's text
    expect(keyAction(key("c", { ctrlKey: true, inField: true }))).toBeNull();
  });
});

describe("generator form", () => {
  it("sends numbers as numbers", () => {
    const r = generatorSpec({ ...defaultGeneratorForm, name: "corp", depth: "3", services: "ssh, http", publish: "2222:22", seed: "7" });
    expect(r).toEqual({ spec: { name: "corp", host: "localhost", depth: 3, branching: 2, deckies_min: 1, deckies_max: 3, forward_p: 0.5, cross_p: 0, seed: 7, publish: ["2222:22"], services: ["ssh", "http"] } });
  });
  it("names the field at fault", () => {
    expect(generatorSpec({ ...defaultGeneratorForm, name: "Corp" })).toMatchObject({ field: "name" });
    expect(generatorSpec({ ...defaultGeneratorForm, name: "c", depth: "17" })).toEqual({ field: "depth", error: "between 1 and 16" });
    expect(formField("body.generate.cross_p")).toBe("cross_p");
    expect(formField("body.generate.nope")).toBeNull();
    expect(formField(null)).toBeNull();
    expect(GENERATOR_FIELDS.every((f) => f.help.length > 10)).toBe(true);
    expect(generatorSpec({ ...defaultGeneratorForm, name: "c", depth: "2.5" })).toMatchObject({ field: "depth" });
    expect(generatorSpec({ ...defaultGeneratorForm, name: "c", forward_p: "1.5" })).toMatchObject({ field: "forward_p" });
    expect(generatorSpec({ ...defaultGeneratorForm, name: "c", deckies_min: "5", deckies_max: "2" })).toMatchObject({ field: "deckies_min" });
  });
});

describe("routes and login links", () => {
  it("parses the two pages", () => {
    expect(parseRoute("#/t/corp")).toEqual({ page: "topology", name: "corp" });
    expect(parseRoute("#/")).toEqual({ page: "list" });
    expect(parseRoute("#/t/Bad Name")).toEqual({ page: "list" });
    expect(routeHash({ page: "topology", name: "x" })).toBe("#/t/x");
  });
  it("finds the one-time login code in the fragment", () => {
    expect(loginCode("#login=abc-123_X")).toBe("abc-123_X");
    expect(loginCode("#/t/corp")).toBeNull();
    expect(loginCode("")).toBeNull();
  });
});

describe("what changed (409)", () => {
  it("lists additions, removals and changes", () => {
    const before = topology();
    const after = topology({ version: 5, deckies: [...before.deckies.filter((d) => d.name !== "a"), decky("new", "dmz")] });
    after.deckies = after.deckies.map((d) => (d.name === "gw" ? { ...d, services: ["ssh"] } : d));
    expect(describeChanges(before, after)).toEqual(["added decky new", "removed decky a", "changed decky gw"]);
    expect(conflictMessage(before, after)).toContain("version 3 → 5");
    expect(conflictMessage(before, topology({ version: 4 }))).toContain("nothing visible");
  });
});

describe("service kinds", () => {
  it("groups the palette's services", () => {
    expect(kindOf("ssh")).toBe("remote access");
    expect(kindOf("gopher")).toBe("other");
    expect(groupServices(Object.values(catalog.services)).map((g) => [g.kind, g.services.map((s) => s.name)])).toEqual([
      ["remote access", ["ssh"]],
      ["web", ["http"]],
      ["files", ["smb"]],
    ]);
    expect(catalog.services.ssh && portsLabel(catalog.services.ssh)).toBe("22/tcp");
  });
});

describe("deckiesTouched", () => {
  it("names the deckies ops change, and every decky on a LAN changed or removed", () => {
    const t = topology();
    expect(deckiesTouched([{ op: "update_decky", name: "a", services: [] }, { op: "attach_decky", decky: "gw", lan: "lan-1" }], t).sort()).toEqual(["a", "gw"]);
    expect(deckiesTouched([{ op: "remove_lan", name: "dmz" }], t).sort()).toEqual(["br", "gw"]);
    expect(deckiesTouched([{ op: "add_lan", name: "new" }], t)).toEqual([]);
  });
});

describe("pasting and removing several", () => {
  it("pastes copies under free names, without published ports, addresses or secrets", () => {
    const t = topology();
    const gw = { ...(t.deckies[0] as Decky), publish: ["2222:22"], service_config: { ssh: { banner: "b", password: "********" } } };
    const edit = paste(t, [gw, t.deckies[2] as Decky], "lan-1", (_n, i) => ({ x: 10 + i, y: 20.4 }));
    expect(edit?.label).toBe("paste 2 deckies into lan-1");
    expect(edit?.ops).toEqual([
      { op: "add_decky", name: "gw-1", lan: "lan-1", services: ["ssh", "http"], config: { ssh: { banner: "b" } }, forwards_l3: false, canvas: { x: 10, y: 20 } },
      { op: "add_decky", name: "a-1", lan: "lan-1", services: ["http"], config: {}, forwards_l3: false, canvas: { x: 11, y: 20 } },
    ]);
    expect(paste(t, [gw], "nowhere", () => ({ x: 0, y: 0 }))).toBeNull();
  });

  it("removes several elements in one batch, deckies before LANs", () => {
    const t = topology();
    expect(removeAll(t, ["a", "gone"], ["lan-1"])?.ops).toEqual([{ op: "remove_decky", name: "a" }, { op: "remove_lan", name: "lan-1" }]);
    expect(removeAll(t, ["a"], [])?.label).toBe("remove decky a");
    expect(removeAll(t, [], [])).toBeNull();
  });
});

describe("counts and problems", () => {
  it("the header counts what the canvas draws: staged additions in, staged removals out", () => {
    const t = topology();
    const p = project(t, [{ op: "add_decky", name: "n", lan: "lan-1" }, { op: "remove_decky", name: "a" }, { op: "add_lan", name: "v" }], null);
    expect(countsOf(p)).toEqual({ lans: 3, deckies: 3, staged: 3 });
  });

  it("lists problems in words with the element to select", () => {
    const t = topology();
    const [p] = problemsOf([{ code: "IP_OUT_OF_SUBNET", severity: "error", message: "m", path: "deckies[br].memberships[dmz].ip" }], t, null);
    expect(p).toMatchObject({ where: "decky br · address on dmz", key: "decky:br" });
  });
});

describe("the work line", () => {
  it("says what runs now, with the host's progress", () => {
    const t = topology({ status: "active" });
    const progress = { run: "r", host: "h", phase: "create", done: 35, total: 43 };
    expect(workNow(t, { mutation: "m", state: "applying", reason: null }, {}, progress)).toEqual({ what: "Applying your change", phase: "creating containers", done: 35, total: 43 });
    expect(workNow(t, { mutation: "m", state: "pending", reason: null }, {}, null)).toEqual({ what: "Your change is queued", phase: null, done: null, total: null });
    expect(workNow(t, null, { m2: { state: "applying", deckies: null } }, null)?.what).toBe("Applying a change");
    expect(workNow(topology({ status: "deploying" }), null, {}, { ...progress, phase: "check", total: 0 })).toEqual({ what: "Deploying", phase: "checking the host", done: null, total: null });
    expect(workNow(topology({ status: "tearing_down" }), null, {}, null)?.what).toBe("Tearing down");
    expect(workNow(t, { mutation: "m", state: "applied", reason: null }, {}, null)).toBeNull();
  });
});

describe("membership lines", () => {
  it("leave the card up into the gap, run down the gutter beside its column, and enter the other box", () => {
    const d = { route: "up" as const, exitUp: -60, exitDown: 200, label: "10.0.0.3", index: 0, corridor: null };
    expect(memberPath(300, 500, 100, 100, d).path).toBe(`M300,500 V493 H${300 - 92 - 7} V440 H100 V100`);
    expect(memberPath(300, 500, 100, 900, { ...d, route: "down" }).path).toBe(`M300,500 V493 H${300 - 92 - 7} V700 H100 V900`);
    expect(memberPath(300, 500, 900, 420, { ...d, route: "beside" }).path).toContain("V408 H900 V420");
    expect(memberPath(300, 500, 100, 100, { ...d, corridor: -250 }).path).toBe(`M300,500 V493 H${300 - 92 - 7} V440 H50 V112 H100 V100`);
    expect(routeOf({ y: 300, h: 100 }, { y: 0, h: 200 })).toBe("up");
    expect(routeOf({ y: 300, h: 100 }, { y: 500, h: 200 })).toBe("down");
    expect(routeOf({ y: 300, h: 100 }, { y: 280, h: 200 })).toBe("beside");
  });
});

describe("corridors", () => {
  it("climb straight when nothing stands between the rows, else beside the other LAN", () => {
    const home = { x: 0, y: 600, w: 300, h: 200 };
    const other = { x: 0, y: 0, w: 300, h: 200 };
    expect(corridorOf([home, other], home, other, 588, "up", 60)).toBeNull();
    const between = { x: 100, y: 300, w: 300, h: 200 };
    expect(corridorOf([home, other, between], home, other, 588, "up", 60)).toBe(-30);
    const wide = { x: -100, y: 300, w: 600, h: 200 };
    expect(corridorOf([home, other, wide], home, other, 588, "up", 60)).toBeNull(); // no free way: straight
  });
});
