import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { targetOf } from "../model/issues";

export function ProblemsPanel({ view }: { view: EditorView }) {
  const select = useStore((s) => s.select);
  const stage = useStore((s) => s.stage);
  const issues = view.allIssues;
  const errors = issues.filter((i) => (i.severity ?? "error") === "error").length;
  return (
    <section className="problems" data-testid="problems">
      <h3>
        Problems <span className={errors ? "tag red" : "tag green"}>{errors ? `${errors} error${errors > 1 ? "s" : ""}` : "none"}</span>
        {issues.length > errors && <span className="tag amber">{issues.length - errors} warnings</span>}
      </h3>
      <ul>
        {issues.map((issue, i) => {
          const target = targetOf(issue.path, view.projection.topology, stage);
          const key = target.kind === "topology" || !target.name ? null : `${target.kind}:${target.name}`;
          return (
            <li key={i} className={`sev-${issue.severity ?? "error"}`} data-testid="problem" data-code={issue.code}>
              <button type="button" className="link" disabled={!key} onClick={() => key && select(key)}>
                <b>{issue.code}</b> <code>{issue.path}</code>
              </button>
              <div>{issue.message}</div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
