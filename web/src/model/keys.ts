// The editor's keyboard: Delete removes the selection, Esc cancels (closes the review, drops
// the selection), Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo and redo, Ctrl+S reviews a live stage,
// Ctrl+A selects every element of the canvas (not the page's text), Ctrl+C / Ctrl+V copy and
// paste deckies, Ctrl+F finds an element. Keys typed into a form field are the field's.
export type KeyAction = "delete" | "cancel" | "undo" | "redo" | "save" | "selectAll" | "copy" | "paste" | "find" | null;

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
  if (mod && key === "f") return "find";
  if (e.inField) return null;
  if (mod && key === "z") return e.shiftKey ? "redo" : "undo";
  if (mod && key === "y") return "redo";
  if (mod && key === "a") return "selectAll";
  if (mod && key === "c") return "copy";
  if (mod && key === "v") return "paste";
  if (!mod && (e.key === "Delete" || e.key === "Backspace")) return "delete";
  return null;
}
