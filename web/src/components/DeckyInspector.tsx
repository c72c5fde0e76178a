import { type FormEvent, useState } from "react";
import type { Decky, TopologyView } from "../api/types";
import * as build from "../model/builders";
import { deckyKey } from "../model/elementKey";
import { useStore } from "../store";
import type { EditorView } from "../store/view";
import { Confirm } from "./Confirm";
import { Field, Issues } from "./InspectorParts";
import { ServiceConfig } from "./ServiceConfig";

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

/** What runs, why the dot says so, and — when the host's report leaves it unknown — a new check. */
function StateLine({ d, view }: { d: Decky; view: EditorView }) {
  const status = view.states.get(d.name);
  const admin = useStore((s) => s.principal?.role === "admin");
  const checkDrift = useStore((s) => s.checkDrift);
  if (!status) return null;
  return (
    <p className={`state-line state-${status.state}`} data-testid="decky-state">
      <span className={`dot dot-${status.state}`} /> {status.why}
      {admin && (status.state === "unknown" || status.state === "drift") && (
        <button type="button" className="link" onClick={() => void checkDrift()} data-testid="check-drift">
          check again
        </button>
      )}
    </p>
  );
}

export function DeckyInspector({ d, t, view }: { d: Decky; t: TopologyView; view: EditorView }) {
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
  // A live flip recreates the base container under an intruder: it asks first.
  const [asking, setAsking] = useState<boolean | null>(null);
  const flip = (on: boolean): void => void edit(build.updateDecky(t, d.name, { forwards_l3: on }, view.live));
  const flipForwarding = (on: boolean): void => (view.live ? setAsking(on) : flip(on));
  return (
    <section className="inspector" data-testid="inspector-decky">
      <h2>Decky {d.name}</h2>
      <StateLine d={d} view={view} />
      <Issues view={view} keyName={deckyKey(d.name)} />
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
      {asking !== null && (
        <Confirm
          title={`Turn forwarding ${asking ? "on" : "off"}?`}
          confirm="Stage it"
          danger
          onCancel={() => setAsking(null)}
          onConfirm={() => {
            flip(asking);
            setAsking(null);
          }}
        >
          <p>Turning forwarding {asking ? "on" : "off"} recreates {d.name}'s base container on the host (its IP stack restarts under an intruder).</p>
        </Confirm>
      )}
    </section>
  );
}
