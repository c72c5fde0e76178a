import { clock, describe, kindOf } from "../model/activity";
import { useStore } from "../store";
import { activityView } from "../store/activityView";

/** The chosen source's events on this topology in the window, oldest first; the scrubber
 * replays its path (the canvas shows what it had touched by then). */
export function Timeline() {
  const source = useStore((s) => s.source);
  const { timeline, attacker, until } = useStore(activityView);
  const scrub = useStore((s) => s.scrub);
  const setScrub = useStore((s) => s.setScrub);
  if (!source) {
    return (
      <section className="timeline empty">
        <h3>Timeline</h3>
        <p>Choose an attacker to draw its path on the canvas and see what it did.</p>
      </section>
    );
  }
  const at = scrub ?? timeline.length - 1;
  return (
    <section className="timeline" aria-label="timeline">
      <h3>
        {source} <small>{attacker ? `${attacker.path.length} deckies touched` : "not in this window"}</small>
      </h3>
      {timeline.length > 1 && (
        <label className="scrubber">
          replay{" "}
          <input
            type="range"
            min={0}
            max={timeline.length - 1}
            value={at}
            onChange={(e) => setScrub(Number(e.target.value) >= timeline.length - 1 ? null : Number(e.target.value))}
            data-testid="scrubber"
          />
          <small data-testid="scrub-time">{until ? clock(until) : "now"}</small>
        </label>
      )}
      <ol className="timeline-list" data-testid="timeline">
        {timeline.map((ev, i) => (
          <li key={ev.id} className={`kind-${kindOf(ev.type)}${i > at ? " later" : ""}`} data-event-id={ev.id} data-type={ev.type}>
            <span className="t">{clock(ev.payload.observed_at)}</span> <b>{ev.payload.decky}</b> {describe(ev)}
          </li>
        ))}
      </ol>
    </section>
  );
}
