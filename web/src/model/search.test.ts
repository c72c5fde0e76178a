import { describe, expect, it } from "vitest";
import { topology } from "./fixtures";
import { search } from "./search";

const t = topology();

describe("search", () => {
  it("finds deckies by name (exact first), address and service, and LANs by name and subnet", () => {
    expect(search(t, "a").map((m) => m.key)[0]).toBe("decky:a");
    expect(search(t, "10.192.0.3")).toEqual([{ key: "decky:br", label: "br", detail: "10.192.0.3 on dmz" }]);
    expect(search(t, "ssh").map((m) => m.key)).toEqual(["decky:gw"]);
    expect(search(t, "lan-1")[0]).toEqual({ key: "lan:lan-1", label: "LAN lan-1", detail: "10.192.1.0/24" });
    expect(search(t, "10.192.1.0").map((m) => m.key)).toContain("lan:lan-1");
    expect(search(t, "  ")).toEqual([]);
    expect(search(t, "nothing-like-it")).toEqual([]);
  });
});
