import { Handle, type NodeProps, NodeResizer, Position, useConnection } from "@xyflow/react";
import { memo } from "react";
import { lanKey } from "../model/elementKey";
import type { LanNode as LanNodeType } from "../model/graph";
import { tooltip } from "../model/issues";
import { resizedBox } from "../model/layout";
import { plural } from "../model/words";
import { useStore } from "../store";
import { activityView } from "../store/activityView";
import { MIN_LAN } from "./canvasEvents";

const MARK_WORDS = { removed: "to remove", added: "new", changed: "changed" } as const;

/** Whether a card's handle is being dragged over this box (the whole box takes the drop). */
function useDropTarget(id: string, box: { x: number; y: number; w: number; h: number }): boolean {
  return useConnection((c) => {
    if (!c.inProgress || c.fromNode.type !== "decky" || c.fromNode.parentId === id || !c.to) return false;
    const { x, y } = c.to;
    return x >= box.x && y >= box.y && x <= box.x + box.w && y <= box.y + box.h;
  });
}

function LanNodeView({ data, selected, positionAbsoluteX, positionAbsoluteY, width, height }: NodeProps<LanNodeType>) {
  const { lan, mark, issues, deckies, editable } = data;
  const moveElement = useStore((s) => s.moveElement);
  const attacks = useStore((s) => activityView(s).lans[lan.name] ?? 0);
  const over = useDropTarget(lanKey(lan.name), { x: positionAbsoluteX, y: positionAbsoluteY, w: width ?? 0, h: height ?? 0 });
  // The canvas only previews a resize; its end is what the layout route stores.
  const onResizeEnd = (_e: unknown, r: { x: number; y: number; width: number; height: number }): void =>
    void moveElement("lan", lan.name, resizedBox(r, MIN_LAN));
  const classes = ["lan-box", lan.is_dmz ? "dmz" : "", mark ? `staged staged-${mark}` : "", issues.length ? "has-issues" : "", over ? "drop-target" : ""];
  return (
    <div
      className={classes.filter(Boolean).join(" ")}
      title={issues.length ? tooltip(issues) : undefined}
      data-testid={`lan-${lan.name}`}
      data-issue-codes={issues.map((i) => i.issue.code).join(" ") || undefined}
      data-activity={attacks}
    >
      {editable && <NodeResizer isVisible={selected} minWidth={MIN_LAN.w} minHeight={MIN_LAN.h} lineClassName="resize-line" handleClassName="resize-handle" onResizeEnd={onResizeEnd} />}
      <Handle type="target" id="attach" position={Position.Bottom} className="attach-handle" isConnectable={editable} />
      <Handle type="target" id="attach-top" position={Position.Top} className="attach-handle" isConnectable={editable} />
      <div className="lan-head">
        <span className="lan-name" title={lan.name}>
          {lan.name}
        </span>
        {lan.is_dmz && <span className="tag dmz-tag">DMZ</span>}
        <span className="lan-subnet" title={lan.subnet ?? "the subnet is allocated when the LAN is saved"}>
          {lan.subnet ?? "subnet on save"}
        </span>
        <span className="lan-count">{plural(deckies, "decky")}</span>
        {attacks > 0 && (
          <span className="lan-attacks" title={`${attacks} attack events on its deckies in the window`} data-testid={`lan-attacks-${lan.name}`}>
            ⚡ {attacks}
          </span>
        )}
        {issues.length > 0 && (
          <span className="issue-badge" data-testid={`issues-lan-${lan.name}`}>
            ⚠ {issues.length}
          </span>
        )}
        {mark && <span className="tag amber">{MARK_WORDS[mark]}</span>}
      </div>
    </div>
  );
}

export const LanNode = memo(LanNodeView);
