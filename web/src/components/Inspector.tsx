// The inspector of the selected LAN, decky or service (LanInspector, DeckyInspector,
// ServiceConfig do the editing), or of several selected elements.
import { parseKey } from "../model/elementKey";
import { plural } from "../model/words";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { DeckyInspector } from "./DeckyInspector";
import { LanInspector } from "./LanInspector";
import { ServiceConfig } from "./ServiceConfig";

function Hint() {
  return (
    <section className="inspector empty">
      <p>
        Select a LAN, a decky or a service chip to inspect it. Drag archetypes onto LANs, services onto deckies, a decky's top handle onto another LAN to make it a
        bridge. Ctrl+F finds, Ctrl+A selects everything, Ctrl+C / Ctrl+V copy deckies.
      </p>
    </section>
  );
}

function Several({ keys }: { keys: string[] }) {
  const refs = keys.map(parseKey);
  const lans = refs.filter((r) => r?.kind === "lan").length;
  const deckies = refs.filter((r) => r?.kind === "decky").length;
  return (
    <section className="inspector" data-testid="inspector-several">
      <h2>
        {plural(deckies, "decky")} and {plural(lans, "LAN")} selected
      </h2>
      <p>Delete removes them all (one edit); Ctrl+C copies the deckies; Esc or a click on the canvas drops the selection.</p>
    </section>
  );
}

export function Inspector({ view }: { view: EditorView }) {
  const selection = useStore((s) => s.selection);
  const ref = parseKey(selection.at(-1));
  const t = view.projection.topology;
  if (selection.length > 1) return <Several keys={selection} />;
  if (!ref) return <Hint />;
  if (ref.kind === "lan") {
    const lan = t.lans.find((l) => l.name === ref.name);
    return lan ? <LanInspector lan={lan} t={t} view={view} /> : <Hint />;
  }
  const d = t.deckies.find((x) => x.name === (ref.kind === "decky" ? ref.name : ref.decky));
  if (!d) return <Hint />;
  // A service no longer on the decky (removed, or staged to be) shows its decky instead.
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
