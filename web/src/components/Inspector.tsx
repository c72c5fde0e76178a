import { type FormEvent, useState } from "react";
import type { Decky, Lan, TopologyView } from "../api/types";
import * as build from "../model/builders";
import { tooltip } from "../model/issues";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { ServiceConfig } from "./ServiceConfig";

/** A text field that sends its value on Enter or when it loses focus (not on every key). */
function Field(props: { label: string; value: string; disabled: boolean; why?: string; onCommit(v: string): void; testid?: string; placeholder?: string }) {
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? props.value;
  const commit = (): void => {
    if (text !== null && text !== props.value) props.onCommit(text.trim());
    setText(null);
  };
  return (
    <label title={props.disabled ? props.why : undefined}>
      {props.label}
      <input
        value={shown}
        disabled={props.disabled}
        placeholder={props.placeholder}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") setText(null);
        }}
        data-testid={props.testid}
      />
    </label>
  );
}

function Issues({ view, keyName }: { view: EditorView; keyName: string }) {
  const placed = view.issues.get(keyName) ?? [];
  if (!placed.length) return null;
  return (
    <ul className="inline-issues" title={tooltip(placed)}>
      {placed.map(({ issue }, i) => (
        <li key={i} className={`sev-${issue.severity ?? "error"}`}>
          <b>{issue.code}</b> {issue.message}
        </li>
      ))}
    </ul>
  );
}

function LanInspector({ lan, t, view }: { lan: Lan; t: TopologyView; view: EditorView }) {
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
      <Issues view={view} keyName={`lan:${lan.name}`} />
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
        {members.length} deckies on this LAN: {members.map((d) => d.name).join(", ") || "none"}
      </p>
      <button type="button" className="danger" disabled={ro} title={ro ? why : "Delete"} onClick={() => void edit(build.remove(t, "lan", lan.name))}>
        Remove LAN
      </button>
    </section>
  );
}

function Memberships({ d, t, view }: { d: Decky; t: TopologyView; view: EditorView }) {
  const edit = useStore((s) => s.edit);
  const ro = !view.editable;
  const why = view.readOnly ?? undefined;
  return (
    <div className="memberships">
      <h3>Memberships</h3>
      {d.memberships.map((m) => (
        <div key={m.lan} className="membership-row" data-testid={`membership-${m.lan}`}>
          {m.lan === d.home_lan ? (
            <span title="the home address is fixed; move the decky to another LAN to change it">
              <b>{m.lan}</b> (home): {m.ip ?? "allocated on save"}
            </span>
          ) : (
            <>
              <Field label={`${m.lan} IP`} value={m.ip ?? ""} placeholder="allocated" disabled={ro} why={why} onCommit={(v) => void edit(build.setMembershipIp(t, d.name, m.lan, v))} testid={`ip-${m.lan}`} />
              <button type="button" disabled={ro} title={ro ? why : "detach from this LAN"} onClick={() => void edit(build.detach(t, d.name, m.lan))}>
                Detach
              </button>
            </>
          )}
        </div>
      ))}
    </div>
  );
}

function DeckyInspector({ d, t, view }: { d: Decky; t: TopologyView; view: EditorView }) {
  const edit = useStore((s) => s.edit);
  const ro = !view.editable;
  const why = view.readOnly ?? undefined;
  const [publish, setPublish] = useState<string | null>(null);
  const savePublish = (e: FormEvent): void => {
    e.preventDefault();
    if (publish === null) return;
    const list = publish.split(",").map((s) => s.trim()).filter(Boolean);
    void edit(build.updateDecky(t, d.name, { publish: list }, false));
    setPublish(null);
  };
  const flipForwarding = (on: boolean): void => {
    if (view.live && !window.confirm(`Turning forwarding ${on ? "on" : "off"} recreates ${d.name}'s base container (its IP stack restarts under an intruder). Stage it anyway?`)) return;
    void edit(build.updateDecky(t, d.name, { forwards_l3: on }, view.live));
  };
  return (
    <section className="inspector" data-testid="inspector-decky">
      <h2>Decky {d.name}</h2>
      <Issues view={view} keyName={`decky:${d.name}`} />
      <p>
        home LAN <b>{d.home_lan}</b>
        {d.archetype ? ` · archetype ${d.archetype}` : ""}
      </p>
      <label className="check" title={ro ? why : undefined}>
        <input type="checkbox" checked={d.forwards_l3 ?? false} disabled={ro} onChange={(e) => flipForwarding(e.target.checked)} data-testid="decky-forwards" />
        forwards L3 (IP forwarding on)
      </label>
      <form onSubmit={savePublish}>
        <label title={ro ? why : "host:container[/udp], gateways (DMZ-homed) only"}>
          publish
          <input value={publish ?? (d.publish ?? []).join(", ")} disabled={ro} placeholder="e.g. 2222:22" onChange={(e) => setPublish(e.target.value)} onBlur={savePublish} />
        </label>
      </form>
      <Memberships d={d} t={t} view={view} />
      <h3>Services</h3>
      {(d.services ?? []).map((s) => (
        <ServiceConfig key={s} decky={d} service={s} t={t} view={view} />
      ))}
      <button type="button" className="danger" disabled={ro} title={ro ? why : "Delete"} onClick={() => void edit(build.remove(t, "decky", d.name))}>
        Remove decky
      </button>
    </section>
  );
}

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
