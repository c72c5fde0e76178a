import type { DragEvent } from "react";
import { encodeItem, MIME, type PaletteItem } from "../model/drop";
import { groupServices, portsLabel } from "../model/serviceKinds";
import { useStore } from "../store";

/** One draggable palette entry; `readOnly` says why it cannot be dragged now (null: it can). */
function Item({ item, label, detail, readOnly }: { item: PaletteItem; label: string; detail?: string; readOnly: string | null }) {
  const editable = readOnly === null;
  const onDragStart = (e: DragEvent): void => {
    e.dataTransfer.setData(MIME, encodeItem(item));
    e.dataTransfer.effectAllowed = "copy";
  };
  return (
    <div
      className={`palette-item palette-${item.kind}${editable ? "" : " disabled"}`}
      draggable={editable}
      onDragStart={onDragStart}
      title={editable ? `drag onto the canvas${detail ? `: ${detail}` : ""}` : readOnly}
      data-testid={`palette-${item.kind}-${item.name}`}
    >
      <span>{label}</span>
      {detail && <small>{detail}</small>}
    </div>
  );
}

const ONE_DMZ = "the topology has its DMZ: there is exactly one";

export function Palette({ readOnly, hasDmz }: { readOnly: string | null; hasDmz: boolean }) {
  const catalog = useStore((s) => s.catalog);
  const services = catalog ? groupServices(Object.values(catalog.services)) : [];
  const archetypes = catalog ? Object.values(catalog.archetypes) : [];
  return (
    <nav className="palette" aria-label="palette">
      {readOnly && (
        <p className="readonly-note" data-testid="readonly-note">
          Read-only: {readOnly}.
        </p>
      )}
      <h3>Networks</h3>
      <Item item={{ kind: "lan", name: "lan" }} label="LAN" detail="drop on empty canvas" readOnly={readOnly} />
      <Item item={{ kind: "dmz", name: "dmz" }} label="DMZ" detail="the one LAN facing outside" readOnly={readOnly ?? (hasDmz ? ONE_DMZ : null)} />
      <h3>Archetypes</h3>
      <p className="palette-hint">drop onto a LAN</p>
      {archetypes.map((a) => (
        <Item key={a.name} item={{ kind: "archetype", name: a.name }} label={a.name} detail={a.services.join(", ")} readOnly={readOnly} />
      ))}
      <h3>Services</h3>
      <p className="palette-hint">drop onto a decky</p>
      {services.map((g) => (
        <div key={g.kind} className="palette-group">
          <h4>{g.kind}</h4>
          {g.services.map((s) => (
            <Item key={s.name} item={{ kind: "service", name: s.name }} label={s.name} detail={portsLabel(s)} readOnly={readOnly} />
          ))}
        </div>
      ))}
    </nav>
  );
}
