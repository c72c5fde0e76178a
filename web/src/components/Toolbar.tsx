import { useState } from "react";
import { canRedoDone, canUndoDone, redoBlocked, undoBlocked } from "../model/history";
import { offersCopy } from "../model/lifecycle";
import { workNow } from "../model/live";
import { canRedo, canUndo } from "../model/stage";
import { plural } from "../model/words";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { Confirm } from "./Confirm";
import { CopyDialog } from "./CopyDialog";
import { download } from "./download";
import { StatusPill } from "./StatusPill";

function StageBar({ view }: { view: EditorView }) {
  const stage = useStore((s) => s.stage);
  const { undo, redo, review, discard } = useStore.getState();
  const count = stage.entries.length;
  // Apply lives only in the review: nothing is sent without its plan on screen.
  const blocked = view.reviewBlocked ?? undefined;
  return (
    <div className="stagebar" data-testid="stagebar">
      <span className={count ? "tag amber" : "tag"} data-testid="stage-count">
        {count} staged
      </span>
      <button type="button" disabled={!canUndo(stage)} onClick={undo} title="Ctrl+Z" data-testid="undo">
        Undo
      </button>
      <button type="button" disabled={!canRedo(stage)} onClick={redo} title="Ctrl+Shift+Z" data-testid="redo">
        Redo
      </button>
      <button type="button" className="primary" disabled={!!blocked} onClick={() => void review()} title={blocked ?? "review the plan, then apply it (Ctrl+S)"} data-testid="review">
        Review &amp; apply…
      </button>
      <button type="button" disabled={count === 0} onClick={discard} data-testid="discard">
        Discard
      </button>
    </div>
  );
}

/** A pending topology: each edit was sent at once; Undo sends its inverse. Refused drafts are
 * undone (dropped) first. */
function PendingBar({ version }: { version: number }) {
  const stage = useStore((s) => s.stage);
  const history = useStore((s) => s.history);
  const { undo, redo, discard } = useStore.getState();
  const drafts = stage.entries.length;
  const undoWhy = drafts ? null : undoBlocked(history, version);
  const redoWhy = canRedo(stage) ? null : redoBlocked(history, version);
  return (
    <div className={drafts ? "stagebar drafts" : "stagebar pending"} data-testid={drafts ? "drafts" : "history"}>
      {drafts > 0 && <span className="tag red">{plural(drafts, "refused edit")}</span>}
      <button type="button" disabled={!!undoWhy} onClick={undo} title={undoWhy ?? `undo ${drafts ? "the refused edit" : history.done.at(-1)?.label} (Ctrl+Z)`} data-testid="undo">
        Undo
      </button>
      <button type="button" disabled={!!redoWhy} onClick={redo} title={redoWhy ?? `redo ${history.undone.at(-1)?.label ?? ""} (Ctrl+Shift+Z)`} data-testid="redo">
        Redo
      </button>
      {drafts > 0 && (
        <button type="button" onClick={discard} data-testid="discard">
          Discard
        </button>
      )}
      {!drafts && !canUndoDone(history) && !canRedoDone(history) && <span className="tag">edits are saved as you make them</span>}
    </div>
  );
}

function Lifecycle({ view, busy }: { view: EditorView; busy: boolean }) {
  const t = useStore((s) => s.topology);
  const admin = useStore((s) => s.principal?.role === "admin");
  const { deployCurrent, teardownCurrent, exportYaml } = useStore.getState();
  const [confirmTeardown, setConfirmTeardown] = useState(false);
  const [copying, setCopying] = useState(false);
  if (!t) return null;
  const deployWhy = view.deployBlocked ?? undefined;
  const teardownWhy = view.teardownBlocked ?? undefined;
  const copy = admin && offersCopy(t);
  const exportIt = async (): Promise<void> => {
    const text = await exportYaml(t.name);
    if (text !== null) download(`${t.name}.yml`, text, "application/yaml");
  };
  return (
    <>
      {copy && (
        <button type="button" className="primary" onClick={() => setCopying(true)} data-testid="deploy-copy" title={deployWhy}>
          Deploy a copy…
        </button>
      )}
      {!view.live && !busy && !copy && (
        <button type="button" className="primary" disabled={!!deployWhy} title={deployWhy} onClick={() => void deployCurrent()} data-testid="deploy">
          Deploy
        </button>
      )}
      {deployWhy && !view.live && !busy && !copy && (
        <span className="why" data-testid="deploy-why">
          {deployWhy}
        </span>
      )}
      <button type="button" disabled={!!teardownWhy} title={teardownWhy} onClick={() => setConfirmTeardown(true)} data-testid="teardown">
        Tear down
      </button>
      <button type="button" onClick={() => void exportIt()}>
        Export YAML
      </button>
      {copying && <CopyDialog name={t.name} onClose={() => setCopying(false)} />}
      {confirmTeardown && (
        <Confirm
          title={`Tear down ${t.name}?`}
          confirm="Tear down"
          danger
          onCancel={() => setConfirmTeardown(false)}
          onConfirm={() => {
            setConfirmTeardown(false);
            void teardownCurrent();
          }}
        >
          <p>
            Every container and network of {t.name} on {t.host} is removed: intruders' sessions end. It can be deployed again as a copy.
          </p>
        </Confirm>
      )}
    </>
  );
}

export function Toolbar({ view }: { view: EditorView }) {
  const t = useStore((s) => s.topology);
  const stream = useStore((s) => s.editorStream);
  const busy = useStore((s) => (s.topology ? workNow(s.topology, s.applying, s.mutations, s.progress) !== null : false));
  if (!t) return null;
  const { lans, deckies, staged } = view.counts;
  return (
    <div className="toolbar">
      <a href="#/" className="back">
        ← topologies
      </a>
      <h1 data-testid="topology-name">{t.name}</h1>
      <StatusPill status={t.status} />
      <span className="meta" data-testid="counts">
        v{t.version} · {t.host} · {plural(lans, "LAN")} · {plural(deckies, "decky")}
        {staged > 0 && ` (${staged} staged)`}
      </span>
      <span className={`stream stream-${stream}`} title="event stream" data-testid="stream">
        {stream === "open" ? "live" : stream}
      </span>
      {view.live ? <StageBar view={view} /> : view.editable && <PendingBar version={t.version} />}
      <span className="spacer" />
      <Lifecycle view={view} busy={busy} />
    </div>
  );
}
