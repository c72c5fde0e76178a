import { Handle, type NodeProps, Position } from "@xyflow/react";
import { memo } from "react";
import type { DeckyNode as DeckyNodeType } from "../model/graph";
import { serviceKey } from "../model/elementKey";
import { tooltip } from "../model/issues";
import { useStore } from "../store";

const CHIPS = 5;

function DeckyNodeView({ data }: NodeProps<DeckyNodeType>) {
  const { decky, mark, issues, chips, badges, state, editable } = data;
  const select = useStore((s) => s.select);
  const classes = ["decky-card", mark ? `staged staged-${mark}` : "", issues.length ? "has-issues" : ""];
  const shown = chips.slice(0, CHIPS);
  return (
    <div
      className={classes.filter(Boolean).join(" ")}
      title={issues.length ? tooltip(issues) : undefined}
      data-testid={`decky-${decky.name}`}
      data-issue-codes={issues.map((i) => i.issue.code).join(" ") || undefined}
      data-state={state?.state}
    >
      <div className="decky-head">
        {state && <span className={`dot dot-${state.state}`} title={state.why} data-testid={`dot-${decky.name}`} />}
        <span className="decky-name">{decky.name}</span>
        {issues.length > 0 && <span className="issue-badge">⚠ {issues.length}</span>}
        {mark && <span className="tag amber">{mark === "removed" ? "to remove" : mark === "added" ? "new" : "changed"}</span>}
      </div>
      <div className="decky-badges">
        {badges.map((b) => (
          <span key={b} className={`badge badge-${b}`}>
            {b}
          </span>
        ))}
        {decky.archetype && <span className="archetype">{decky.archetype}</span>}
      </div>
      <div className="chips">
        {shown.map((c) => (
          <button
            type="button"
            key={c.name}
            className={c.issues.length ? "chip has-issues" : "chip"}
            title={c.issues.length ? tooltip(c.issues) : c.name}
            onClick={(e) => {
              e.stopPropagation();
              select(serviceKey(decky.name, c.name));
            }}
          >
            {c.name}
          </button>
        ))}
        {chips.length > CHIPS && <span className="chip more">+{chips.length - CHIPS}</span>}
      </div>
      <Handle
        type="source"
        id="member"
        position={Position.Top}
        className="member-handle"
        isConnectable={editable}
        title="drag onto another LAN to attach (bridge)"
      />
    </div>
  );
}

export const DeckyNode = memo(DeckyNodeView);
