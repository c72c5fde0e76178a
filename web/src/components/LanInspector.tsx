import type { Lan, TopologyView } from "../api/types";
import * as build from "../model/builders";
import { lanKey } from "../model/elementKey";
import { plural } from "../model/words";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { Field, Issues } from "./InspectorParts";

export function LanInspector({ lan, t, view }: { lan: Lan; t: TopologyView; view: EditorView }) {
  const edit = useStore((s) => s.edit);
  const ro = !view.editable;
  const why = view.readOnly ?? undefined;
  const liveWhy = "a live LAN's subnet and DMZ flag are its Docker network's: add a new LAN instead";
  const members = t.deckies.filter((d) => d.memberships.some((m) => m.lan === lan.name));
  return (
    <section className="inspector" data-testid="inspector-lan">
      <h2>
        LAN {lan.name} {lan.is_dmz && <span className="tag dmz-tag">DMZ</span>}
      </h2>
      <Issues view={view} keyName={lanKey(lan.name)} />
      <Field label="name" value={lan.name} disabled={ro} why={why} onCommit={(v) => void edit(build.updateLan(t, lan.name, { rename: v }))} testid="lan-rename" />
      <Field
        label="subnet"
        value={lan.subnet ?? ""}
        placeholder="allocated"
        disabled={ro || view.live}
        why={ro ? why : liveWhy}
        onCommit={(v) => void edit(build.updateLan(t, lan.name, { subnet: v }))}
        testid="lan-subnet"
      />
      <label className="check" title={ro ? why : view.live ? liveWhy : undefined}>
        <input
          type="checkbox"
          checked={lan.is_dmz ?? false}
          disabled={ro || view.live}
          onChange={(e) => void edit(build.updateLan(t, lan.name, { dmz: e.target.checked }))}
          data-testid="lan-dmz-flag"
        />
        DMZ (faces the outside; exactly one per topology)
      </label>
      <p>
        {plural(members.length, "decky")} on this LAN: {members.map((d) => d.name).join(", ") || "none"}
      </p>
      <button type="button" className="danger" disabled={ro} title={ro ? why : "Delete"} onClick={() => void edit(build.remove(t, "lan", lan.name))}>
        Remove LAN
      </button>
    </section>
  );
}
