import { describe, expect, it } from "vitest";
import { loginCode } from "../store/session";
import { conflictMessage, describeChanges } from "./diff";
import { decky, topology } from "./fixtures";
import { defaultGeneratorForm, generatorSpec } from "./forms";
import { keyAction, type KeyInput } from "./keys";
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
  });
  it("leaves typing in a field alone, except Esc and Ctrl+S", () => {
    expect(keyAction(key("Delete", { inField: true }))).toBeNull();
    expect(keyAction(key("z", { ctrlKey: true, inField: true }))).toBeNull();
    expect(keyAction(key("s", { ctrlKey: true, inField: true }))).toBe("save");
    expect(keyAction(key("Escape", { inField: true }))).toBe("cancel");
  });
});

describe("generator form", () => {
  it("sends numbers as numbers", () => {
    const r = generatorSpec({ ...defaultGeneratorForm, name: "corp", depth: "3", services: "ssh, http", publish: "2222:22", seed: "7" });
    expect(r).toEqual({ spec: { name: "corp", host: "localhost", depth: 3, branching: 2, deckies_min: 1, deckies_max: 3, forward_p: 0.5, cross_p: 0, seed: 7, publish: ["2222:22"], services: ["ssh", "http"] } });
  });
  it("names the field at fault", () => {
    expect(generatorSpec({ ...defaultGeneratorForm, name: "Corp" })).toMatchObject({ field: "name" });
    expect(generatorSpec({ ...defaultGeneratorForm, name: "c", depth: "17" })).toEqual({ field: "depth", error: "depth must be between 1 and 16" });
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
