// What the canvas and panels show, derived from the store: the projection of staged edits,
// the issues placed on elements, the layout, the status dots, and what may be done now.
// Memoised on the identity of the inputs, so a 1,000-decky topology is projected once per
// change, not once per render.
import type { Catalog, Issue, TopologyView } from "../api/types";
import { lanKey } from "../model/elementKey";
import { hasErrors, type PlacedIssue, placeProblems, type Problem, problemsOf } from "../model/issues";
import { blockedWhy, isLive } from "../model/lifecycle";
import { type Applying, changingDeckies, type Check, type InFlight, inFlight } from "../model/live";
import { autoLayout, type Layout } from "../model/layout";
import { type Counts, countsOf, project, type Projection } from "../model/project";
import { batchOf, type Stage, type StageEntry } from "../model/stage";
import { type DeckyStatus, type DriftFinding, deckyStates, type HostReport } from "../model/status";
import type { AppState } from "./index";

export interface EditorView {
  projection: Projection;
  layout: Layout;
  issues: Map<string, PlacedIssue[]>;
  allIssues: Issue[];
  /** The issues as the problems panel lists them: where, in words, and what to select. */
  problems: Problem[];
  /** What the header counts: the canvas as drawn. */
  counts: Counts;
  /** The drawn topology has a DMZ (the palette's DMZ is then not offered). */
  hasDmz: boolean;
  /** Why what runs is not known (the host's cause and the fix), when it is not. */
  unknown: string | null;
  states: Map<string, DeckyStatus>;
  live: boolean;
  editable: boolean;
  /** Why nothing can be edited (a viewer, or a status where the design is fixed), or null. */
  readOnly: string | null;
  deployBlocked: string | null;
  teardownBlocked: string | null;
  /** Why the stage cannot be reviewed now, or null. */
  reviewBlocked: string | null;
  /** Our applied change is not finished yet. */
  applying: boolean;
}

interface Inputs {
  topology: TopologyView;
  catalog: Catalog | null;
  stage: Stage;
  sent: StageEntry[];
  storedIssues: Issue[];
  check: Check | null;
  finding: DriftFinding | null;
  hosts: Record<string, HostReport>;
  mutations: Record<string, InFlight>;
  applying: Applying | null;
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

function reviewBlockedBy(i: Inputs, readOnly: string | null): string | null {
  if (readOnly) return readOnly;
  if (!i.stage.entries.length) return "stage an edit first";
  return inFlight(i.applying) ? "a change is being applied" : null;
}

function compute(i: Inputs): EditorView {
  const staged: Stage = { ...i.stage, entries: [...i.sent, ...i.stage.entries] };
  const projection = project(i.topology, batchOf(staged), i.catalog);
  const layout = autoLayout(projection.topology);
  // The check describes the state the stage produces; stored issues the saved design. On a
  // pending topology with drafts the check's list is the whole picture.
  const allIssues = i.stage.entries.length ? (i.check?.issues ?? []) : i.storedIssues;
  const readOnly = readOnlyWhy(i.role, i.topology);
  const problems = problemsOf(allIssues, projection.topology, i.stage);
  const states = deckyStates({ topology: i.topology, finding: i.finding, host: i.hosts[i.topology.host] ?? null, changing: changingDeckies(i.mutations) });
  return {
    projection,
    layout,
    issues: placeProblems(problems),
    allIssues,
    problems,
    counts: countsOf(projection),
    hasDmz: projection.topology.lans.some((l) => l.is_dmz && projection.marks.get(lanKey(l.name)) !== "removed"),
    unknown: [...states.values()].find((s) => s.state === "unknown")?.why ?? null,
    states,
    live: isLive(i.topology),
    editable: readOnly === null,
    readOnly,
    deployBlocked: deployBlockedBy(i, allIssues),
    teardownBlocked: i.role !== "admin" ? VIEWER : blockedWhy(i.topology, "teardown"),
    reviewBlocked: reviewBlockedBy(i, readOnly),
    applying: inFlight(i.applying),
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
    check: s.check,
    finding: s.finding,
    hosts: s.hosts,
    mutations: s.mutations,
    applying: s.applying,
    role: s.principal?.role,
  };
  if (lastInputs && lastView && sameInputs(lastInputs, inputs)) return lastView;
  lastInputs = inputs;
  lastView = compute(inputs);
  return lastView;
}
