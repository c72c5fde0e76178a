// The inspector of the selected LAN, decky or service (LanInspector, DeckyInspector,
// ServiceConfig do the editing).
import { parseKey } from "../model/elementKey";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { DeckyInspector } from "./DeckyInspector";
import { LanInspector } from "./LanInspector";
import { ServiceConfig } from "./ServiceConfig";

function Hint() {
  return (
    <section className="inspector empty">
      <p>Select a LAN, a decky or a service chip to inspect it. Drag archetypes onto LANs, services onto deckies, a decky's top handle onto another LAN to make it a bridge.</p>
    </section>
  );
}

export function Inspector({ view }: { view: EditorView }) {
  const ref = parseKey(useStore((s) => s.selected));
  const t = view.projection.topology;
  if (!ref) return <Hint />;
  if (ref.kind === "lan") {
    const lan = t.lans.find((l) => l.name === ref.name);
    return lan ? <LanInspector lan={lan} t={t} view={view} /> : <Hint />;
  }
  const d = t.deckies.find((x) => x.name === (ref.kind === "decky" ? ref.name : ref.decky));
  if (!d) return <Hint />;
  if (ref.kind === "service" && (d.services ?? []).includes(ref.service)) {
    return (
      <section className="inspector" data-testid="inspector-service">
        <h2>
          {ref.service} on {d.name}
        </h2>
        <ServiceConfig decky={d} service={ref.service} t={t} view={view} open />
      </section>
    );
  }
  return <DeckyInspector d={d} t={t} view={view} />;
}
