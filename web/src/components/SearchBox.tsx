import { useReactFlow } from "@xyflow/react";
import { useState } from "react";
import { type Match, search } from "../model/search";
import { centreOf } from "../model/viewport";
import { useStore } from "../store";
import type { EditorView } from "../store/view";

/** Find a decky (name, address, service) or a LAN (name, subnet): picking one selects it and
 * centres the canvas on it. Ctrl+F focuses it. */
export function SearchBox({ view }: { view: EditorView }) {
  const select = useStore((s) => s.select);
  const { setCenter, getZoom } = useReactFlow();
  const [query, setQuery] = useState("");
  const t = view.projection.topology;
  const matches = search(t, query);
  const pick = (m: Match | undefined): void => {
    if (!m) return;
    select(m.key);
    const at = centreOf(view.layout, t, m.key);
    if (at) void setCenter(at.x, at.y, { zoom: Math.max(getZoom(), 1), duration: 250 });
    setQuery("");
  };
  return (
    <div className="search" role="search">
      <input
        type="search"
        value={query}
        placeholder="find a decky, IP, service or LAN (Ctrl+F)"
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") pick(matches[0]);
          if (e.key === "Escape") setQuery("");
        }}
        data-testid="search"
        aria-label="find on the canvas"
      />
      {query.trim() && (
        <ul className="search-results" data-testid="search-results">
          {matches.length === 0 && <li className="none">nothing matches</li>}
          {matches.map((m) => (
            <li key={m.key}>
              <button type="button" className="link" onClick={() => pick(m)} data-testid="search-result" data-key={m.key}>
                <b>{m.label}</b> <small>{m.detail}</small>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
