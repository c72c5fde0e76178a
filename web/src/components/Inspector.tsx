// The inspector of the selected LAN, decky or service (LanInspector, DeckyInspector,
// ServiceConfig do the editing).
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { DeckyInspector } from "./DeckyInspector";
import { LanInspector } from "./LanInspector";
import { ServiceConfig } from "./ServiceConfig";

export function Inspector({ view }: { view: EditorView }) {
  const selected = useStore((s) => s.selected);
  const t = view.projection.topology;
  if (!selected) {
    return (
      <section className="inspector empty">
        <p>Select a LAN, a decky or a service chip to inspect it. Drag archetypes onto LANs, services onto deckies, a decky's top handle onto another LAN to make it a bridge.</p>
      </section>
    );
  }
  const [kind, name, service] = selected.split(":");
  if (kind === "lan") {
    const lan = t.lans.find((l) => l.name === name);
    return lan ? <LanInspector lan={lan} t={t} view={view} /> : null;
  }
  const d = t.deckies.find((x) => x.name === name);
  if (!d) return null;
  if (kind === "service" && service) {
    return (
      <section className="inspector" data-testid="inspector-service">
        <h2>
          {service} on {d.name}
        </h2>
        <ServiceConfig decky={d} service={service} t={t} view={view} open />
      </section>
    );
  }
  return <DeckyInspector d={d} t={t} view={view} />;
}
