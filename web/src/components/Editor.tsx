import { ReactFlowProvider } from "@xyflow/react";
import { useEffect } from "react";
import { deckyKey, lanKey } from "../model/elementKey";
import { layoutBody } from "../model/layout";
import { useStore } from "../store";
import { editorView } from "../store/view";
import { ActivityDock } from "./ActivityDock";
import { Banners, Notice } from "./Banners";
import { Canvas } from "./Canvas";
import { Inspector } from "./Inspector";
import { Palette } from "./Palette";
import { ProblemsPanel } from "./ProblemsPanel";
import { ReviewDialog } from "./ReviewDialog";
import { Toolbar } from "./Toolbar";
import { useEditorKeys } from "./useEditorKeys";

/** Generated topologies have no coordinates: the auto-layout's positions are saved once
 * through the layout route (cosmetic: no version bump), so they stay put from then on. */
function usePersistLayout(): void {
  const view = useStore(editorView);
  const saveLayout = useStore((s) => s.saveLayout);
  useEffect(() => {
    if (!view?.editable) return;
    const body = layoutBody(view.layout);
    const stored = (key: string): boolean => !view.projection.marks.has(key);
    const lans = Object.fromEntries(Object.entries(body.lans).filter(([n]) => stored(lanKey(n))));
    const deckies = Object.fromEntries(Object.entries(body.deckies).filter(([n]) => stored(deckyKey(n))));
    if (Object.keys(lans).length || Object.keys(deckies).length) void saveLayout({ lans, deckies });
  }, [view, saveLayout]);
}

export function Editor({ name }: { name: string }) {
  const openEditor = useStore((s) => s.openEditor);
  const closeEditor = useStore((s) => s.closeEditor);
  const view = useStore(editorView);
  const reviewOpen = useStore((s) => s.reviewOpen);
  useEditorKeys();
  usePersistLayout();

  useEffect(() => {
    void openEditor(name);
    return closeEditor;
  }, [name, openEditor, closeEditor]);

  if (!view) {
    return (
      <main className="editor loading">
        <Notice />
        <p>Opening {name}…</p>
      </main>
    );
  }
  return (
    <ReactFlowProvider>
      <main className={view.live ? "editor live" : "editor"} data-testid="editor" data-live={view.live}>
        <Toolbar view={view} />
        <div className="editor-body">
          <Palette readOnly={view.readOnly} hasDmz={view.hasDmz} />
          <div className="canvas-column">
            <Canvas view={view} />
            <Banners view={view} />
            <ActivityDock topology={view.projection.topology.name} />
          </div>
          <aside className="side">
            <Inspector view={view} />
            <ProblemsPanel view={view} />
          </aside>
        </div>
        {reviewOpen && <ReviewDialog />}
      </main>
    </ReactFlowProvider>
  );
}
