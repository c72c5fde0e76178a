import { useReactFlow } from "@xyflow/react";
import { useMemo, useState } from "react";
import { type AttackEvent, clock, describe, filterFeed, filterOptions, kindOf, visibleRows } from "../model/activity";
import { deckyKey } from "../model/elementKey";
import { centreOf } from "../model/viewport";
import { useStore } from "../store";
import { editorView } from "../store/view";

const ROW = 26;
const HEIGHT = 220;

function Filters({ feed }: { feed: AttackEvent[] }) {
  const filter = useStore((s) => s.feedFilter);
  const setFilter = useStore((s) => s.setFeedFilter);
  const options = useMemo(() => filterOptions(feed), [feed]);
  const choice = (key: "type" | "service" | "decky", all: string, values: string[]) => (
    <select value={filter[key]} onChange={(e) => setFilter({ [key]: e.target.value })} data-testid={`feed-${key}`} aria-label={`only this ${key}`}>
      <option value="">{all}</option>
      {values.map((v) => (
        <option key={v} value={v}>
          {v}
        </option>
      ))}
    </select>
  );
  return (
    <div className="feed-filters">
      {choice("type", "every type", options.types)}
      {choice("service", "every service", options.services)}
      {choice("decky", "every decky", options.deckies)}
      <input
        type="search"
        value={filter.source}
        placeholder="source IP"
        onChange={(e) => setFilter({ source: e.target.value })}
        data-testid="feed-source"
        aria-label="only this source"
      />
    </div>
  );
}

/** Select a decky and bring its card into view (the canvas may hold 1,000). */
function useFocusDecky(): (decky: string) => void {
  const select = useStore((s) => s.select);
  const view = useStore(editorView);
  const { setCenter, getZoom } = useReactFlow();
  return (decky) => {
    const key = deckyKey(decky);
    select(key);
    const at = view ? centreOf(view.layout, view.projection.topology, key) : null;
    if (at) void setCenter(at.x, at.y, { zoom: Math.max(getZoom(), 0.8), duration: 250 });
  };
}

function Row({ ev, top, focus }: { ev: AttackEvent; top: number; focus: (decky: string) => void }) {
  const p = ev.payload;
  return (
    <button
      type="button"
      className={`feed-row kind-${kindOf(ev.type)}`}
      style={{ top, height: ROW }}
      data-event-id={ev.id}
      data-decky={p.decky}
      title={`${p.observed_at} ${p.src_ip}${p.src_port != null ? `:${p.src_port}` : ""} → ${p.decky} (${p.service}): ${describe(ev)}`}
      onClick={() => focus(p.decky)}
    >
      <span className="t">{clock(p.observed_at)}</span>
      <span className="d">{p.decky}</span>
      <span className="s">{p.src_ip}</span>
      <span className="w">{describe(ev)}</span>
    </button>
  );
}

/** The window's attack events, newest first; only the rows in view are rendered. Clicking one
 * selects its decky and centres the canvas on it. */
export function ActivityFeed() {
  const feed = useStore((s) => s.activity.feed);
  const filter = useStore((s) => s.feedFilter);
  const shown = useMemo(() => filterFeed(feed, filter), [feed, filter]);
  const [scrollTop, setScrollTop] = useState(0);
  const focus = useFocusDecky();
  const [first, end] = visibleRows(scrollTop, HEIGHT, ROW, shown.length);
  return (
    <section className="feed" aria-label="activity">
      <h3>
        Activity <small>{shown.length === feed.length ? feed.length : `${shown.length} of ${feed.length}`}</small>
      </h3>
      <Filters feed={feed} />
      <div className="feed-list" style={{ height: HEIGHT }} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} data-testid="activity-feed" data-count={shown.length}>
        <div style={{ height: shown.length * ROW, position: "relative" }}>
          {shown.slice(first, end).map((ev, i) => (
            <Row key={ev.id} ev={ev} top={(first + i) * ROW} focus={focus} />
          ))}
        </div>
      </div>
    </section>
  );
}
