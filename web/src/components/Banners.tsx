import { workNow } from "../model/live";
import { useStore } from "../store";
import type { EditorView } from "../store/view";

/** The outcome of the last action (applied, refused, failed), until dismissed or replaced. */
export function Notice() {
  const notice = useStore((s) => s.notice);
  const setNotice = useStore((s) => s.setNotice);
  if (!notice) return null;
  return (
    <div className={`notice notice-${notice.kind}`} role="status" data-testid="notice">
      <span>{notice.text}</span>
      <button type="button" className="link" onClick={() => setNotice(null)} aria-label="dismiss">
        ×
      </button>
    </div>
  );
}

/** What is being done to the topology now, with the host's progress. */
function WorkLine() {
  const t = useStore((s) => s.topology);
  const applying = useStore((s) => s.applying);
  const mutations = useStore((s) => s.mutations);
  const progress = useStore((s) => s.progress);
  const work = t ? workNow(t, applying, mutations, progress) : null;
  if (!work) return null;
  return (
    <span className="work" data-testid="work" role="status">
      <span>
        <b>{work.what}</b>
        {work.phase ? `: ${work.phase}` : ""}
      </span>
      {work.total !== null && (
        <>
          <progress max={work.total} value={work.done ?? 0} data-testid="work-progress" />
          <span data-testid="work-count">
            {work.done} of {work.total}
          </span>
        </>
      )}
    </span>
  );
}

/** The host is not reporting (what runs is unknown): the cause, and a new check. */
function Health({ view }: { view: EditorView }) {
  const checkDrift = useStore((s) => s.checkDrift);
  const admin = useStore((s) => s.principal?.role === "admin");
  if (!view.unknown) return null;
  return (
    <span className="health" data-testid="health" title={view.unknown}>
      ⚠ {view.unknown}
      {admin && (
        <button type="button" className="link" onClick={() => void checkDrift()} data-testid="health-check">
          check again
        </button>
      )}
    </span>
  );
}

/** Lines that come and go (an apply's progress, a notice, a silent host) float over the canvas
 * instead of taking rows above it: the canvas keeps its size, so cards at its edges stay in view
 * and rendered while a change applies. */
export function Banners({ view }: { view: EditorView }) {
  return (
    <div className="banners" data-testid="banners">
      <WorkLine />
      <Health view={view} />
      <Notice />
    </div>
  );
}
