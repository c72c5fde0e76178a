import { describe, expect, it } from "vitest";
import type { Actions } from "../api/types";
import { ALL_ALLOWED } from "./fixtures";
import { allows, blockedWhy } from "./lifecycle";

const tornDown: Actions = {
  ...ALL_ALLOWED,
  deploy: { allowed: false, reason: "it was torn down: deploy a copy of it under a new name" },
  edit: { allowed: false, reason: null },
};

describe("lifecycle", () => {
  it("offers what the server's verdicts allow", () => {
    expect(allows({ actions: ALL_ALLOWED }, "deploy")).toBe(true);
    expect(allows({ actions: tornDown }, "deploy")).toBe(false);
    expect(allows({ actions: tornDown }, "delete")).toBe(true);
  });

  it("says why in the server's words, or a plain fallback", () => {
    expect(blockedWhy({ actions: tornDown }, "deploy")).toBe("it was torn down: deploy a copy of it under a new name");
    expect(blockedWhy({ actions: tornDown }, "edit")).toBe("edit is not possible now");
    expect(blockedWhy({ actions: tornDown }, "delete")).toBeNull();
  });
});
