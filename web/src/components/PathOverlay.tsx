import { ViewportPortal } from "@xyflow/react";
import { useStore } from "../store";
import { activityView } from "../store/activityView";

/** The chosen source's path over the canvas (flow coordinates): a line through the deckies it
 * touched, in order, each numbered. It takes no pointer events: the cards stay usable. */
export function PathOverlay() {
  const points = useStore((s) => activityView(s).points);
  const source = useStore((s) => s.source);
  if (!source || points.length === 0) return null;
  const line = points.map((p) => `${p.x},${p.y}`).join(" ");
  return (
    <ViewportPortal>
      <svg className="attack-path" data-testid="attack-path" data-src-ip={source} data-deckies={points.map((p) => p.decky).join(" ")}>
        <defs>
          <marker id="attack-arrow" viewBox="0 0 10 10" refX="16" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" />
          </marker>
        </defs>
        <polyline points={line} markerMid="url(#attack-arrow)" markerEnd="url(#attack-arrow)" />
        {points.map((p) => (
          <g key={p.n} transform={`translate(${p.x},${p.y})`} data-testid={`path-point-${p.n}`} data-decky={p.decky}>
            <circle r="10" />
            <text textAnchor="middle" dy="4">
              {p.n}
            </text>
          </g>
        ))}
      </svg>
    </ViewportPortal>
  );
}
