import { type EdgeProps } from "@xyflow/react";
import { memo } from "react";
import { memberPath } from "../model/edgePath";
import type { MemberEdge as MemberEdgeType } from "../model/graph";

/** A membership line (model/edgePath.ts) with its address as plain SVG text: nothing to measure,
 * so every line keeps its label however large the maze. */
function MemberEdgeView({ id, sourceX, sourceY, targetX, targetY, data, markerEnd, style }: EdgeProps<MemberEdgeType>) {
  if (!data) return null;
  const { path, labelX, labelY } = memberPath(sourceX, sourceY, targetX, targetY, data);
  return (
    <g data-testid={`edge-${id}`}>
      <path d={path} className="react-flow__edge-path" markerEnd={markerEnd} style={style} fill="none" />
      <path d={path} className="react-flow__edge-interaction" fill="none" strokeOpacity={0} strokeWidth={12} />
      {data.label && data.index < 2 && (
        <text x={labelX} y={labelY} className="member-label">
          {data.label}
        </text>
      )}
    </g>
  );
}

export const MemberEdge = memo(MemberEdgeView);
