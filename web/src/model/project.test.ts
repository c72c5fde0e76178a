import { describe, expect, it } from "vitest";
import { catalog, lan, topology } from "./fixtures";
import { project } from "./project";

const t = topology();

describe("project", () => {
  it("shows a staged LAN and a decky from an archetype, marked added", () => {
    const { topology: p, marks } = project(
      t,
      [
        { op: "add_lan", name: "vault", canvas: { x: 5, y: 6, w: 300, h: 200 } },
        { op: "add_decky", name: "bk", lan: "vault", archetype: "linux-server" },
        { op: "attach_decky", decky: "bk", lan: "dmz", ip: "10.192.0.9" },
      ],
      catalog,
    );
    expect(p.lans.at(-1)).toMatchObject({ name: "vault", subnet: null, is_dmz: false, x: 5, w: 300 });
    expect(p.deckies.at(-1)).toMatchObject({
      name: "bk",
      home_lan: "vault",
      services: ["ssh", "http"],
      archetype: "linux-server",
      memberships: [{ lan: "vault", ip: null }, { lan: "dmz", ip: "10.192.0.9" }],
    });
    expect(marks.get("lan:vault")).toBe("added");
    expect(marks.get("decky:bk")).toBe("added");
    expect(t.deckies).toHaveLength(3); // the base is not touched
  });

  it("keeps removed elements, marked removed, and detaches visitors of a removed LAN", () => {
    const withVault = topology({
      lans: [...t.lans, lan("vault", { subnet: "10.192.2.0/24" })],
      deckies: t.deckies.map((d) => (d.name === "a" ? { ...d, memberships: [...d.memberships, { lan: "vault", ip: "10.192.2.2" }] } : d)),
    });
    const { topology: p, marks } = project(withVault, [{ op: "remove_lan", name: "vault" }, { op: "remove_decky", name: "gw" }], catalog);
    expect(marks.get("lan:vault")).toBe("removed");
    expect(marks.get("decky:gw")).toBe("removed");
    expect(marks.get("decky:a")).toBe("changed");
    expect(p.deckies.find((d) => d.name === "a")?.memberships).toEqual([{ lan: "lan-1", ip: "10.192.1.3" }]);
    expect(p.lans.map((l) => l.name)).toContain("vault");
  });

  it("refuses to remove a LAN someone is homed in (the server says why)", () => {
    const { marks } = project(t, [{ op: "remove_lan", name: "lan-1" }], catalog);
    expect(marks.size).toBe(0);
  });

  it("added then removed within the stage shows nothing", () => {
    const { topology: p, marks } = project(t, [{ op: "add_lan", name: "x" }, { op: "remove_lan", name: "x" }], catalog);
    expect(marks.size).toBe(0);
    expect(p.lans.map((l) => l.name)).toEqual(["dmz", "lan-1"]);
  });

  it("renames a LAN everywhere", () => {
    const { topology: p, marks } = project(t, [{ op: "update_lan", name: "lan-1", rename: "office" }], catalog);
    expect(p.lans.map((l) => l.name)).toEqual(["dmz", "office"]);
    expect(p.deckies.find((d) => d.name === "br")).toMatchObject({ home_lan: "office", memberships: [{ lan: "office" }, { lan: "dmz" }] });
    expect(marks.get("lan:office")).toBe("changed");
    expect(marks.has("lan:lan-1")).toBe(false);
  });

  it("updates a decky: services replace, config merges (null removes), home moves", () => {
    const base = topology({
      deckies: t.deckies.map((d) => (d.name === "gw" ? { ...d, service_config: { ssh: { banner: "b", password: "********" } } } : d)),
    });
    const { topology: p } = project(
      base,
      [
        { op: "update_decky", name: "gw", config: { ssh: { banner: null }, http: { title: "T" } } },
        { op: "update_decky", name: "a", home: "dmz", services: ["smb"], forwards_l3: true },
      ],
      catalog,
    );
    expect(p.deckies.find((d) => d.name === "gw")?.service_config).toEqual({ ssh: { password: "********" }, http: { title: "T" } });
    expect(p.deckies.find((d) => d.name === "a")).toMatchObject({ home_lan: "dmz", memberships: [{ lan: "dmz", ip: null }], services: ["smb"], forwards_l3: true });
  });

  it("dropping a service drops its config", () => {
    const base = topology({ deckies: t.deckies.map((d) => (d.name === "gw" ? { ...d, service_config: { ssh: { banner: "b" } } } : d)) });
    const { topology: p } = project(base, [{ op: "update_decky", name: "gw", services: ["http"] }], catalog);
    expect(p.deckies.find((d) => d.name === "gw")?.service_config).toEqual({});
  });

  it("detaches, but never from the home LAN; skips ops on unknown elements", () => {
    const { topology: p, marks } = project(
      t,
      [
        { op: "detach_decky", decky: "br", lan: "dmz" },
        { op: "detach_decky", decky: "a", lan: "lan-1" },
        { op: "update_decky", name: "ghost", services: [] },
        { op: "add_decky", name: "y", lan: "nowhere" },
      ],
      catalog,
    );
    expect(p.deckies.find((d) => d.name === "br")?.memberships).toEqual([{ lan: "lan-1", ip: "10.192.1.2" }]);
    expect([...marks.keys()]).toEqual(["decky:br"]);
  });

  it("sets a staged LAN's subnet and DMZ flag, and canvas keys only where given", () => {
    const { topology: p } = project(t, [{ op: "update_lan", name: "lan-1", dmz: true, subnet: "10.5.0.0/24", canvas: { x: 9 } }], catalog);
    expect(p.lans[1]).toMatchObject({ is_dmz: true, subnet: "10.5.0.0/24", x: 9, w: null });
  });

  it("marks a staged service removal and addition on the service, and a round trip as nothing", () => {
    const removed = project(t, [{ op: "update_decky", name: "gw", services: ["http"] }], catalog);
    expect(removed.topology.deckies[0]?.services).toEqual(["http"]);
    expect(removed.marks.get("service:gw:ssh")).toBe("removed");
    const added = project(t, [{ op: "update_decky", name: "a", services: ["http", "smb"] }], catalog);
    expect(added.marks.get("service:a:smb")).toBe("added");
    const back = project(t, [{ op: "update_decky", name: "gw", services: ["http"] }, { op: "update_decky", name: "gw", services: ["http", "ssh"] }], catalog);
    expect(back.marks.has("service:gw:ssh")).toBe(false);
  });
});
