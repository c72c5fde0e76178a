import { Handle, type NodeProps, Position } from "@xyflow/react";
import { memo } from "react";
import { serviceKey } from "../model/elementKey";
import type { DeckyNode as DeckyNodeType, ServiceChip } from "../model/graph";
import { clock } from "../model/activity";
import { tooltip } from "../model/issues";
import { useStore } from "../store";
import { activityView } from "../store/activityView";

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

/** The card's attacks in the window: nothing on a quiet decky; a count, the time of the last
 * one, and a pulse restarted by each new one (keyed on its id) on an attacked one. */
function Attacks({ name, count, pulse }: { name: string; count: number; pulse: number | undefined }) {
  const last = useStore((s) => activityView(s).activity.last[name]);
  if (!count) return null;
  return (
    <span className="attacks" title={last ? `${count} attack events; the last at ${last}` : undefined} data-testid={`attacks-${name}`}>
      {pulse !== undefined && <span key={pulse} className="pulse" data-testid={`pulse-${name}`} data-pulse={pulse} />}⚡ {count}
      {last && <small> {clock(last)}</small>}
    </span>
  );
}

function DeckyNodeView({ data }: NodeProps<DeckyNodeType>) {
  const { decky, ip, mark, issues, chips, badges, state, editable } = data;
  const count = useStore((s) => activityView(s).activity.counts[decky.name] ?? 0);
  const pulse = useStore((s) => activityView(s).activity.pulse[decky.name]);
  const step = useStore((s) => activityView(s).steps[decky.name]);
  const classes = ["decky-card", mark ? `staged staged-${mark}` : "", issues.length ? "has-issues" : "", count ? "attacked" : "", step ? "on-path" : ""];
  const shown = chips.slice(0, CHIPS);
  return (
    <div
      className={classes.filter(Boolean).join(" ")}
      title={issues.length ? tooltip(issues) : undefined}
      data-testid={`decky-${decky.name}`}
      data-issue-codes={issues.map((i) => i.issue.code).join(" ") || undefined}
      data-state={state?.state}
      data-activity={count}
      data-path-step={step}
    >
      {step !== undefined && (
        <span className="path-step" data-testid={`step-${decky.name}`}>
          {step}
        </span>
      )}
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
        <Attacks name={decky.name} count={count} pulse={pulse} />
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
