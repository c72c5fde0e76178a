import { useState } from "react";
import { canRedo, canUndo } from "../model/stage";
import { plural } from "../model/words";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { Confirm } from "./Confirm";
import { download } from "./download";
import { StatusPill } from "./StatusPill";

function StageBar({ view }: { view: EditorView }) {
  const stage = useStore((s) => s.stage);
  const sent = useStore((s) => s.sent);
  const applying = useStore((s) => s.applying);
  const { undo, redo, review, discard } = useStore.getState();
  const count = stage.entries.length;
  // Apply lives only in the review: nothing is sent without its plan on screen.
  const blocked = view.reviewBlocked ?? undefined;
  return (
    <div className="stagebar" data-testid="stagebar">
      <span className={count ? "tag amber" : "tag"} data-testid="stage-count">
        {count} staged
      </span>
      {view.applying && applying && (
        <span className="tag amber" data-testid="applying">
          {applying.state} {plural(sent.length, "edit")}…
        </span>
      )}
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

function Drafts() {
  const stage = useStore((s) => s.stage);
  const { undo, discard } = useStore.getState();
  if (!stage.entries.length) return null;
  return (
    <div className="stagebar drafts" data-testid="drafts">
      <span className="tag red">{plural(stage.entries.length, "refused edit")}</span>
      <button type="button" onClick={undo}>
        Undo
      </button>
      <button type="button" onClick={discard} data-testid="discard">
        Discard
      </button>
    </div>
  );
}

export function Toolbar({ view }: { view: EditorView }) {
  const t = useStore((s) => s.topology);
  const stream = useStore((s) => s.editorStream);
  const { deployCurrent, teardownCurrent, exportYaml } = useStore.getState();
  const [confirmTeardown, setConfirmTeardown] = useState(false);
  if (!t) return null;
  const deployWhy = view.deployBlocked ?? undefined;
  const teardownWhy = view.teardownBlocked ?? undefined;
  const exportIt = async (): Promise<void> => {
    const text = await exportYaml(t.name);
    if (text !== null) download(`${t.name}.yml`, text, "application/yaml");
  };
  return (
    <div className="toolbar">
      <a href="#/" className="back">
        ← topologies
      </a>
      <h1 data-testid="topology-name">{t.name}</h1>
      <StatusPill status={t.status} />
      <span className="meta">
        v{t.version} · {t.host} · {plural(t.lans.length, "LAN")} · {plural(t.deckies.length, "decky")}
      </span>
      <span className={`stream stream-${stream}`} title="event stream" data-testid="stream">
        {stream === "open" ? "live" : stream}
      </span>
      {view.live ? <StageBar view={view} /> : <Drafts />}
      <span className="spacer" />
      {!view.live && (
        <button type="button" className="primary" disabled={!!deployWhy} title={deployWhy} onClick={() => void deployCurrent()} data-testid="deploy">
          Deploy
        </button>
      )}
      {deployWhy && !view.live && (
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
          <p>Every container and network of {t.name} on {t.host} is removed.</p>
        </Confirm>
      )}
    </div>
  );
}
