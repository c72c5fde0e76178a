// What the canvas and panels show, derived from the store: the projection of staged edits,
// the issues placed on elements, the layout, the status dots, and whether deploy is allowed.
// Memoised on the identity of the inputs, so a 1,000-decky topology is projected once per
// change, not once per render.
import type { Catalog, Issue, TopologyView } from "../api/types";
import { hasErrors, type PlacedIssue, placeIssues } from "../model/issues";
import { blockedWhy } from "../model/lifecycle";
import { autoLayout, type Layout } from "../model/layout";
import { project, type Projection } from "../model/project";
import { batchOf, type Stage, type StageEntry } from "../model/stage";
import { type DeckyState, type DriftFinding, deckyStates } from "../model/status";
import type { AppState } from "./index";
import { isLive } from "./editor";

export interface EditorView {
  projection: Projection;
  layout: Layout;
  issues: Map<string, PlacedIssue[]>;
  allIssues: Issue[];
  states: Map<string, DeckyState>;
  live: boolean;
  editable: boolean;
  /** Why nothing can be edited (a viewer, or a status where the design is fixed), or null. */
  readOnly: string | null;
  deployBlocked: string | null;
}

interface Inputs {
  topology: TopologyView;
  catalog: Catalog | null;
  stage: Stage;
  sent: StageEntry[];
  storedIssues: Issue[];
  batchIssues: Issue[];
  finding: DriftFinding | null;
  role: string | undefined;
}

let lastInputs: Inputs | null = null;
let lastView: EditorView | null = null;

const sameInputs = (a: Inputs, b: Inputs): boolean =>
  (Object.keys(a) as (keyof Inputs)[]).every((k) => a[k] === b[k]);

export const VIEWER = "viewers cannot change anything: sign in with an admin token";

/** Editing needs an admin and a topology whose design may change now (its `actions`). */
export const readOnlyWhy = (role: string | undefined, t: TopologyView): string | null =>
  role !== "admin" ? VIEWER : blockedWhy(t, "edit");

function deployBlockedBy(i: Inputs, issues: Issue[]): string | null {
  const { stage } = i;
  if (i.role !== "admin") return "viewers cannot deploy";
  const status = blockedWhy(i.topology, "deploy");
  if (status) return status;
  if (stage.entries.length) return "edits not applied: fix, undo or discard them first";
  if (hasErrors(issues)) return "the topology has errors: see the problems panel";
  return null;
}

function compute(i: Inputs): EditorView {
  const staged: Stage = { ...i.stage, entries: [...i.sent, ...i.stage.entries] };
  const projection = project(i.topology, batchOf(staged), i.catalog);
  const layout = autoLayout(projection.topology);
  // Batch issues describe the state the stage produces; stored issues the saved design. On a
  // pending topology with drafts the batch's list is the whole picture.
  const allIssues = i.stage.entries.length ? i.batchIssues : i.storedIssues;
  const readOnly = readOnlyWhy(i.role, i.topology);
  return {
    projection,
    layout,
    issues: placeIssues(allIssues, projection.topology, i.stage),
    allIssues,
    states: deckyStates(i.topology, i.finding),
    live: isLive(i.topology),
    editable: readOnly === null,
    readOnly,
    deployBlocked: deployBlockedBy(i, allIssues),
  };
}

export function editorView(s: AppState): EditorView | null {
  if (!s.topology) return null;
  const inputs: Inputs = {
    topology: s.topology,
    catalog: s.catalog,
    stage: s.stage,
    sent: s.sent,
    storedIssues: s.storedIssues,
    batchIssues: s.batchIssues,
    finding: s.finding,
    role: s.principal?.role,
  };
  if (lastInputs && lastView && sameInputs(lastInputs, inputs)) return lastView;
  lastInputs = inputs;
  lastView = compute(inputs);
  return lastView;
}
