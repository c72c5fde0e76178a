// The stage: edits waiting to be sent as one batch. On a live topology every user action adds
// an entry (one or more ops) until Apply sends them all as one atomic batch; Undo/Redo move
// entries between the stage and the redo list. On a pending topology each action is sent at
// once; an action the server refuses stays here as a draft, shown with its issues, until it is
// fixed or discarded. Pure: every function returns a new stage.
import type { DeckyCanvas, LanCanvas, Op } from "./ops";

export interface StageEntry {
  id: number;
  label: string;
  ops: Op[];
}

export interface Stage {
  entries: StageEntry[];
  undone: StageEntry[];
  nextId: number;
}

export const emptyStage: Stage = { entries: [], undone: [], nextId: 1 };

export function stageOps(stage: Stage, ops: Op[], label: string): Stage {
  if (ops.length === 0) return stage;
  const entry: StageEntry = { id: stage.nextId, label, ops };
  return { entries: [...stage.entries, entry], undone: [], nextId: stage.nextId + 1 };
}

export function undo(stage: Stage): Stage {
  const last = stage.entries.at(-1);
  if (!last) return stage;
  return { ...stage, entries: stage.entries.slice(0, -1), undone: [...stage.undone, last] };
}

export function redo(stage: Stage): Stage {
  const next = stage.undone.at(-1);
  if (!next) return stage;
  return { ...stage, entries: [...stage.entries, next], undone: stage.undone.slice(0, -1) };
}

export function discard(stage: Stage): Stage {
  return { ...emptyStage, nextId: stage.nextId };
}

export function dropEntry(stage: Stage, id: number): Stage {
  return { ...stage, entries: stage.entries.filter((e) => e.id !== id) };
}

/** The one batch Apply sends: every staged op, in the order they were staged. */
export function batchOf(stage: Stage): Op[] {
  return stage.entries.flatMap((e) => e.ops);
}

/** The stage entry and op an issue path `ops[N]…` of the batch points at. */
export function entryOfOp(stage: Stage, index: number): { entry: StageEntry; op: Op } | null {
  let base = 0;
  for (const entry of stage.entries) {
    if (index < base + entry.ops.length) {
      const op = entry.ops[index - base];
      return op ? { entry, op } : null;
    }
    base += entry.ops.length;
  }
  return null;
}

export const canUndo = (stage: Stage): boolean => stage.entries.length > 0;
export const canRedo = (stage: Stage): boolean => stage.undone.length > 0;

/** Moving an element the stage adds edits its `add_*` op (it has no row the layout route could
 * move yet); returns null when no staged op adds it. */
export function amendCanvas(
  stage: Stage,
  kind: "lan" | "decky",
  name: string,
  canvas: LanCanvas | DeckyCanvas,
): Stage | null {
  const want = kind === "lan" ? "add_lan" : "add_decky";
  let found = false;
  const entries = stage.entries.map((entry) => ({
    ...entry,
    ops: entry.ops.map((op) => {
      if (op.op !== want || op.name !== name) return op;
      found = true;
      return { ...op, canvas: { ...(op.canvas ?? {}), ...canvas } };
    }),
  }));
  return found ? { ...stage, entries } : null;
}
