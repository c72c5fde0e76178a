import { sessionWarnings } from "../model/review";
import { useStore } from "../store";
import { currentPlan } from "../store/editor";

export function ReviewDialog() {
  // A plan of an earlier stage (an undo or a new edit since) is not shown: it is being redone.
  const plan = useStore(currentPlan);
  const stage = useStore((s) => s.stage);
  const busy = useStore((s) => s.busy);
  const { apply, closeReview } = useStore.getState();
  const p = plan?.plan;
  const warnings = sessionWarnings(p);
  return (
    <div className="modal-backdrop" onClick={closeReview}>
      <div className="modal wide" role="dialog" aria-label="Review the change" onClick={(e) => e.stopPropagation()} data-testid="review-dialog">
        <h2>Review: {stage.entries.length} staged edit{stage.entries.length === 1 ? "" : "s"}, one batch</h2>
        <ol className="staged-list">
          {stage.entries.map((e) => (
            <li key={e.id}>{e.label}</li>
          ))}
        </ol>
        {!plan && <p>Computing the plan…</p>}
        {plan && !plan.valid && (
          <div className="notice notice-error stacked">
            The change is invalid; nothing can be applied:
            <ul>
              {plan.issues.map((i, n) => (
                <li key={n} title={`${i.code} at ${i.path}`}>
                  {i.message}
                </li>
              ))}
            </ul>
          </div>
        )}
        {warnings.length > 0 && (
          <div className="notice notice-warning stacked" data-testid="session-warning">
            <b>Intruders' sessions drop:</b>
            <ul>
              {warnings.map((w) => (
                <li key={w.decky} data-decky={w.decky}>
                  {w.text}
                </li>
              ))}
            </ul>
          </div>
        )}
        {p && (
          <div className="plan" data-testid="plan">
            <h3>On {plan?.topology}'s host (computed on version {p.version})</h3>
            <table>
              <tbody>
                {(p.containers ?? []).map((c) => (
                  <tr key={c.container} className={`action-${c.action}`} data-testid="plan-container" data-action={c.action}>
                    <td>{c.action}</td>
                    <td>container</td>
                    <td>
                      <code>{c.container}</code>
                    </td>
                    <td>{(c.reasons ?? []).join(", ")}</td>
                  </tr>
                ))}
                {(p.networks ?? []).map((n) => (
                  <tr key={n.network} className={`action-${n.action}`} data-testid="plan-network" data-action={n.action}>
                    <td>{n.action}</td>
                    <td>network</td>
                    <td>
                      <code>{n.network}</code>
                    </td>
                    <td>LAN {n.lan}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <p data-testid="plan-unchanged">{p.unchanged ?? 0} containers unchanged (same ids before and after).</p>
            {(p.notes ?? []).map((n, i) => (
              <p key={i} className="note">
                {n}
              </p>
            ))}
          </div>
        )}
        <div className="modal-actions">
          <button type="button" onClick={closeReview}>
            Back
          </button>
          <button type="button" className="primary" disabled={!plan?.valid || busy} onClick={() => void apply()} data-testid="review-apply">
            Apply as one batch
          </button>
        </div>
      </div>
    </div>
  );
}
