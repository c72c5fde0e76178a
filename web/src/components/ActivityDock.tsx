import { WINDOWS } from "../model/activity";
import { useStore } from "../store";
import { ActivityFeed } from "./ActivityFeed";
import { AttackersPanel } from "./AttackersPanel";
import { Timeline } from "./Timeline";

function WindowChoice() {
  const window = useStore((s) => s.activity.window);
  const setWindow = useStore((s) => s.setWindow);
  return (
    <div className="window-choice" role="group" aria-label="time window">
      {WINDOWS.map((w) => (
        <button key={w.value} type="button" aria-pressed={w.value === window} className={w.value === window ? "on" : undefined} onClick={() => setWindow(w.value)} data-testid={`window-${w.value}`}>
          {w.label}
        </button>
      ))}
    </div>
  );
}

/** Under the canvas: the time window, the activity feed, the attackers and the chosen one's
 * timeline; a topology nobody attacked in the window says so. */
export function ActivityDock({ topology }: { topology: string }) {
  const activity = useStore((s) => s.activity);
  const words = WINDOWS.find((w) => w.value === activity.window)?.words ?? "";
  const quiet = activity.loaded && activity.feed.length === 0 && Object.keys(activity.counts).length === 0;
  return (
    <section className="activity-dock" data-testid="activity-dock" data-window={activity.window}>
      <header>
        <h3>Attacks</h3>
        <WindowChoice />
        {quiet && (
          <span className="quiet" data-testid="no-activity">
            No attack on {topology} {words}.
          </span>
        )}
      </header>
      <div className="activity-panels">
        <ActivityFeed />
        <AttackersPanel />
        <Timeline />
      </div>
    </section>
  );
}
