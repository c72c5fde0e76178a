import type { Attacker } from "../api/types";
import { minute } from "../model/activity";
import { useStore } from "../store";

function Row({ a, chosen }: { a: Attacker; chosen: boolean }) {
  const choose = useStore((s) => s.chooseSource);
  const deckies = new Set(a.path.map((p) => p.decky)).size;
  return (
    <tr className={chosen ? "chosen" : undefined} data-src-ip={a.src_ip} onClick={() => choose(chosen ? null : a.src_ip)} aria-selected={chosen}>
      <td className="ip">{a.src_ip}</td>
      <td title={a.first_seen}>{minute(a.first_seen)}</td>
      <td title={a.last_seen}>{minute(a.last_seen)}</td>
      <td>{a.events}</td>
      <td>{deckies}</td>
      <td>
        {a.logins}/{a.logins_succeeded}
      </td>
    </tr>
  );
}

/** One row per source that attacked the topology in the window; choosing one draws its path. */
export function AttackersPanel() {
  const attackers = useStore((s) => s.attackers);
  const source = useStore((s) => s.source);
  return (
    <section className="attackers" aria-label="attackers">
      <h3>
        Attackers <small>{attackers ? attackers.length : "…"}</small>
      </h3>
      <div className="attackers-list">
        <table data-testid="attackers">
          <thead>
            <tr>
              <th>source</th>
              <th>first</th>
              <th>last</th>
              <th title="attack events in the window">events</th>
              <th title="deckies touched">deckies</th>
              <th title="logins tried / succeeded">logins</th>
            </tr>
          </thead>
          <tbody>
            {(attackers ?? []).map((a) => (
              <Row key={a.src_ip} a={a} chosen={a.src_ip === source} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
