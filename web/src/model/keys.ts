// The editor's keyboard: Delete removes the selection, Esc cancels (closes the review, drops
// the selection), Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo and redo the stage, Ctrl+S reviews a
// live stage and, with the review open, applies it. Keys typed into a form field are the field's.
export type KeyAction = "delete" | "cancel" | "undo" | "redo" | "save" | null;

export interface KeyInput {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  inField: boolean;
}

export function keyAction(e: KeyInput): KeyAction {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (mod && key === "s") return "save";
  if (e.key === "Escape") return "cancel";
  if (e.inField) return null;
  if (mod && key === "z") return e.shiftKey ? "redo" : "undo";
  if (mod && key === "y") return "redo";
  if (!mod && (e.key === "Delete" || e.key === "Backspace")) return "delete";
  return null;
}
