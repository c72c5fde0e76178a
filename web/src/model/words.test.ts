import { describe, expect, it } from "vitest";
import { phaseWords, plural, statusWords, transition } from "./words";

describe("words", () => {
  it("say statuses and phases as people do", () => {
    expect(statusWords("torn_down")).toBe("torn down");
    expect(statusWords("tearing_down")).toBe("tearing down");
    expect(statusWords("some_new_state")).toBe("some new state");
    expect(phaseWords("create")).toBe("creating containers");
    expect(phaseWords("warp")).toBe("warp");
    expect(transition("corp", "active", "torn_down", "teardown run r1")).toBe("corp: active → torn down (teardown run r1)");
  });

  it("count in the right number", () => {
    expect(plural(1, "LAN")).toBe("1 LAN");
    expect(plural(3, "LAN")).toBe("3 LANs");
    expect(plural(1, "decky")).toBe("1 decky");
    expect(plural(0, "decky")).toBe("0 deckies");
    expect(plural(2, "edit")).toBe("2 edits");
  });
});
