// What the canvas and the activity panels show of the attacks, derived from the store: per LAN
// totals, the chosen source's path (numbered points, up to the scrubber's time) and timeline.
// Memoised on the identity of the inputs: every card reads its numbers from here, so this
// must be cheap when nothing changed.
import type { Attacker } from "../api/types";
import { type Activity, type AttackEvent, lanTotals, windowStart } from "../model/activity";
import { type PathPoint, pathPoints, scrubTime, stepsOf, stopsOf, timelineOf } from "../model/path";
import type { AppState } from "./index";
import { type EditorView, editorView } from "./view";

export interface ActivityView {
  activity: Activity;
  lans: Record<string, number>;
  /** The chosen source's row (null: none chosen, or not in the window). */
  attacker: Attacker | null;
  /** decky → its number on the chosen source's path. */
  steps: Record<string, number>;
  points: PathPoint[];
  timeline: AttackEvent[];
  /** The scrubber's time (null: the end). */
  until: string | null;
}

interface Inputs {
  activity: Activity;
  view: EditorView | null;
  attackers: Attacker[] | null;
  source: string | null;
  detail: AppState["sourceDetail"];
  scrub: number | null;
}

let lastInputs: Inputs | null = null;
let lastView: ActivityView | null = null;

function compute(i: Inputs): ActivityView {
  const t = i.view?.projection.topology ?? null;
  const homes = new Map((t?.deckies ?? []).map((d) => [d.name, d.home_lan]));
  const attacker = i.attackers?.find((a) => a.src_ip === i.source) ?? null;
  const since = windowStart(i.activity.window, new Date());
  const timeline = t && i.detail?.attacker.src_ip === i.source ? timelineOf(i.detail.sessions, t.name, since) : [];
  const until = scrubTime(timeline, i.scrub);
  const stops = t && attacker ? stopsOf(attacker.path, t.name, until) : [];
  return {
    activity: i.activity,
    lans: lanTotals(i.activity.counts, homes),
    attacker,
    steps: stepsOf(stops),
    points: t && i.view ? pathPoints(stops, i.view.layout, t) : [],
    timeline,
    until,
  };
}

export function activityView(s: AppState): ActivityView {
  const inputs: Inputs = { activity: s.activity, view: editorView(s), attackers: s.attackers, source: s.source, detail: s.sourceDetail, scrub: s.scrub };
  if (lastInputs && lastView && (Object.keys(inputs) as (keyof Inputs)[]).every((k) => lastInputs?.[k] === inputs[k])) return lastView;
  lastInputs = inputs;
  lastView = compute(inputs);
  return lastView;
}
