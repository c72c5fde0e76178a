import { Handle, type NodeProps, Position } from "@xyflow/react";
import { memo } from "react";
import { serviceKey } from "../model/elementKey";
import type { DeckyNode as DeckyNodeType, ServiceChip } from "../model/graph";
import { tooltip } from "../model/issues";
import { useStore } from "../store";

const CHIPS = 5;
const MARK_WORDS = { removed: "to remove", added: "new", changed: "changed" } as const;

function Chip({ decky, chip }: { decky: string; chip: ServiceChip }) {
  const select = useStore((s) => s.select);
  const classes = ["chip", chip.issues.length ? "has-issues" : "", chip.removed ? "removed" : ""].filter(Boolean).join(" ");
  const title = chip.removed ? `${chip.name}: to remove (staged)` : chip.issues.length ? tooltip(chip.issues) : chip.name;
  return (
    <button
      type="button"
      className={classes}
      title={title}
      data-testid={`chip-${decky}-${chip.name}`}
      onClick={(e) => {
        e.stopPropagation();
        select(serviceKey(decky, chip.name));
      }}
    >
      {chip.name}
    </button>
  );
}

function DeckyNodeView({ data }: NodeProps<DeckyNodeType>) {
  const { decky, ip, mark, issues, chips, badges, state, editable } = data;
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
        <span className="decky-ip" data-testid={`ip-of-${decky.name}`}>
          {ip ?? "IP on save"}
        </span>
      </div>
      <div className="decky-badges">
        {mark && <span className="tag amber">{MARK_WORDS[mark]}</span>}
        {badges.map((b) => (
          <span key={b} className={`badge badge-${b}`}>
            {b}
          </span>
        ))}
        {decky.archetype && <span className="archetype">{decky.archetype}</span>}
      </div>
      <div className="chips">
        {shown.map((c) => (
          <Chip key={c.name} decky={decky.name} chip={c} />
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
