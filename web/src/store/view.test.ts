import { describe, expect, it } from "vitest";
import type { Actions, Status } from "../api/types";
import { ALL_ALLOWED, catalog, topology } from "../model/fixtures";
import { emptyStage } from "../model/stage";
import type { AppState } from "./index";
import { editorView, VIEWER } from "./view";

const state = (status: Status, role = "admin", actions: Actions = ALL_ALLOWED): AppState =>
  ({
    topology: topology({ status, actions }),
    catalog,
    stage: emptyStage,
    sent: [],
    storedIssues: [],
    check: null,
    finding: null,
    hosts: {},
    mutations: {},
    applying: null,
    principal: { token_id: "1", name: "ops", role },
  }) as unknown as AppState;

const refusing = (action: keyof Actions, reason: string): Actions => ({ ...ALL_ALLOWED, [action]: { allowed: false, reason } });

describe("editorView", () => {
  it("an admin edits a topology whose verdict allows editing", () => {
    for (const status of ["pending", "active", "degraded"] as Status[]) {
      expect(editorView(state(status))).toMatchObject({ editable: true, readOnly: null });
    }
  });

  it("a refused edit or deploy shows the server's reason", () => {
    const running = refusing("edit", "a deploy is running: changes wait until it ends");
    expect(editorView(state("deploying", "admin", running))).toMatchObject({ editable: false, readOnly: expect.stringContaining("deploy is running") });
    const tornDown = refusing("deploy", "it was torn down: deploy a copy of it under a new name");
    expect(editorView(state("torn_down", "admin", tornDown))).toMatchObject({ deployBlocked: expect.stringContaining("deploy a copy") });
  });

  it("a viewer edits nothing and deploys nothing", () => {
    expect(editorView(state("pending", "viewer"))).toMatchObject({ editable: false, readOnly: VIEWER, deployBlocked: "viewers cannot deploy" });
  });
});
