import { Handle, type NodeProps, NodeResizer, Position } from "@xyflow/react";
import { memo } from "react";
import { tooltip } from "../model/issues";
import type { LanNode as LanNodeType } from "../model/graph";
import { resizedBox } from "../model/layout";
import { useStore } from "../store";
import { MIN_LAN } from "./canvasEvents";

function LanNodeView({ data, selected }: NodeProps<LanNodeType>) {
  const { lan, mark, issues, deckies, editable } = data;
  const moveElement = useStore((s) => s.moveElement);
  // The canvas only previews a resize; its end is what the layout route stores.
  const onResizeEnd = (_e: unknown, r: { x: number; y: number; width: number; height: number }): void =>
    void moveElement("lan", lan.name, resizedBox(r, MIN_LAN));
  const classes = ["lan-box", lan.is_dmz ? "dmz" : "", mark ? `staged staged-${mark}` : "", issues.length ? "has-issues" : ""];
  return (
    <div
      className={classes.filter(Boolean).join(" ")}
      title={issues.length ? tooltip(issues) : undefined}
      data-testid={`lan-${lan.name}`}
      data-issue-codes={issues.map((i) => i.issue.code).join(" ") || undefined}
    >
      {editable && <NodeResizer isVisible={selected} minWidth={MIN_LAN.w} minHeight={MIN_LAN.h} lineClassName="resize-line" handleClassName="resize-handle" onResizeEnd={onResizeEnd} />}
      <Handle type="target" id="attach" position={Position.Bottom} className="attach-handle" isConnectable={editable} />
      <div className="lan-head">
        <span className="lan-name">{lan.name}</span>
        {lan.is_dmz && <span className="tag dmz-tag">DMZ</span>}
        <span className="lan-subnet">{lan.subnet ?? "subnet: allocated on save"}</span>
        <span className="lan-count">{deckies === 1 ? "1 decky" : `${deckies} deckies`}</span>
        {issues.length > 0 && (
          <span className="issue-badge" data-testid={`issues-lan-${lan.name}`}>
            ⚠ {issues.length}
          </span>
        )}
        {mark && <span className="tag amber">{mark === "removed" ? "to remove" : mark === "added" ? "new" : "changed"}</span>}
      </div>
    </div>
  );
}

export const LanNode = memo(LanNodeView);
