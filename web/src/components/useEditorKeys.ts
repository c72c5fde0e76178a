import { useEffect } from "react";
import * as build from "../model/builders";
import { parseKey } from "../model/elementKey";
import { keyAction } from "../model/keys";
import { useStore } from "../store";
import { editorView } from "../store/view";

function inField(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** Delete, Esc, Ctrl+Z / Ctrl+Shift+Z, Ctrl+S (model/keys.ts). */
export function useEditorKeys(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const action = keyAction({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, shiftKey: e.shiftKey, inField: inField(e.target) });
      if (!action) return;
      const s = useStore.getState();
      const view = editorView(s);
      if (!view) return;
      e.preventDefault();
      if (action === "cancel") {
        if (s.reviewOpen) s.closeReview();
        else s.select(null);
      } else if (action === "undo") s.undo();
      else if (action === "redo") s.redo();
      else if (action === "save") {
        // Opens the review; only its own button applies what it shows.
        if (view.live && s.stage.entries.length && !s.reviewOpen) void s.review();
      } else if (action === "delete" && view.editable) {
        const ref = parseKey(s.selected);
        const t = view.projection.topology;
        if (ref?.kind === "service") void s.edit(build.removeService(t, ref.decky, ref.service));
        else if (ref) void s.edit(build.remove(t, ref.kind, ref.name));
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
