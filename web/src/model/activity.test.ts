import { describe, expect, it } from "vitest";
import type { Event } from "../api/types";
import { addAttacks, clock, minute, type AttackEvent, describe as words, emptyActivity, filterFeed, filterOptions, lanTotals, loadedActivity, noFilter, visibleRows, windowStart } from "./activity";

const attack = (id: number, decky: string, extra: Record<string, unknown> = {}, type = "attack.connect"): AttackEvent =>
  ({
    id,
    at: "2026-12-07T10:00:00",
    topic: "attack",
    type,
    topology: "corp",
    payload: {
      topology: "corp", host: "localhost", decky, lan: "dmz", service: "ssh", src_ip: "10.66.0.1", sensor: "decnet",
      observed_at: `2026-12-07T10:00:${String(id % 60).padStart(2, "0")}.000000+00:00`, line: `l${id}`, raw: "{}", ...extra,
    },
  }) as AttackEvent;

describe("activity", () => {
  it("counts live events per decky once, newest first, and pulses their cards", () => {
    const a = addAttacks(emptyActivity, [attack(20, "gw"), attack(21, "gw"), attack(22, "a"), attack(21, "gw")]);
    expect(a.counts).toEqual({ gw: 2, a: 1 });
    expect(a.feed.map((e) => e.id)).toEqual([22, 21, 20]);
    expect(a.pulse).toEqual({ gw: 21, a: 22 });
    expect(a.last.gw).toBe("2026-12-07T10:00:21.000000+00:00");
    expect(addAttacks(a, [attack(21, "gw")])).toBe(a);
  });

  it("starts from the route's window and keeps what the stream brought meanwhile", () => {
    const live = addAttacks(emptyActivity, [attack(5, "gw"), attack(9, "a")]);
    const answer = { deckies: [{ decky: "gw", events: 7, last_at: "2026-12-07T10:00:05.000000+00:00" }], events: [attack(5, "gw")] as Event[], latest: 6 };
    const a = loadedActivity(live, "15m", answer);
    expect(a).toMatchObject({ window: "15m", loaded: true, counts: { gw: 7, a: 1 }, latest: 9 });
    expect(a.feed.map((e) => e.id)).toEqual([9, 5]);
  });

  it("sums LANs, says what each event did, filters, and windows", () => {
    expect(lanTotals({ gw: 2, a: 3, gone: 1 }, new Map([["gw", "dmz"], ["a", "lan-1"]]))).toEqual({ dmz: 2, "lan-1": 3 });
    expect(words(attack(1, "gw", { username: "root", password: "hunter2", outcome: "failure" }, "attack.login"))).toBe("login root / hunter2 failed");
    expect(words(attack(1, "gw", { command: "uname -a" }, "attack.command"))).toBe("command uname -a");
    expect(words(attack(1, "gw", { method: "AUTH", query: "AUTH x" }, "attack.request"))).toBe("request AUTH AUTH x");
    expect(words(attack(1, "gw", { dst_port: 22 }))).toBe("connect to ssh :22");
    const feed = [attack(3, "a", { service: "redis", src_ip: "10.1.1.1" }), attack(2, "gw", {}, "attack.login"), attack(1, "gw")];
    expect(filterFeed(feed, { ...noFilter, type: "login" }).map((e) => e.id)).toEqual([2]);
    expect(filterFeed(feed, { ...noFilter, decky: "gw", type: "connect" }).map((e) => e.id)).toEqual([1]);
    expect(filterFeed(feed, { ...noFilter, service: "redis" }).map((e) => e.id)).toEqual([3]);
    expect(filterFeed(feed, { ...noFilter, source: "10.1." }).map((e) => e.id)).toEqual([3]);
    expect(filterOptions(feed)).toEqual({ types: ["connect", "login"], services: ["redis", "ssh"], deckies: ["a", "gw"] });
    expect(windowStart("15m", new Date("2026-12-07T10:00:00Z"))).toBe("2026-12-07T09:45:00.000Z");
    expect(windowStart("all", new Date())).toBeNull();
    expect([clock("2026-12-07T10:01:02.5+00:00"), minute("2026-12-07T10:01:02.5+00:00")]).toEqual(["10:01:02", "10:01"]);
  });

  it("renders only the rows in view", () => {
    expect(visibleRows(0, 100, 25, 1000, 2)).toEqual([0, 6]);
    expect(visibleRows(2500, 100, 25, 1000, 2)).toEqual([98, 106]);
    expect(visibleRows(0, 100, 25, 3, 2)).toEqual([0, 3]);
  });
});
