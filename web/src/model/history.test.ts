import { describe, expect, it } from "vitest";
import type { TopologyView } from "../api/types";
import { decky, topology } from "./fixtures";
import { emptyHistory, inverseOf, MASK, recorded, redoBlocked, redoneTo, undoBlocked, undoneTo } from "./history";
import type { Op } from "./ops";
import { project } from "./project";

/** The topology `ops` leave (removed elements gone, as the server would have them). */
function applied(t: TopologyView, ops: Op[]): TopologyView {
  const p = project(t, ops, null);
  const gone = (key: string) => p.marks.get(key) === "removed";
  return { ...p.topology, lans: p.topology.lans.filter((l) => !gone(`lan:${l.name}`)), deckies: p.topology.deckies.filter((d) => !gone(`decky:${d.name}`)) };
}

const strip = (t: TopologyView) => ({
  lans: t.lans.map((l) => ({ name: l.name, subnet: l.subnet, is_dmz: l.is_dmz })),
  deckies: [...t.deckies]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((d) => ({ name: d.name, home: d.home_lan, memberships: [...d.memberships].sort((a, b) => a.lan.localeCompare(b.lan)), services: d.services, config: d.service_config, fwd: d.forwards_l3, publish: d.publish })),
});

describe("undoing a pending topology's edits", () => {
  const t = topology({ deckies: [...topology().deckies.slice(0, 2), decky("a", "lan-1", { memberships: [{ lan: "lan-1", ip: "10.192.1.3" }], service_config: { http: { title: "Intranet" } } })] });

  const roundTrips: [string, Op[]][] = [
    ["adding a decky", [{ op: "add_decky", name: "n", lan: "lan-1", services: ["ssh"] }]],
    ["removing a decky with settings", [{ op: "remove_decky", name: "a" }]],
    ["removing a bridge", [{ op: "remove_decky", name: "br" }]],
    ["changing services and settings", [{ op: "update_decky", name: "a", services: ["ssh"], config: { ssh: { banner: "x" } } }]],
    ["a setting", [{ op: "update_decky", name: "a", config: { http: { title: "Secret Lab", workers: 4 } } }]],
    ["forwarding and ports", [{ op: "update_decky", name: "gw", forwards_l3: true, publish: ["2222:22"] }]],
    ["moving home", [{ op: "update_decky", name: "a", home: "dmz", canvas: { x: 1, y: 2 } }]],
    ["attaching and detaching", [{ op: "attach_decky", decky: "a", lan: "dmz", ip: "10.192.0.9" }, { op: "detach_decky", decky: "br", lan: "dmz" }]],
    ["renaming a LAN", [{ op: "update_lan", name: "lan-1", rename: "inner" }]],
    ["a LAN's subnet", [{ op: "update_lan", name: "lan-1", subnet: "10.192.7.0/24" }]],
    ["a new LAN and a decky in it", [{ op: "add_lan", name: "v" }, { op: "add_decky", name: "n", lan: "v" }]],
  ];

  for (const [what, ops] of roundTrips) {
    it(`undoes ${what}`, () => {
      const inverse = inverseOf(ops, t);
      if (typeof inverse === "string") throw new Error(inverse);
      expect(strip(applied(applied(t, ops), inverse))).toEqual(strip(t));
    });
  }

  it("removing a LAN with a bridge in it re-attaches the bridge with its address", () => {
    const noHomes = { ...t, deckies: t.deckies.filter((d) => d.home_lan !== "lan-1") };
    const bridged = { ...noHomes, deckies: [...noHomes.deckies, decky("x", "dmz", { memberships: [{ lan: "dmz", ip: "10.192.0.7" }, { lan: "lan-1", ip: "10.192.1.9" }] })] };
    const inverse = inverseOf([{ op: "remove_lan", name: "lan-1" }], bridged);
    expect(inverse).toEqual([
      { op: "add_lan", name: "lan-1", subnet: "10.192.1.0/24", dmz: false, allow_public: false, canvas: {} },
      { op: "attach_decky", decky: "x", lan: "lan-1", ip: "10.192.1.9" },
    ]);
  });

  it("cannot undo what needs a secret it never sees", () => {
    const secret = { ...t, deckies: t.deckies.map((d) => (d.name === "gw" ? { ...d, service_config: { ssh: { password: MASK } } } : d)) };
    expect(inverseOf([{ op: "update_decky", name: "gw", config: { ssh: { password: "new" } } }], secret)).toMatch(/^cannot undo: .*secret/);
    expect(inverseOf([{ op: "remove_decky", name: "gw" }], secret)).toMatch(/^cannot undo: gw has secret settings/);
  });

  it("undoes and redoes only on the version an entry left", () => {
    const entry = { label: "add n", ops: [] as Op[], inverse: [{ op: "remove_decky", name: "n" }] as Op[], version: 4 };
    let h = recorded(emptyHistory, entry);
    expect(undoBlocked(h, 4)).toBeNull();
    expect(undoBlocked(h, 5)).toMatch(/changed since/);
    h = undoneTo(h, 5);
    expect(h.done).toEqual([]);
    expect(redoBlocked(h, 5)).toBeNull();
    h = redoneTo(h, 6, [{ op: "remove_decky", name: "n" }]);
    expect(h.done.at(-1)?.version).toBe(6);
    expect(undoBlocked(recorded(h, { ...entry, inverse: "cannot undo: x" }), 4)).toBe("cannot undo: x");
    expect(recorded(h, entry).undone).toEqual([]);
  });
});
