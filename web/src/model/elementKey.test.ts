import { describe, expect, it } from "vitest";
import { deckyOf, keyOf, nameOf, parseKey } from "./elementKey";

describe("element keys", () => {
  it("round-trip every kind", () => {
    for (const ref of [{ kind: "lan", name: "dmz" }, { kind: "decky", name: "web-2" }, { kind: "service", decky: "gw", service: "ssh" }] as const) {
      expect(parseKey(keyOf(ref))).toEqual(ref);
    }
  });

  it("refuse what is not a key", () => {
    for (const key of [null, undefined, "", "topology", "lan:", "decky:Web", "service:gw", "lan:a:b", "x:y"]) expect(parseKey(key)).toBeNull();
  });

  it("name the decky of a decky or service key, and the name of a kind", () => {
    expect(deckyOf("service:gw:ssh")).toBe("gw");
    expect(deckyOf("decky:a")).toBe("a");
    expect(deckyOf("lan:dmz")).toBeNull();
    expect(nameOf("lan:dmz", "lan")).toBe("dmz");
    expect(nameOf("lan:dmz", "decky")).toBeNull();
  });
});
