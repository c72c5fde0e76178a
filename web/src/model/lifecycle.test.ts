import { describe, expect, it } from "vitest";
import type { Status } from "../api/types";
import { allows, blockedWhy } from "./lifecycle";

const ALL: Status[] = ["pending", "deploying", "active", "degraded", "failed", "tearing_down", "torn_down"];
const where = (action: Parameters<typeof allows>[1]): Status[] => ALL.filter((s) => allows(s, action));

describe("lifecycle", () => {
  it("follows the server: deploy and teardown from where its rollouts start", () => {
    expect(where("deploy")).toEqual(["pending", "active", "degraded", "failed"]);
    expect(where("teardown")).toEqual(["pending", "deploying", "active", "degraded", "failed"]);
    expect(where("delete")).toEqual(["pending", "failed", "torn_down"]);
  });

  it("editing stops while a run owns the host and after teardown, and says why", () => {
    expect(where("edit")).toEqual(["pending", "active", "degraded", "failed"]);
    expect(blockedWhy("deploying", "edit")).toContain("a deploy is running");
    expect(blockedWhy("torn_down", "edit")).toContain("torn down");
    expect(blockedWhy("active", "edit")).toBeNull();
    expect(blockedWhy("torn_down", "deploy")).toBe("deploy is not possible while torn_down");
  });
});
