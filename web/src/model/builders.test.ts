import { describe, expect, it } from "vitest";
import * as build from "./builders";
import { catalog, topology } from "./fixtures";

describe("uniqueName", () => {
  it("numbers from 1 and skips taken names", () => {
    expect(build.uniqueName("web-server", [])).toBe("web-server-1");
    expect(build.uniqueName("web-server", ["web-server-1", "web-server-2"])).toBe("web-server-3");
  });
  it("makes any base a valid name", () => {
    expect(build.uniqueName("9 Web_Server!", [])).toBe("web-server-1");
    expect(build.uniqueName("", [])).toBe("x-1");
    expect(build.uniqueName("a".repeat(80), []).length).toBeLessThanOrEqual(63);
  });
});

describe("op builders", () => {
  const t = topology();

  it("an archetype dropped on a LAN adds a decky homed there, at the drop point", () => {
    expect(build.dropArchetype(t, "lan-1", "linux-server", { x: 10.4, y: 20.6 })).toEqual({
      label: "add linux-server-1 (linux-server) to lan-1",
      ops: [{ op: "add_decky", name: "linux-server-1", lan: "lan-1", archetype: "linux-server", canvas: { x: 10, y: 21 } }],
    });
    expect(build.dropArchetype(t, "nope", "linux-server", { x: 0, y: 0 })).toBeNull();
  });

  it("a service dropped on a decky appends it once", () => {
    expect(build.dropService(t, "a", "ssh")?.ops).toEqual([{ op: "update_decky", name: "a", services: ["http", "ssh"] }]);
    expect(build.dropService(t, "a", "http")).toBeNull();
    expect(build.dropService(t, "ghost", "ssh")).toBeNull();
  });

  it("removes a service", () => {
    expect(build.removeService(t, "gw", "ssh")?.ops).toEqual([{ op: "update_decky", name: "gw", services: ["http"] }]);
    expect(build.removeService(t, "gw", "smb")).toBeNull();
  });

  it("attaches a decky to a LAN it is not on, detaches from a non-home LAN", () => {
    expect(build.attach(t, "a", "dmz")?.ops).toEqual([{ op: "attach_decky", decky: "a", lan: "dmz" }]);
    expect(build.attach(t, "br", "dmz")).toBeNull();
    expect(build.detach(t, "br", "dmz")?.ops).toEqual([{ op: "detach_decky", decky: "br", lan: "dmz" }]);
    expect(build.detach(t, "br", "lan-1")).toBeNull();
  });

  it("moves a decky's home, with force only when asked", () => {
    expect(build.moveHome(t, "a", "dmz", { x: 1, y: 2 }, false)?.ops).toEqual([{ op: "update_decky", name: "a", home: "dmz", canvas: { x: 1, y: 2 } }]);
    expect(build.moveHome(t, "a", "dmz", { x: 1, y: 2 }, true)?.ops[0]).toMatchObject({ force: true });
    expect(build.moveHome(t, "a", "lan-1", { x: 1, y: 2 }, false)).toBeNull();
  });

  it("re-attaches a non-home membership to pin its address", () => {
    expect(build.setMembershipIp(t, "br", "dmz", "10.9.9.9")?.ops).toEqual([
      { op: "detach_decky", decky: "br", lan: "dmz" },
      { op: "attach_decky", decky: "br", lan: "dmz", ip: "10.9.9.9" },
    ]);
    expect(build.setMembershipIp(t, "br", "lan-1", "10.9.9.9")).toBeNull();
  });

  it("adds a LAN or a DMZ with a fresh name", () => {
    expect(build.addLan(t, false, { x: 1, y: 2, w: 3, h: 4 }).ops).toEqual([{ op: "add_lan", name: "lan-2", canvas: { x: 1, y: 2, w: 3, h: 4 } }]);
    expect(build.addLan(t, true, { x: 0, y: 0 }).ops[0]).toMatchObject({ name: "dmz-1", dmz: true });
    expect(build.addLan(topology({ lans: [] }), true, { x: 0, y: 0 }).ops[0]).toMatchObject({ name: "dmz" });
  });

  it("updates only what changed", () => {
    expect(build.updateLan(t, "lan-1", { dmz: true })?.ops).toEqual([{ op: "update_lan", name: "lan-1", dmz: true }]);
    expect(build.updateLan(t, "lan-1", { dmz: false, subnet: "10.192.1.0/24", rename: "lan-1" })).toBeNull();
    expect(build.updateDecky(t, "br", { forwards_l3: false }, true)?.ops).toEqual([{ op: "update_decky", name: "br", forwards_l3: false, force: true }]);
    expect(build.updateDecky(t, "gw", { publish: ["2222:22"] }, false)?.ops).toEqual([{ op: "update_decky", name: "gw", publish: ["2222:22"] }]);
    expect(build.updateDecky(t, "gw", { publish: [] }, false)).toBeNull();
  });

  it("removes LANs and deckies that exist", () => {
    expect(build.remove(t, "lan", "lan-1")?.ops).toEqual([{ op: "remove_lan", name: "lan-1" }]);
    expect(build.remove(t, "decky", "gw")?.ops).toEqual([{ op: "remove_decky", name: "gw" }]);
    expect(build.remove(t, "decky", "zz")).toBeNull();
  });

  it("sets one config value of a service the decky runs", () => {
    expect(build.setConfig(t, "gw", "ssh", "password", "hunter2")?.ops).toEqual([
      { op: "update_decky", name: "gw", config: { ssh: { password: "hunter2" } } },
    ]);
    expect(build.setConfig(t, "gw", "ssh", "banner", null)?.ops[0]).toMatchObject({ config: { ssh: { banner: null } } });
    expect(build.setConfig(t, "a", "ssh", "banner", "x")).toBeNull();
  });

  it("types config input by the catalogue's schema", () => {
    expect(build.parseConfigValue(catalog, "http", "workers", "4")).toEqual({ value: 4 });
    expect(build.parseConfigValue(catalog, "http", "workers", "four")).toEqual({ error: "workers must be a whole number" });
    expect(build.parseConfigValue(catalog, "http", "tls", "true")).toEqual({ value: true });
    expect(build.parseConfigValue(catalog, "http", "tls", "yes")).toHaveProperty("error");
    expect(build.parseConfigValue(catalog, "http", "title", "3")).toEqual({ value: "3" });
    expect(build.parseConfigValue(catalog, "http", "title", "")).toEqual({ value: null });
    expect(build.parseConfigValue(catalog, "http", "nope", "x")).toHaveProperty("error");
  });

  it("leaving an empty secret field keeps the stored secret; other fields commit their text", () => {
    expect(build.fieldCommit({ secret: true }, "")).toBeNull();
    expect(build.fieldCommit({ secret: true }, null)).toBeNull();
    expect(build.fieldCommit({ secret: true }, "hunter2")).toBe("hunter2");
    expect(build.fieldCommit({ secret: false }, "")).toBe(""); // back to the default
    expect(build.fieldCommit({ secret: false }, null)).toBeNull();
  });

  it("a blank topology is a DMZ with a gateway", () => {
    expect(build.blankDocument("x", ["http"])).toMatchObject({
      name: "x",
      lans: [{ name: "dmz", dmz: true }],
      deckies: [{ name: "gw", home: "dmz", services: ["http"] }],
    });
  });
});
