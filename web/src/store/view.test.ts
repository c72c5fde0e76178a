import { describe, expect, it } from "vitest";
import type { Status } from "../api/types";
import { catalog, topology } from "../model/fixtures";
import { emptyStage } from "../model/stage";
import type { AppState } from "./index";
import { editorView, VIEWER } from "./view";

const state = (status: Status, role = "admin"): AppState =>
  ({
    topology: topology({ status }),
    catalog,
    stage: emptyStage,
    sent: [],
    storedIssues: [],
    batchIssues: [],
    finding: null,
    principal: { token_id: "1", name: "ops", role },
  }) as unknown as AppState;

describe("editorView", () => {
  it("an admin edits a topology whose design may change", () => {
    for (const status of ["pending", "active", "degraded", "failed"] as Status[]) {
      expect(editorView(state(status))).toMatchObject({ editable: true, readOnly: null });
    }
  });

  it("while a run owns the host, and after teardown, nothing is editable, with the reason", () => {
    expect(editorView(state("deploying"))).toMatchObject({ editable: false, readOnly: expect.stringContaining("deploy is running") });
    expect(editorView(state("tearing_down"))).toMatchObject({ editable: false, readOnly: expect.stringContaining("torn down") });
    expect(editorView(state("torn_down"))).toMatchObject({ editable: false, deployBlocked: "deploy is not possible while torn_down" });
  });

  it("a viewer edits nothing and deploys nothing", () => {
    expect(editorView(state("pending", "viewer"))).toMatchObject({ editable: false, readOnly: VIEWER, deployBlocked: "viewers cannot deploy" });
  });
});
