import { describe, expect, it } from "vitest";
import { ApiError, explain } from "./errors";

describe("ApiError", () => {
  it("reads the one error body", () => {
    const err = new ApiError(409, { error: { code: "version_conflict", message: "at 3, not 2", hint: "reload", current: 3, expected: 2 } });
    expect([err.status, err.code, err.message, err.hint, err.current, err.expected]).toEqual([409, "version_conflict", "at 3, not 2", "reload", 3, 2]);
    expect(err.versionConflict).toBe(true);
    expect(explain(err)).toBe("at 3, not 2 — reload");
  });

  it("keeps the issue list of a 400 and the field of a 422", () => {
    const issues = [{ code: "DMZ_MULTIPLE", severity: "error", message: "m", path: "lans[x].is_dmz" }];
    expect(new ApiError(400, { error: { code: "invalid_batch", message: "m", issues } }).issues).toEqual(issues);
    expect(new ApiError(422, { error: { code: "invalid_request", message: "m", field: "ops[0].lan" } }).field).toBe("ops[0].lan");
  });

  it("survives a body that is not the API's", () => {
    const err = new ApiError(502, "<html>bad gateway</html>");
    expect([err.code, err.message, err.issues, err.versionConflict]).toEqual(["http_502", "HTTP 502", [], false]);
    expect(explain(new Error("boom"))).toBe("boom");
    expect(explain("plain")).toBe("plain");
  });
});
