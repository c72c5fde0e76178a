import { useEffect } from "react";
import * as build from "../model/builders";
import { parseKey } from "../model/elementKey";
import { type KeyAction, keyAction } from "../model/keys";
import { type AppState, useStore } from "../store";
import { selectedKey } from "../store/editor";
import { type EditorView, editorView } from "../store/view";

function inField(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** Delete of the selection: one edit, however many elements are selected. */
function removeSelection(s: AppState, view: EditorView): void {
  const t = view.projection.topology;
  const refs = s.selection.map(parseKey);
  const only = parseKey(selectedKey(s));
  if (refs.length === 1 && only?.kind === "service") {
    void s.edit(build.removeService(t, only.decky, only.service));
    return;
  }
  const names = (kind: "lan" | "decky") => refs.flatMap((r) => (r?.kind === kind ? [r.name] : []));
  void s.edit(build.removeAll(t, names("decky"), names("lan")));
}

function perform(action: Exclude<KeyAction, null>, s: AppState, view: EditorView): void {
  switch (action) {
    case "cancel":
      if (s.reviewOpen) s.closeReview();
      else s.select(null);
      return;
    case "undo":
      return s.undo();
    case "redo":
      return s.redo();
    case "save":
      // Opens the review; only its own button applies what it shows.
      if (view.live && s.stage.entries.length && !s.reviewOpen) void s.review();
      return;
    case "selectAll":
      return s.selectAll();
    case "copy":
      return s.copySelection();
    case "paste":
      if (view.editable) void s.pasteClipboard();
      return;
    case "find":
      document.querySelector<HTMLInputElement>("[data-testid=search]")?.focus();
      return;
    case "delete":
      if (view.editable && s.selection.length) removeSelection(s, view);
  }
}

/** The editor's keys (model/keys.ts). */
export function useEditorKeys(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const action = keyAction({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, shiftKey: e.shiftKey, inField: inField(e.target) });
      const s = useStore.getState();
      const view = editorView(s);
      if (!action || !view) return;
      e.preventDefault();
      perform(action, s, view);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
