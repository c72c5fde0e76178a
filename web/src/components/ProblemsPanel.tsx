import { useStore } from "../store";
import type { EditorView } from "../store/view";

export function ProblemsPanel({ view }: { view: EditorView }) {
  const select = useStore((s) => s.select);
  const problems = view.problems;
  const errors = problems.filter((p) => (p.issue.severity ?? "error") === "error").length;
  const warnings = problems.length - errors;
  return (
    <section className="problems" data-testid="problems">
      <h3>
        Problems <span className={errors ? "tag red" : "tag green"}>{errors ? `${errors} error${errors > 1 ? "s" : ""}` : "none"}</span>
        {warnings > 0 && <span className="tag amber">{warnings} warnings</span>}
      </h3>
      <ul>
        {problems.map(({ issue, where, key }, i) => (
          <li key={i} className={`sev-${issue.severity ?? "error"}`} data-testid="problem" data-code={issue.code} data-key={key ?? undefined}>
            <button type="button" className="link" disabled={!key} onClick={() => key && select(key)} title={`${issue.code} at ${issue.path}`}>
              <b>{where}</b>
            </button>
            <div>{issue.message}</div>
          </li>
        ))}
      </ul>
    </section>
  );
}
